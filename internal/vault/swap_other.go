//go:build !linux

package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// syncTree fsyncs every file and directory under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// swapIn moves stage to dir. Without renameat2's RENAME_EXCHANGE an
// existing vault is first renamed aside, so for an instant there is no
// vault at dir (never a mixed one).
func swapIn(stage, dir string, force bool) (aside string, err error) {
	if err = os.Rename(stage, dir); err == nil {
		return "", nil
	}
	if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
		return "", err
	}
	if !force {
		return "", fmt.Errorf("%s is not empty: %w", dir, ErrExists)
	}
	aside = dir + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(dir, aside); err != nil {
		return "", err
	}
	if err := os.Rename(stage, dir); err != nil {
		os.Rename(aside, dir)
		return "", err
	}
	return aside, nil
}
