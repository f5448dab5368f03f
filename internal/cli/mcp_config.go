package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// mcpClient is how one agent client is told about the server.
type mcpClient struct {
	// key is the top-level key holding the servers in a JSON config;
	// "" means the client's config is not JSON (printed as is, no --write).
	key string
	// entry is our server's entry in that object.
	entry serverEntry
	// file is the default config file for --write, relative to home (~/)
	// or to the current directory (./); "" means --file is required.
	file string
	// text is what is printed for a non-JSON client.
	text string
	// notes go to stderr: the printed file must be usable as it is.
	notes []string
}

// serverEntry is a struct, not a map, so the printed keys keep this order.
type serverEntry struct {
	Type    string   `json:"type,omitempty"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

var (
	stdioEntry = serverEntry{Type: "stdio", Command: "envseal", Args: []string{"mcp"}}
	// Cursor and Windsurf know only stdio servers by command; no type key.
	commandEntry = serverEntry{Command: "envseal", Args: []string{"mcp"}}
)

const (
	brokerNote = "start 'envseal broker' in a terminal of your own: approvals and typed values are asked there, never in the agent's client"
	jailNote   = "start the agent with 'envseal jail --rw PROJECT -- AGENT' so it cannot reach the vault, that terminal or other processes"
)

var mcpClients = map[string]mcpClient{
	"claude-code": {key: "mcpServers", entry: stdioEntry, file: "./.mcp.json", notes: []string{
		"save as .mcp.json in your project (Claude Code reads it there), pass it to 'claude --mcp-config FILE', or register it for all projects with 'claude mcp add --scope user envseal -- envseal mcp'",
		brokerNote, "then start Claude Code jailed: envseal jail --rw . -- claude",
	}},
	"cursor": {key: "mcpServers", entry: commandEntry, file: "~/.cursor/mcp.json", notes: []string{
		"save as ~/.cursor/mcp.json (or .cursor/mcp.json in a project); 'envseal mcp config cursor --write' merges it into the existing file",
		brokerNote, "prefer running the editor jailed: envseal jail --rw PROJECT -- cursor",
	}},
	"vscode": {key: "servers", entry: stdioEntry, file: "./.vscode/mcp.json", notes: []string{
		"save as .vscode/mcp.json in your project; 'envseal mcp config vscode --write' merges it into the existing file",
		brokerNote, jailNote,
	}},
	"windsurf": {key: "mcpServers", entry: commandEntry, file: "~/.codeium/windsurf/mcp_config.json", notes: []string{
		"save as ~/.codeium/windsurf/mcp_config.json; 'envseal mcp config windsurf --write' merges it into the existing file",
		brokerNote, jailNote,
	}},
	"codex": {text: "[mcp_servers.envseal]\ncommand = \"envseal\"\nargs = [\"mcp\"]\n", notes: []string{
		"add this to ~/.codex/config.toml, or run 'codex mcp add envseal -- envseal mcp'",
		brokerNote, "then start Codex jailed: envseal jail --rw . -- codex",
	}},
	"generic": {key: "mcpServers", entry: stdioEntry, notes: []string{
		"any MCP client: run 'envseal mcp' over stdio; write into a client's file with --write --file PATH",
		brokerNote, jailNote,
	}},
}

func mcpClientNames() []string {
	var ns []string
	for n := range mcpClients {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

func (a *app) mcpConfigCmd() *cobra.Command {
	var write bool
	var file string
	names := mcpClientNames()
	c := &cobra.Command{
		Use:   "config " + strings.Join(names, "|"),
		Short: "Print (or --write) an agent client's MCP configuration for envseal",
		Long: `Print the configuration that makes an agent client start 'envseal mcp'.
For JSON clients the output is a complete JSON file you can save as is;
explanations go to stderr. --write merges the envseal entry into the
client's configuration file instead, keeping everything already there:
the old file is kept as FILE.envseal-backup, the new one replaces it
atomically, and a file that is not valid JSON is left untouched.
The usual files: claude-code ./.mcp.json, cursor ~/.cursor/mcp.json,
vscode ./.vscode/mcp.json, windsurf ~/.codeium/windsurf/mcp_config.json;
generic needs --file; codex (TOML) is printed only.`,
		ValidArgs: names,
		Args:      cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, ok := mcpClients[args[0]]
			if !ok {
				return withHint(fmt.Errorf("unknown client %q", clipArg(args[0])), "use one of "+strings.Join(names, ", "))
			}
			if !write {
				if file != "" {
					return withHint(errors.New("--file needs --write"), "add --write to merge into that file, or leave --file out to print")
				}
				return a.printMCPConfig(cl)
			}
			return a.writeMCPConfig(args[0], cl, file)
		},
	}
	c.Flags().BoolVar(&write, "write", false, "merge the envseal entry into the client's configuration file")
	c.Flags().StringVar(&file, "file", "", "the configuration file --write merges into (default: the client's usual file)")
	return c
}

func clipArg(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (a *app) printMCPConfig(cl mcpClient) error {
	out := []byte(cl.text)
	if cl.key != "" {
		b, err := json.MarshalIndent(map[string]any{cl.key: map[string]any{"envseal": cl.entry}}, "", "  ")
		if err != nil {
			return err
		}
		out = append(b, '\n')
	}
	if _, err := a.stdout.Write(out); err != nil {
		return err
	}
	for _, n := range cl.notes {
		a.infof("%s", n)
	}
	return nil
}

// maxConfigFile bounds the file --write reads: client configs are small,
// and envseal must not be made to slurp a huge file an agent points it at.
const maxConfigFile = 16 << 20

func (a *app) writeMCPConfig(name string, cl mcpClient, file string) error {
	if cl.key == "" {
		return withHint(fmt.Errorf("%s's configuration is not JSON; --write cannot merge into it", name), cl.notes[0])
	}
	if file == "" {
		if cl.file == "" {
			return withHint(fmt.Errorf("--write for %s needs --file", name), "name the client's configuration file: --write --file PATH")
		}
		file = cl.file
	}
	path, err := configPath(file)
	if err != nil {
		return err
	}
	orig, mode, err := readConfigFile(path)
	if err != nil {
		return err
	}
	merged, changed, replaced, err := mergeMCPServer(orig, cl.key, "envseal", cl.entry)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w; it was left as it is", path, err),
			fmt.Sprintf("fix or move the file, then run 'envseal mcp config %s --write' again (or save the printed snippet yourself)", name))
	}
	if !changed {
		a.infof("%s already starts envseal; nothing to change", path)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	var backup string
	if orig != nil {
		if backup, err = writeBackup(path, orig); err != nil {
			return withHint(err, "nothing was changed; check the directory's permissions")
		}
	}
	if err := writeFileAtomic(path, merged, mode); err != nil {
		return err
	}
	switch {
	case replaced:
		a.infof("replaced the envseal entry in %s (the old file is %s)", path, backup)
	case backup != "":
		a.infof("added envseal to %s (the old file is %s)", path, backup)
	default:
		a.infof("created %s", path)
	}
	for _, n := range cl.notes[1:] {
		a.infof("%s", n)
	}
	return nil
}

// configPath expands ~/ and follows a symlink to the file it names (a
// dotfile manager's link stays a link; its target gets the new content).
func configPath(file string) (string, error) {
	if rest, ok := strings.CutPrefix(file, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", withHint(fmt.Errorf("find the home directory: %w", err), "pass the file with --file PATH")
		}
		file = filepath.Join(home, rest)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs, nil
}

// readConfigFile returns the file's bytes and mode; nil bytes when it does
// not exist yet.
func readConfigFile(path string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, withHint(fmt.Errorf("%s is not a regular file", path), "pass a file with --file PATH")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxConfigFile {
		return nil, 0, withHint(fmt.Errorf("%s is over %d MiB", path, maxConfigFile>>20), "check that --file names the client's configuration")
	}
	return b, fi.Mode().Perm(), nil
}

// writeBackup keeps the old file next to it, never over an earlier
// backup, so running --write twice loses nothing.
func writeBackup(path string, b []byte) (string, error) {
	for i := 1; i < 100; i++ {
		name := path + ".envseal-backup"
		if i > 1 {
			name = fmt.Sprintf("%s.envseal-backup-%d", path, i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		_, err = f.Write(b)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		return name, nil
	}
	return "", fmt.Errorf("back up %s: 99 backups exist already", path)
}

// member is one key of a JSON object, its value kept as written.
type member struct {
	key string
	raw json.RawMessage
}

// decodeObject reads a JSON object keeping its keys' order and values as
// they are, so a merge changes nothing but our entry. Comments (JSONC) and
// trailing data are errors: rewriting such a file would lose them.
func decodeObject(b []byte, what string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not valid JSON (%v)", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s is not a JSON object", what)
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not valid JSON (%v)", err)
		}
		k := tok.(string) // inside an object the decoder only yields string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("not valid JSON (%v)", err)
		}
		if seen[k] {
			return nil, fmt.Errorf("%s has the key %q twice", what, clipArg(k))
		}
		seen[k] = true
		ms = append(ms, member{k, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("not valid JSON (%v)", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not valid JSON (data after the top-level object)")
	}
	return ms, nil
}

func encodeObject(ms []member) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(m.raw)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// mergeMCPServer sets servers[name] = entry in the config orig (nil or
// blank: a new file) and returns the new file, indented.
func mergeMCPServer(orig []byte, key, name string, entry any) (out []byte, changed, replaced bool, err error) {
	var top []member
	if len(bytes.TrimSpace(orig)) > 0 {
		if top, err = decodeObject(orig, "the file"); err != nil {
			return nil, false, false, err
		}
	}
	want, err := json.Marshal(entry)
	if err != nil {
		return nil, false, false, err
	}
	i := slices.IndexFunc(top, func(m member) bool { return m.key == key })
	if i < 0 {
		top = append(top, member{key, json.RawMessage(`{}`)})
		i = len(top) - 1
	}
	servers, err := decodeObject(top[i].raw, fmt.Sprintf("%q", key))
	if err != nil {
		return nil, false, false, err
	}
	j := slices.IndexFunc(servers, func(m member) bool { return m.key == name })
	if j >= 0 {
		var have, same any
		json.Unmarshal(want, &same)
		if json.Unmarshal(servers[j].raw, &have) == nil && reflect.DeepEqual(have, same) {
			return orig, false, false, nil
		}
		servers[j].raw, replaced = want, true
	} else {
		servers = append(servers, member{name, want})
	}
	if top[i].raw, err = encodeObject(servers); err != nil {
		return nil, false, false, err
	}
	flat, err := encodeObject(top)
	if err != nil {
		return nil, false, false, err
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, flat, "", "  "); err != nil {
		return nil, false, false, err
	}
	ind.WriteByte('\n')
	return ind.Bytes(), true, replaced, nil
}
