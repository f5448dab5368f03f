package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var markerRE = regexp.MustCompile(`\[envseal:[A-Za-z0-9._-]+\]`)

// tricky exercises every escaping rule: '+' and '/' in base64 (0xfb 0xff),
// HTML-escaped, quoted and control characters for JSON, a space ('+' in a
// query, %20 in a path), and invalid UTF-8.
var tricky = []byte("s3cr\xfb\xff<tok&en> \"q\"\n/+?=\x01")

// blob returns v base64-encoded inside a longer blob, with k bytes before
// it, and the characters of that encoding that are the same whatever the
// neighbouring bytes are. The stable run is found by comparing encodings
// with all-zero and all-one neighbours, independently of the bit
// arithmetic in base64Inner.
func blob(e *base64.Encoding, v []byte, k int) (text, stable string) {
	with := func(fill byte) string {
		b := bytes.Repeat([]byte{fill}, k+len(v)+5)
		copy(b[k:], v)
		return e.EncodeToString(b)
	}
	a, b := with(0x00), with(0xff)
	i := 0
	for a[i] != b[i] {
		i++
	}
	j := i
	for a[j] == b[j] {
		j++
	}
	return with(0xa5), a[i:j]
}

func TestEveryEncodingScrubbed(t *testing.T) {
	for _, value := range [][]byte{tricky, []byte("hunter2-password"), []byte("\x00\x01\x02\x03\x04\x05\x06"), []byte("abcdef")} {
		type row struct {
			name string
			form string // the encoded value, which must not survive
			text string // what the child prints
		}
		v := value
		rows := []row{
			{name: "raw", form: string(v)},
			{name: "base64 std", form: base64.StdEncoding.EncodeToString(v)},
			{name: "base64 std raw", form: base64.RawStdEncoding.EncodeToString(v)},
			{name: "base64 url", form: base64.URLEncoding.EncodeToString(v)},
			{name: "base64 url raw", form: base64.RawURLEncoding.EncodeToString(v)},
			{name: "hex", form: hex.EncodeToString(v)},
			{name: "HEX", form: strings.ToUpper(hex.EncodeToString(v))},
			{name: "percent all upper", form: pctAll(v, "%%%02X")},
			{name: "percent all lower", form: pctAll(v, "%%%02x")},
			{name: "query escape", form: url.QueryEscape(string(v))},
			{name: "path escape", form: url.PathEscape(string(v))},
			{name: "json", form: jsonInner(t, v)},
			{name: "json no html escape", form: jsonNoHTML(t, v)},
		}
		for k := range 3 {
			for _, e := range []struct {
				name string
				enc  *base64.Encoding
			}{{"std", base64.StdEncoding}, {"url", base64.URLEncoding}} {
				text, stable := blob(e.enc, v, k)
				rows = append(rows, row{name: fmt.Sprintf("base64 %s in blob at offset %d", e.name, k), form: stable, text: text})
			}
		}
		m, err := NewMatcher([]Secret{{Name: "TOKEN", Value: v}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			t.Run(fmt.Sprintf("%dbytes/%s", len(v), r.name), func(t *testing.T) {
				text := r.text
				if text == "" {
					text = r.form
				}
				in := []byte("before " + text + " after\n")
				if !bytes.Contains(in, []byte(r.form)) {
					t.Fatal("test bug: the encoded form is not in the input")
				}
				for _, sizes := range [][]int{nil, {1}, {3, 1, 7}} {
					out := scrubSplit(t, m, in, sizes)
					if bytes.Contains(out, []byte(r.form)) {
						t.Errorf("writes of %v: encoded secret TOKEN survived", sizes)
					}
					if !bytes.Contains(out, []byte("[envseal:TOKEN]")) {
						t.Errorf("writes of %v: no marker in output", sizes)
					}
					if leaksBase64(out, v) {
						t.Errorf("writes of %v: secret TOKEN recoverable by base64-decoding the output", sizes)
					}
				}
			})
		}
	}
}

func pctAll(v []byte, format string) string {
	var b strings.Builder
	for _, c := range v {
		fmt.Fprintf(&b, format, c)
	}
	return b.String()
}

func jsonInner(t *testing.T, v []byte) string {
	b, err := json.Marshal(string(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b[1 : len(b)-1])
}

func jsonNoHTML(t *testing.T, v []byte) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(string(v)); err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(buf.String())
	return s[1 : len(s)-1]
}

// leaksBase64 reports whether v can be read back by base64-decoding some
// run of base64 characters in out, at any of the four character offsets.
func leaksBase64(out, v []byte) bool {
	runs := regexp.MustCompile(`[A-Za-z0-9+/_-]{4,}`).FindAll(out, -1)
	for _, run := range runs {
		std := strings.NewReplacer("-", "+", "_", "/").Replace(string(run))
		for off := range 4 {
			s := std[off:]
			s = s[:len(s)/4*4]
			d, err := base64.StdEncoding.DecodeString(s)
			if err == nil && bytes.Contains(d, v) {
				return true
			}
		}
	}
	return false
}

func TestBase64InnerMatchesBlob(t *testing.T) {
	// The bit arithmetic in base64Inner must pick exactly the characters an
	// encoder writes for v whatever surrounds it.
	for n := MinLen; n < MinLen+7; n++ {
		v := bytes.Repeat([]byte{0x5a, 0xc3, 0x17}, n)[:n]
		got := base64Inner(base64.RawStdEncoding, v)
		for k := range 3 {
			_, want := blob(base64.StdEncoding, v, k)
			if string(got[k]) != want {
				t.Errorf("len %d offset %d: base64Inner gives %d chars, blob comparison %d", n, k, len(got[k]), len(want))
			}
		}
	}
}

func TestPatternsDeduplicatedAndLongEnough(t *testing.T) {
	pats := patternsFor([]Secret{{Name: "A", Value: []byte("abcdefgh")}, {Name: "B", Value: []byte("abcdefgh")}, {Name: "C", Value: []byte("abcdefgi")}}, encodings)
	seen := map[string]bool{}
	owners := map[int]bool{}
	for _, p := range pats {
		if seen[string(p.text)] {
			t.Errorf("pattern #%d of secret %d listed twice", len(seen), p.secret)
		}
		seen[string(p.text)] = true
		owners[p.secret] = true
		if len(p.text) < MinLen {
			t.Errorf("pattern of %d bytes kept", len(p.text))
		}
	}
	if owners[1] {
		t.Error("secret B duplicates A and should own no pattern")
	}
	if !owners[0] || !owners[2] {
		t.Error("secrets A and C should own patterns")
	}
}
