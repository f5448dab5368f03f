package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/runspec"
	"github.com/envseal/envseal/internal/sandbox"
)

const runDesc = `Run a program with secrets from the envseal vault, without ever seeing their values.
Secrets are delivered as environment variables ("secrets": {"ENV_VAR": "secret-name"}), on stdin ("stdin_secret"), or as a read-only file whose path is in an environment variable ("file_secrets"). With none of those, the .envseal file (ENV_VAR=secret-name lines) nearest to cwd is used.
The first time a program runs with given arguments, the human approves it at the envseal broker (not in this chat); the call waits for that. Output comes back with every secret (and its common encodings) replaced by [envseal:NAME]; it is truncated over max_output_bytes. The program gets no stdin (unless stdin_secret) and no terminal.
If this fails because no broker answers, ask the human to run 'envseal broker' in a terminal of their own, then retry.`

// RunInput is run_command's input.
type RunInput struct {
	Argv           []string          `json:"argv" jsonschema:"the program and its arguments, e.g. [\"curl\", \"-sS\", \"https://api.example.com\"]; argv[0] is looked up on PATH"`
	Cwd            string            `json:"cwd" jsonschema:"absolute path of the working directory"`
	Secrets        map[string]string `json:"secrets,omitempty" jsonschema:"environment variable name to secret name, e.g. {\"GITHUB_TOKEN\": \"github-token\"}"`
	StdinSecret    string            `json:"stdin_secret,omitempty" jsonschema:"secret name written once to the program's stdin, which is then closed"`
	FileSecrets    map[string]string `json:"file_secrets,omitempty" jsonschema:"environment variable name to secret name; the variable holds the path of a read-only file with the value"`
	Sandbox        string            `json:"sandbox,omitempty" jsonschema:"sandbox tier: standard (default), hardened or lockdown; see the status tool for what this machine supports"`
	TimeoutSeconds int               `json:"timeout_seconds,omitempty" jsonschema:"stop the program after this many seconds, approval wait included (default 300, at most 3600)"`
	MaxOutputBytes int               `json:"max_output_bytes,omitempty" jsonschema:"bytes of stdout and of stderr to return (default 65536, at most 1048576)"`
}

// RunOutput is run_command's result.
type RunOutput struct {
	ExitCode        int            `json:"exit_code" jsonschema:"the program's exit status; 128+N if killed by signal N"`
	Stdout          string         `json:"stdout" jsonschema:"scrubbed standard output"`
	Stderr          string         `json:"stderr" jsonschema:"scrubbed standard error"`
	StdoutTruncated bool           `json:"stdout_truncated,omitempty" jsonschema:"stdout was longer than max_output_bytes and was cut (the end says how much)"`
	StderrTruncated bool           `json:"stderr_truncated,omitempty" jsonschema:"stderr was longer than max_output_bytes and was cut (the end says how much)"`
	Leaks           map[string]int `json:"leaks,omitempty" jsonschema:"times the program printed each secret (replaced by [envseal:NAME])"`
	Approval        string         `json:"approval" jsonschema:"rule (an existing rule allowed it), once or always (the human approved it now)"`
	ApprovalNeeded  bool           `json:"approval_needed" jsonschema:"whether the human had to approve this run"`
	RuleID          string         `json:"rule_id,omitempty" jsonschema:"the rule that allowed the run (an existing one, or the one the human just saved with allow always)"`
	Via             string         `json:"via" jsonschema:"broker or direct"`
	ElapsedMS       int64          `json:"elapsed_ms" jsonschema:"milliseconds the call took: the wait for approval (if one was asked) plus the run"`
	ApprovalWaitMS  *int64         `json:"approval_wait_ms,omitempty" jsonschema:"milliseconds the human took to approve (here or at the broker); absent when a rule covered the run"`
}

