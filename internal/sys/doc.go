// Package sys is envseal's boundary with the kernel for the calls that more
// than one package needs: retrying a system call interrupted by a signal
// (EINTR) in one way everywhere, and hardening envseal's own process.
//
// It imports nothing of envseal's, so every layer may use it — the sandbox
// helper as much as the CLI. Hardening returns its errors: a caller that
// cannot make itself non-dumpable must not go on to touch a key (fail
// closed), which is why Harden is not a fire-and-forget call.
package sys
