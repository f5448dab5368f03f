//go:build race

package redact

// The race detector slows the byte-at-a-time reference scrubber about 40
// times; randomized tests run fewer cases under it to stay within budget.
const raceEnabled = true
