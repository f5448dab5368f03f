package detect

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Kinds of finding that are not a provider id.
const (
	KindAssignment = "generic-assignment"
	KindPrivateKey = "private-key"
	// KindURLPassword is the password of scheme://user:password@host (a
	// database URL, a git remote with a token): found whatever its entropy,
	// since a weak password there is still a real one.
	KindURLPassword = "url-password"
)

// MinAssignmentBits is the entropy estimate a value assigned to a
// secret-looking name needs to be reported: under it, the value is most
// likely a placeholder, a flag or a word.
const MinAssignmentBits = WeakBits

// Finding is one likely secret: where it is and what it looks like. The
// value itself is kept only so that `envseal scan --import` can move it
// into the vault; it is unexported, and String, Format and JSON encoding
// never show it. Wipe it once it is not needed.
type Finding struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`   // 1-based
	Column int    `json:"column"` // 1-based byte column where the value starts
	Kind   string `json:"kind"`   // provider id, KindAssignment or KindPrivateKey
	Name   string `json:"name,omitempty"`

	value []byte
	zsh   bool // the span is metafied (zsh history)
	// Start and end byte offsets of the value in the scanned data (the
	// whole file), for rewriting it; they say where, not what.
	start, end int
}

// Value returns the value found (not a copy). The caller must not print
// it and should call Wipe when done.
func (f *Finding) Value() []byte { return f.value }

// Span returns the value's byte offsets [start, end) in the data scanned.
func (f *Finding) Span() (start, end int) { return f.start, f.end }

// Matches reports whether data still holds the value at the finding's
// span (the file did not change since it was scanned).
func (f *Finding) Matches(data []byte) bool {
	if f.end > len(data) || f.start > f.end {
		return false
	}
	raw := data[f.start:f.end]
	if f.zsh {
		raw, _ = unmetafy(raw)
	}
	return len(f.value) > 0 && bytes.Equal(raw, f.value)
}

// Wipe clears the value in memory.
func (f *Finding) Wipe() {
	clear(f.value)
	f.value = nil
}

// String is "path:line: kind (NAME)": never the value, nor part of it.
func (f Finding) String() string {
	s := fmt.Sprintf("%s:%d: %s", f.Path, f.Line, f.Kind)
	if f.Name != "" {
		s += " (" + f.Name + ")"
	}
	return s
}

// Format makes every verb (%+v, %#v, %x…) print String, never the value.
func (f Finding) Format(st fmt.State, _ rune) { _, _ = io.WriteString(st, f.String()) }

// Match is a likely secret inside one line: the value's byte span, its
// kind and the variable it was assigned to (if any).
type Match struct {
	Start, End int
	Kind       string
	Name       string
}

// tokenRule is a provider rule usable inside text: its anchored pattern
// with the anchors taken off, matched only at token boundaries.
type tokenRule struct {
	id string
	re *lazyRE
}

var tokenRules = sync.OnceValue(func() []tokenRule {
	var out []tokenRule
	for _, r := range providers {
		if r.id == KindPrivateKey {
			continue // multi-line: found by scanText's PEM rule
		}
		src := strings.TrimSuffix(strings.TrimPrefix(r.re.String(), "^"), "$")
		out = append(out, tokenRule{id: r.id, re: lazy(src)})
	}
	return out
})

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

var (
	// NAME=VALUE anywhere a shell word can start (export, env prefixes,
	// after ; && |), and at the start of a dotenv line.
	assignRE = lazy(`(?:^|[\s;&|(])(?:export\s+|set\s+)?([A-Za-z_][A-Za-z0-9_.]*)=`)
	// name = "value", name := 'value', const apiToken = "value" (code in
	// most languages, TOML): spaces around the operator, the value a
	// string literal. Only quoted values, so that "x = y" between
	// identifiers is never a finding; "==", "!=", "<=" and ">=" cannot
	// match (the operator must be followed by a quote).
	codeRE = lazy("(?:^|[^A-Za-z0-9_.$])([A-Za-z_$][A-Za-z0-9_.$]*)\\s*(?::=|=)\\s*[\"'`]")
	// name = value at the start of an INI/TOML/git-config line: the
	// value may be bare.
	iniRE = lazy(`^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s+=\s*`)
	// set -x NAME VALUE (fish), setenv NAME VALUE (csh).
	fishSetRE = lazy(`(?:^|[\s;(])(?:set\s+(?:-[A-Za-z]+\s+)*|setenv\s+)([A-Za-z_][A-Za-z0-9_]*)\s+`)
	// A Go/JS/Python identifier or selector (pkg.Name, a.b.c): the right
	// side of an assignment in code, not a credential.
	identPathRE = lazy(`^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)
	// 'name': 'value' (Python and JS object literals).
	pyDictRE = lazy(`'([A-Za-z_][A-Za-z0-9_.-]*)'\s*:\s*'`)
	// NAME: VALUE at the start of a YAML line (also "- NAME: VALUE").
	yamlRE = lazy(`^\s*(?:-\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*:\s+`)
	// "name": "value" (JSON, also inline in other text).
	jsonRE = lazy(`"([A-Za-z_][A-Za-z0-9_.-]*)"\s*:\s*"`)
	// --token VALUE, --api-key=VALUE in a command line.
	flagRE = lazy(`(?:^|\s)--([A-Za-z][A-Za-z0-9-]*)(?:=|\s+)`)
	// Authorization: Bearer VALUE, X-Api-Key: VALUE (curl -H).
	headerRE = lazy(`(?i)(?:^|["'\s])([A-Za-z][A-Za-z0-9-]*):\s*(?:(?:bearer|token|basic)\s+)?`)
	// scheme://user:password@ — group 1 is the password.
	urlCredRE = lazy(`[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'"]*:([^\s/@'"]+)@`)
	// PEM private key markers.
	pemBeginRE = lazy(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`)
	pemEndRE   = lazy(`-----END ([A-Z0-9]+ )*PRIVATE KEY-----`)
)

var secretWords = []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PWD", "API", "AUTH", "CREDENTIAL", "PRIVATE"}

// notSecretSuffixes name things that go with a secret without being one
// (API_URL, KEY_FILE, TOKEN_ENDPOINT): a high-entropy URL or path there
// is not a credential.
var notSecretSuffixes = []string{"URL", "URI", "HOST", "HOSTNAME", "PORT", "ENDPOINT", "PATH", "FILE", "DIR",
	"VERSION", "REGION", "USER", "USERNAME", "EMAIL", "TYPE", "MODE", "ID", "NAME", "LENGTH", "SIZE", "TTL", "EXPIRY", "HEADER", "PREFIX"}

// SecretName reports whether a variable, key, flag or header name looks
// like it holds a credential.
func SecretName(name string) bool {
	u := strings.ToUpper(snakeCase(name))
	if u == "AUTHORIZATION" || u == "PROXY-AUTHORIZATION" {
		return true
	}
	if u == "PWD" || u == "OLDPWD" || strings.Contains(u, "PUBLIC") || strings.Contains(u, "AUTHOR") {
		return false
	}
	// The secret word must be in the last two words: API_TOKEN,
	// AWS_SECRET_ACCESS_KEY, SECRET_KEY_BASE are credentials, but in
	// MetaKeyClientInfo, KeyExchangeECDHP256 or TOKEN_TYPE_HINT "key" and
	// "token" qualify something else.
	words := strings.FieldsFunc(u, func(r rune) bool { return r == '_' || r == '.' || r == '-' })
	if len(words) > 2 {
		words = words[len(words)-2:]
	}
	hit := false
	for _, w := range secretWords {
		for _, word := range words {
			if strings.Contains(word, w) {
				hit = true
			}
		}
	}
	if !hit {
		return false
	}
	if strings.HasSuffix(u, "API_KEY") || strings.HasSuffix(u, "APIKEY") {
		return true
	}
	last := u
	if i := strings.LastIndexAny(u, "_.-"); i >= 0 {
		last = u[i+1:]
	}
	for _, s := range notSecretSuffixes {
		if last == s {
			return false
		}
	}
	return true
}

// snakeCase splits camelCase words with '_' (apiToken → api_Token,
// dbPasswordURL → db_Password_URL), so that a code identifier is judged by
// its last word like a SCREAMING_SNAKE one: apiUrl is a URL, not an API key.
func snakeCase(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if i > 0 && c >= 'A' && c <= 'Z' {
			p := name[i-1]
			nextLower := i+1 < len(name) && name[i+1] >= 'a' && name[i+1] <= 'z'
			if p >= 'a' && p <= 'z' || p >= '0' && p <= '9' || p >= 'A' && p <= 'Z' && nextLower {
				b.WriteByte('_')
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// valueAt returns the span of the value starting at line[i]: a quoted
// string without its quotes, or a bare word up to a blank or shell
// punctuation.
func valueAt(line []byte, i int) (start, end int) {
	if i >= len(line) {
		return i, i
	}
	if q := line[i]; q == '"' || q == '\'' || q == '`' {
		j := i + 1
		for j < len(line) && line[j] != q {
			if line[j] == '\\' && q == '"' {
				j++
			}
			j++
		}
		return i + 1, min(j, len(line))
	}
	j := i
	for j < len(line) && !bytes.ContainsRune([]byte(" \t\r\n\"'`;&|,}){<>"), rune(line[j])) {
		j++
	}
	return i, j
}

