// Package reliability holds envseal's crash, concurrency and corruption
// tests. They are behind the build tag "reliability" (so a plain
// `go test ./...` stays fast); see README.md for the two profiles.
package reliability