func (t *tools) runCommand(ctx context.Context, creq *mcp.CallToolRequest, in RunInput) (*mcp.CallToolResult, RunOutput, error) {
	var out RunOutput
	lim, err := checkRunInput(&in)
	if err != nil {
		return nil, out, err
	}
	stdout, stderr := &capped{max: lim.max}, &capped{max: lim.max}
	req := &launch.Request{
		Argv: in.Argv, Cwd: lim.cwd, Env: t.cfg.Env, PATH: t.cfg.PATH,
		Grants: lim.grants, Sandbox: lim.tier,
		// The child gets an empty stdin and pipes for output: never the
		// server's own stdio, which carries the protocol.
		Stdin: bytes.NewReader(nil), Stdout: stdout, Stderr: stderr,
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(lim.timeout)*time.Second)
	defer cancel()
	ctx, clock := withClock(ctx)
	start := time.Now()
	stop := reportProgress(ctx, creq, func(el time.Duration) string {
		if asking, d := clock.pending(); asking {
			return fmt.Sprintf("waiting for the human to approve %s on their terminal (%s)", clip(in.Argv[0]), seconds(d))
		}
		return fmt.Sprintf("%s: waiting for the human's approval at the envseal broker, or for the program to finish (%s so far)", clip(in.Argv[0]), seconds(el))
	})
	res, via, err := t.run(ctx, req)
	stop()
	out.ElapsedMS = time.Since(start).Milliseconds()
	if d, ok := clock.measured(); ok {
		ms := d.Milliseconds()
		out.ApprovalWaitMS = &ms
	} else if res != nil && res.Approval != "" && res.Approval != "rule" {
		ms := res.ApprovalWait.Milliseconds() // asked at the broker
		out.ApprovalWaitMS = &ms
	}
	if err != nil {
		return nil, out, t.runFailed(ctx, in.Argv[0], via, lim.timeout, start, err)
	}
	t.cfg.logf("run_command %s via %s: %s", clip(in.Argv[0]), via, outcome(res))
	out.Stdout, out.StdoutTruncated = stdout.text()
	out.Stderr, out.StderrTruncated = stderr.text()
	out.ExitCode, out.Approval, out.RuleID, out.Via = res.ExitCode, res.Approval, res.RuleID, via
	out.ApprovalNeeded = res.Approval != "" && res.Approval != "rule"
	for name, n := range res.Leaks {
		if n > 0 {
			if out.Leaks == nil {
				out.Leaks = map[string]int{}
			}
			out.Leaks[name] = n
		}
	}
	return nil, out, nil
}

// runLimits are a checked run_command input's working directory, tier,
// grants, timeout (seconds) and output cap (bytes), defaults applied.
type runLimits struct {
	cwd          string
	tier         sandbox.Tier
	grants       []policy.Grant
	timeout, max int
}

// checkRunInput checks in and applies the defaults.
func checkRunInput(in *RunInput) (runLimits, error) {
	var lim runLimits
	if err := checkArgv(in.Argv); err != nil {
		return lim, err
	}
	cwd, err := checkDir("cwd", in.Cwd)
	if err != nil {
		return lim, err
	}
	lim.cwd, lim.tier = cwd, sandbox.Standard
	if in.Sandbox != "" {
		if lim.tier, err = sandbox.ParseTier(in.Sandbox); err != nil {
			return lim, invalid("sandbox %q: use standard, hardened or lockdown", clip(in.Sandbox))
		}
	}
	lim.timeout, lim.max = in.TimeoutSeconds, in.MaxOutputBytes
	if lim.timeout == 0 {
		lim.timeout = DefaultTimeout
	}
	if lim.timeout < 1 || lim.timeout > MaxTimeout {
		return lim, invalid("timeout_seconds %d: use 1 to %d", in.TimeoutSeconds, MaxTimeout)
	}
	if lim.max == 0 {
		lim.max = DefaultMaxOutput
	}
	if lim.max < 1 || lim.max > MaxMaxOutput {
		return lim, invalid("max_output_bytes %d: use 1 to %d", in.MaxOutputBytes, MaxMaxOutput)
	}
	if lim.grants, err = runGrants(in, cwd); err != nil {
		return lim, err
	}
	return lim, nil
}

