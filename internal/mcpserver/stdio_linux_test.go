package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/approve"
)

// buildEnvseal builds the real envseal command for the stdio test.
func buildEnvseal(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build envseal for this test: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "envseal")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/envseal/envseal/cmd/envseal")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build envseal: %v\n%s", err, out)
	}
	return bin
}

// lockedBuf collects what the server wrote, for the assertions over the
// raw protocol.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

type teeRC struct {
	io.Reader
	io.Closer
}

// The built `envseal mcp`, driven over its stdio by the SDK's client, with
// a broker in this process: every tool answers, a child printing its
// secret raw and base64 returns only the marker, a child writing megabytes
// of garbage does not break the session, and nothing the server writes —
// protocol on stdout, logs on stderr — holds a stored value.
func TestStdioServer(t *testing.T) {
	bin := buildEnvseal(t)
	tb := startBroker(t, approve.AllowOnce)

	// The configuration snippets name the server and recommend the jail
	// (on stderr; stdout is the file, checked in internal/cli
	// testdata/mcp/config.txtar).
	for _, client := range []string{"claude-code", "cursor", "codex", "generic", "vscode", "windsurf"} {
		out, err := exec.Command(bin, "mcp", "config", client).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("mcp")) || !bytes.Contains(out, []byte("envseal jail")) || !bytes.Contains(out, []byte("envseal broker")) {
			t.Fatalf("mcp config %s: %v\n%s", client, err, out)
		}
	}
	if err := exec.Command(bin, "mcp", "config", "nope").Run(); err == nil {
		t.Fatal("mcp config accepted an unknown client")
	}

	cmd := exec.Command(bin, "mcp")
	cmd.Env = []string{
		"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(),
		"ENVSEAL_HOME=" + tb.home, "XDG_RUNTIME_DIR=" + tb.xdg,
	}
	var wire, logs lockedBuf
	cmd.Stderr = &logs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("envseal mcp did not exit when its stdin closed")
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Lines the test writes by hand share stdin with the SDK client; their
	// answers are diverted from it.
	in := &syncWriter{w: stdin}
	fromServer, answers := divert(t, io.TeeReader(stdout, &wire))
	inject := func(s string) {
		if _, err := in.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	inject(`{"jsonrpc":"2.0","id":"raw-pre","method":"tools/call","params":{"name":"status"}}`)
	expectRaw(t, answers, "tools/call before initialize", "raw-pre", -32600, "not initialized")
	inject(`{"jsonrpc": "2.0", "id": 1, "method": "initialize", oops`)
	expectRaw(t, answers, "malformed line", nil, -32700, "parse error")

	tr := &mcp.IOTransport{Reader: teeRC{fromServer, stdout}, Writer: in}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "stdio-test", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		t.Fatalf("initialize: %v (stderr: %s)", err, logs.Bytes())
	}
	if got := cs.InitializeResult().ServerInfo.Name; got != "envseal" {
		t.Fatalf("server name %q", got)
	}
	lt, err := cs.ListTools(ctx, nil)
	if err != nil || len(lt.Tools) != 5 {
		t.Fatalf("list tools: %v, %d tools", err, len(lt.Tools))
	}

	var st StatusOutput
	if res := call(t, cs, "status", nil, &st); res.IsError || !st.Broker.Up || !st.Vault.Present {
		t.Fatalf("status = %+v", st)
	}
	var ls ListOutput
	if res := call(t, cs, "list_secrets", nil, &ls); res.IsError || ls.Source != "broker" || len(ls.Secrets) != 1 {
		t.Fatalf("list_secrets = %+v", ls)
	}
	var rq RequestOutput
	if res := call(t, cs, "request_secret", map[string]any{"name": "typed", "purpose": "a test"}, &rq); res.IsError || rq.Status != "stored" {
		t.Fatalf("request_secret = %+v", rq)
	}
	// The unlocked broker serves the rules (their content is checked in
	// internal/broker TestPolicyThroughBroker).
	var pl PolicyOutput
	if res := call(t, cs, "policy_list", nil, &pl); res.IsError || pl.Rules == nil {
		t.Fatalf("policy_list through the broker failed: %+v", pl)
	}
	if res := call(t, cs, "run_command", map[string]any{"argv": []string{}, "cwd": "rel"}, nil); !res.IsError {
		t.Fatal("invalid run_command accepted")
	}

	var run RunOutput
	res := call(t, cs, "run_command", map[string]any{
		"argv":    []string{"sh", "-c", `printf '%s %s\n' "$A" "$B"; printf '%s' "$A" | base64; printf '%s' "$B" | base64 >&2`},
		"cwd":     t.TempDir(),
		"secrets": map[string]string{"A": "tok", "B": "typed"},
	}, &run)
	if res.IsError {
		t.Fatalf("run_command: %s", errText(t, res))
	}
	if run.Stdout != "[envseal:tok] [envseal:typed]\n[envseal:tok]\n" || !strings.HasPrefix(run.Stderr, "[envseal:typed]") || run.Via != "broker" {
		t.Fatalf("run stdout %q stderr %q via %s", run.Stdout, run.Stderr, run.Via)
	}

	run = RunOutput{}
	res = call(t, cs, "run_command", map[string]any{
		"argv":    []string{"sh", "-c", `head -c 2000000 /dev/urandom; head -c 500000 /dev/urandom >&2; printf '{"jsonrpc":"2.0","id":1,"result":{}}\n'`},
		"cwd":     t.TempDir(),
		"secrets": map[string]string{"A": "tok"},
	}, &run)
	if res.IsError || !run.StdoutTruncated || !run.StderrTruncated {
		t.Fatalf("garbage run: error %v, truncated %v/%v", res.IsError, run.StdoutTruncated, run.StderrTruncated)
	}
	if res := call(t, cs, "status", nil, &st); res.IsError || !st.Broker.Up {
		t.Fatal("session broken after garbage output")
	}
	// A frame over 16 MiB is answered and skipped, like a malformed line.
	inject(`{"jsonrpc":"2.0","id":"raw-big","method":"ping","params":{"_meta":{"pad":"` + strings.Repeat("a", MaxFrame) + `"}}}`)
	expectRaw(t, answers, "frame over 16 MiB", nil, -32700, "over")
	if res := call(t, cs, "status", nil, &st); res.IsError || !st.Broker.Up {
		t.Fatal("session broken after an oversized frame")
	}
	cs.Close()

	// Everything on stdout is a protocol message; nothing the server wrote
	// holds a value.
	raw := wire.Bytes()
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 16<<20)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line %d is not a JSON-RPC message", n+1)
		}
		n++
	}
	if n < 12 {
		t.Fatalf("only %d protocol messages on stdout", n)
	}
	assertNoValue(t, "stdout", raw)
	assertNoValue(t, "stderr", logs.Bytes())
	if !bytes.Contains(logs.Bytes(), []byte("run_command sh via broker")) {
		t.Fatalf("no log line on stderr: %s", logs.Bytes())
	}
}
