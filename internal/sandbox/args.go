package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The helper's command line:
//
//	envseal __sandbox_helper --target-fd N --arg0 PATH
//	    [--tier hardened|lockdown] [--status-fd N] [--fd N]…
//	    [--network] [--cwd DIR] [--rw DIR]… [--hide DIR]…
//	    [--pin FD:MODE:PATH]… [--exec-pin PATH]
//	    -- [ARGV1 ARGV…]
//
// --tier defaults to lockdown (the protocol of the issue that introduced
// the helper); --network, --cwd, --rw and --hide only go with lockdown.
// The target gets stdin, stdout, stderr, the --target-fd and each --fd
// at their numbers, nothing else: a descriptor the launcher's own parent
// leaked without close-on-exec (a directory, a socket) would otherwise be
// a way out of the sandbox's view of the filesystem and network.
// Every value is its own argument (no --flag=value), flags may come in
// any order before "--", and anything unexpected is an error: the helper
// sets up mounts and seccomp for whatever it is told, so a typo must not
// silently produce a weaker sandbox.
type helperArgs struct {
	targetFD int
	arg0     string
	tier     Tier
	statusFD int // -1: none
	fds      []int
	network  bool
	cwd      string
	rw       []string
	hide     []string
	pins     []pinArg
	execPin  string // the --pin path holding the target's own image: exec'd there, not from --target-fd
	newPTS   bool
	reportFD int      // 0: none; lockdown or pins: where to say how the run ended (endReport)
	argv     []string // everything after "--": the target's argv[1:]
	env      []string // not a flag: a warm helper's target environment (nil: the helper's own)
}

// maxFD bounds descriptor numbers on the command line.
const maxFD = 1 << 20

func parseHelperArgs(args []string) (*helperArgs, error) {
	h := &helperArgs{targetFD: -1, statusFD: -1}
	seen, err := h.parseFlags(args)
	if err != nil {
		return nil, err
	}
	if err := h.check(seen); err != nil {
		return nil, err
	}
	return h, nil
}

// parseFlags reads the flags up to "--" into h, and the target's argv
// after it; it returns the flags it saw.
func (h *helperArgs) parseFlags(args []string) (map[string]bool, error) {
	seen := map[string]bool{}
	value := func(i int, flag string) (string, error) {
		if i+1 >= len(args) || args[i+1] == "--" {
			return "", fmt.Errorf("flag %s needs a value", flag)
		}
		return args[i+1], nil
	}
	once := func(flag string) error {
		if seen[flag] {
			return fmt.Errorf("flag %s given twice", flag)
		}
		seen[flag] = true
		return nil
	}
	dashdash := -1
	for i := 0; i < len(args) && dashdash < 0; i++ {
		flag := args[i]
		switch flag {
		case "--":
			dashdash = i
		case "--network":
			if err := once(flag); err != nil {
				return nil, err
			}
			h.network = true
		case "--new-pts":
			if err := once(flag); err != nil {
				return nil, err
			}
			h.newPTS = true
		case "--target-fd", "--status-fd", "--report-fd", "--fd", "--arg0", "--tier", "--cwd", "--rw", "--hide", "--pin", "--exec-pin":
			v, err := value(i, flag)
			if err != nil {
				return nil, err
			}
			i++
			if flag != "--rw" && flag != "--hide" && flag != "--fd" && flag != "--pin" {
				if err := once(flag); err != nil {
					return nil, err
				}
			}
			if err := h.set(flag, v); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unknown argument %q (expected a flag or --)", flag)
		}
	}
	if dashdash < 0 {
		return nil, errors.New(`missing "--" before the target's arguments`)
	}
	h.argv = args[dashdash+1:]
	return seen, nil
}

