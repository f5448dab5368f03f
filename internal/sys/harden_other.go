//go:build !linux

package sys

// Harden has nothing to apply on this OS yet; envseal's protected paths
// (sealed exec, the broker, the sandbox) are Linux-only and refuse with
// their own unsupported errors before they touch a key.
func Harden() error { return nil }

// SetDumpable is a no-op on this OS.
func SetDumpable(bool) error { return nil }

// Dumpable reports false on this OS: there is no such flag.
func Dumpable() (bool, error) { return false, nil }
