// Package exeseal pins a program by file descriptor, hashes it, and runs
// exactly the hashed bytes from a sealed, execute-only memfd.
//
// # What it defends against
//
// envseal approves a program by path and SHA-256 and then hands it
// secrets. Three attacks sit between "the human approved these bytes" and
// "these bytes are running with the secret":
//
//   - Swap after hashing (TOCTOU). Hash /usr/local/bin/tool, then exec the
//     path: a same-user attacker renames another binary over the path, or
//     rewrites the file in place, in the gap. Open pins the file by an
//     O_NOFOLLOW descriptor and hashes from that descriptor; Seal copies
//     from the same descriptor (never reopening the path) into a memfd,
//     seals it against any write, grow or shrink, and re-hashes the sealed
//     copy. A rename after Open is harmless (the descriptor still names the
//     old inode); an in-place write is detected (ErrChanged). The memfd
//     is what execve runs, so the bytes that run are the bytes hashed.
//     This is the idea runc adopted for CVE-2019-5736, where a container
//     process overwrote the host runc binary through /proc/self/exe.
//
//   - Reading the approved child's memory or environment. Any process of
//     the same uid may open /proc/<pid>/environ and /proc/<pid>/mem of a
//     "dumpable" process, which is where an env-delivered secret lives.
//     The kernel marks a process non-dumpable when it execs a file its
//     user cannot read (fs/exec.c would_dump). The sealed memfd has mode
//     0111 (execute-only), so the exec'd child is non-dumpable: other
//     processes of the same uid get EACCES on its environ and mem files
//     and cannot ptrace it. Programs the child starts itself are ordinary
//     (dumpable) again; the jail covers those.
//
//   - Scripts. The kernel re-opens a script's interpreter by path. Open
//     parses the "#!" line the way fs/binfmt_script.c does, pins and hashes
//     the interpreter too, and Seal runs the interpreter from its own 0111
//     memfd with the script passed as a read-only sealed memfd
//     ("/dev/fd/N"), so both halves are the hashed bytes and the
//     interpreter process is non-dumpable as well.
//
// # Limits
//
// Linux only; other systems get ErrUnsupported. Exec goes through
// /proc/self/fd, so /proc must be mounted where the child execs. A memfd
// is owned by whoever created it, and its owner may chmod it through a
// /proc/<pid>/fd magic link: a launcher that is itself dumpable lets a
// same-uid attacker make the image readable again between Seal and exec,
// so the launcher should set PR_SET_DUMPABLE 0 on itself. With
// vm.memfd_noexec=2 the kernel refuses executable memfds and Seal fails.
package exeseal
