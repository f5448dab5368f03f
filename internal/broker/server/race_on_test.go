//go:build race

package server

// The race detector's shadow memory never goes back to the OS, so RSS
// is not compared under it.
const raceEnabled = true
