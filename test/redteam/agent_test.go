//go:build redteam && linux

package redteam

// The agent: this test binary, copied into a directory uid 65534 can
// execute and re-run as that uid (inside `envseal jail` in broker mode),
// with "__rt" as its first argument. It is the attacker's toolbox; it
// reports what worked, never a value it found.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/creack/pty"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/totp"
	"github.com/envseal/envseal/internal/vault"
)

const agentArg = "__rt"

// envNeedle carries the secret's value to the agent's probes (never to a
// program envseal runs), so they can say whether what they read holds it.
const envNeedle = "RT_NEEDLE"

// cheapKDF is test-only: Argon2id at its cheapest keeps every unlock of
// the throwaway vault well under a millisecond. The real cost per guess is
// proved by internal/seal TestArgon2idVector and TestKDFParamCaps.
var cheapKDF = seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func agentMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "agent: no subcommand")
		return 2
	}
	var err error
	switch args[0] {
	case "setup":
		err = agentSetup(args[1:])
	case "probe":
		agentProbe(args[1:])
	case "encode":
		agentEncode()
	case "race":
		err = agentRace(args[1:])
	case "ttyinject":
		err = agentTTYInject(args[1:])
	case "ptyapprove":
		err = agentPtyApprove(args[1:])
	case "totpenroll":
		err = agentTOTPEnroll(args[1:])
	case "mcp":
		err = agentMCP(args[1:])
	case "flood":
		err = agentFlood(args[1:]) // jail15_test.go
	case "cancel":
		err = agentCancel(args[1:])
	default:
		err = fmt.Errorf("unknown subcommand %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	return 0
}

// agentSetup (run as the vault's owner, not as an attack) makes the
// throwaway vault the way `envseal init` + `envseal store` do, with the
// cheap KDF: stdin is the passphrase, a newline, then the value.
func agentSetup(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: setup VAULTDIR SECRETNAME")
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	pass, value, ok := bytes.Cut(in, []byte("\n"))
	if !ok {
		return errors.New("want passphrase, newline, value on stdin")
	}
	v, k, err := vault.Create(args[0], pass, cheapKDF, policy.InitEmpty)
	if err != nil {
		return fmt.Errorf("create vault: %w", err)
	}
	log := audit.New(args[0])
	if err := log.Append(k, "vault_init", map[string]any{"kdf": cheapKDF.String()}); err != nil {
		return err
	}
	meta, err := v.Store(k, args[1], value, vault.StoreOptions{})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return log.Append(k, "secret_stored", map[string]any{"secret": args[1], "generation": meta.Generation, "source": "stdin"})
}

// agentTOTPEnroll (run as the vault's owner, not as an attack) turns TOTP
// on the way `envseal totp enable` does: passphrase on stdin; it prints
// the seed in hex for the harness, which plays the human's phone.
func agentTOTPEnroll(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: totpenroll VAULTDIR")
	}
	pass, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	v, err := vault.Open(args[0])
	if err != nil {
		return err
	}
	k, err := v.Unlock(bytes.TrimSuffix(pass, []byte("\n")))
	if err != nil {
		return err
	}
	defer k.Wipe()
	seed := totp.NewSeed()
	now := time.Now()
	if err := totp.NewStore(args[0], k).Enroll(seed, totp.Code(seed, now), now); err != nil {
		return err
	}
	if _, err := policy.NewStore(args[0], k).Update(func(p *policy.Policy) error { p.TOTP = true; return nil }); err != nil {
		return err
	}
	fmt.Printf("SEED %s\n", hex.EncodeToString(seed))
	return audit.New(args[0]).Append(k, "totp_enabled", map[string]any{"by": "redteam harness"})
}

