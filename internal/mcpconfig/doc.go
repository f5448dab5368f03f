// Package mcpconfig writes the configuration that makes an agent client
// (Claude Code, Cursor, VS Code, Windsurf, Codex, any MCP client) start
// `envseal mcp`: the snippet to print, and the --write merge into the
// client's own JSON file, which keeps every other key and value as
// written, keeps the old file aside and replaces it atomically, and
// leaves a file that is not plain JSON untouched.
//
// It is apart from internal/mcpserver, the server itself: this package
// only ever edits the client's files, and never touches the vault.
package mcpconfig
