package redact

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// shortValues returns n values of 31 bytes (under FragmentMin, so they stay
// in the automata) with characters every quoting form escapes.
func shortValues(n int) []Secret {
	r := rand.New(rand.NewPCG(40, uint64(n)))
	s := make([]Secret, n)
	for i := range s {
		v := []byte("é\"\\ ")
		for len(v) < 31 {
			v = append(v, byte(0x21+r.IntN(94)))
		}
		s[i] = Secret{Name: fmt.Sprintf("S%d", i), Value: v}
	}
	return s
}

// TestManyShortSecretsSplitIntoStages: with 200 short values the dump and
// main tables would pass one automaton's limit (this failed with "secrets
// too large to scrub"); they are split into more stages, and every value
// is still replaced raw, as C \xNN escapes, as %XX and in an xxd text
// column line.
func TestManyShortSecretsSplitIntoStages(t *testing.T) {
	secrets := shortValues(200)
	m, err := NewMatcher(secrets)
	if err != nil {
		t.Fatalf("NewMatcher with 200 short values: %v", err)
	}
	if len(m.gated) <= len(gatedForms) {
		t.Fatalf("%d stages after the main automaton: nothing was split", len(m.gated))
	}
	var in bytes.Buffer
	for _, s := range secrets {
		fmt.Fprintf(&in, "raw %s\n", s.Value)
		fmt.Fprintf(&in, "c %s\n", everyByte(s.Value, `\x%02x`))
		fmt.Fprintf(&in, "pct %s\n", percentAll(s.Value, upperHex))
		fmt.Fprintf(&in, "00000010: 0000 0000 0000 0000 0000 0000 0000 0000  %s\n", dumpForms(s.Value)[1])
	}
	out := scrubSplit(t, m, in.Bytes(), []int{4096, 7, 65536})
	if n := len(markerRE.FindAll(out, -1)); n != 4*len(secrets) {
		t.Fatalf("%d markers, want %d", n, 4*len(secrets))
	}
	for _, s := range secrets {
		if bytes.Contains(out, s.Value[6:]) || bytes.Contains(out, []byte(everyByte(s.Value[6:], `\x%02x`))) {
			t.Fatalf("secret %s survived", s.Name)
		}
	}
}

// TestTooManyShortSecretsSaySo: past maxTotal the matcher fails at once
// (before building anything) with ErrTooLarge, saying how many values and
// how much memory.
func TestTooManyShortSecretsSaySo(t *testing.T) {
	_, err := NewMatcher(shortValues(2000))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("NewMatcher with 2000 short values: %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "2000 values under") || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("the error does not say how many values and how much memory: %v", err)
	}
}
