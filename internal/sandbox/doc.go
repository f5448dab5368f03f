// Package sandbox confines an approved program to the tier its policy rule
// names: standard, hardened or lockdown. A requested tier that cannot run
// fails closed with an error naming the setting to change; nothing here
// ever falls back to a weaker tier.
//
// # Tiers
//
//	tier      what the program gets                                   proved by
//	standard  clean env, sealed non-dumpable exec, no_new_privs       (launcher; no helper)
//	hardened  + new user, PID, IPC namespaces (uid/gid unchanged),    TestPIDNamespace
//	          seccomp: ptrace, process_vm_readv/writev, TIOCSTI,      TestSeccompDenies, TestFilter*
//	          TIOCLINUX, keyctl/add_key/request_key, bpf,
//	          perf_event_open, userfaultfd, kexec_*, *_module, the
//	          mount API, unshare, setns, clone with namespace flags
//	          → EPERM; clone3 → ENOSYS; other ABIs killed
//	          no capabilities, no_new_privs                           TestSeccompDenies
//	lockdown  + private mount namespace: / and all submounts          TestLockdownFilesystem
//	          read-only, fresh tmpfs on /tmp /var/tmp /dev/shm,
//	          Hide dirs under empty read-only tmpfs, cwd and RW
//	          dirs writable; new /proc (host processes invisible);    TestPIDNamespace
//	          new network namespace with its own loopback unless      TestLockdownNetwork
//	          Network; Landlock: writes only beneath the writable
//	          places, signals and abstract sockets scoped             TestLockdownFilesystem
//
// Both sandboxed tiers run as an unprivileged user (TestLockdownUnprivileged)
// and pass the target's exit status and forwarded signals through
// (TestExitStatus, TestSignalForwarding).
//
// # What runs where
//
// The launcher (envseal run, the broker) calls Check, then Wrap on a cmd
// prepared by exeseal, starts it, and calls AfterStart. Wrap points the
// cmd at the envseal binary itself with HelperArg ("the helper") and asks
// the kernel for the tier's namespaces; the launcher runs no sandbox code
// between fork and exec (Go cannot).
//
// The helper (HelperMain) runs as PID 1 of the new PID namespace, in the
// new user namespace where it is the real uid mapped to itself, with
// ambient CAP_SYS_ADMIN and CAP_NET_ADMIN for lockdown (docs/ARCHITECTURE.md, kernel fact
// 4). On one locked OS thread it: checks its command line; for lockdown
// makes sure its mount namespace is not PID 1's and unshares a private one
// (see enterPrivateMountNS for why it unshares rather than refusing when
// PID 1's namespace link is unreadable, which on this machine kind it is
// even for root), builds the mounts, unshares a network namespace and
// brings up its loopback; sets no_new_privs; drops every capability (and,
// as uid 0, the bounding set); applies Landlock (lockdown) and the seccomp
// filter (to all threads, TSYNC); forks and execs /proc/self/fd/N with
// the inherited descriptors at their numbers; closes the status pipe
// (EOF tells AfterStart the target runs); forwards signals; and exits with
// the target's status. Any failure before that is one stderr line
// "envseal __sandbox_helper: …", the same text on the status pipe, and
// exit 127. Why it forks rather than exec'ing in place: see reap_linux.go.
//
// # Limits
//
//   - Same-uid ptrace in direct mode. A user namespace belongs to the uid
//     that created it, and that uid holds every capability inside it from
//     the parent namespace — CAP_SYS_PTRACE included. The target and the
//     helper are non-dumpable, but the kernel lets a capable tracer past
//     that: any process of the launching user outside the sandbox can
//     PTRACE_ATTACH or process_vm_readv the sandboxed program (its
//     /proc/<pid>/environ and mem stay closed: those files belong to the
//     namespace's unmapped root). The standard tier does not have this
//     hole. Inside envseal's jail the agent is in a user namespace of its
//     own and a Landlock domain, and cannot reach either; run hardened and
//     lockdown programs from the broker when the agent is the threat.
//   - Hardened keeps the host filesystem, /proc and network.
//   - Lockdown's read-only view does not stop connect(2) to a unix socket
//     file (connecting is not a write): the user's D-Bus, gpg-agent or
//     docker.sock stay reachable unless their directory is in Hide (pass
//     $XDG_RUNTIME_DIR). Landlock's restriction of such connects is newer
//     than this kernel's ABI 7.
//   - Lockdown needs Linux 5.12+ (mount_setattr) and a /proc without
//     files mounted over it (many containers mask /proc/kcore and friends;
//     the kernel then refuses a new /proc in a user namespace). Landlock is
//     best effort: no Landlock, no write rules (LandlockABI says which).
//   - 32-bit (i386, x32) programs are killed at their first system call.
//   - Processes the target leaves behind die when it exits.
//   - Linux on amd64 and arm64 only; elsewhere Check refuses every tier
//     but standard.
package sandbox
