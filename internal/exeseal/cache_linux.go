package exeseal

import (
	"fmt"
	"os"
	"sync"
)

// Cache keeps sealed copies of pinned binaries, keyed by the file's
// identity (device, inode, size, mtime, ctime), so that running the same
// unchanged binary again costs neither a re-hash nor a re-copy (the
// broker's second run of a 100 MB tool). Identity comes from fstat of a
// descriptor opened without following symlinks, and ctime cannot be set
// from user space: any write, rename over, chmod or re-creation of the
// file changes the key, so a hit always names bytes that were hashed and
// sealed — the sealed memfd itself is immutable.
//
// Scripts are not cached (their interpreter would need its own identity
// check); they are pinned and sealed afresh each time.
type Cache struct {
	mu  sync.Mutex
	max int
	m   map[Identity]*cacheEntry
}

type cacheEntry struct {
	path   string
	sha    string
	size   int64
	sealed *Sealed
}

// NewCache returns a cache holding at most max sealed binaries.
func NewCache(max int) *Cache {
	return &Cache{max: max, m: map[Identity]*cacheEntry{}}
}

// Open is Open with the cache: on a hit (same canonical path and identity)
// it returns a Pinned with Cached set whose Seal returns the cached copy;
// on a miss it pins, hashes and seals the file and remembers the result.
func (c *Cache) Open(path string, opts ...Option) (*Pinned, error) {
	fd, err := openNoFollow(path)
	if err != nil {
		// Let Open produce the usual errors (symlink, not found, …).
		return Open(path, opts...)
	}
	st, err := fstat(fd)
	f := os.NewFile(uintptr(fd), path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	id := identityOf(&st)
	c.mu.Lock()
	e := c.m[id]
	c.mu.Unlock()
	if e != nil && e.path == path {
		euid := geteuid()
		return &Pinned{
			Path: path, SHA256: e.sha, Size: e.size, ID: id,
			Writable: (int(st.Uid) == euid && st.Mode&0o200 != 0) || st.Mode&0o022 != 0,
			Cached:   true, f: f, sealed: e.sealed,
		}, nil
	}
	f.Close()
	p, err := Open(path, opts...)
	if err != nil || p.IsScript() {
		return p, err
	}
	s, err := p.Seal()
	if err != nil {
		p.Close()
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[p.ID]; old != nil {
		s.Close() // another run sealed it meanwhile; keep one copy
		p.sealed = old.sealed
		return p, nil
	}
	if len(c.m) >= c.max {
		// Full: never evict (a concurrent run may be starting from an
		// entry); this binary is simply sealed afresh each time.
		s.Close()
		return p, nil
	}
	c.m[p.ID] = &cacheEntry{path: path, sha: p.SHA256, size: p.Size, sealed: s}
	p.sealed = s
	return p, nil
}

// Len reports how many sealed binaries the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
