//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dropCapabilities leaves the calling thread with no capability that could
// survive execve, and none in effect now. The helper needed CAP_SYS_ADMIN
// (and CAP_NET_ADMIN) inside its user namespace to mount and to bring up
// loopback; the target must get none of it, or it could unmount the
// covers over the vault dir.
//
// An unprivileged user's helper holds them as ambient capabilities: once
// the ambient set is cleared, execve as a non-zero uid grants nothing. A
// helper started by root is uid 0 inside the namespace and would get a
// full set back at execve from the "root gets all file capabilities"
// rule, so it also empties its bounding set (which bounds that rule) and
// its inheritable set. Capabilities are per thread: this must run on the
// thread that later forks the target.
func dropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capget", err)
	}
	if data[0].Effective&(1<<unix.CAP_SETPCAP) != 0 {
		for c := 0; c < 64; c++ {
			err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
			if errors.Is(err, unix.EINVAL) { // past the kernel's last capability
				break
			}
			if err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, os.NewSyscallError("prctl", err))
			}
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", err)
	}
	data = [2]unix.CapUserData{}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capset", err)
	}
	return verifyNoCapabilities()
}

// verifyNoCapabilities re-reads what dropCapabilities set: a silently
// ignored drop would leave a target able to undo the sandbox.
func verifyNoCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capget", err)
	}
	for _, d := range data {
		if d.Effective|d.Permitted|d.Inheritable != 0 {
			return errors.New("capabilities still set after dropping them")
		}
	}
	for c := 0; c < 64; c++ {
		on, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(c), 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return os.NewSyscallError("prctl(PR_CAP_AMBIENT_IS_SET)", err)
		}
		if on != 0 {
			return fmt.Errorf("ambient capability %d still set", c)
		}
	}
	r, e, s := unix.Getresuid()
	if r != 0 && e != 0 && s != 0 {
		return nil
	}
	for c := 0; c < 64; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return os.NewSyscallError("prctl(PR_CAPBSET_READ)", err)
		}
		if in != 0 {
			return fmt.Errorf("uid 0 in the sandbox but capability %d is still in the bounding set", c)
		}
	}
	return nil
}