// plausibleValue says whether v, assigned to a secret-looking name, looks
// like a real credential: not a variable reference or command
// substitution, not a path, not a placeholder, and with enough entropy
// and a mix of character classes (a dotted identifier or a sentence is
// not a key).
func plausibleValue(v []byte) bool {
	if len(v) < 8 || v[0] == '$' || v[0] == '/' || bytes.HasPrefix(v, []byte("./")) || bytes.HasPrefix(v, []byte("~/")) {
		return false
	}
	if bytes.Contains(v, []byte("[envseal:")) || bytes.Contains(v, []byte("${")) || bytes.Contains(v, []byte("$(")) || bytes.Contains(v, []byte("{{")) {
		return false
	}
	cl := classesOf(v)
	if cl.blank {
		return false
	}
	if !(cl.digit && (cl.lower || cl.upper) || cl.lower && cl.upper) {
		return false
	}
	if !cl.digit && len(v) < 20 && !bytes.ContainsAny(v, "+/=_-~.!@#%^&*") {
		return false // friendlyName, ProductionMode: a word, not a key
	}
	return Weakness(v) == "" && EstimateBits(v) >= MinAssignmentBits
}

// ScanLine finds likely secrets in one line of text (without its line
// ending). Matches are sorted by start and do not overlap; a provider
// token wins over an assignment covering the same bytes.
func ScanLine(line []byte) []Match {
	var as assignments
	as.find(line)
	sortMatches(as.named)
	sortMatches(as.all)
	// Provider tokens first: their kind is more specific.
	tokens := tokenMatches(line, as.all)
	sortMatches(tokens)
	ms := disjoint(nil, tokens)
	var rest []Match
	for _, n := range as.named {
		if plausibleValue(line[n.Start:n.End]) {
			rest = append(rest, n)
		}
	}
	out := disjoint(ms, rest)
	sortMatches(out)
	return out
}

