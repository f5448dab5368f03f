//go:build !linux

package approve

// ProcessChain knows only pid itself on this OS: there is no /proc to read
// ancestors from yet.
func ProcessChain(pid int, depth int) []Proc {
	if depth < 1 || pid <= 0 {
		return nil
	}
	return []Proc{{PID: pid}}
}
