package redact

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestFindValues places known encodings of two values at known offsets
// (adjacent, repeated, split across the 16 KiB write boundary, and next
// to a literal "[envseal:" marker) and checks every offset and name.
func TestFindValues(t *testing.T) {
	a := []byte("lowentropy-pw1")
	b := []byte(randAlnum(20))
	secrets := []Secret{{Name: "A", Value: bytes.Clone(a)}, {Name: "B", Value: bytes.Clone(b)}}
	var data []byte
	var want []ValueHit
	put := func(name string, enc []byte) {
		want = append(want, ValueHit{Name: name, Offset: len(data)})
		data = append(data, enc...)
	}
	data = append(data, "conn = \"user:"...)
	put("A", a)
	data = append(data, "@db\"\n[envseal:A] "...)
	put("A", a)
	put("A", a) // adjacent: two markers from one write
	put("B", b)
	data = append(data, '\n')
	put("B", []byte(hex.EncodeToString(b)))
	data = append(data, ' ')
	put("A", []byte(base64.StdEncoding.EncodeToString(a)))
	data = append(data, strings.Repeat("x", findChunk-len(data)-5)...)
	put("B", b) // straddles the first write boundary
	data = append(data, "\n# tail "...)
	put("A", []byte(strings.ToUpper(hex.EncodeToString(a))))
	got, total, err := FindValues(secrets, data)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(want) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("FindValues:\n got %v (total %d)\nwant %v", got, total, want)
	}
	if h, n, _ := FindValues(secrets, []byte("nothing here at all")); len(h) != 0 || n != 0 {
		t.Errorf("hits in clean text: %v", h)
	}
}

func TestFindValuesCap(t *testing.T) {
	v := []byte("s3cr3t-value")
	data := bytes.Repeat(append(bytes.Clone(v), ' '), MaxValueHits+10)
	got, total, err := FindValues([]Secret{{Name: "S", Value: v}}, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxValueHits || total != MaxValueHits+10 {
		t.Fatalf("got %d hits, total %d", len(got), total)
	}
	for i, h := range got {
		if h.Offset != i*(len(v)+1) {
			t.Fatalf("hit %d at %d, want %d", i, h.Offset, i*(len(v)+1))
		}
	}
}

// findChunk is the write size redact's Find feeds its stages with.
const findChunk = 64 << 10

// TestFindValuesAnyVault: a 64 KiB value and thousands of short ones,
// which no single automaton could hold, are all checked: no "too large".
func TestFindValuesAnyVault(t *testing.T) {
	big := []byte(strings.Repeat(randAlnum(64)+"\n", 1<<10))
	secrets := []Secret{{Name: "BIG", Value: big}}
	for i := range 1500 {
		secrets = append(secrets, Secret{Name: fmt.Sprintf("S%d", i), Value: []byte(randAlnum(30))})
	}
	if _, err := NewMatcher(secrets); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("NewMatcher of them all: %v, want ErrTooLarge (the case FindValues must split)", err)
	}
	last := secrets[len(secrets)-1]
	data := []byte("x = \"" + string(big[1000:1100]) + "\"\ny = " + string(last.Value) + "\n")
	got, total, err := FindValues(secrets, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []ValueHit{{Name: "BIG", Offset: 5}, {Name: last.Name, Offset: 5 + 100 + 6}}
	if total != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v (total %d), want %v", got, total, want)
	}
}

// randAlnum is n random letters and digits (an API-key-like value).
func randAlnum(n int) string {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = set[int(b[i])%len(set)]
	}
	return string(b)
}
