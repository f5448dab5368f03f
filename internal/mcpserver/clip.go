package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxErrorText bounds the text of any error the server sends. Our own
// messages clip each echoed input (clip), but some errors are written by
// the SDK (schema validation, unknown tool, bad params) and quote the
// input whole: a 1 MiB argument would come back as a 2 MB error, filling
// the agent's context and the client's log.
const maxErrorText = 2048

// clipText cuts s to at most max bytes on a rune boundary, saying how much
// was cut.
func clipText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… [%d more bytes not shown]", len(s)-cut)
}

// clipErrors is receiving middleware that bounds every error answer, as a
// JSON-RPC error or as a tool result with isError.
func clipErrors(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil {
			var we *jsonrpc.Error
			if errors.As(err, &we) {
				if len(we.Message) > maxErrorText || len(we.Data) > maxErrorText {
					// Data is free-form JSON we cannot cut safely; the
					// message says what went wrong.
					return res, &jsonrpc.Error{Code: we.Code, Message: clipText(we.Message, maxErrorText)}
				}
				return res, err
			}
			if len(err.Error()) > maxErrorText {
				return res, errors.New(clipText(err.Error(), maxErrorText))
			}
			return res, err
		}
		if tr, ok := res.(*mcp.CallToolResult); ok && tr.IsError {
			for _, c := range tr.Content {
				if tc, ok := c.(*mcp.TextContent); ok {
					tc.Text = clipText(tc.Text, maxErrorText)
				}
			}
		}
		return res, nil
	}
}
