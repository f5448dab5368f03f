package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxFrame bounds one inbound message (one line), as the SDK's stdio
// transport does by default.
const MaxFrame = mcp.DefaultMaxLineLength

// Transport is MCP over newline-delimited JSON, like the SDK's
// StdioTransport, except that a bad line is answered and skipped instead of
// ending the session. The SDK's transport stops reading at the first line
// that is not a JSON-RPC message or is over its size limit, so one stray
// line from a client (or a 20 MB paste) took every tool away from the agent
// until its client was restarted.
//
// What it answers itself, with the standard JSON-RPC error objects:
//   - a line that is not JSON, or is over MaxLine bytes: -32700 (parse
//     error), id null;
//   - JSON that is not a JSON-RPC message, or a batch (removed from MCP in
//     2025-06-18): -32600 (invalid request);
//   - a request other than initialize and ping before the server answered
//     initialize: -32600 with "not initialized" (the SDK's own answer has
//     code 0, which clients do not recognise).
type Transport struct {
	Reader  io.ReadCloser
	Writer  io.Writer
	MaxLine int // 0 means MaxFrame
}

// StdioTransport is Transport on the process's stdin and stdout.
func StdioTransport() *Transport {
	return &Transport{Reader: os.Stdin, Writer: os.Stdout}
}

// Connect implements mcp.Transport.
func (t *Transport) Connect(context.Context) (mcp.Connection, error) {
	max := t.MaxLine
	if max <= 0 {
		max = MaxFrame
	}
	c := &lineConn{
		w: t.Writer, rc: t.Reader, max: max,
		lines: make(chan line), closed: make(chan struct{}),
		initIDs: map[jsonrpc.ID]bool{},
	}
	go c.readLines(bufio.NewReaderSize(t.Reader, 64<<10))
	return c, nil
}

// line is one inbound line, or why there is none.
type line struct {
	b        []byte
	tooLarge bool
	err      error
}

type lineConn struct {
	w   io.Writer
	wmu sync.Mutex // one message per Write, never interleaved
	rc  io.Closer
	max int

	lines     chan line
	closed    chan struct{}
	closeOnce sync.Once

	mu          sync.Mutex
	initialized bool
	initIDs     map[jsonrpc.ID]bool // initialize requests not yet answered
}

// readLines runs until the reader fails or the connection closes; a
// goroutine so that Close unblocks Read (stdin reads cannot be interrupted).
func (c *lineConn) readLines(r *bufio.Reader) {
	for {
		var buf []byte
		tooLarge := false
		var err error
		for {
			var chunk []byte
			chunk, err = r.ReadSlice('\n')
			if !tooLarge {
				if len(buf)+len(chunk) > c.max+1 { // +1: the newline
					// Keep reading to the end of the line, dropping it:
					// the next line is a new message.
					tooLarge, buf = true, nil
				} else {
					buf = append(buf, chunk...)
				}
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if tooLarge || len(bytes.TrimSpace(buf)) > 0 {
			select {
			case c.lines <- line{b: buf, tooLarge: tooLarge}:
			case <-c.closed:
				return
			}
		}
		if err != nil {
			select {
			case c.lines <- line{err: err}:
			case <-c.closed:
			}
			return
		}
	}
}

// Read implements mcp.Connection: the next valid message. Invalid lines
// are answered here and never reach the SDK.
func (c *lineConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	for {
		var l line
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.closed:
			return nil, io.EOF
		case l = <-c.lines:
		}
		if l.err != nil {
			return nil, l.err
		}
		msg, code, text := c.decode(l)
		if msg != nil {
			return msg, nil
		}
		if err := c.writeError(ctx, idOf(l.b), code, text); err != nil {
			return nil, err
		}
	}
}

// decode returns the message of l, or the error to answer.
func (c *lineConn) decode(l line) (jsonrpc.Message, int64, string) {
	if l.tooLarge {
		return nil, jsonrpc.CodeParseError, fmt.Sprintf("parse error: message over %d bytes, ignored", c.max)
	}
	b := bytes.TrimSpace(l.b)
	if !json.Valid(b) {
		return nil, jsonrpc.CodeParseError, "parse error: the line is not one valid JSON value"
	}
	if b[0] == '[' {
		return nil, jsonrpc.CodeInvalidRequest, "invalid request: JSON-RPC batches are not supported (removed from MCP in 2025-06-18); send one message per line"
	}
	msg, err := jsonrpc.DecodeMessage(b)
	if err != nil {
		return nil, jsonrpc.CodeInvalidRequest, "invalid request: " + clipText(err.Error(), 200)
	}
	req, ok := msg.(*jsonrpc.Request)
	if !ok || !req.IsCall() {
		return msg, 0, ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.Method == "initialize" {
		c.initIDs[req.ID] = true
		return msg, 0, ""
	}
	if !c.initialized && !allowedBeforeInit(req) {
		return nil, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: server not initialized; send initialize before %q", clip(req.Method))
	}
	return msg, 0, ""
}

// allowedBeforeInit mirrors the SDK's own gate: the methods it serves
// before initialize, and requests of the sessionless protocol (SEP-2575),
// which carry their version in _meta and never initialize.
func allowedBeforeInit(req *jsonrpc.Request) bool {
	switch req.Method {
	case "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "server/discover":
		return true
	}
	var p struct {
		Meta map[string]any `json:"_meta"`
	}
	if json.Unmarshal(req.Params, &p) != nil {
		return false
	}
	v, _ := p.Meta[mcp.MetaKeyProtocolVersion].(string)
	return v >= "2026-07-28" // the first sessionless version
}

// idOf is the id of a request the server could not accept, when it can be
// read and is small; else null (as JSON-RPC asks for a parse error).
func idOf(b []byte) json.RawMessage {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if len(b) > MaxFrame || json.Unmarshal(b, &m) != nil || len(m.ID) == 0 || len(m.ID) > 64 {
		return json.RawMessage("null")
	}
	var v any
	if json.Unmarshal(m.ID, &v) != nil {
		return json.RawMessage("null")
	}
	switch v.(type) {
	case string, float64:
		return m.ID
	}
	return json.RawMessage("null")
}

func (c *lineConn) writeError(ctx context.Context, id json.RawMessage, code int64, text string) error {
	type errObj struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}
	b, err := json.Marshal(struct {
		V     string          `json:"jsonrpc"`
		ID    json.RawMessage `json:"id"`
		Error errObj          `json:"error"`
	}{"2.0", id, errObj{code, text}})
	if err != nil {
		return err
	}
	return c.writeLine(ctx, b)
}

// Write implements mcp.Connection.
func (c *lineConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if resp, ok := msg.(*jsonrpc.Response); ok {
		c.mu.Lock()
		if c.initIDs[resp.ID] {
			delete(c.initIDs, resp.ID)
			if resp.Error == nil {
				c.initialized = true
			}
		}
		c.mu.Unlock()
	}
	b, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	return c.writeLine(ctx, b)
}

func (c *lineConn) writeLine(ctx context.Context, b []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-c.closed:
		return mcp.ErrConnectionClosed
	default:
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.w.Write(append(b, '\n'))
	return err
}

// Close implements mcp.Connection.
func (c *lineConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.rc.Close()
		if errors.Is(err, os.ErrClosed) {
			err = nil
		}
	})
	return err
}

// SessionID implements mcp.Connection (stdio has no sessions).
func (c *lineConn) SessionID() string { return "" }
