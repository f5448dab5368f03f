//go:build unix

package guard

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

func coreLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &r); err != nil {
		return 0, err
	}
	return uint64(r.Cur), nil
}

// RootOwned accepts path if the file it resolves to, and every directory
// above it, is owned by root and not writable by group or others — the
// test envseal's approver applies before running pinentry or zenity.
func RootOwned(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Uid != 0 {
			return fmt.Errorf("%s is not owned by root", p)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%s is writable by group or others", p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
