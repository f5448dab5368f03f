package approve

import (
	"os"
	"strconv"
	"strings"
)

// ProcessChain returns pid and up to depth-1 of its ancestors, nearest
// first, read from /proc/<pid>/stat and /proc/<pid>/exe. A process whose
// stat cannot be read ends the chain (its parent is unknown); an unreadable
// exe leaves Exe empty. The human sees which program asked: an agent's
// node process asking for the deploy token is worth a second look.
func ProcessChain(pid int, depth int) []Proc {
	var out []Proc
	for len(out) < depth && pid > 0 {
		p := Proc{PID: pid}
		if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil {
			p.Exe = exe
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			out = append(out, p)
			break
		}
		p.Comm, p.PPID = parseStat(string(stat))
		out = append(out, p)
		pid = p.PPID
	}
	return out
}

// parseStat extracts comm and ppid from "pid (comm) state ppid …". comm is
// chosen by the process and may hold spaces and ')', so the last ')' ends it.
func parseStat(s string) (comm string, ppid int) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0
	}
	comm = s[open+1 : end]
	f := strings.Fields(s[end+1:])
	if len(f) >= 2 {
		ppid, _ = strconv.Atoi(f[1])
	}
	return comm, ppid
}
