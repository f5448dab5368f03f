package sandbox

import "golang.org/x/sys/unix"

// isEmptyReadOnlyTmpfs: dir is the root of a read-only tmpfs, as the
// jail's cover over the vault directory is.
func isEmptyReadOnlyTmpfs(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC && st.Flags&unix.ST_RDONLY != 0
}
