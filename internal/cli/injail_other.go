//go:build !linux

package cli

// The jail exists on Linux only.
func isEmptyReadOnlyTmpfs(string) bool { return false }
