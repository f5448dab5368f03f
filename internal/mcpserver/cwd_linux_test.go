package mcpserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/approve"
)

// TestRunCommandOtherCwdAsksAgain: a run_command rule approved "always"
// in one directory covers the same argv there (the control: not asked a
// second time) but not from the agent's own directory with its own
// deploy.sh: the human is asked again and, denying, the call fails and
// the agent's script never runs.
func TestRunCommandOtherCwdAsksAgain(t *testing.T) {
	tb := startBroker(t, approve.AllowAlways)
	cs := connect(t, brokerCfg(tb))
	app, agent := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(app, "deploy.sh"), []byte("echo approved-deploy\n"), 0o644)
	marker := filepath.Join(agent, "agent-ran")
	os.WriteFile(filepath.Join(agent, "deploy.sh"), []byte("touch "+marker+"\n"), 0o644)
	args := func(cwd string) map[string]any {
		return map[string]any{"argv": []string{"sh", "deploy.sh"}, "cwd": cwd, "secrets": map[string]string{"T": "tok"}}
	}
	for i := 0; i < 2; i++ {
		var out RunOutput
		if res := call(t, cs, "run_command", args(app), &out); res.IsError || !strings.Contains(out.Stdout, "approved-deploy") {
			t.Fatalf("run %d in the approved directory: %s %q", i, errText(t, res), out.Stdout)
		}
	}
	if n := tb.ap.n.Load(); n != 1 {
		t.Fatalf("control: asked %d times for the approved directory, want 1", n)
	}
	tb.ap.d.Store(int64(approve.Deny))
	res := call(t, cs, "run_command", args(agent), nil)
	if msg := errText(t, res); !strings.Contains(msg, "denied") {
		t.Fatalf("run from the agent's directory: %q (want denied)", msg)
	}
	if n := tb.ap.n.Load(); n != 2 {
		t.Fatalf("asked %d times, want the other cwd asked again", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the agent's deploy.sh ran")
	}
}
