// Package guard checks envseal's surroundings before it touches a key: the
// loader and interpreter variables in its own environment that would run
// someone else's code inside envseal or inside an approved program, and the
// signals `envseal doctor` reports (rules that widen what an agent
// controls, a readable vault, a missing second factor). Hardening envseal's
// own process (non-dumpable, no core files) is internal/sys's job.
//
// Gather (gather.go) collects the facts those signals are judged on from
// the packages that own them (vault, audit, totp, sandbox), so that
// `envseal doctor` only names the vault, the jail and the broker's socket,
// which guard cannot know: the broker sits above it.
package guard