// check refuses flags that are missing or do not go together, and
// descriptors given for two uses; it defaults the tier to lockdown.
func (h *helperArgs) check(seen map[string]bool) error {
	if h.targetFD < 0 {
		return errors.New("missing --target-fd")
	}
	if !seen["--arg0"] {
		return errors.New("missing --arg0")
	}
	if h.statusFD >= 0 && (h.statusFD == h.targetFD || slices.Contains(h.fds, h.statusFD)) {
		return errors.New("--status-fd must not be passed to the target")
	}
	if h.tier == "" {
		h.tier = Lockdown
	}
	if h.tier != Lockdown && (h.network || h.cwd != "" || len(h.rw) > 0 || len(h.hide) > 0 || h.newPTS) {
		return fmt.Errorf("--network, --cwd, --rw, --hide and --new-pts need --tier %s", Lockdown)
	}
	if h.reportFD > 0 && h.tier != Lockdown && len(h.pins) == 0 {
		return fmt.Errorf("--report-fd needs --tier %s or a --pin", Lockdown)
	}
	if h.reportFD > 0 && (h.reportFD == h.targetFD || h.reportFD == h.statusFD || slices.Contains(h.fds, h.reportFD)) {
		return errors.New("--report-fd must not be passed to the target")
	}
	if h.tier == Standard && len(h.pins) == 0 {
		return fmt.Errorf("--tier %s reaches the helper only to serve --pin files", Standard)
	}
	for _, p := range h.pins {
		if p.fd == h.targetFD || p.fd == h.statusFD || slices.Contains(h.fds, p.fd) {
			return fmt.Errorf("--pin descriptor %d is also passed for another use", p.fd)
		}
	}
	if err := checkExecPin(h.pins, h.execPin); err != nil {
		return err
	}
	return nil
}

// checkExecPin: the --exec-pin path must be one of the pins, and that
// copy execute-only — it is what the target runs from, and a readable
// image would make the target dumpable (docs/ARCHITECTURE.md kernel
// fact 1).
func checkExecPin(pins []pinArg, path string) error {
	if path == "" {
		return nil
	}
	for _, p := range pins {
		if p.path == path {
			if p.mode&0o444 != 0 || p.mode&0o111 == 0 {
				return fmt.Errorf("--exec-pin %s: mode %#o is not execute-only", path, p.mode)
			}
			return nil
		}
	}
	return fmt.Errorf("--exec-pin %s names no --pin", path)
}

func (h *helperArgs) set(flag, v string) error {
	switch flag {
	case "--target-fd":
		fd, err := parseFD(v)
		if err != nil {
			return fmt.Errorf("invalid --target-fd %q: %w", v, err)
		}
		h.targetFD = fd
	case "--report-fd":
		fd, err := parseFD(v)
		if err != nil {
			return fmt.Errorf("invalid --report-fd %q: %w", v, err)
		}
		h.reportFD = fd
	case "--pin":
		p, err := parsePin(v)
		if err != nil {
			return fmt.Errorf("invalid --pin %q: %w", v, err)
		}
		for _, o := range h.pins {
			if o.fd == p.fd || o.path == p.path {
				return fmt.Errorf("--pin %q given twice", v)
			}
		}
		h.pins = append(h.pins, p)
	case "--exec-pin":
		if err := checkDir(v); err != nil || v == "/" {
			return fmt.Errorf("invalid --exec-pin %q: not a clean absolute file path", v)
		}
		h.execPin = v
	case "--fd":
		fd, err := parseFD(v)
		if err != nil {
			return fmt.Errorf("invalid --fd %q: %w", v, err)
		}
		if slices.Contains(h.fds, fd) {
			return fmt.Errorf("--fd %d given twice", fd)
		}
		h.fds = append(h.fds, fd)
	case "--status-fd":
		fd, err := parseFD(v)
		if err != nil {
			return fmt.Errorf("invalid --status-fd %q: %w", v, err)
		}
		h.statusFD = fd
	case "--arg0":
		if v == "" {
			return errors.New("invalid --arg0: empty")
		}
		h.arg0 = v
	case "--tier":
		t, err := ParseTier(v)
		if err != nil {
			return fmt.Errorf("invalid --tier %q: want %s, %s or %s", v, Standard, Hardened, Lockdown)
		}
		h.tier = t
	case "--cwd", "--rw", "--hide":
		if err := checkDir(v); err != nil {
			return fmt.Errorf("invalid %s %q: %w", flag, v, err)
		}
		if v == "/" && flag != "--hide" {
			// A writable / is no lockdown at all.
			return fmt.Errorf("invalid %s: refusing to make / writable", flag)
		}
		switch flag {
		case "--cwd":
			h.cwd = v
		case "--rw":
			h.rw = append(h.rw, v)
		default:
			if v == "/" {
				return errors.New("invalid --hide: cannot hide /")
			}
			h.hide = append(h.hide, v)
		}
	}
	return nil
}

