package mcpserver

import (
	"context"
	"errors"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
)

// ErrPolicySealed is policy_list's answer when no unlocked broker can show
// the rules: they are sealed under the vault key, which the agent must not
// hold.
var ErrPolicySealed = errors.New("the approval rules are sealed under the vault key and cannot be shown here")

// ErrInvalid marks a rejected tool input.
var ErrInvalid = errors.New("invalid input")

// Config is what the server needs. The zero value serves the default
// broker socket and has no direct path.
type Config struct {
	// Version is reported to the client at initialize.
	Version string
	// Socket is the broker socket ("" is broker.SocketPath()).
	Socket string
	// Direct runs a request when no broker answers (nil: no direct path).
	// It asks the passphrase and the approval on the controlling terminal,
	// so under an MCP client it usually fails; the tool error then tells the
	// agent to ask the human for a broker.
	Direct launch.Runner
	// Rules returns the approved rules when something can read them (an
	// unlocked broker). Nil: policy_list answers ErrPolicySealed.
	Rules func(ctx context.Context) ([]policy.Rule, error)
	// Env and PATH are the environment a child starts from (filtered by
	// the checkpoint); nil Env means none.
	Env  []string
	PATH string
	// Logf reports events on the server's stderr; never a value, and never
	// on stdout, which carries the protocol.
	Logf func(format string, args ...any)
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

const instructions = `envseal keeps secrets (API tokens, passwords) that you can USE but never READ.
- list_secrets: which secret names exist and which .envseal mappings use them.
- run_command: run a program with secrets delivered to it; its output comes back with every secret replaced by [envseal:NAME]. The first run of a program is approved by the human at the envseal broker, not by you.
- request_secret: ask the human to type a new secret's value at the broker; you only learn whether it was stored.
- status: whether the broker is up and which sandbox tiers work here.
- policy_list: the approved rules, when they can be shown.
Never ask the human to paste a secret into the chat; use request_secret.`

// New returns the MCP server with envseal's tools.
func New(cfg Config) *mcp.Server {
	v := cfg.Version
	if v == "" {
		v = "dev"
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "envseal", Version: v}, &mcp.ServerOptions{Instructions: instructions})
	t := &tools{cfg: cfg}
	addTool(s, &mcp.Tool{Name: "list_secrets", Description: listDesc, Annotations: readOnly()}, nil, t.listSecrets)
	addTool(s, &mcp.Tool{Name: "run_command", Description: runDesc}, runInputSchema(), t.runCommand)
	addTool(s, &mcp.Tool{Name: "request_secret", Description: requestDesc}, nil, t.requestSecret)
	addTool(s, &mcp.Tool{Name: "policy_list", Description: policyDesc, Annotations: readOnly()}, nil, t.policyList)
	addTool(s, &mcp.Tool{Name: "status", Description: statusDesc, Annotations: readOnly()}, nil, t.status)
	s.AddReceivingMiddleware(clipErrors)
	return s
}

// Serve runs the server on transport t until the client disconnects or ctx
// ends.
func Serve(ctx context.Context, cfg Config, t mcp.Transport) error {
	return New(cfg).Run(ctx, t)
}

// addTool registers a tool with plain schemas (see schemaFor); in nil
// means the schema inferred from In.
func addTool[In, Out any](s *mcp.Server, tl *mcp.Tool, in *jsonschema.Schema, h mcp.ToolHandlerFor[In, Out]) {
	if in == nil {
		in = schemaFor[In]()
	}
	tl.InputSchema, tl.OutputSchema = in, schemaFor[Out]()
	mcp.AddTool(s, tl, h)
}

func readOnly() *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{ReadOnlyHint: true}
}

type tools struct {
	cfg Config
}
