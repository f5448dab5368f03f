package sandbox

import (
	"path/filepath"
	"reflect"
	"slices"
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
		"--target-fd\x003\x00--arg0\x00node\x00--tier\x00standard\x00--pin\x005:111:/usr/bin/node\x00--exec-pin\x00/usr/bin/node\x00--",
		"--target-fd\x003\x00--arg0\x00node\x00--tier\x00standard\x00--pin\x005:555:/usr/bin/node\x00--exec-pin\x00/usr/bin/node\x00--",
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
		// (standard reaches the helper only to serve pins)
		if h.targetFD < 3 || h.arg0 == "" || h.tier.Rank() < 0 || (h.tier == Standard && len(h.pins) == 0) || (h.statusFD >= 0 && h.statusFD < 3) {
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
		if h.execPin != "" && checkExecPin(h.pins, h.execPin) != nil {
			t.Fatalf("accepted --exec-pin %s with pins %+v", h.execPin, h.pins)
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

// TestExecPinArgs: --exec-pin names one of the pins, and that copy must
// be execute-only (a readable image would make the target dumpable); the
// control is accepted and survives a round trip.
func TestExecPinArgs(t *testing.T) {
	base := []string{"--target-fd", "3", "--arg0", "node", "--tier", "standard"}
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--pin", "5:111:/usr/bin/node", "--exec-pin", "/usr/bin/node"}, true},
		{[]string{"--pin", "5:100:/usr/bin/node", "--exec-pin", "/usr/bin/node"}, true},
		{[]string{"--pin", "5:555:/usr/bin/node", "--exec-pin", "/usr/bin/node"}, false},
		{[]string{"--pin", "5:400:/usr/bin/node", "--exec-pin", "/usr/bin/node"}, false},
		{[]string{"--pin", "5:111:/usr/bin/node", "--exec-pin", "/usr/bin/nodejs"}, false},
		{[]string{"--pin", "5:111:/usr/bin/node", "--exec-pin", "usr/bin/node"}, false},
		{[]string{"--pin", "5:111:/usr/bin/node", "--exec-pin", "/usr/bin/node", "--exec-pin", "/usr/bin/node"}, false},
	} {
		args := append(append(slices.Clone(base), c.args...), "--")
		h, err := parseHelperArgs(args)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v, want ok=%v", c.args, err, c.ok)
			continue
		}
		if err == nil {
			if h.execPin != "/usr/bin/node" {
				t.Errorf("%q: execPin %q", c.args, h.execPin)
			}
			if again, err := parseHelperArgs(helperArgv(h)); err != nil || again.execPin != h.execPin {
				t.Errorf("%q: round trip: %v %+v", c.args, err, again)
			}
		}
	}
}
