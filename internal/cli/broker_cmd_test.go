//go:build linux

package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
)

// TestBrokerScripts runs testdata/broker/*.txtar: the broker started in a
// pty by the `brokerd` command, which plays the human at the broker's
// terminal (types the passphrase, reads and types approval codes).
func TestBrokerScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "broker"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("ENVSEAL_HOME", filepath.Join(e.WorkDir, "vault"))
			e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
			run := filepath.Join(e.WorkDir, "run")
			if err := os.Mkdir(run, 0o700); err != nil {
				return err
			}
			e.Setenv("XDG_RUNTIME_DIR", run)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"human":   cmdHuman,
			"brokerd": cmdBrokerd,
			"notty":   cmdNoTTYBroker,
		},
	})
}

// brokerProc is the broker a script started, with its pty.
type brokerProc struct {
	cmd    *exec.Cmd
	master *os.File
	pass   string

	mu        sync.Mutex
	tty       bytes.Buffer
	scanned   int    // transcript offset up to which prompts were handled
	answer    string // once, always, deny
	approvals int
	unlocks   int
	exited    chan struct{}
}

var (
	brokersMu sync.Mutex
	brokers   = map[*testscript.TestScript]*brokerProc{}
)

// brokerd start PASSFILE [ARGS…] | answer once|always|deny | approvals N |
// unlocks N | stop
//
// start runs `envseal broker ARGS…` with a fresh pty as its controlling
// terminal, types the passphrase from PASSFILE when asked (at start and
// after every lock), answers every approval prompt with the current
// answer (default once), and returns once the socket answers. approvals
// and unlocks check how many prompts of each kind appeared so far. stop
// sends SIGTERM and saves the transcript as $WORK/broker.out.
func cmdBrokerd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: brokerd start|answer|approvals|unlocks|stop")
	}
	brokersMu.Lock()
	b := brokers[ts]
	brokersMu.Unlock()
	switch args[0] {
	case "start":
		if b != nil {
			ts.Fatalf("a broker is already running")
		}
		if len(args) < 2 {
			ts.Fatalf("usage: brokerd start PASSFILE [ARGS...]")
		}
		b = startBroker(ts, strings.TrimSpace(ts.ReadFile(args[1])), args[2:])
		brokersMu.Lock()
		brokers[ts] = b
		brokersMu.Unlock()
		ts.Defer(func() { b.stop(ts) })
	case "answer":
		b.mu.Lock()
		b.answer = args[1]
		b.mu.Unlock()
	case "approvals", "unlocks":
		want, _ := strconv.Atoi(args[1])
		b.mu.Lock()
		got := b.approvals
		if args[0] == "unlocks" {
			got = b.unlocks
		}
		b.mu.Unlock()
		if (got == want) == neg {
			ts.Fatalf("%d %s so far, want %d", got, args[0], want)
		}
	case "stop":
		b.stop(ts)
		brokersMu.Lock()
		delete(brokers, ts)
		brokersMu.Unlock()
	default:
		ts.Fatalf("unknown brokerd subcommand %q", args[0])
	}
}

func startBroker(ts *testscript.TestScript, pass string, args []string) *brokerProc {
	master, tty, err := pty.Open()
	if err != nil {
		ts.Fatalf("open pty: %v", err)
	}
	cmd := exec.Command(lookScriptPath(ts, "envseal"), append([]string{"broker"}, args...)...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = append(scriptEnv(ts), "XDG_RUNTIME_DIR="+ts.Getenv("XDG_RUNTIME_DIR"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		ts.Fatalf("start broker: %v", err)
	}
	tty.Close()
	b := &brokerProc{cmd: cmd, master: master, pass: pass, answer: "once", exited: make(chan struct{})}
	go func() { cmd.Wait(); close(b.exited) }()
	go b.play()
	sock := filepath.Join(ts.Getenv("XDG_RUNTIME_DIR"), "envseal", wire.SocketName)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := client.Dial(sock); err == nil {
			c.Close()
			return b
		}
		select {
		case <-b.exited:
			ts.Fatalf("broker exited before listening:\n%s", b.transcript())
		default:
		}
		if time.Now().After(deadline) {
			ts.Fatalf("broker not listening after 20s:\n%s", b.transcript())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *brokerProc) transcript() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.ReplaceAll(b.tty.String(), "\r\n", "\n")
}

// play reads the broker's terminal and answers what it asks, each prompt
// once, in order.
func (b *brokerProc) play() {
	buf := make([]byte, 4096)
	for {
		n, err := b.master.Read(buf)
		b.mu.Lock()
		b.tty.Write(buf[:n])
		for {
			rest := b.tty.Bytes()[b.scanned:]
			pi := bytes.Index(rest, []byte("Vault passphrase: "))
			ci := bytes.Index(rest, []byte("approval code: "))
			if pi >= 0 && (ci < 0 || pi < ci) {
				b.scanned += pi + len("Vault passphrase: ")
				b.unlocks++
				io.WriteString(b.master, b.pass+"\r")
				continue
			}
			if ci >= 0 {
				m := codeRE.FindSubmatch(rest[:ci])
				if m == nil {
					break
				}
				b.scanned += ci + len("approval code: ")
				b.approvals++
				switch b.answer {
				case "always":
					io.WriteString(b.master, string(m[1])+"!\r")
				case "deny":
					io.WriteString(b.master, "n\r")
				default:
					io.WriteString(b.master, string(m[1])+"\r")
				}
				continue
			}
			break
		}
		b.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (b *brokerProc) stop(ts *testscript.TestScript) {
	select {
	case <-b.exited:
	default:
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			b.cmd.Process.Kill()
			<-b.exited
		}
	}
	b.master.Close()
	os.WriteFile(ts.MkAbs("broker.out"), []byte(b.transcript()), 0o644)
}

// notty CMD ARGS… (broker scripts): like notty in cli_test.go, with
// XDG_RUNTIME_DIR passed through so the client finds the broker.
func cmdNoTTYBroker(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: notty command [args...]")
	}
	cmd := exec.Command(lookScriptPath(ts, args[0]), args[1:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = append(scriptEnv(ts), "XDG_RUNTIME_DIR="+ts.Getenv("XDG_RUNTIME_DIR"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ts.Stdout().Write(out.Bytes())
	ts.Stderr().Write(errb.Bytes())
	if neg && err == nil {
		ts.Fatalf("unexpected success")
	}
	if !neg && err != nil {
		ts.Fatalf("%v", err)
	}
}
