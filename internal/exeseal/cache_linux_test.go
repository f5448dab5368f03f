package exeseal

import (
	"os"
	"path/filepath"
	"testing"
)

func cachedRun(t *testing.T, c *Cache, path string) (*Pinned, string) {
	t.Helper()
	p, err := c.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s, err := p.Seal()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // a borrowed copy: must not close the cache's memfd
	cmd, err := s.Command(path, "cache-probe")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return p, string(out)
}

// The second run of an unchanged binary comes from the cache (no re-hash,
// no re-copy); any change to the file — in place or renamed over — is a
// miss that hashes and seals the new bytes.
func TestCacheHitAndInvalidation(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	copyExec(t, "/bin/echo", bin)
	c := NewCache(8)

	p1, out1 := cachedRun(t, c, bin)
	p2, out2 := cachedRun(t, c, bin)
	if p1.Cached || !p2.Cached {
		t.Fatalf("first run cached=%v, second cached=%v; want false, true", p1.Cached, p2.Cached)
	}
	if out1 != "cache-probe\n" || out2 != out1 || p2.SHA256 != p1.SHA256 {
		t.Fatalf("outputs %q %q, hashes %s %s", out1, out2, p1.SHA256, p2.SHA256)
	}
	// Closing borrowed copies left the cached memfd usable.
	if _, out3 := cachedRun(t, c, bin); out3 != out1 {
		t.Fatalf("third run printed %q", out3)
	}

	// Renamed over by another binary: new inode, a miss, the new bytes.
	tmp := filepath.Join(dir, "tool.new")
	copyExec(t, "/bin/false", tmp)
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	p4, err := c.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	if p4.Cached || p4.SHA256 == p1.SHA256 {
		t.Fatalf("after rename: cached=%v, hash unchanged=%v", p4.Cached, p4.SHA256 == p1.SHA256)
	}
	p4.Close()

	// Rewritten in place with the same bytes and mtime restored: ctime
	// still changes, so it is a miss (and re-hashed).
	st, _ := os.Stat(bin)
	b, _ := os.ReadFile(bin)
	os.WriteFile(bin, b, 0o755)
	os.Chtimes(bin, st.ModTime(), st.ModTime())
	p5, err := c.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer p5.Close()
	if p5.Cached {
		t.Fatal("an in-place rewrite was served from the cache")
	}
}

func TestCacheRefusesSymlinkLikeOpen(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	os.Symlink("/bin/echo", link)
	if _, err := NewCache(2).Open(link); err == nil {
		t.Fatal("cache opened a symlink")
	}
}

func copyExec(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
