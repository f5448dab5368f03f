// Package client is how envseal's front ends (the CLI, the git hook, the
// MCP server) reach the broker: Dial and one request per connection.
package client
