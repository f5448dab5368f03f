package server

import (
	"errors"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// A client is "jailed" when it runs in a user namespace other than the
// broker's: `envseal jail` (and every contained run) starts in a new one,
// and nothing inside can leave it. The broker decides this from the
// kernel's view of the peer, never from anything the client says: the
// SO_PEERCRED pid (the process that connected), its /proc/PID/ns/user,
// and a pidfd taken from the socket (SO_PEERPIDFD) to make sure that pid
// was not reused by another process while we looked.
//
// /proc/PID/ns/user needs ptrace-read access. The broker has it for every
// process in a namespace its user created below its own (it holds every
// capability there), so a jailed client can always be read. It may lack it
// for a non-dumpable process in its own namespace (an unjailed envseal
// client): then /proc/PID/uid_map, readable by anyone, tells the same
// thing — a namespace created by an unprivileged user maps one id, never
// the broker's whole range.

// soPeerPidfd is SO_PEERPIDFD (Linux 6.5), the asm-generic value used by
// amd64 and arm64; x/sys does not name it for these yet.
const soPeerPidfd = 77

// peer is what the broker knows of a client.
type peer struct {
	pid    int
	jailed bool
	// ns names the peer's user namespace: the key of a jail's budget (all
	// processes of one jail share it).
	ns string
}

// selfNS is the broker's own user namespace, read once.
type selfNS struct {
	link   string // "user:[N]"
	uidMap string
}

func readSelfNS() selfNS {
	l, _ := os.Readlink("/proc/self/ns/user")
	m, _ := os.ReadFile("/proc/self/uid_map")
	return selfNS{link: l, uidMap: string(m)}
}

// classify decides whether the peer of c (pid from SO_PEERCRED) is
// jailed. Anything it cannot establish counts as jailed: the less trusted
// class is the safe default.
func (n selfNS) classify(c *net.UnixConn, pid int) peer {
	p := peer{pid: pid, jailed: true, ns: "unknown"}
	if pid <= 0 || n.link == "" {
		return p
	}
	pidfd := -1
	if raw, err := c.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) {
			if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, soPeerPidfd); err == nil {
				pidfd = v
			}
		})
	}
	if pidfd >= 0 {
		defer unix.Close(pidfd)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	link, err := os.Readlink(proc + "/ns/user")
	switch {
	case err == nil:
		p.ns, p.jailed = link, link != n.link
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
		if m, err := os.ReadFile(proc + "/uid_map"); err == nil && string(m) == n.uidMap && n.uidMap != "" {
			p.ns, p.jailed = n.link, false
		}
	}
	// The pid is the one that connected only if that process still exists
	// now (a live pidfd pins its pid). Without SO_PEERPIDFD (kernels
	// before 6.5) the pid alone is used.
	if pidfd >= 0 && unix.PidfdSendSignal(pidfd, 0, nil, 0) != nil {
		p.ns, p.jailed = "gone", true
	}
	return p
}
