package vault

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// syncTree flushes everything written under dir with one syncfs(2) of
// its filesystem, instead of an fsync per restored file (a thousand
// secrets would otherwise cost a thousand journal commits).
func syncTree(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}

// swapIn moves the complete directory stage to dir. A missing or empty dir
// is replaced by one rename(2). An existing vault (only with force) is
// exchanged with stage by renameat2(RENAME_EXCHANGE) — one atomic step, so
// no process ever sees no vault or half of one — and then kept at the
// returned aside path, never deleted: a restore is undone by moving it
// back.
func swapIn(stage, dir string, force bool) (aside string, err error) {
	err = os.Rename(stage, dir)
	if err == nil {
		return "", nil
	}
	if !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		return "", err
	}
	if !force {
		return "", fmt.Errorf("%s is not empty: %w", dir, ErrExists)
	}
	lk, err := (&Vault{dir: dir}).Lock() // no writer is half-way through the old vault
	if err != nil {
		return "", err
	}
	defer lk.Unlock()
	if err := unix.Renameat2(unix.AT_FDCWD, stage, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return "", &os.LinkError{Op: "renameat2", Old: stage, New: dir, Err: err}
	}
	aside = dir + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(stage, aside); err != nil {
		return stage, nil // the old vault stays at the stage path; say where
	}
	return aside, nil
}