// encodings are the forms of v the design lists for output scrubbing.
func encodings(v []byte) map[string][]byte {
	h := hex.EncodeToString(v)
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	enc.Encode(string(v))
	j := bytes.TrimSuffix(js.Bytes(), []byte("\n"))
	return map[string][]byte{
		"raw":                   v,
		"base64 std":            []byte(base64.StdEncoding.EncodeToString(v)),
		"base64 std, no pad":    []byte(base64.RawStdEncoding.EncodeToString(v)),
		"base64 url":            []byte(base64.URLEncoding.EncodeToString(v)),
		"base64 url, no pad":    []byte(base64.RawURLEncoding.EncodeToString(v)),
		"hex lower":             []byte(h),
		"hex upper":             []byte(strings.ToUpper(h)),
		"URL-escaped (query)":   []byte(url.QueryEscape(string(v))),
		"URL-escaped (path)":    []byte(url.PathEscape(string(v))),
		"JSON-escaped":          j[1 : len(j)-1],
		"base64 wrapped at 76c": wrap76(base64.StdEncoding.EncodeToString(v)),
	}
}

// wrapped are the encodings only an attacker who joins lines can use.
func wrapped(name string) bool { return strings.HasPrefix(name, "base64 wrapped") }

func wrap76(s string) []byte {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s)
	return []byte(b.String())
}

// findIn reports which encodings of v occur in out. Wrapped forms are
// joined back first, as an attacker reading the output would.
func findIn(out, v []byte) []string {
	var found []string
	joined := bytes.ReplaceAll(out, []byte("\n"), nil)
	for name, e := range encodings(v) {
		hay := out
		if wrapped(name) {
			hay, e = joined, bytes.ReplaceAll(e, []byte("\n"), nil)
		}
		if bytes.Contains(hay, e) {
			found = append(found, name)
		}
	}
	sort.Strings(found)
	return found
}

// agentEncode is the approved program of the output rows: it prints
// $TOKEN in every listed encoding, one per line, and the base64 wrapped
// at 76 columns between markers.
func agentEncode() {
	v := []byte(os.Getenv("TOKEN"))
	es := encodings(v)
	names := make([]string, 0, len(es))
	for n := range es {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("%s:\n%s\n", n, es[n])
	}
}

// agentProbe tries each "op:arg" and prints "PROBE op:arg RESULT DETAIL",
// RESULT being found (the value was in what it read), ok (it worked) or
// denied.
func agentProbe(ops []string) {
	needle := []byte(os.Getenv(envNeedle))
	for _, o := range ops {
		op, arg, _ := strings.Cut(o, ":")
		res, err := probeOne(op, arg, needle)
		if err != nil {
			fmt.Printf("PROBE %s denied %v\n", o, err)
		} else {
			fmt.Printf("PROBE %s %s\n", o, res)
		}
	}
}

