package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
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

// WriteEntries prints entries for `envseal audit show`: with asJSON the
// stored lines, one JSON object a line (unreadable ones left out: they are
// not JSON anyone can vouch for, and the caller warns about them);
// otherwise a table of SEQ, TIME (local), EVENT and Details, with a header
// line when header is set. A record written without a MAC has its
// sequence number marked "*".
func WriteEntries(w io.Writer, recs []*Entry, asJSON, header bool) error {
	if asJSON {
		for _, s := range recs {
			if s.Err != nil {
				continue
			}
			w.Write(append(s.Raw, '\n'))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header {
		fmt.Fprintln(tw, "SEQ\tTIME\tEVENT\tDETAILS")
	}
	for _, s := range recs {
		if s.Err != nil {
			fmt.Fprintf(tw, "?\t\t(unreadable)\t%s\n", strconv.Quote(s.Err.Error()))
			continue
		}
		seq := strconv.FormatUint(s.Record.Seq, 10)
		if !s.Record.Keyed() {
			seq += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", seq, s.Record.Time.Local().Format(time.DateTime), s.Record.Event, Details(s.Fields))
	}
	return tw.Flush()
}
