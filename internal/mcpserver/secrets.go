package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/vault"
)

const listDesc = `List the secrets in the envseal vault: names, when each was created and last replaced, and which .envseal mappings (ENV_VAR=secret-name) near the given directory use them. Values are never shown, to you or anyone; use run_command to give a secret to a program.`

// ListInput is list_secrets' input.
type ListInput struct {
	Dir string `json:"dir,omitempty" jsonschema:"absolute path of a project directory: the nearest .envseal file from there up is read and its mappings returned"`
}

// SecretInfo is one secret's metadata.
type SecretInfo struct {
	Name       string   `json:"name" jsonschema:"the secret's name (use it in run_command's secrets)"`
	Created    string   `json:"created,omitempty" jsonschema:"RFC 3339 time the secret was first stored"`
	Updated    string   `json:"updated,omitempty" jsonschema:"RFC 3339 time its value was last replaced"`
	Generation uint64   `json:"generation,omitempty" jsonschema:"how many times a value was stored under this name (1 for the first)"`
	MappedAs   []string `json:"mapped_as,omitempty" jsonschema:"environment variables the .envseal file maps to this secret"`
	Error      string   `json:"error,omitempty" jsonschema:"why its metadata could not be read"`
}

// MappingInfo is one .envseal line.
type MappingInfo struct {
	Env    string `json:"env" jsonschema:"the environment variable the program gets"`
	Secret string `json:"secret" jsonschema:"the secret name it is mapped to"`
	Line   int    `json:"line" jsonschema:"line number in the .envseal file"`
	Stored bool   `json:"stored" jsonschema:"whether the vault holds this secret; if not, use request_secret"`
}

// ListOutput is list_secrets' result.
type ListOutput struct {
	Secrets     []SecretInfo  `json:"secrets" jsonschema:"every secret in the vault, without values"`
	Source      string        `json:"source" jsonschema:"broker or vault: where the list was read"`
	EnvsealFile string        `json:"envseal_file,omitempty" jsonschema:"the .envseal file found from dir up"`
	Mappings    []MappingInfo `json:"mappings,omitempty" jsonschema:"the lines of that .envseal file"`
}

func (t *tools) listSecrets(ctx context.Context, _ *mcp.CallToolRequest, in ListInput) (*mcp.CallToolResult, ListOutput, error) {
	out := ListOutput{Secrets: []SecretInfo{}}
	var dir string
	if in.Dir != "" {
		d, err := checkDir("dir", in.Dir)
		if err != nil {
			return nil, out, err
		}
		dir = d
	}
	ents, src, err := t.entries()
	if err != nil {
		return nil, out, err
	}
	out.Source = src
	index := map[string]int{}
	for _, e := range ents {
		index[e.Name] = len(out.Secrets)
		out.Secrets = append(out.Secrets, e)
	}
	if dir == "" {
		return nil, out, nil
	}
	path, err := envfile.Find(dir)
	if errors.Is(err, envfile.ErrNotFound) {
		return nil, out, nil
	}
	if err != nil {
		return nil, out, fmt.Errorf("find .envseal: %w", err)
	}
	ms, err := envfile.Load(path)
	if err != nil {
		return nil, out, fmt.Errorf("read %s: %w", path, err)
	}
	out.EnvsealFile = path
	for _, m := range ms {
		i, ok := index[m.Secret]
		out.Mappings = append(out.Mappings, MappingInfo{Env: m.Env, Secret: m.Secret, Line: m.Line, Stored: ok})
		if ok {
			out.Secrets[i].MappedAs = append(out.Secrets[i].MappedAs, m.Env)
		}
	}
	return nil, out, nil
}

// entries asks the broker (inside envseal jail the vault directory is
// hidden, the broker can still read it), else reads the vault's metadata,
// which needs no passphrase.
func (t *tools) entries() ([]SecretInfo, string, error) {
	var out []SecretInfo
	stamp := func(tm time.Time) string {
		if tm.IsZero() {
			return ""
		}
		return tm.UTC().Format(time.RFC3339)
	}
	svc, err := client.Connect(client.Options{Socket: t.cfg.Socket, Local: &client.Local{}})
	if err != nil {
		return nil, "", err
	}
	ents, err := svc.List()
	if err != nil {
		if svc.Via() == "direct" && errors.Is(err, vault.ErrNotInitialized) {
			return nil, "", fmt.Errorf("%w; if you run in envseal jail, %s", err, askForBroker)
		}
		return nil, "", err
	}
	src := "broker"
	if svc.Via() == "direct" {
		src = "vault"
	}
	for _, e := range ents {
		out = append(out, SecretInfo{Name: e.Name, Created: stamp(e.Created), Updated: stamp(e.Updated), Generation: e.Generation, Error: e.Error})
	}
	return out, src, nil
}

const requestDesc = `Ask the human to store a new secret in the envseal vault. They see your request and purpose at the envseal broker (their own terminal, not this chat), accept it with a code, and type the value there. You learn only whether it was stored. Use this instead of ever asking for a secret in the conversation. Needs a running broker; the call waits until the human answers.`

// RequestInput is request_secret's input.
type RequestInput struct {
	Name    string `json:"name" jsonschema:"secret name: letters, digits, '.', '_' and '-', e.g. github-token"`
	Purpose string `json:"purpose" jsonschema:"one sentence shown to the human: what the secret is for and which program will use it"`
}

// RequestOutput is request_secret's result.
type RequestOutput struct {
	Status string `json:"status" jsonschema:"stored or declined"`
	Reason string `json:"reason,omitempty" jsonschema:"why it was not stored (declined, exists, timeout, ...)"`
}

func (t *tools) requestSecret(ctx context.Context, creq *mcp.CallToolRequest, in RequestInput) (*mcp.CallToolResult, RequestOutput, error) {
	var out RequestOutput
	if err := checkSecretName(in.Name); err != nil {
		return nil, out, err
	}
	if err := checkPurpose(in.Purpose); err != nil {
		return nil, out, err
	}
	bc, err := client.Dial(t.cfg.Socket)
	if err != nil {
		if errors.Is(err, wire.ErrNoBroker) || errors.Is(err, wire.ErrUnsupported) {
			return nil, out, fmt.Errorf("%w; %s, or ask them to run 'envseal store %s' themselves", err, askForBroker, in.Name)
		}
		return nil, out, err
	}
	// The wait is the human's; a cancelled call drops the connection.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			bc.Close()
		case <-done:
		}
	}()
	stop := reportProgress(ctx, creq, func(el time.Duration) string {
		return fmt.Sprintf("waiting for the human to answer the request for %s at the envseal broker (%s)", in.Name, seconds(el))
	})
	res, err := bc.Store(in.Name, in.Purpose)
	stop()
	if err != nil && ctx.Err() != nil {
		return nil, out, fmt.Errorf("cancelled by the client: the request for %s was withdrawn", in.Name)
	}
	if err != nil {
		return nil, out, fmt.Errorf("request %s: %w", in.Name, err)
	}
	t.cfg.logf("request_secret %s: stored=%v", in.Name, res.Stored)
	if res.Stored {
		out.Status = "stored"
		return nil, out, nil
	}
	out.Status, out.Reason = "declined", res.Reason
	return nil, out, nil
}
