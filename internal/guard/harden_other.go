//go:build !linux

package guard

func harden() {}
