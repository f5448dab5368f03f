// Package bad is test/comments' control: its comments point at things,
// some of which are not there.
package bad

// Real: internal/launch/spawn.go and run.go, TestOneCheckpoint, the
// TestFilter* tests, kernel fact 5 of docs/ARCHITECTURE.md, the section
// docs/FORMAT.md, "audit.log", and docs/THREAT_MODEL.md ("Attack
// table").
//
// Not there: internal/launch/nosuch.go, TestNoSuchThing, kernel fact 99,
// and DESIGN.md §4.
func bad() {}

// Not there either: docs/NOSUCH.md, and docs/FORMAT.md, "No such
// section".
func missingDocs() {}

// In another package, but this comment does not say which: tty_unix.go.
func elsewhere() {}

// Named with its package it is there: internal/approve (tty_unix.go).
func named() {}
