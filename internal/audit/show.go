package audit

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// detailOrder puts the fields a reader looks for first.
var detailOrder = []string{"secret", "secrets", "decision", "channel", "binary", "argv", "exit", "duration_ms", "leaks", "action", "rule", "reason", "error"}

// Details renders a record's fields on one line for `envseal audit show`:
// the fields a reader looks for first, empty ones left out (the JSON view
// keeps them), hashes shortened to 12 digits (the full hash is in --json),
// and every value by showValue.
func Details(f map[string]any) string {
	keys := slices.Collect(maps.Keys(f))
	slices.SortFunc(keys, func(x, y string) int {
		ix, iy := slices.Index(detailOrder, x), slices.Index(detailOrder, y)
		switch {
		case ix >= 0 && iy >= 0:
			return ix - iy
		case ix >= 0:
			return -1
		case iy >= 0:
			return 1
		}
		return strings.Compare(x, y)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if f[k] == nil || f[k] == "" {
			continue // e.g. no error: the JSON view keeps it
		}
		v := showValue(f[k])
		if h, ok := f[k].(string); ok && strings.HasSuffix(k, "sha256") {
			v = h[:min(len(h), 12)]
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// showValue renders a field value on one line. Strings that are not plain
// printable words are quoted with Go escapes, so a path or argv chosen by
// an agent cannot put terminal escape sequences or fake columns on the
// reader's screen.
func showValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsFunc(x, func(r rune) bool {
			return r <= ' ' || r == '"' || r == '\\' || r == '=' || r == ',' || r >= 0x7f
		}) {
			return strconv.Quote(x)
		}
		return x
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = showValue(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = showValue(k) + ":" + showValue(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}
