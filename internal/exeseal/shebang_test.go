package exeseal

import (
	"errors"
	"strings"
	"testing"
)

// Cases follow fs/binfmt_script.c: one interpreter, at most one argument
// that keeps its inner blanks, blanks (space, tab) trimmed at both ends,
// and nothing else stripped (a CR stays, as the kernel keeps it).
func TestParseShebang(t *testing.T) {
	line255 := "#!/bin/sh " + strings.Repeat("a", maxShebangLine-len("#!/bin/sh "))
	for _, tc := range []struct {
		in      string
		interp  string
		arg     string
		wantErr error
	}{
		{in: "#!/bin/sh\necho", interp: "/bin/sh"},
		{in: "#!/bin/sh", interp: "/bin/sh"}, // EOF ends the line
		{in: "#! \t/bin/sh  -e  \nx", interp: "/bin/sh", arg: "-e"},
		{in: "#!/usr/bin/awk -f -v x=1\n", interp: "/usr/bin/awk", arg: "-f -v x=1"},
		{in: "#!/bin/sh\t-x\t\n", interp: "/bin/sh", arg: "-x"},
		{in: "#!/bin/sh -x\r\n", interp: "/bin/sh", arg: "-x\r"},
		{in: "#!/bin/sh\r\n", interp: "/bin/sh\r"},
		{in: line255 + "\n", interp: "/bin/sh", arg: line255[len("#!/bin/sh "):]},
		{in: line255, interp: "/bin/sh", arg: line255[len("#!/bin/sh "):]},
		{in: line255 + "b\n", wantErr: ErrShebangTooLong},
		{in: line255 + "b", wantErr: ErrShebangTooLong}, // the kernel would drop the "b"
		{in: "#!/bin/sh " + strings.Repeat("a", 1000) + "\n", wantErr: ErrShebangTooLong},
		{in: "#!", wantErr: ErrBadShebang},
		{in: "#!\n/bin/sh", wantErr: ErrBadShebang},
		{in: "#! \t \n", wantErr: ErrBadShebang},
		{in: "#!/bin/sh\x00-c evil\n", wantErr: ErrBadShebang},
		{in: "\x7fELF", wantErr: ErrBadShebang},
	} {
		sb, err := parseShebang([]byte(tc.in))
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%.40q: err = %v, want %v", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || sb.interp != tc.interp || sb.arg != tc.arg {
			t.Errorf("%.40q: got (%q, %q, %v), want (%q, %q)", tc.in, sb.interp, sb.arg, err, tc.interp, tc.arg)
		}
	}
}

func TestEnvProgram(t *testing.T) {
	for _, tc := range []struct {
		interp, arg string
		name        string
		isEnv       bool
		wantErr     error
	}{
		{"/bin/sh", "-e", "", false, nil},
		{"/usr/bin/env", "python3", "python3", true, nil},
		{"/bin/env", "/usr/bin/python3", "/usr/bin/python3", true, nil},
		{"/usr/bin/env", "", "", true, ErrEnvArgs},
		{"/usr/bin/env", "-S python3 -u", "", true, ErrEnvArgs},
		{"/usr/bin/env", "-i", "", true, ErrEnvArgs},
		{"/usr/bin/env", "python3 -u", "", true, ErrEnvArgs},
		{"/usr/bin/env", "LD_PRELOAD=/tmp/x.so", "", true, ErrEnvArgs},
		{"/usr/bin/env", "./bin/tool", "", true, ErrEnvArgs},
	} {
		name, isEnv, err := envProgram(shebang{interp: tc.interp, arg: tc.arg})
		if name != tc.name || isEnv != tc.isEnv || !errors.Is(err, tc.wantErr) {
			t.Errorf("%s %q: got (%q, %v, %v), want (%q, %v, %v)", tc.interp, tc.arg, name, isEnv, err, tc.name, tc.isEnv, tc.wantErr)
		}
	}
}

func FuzzParseShebang(f *testing.F) {
	f.Add([]byte("#!/bin/sh\n"))              // plain
	f.Add([]byte("#! /usr/bin/env -S a b\n")) // env splitting
	f.Add([]byte("#!/bin/sh\x00x"))           // NUL
	f.Add([]byte("#!" + strings.Repeat(" ", 300)))
	f.Add([]byte("#!/a\tb c\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sb, err := parseShebang(in)
		if err != nil {
			return
		}
		if sb.interp == "" || strings.ContainsAny(sb.interp, " \t\n\x00") {
			t.Errorf("interp %q", sb.interp)
		}
		if strings.ContainsAny(sb.arg, "\n\x00") || strings.TrimLeft(sb.arg, " \t") != sb.arg || strings.TrimRight(sb.arg, " \t") != sb.arg {
			t.Errorf("arg %q", sb.arg)
		}
		if len(sb.line)+2 > maxShebangLine {
			t.Errorf("line of %d bytes accepted", len(sb.line)+2)
		}
	})
}
