package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/exeseal"
)

// readPinned reads a closure file once, refusing anything but a regular
// file at the path (a FIFO swapped in would block; a symlink swapped in
// would redirect the read). A file whose identity (dev, inode, size,
// mtime, ctime — ctime cannot be set from user space) is unchanged since
// it was last read comes from pinCache without reading or hashing again:
// a warm re-run of a rule with a few hundred pinned files stays cheap.
//
// The warm path is one lstat and no open: the child is served the cached
// copy (the bytes that were hashed), never the file itself, so a change
// after the lstat changes nothing the run sees.
func readPinned(p string) ([]byte, uint32, string, error) {
	var lst unix.Stat_t
	if err := unix.Lstat(p, &lst); err == nil && lst.Mode&unix.S_IFMT == unix.S_IFREG {
		if c, ok := pinCache.get(p, identity(&lst)); ok {
			return c.data, lst.Mode & 0o777, c.sha, nil
		}
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, 0, "", os.ErrNotExist
		}
		return nil, 0, "", os.NewSyscallError("open", err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, 0, "", os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, 0, "", errors.New("not a regular file")
	}
	if st.Size > maxClosureBytes {
		return nil, 0, "", fmt.Errorf("larger than %d MiB", maxClosureBytes>>20)
	}
	id := identity(&st)
	mode := st.Mode & 0o777
	if c, ok := pinCache.get(p, id); ok {
		return c.data, mode, c.sha, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxClosureBytes+1))
	if err != nil {
		return nil, 0, "", err
	}
	if int64(len(b)) != st.Size {
		return nil, 0, "", errors.New("changed while it was read")
	}
	sum := sha256.Sum256(b)
	sha := hex.EncodeToString(sum[:])
	pinCache.put(p, id, b, sha)
	return b, mode, sha, nil
}

func identity(st *unix.Stat_t) exeseal.Identity {
	return exeseal.Identity{Dev: st.Dev, Ino: st.Ino, Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// pinCache remembers closure files by path and identity (a broker serves
// many runs of the same rules). Bounded: past maxCacheBytes it starts over.
var pinCache = &fileCache{m: map[string]cachedFile{}}

const maxCacheBytes = 64 << 20

type cachedFile struct {
	id   exeseal.Identity
	data []byte
	sha  string
}

type fileCache struct {
	mu    sync.Mutex
	m     map[string]cachedFile
	bytes int
}

func (c *fileCache) get(p string, id exeseal.Identity) (cachedFile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[p]
	return f, ok && f.id == id
}

func (c *fileCache) put(p string, id exeseal.Identity, data []byte, sha string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+len(data) > maxCacheBytes {
		c.m, c.bytes = map[string]cachedFile{}, 0
	}
	if old, ok := c.m[p]; ok {
		c.bytes -= len(old.data)
	}
	c.m[p] = cachedFile{id: id, data: data, sha: sha}
	c.bytes += len(data)
}
