// Package guard checks envseal's surroundings before it touches a key: the
// loader and interpreter variables in its own environment that would run
// someone else's code inside envseal or inside an approved program, and the
// signals `envseal doctor` reports (rules that widen what an agent
// controls, a readable vault, a missing second factor). Hardening envseal's
// own process (non-dumpable, no core files) is internal/sys's job.
package guard