// assignments are the NAME = value forms of one line.
type assignments struct {
	named []Match // assignments to secret-looking names
	all   []Match // every assignment: names the tokens inside them
}

// add records the assignment of line[vs:ve] to name (nothing for an
// empty value).
func (as *assignments) add(name string, vs, ve int) {
	if ve <= vs {
		return
	}
	m := Match{Start: vs, End: ve, Kind: KindAssignment, Name: name}
	as.all = append(as.all, m)
	if SecretName(name) {
		as.named = append(as.named, m)
	}
}

// each adds every match of re in line: the name is submatch 1, the value
// starts at the match's end (back is 1 where the match takes the value's
// opening quote).
func (as *assignments) each(line []byte, re *lazyRE, back int, name func([]byte) string) {
	for _, m := range re.FindAllSubmatchIndex(line, -1) {
		vs, ve := valueAt(line, m[1]-back)
		as.add(name(line[m[2]:m[3]]), vs, ve)
	}
}

// find adds the assignments of every syntax the scanner knows: shell and
// dotenv, code, INI, fish's set, Python dicts, YAML, JSON, flags, headers.
func (as *assignments) find(line []byte) {
	plain := func(b []byte) string { return string(b) }
	as.each(line, assignRE, 0, plain)
	// The cheap byte tests keep lines that cannot match from paying for
	// the regular expressions (most lines of code).
	hasEq := bytes.IndexByte(line, '=') >= 0
	if hasEq && bytes.ContainsAny(line, "\"'`") {
		as.each(line, codeRE, 1, func(b []byte) string { return strings.TrimPrefix(string(b), "$") })
	}
	if hasEq {
		as.ini(line)
	}
	if bytes.Contains(line, []byte("set")) {
		as.each(line, fishSetRE, 0, plain)
	}
	if bytes.Contains(line, []byte("':")) {
		as.each(line, pyDictRE, 1, plain)
	}
	if m := yamlRE.FindSubmatchIndex(line); m != nil {
		vs, ve := valueAt(line, m[1])
		as.add(string(line[m[2]:m[3]]), vs, ve)
	}
	as.each(line, jsonRE, 1, plain)
	as.each(line, flagRE, 0, plain)
	for _, m := range headerRE.FindAllSubmatchIndex(line, -1) {
		if bytes.HasPrefix(line[m[1]:], []byte("//")) {
			continue // a URL's scheme, not a header
		}
		vs, ve := valueAt(line, m[1])
		as.add(string(line[m[2]:m[3]]), vs, ve)
	}
}

