//go:build !linux

package vault

// secretsStamp: the list cache is used on Linux only.
func secretsStamp(string) (dirStamp, bool) { return dirStamp{}, false }
