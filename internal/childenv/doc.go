// Package childenv decides the environment an approved child process gets,
// and checks envseal's own environment before it touches the vault.
//
// The environment of `envseal run` is chosen by whoever runs it — in the
// threat model, a same-user AI agent. A hash-pinned binary is only as
// trustworthy as the code it ends up running, and a handful of variables
// make a loader or an interpreter run code the agent chose (LD_PRELOAD,
// NODE_OPTIONS=--require, PYTHONPATH, BASH_ENV, …) or hand the agent the
// secrets in flight (SSLKEYLOGFILE, HOSTALIASES). Such code would run inside
// the approved process, with the secrets in its environment and memory.
//
// Three rules follow:
//
//   - Build starts from an allow-list by default (PATH, HOME, USER, LOGNAME,
//     LANG, LC_*, TERM, TZ, TMPDIR). With inherit=true it keeps the parent
//     environment minus the deny-list in IsInjection. The deny-list cannot be
//     complete — every runtime grows new knobs — which is why the allow-list
//     is the default and inheriting is an explicit opt-in.
//   - ValidName refuses injection names as targets for a secret, so a
//     committed .envseal file cannot map a secret onto LD_PRELOAD.
//   - Guard refuses to run envseal itself when LD_PRELOAD, LD_AUDIT or
//     DYLD_INSERT_LIBRARIES is set: that code would load into the process
//     that unlocks the vault.
//
// What an allow-listed variable still carries: its value is passed as is, and
// PATH, HOME and TMPDIR name places the child reads from. A broker spawning
// children for a jailed agent must therefore pass its own environment as
// parent, not the requester's.
package childenv