// ini adds an INI-style "key = value" assignment.
func (as *assignments) ini(line []byte) {
	m := iniRE.FindSubmatchIndex(line)
	if m == nil {
		return
	}
	vs, ve := valueAt(line, m[1])
	// A bare INI value is the whole rest of the line, and not an
	// identifier: "key = jwt.SigningMethodHS256" or
	// "flagKey = flag.String(…)" in code is an expression.
	quoted := m[1] < len(line) && bytes.IndexByte([]byte("\"'`"), line[m[1]]) >= 0
	rest := bytes.TrimRight(line[ve:], " \t")
	v := line[vs:ve]
	ident := identPathRE.Match(v) && (bytes.IndexByte(v, '.') >= 0 || !bytes.ContainsAny(v, "0123456789")) ||
		bytes.ContainsAny(v, "[]()")
	if quoted || len(rest) == 0 && !ident {
		as.add(string(line[m[2]:m[3]]), vs, ve)
	}
}

// nameOf is the innermost assignment of all (sorted by start) starting at
// or before s that covers [s, e), if any.
func nameOf(all []Match, s, e int) string {
	i := sort.Search(len(all), func(i int) bool { return all[i].Start > s })
	for j := i - 1; j >= 0 && j >= i-4; j-- {
		if all[j].Start <= s && e <= all[j].End {
			return all[j].Name
		}
	}
	return ""
}

// tokenMatches finds provider tokens and passwords in URLs, each named by
// the assignment (of all) it stands in.
func tokenMatches(line []byte, all []Match) []Match {
	var tokens []Match
	for _, r := range tokenRules() {
		for _, loc := range r.re.FindAllIndex(line, -1) {
			s, e := loc[0], loc[1]
			if s > 0 && isTokenByte(line[s-1]) || e < len(line) && isTokenByte(line[e]) && r.id != "slack-webhook" {
				continue
			}
			if Weakness(line[s:e]) != "" || bytes.Contains(line[s:e], []byte("EXAMPLE")) {
				continue
			}
			tokens = append(tokens, Match{Start: s, End: e, Kind: r.id, Name: nameOf(all, s, e)})
		}
	}
	for _, loc := range urlCredRE.FindAllSubmatchIndex(line, -1) {
		s, e := loc[2], loc[3]
		v := line[s:e]
		if Placeholder(v) || v[0] == '$' || v[0] == '%' || v[0] == '<' || bytes.Contains(v, []byte("[envseal:")) || bytes.Contains(v, []byte("{{")) {
			continue
		}
		tokens = append(tokens, Match{Start: s, End: e, Kind: KindURLPassword, Name: nameOf(all, s, e)})
	}
	return tokens
}

func sortMatches(ms []Match) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Start < ms[j].Start })
}

