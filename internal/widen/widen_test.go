package widen

import (
	"errors"
	"testing"
)

func TestAllowed(t *testing.T) {
	for v, want := range map[string]bool{
		"main": true, "feature/login-2": true, "v1.2.3": true, "a_b": true, "dir/file.txt": true,
		"": false, "-f": false, "--upload-pack=touch /tmp/x": false, "--exec=sh": false, "+main": false,
		"main:main": false, ":main": false, "a=b": false, "a b": false, "$(id)": false, "`id`": false,
		"a;b": false, "*": false, "../../etc/passwd": false, "a/../b": false, "a\nb": false, "é": false,
	} {
		if got := Allowed(v); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	argv := []string{"git", "push", "origin", "main"}
	if err := Check(argv, 3); err != nil {
		t.Fatalf("Check(git push origin main, 3): %v", err)
	}
	for _, tc := range []struct {
		argv []string
		pos  int
	}{
		{argv, 0}, // the program itself
		{argv, 4}, // no such argument
		{[]string{"git", "push", "--force", "x"}, 2}, // a flag now
		{[]string{"git", "-C", "dir", "push"}, 2},    // an option's value (any repository)
		{[]string{"git", "push", "origin", "+m"}, 3}, // a force refspec
		{[]string{"tool", "--out=x", "y"}, 1},        // an assignment
	} {
		if err := Check(tc.argv, tc.pos); !errors.Is(err, ErrCannot) {
			t.Errorf("Check(%q, %d) = %v, want ErrCannot", tc.argv, tc.pos, err)
		}
	}
}
