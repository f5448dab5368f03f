// Package mcpserver is envseal's Model Context Protocol server: the tools
// an AI agent uses to discover secret names, ask the human for a new
// secret, and run approved commands with secrets it never sees.
//
// It is one more transport onto the launch checkpoint (through the broker
// when one answers), never a way around it: no tool takes or returns a
// value, approvals are asked on the broker's own channel (never through
// MCP elicitation, which the agent's client controls), and a child's
// output reaches the agent only scrubbed, bounded and wrapped in JSON — the
// child never shares the protocol's stdio, so it cannot forge a response.
package mcpserver