// runFailed logs a failed run of prog and says why it failed: the
// timeout, the client's cancel, or the run's own error.
func (t *tools) runFailed(ctx context.Context, prog, via string, timeout int, start time.Time, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.cfg.logf("run_command %s via %s: timed out", clip(prog), via)
		return fmt.Errorf("the run did not finish within %d seconds and was stopped (approval wait included): %w", timeout, err)
	case errors.Is(ctx.Err(), context.Canceled):
		// notifications/cancelled (or the client went away): the
		// cancelled ctx closed the broker connection, which withdraws
		// a pending approval, so the program never starts, or stops
		// it if it was running.
		t.cfg.logf("run_command %s via %s: cancelled by the client after %s", clip(prog), via, seconds(time.Since(start)))
		return fmt.Errorf("cancelled by the client after %s: a pending approval was withdrawn and the program not started (a running one was stopped)", seconds(time.Since(start)))
	}
	t.cfg.logf("run_command %s via %s: failed", clip(prog), via)
	return runError(err, via)
}

// run goes through the broker when one answers, else the direct path.
func (t *tools) run(ctx context.Context, req *launch.Request) (*launch.Result, string, error) {
	var local *client.Local
	if t.cfg.Direct != nil {
		local = &client.Local{Runner: t.cfg.Direct}
	}
	svc, err := client.Connect(client.Options{Socket: t.cfg.Socket, Local: local})
	if err != nil {
		if !client.NoBroker(err) {
			// A socket directory that is not ours or a broker of another
			// uid: someone is interfering; Connect did not fall back.
			return nil, "broker", err
		}
		return nil, "direct", fmt.Errorf("%w; %s", err, askForBroker)
	}
	res, err := svc.Run(ctx, req)
	return res, svc.Via(), err
}

const askForBroker = "ask the human to start 'envseal broker' in a terminal of their own (approvals are asked there), then retry"

func runError(err error, via string) error {
	var le *launch.Error
	if !errors.As(err, &le) {
		return fmt.Errorf("run failed: %w", err)
	}
	var what string
	switch le.Code {
	case launch.ExitDenied:
		what = "run denied"
	case launch.ExitNotFound:
		what = "command not found"
	default:
		what = "envseal could not run the command"
	}
	msg := fmt.Sprintf("%s (exit %d): %v", what, le.Code, le.Err)
	if le.Hint != "" {
		msg += "; hint: " + le.Hint
	}
	if via == "direct" && le.Code != launch.ExitNotFound {
		msg += "; " + askForBroker
	}
	return errors.New(msg)
}

func outcome(res *launch.Result) string {
	return fmt.Sprintf("exit %d, approval %s", res.ExitCode, res.Approval)
}

// runGrants validates the requested deliveries, or takes the .envseal
// mappings from cwd up when none are named (as 'envseal run' does).
func runGrants(in *RunInput, cwd string) ([]policy.Grant, error) {
	if len(in.Secrets)+len(in.FileSecrets) > maxSecrets {
		return nil, invalid("more than %d secrets", maxSecrets)
	}
	var gs []policy.Grant
	seen := map[string]bool{}
	add := func(m map[string]string, d policy.Delivery) error {
		envs := make([]string, 0, len(m))
		for env := range m {
			envs = append(envs, env)
		}
		sort.Strings(envs) // a stable order: the rule pins it
		for _, env := range envs {
			if err := checkEnvName(env); err != nil {
				return err
			}
			if err := checkSecretName(m[env]); err != nil {
				return err
			}
			if seen[env] {
				return invalid("variable %s is named twice", env)
			}
			seen[env] = true
			gs = append(gs, policy.Grant{Secret: m[env], Delivery: d, Env: env})
		}
		return nil
	}
	if err := add(in.Secrets, policy.DeliverEnv); err != nil {
		return nil, err
	}
	if err := add(in.FileSecrets, policy.DeliverFD); err != nil {
		return nil, err
	}
	if in.StdinSecret != "" {
		if err := checkSecretName(in.StdinSecret); err != nil {
			return nil, err
		}
		gs = append(gs, policy.Grant{Secret: in.StdinSecret, Delivery: policy.DeliverStdin})
	}
	if len(gs) > 0 {
		return gs, nil
	}
	path, err := envfile.Find(cwd)
	if errors.Is(err, envfile.ErrNotFound) {
		return nil, invalid("no secrets named and no .envseal file in %s or above; pass \"secrets\": {\"ENV_VAR\": \"secret-name\"}", cwd)
	}
	if err != nil {
		return nil, invalid("%v", err)
	}
	gs, err = runspec.Envseal(path)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return gs, nil
}