func probeOne(op, arg string, needle []byte) (string, error) {
	hit := func(b []byte) string {
		if len(needle) > 0 && len(findIn(b, needle)) > 0 {
			return "found"
		}
		return "ok"
	}
	pid, _ := strconv.Atoi(arg)
	switch op {
	case "readtree": // every regular file beneath a directory
		var all []byte
		n := 0
		err := filepath.WalkDir(arg, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				all = append(all, b...)
				n++
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "", errors.New("no files")
		}
		return fmt.Sprintf("%s %d files", hit(all), n), nil
	case "read":
		b, err := os.ReadFile(arg)
		if err != nil {
			return "", err
		}
		return hit(b), nil
	case "write": // opens for writing; writes nothing
		f, err := os.OpenFile(arg, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return "", err
		}
		return "ok", f.Close()
	case "flip": // one byte in the middle, in place
		f, err := os.OpenFile(arg, os.O_RDWR, 0)
		if err != nil {
			return "", err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return "", err
		}
		var b [1]byte
		off := fi.Size() / 2
		if _, err := f.ReadAt(b[:], off); err != nil {
			return "", err
		}
		b[0] ^= 0x20
		_, err = f.WriteAt(b[:], off)
		return "ok", err
	case "truncate": // PATH,N
		p, n, _ := strings.Cut(arg, ",")
		size, _ := strconv.ParseInt(n, 10, 64)
		return "ok", os.Truncate(p, size)
	case "delete":
		return "ok", os.Remove(arg)
	case "copy": // SRC,DST: keep a copy for later (a rollback)
		src, dst, _ := strings.Cut(arg, ",")
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		return "ok", os.WriteFile(dst, b, 0o600)
	case "restore": // SRC,DST: put an old copy back in place (rename over)
		src, dst, _ := strings.Cut(arg, ",")
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		tmp := dst + ".rt-tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return "", err
		}
		return "ok", os.Rename(tmp, dst)
	case "replace": // SRC,DST: swap an executable for another (atomic rename)
		src, dst, _ := strings.Cut(arg, ",")
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		tmp := dst + ".rt-tmp"
		if err := os.WriteFile(tmp, b, 0o755); err != nil {
			return "", err
		}
		return "ok", os.Rename(tmp, dst)
	case "symlink": // TARGET,LINK: LINK becomes a symlink to TARGET
		target, link, _ := strings.Cut(arg, ",")
		os.Remove(link)
		return "ok", os.Symlink(target, link)
	case "edit": // PATH,OLD,NEW: rewrite the first OLD in place
		parts := strings.SplitN(arg, ",", 3)
		if len(parts) != 3 {
			return "", errors.New("want PATH,OLD,NEW")
		}
		b, err := os.ReadFile(parts[0])
		if err != nil {
			return "", err
		}
		if !bytes.Contains(b, []byte(parts[1])) {
			return "", fmt.Errorf("%q not in the file", parts[1])
		}
		b = bytes.Replace(b, []byte(parts[1]), []byte(parts[2]), 1)
		f, err := os.OpenFile(parts[0], os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return "", err
		}
		defer f.Close()
		_, err = f.Write(b)
		return "ok", err
	case "unlock": // VAULTDIR,GUESSFILE: try each line as the passphrase
		dir, guesses, _ := strings.Cut(arg, ",")
		v, err := vault.Open(dir)
		if err != nil {
			return "", err
		}
		b, err := os.ReadFile(guesses)
		if err != nil {
			return "", err
		}
		n := 0
		for _, g := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			n++
			k, err := v.Unlock([]byte(g))
			if err == nil {
				k.Wipe()
				return fmt.Sprintf("found (guess %d unlocked the vault)", n), nil
			}
			if !errors.Is(err, vault.ErrWrongPassphrase) {
				return "", err
			}
		}
		return "", fmt.Errorf("%d guesses: %w", n, vault.ErrWrongPassphrase)
	case "environ":
		b, err := os.ReadFile("/proc/" + arg + "/environ")
		if err != nil {
			return "", err
		}
		return hit(b), nil
	case "mem": // open the memory, then search the stack (where environ is)
		f, err := os.Open("/proc/" + arg + "/mem")
		if err != nil {
			return "", err
		}
		defer f.Close()
		maps, err := os.ReadFile("/proc/" + arg + "/maps")
		if err != nil {
			return "ok (opened; maps: " + err.Error() + ")", nil
		}
		for _, l := range strings.Split(string(maps), "\n") {
			if !strings.HasSuffix(l, "[stack]") {
				continue
			}
			var lo, hi uint64
			fmt.Sscanf(l, "%x-%x", &lo, &hi)
			buf := make([]byte, hi-lo)
			n, _ := f.ReadAt(buf, int64(lo))
			return hit(buf[:n]), nil
		}
		return "ok (opened; no stack)", nil
	case "ptrace":
		runtime.LockOSThread() // ptrace belongs to the thread that attached
		defer runtime.UnlockOSThread()
		if err := unix.PtraceAttach(pid); err != nil {
			return "", err
		}
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		return "ok", unix.PtraceDetach(pid)
	case "ptraceread": // attach, then read the stack (environ is at its top)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := unix.PtraceAttach(pid); err != nil {
			return "", err
		}
		defer unix.PtraceDetach(pid)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		sp, err := stackPointer(pid)
		if err != nil {
			return "ok (attached; " + err.Error() + ")", nil
		}
		var stack []byte
		buf := make([]byte, 4096)
		for addr := sp &^ 4095; len(stack) < 8<<20; addr += 4096 {
			n, err := unix.PtracePeekData(pid, addr, buf)
			stack = append(stack, buf[:n]...)
			if err != nil || n < len(buf) {
				break
			}
		}
		return hit(stack), nil
	case "open": // a terminal
		f, err := os.OpenFile(arg, os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			return "", err
		}
		return "ok", f.Close()
	case "tiocsti": // into this process's own terminal (fd 0)
		return "ok", tiocsti(0, "\n")
	}
	return "", fmt.Errorf("unknown probe %q", op)
}

