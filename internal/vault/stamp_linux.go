package vault

import "golang.org/x/sys/unix"

// secretsStamp stats the secrets directory (without following a symlink).
func secretsStamp(dir string) (dirStamp, bool) {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return dirStamp{}, false
	}
	return dirStamp{
		dev: uint64(st.Dev), ino: st.Ino,
		mtimeNS: uint64(st.Mtim.Nano()), ctimeNS: uint64(st.Ctim.Nano()),
	}, true
}
