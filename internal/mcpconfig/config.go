package mcpconfig

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

	"github.com/envseal/envseal/internal/safefile"
)

// Client is how one agent client is told about the server.
type Client struct {
	// Key is the top-level key holding the servers in a JSON config;
	// "" means the client's config is not JSON (printed as is, no --write).
	Key string
	// Entry is our server's entry in that object.
	Entry ServerEntry
	// File is the default config file for --write, relative to home (~/)
	// or to the current directory (./); "" means --file is required.
	File string
	// Text is what is printed for a non-JSON client.
	Text string
	// Notes go to stderr: the printed file must be usable as it is.
	Notes []string
}

// ServerEntry is a struct, not a map, so the printed keys keep this order.
type ServerEntry struct {
	Type    string   `json:"type,omitempty"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

var (
	stdioEntry = ServerEntry{Type: "stdio", Command: "envseal", Args: []string{"mcp"}}
	// Cursor and Windsurf know only stdio servers by command; no type key.
	commandEntry = ServerEntry{Command: "envseal", Args: []string{"mcp"}}
)

const (
	brokerNote = "start 'envseal broker' in a terminal of your own: approvals and typed values are asked there, never in the agent's client"
	jailNote   = "start the agent with 'envseal jail --rw PROJECT -- AGENT' so it cannot reach the vault, that terminal or other processes"
)

// Clients are the clients envseal knows, by the name given on the command line.
var Clients = map[string]Client{
	"claude-code": {Key: "mcpServers", Entry: stdioEntry, File: "./.mcp.json", Notes: []string{
		"save as .mcp.json in your project (Claude Code reads it there), pass it to 'claude --mcp-config FILE', or register it for all projects with 'claude mcp add --scope user envseal -- envseal mcp'",
		brokerNote, "then start Claude Code jailed: envseal jail --rw . -- claude",
	}},
	"cursor": {Key: "mcpServers", Entry: commandEntry, File: "~/.cursor/mcp.json", Notes: []string{
		"save as ~/.cursor/mcp.json (or .cursor/mcp.json in a project); 'envseal mcp config cursor --write' merges it into the existing file",
		brokerNote, "prefer running the editor jailed: envseal jail --rw PROJECT -- cursor",
	}},
	"vscode": {Key: "servers", Entry: stdioEntry, File: "./.vscode/mcp.json", Notes: []string{
		"save as .vscode/mcp.json in your project; 'envseal mcp config vscode --write' merges it into the existing file",
		brokerNote, jailNote,
	}},
	"windsurf": {Key: "mcpServers", Entry: commandEntry, File: "~/.codeium/windsurf/mcp_config.json", Notes: []string{
		"save as ~/.codeium/windsurf/mcp_config.json; 'envseal mcp config windsurf --write' merges it into the existing file",
		brokerNote, jailNote,
	}},
	"codex": {Text: "[mcp_servers.envseal]\ncommand = \"envseal\"\nargs = [\"mcp\"]\n", Notes: []string{
		"add this to ~/.codex/config.toml, or run 'codex mcp add envseal -- envseal mcp'",
		brokerNote, "then start Codex jailed: envseal jail --rw . -- codex",
	}},
	"generic": {Key: "mcpServers", Entry: stdioEntry, Notes: []string{
		"any MCP client: run 'envseal mcp' over stdio; write into a client's file with --write --file PATH",
		brokerNote, jailNote,
	}},
}

// Names lists the clients, sorted.
func Names() []string {
	var ns []string
	for n := range Clients {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// Snippet is the configuration to print for c: a complete JSON file for a
// JSON client, else its text.
func (c Client) Snippet() ([]byte, error) {
	if c.Key == "" {
		return []byte(c.Text), nil
	}
	b, err := json.MarshalIndent(map[string]any{c.Key: map[string]any{"envseal": c.Entry}}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Clip shortens a name chosen by someone else for an error message.
func Clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Path expands ~/ and follows a symlink to the file it names (a
// dotfile manager's link stays a link; its target gets the new content).
func Path(file string) (string, error) {
	if rest, ok := strings.CutPrefix(file, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the home directory: %w", err)
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

// MaxFile bounds the file Read reads: client configs are small, and
// envseal must not be made to slurp a huge file an agent points it at.
const MaxFile = 16 << 20

// FileError is a configuration file Read refuses.
type FileError struct {
	Path     string
	TooLarge bool // else: not a regular file
}

func (e *FileError) Error() string {
	if e.TooLarge {
		return fmt.Sprintf("%s is over %d MiB", e.Path, MaxFile>>20)
	}
	return e.Path + " is not a regular file"
}

// Read returns the file's bytes and mode; nil bytes when it does not exist
// yet.
func Read(path string) ([]byte, fs.FileMode, error) {
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
		return nil, 0, &FileError{Path: path}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFile {
		return nil, 0, &FileError{Path: path, TooLarge: true}
	}
	return b, fi.Mode().Perm(), nil
}

// BackupError is a failure to keep the old file: nothing was changed.
type BackupError struct{ Err error }

func (e *BackupError) Error() string { return e.Err.Error() }
func (e *BackupError) Unwrap() error { return e.Err }

// Install replaces path, whose content was orig (nil: no file yet), with
// merged: the old file is kept next to it first (its name is returned),
// then the new one replaces it atomically.
func Install(path string, orig, merged []byte, mode fs.FileMode) (backup string, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if orig != nil {
		if backup, err = writeBackup(path, orig); err != nil {
			return "", &BackupError{err}
		}
	}
	return backup, safefile.WriteFileAtomic(path, merged, mode)
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
			return nil, fmt.Errorf("%s has the key %q twice", what, Clip(k))
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

// Merge sets servers[name] = entry in the config orig (nil or
// blank: a new file) and returns the new file, indented.
func Merge(orig []byte, key, name string, entry any) (out []byte, changed, replaced bool, err error) {
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

// MergeError is a configuration file the envseal entry cannot be merged
// into (not valid JSON, or not an object where one is needed); it was
// left as it is.
type MergeError struct {
	Path string
	Err  error
}

func (e *MergeError) Error() string {
	return fmt.Sprintf("%s: %v; it was left as it is", e.Path, e.Err)
}
func (e *MergeError) Unwrap() error { return e.Err }

// Written is what Write did: nothing (the file already starts envseal),
// or the file replaced (Replaced: its envseal entry was another), the old
// one kept as Backup ("" when there was no file).
type Written struct {
	Changed, Replaced bool
	Backup            string
}

// Write merges cl's envseal entry into the configuration file at path,
// keeping everything already there: Read, Merge, Install. Errors are
// *FileError, *MergeError, *BackupError (in each, nothing was changed) or
// the failure to replace the file.
func Write(path string, cl Client) (Written, error) {
	orig, mode, err := Read(path)
	if err != nil {
		return Written{}, err
	}
	merged, changed, replaced, err := Merge(orig, cl.Key, "envseal", cl.Entry)
	if err != nil {
		return Written{}, &MergeError{path, err}
	}
	if !changed {
		return Written{}, nil
	}
	backup, err := Install(path, orig, merged, mode)
	return Written{Changed: true, Replaced: replaced, Backup: backup}, err
}
