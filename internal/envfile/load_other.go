//go:build !unix

package envfile

import (
	"io/fs"
	"os"
)

// openNoFollow is the portable fallback: Lstat, then open. Unlike
// O_NOFOLLOW it leaves a window in which the file can be swapped for a
// link; Load's Stat of the opened file still refuses anything that is not
// a regular file.
func openNoFollow(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if err := checkType(path, fi.Mode()); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// checkOwner has no portable notion of an owner to check; on Windows the
// ACLs of a user's project directory are the control.
func checkOwner(string, fs.FileInfo) error { return nil }
