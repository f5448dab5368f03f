package sandbox

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseHelperArgs: the helper's parser never panics, and whatever it
// accepts is well-formed (descriptors above stderr, a known tier, absolute
// clean directories, lockdown-only flags only with lockdown) and survives
// a round trip through helperArgv unchanged.
func FuzzParseHelperArgs(f *testing.F) {
	// Arguments are joined with "\x00" into one fuzz string.
	for _, seed := range []string{
		"--target-fd\x003\x00--arg0\x00/bin/sh\x00--\x00-c\x00true",                                     // the protocol
		"--target-fd\x004\x00--arg0\x00sh\x00--tier\x00hardened\x00--status-fd\x005\x00--fd\x003\x00--", // what Wrap writes for hardened
		"--target-fd\x004\x00--arg0\x00sh\x00--cwd\x00/w\x00--rw\x00/w/o\x00--hide\x00/v\x00--network\x00--",
		"--target-fd\x00--\x00--arg0\x00x",       // value missing
		"--arg0\x00x\x00--target-fd\x003",        // no "--"
		"--target-fd\x0003\x00--arg0\x00x\x00--", // leading zero
		"--rw\x00/a/../b\x00--target-fd\x003\x00--arg0\x00x\x00--",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		h, err := parseHelperArgs(args)
		if err != nil {
			if strings.ContainsAny(oneLine(err.Error()), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if h.targetFD < 3 || h.arg0 == "" || h.tier.Rank() < 1 || (h.statusFD >= 0 && h.statusFD < 3) {
			t.Fatalf("accepted %q as %+v", args, h)
		}
		dirs := append(append([]string{}, h.rw...), h.hide...)
		if h.cwd != "" {
			dirs = append(dirs, h.cwd)
		}
		for _, d := range dirs {
			if !filepath.IsAbs(d) || filepath.Clean(d) != d {
				t.Fatalf("accepted directory %q", d)
			}
		}
		if h.tier != Lockdown && len(dirs)+btoi(h.network) > 0 {
			t.Fatalf("accepted lockdown flags with tier %s", h.tier)
		}
		again, err := parseHelperArgs(helperArgv(h))
		if err != nil {
			t.Fatalf("round trip of %+v: %v", h, err)
		}
		if h.argv == nil {
			h.argv = []string{}
		}
		if again.argv == nil {
			again.argv = []string{}
		}
		if !reflect.DeepEqual(h, again) {
			t.Fatalf("round trip changed %+v into %+v", h, again)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
