package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/mcpserver"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) mcpCmd() *cobra.Command {
	c := &cobra.Command{
		Use:  "mcp",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return a.serveMCP() },
	}
	c.AddCommand(a.mcpConfigCmd())
	return c
}

func (a *app) serveMCP() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	cfg := mcpserver.Config{
		Env: os.Environ(), PATH: os.Getenv("PATH"),
		Direct: a.mcpDirect(),
		Logf:   func(format string, args ...any) { a.infof(format, args...) },
		// The rules are sealed; an unlocked broker can show them (no
		// values are in them). Without a broker policy_list says so.
		Rules: func(context.Context) ([]policy.Rule, error) {
			svc, err := client.Connect(client.Options{})
			if err != nil {
				return nil, fmt.Errorf("%w: the rules are sealed; ask the human to start 'envseal broker' (or to run 'envseal policy list')", err)
			}
			return svc.Policy()
		},
	}
	a.infof("mcp server on stdio (pid %d)", os.Getpid())
	// Not the SDK's StdioTransport: it ends the session at the first line
	// that is not a JSON-RPC message.
	err := mcpserver.Serve(ctx, cfg, mcpserver.StdioTransport())
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		return withHint(fmt.Errorf("mcp: %w", err), "")
	}
	return nil
}

// mcpDirect is the direct path for run_command when no broker answers: the
// passphrase and the approval are asked on the controlling terminal, never
// through the MCP client. Under most agents there is none (or the agent's
// UI owns it) and the run fails with a hint to start the broker.
func (a *app) mcpDirect() *client.Local {
	return &client.Local{
		OpenVault: func() (*vault.Vault, error) {
			v, err := openVault()
			if err != nil {
				return nil, &launch.Error{Code: launch.ExitFailed, Err: err, Hint: hintFor(err)}
			}
			return v, nil
		},
		Checkpoint: func(v *vault.Vault) (launch.Config, error) {
			ap, err := approve.New(approve.KindTTY, approve.WithTimeout(approve.DefaultTimeout))
			if err != nil {
				return launch.Config{}, &launch.Error{Code: launch.ExitFailed, Err: err}
			}
			return launch.Config{
				Vault: v, Direct: true, Approver: mcpserver.TimedApprover(ap),
				Audit: a.runAuditor(v.Dir(), approve.KindTTY),
				Unlock: func() (seal.Key, error) {
					return unlockVault(v, a.stderr, (&passphraseFlag{fd: -1}).ask("Vault passphrase (envseal mcp): "))
				},
			}, nil
		},
	}
}