// parseFD accepts a plain decimal descriptor number above stderr.
func parseFD(v string) (int, error) {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return 0, errors.New("not a decimal number")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > maxFD {
		return 0, errors.New("not a descriptor number")
	}
	if n < 3 {
		return 0, errors.New("descriptors 0-2 are stdin, stdout and stderr")
	}
	return n, nil
}

// checkDir wants an absolute, clean path: the helper resolves nothing
// against its own working directory, and "a/../b" games are refused
// rather than interpreted.
func checkDir(p string) error {
	if !filepath.IsAbs(p) {
		return errors.New("not an absolute path")
	}
	if filepath.Clean(p) != p {
		return errors.New("not a clean path")
	}
	return nil
}

// helperArgv builds the helper's argv (without argv[0] and HelperArg)
// for parseHelperArgs to read back.
func helperArgv(h *helperArgs) []string {
	a := []string{"--target-fd", strconv.Itoa(h.targetFD), "--arg0", h.arg0, "--tier", string(h.tier)}
	if h.statusFD >= 0 {
		a = append(a, "--status-fd", strconv.Itoa(h.statusFD))
	}
	for _, fd := range h.fds {
		a = append(a, "--fd", strconv.Itoa(fd))
	}
	if h.network {
		a = append(a, "--network")
	}
	if h.cwd != "" {
		a = append(a, "--cwd", h.cwd)
	}
	for _, d := range h.rw {
		a = append(a, "--rw", d)
	}
	for _, d := range h.hide {
		a = append(a, "--hide", d)
	}
	for _, p := range h.pins {
		a = append(a, "--pin", p.String())
	}
	if h.execPin != "" {
		a = append(a, "--exec-pin", h.execPin)
	}
	if h.newPTS {
		a = append(a, "--new-pts")
	}
	if h.reportFD > 0 {
		a = append(a, "--report-fd", strconv.Itoa(h.reportFD))
	}
	a = append(a, "--")
	return append(a, h.argv...)
}

// pinArg is "--pin FD:MODE:PATH": serve the bytes readable on FD, with
// permission bits MODE (octal), over PATH (absolute; may hold colons).
type pinArg struct {
	fd   int
	mode uint32
	path string
}

func (p pinArg) String() string {
	return strconv.Itoa(p.fd) + ":" + strconv.FormatUint(uint64(p.mode), 8) + ":" + p.path
}

func parsePin(v string) (pinArg, error) {
	fdS, rest, ok1 := strings.Cut(v, ":")
	modeS, path, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return pinArg{}, errors.New("want FD:MODE:PATH")
	}
	fd, err := parseFD(fdS)
	if err != nil {
		return pinArg{}, err
	}
	mode, err := strconv.ParseUint(modeS, 8, 32)
	if err != nil || mode > 0o777 {
		return pinArg{}, fmt.Errorf("mode %q is not octal permission bits", modeS)
	}
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/" {
		return pinArg{}, fmt.Errorf("path %q is not a clean absolute file path", path)
	}
	return pinArg{fd: fd, mode: uint32(mode), path: path}, nil
}

// parsePins checks a pin list the way the helper will: distinct paths.
func parsePins(ps []pinArg) ([]pinArg, error) {
	seen := map[string]bool{}
	for _, p := range ps {
		if _, err := parsePin(p.String()); err != nil {
			return nil, fmt.Errorf("sandbox: pin %s: %w", p.path, err)
		}
		if seen[p.path] {
			return nil, fmt.Errorf("sandbox: %s pinned twice", p.path)
		}
		seen[p.path] = true
	}
	return ps, nil
}
