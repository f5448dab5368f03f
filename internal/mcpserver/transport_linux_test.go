package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// syncWriter makes each Write one uninterrupted message, so lines the test
// injects never interleave with the SDK client's.
type syncWriter struct {
	mu sync.Mutex
	w  io.WriteCloser
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) Close() error { return s.w.Close() }

// rawAnswer is a response to a line the test injected by hand.
type rawAnswer struct {
	ID    any `json:"id"`
	Error *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Result json.RawMessage `json:"result"`
	size   int
}

// divert reads the server's output lines: responses to the test's own
// lines (id null, or a string id "raw-…") go to the channel, the rest to
// the returned reader, which the SDK client reads. The client would end
// its session on a response it cannot match, as any strict client may.
func divert(t *testing.T, r io.Reader) (io.ReadCloser, <-chan rawAnswer) {
	pr, pw := io.Pipe()
	ch := make(chan rawAnswer, 64)
	go func() {
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			b, err := br.ReadBytes('\n')
			if len(b) > 0 {
				var a rawAnswer
				if json.Unmarshal(b, &a) == nil {
					if s, ok := a.ID.(string); a.ID == nil || ok && strings.HasPrefix(s, "raw-") {
						a.size = len(b)
						ch <- a
						continue
					}
				}
				if _, err := pw.Write(b); err != nil {
					return
				}
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr, ch
}

func expectRaw(t *testing.T, ch <-chan rawAnswer, what string, id any, code int64, msg string) rawAnswer {
	t.Helper()
	select {
	case a := <-ch:
		if a.ID != id {
			t.Fatalf("%s: answer for id %v, want %v", what, a.ID, id)
		}
		if code == 0 {
			if a.Error != nil || a.Result == nil {
				t.Fatalf("%s: want a result, got %+v", what, a.Error)
			}
			return a
		}
		if a.Error == nil || a.Error.Code != code || !strings.Contains(a.Error.Message, msg) {
			t.Fatalf("%s: answer %+v, want code %d with %q", what, a.Error, code, msg)
		}
		return a
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer", what)
	}
	return rawAnswer{}
}

// lineServer serves cfg on Transport over pipes. inject writes a raw line
// to the server; connect attaches the SDK client.
func lineServer(t *testing.T, cfg Config) (inject func(string), answers <-chan rawAnswer, connect func() *mcp.ClientSession) {
	t.Helper()
	c2sR, c2sW := io.Pipe()
	s2cR, s2cW := io.Pipe()
	ss, err := New(cfg).Connect(context.Background(), &Transport{Reader: c2sR, Writer: s2cW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &syncWriter{w: c2sW}
	clientR, ch := divert(t, s2cR)
	t.Cleanup(func() {
		c2sW.Close()
		ss.Wait()
		s2cW.Close()
	})
	inject = func(s string) {
		if _, err := w.Write([]byte(s + "\n")); err != nil {
			t.Fatalf("inject: %v", err)
		}
	}
	connect = func() *mcp.ClientSession {
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "raw-test", Version: "1"}, nil).
			Connect(context.Background(), &mcp.IOTransport{Reader: clientR, Writer: w}, nil)
		if err != nil {
			t.Fatalf("initialize after bad lines: %v", err)
		}
		return cs
	}
	return inject, ch, connect
}

// Bad input on the wire is answered with the standard JSON-RPC error and
// the session goes on: a request before initialize, lines that are not
// JSON, a frame over 16 MiB, a batch, JSON that is not JSON-RPC. A big but
// legal frame still works.
func TestTransportSurvivesBadLines(t *testing.T) {
	inject, answers, connect := lineServer(t, Config{Socket: noBroker(t)})

	inject(`{"jsonrpc":"2.0","id":"raw-pre","method":"tools/list"}`)
	expectRaw(t, answers, "tools/list before initialize", "raw-pre", -32600, "not initialized")
	inject(`{"jsonrpc":"2.0","id":"raw-preping","method":"ping"}`)
	expectRaw(t, answers, "ping before initialize", "raw-preping", 0, "")
	inject(`not json at all`)
	expectRaw(t, answers, "garbage before initialize", nil, -32700, "parse error")

	cs := connect()
	ctx := context.Background()
	for _, c := range []struct {
		what, line string
		id         any
		code       int64
		msg        string
	}{
		{"garbage", `}{ definitely not json`, nil, -32700, "parse error"},
		{"truncated", `{"jsonrpc":"2.0","id":"raw-t","method":"tools/list"`, nil, -32700, "parse error"},
		{"two values", `{"jsonrpc":"2.0","id":"raw-a","method":"ping"} {"x":1}`, nil, -32700, "parse error"},
		{"binary", "\x00\xff\xfe\x01", nil, -32700, "parse error"},
		{"oversized", `{"jsonrpc":"2.0","id":"raw-big","method":"ping","params":{"_meta":{"pad":"` + strings.Repeat("a", MaxFrame) + `"}}}`, nil, -32700, "over 16777216 bytes"},
		{"batch", `[{"jsonrpc":"2.0","id":"raw-b","method":"ping"}]`, nil, -32600, "batches are not supported"},
		{"empty batch", `[]`, nil, -32600, "batches"},
		{"not json-rpc", `{"id":"raw-n","hello":"world"}`, "raw-n", -32600, "invalid request"},
		{"wrong version", `{"jsonrpc":"1.0","id":"raw-v","method":"ping"}`, "raw-v", -32600, "invalid request"},
		{"number", `42`, nil, -32600, "invalid request"},
	} {
		inject(c.line)
		a := expectRaw(t, answers, c.what, c.id, c.code, c.msg)
		if a.size > 1024 {
			t.Errorf("%s: %d-byte answer", c.what, a.size)
		}
		// The session still serves the SDK client after each.
		if _, err := cs.ListTools(ctx, nil); err != nil {
			t.Fatalf("after %s: %v", c.what, err)
		}
	}
	// A frame of 1 MiB, under the limit, is served.
	inject(`{"jsonrpc":"2.0","id":"raw-1m","method":"ping","params":{"_meta":{"pad":"` + strings.Repeat("b", 1<<20) + `"}}}`)
	expectRaw(t, answers, "1 MiB ping", "raw-1m", 0, "")

	var st StatusOutput
	if res := call(t, cs, "status", nil, &st); res.IsError {
		t.Fatalf("status after bad lines: %s", errText(t, res))
	}
}

// Nothing the server answers echoes a huge input whole: our own messages
// clip what they quote, and the middleware bounds what the SDK writes
// (schema validation, unknown tool).
func TestErrorsClipEchoedInput(t *testing.T) {
	tb := startBroker(t, 0)
	cs := connect(t, brokerCfg(tb))
	huge := strings.Repeat("x", 1<<20)
	for name, args := range map[string]struct {
		tool string
		args map[string]any
	}{
		"dir":              {"list_secrets", map[string]any{"dir": "/" + huge}},
		"relative dir":     {"list_secrets", map[string]any{"dir": huge}},
		"cwd":              {"run_command", map[string]any{"argv": []string{"true"}, "cwd": "/" + huge}},
		"argv string":      {"run_command", map[string]any{"argv": huge, "cwd": "/"}},
		"sandbox":          {"run_command", map[string]any{"argv": []string{"true"}, "cwd": "/", "sandbox": huge, "secrets": map[string]string{"A": "tok"}}},
		"env name":         {"run_command", map[string]any{"argv": []string{"true"}, "cwd": "/", "secrets": map[string]string{huge: "tok"}}},
		"secret name":      {"run_command", map[string]any{"argv": []string{"true"}, "cwd": "/", "secrets": map[string]string{"A": huge}}},
		"unknown property": {"run_command", map[string]any{"argv": []string{"true"}, "cwd": "/", huge: 1}},
		"request name":     {"request_secret", map[string]any{"name": huge, "purpose": "p"}},
		"purpose":          {"request_secret", map[string]any{"name": "k", "purpose": huge}},
	} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: args.tool, Arguments: args.args})
		if err != nil {
			if len(err.Error()) > 4096 {
				t.Errorf("%s: %d-byte protocol error", name, len(err.Error()))
			}
			continue
		}
		b, _ := json.Marshal(res)
		if !res.IsError {
			t.Errorf("%s: accepted", name)
		} else if len(b) > 4096 {
			t.Errorf("%s: %d-byte answer", name, len(b))
		}
	}
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: huge})
	if err == nil || len(err.Error()) > 4096 {
		t.Errorf("unknown tool with a 1 MiB name: error of %d bytes", len(err.Error()))
	}
	if tb.ap.n.Load() != 0 {
		t.Fatal("an invalid request reached the human")
	}
}
