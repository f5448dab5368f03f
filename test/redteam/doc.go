// Package redteam is envseal's red-team harness: a scripted same-uid
// "agent" that runs every attack of the design's attack table against
// direct mode and against broker + jail, each with a control, and prints
// a table of what was stopped. It is behind the build tag "redteam"; see
// README.md for the one command that runs it.
package redteam
