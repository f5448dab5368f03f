package childenv

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	tests := []struct {
		env  []string
		want []string // nil = allowed
	}{
		{nil, nil},
		{[]string{"PATH=/usr/bin", "HOME=/root"}, nil},
		{[]string{"LD_LIBRARY_PATH=/opt/cuda/lib64"}, nil}, // common and benign; see refusedOwn
		{[]string{"LD_PRELOADX=1", "XLD_PRELOAD=1", "ld_preload=/x.so"}, nil},
		{[]string{"LD_PRELOAD=/tmp/evil.so"}, []string{"LD_PRELOAD"}},
		{[]string{"LD_PRELOAD="}, []string{"LD_PRELOAD"}}, // empty still refused
		{[]string{"LD_PRELOAD"}, []string{"LD_PRELOAD"}},  // no '=' at all
		{[]string{"LD_AUDIT=/x.so"}, []string{"LD_AUDIT"}},
		{[]string{"DYLD_INSERT_LIBRARIES=/x.dylib"}, []string{"DYLD_INSERT_LIBRARIES"}},
		{
			[]string{"PATH=/bin", "LD_PRELOAD=a", "LD_AUDIT=b", "LD_PRELOAD=c"},
			[]string{"LD_AUDIT", "LD_PRELOAD"},
		},
	}
	for _, tt := range tests {
		err := Guard(tt.env)
		if tt.want == nil {
			if err != nil {
				t.Errorf("Guard(%q) = %v, want nil", tt.env, err)
			}
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("Guard(%q) = %v, want *RefusedError", tt.env, err)
			continue
		}
		if !slices.Equal(re.Vars, tt.want) {
			t.Errorf("Guard(%q).Vars = %q, want %q", tt.env, re.Vars, tt.want)
		}
		for _, v := range tt.want {
			if !strings.Contains(err.Error(), v) || !strings.Contains(re.Hint(), "-u "+v) {
				t.Errorf("Guard(%q): message %q / hint %q does not name %s", tt.env, err, re.Hint(), v)
			}
		}
	}
}

func TestGuardDoesNotEchoValue(t *testing.T) {
	err := Guard([]string{"LD_PRELOAD=/tmp/marker-9f3a.so"})
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("Guard = %v, want *RefusedError", err)
	}
	if strings.Contains(err.Error(), "marker-9f3a") || strings.Contains(re.Hint(), "marker-9f3a") {
		t.Fatal("Guard's error or hint echoes the variable's value")
	}
}
