package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/vault"
)

const statusDesc = `Show whether the envseal broker is running (and locked), whether the vault is visible from here, and which sandbox tiers (standard, hardened, lockdown) this machine supports for run_command.`

// StatusInput is status' (empty) input.
type StatusInput struct{}

// BrokerInfo describes the broker.
type BrokerInfo struct {
	Up       bool   `json:"up" jsonschema:"a broker answers on the socket"`
	Socket   string `json:"socket" jsonschema:"the broker socket path this server uses"`
	Locked   bool   `json:"locked,omitempty" jsonschema:"the next run asks the human for the passphrase at the broker"`
	PID      int    `json:"pid,omitempty" jsonschema:"the broker's process id"`
	Approver string `json:"approver,omitempty" jsonschema:"how the broker asks the human (tty, pinentry, ...)"`
	Error    string `json:"error,omitempty" jsonschema:"why the broker could not be reached or asked"`
}

// VaultInfo says whether the vault is visible to this process.
type VaultInfo struct {
	Present bool   `json:"present" jsonschema:"an initialized vault is readable from this process"`
	Dir     string `json:"dir,omitempty" jsonschema:"the vault directory looked at"`
	Error   string `json:"error,omitempty" jsonschema:"why the vault is not usable from here"`
}

// TierInfo is one sandbox tier.
type TierInfo struct {
	Tier      string `json:"tier" jsonschema:"standard, hardened or lockdown"`
	Supported bool   `json:"supported" jsonschema:"run_command can use this tier here"`
	Reason    string `json:"reason,omitempty" jsonschema:"why it is not supported, and what to change"`
}

// StatusOutput is status' result.
type StatusOutput struct {
	Broker  BrokerInfo `json:"broker" jsonschema:"the envseal broker, which asks the human and runs commands"`
	Vault   VaultInfo  `json:"vault" jsonschema:"the vault as seen from this process"`
	Sandbox []TierInfo `json:"sandbox" jsonschema:"the sandbox tiers and whether each works on this machine"`
	Jailed  bool       `json:"jailed" jsonschema:"this server runs inside envseal jail"`
	Advice  string     `json:"advice,omitempty" jsonschema:"what to ask the human to do, when something is missing"`
}

func (t *tools) status(ctx context.Context, _ *mcp.CallToolRequest, _ StatusInput) (*mcp.CallToolResult, StatusOutput, error) {
	var out StatusOutput
	out.Broker.Socket = t.cfg.Socket
	if out.Broker.Socket == "" {
		out.Broker.Socket = wire.SocketPath()
	}
	if bc, err := client.Dial(t.cfg.Socket); err != nil {
		if !errors.Is(err, wire.ErrNoBroker) {
			out.Broker.Error = err.Error()
		}
	} else if st, err := bc.Status(); err != nil {
		out.Broker.Error = err.Error()
	} else {
		out.Broker.Up, out.Broker.Locked, out.Broker.PID, out.Broker.Approver = true, st.Locked, st.PID, st.Approver
	}
	if home, err := vault.Home(); err != nil {
		out.Vault.Error = err.Error()
	} else if _, err := vault.Open(home); err != nil {
		out.Vault.Dir, out.Vault.Error = home, err.Error()
	} else {
		out.Vault.Dir, out.Vault.Present = home, true
	}
	sup := sandbox.Supported()
	out.Sandbox = []TierInfo{}
	for _, tier := range sandbox.Tiers() {
		ti := TierInfo{Tier: string(tier), Supported: sup[tier] == nil}
		if sup[tier] != nil {
			ti.Reason = sup[tier].Error()
		}
		out.Sandbox = append(out.Sandbox, ti)
	}
	out.Jailed = os.Getenv("ENVSEAL_JAIL") == "1"
	if !out.Broker.Up {
		out.Advice = askForBroker
	}
	return nil, out, nil
}

const policyDesc = `List the rules the human approved with "allow always": program path and SHA-256, exact arguments, which secrets it gets and how, sandbox tier, expiry. A run matching a rule needs no new approval. The rules are sealed under the vault key; if they cannot be shown here, the tool says so.`

// PolicyInput is policy_list's (empty) input.
type PolicyInput struct{}

// RuleInfo is one rule as the agent may see it.
type RuleInfo struct {
	ID      string   `json:"id" jsonschema:"the rule's id"`
	Binary  string   `json:"binary" jsonschema:"absolute path of the approved program"`
	SHA256  string   `json:"sha256" jsonschema:"SHA-256 of the program's bytes when it was approved"`
	Argv    []string `json:"argv" jsonschema:"the exact arguments after the program"`
	Secrets []string `json:"secrets" jsonschema:"grants as ENV=name, stdin=name or fd:ENV=name"`
	Sandbox string   `json:"sandbox" jsonschema:"the sandbox tier the program runs in"`
	Expires string   `json:"expires,omitempty" jsonschema:"RFC 3339; empty means never"`
	Expired bool     `json:"expired,omitempty" jsonschema:"the rule has expired; the next run asks the human again"`
}

// PolicyOutput is policy_list's result.
type PolicyOutput struct {
	Rules []RuleInfo `json:"rules" jsonschema:"the approved rules"`
}

func (t *tools) policyList(ctx context.Context, _ *mcp.CallToolRequest, _ PolicyInput) (*mcp.CallToolResult, PolicyOutput, error) {
	out := PolicyOutput{Rules: []RuleInfo{}}
	if t.cfg.Rules == nil {
		return nil, out, fmt.Errorf("%w; ask the human to run 'envseal policy list' to see them (run_command works without them: an unknown program is approved by the human at the broker)", ErrPolicySealed)
	}
	rules, err := t.cfg.Rules(ctx)
	if err != nil {
		return nil, out, fmt.Errorf("read the rules: %w", err)
	}
	now := time.Now()
	for _, r := range rules {
		ri := RuleInfo{ID: r.ID, Binary: r.Binary, SHA256: r.SHA256, Argv: r.Argv, Secrets: []string{}, Sandbox: string(r.Sandbox), Expired: r.Expired(now)}
		if ri.Argv == nil {
			ri.Argv = []string{}
		}
		for _, g := range r.Grants {
			ri.Secrets = append(ri.Secrets, g.String())
		}
		if r.Expires != nil {
			ri.Expires = r.Expires.UTC().Format(time.RFC3339)
		}
		out.Rules = append(out.Rules, ri)
	}
	return nil, out, nil
}
