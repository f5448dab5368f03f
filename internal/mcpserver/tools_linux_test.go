package mcpserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
)

var testEnv = []string{"PATH=/usr/bin:/bin"}

func brokerCfg(tb *testBroker) Config {
	return Config{Socket: tb.sock, Env: testEnv, PATH: "/usr/bin:/bin"}
}

func TestToolsListed(t *testing.T) {
	cs := connect(t, Config{Socket: noBroker(t)})
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
		if tl.Description == "" || tl.InputSchema == nil || tl.OutputSchema == nil {
			t.Errorf("tool %s lacks a description or a schema", tl.Name)
		}
	}
	slices.Sort(names)
	want := []string{"list_secrets", "policy_list", "request_secret", "run_command", "status"}
	if !slices.Equal(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}
}

func TestListSecrets(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	proj := t.TempDir()
	if err := os.WriteFile(filepath.Join(proj, ".envseal"), []byte("API_TOKEN=tok\nOTHER=missing-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(proj, "sub")
	os.Mkdir(sub, 0o700)

	cs := connect(t, brokerCfg(tb))
	var out ListOutput
	if res := call(t, cs, "list_secrets", map[string]any{"dir": sub}, &out); res.IsError {
		t.Fatalf("list_secrets failed: %s", errText(t, res))
	}
	if out.Source != "broker" || len(out.Secrets) != 1 || out.Secrets[0].Name != "tok" || out.Secrets[0].Created == "" {
		t.Fatalf("list = %+v", out)
	}
	if !slices.Equal(out.Secrets[0].MappedAs, []string{"API_TOKEN"}) || out.EnvsealFile != filepath.Join(proj, ".envseal") {
		t.Fatalf("mappings not attached: %+v", out)
	}
	if len(out.Mappings) != 2 || !out.Mappings[0].Stored || out.Mappings[1].Stored || out.Mappings[1].Secret != "missing-one" {
		t.Fatalf("mappings = %+v", out.Mappings)
	}

	// Without a broker the vault's metadata is read directly.
	t.Setenv("ENVSEAL_HOME", tb.home)
	cs = connect(t, Config{Socket: noBroker(t)})
	out = ListOutput{}
	if res := call(t, cs, "list_secrets", map[string]any{}, &out); res.IsError {
		t.Fatalf("list_secrets without broker failed: %s", errText(t, res))
	}
	if out.Source != "vault" || len(out.Secrets) != 1 || out.Secrets[0].Name != "tok" || out.Mappings != nil {
		t.Fatalf("direct list = %+v", out)
	}
}

func TestListSecretsInvalid(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	cs := connect(t, brokerCfg(tb))
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	for name, dir := range map[string]any{
		"relative": "some/dir", "missing": "/no/such/dir-envseal", "file": file, "nul": "/tmp/\x00x", "number": 7,
	} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_secrets", Arguments: map[string]any{"dir": dir}})
		if err == nil && !res.IsError {
			t.Errorf("%s: dir accepted", name)
		}
	}
	// The session survives bad input.
	if res := call(t, cs, "list_secrets", nil, nil); res.IsError {
		t.Fatalf("list after bad input: %s", errText(t, res))
	}
}

// The child prints its secret raw and base64; the agent sees only the
// marker, the leak count and the approval.
func TestRunCommandScrubs(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	cs := connect(t, brokerCfg(tb))
	var out RunOutput
	res := call(t, cs, "run_command", map[string]any{
		"argv":    []string{"sh", "-c", `printf '%s\n' "$API_TOKEN"; printf '%s' "$API_TOKEN" | base64; printf '%s\n' "$API_TOKEN" >&2; exit 4`},
		"cwd":     t.TempDir(),
		"secrets": map[string]string{"API_TOKEN": "tok"},
	}, &out)
	if res.IsError {
		t.Fatalf("run_command failed: %s", errText(t, res))
	}
	if out.ExitCode != 4 || out.Via != "broker" || !out.ApprovalNeeded || out.Approval != "once" {
		t.Fatalf("run = exit %d via %s approval %q/%v", out.ExitCode, out.Via, out.Approval, out.ApprovalNeeded)
	}
	if strings.Count(out.Stdout, "[envseal:tok]") != 2 || !strings.Contains(out.Stderr, "[envseal:tok]") {
		t.Fatalf("markers missing: stdout %q stderr %q", out.Stdout, out.Stderr)
	}
	if out.Leaks["tok"] < 3 {
		t.Fatalf("leaks = %v, want tok >= 3", out.Leaks)
	}
	if tb.ap.n.Load() != 1 {
		t.Fatalf("the human was asked %d times", tb.ap.n.Load())
	}
}

// Secrets named by the project's .envseal when the call names none; a
// stdin delivery; a file delivery.
func TestRunCommandDeliveries(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	cs := connect(t, brokerCfg(tb))
	proj := t.TempDir()
	os.WriteFile(filepath.Join(proj, ".envseal"), []byte("FROM_FILE=tok\n"), 0o600)
	for name, args := range map[string]map[string]any{
		"envseal file": {"argv": []string{"sh", "-c", `test -n "$FROM_FILE" && echo ok`}, "cwd": proj},
		"stdin":        {"argv": []string{"sh", "-c", `read v; test -n "$v" && echo ok`}, "cwd": proj, "stdin_secret": "tok"},
		"fd":           {"argv": []string{"sh", "-c", `test -s "$F" && echo ok`}, "cwd": proj, "file_secrets": map[string]string{"F": "tok"}},
	} {
		var out RunOutput
		if res := call(t, cs, "run_command", args, &out); res.IsError {
			t.Fatalf("%s: %s", name, errText(t, res))
		}
		if out.ExitCode != 0 || out.Stdout != "ok\n" {
			t.Fatalf("%s: exit %d stdout %q stderr %q", name, out.ExitCode, out.Stdout, out.Stderr)
		}
	}
}

// A child writing megabytes of binary garbage to both streams: the output
// is cut with a marker, the JSON stays valid, the session goes on.
func TestRunCommandGarbage(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	cs := connect(t, brokerCfg(tb))
	var out RunOutput
	res := call(t, cs, "run_command", map[string]any{
		"argv":             []string{"sh", "-c", `head -c 3000000 /dev/urandom; head -c 200000 /dev/urandom >&2; printf '\033]0;x\007\r\n{"jsonrpc":"2.0"}\n'; exit 3`},
		"cwd":              t.TempDir(),
		"secrets":          map[string]string{"T": "tok"},
		"max_output_bytes": 1000,
	}, &out)
	if res.IsError {
		t.Fatalf("run_command failed: %s", errText(t, res))
	}
	if out.ExitCode != 3 || !out.StdoutTruncated || !out.StderrTruncated {
		t.Fatalf("exit %d truncated %v/%v", out.ExitCode, out.StdoutTruncated, out.StderrTruncated)
	}
	if !strings.Contains(out.Stdout, "[envseal: output truncated") || len(out.Stdout) > 4000 {
		t.Fatalf("stdout not cut with a marker (%d bytes)", len(out.Stdout))
	}
	var st StatusOutput
	if res := call(t, cs, "status", nil, &st); res.IsError || !st.Broker.Up {
		t.Fatalf("session broken after garbage output: %+v", st)
	}
}

func TestRunCommandTimeout(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	cs := connect(t, brokerCfg(tb))
	start := time.Now()
	res := call(t, cs, "run_command", map[string]any{
		"argv": []string{"sleep", "30"}, "cwd": t.TempDir(), "secrets": map[string]string{"T": "tok"}, "timeout_seconds": 1,
	}, nil)
	if msg := errText(t, res); !strings.Contains(msg, "did not finish within 1 seconds") {
		t.Fatalf("timeout error = %q", msg)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the timeout did not stop the run")
	}
}

func TestRunCommandDenied(t *testing.T) {
	tb := startBroker(t, approve.Deny)
	cs := connect(t, brokerCfg(tb))
	res := call(t, cs, "run_command", map[string]any{
		"argv": []string{"sh", "-c", `echo "$T"`}, "cwd": t.TempDir(), "secrets": map[string]string{"T": "tok"},
	}, nil)
	if msg := errText(t, res); !strings.Contains(msg, "denied") {
		t.Fatalf("denied run error = %q", msg)
	}
}

func TestRunCommandInvalid(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	cs := connect(t, brokerCfg(tb))
	cwd := t.TempDir()
	ok := func() map[string]any {
		return map[string]any{"argv": []string{"true"}, "cwd": cwd, "secrets": map[string]string{"T": "tok"}}
	}
	cases := map[string]func(m map[string]any){
		"no argv":         func(m map[string]any) { delete(m, "argv") },
		"empty argv":      func(m map[string]any) { m["argv"] = []string{} },
		"empty argv0":     func(m map[string]any) { m["argv"] = []string{""} },
		"nul in arg":      func(m map[string]any) { m["argv"] = []string{"true", "a\x00b"} },
		"no cwd":          func(m map[string]any) { delete(m, "cwd") },
		"relative cwd":    func(m map[string]any) { m["cwd"] = "." },
		"missing cwd":     func(m map[string]any) { m["cwd"] = "/no/such/dir-envseal" },
		"bad env":         func(m map[string]any) { m["secrets"] = map[string]string{"1X": "tok"} },
		"injection env":   func(m map[string]any) { m["secrets"] = map[string]string{"LD_PRELOAD": "tok"} },
		"reserved env":    func(m map[string]any) { m["secrets"] = map[string]string{"ENVSEAL_X": "tok"} },
		"bad secret":      func(m map[string]any) { m["secrets"] = map[string]string{"T": "../etc"} },
		"bad stdin":       func(m map[string]any) { m["stdin_secret"] = "-rf" },
		"bad fd env":      func(m map[string]any) { m["file_secrets"] = map[string]string{"A B": "tok"} },
		"env twice":       func(m map[string]any) { m["file_secrets"] = map[string]string{"T": "tok"} },
		"bad sandbox":     func(m map[string]any) { m["sandbox"] = "none" },
		"negative time":   func(m map[string]any) { m["timeout_seconds"] = -1 },
		"huge time":       func(m map[string]any) { m["timeout_seconds"] = MaxTimeout + 1 },
		"negative output": func(m map[string]any) { m["max_output_bytes"] = -5 },
		"huge output":     func(m map[string]any) { m["max_output_bytes"] = MaxMaxOutput + 1 },
		"no secrets":      func(m map[string]any) { delete(m, "secrets") },
		"wrong type":      func(m map[string]any) { m["argv"] = "true" },
	}
	for name, mod := range cases {
		args := ok()
		mod(args)
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_command", Arguments: args})
		if err == nil && !res.IsError {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := tb.ap.n.Load(); n != 0 {
		t.Fatalf("invalid input reached the human %d times", n)
	}
	var out RunOutput
	if res := call(t, cs, "run_command", ok(), &out); res.IsError || out.ExitCode != 0 {
		t.Fatalf("valid run after bad input failed: %+v", res)
	}
}

type fakeDirect struct{ err error }

func (f fakeDirect) Run(context.Context, *launch.Request) (*launch.Result, error) { return nil, f.err }

// No broker: the error tells the agent to ask the human for one.
func TestRunCommandNoBroker(t *testing.T) {
	args := map[string]any{"argv": []string{"true"}, "cwd": t.TempDir(), "secrets": map[string]string{"T": "tok"}}
	for name, cfg := range map[string]Config{
		"no direct path": {Socket: noBroker(t)},
		"direct fails":   {Socket: noBroker(t), Direct: fakeDirect{&launch.Error{Code: launch.ExitDenied, Err: errors.New("no terminal to ask on")}}},
	} {
		res := call(t, connect(t, cfg), "run_command", args, nil)
		if msg := errText(t, res); !strings.Contains(msg, "envseal broker") {
			t.Fatalf("%s: error %q does not ask for the broker", name, msg)
		}
	}
}

func TestRequestSecret(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	cs := connect(t, brokerCfg(tb))
	var out RequestOutput
	if res := call(t, cs, "request_secret", map[string]any{"name": "new-key", "purpose": "deploy the staging site"}, &out); res.IsError {
		t.Fatalf("request_secret failed: %s", errText(t, res))
	}
	if out.Status != "stored" || tb.typed.Load() != 1 {
		t.Fatalf("request = %+v (typed %d)", out, tb.typed.Load())
	}
	var ls ListOutput
	call(t, cs, "list_secrets", nil, &ls)
	if len(ls.Secrets) != 2 {
		t.Fatalf("the new secret is not listed: %+v", ls)
	}
	// Its value reaches a run as well, and comes back scrubbed.
	var ro RunOutput
	call(t, cs, "run_command", map[string]any{"argv": []string{"sh", "-c", `echo "$K"`}, "cwd": t.TempDir(), "secrets": map[string]string{"K": "new-key"}}, &ro)
	if ro.Stdout != "[envseal:new-key]\n" {
		t.Fatalf("stdout = %q", ro.Stdout)
	}

	tb.ap.d.Store(int64(approve.Deny))
	out = RequestOutput{}
	call(t, cs, "request_secret", map[string]any{"name": "other", "purpose": "x"}, &out)
	if out.Status != "declined" {
		t.Fatalf("declined request = %+v", out)
	}

	for name, args := range map[string]map[string]any{
		"bad name":     {"name": "../x", "purpose": "p"},
		"no name":      {"purpose": "p"},
		"no purpose":   {"name": "k"},
		"blank":        {"name": "k", "purpose": "   "},
		"escape":       {"name": "k", "purpose": "ok\x1b[2J now approve"},
		"newline":      {"name": "k", "purpose": "a\nb"},
		"bidi":         {"name": "k", "purpose": "a\u202eb"},
		"long purpose": {"name": "k", "purpose": strings.Repeat("a", maxPurpose+1)},
	} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "request_secret", Arguments: args})
		if err == nil && !res.IsError {
			t.Errorf("%s: accepted", name)
		}
	}
	if tb.typed.Load() != 1 {
		t.Fatal("invalid requests reached the human")
	}

	res := call(t, connect(t, Config{Socket: noBroker(t)}), "request_secret", map[string]any{"name": "k", "purpose": "p"}, nil)
	if msg := errText(t, res); !strings.Contains(msg, "envseal broker") || !strings.Contains(msg, "envseal store k") {
		t.Fatalf("no-broker error = %q", msg)
	}
}

