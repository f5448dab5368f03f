//go:build unix

package detect

import "syscall"

// oNoFollow refuses a symlink in the last component, and O_NONBLOCK keeps
// a FIFO swapped in after the Lstat from blocking the open.
const oNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