func tiocsti(fd uintptr, s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, unix.TIOCSTI, uintptr(unsafe.Pointer(&c))); e != 0 {
			return e
		}
	}
	return nil
}

// passphraseFD: in direct mode the harness hands the agent's envseal runs
// the passphrase on fd 3, as the human would type it for each run; the
// agent passes a fresh copy to each child.
func passphraseFD() []byte {
	f := os.NewFile(3, "pass")
	if f == nil {
		return nil
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil
	}
	return b
}

func withPass(cmd *exec.Cmd, pass []byte) {
	if pass == nil {
		return
	}
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	go func() { w.Write(pass); w.Close() }()
	cmd.ExtraFiles = []*os.File{r}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// agentRace swaps TOOL between the approved bytes (GOOD) and the attack
// (EVIL) as fast as it can — atomic renames and in-place rewrites — while
// running CMD N times. It prints how the runs ended.
func agentRace(args []string) error {
	if len(args) < 5 {
		return errors.New("usage: race TOOL GOOD EVIL N CMD...")
	}
	tool, n := args[0], 0
	good, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	evil, err := os.ReadFile(args[2])
	if err != nil {
		return err
	}
	n, _ = strconv.Atoi(args[3])
	pass := passphraseFD()
	done := make(chan struct{})
	var wg sync.WaitGroup
	swaps := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		tmp := tool + ".race"
		for i := 0; ; i++ {
			select {
			case <-done:
				os.WriteFile(tmp, good, 0o755)
				os.Rename(tmp, tool)
				return
			default:
			}
			b := evil
			if i%2 == 1 {
				b = good
			}
			if i%4 < 2 {
				os.WriteFile(tmp, b, 0o755)
				os.Rename(tmp, tool)
			} else {
				os.WriteFile(tool, b, 0o755) // in place: same inode, O_TRUNC
			}
			swaps++
		}
	}()
	counts := map[int]int{}
	for i := 0; i < n; i++ {
		cmd := exec.Command(args[4], args[5:]...)
		withPass(cmd, pass)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, err := cmd.CombinedOutput()
		_ = out
		counts[exitCode(err)]++
	}
	close(done)
	wg.Wait()
	var parts []string
	for c, k := range counts {
		parts = append(parts, fmt.Sprintf("exit%d=%d", c, k))
	}
	sort.Strings(parts)
	fmt.Printf("RACE runs=%d swaps=%d %s\n", n, swaps, strings.Join(parts, " "))
	return nil
}

// agentTTYInject runs CMD on this process's controlling terminal — the
// human's, which the agent shares — and pushes guessed approval answers
// into it with TIOCSTI before and after the prompt appears.
func agentTTYInject(args []string) error {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer tty.Close()
	ctl := tiocsti(tty.Fd(), "AAAAAA!\n")
	cmd := exec.Command(args[0], args[1:]...)
	withPass(cmd, passphraseFD())
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	guesses := []string{"BBBBBB!\n", "CCCCCC\n", "y\n", "DDDDDD!\n"}
loop:
	for _, g := range guesses {
		select {
		case werr = <-waited:
			break loop
		case <-time.After(400 * time.Millisecond):
			tiocsti(tty.Fd(), g)
		}
	}
	if cmd.ProcessState == nil {
		werr = <-waited
	}
	fmt.Printf("TTY tiocsti=%v exit=%d\n", errString(ctl), exitCode(werr))
	return nil
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return strings.ReplaceAll(err.Error(), " ", "_")
}

var codeRE = regexp.MustCompile(`([ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6})\s+allow once`)

