package sandbox

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRank(t *testing.T) {
	if !(Standard.Rank() < Hardened.Rank() && Hardened.Rank() < Lockdown.Rank()) || Standard.Rank() != 0 {
		t.Errorf("ranks %d %d %d", Standard.Rank(), Hardened.Rank(), Lockdown.Rank())
	}
	for _, bad := range []Tier{"", "Lockdown", "lockdown ", "none"} {
		if bad.Rank() != -1 || bad.Valid() {
			t.Errorf("Tier(%q): rank %d, valid %v; want -1, false", bad, bad.Rank(), bad.Valid())
		}
	}
}

// TestParseTier: the three names parse to their constants; anything else
// (the empty name too) is ErrUnknownTier, with a message naming the three.
func TestParseTier(t *testing.T) {
	for _, want := range Tiers() {
		got, err := ParseTier(string(want))
		if err != nil || got != want {
			t.Errorf("ParseTier(%q) = %q, %v", want, got, err)
		}
	}
	for _, bad := range []string{"", "paranoid", "LOCKDOWN", "standard\n"} {
		got, err := ParseTier(bad)
		if !errors.Is(err, ErrUnknownTier) || got != "" {
			t.Errorf("ParseTier(%q) = %q, %v; want ErrUnknownTier", bad, got, err)
			continue
		}
		if !strings.Contains(err.Error(), "want standard, hardened or lockdown") || errors.Is(err, ErrUnsupported) {
			t.Errorf("ParseTier(%q): %v", bad, err)
		}
	}
}

// TestTierWireFormat: a Tier is written and read as the bare name, as the
// untyped strings were (policy rules and broker messages keep their bytes).
func TestTierWireFormat(t *testing.T) {
	b, err := json.Marshal(struct {
		T Tier `json:"t"`
	}{Lockdown})
	if err != nil || string(b) != `{"t":"lockdown"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var v struct {
		T Tier `json:"t"`
	}
	if err := json.Unmarshal([]byte(`{"t":"hardened"}`), &v); err != nil || v.T != Hardened {
		t.Fatalf("unmarshal: %q, %v", v.T, err)
	}
}
