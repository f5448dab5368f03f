// Package guard checks and hardens envseal's own process before it touches
// a key: no core dumps, and not dumpable, so a same-uid process can neither
// read /proc/<envseal>/mem (where the master key and decrypted values live)
// nor reach the sealed memfds through /proc/<envseal>/fd.
package guard

// Harden applies the process protections available on this OS. It is
// idempotent and called first thing by every envseal command.
func Harden() { harden() }