// agentPtyApprove runs CMD in a pty the agent owns — the way agent
// harnesses run shell commands — reads the approval code off the screen
// and types it back.
func agentPtyApprove(args []string) error {
	cmd := exec.Command(args[0], args[1:]...)
	withPass(cmd, passphraseFD())
	master, tty, err := pty.Open()
	if err != nil {
		fmt.Printf("PTY open=%s\n", errString(err))
		return nil
	}
	defer master.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	tty.Close()
	var screen bytes.Buffer
	prompted, totpAsked := false, false
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if !prompted && bytes.Contains(screen.Bytes(), []byte("approval code: ")) {
				if m := codeRE.FindSubmatch(screen.Bytes()); m != nil {
					prompted = true
					io.WriteString(master, string(m[1])+"\r")
				}
			}
			// With TOTP on, a second prompt follows. The agent has no
			// phone: it guesses, unless the harness handed it the seed
			// (the control: "the phone was stolen too").
			if prompted && !totpAsked && bytes.Contains(screen.Bytes(), []byte(approve.CodePrompt)) {
				totpAsked = true
				code := "000000"
				if seed, err := hex.DecodeString(os.Getenv("RT_TOTP_SEED")); err == nil && len(seed) > 0 {
					// The next step's code: enrolment used the current one,
					// and each code works once (one step of drift is allowed).
					code = totp.CodeAt(seed, totp.Step(time.Now(), totp.Period)+1)
				}
				io.WriteString(master, code+"\r")
			}
			if err != nil {
				return
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		werr = <-waited
	}
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
	}
	fmt.Printf("PTY open=ok prompt=%v totp=%v exit=%d\n", prompted, totpAsked, exitCode(werr))
	return nil
}

// agentMCP is an MCP client that would approve anything it is asked to:
// it accepts every elicitation with "allow always". It lists the tools and asks run_command to run ARGV with TOKEN.
func agentMCP(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: mcp ENVSEAL CWD ARGV...")
	}
	var mu sync.Mutex
	asked := 0
	c := mcp.NewClient(&mcp.Implementation{Name: "redteam-agent", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			mu.Lock()
			asked++
			mu.Unlock()
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": true, "code": "AAAAAA!", "decision": "allow always"}}, nil
		},
	})
	srv := exec.Command(args[0], "mcp")
	srv.Stderr = io.Discard
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	s, err := c.Connect(ctx, &mcp.CommandTransport{Command: srv}, nil)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer s.Close()
	tl, err := s.ListTools(ctx, nil)
	if err != nil {
		return fmt.Errorf("list tools: %w", err)
	}
	var names []string
	for _, t := range tl.Tools {
		names = append(names, t.Name)
	}
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "run_command", Arguments: map[string]any{
		"argv": args[2:], "cwd": args[1], "secrets": map[string]string{"TOKEN": "TOKEN"}, "timeout_seconds": 30,
	}})
	if err != nil {
		return fmt.Errorf("call run_command: %w", err)
	}
	raw, _ := json.Marshal(res)
	var sc struct {
		ExitCode       *int `json:"exit_code"`
		ApprovalNeeded bool `json:"approval_needed"`
	}
	if b, err := json.Marshal(res.StructuredContent); err == nil {
		json.Unmarshal(b, &sc)
	}
	exit := "none"
	if sc.ExitCode != nil {
		exit = strconv.Itoa(*sc.ExitCode)
	}
	leaked := len(findIn(raw, []byte(os.Getenv(envNeedle)))) > 0
	mu.Lock()
	defer mu.Unlock()
	first := ""
	for _, ct := range res.Content {
		if tc, ok := ct.(*mcp.TextContent); ok {
			first = tc.Text
			break
		}
	}
	if len(first) > 160 {
		first = first[:160]
	}
	if leaked {
		first = "(withheld: it held the value)"
	}
	fmt.Printf("MCP tools=%s asked=%d is_error=%v exit=%s leaked=%v\n", strings.Join(names, ","), asked, res.IsError, exit, leaked)
	fmt.Printf("MCP text=%s\n", strings.Join(strings.Fields(first), " "))
	return nil
}

// parseLines returns the fields of the output lines starting with prefix.
func parseLines(out, prefix string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(l, prefix+" ") {
			continue
		}
		for _, f := range strings.Fields(l[len(prefix)+1:]) {
			if k, v, ok := strings.Cut(f, "="); ok {
				m[k] = v
			}
		}
	}
	return m
}
