// Package server is the long-running envseal broker a human starts in a
// terminal of their own. Its wire protocol is package wire; the client
// `envseal run`, the git hook and the MCP server use is package client.
//
// Why a broker: in direct mode the agent and the human share a terminal
// and the passphrase is typed for every run. The broker unlocks once, shows
// approvals on its own channel (a terminal or a GUI dialog the agent's
// jail cannot reach), and spawns the approved children itself, so they are
// not descendants of the agent. Every run still goes through
// launch.Checkpoint: the broker is only a transport onto it.
//
// The protocol (docs/FORMAT.md, "broker wire protocol") is a sequence of
// frames on a Unix stream socket: version byte, type byte, big-endian
// uint32 payload length, JSON payload. The client's stdin, stdout and
// stderr travel as SCM_RIGHTS with the run frame, so the child's output
// is scrubbed by the broker and written straight to the client's
// descriptors — no plaintext ever crosses the socket.
package server
