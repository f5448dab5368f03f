package exeseal

import (
	"errors"
	"os"
)

// Identity is the stat identity of a pinned file, for a cache of verified
// hashes keyed by it. All fields are integers, so Identity is comparable
// and usable as a map key. Mtime and Ctime are Unix nanoseconds; ctime
// cannot be set from user space, so an in-place rewrite that restores
// mtime still changes the key.
type Identity struct {
	Dev   uint64
	Ino   uint64
	Size  int64
	Mtime int64
	Ctime int64
}

// Pinned is an open, hashed executable. Its descriptor keeps naming the
// inode that was hashed even if the path is later renamed over, which is
// what lets Seal copy the approved bytes and not whatever the path holds
// now.
type Pinned struct {
	Path     string   // absolute, canonical path as given to Open
	SHA256   string   // lower-case hex SHA-256 of the file's bytes
	Size     int64    // bytes hashed
	ID       Identity // stat identity when hashed
	Writable bool     // the current user (or group/other) may write the file

	// Script fields; all zero for a binary.
	Interpreter      *Pinned // pinned interpreter (never itself a script)
	InterpreterArgv0 string  // argv[0] for the interpreter: the "#!" path, or the PATH hit for /usr/bin/env NAME
	InterpreterArg   string  // the single optional "#!" argument, "" if none
	Shebang          string  // the "#!" line as written, without "#!" and newline, for approval text

	// Cached is set when the bytes were not read again: a Cache recognised
	// the file by its identity and Seal hands out the cached sealed copy.
	Cached bool

	f      *os.File
	sealed *Sealed // set for a cache hit (shared; never closed by borrowers)
}

// IsScript reports whether p is a "#!" script run through Interpreter.
func (p *Pinned) IsScript() bool { return p.Interpreter != nil }

// Close releases the pinned descriptors (the script's and the
// interpreter's). A Sealed made from p stays usable.
func (p *Pinned) Close() error {
	var errs []error
	if p.f != nil {
		errs = append(errs, p.f.Close())
		p.f = nil
	}
	if p.Interpreter != nil {
		errs = append(errs, p.Interpreter.Close())
	}
	return errors.Join(errs...)
}

// Option adjusts Open.
type Option func(*options)

type options struct {
	searchPath    string
	hasSearchPath bool
}

// SearchPath gives the PATH (colon-separated) used to resolve
// "#!/usr/bin/env NAME". Pass the PATH the child will get, not envseal's
// own. Relative entries (including empty ones, which mean ".") are
// ignored: they resolve against the cwd, which an attacker controls.
// Without this option such scripts are refused.
func SearchPath(list string) Option {
	return func(o *options) { o.searchPath, o.hasSearchPath = list, true }
}

// Sealed holds execute-only, sealed in-memory copies of a pinned program
// (and of its script, for "#!" scripts), ready to be exec'd any number of
// times. It outlives the Pinned it came from.
type Sealed struct {
	Path   string // the pinned path (the script's, for scripts)
	SHA256 string // hash of the sealed image (the script's, for scripts)

	exe    *os.File // O_PATH descriptor of the 0111 memfd to exec
	script *os.File // O_PATH descriptor of the 0400 script memfd, or nil
	image  *os.File // read-only descriptor of the exe memfd (OpenImage)

	interpArgv0 string
	interpArg   string

	borrowed bool // a cache's copy: Close leaves the memfds to the cache
}
