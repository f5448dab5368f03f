//go:build unix

package closure

import "golang.org/x/sys/unix"

// userWritable: the agent runs as the user, so what the user may write
// the agent may write.
func userWritable(p string) bool { return unix.Access(p, unix.W_OK) == nil }
