//go:build !linux

package sandbox

// The jail exists on Linux only.
func isEmptyReadOnlyTmpfs(string) bool { return false }
