package mcpserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/server"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// The values the tests store; a test names them, never prints them.
const (
	storedValue = "tok-mcp-5f3a9c1e77-stored-value"
	typedValue  = "typed-at-broker-8d21b6-value"
)

// fakeApprover plays the human at the broker.
type fakeApprover struct {
	n atomic.Int64
	d atomic.Int64 // an approve.Decision
}

func (a *fakeApprover) Approve(context.Context, *approve.Request) (approve.Decision, error) {
	a.n.Add(1)
	return approve.Decision(a.d.Load()), nil
}

type testBroker struct {
	sock  string
	home  string        // the vault directory (ENVSEAL_HOME)
	xdg   string        // XDG_RUNTIME_DIR under which sock lives
	ap    *fakeApprover // nil when startBrokerWith was given another
	typed atomic.Int64  // values typed at the broker
}

// startBroker makes a vault holding secret "tok" and serves it on
// $xdg/envseal/broker.sock in a fresh directory.
func startBroker(t *testing.T, d approve.Decision) *testBroker {
	t.Helper()
	ap := &fakeApprover{}
	ap.d.Store(int64(d))
	tb := startBrokerWith(t, ap)
	tb.ap = ap
	return tb
}

// startBrokerWith is startBroker with the human played by ap.
func startBrokerWith(t *testing.T, ap approve.Approver) *testBroker {
	t.Helper()
	dir := t.TempDir()
	tb := &testBroker{home: filepath.Join(dir, "vault"), xdg: filepath.Join(dir, "xdg")}
	v, key, err := vault.Create(tb.home, []byte("pass"), seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, policy.InitEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Store(key, "tok", []byte(storedValue), vault.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(tb.xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	tb.sock = filepath.Join(tb.xdg, "envseal", wire.SocketName)
	ln, err := server.Listen(tb.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{
		Vault: v, Key: key, Approver: ap, ApproverName: "fake", Audit: launch.NopAuditor{},
		ReadValue: func(string) ([]byte, error) {
			tb.typed.Add(1)
			return []byte(typedValue), nil
		},
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("broker did not stop")
		}
	})
	return tb
}

// noBroker is a socket path in an existing private directory where no
// broker listens.
func noBroker(t *testing.T) string {
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, wire.SocketName)
}

// connect serves cfg on in-memory transports and returns a client session.
func connect(t *testing.T, cfg Config) *mcp.ClientSession {
	t.Helper()
	return connectWith(t, cfg, nil)
}

// connectWith is connect with client options (e.g. a progress handler).
func connectWith(t *testing.T, cfg Config, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := New(cfg).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, opts).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

// call calls a tool, checks the raw JSON of the response holds no stored
// value, and decodes its structured content into out (when not an error).
func call(t *testing.T, cs *mcp.ClientSession, name string, args any, out any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	assertNoValue(t, name, raw)
	if !res.IsError && out != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decode structured content: %v", name, err)
		}
	}
	return res
}

// assertNoValue fails when raw holds a stored value, raw or in an encoding
// a careless server might use. It names the value, never prints it.
func assertNoValue(t *testing.T, what string, raw []byte) {
	t.Helper()
	for name, v := range map[string]string{"storedValue": storedValue, "typedValue": typedValue} {
		for enc, s := range map[string]string{
			"raw":       v,
			"base64":    base64.StdEncoding.EncodeToString([]byte(v)),
			"base64url": base64.RawURLEncoding.EncodeToString([]byte(v)),
			"hex":       hex.EncodeToString([]byte(v)),
		} {
			if bytes.Contains(raw, []byte(s)) {
				t.Fatalf("%s: the response holds %s (%s)", what, name, enc)
			}
		}
	}
}

// errText is the text of a tool error.
func errText(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want a tool error, got success: %s", mustJSON(res.StructuredContent))
	}
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	return sb.String()
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