// disjoint returns keep plus the matches of add (sorted by start) that
// overlap neither keep (sorted, disjoint) nor an earlier one of add.
func disjoint(keep, add []Match) []Match {
	out := keep
	lastEnd := 0
	for _, m := range add {
		if m.Start < lastEnd {
			continue
		}
		i := sort.Search(len(keep), func(i int) bool { return keep[i].End > m.Start })
		if i < len(keep) && keep[i].Start < m.End {
			continue
		}
		out = append(out, m)
		lastEnd = m.End
	}
	return out
}

// minPEMBody is how many base64 characters a private key block needs to
// be reported: "-----BEGIN PRIVATE KEY-----\n...\n-----END…" in docs is
// not a key.
const minPEMBody = 64

// ScanText finds likely secrets in data, a text file (or history file)
// shown as path. Lines are split on "\n"; a trailing "\r" is not part of
// a line. PEM private key blocks are found across lines.
func ScanText(path string, data []byte) []Finding {
	var out []Finding
	pem := &pemState{until: -1, endAt: -1}
	eachLine(data, func(n, off int, line []byte) {
		out = append(out, scanPEM(path, data, off, line, n, pem)...)
		for _, m := range ScanLine(line) {
			s, e := off+m.Start, off+m.End
			if s < pem.until {
				continue // inside a key block already reported
			}
			out = append(out, finding(path, n, m.Start+1, m.Kind, m.Name, data, s, e))
		}
	})
	return out
}

// eachLine calls fn for every line of data: its number (from 1), its
// offset in data and its bytes. Lines are split on "\n"; a trailing "\r"
// is not part of a line.
func eachLine(data []byte, fn func(n, off int, line []byte)) {
	for n, off := 1, 0; off < len(data); n++ {
		next := len(data)
		line := data[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], off+i+1
		}
		fn(n, off, bytes.TrimSuffix(line, []byte("\r")))
		off = next
	}
}

func finding(path string, line, col int, kind, name string, data []byte, s, e int) Finding {
	return Finding{Path: path, Line: line, Column: col, Kind: kind, Name: name,
		value: bytes.Clone(data[s:e]), start: s, end: e}
}

// scanPEM reports a private key block beginning on this line, its value
// being the whole block from BEGIN to the end of the END marker (which may
// be on a later line, or on this one with "\n" escapes as in JSON).
func scanPEM(path string, data []byte, off int, line []byte, n int, st *pemState) []Finding {
	var out []Finding
	for _, loc := range pemBeginRE.FindAllIndex(line, -1) {
		s := off + loc[0]
		if s < st.until || st.noEnd {
			continue
		}
		from := off + loc[1]
		if st.endAt < from {
			// The first END after this BEGIN; reused by later BEGINs
			// before it, so many BEGINs cost one pass, not one each.
			endLoc := pemEndRE.FindIndex(data[from:])
			if endLoc == nil {
				st.noEnd = true
				continue
			}
			st.endAt, st.endEnd = from+endLoc[0], from+endLoc[1]
		}
		if base64Chars(data[from:st.endAt]) < minPEMBody {
			continue
		}
		out = append(out, finding(path, n, loc[0]+1, KindPrivateKey, assignedName(line[:loc[0]]), data, s, st.endEnd))
		st.until = st.endEnd
	}
	return out
}

// pemState carries the PEM search across lines.
type pemState struct {
	until         int // offset the last block reported ends at
	endAt, endEnd int // the next END marker found (start, end); endAt -1 if none searched
	noEnd         bool
}

// assignedName returns NAME when prefix ends like `NAME="` or `"name": "`.
func assignedName(prefix []byte) string {
	p := bytes.TrimRight(prefix, `"' `)
	if len(p) == 0 || (p[len(p)-1] != '=' && p[len(p)-1] != ':') {
		return ""
	}
	p = bytes.TrimRight(p[:len(p)-1], `"' `)
	i := len(p)
	for i > 0 && (isTokenByte(p[i-1]) || p[i-1] == '.') {
		i--
	}
	return string(p[i:])
}

func base64Chars(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) && (b[i+1] == 'n' || b[i+1] == 'r') {
			i++
			continue
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			n++
		}
	}
	return n
}
