package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/broker"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/vault"
)

const statusDesc = `Show whether the envseal broker is running (and locked), whether the vault is visible from here, and which sandbox tiers (standard, hardened, lockdown) this machine supports for run_command.`

// StatusInput is status' (empty) input.
type StatusInput struct{}

// BrokerInfo describes the broker.
type BrokerInfo struct {
	Up       bool   `json:"up"`
	Socket   string `json:"socket"`
	Locked   bool   `json:"locked,omitempty" jsonschema:"the next run asks the human for the passphrase at the broker"`
	PID      int    `json:"pid,omitempty"`
	Approver string `json:"approver,omitempty"`
	Error    string `json:"error,omitempty"`
}

// VaultInfo says whether the vault is visible to this process.
type VaultInfo struct {
	Present bool   `json:"present"`
	Dir     string `json:"dir,omitempty"`
	Error   string `json:"error,omitempty"`
}

// TierInfo is one sandbox tier.
type TierInfo struct {
	Tier      string `json:"tier"`
	Supported bool   `json:"supported"`
	Reason    string `json:"reason,omitempty"`
}

// StatusOutput is status' result.
type StatusOutput struct {
	Broker  BrokerInfo `json:"broker"`
	Vault   VaultInfo  `json:"vault"`
	Sandbox []TierInfo `json:"sandbox"`
	Jailed  bool       `json:"jailed" jsonschema:"this server runs inside envseal jail"`
	Advice  string     `json:"advice,omitempty"`
}

func (t *tools) status(ctx context.Context, _ *mcp.CallToolRequest, _ StatusInput) (*mcp.CallToolResult, StatusOutput, error) {
	var out StatusOutput
	out.Broker.Socket = t.cfg.Socket
	if out.Broker.Socket == "" {
		out.Broker.Socket = broker.SocketPath()
	}
	if bc, err := broker.Dial(t.cfg.Socket); err != nil {
		if !errors.Is(err, broker.ErrNoBroker) {
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
		ti := TierInfo{Tier: tier, Supported: sup[tier] == nil}
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
	ID      string   `json:"id"`
	Binary  string   `json:"binary"`
	SHA256  string   `json:"sha256"`
	Argv    []string `json:"argv" jsonschema:"the exact arguments after the program"`
	Secrets []string `json:"secrets" jsonschema:"grants as ENV=name, stdin=name or fd:ENV=name"`
	Sandbox string   `json:"sandbox"`
	Expires string   `json:"expires,omitempty" jsonschema:"RFC 3339; empty means never"`
	Expired bool     `json:"expired,omitempty"`
}

// PolicyOutput is policy_list's result.
type PolicyOutput struct {
	Rules []RuleInfo `json:"rules"`
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
		ri := RuleInfo{ID: r.ID, Binary: r.Binary, SHA256: r.SHA256, Argv: r.Argv, Secrets: []string{}, Sandbox: r.Sandbox, Expired: r.Expired(now)}
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