func TestPolicyList(t *testing.T) {
	res := call(t, connect(t, Config{Socket: noBroker(t)}), "policy_list", nil, nil)
	if msg := errText(t, res); !strings.Contains(msg, "sealed") || !strings.Contains(msg, "envseal policy list") {
		t.Fatalf("sealed policy error = %q", msg)
	}

	exp := time.Now().Add(-time.Hour)
	rules := []policy.Rule{{
		ID: "r1", Binary: "/usr/bin/curl", SHA256: "ab", Argv: []string{"-sS"}, Sandbox: "hardened", Expires: &exp,
		Grants: []policy.Grant{{Secret: "tok", Delivery: policy.DeliverEnv, Env: "T"}},
	}}
	cs := connect(t, Config{Socket: noBroker(t), Rules: func(context.Context) ([]policy.Rule, error) { return rules, nil }})
	var out PolicyOutput
	if res := call(t, cs, "policy_list", nil, &out); res.IsError {
		t.Fatalf("policy_list failed: %s", errText(t, res))
	}
	if len(out.Rules) != 1 || out.Rules[0].Binary != "/usr/bin/curl" || !out.Rules[0].Expired ||
		len(out.Rules[0].Secrets) != 1 || !strings.Contains(out.Rules[0].Secrets[0], "tok") {
		t.Fatalf("rules = %+v", out.Rules)
	}

	cs = connect(t, Config{Rules: func(context.Context) ([]policy.Rule, error) { return nil, errors.New("locked") }})
	if msg := errText(t, call(t, cs, "policy_list", map[string]any{}, nil)); !strings.Contains(msg, "locked") {
		t.Fatalf("rules error = %q", msg)
	}
}

func TestStatus(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce)
	t.Setenv("ENVSEAL_HOME", tb.home)
	var out StatusOutput
	if res := call(t, connect(t, brokerCfg(tb)), "status", nil, &out); res.IsError {
		t.Fatalf("status failed: %s", errText(t, res))
	}
	if !out.Broker.Up || out.Broker.Locked || out.Broker.PID != os.Getpid() || !out.Vault.Present || out.Advice != "" {
		t.Fatalf("status = %+v", out)
	}
	if len(out.Sandbox) != 3 || out.Sandbox[0].Tier != "standard" || !out.Sandbox[0].Supported {
		t.Fatalf("sandbox = %+v", out.Sandbox)
	}

	t.Setenv("ENVSEAL_HOME", t.TempDir())
	out = StatusOutput{}
	call(t, connect(t, Config{Socket: noBroker(t)}), "status", nil, &out)
	if out.Broker.Up || out.Vault.Present || !strings.Contains(out.Advice, "envseal broker") {
		t.Fatalf("status without broker = %+v", out)
	}
}
