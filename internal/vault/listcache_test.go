//go:build linux

package vault

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func names(ents []Entry) []string {
	var out []string
	for _, e := range ents {
		s := e.Name
		if e.Err != nil {
			s += "!"
		}
		out = append(out, s)
	}
	return out
}

func TestListCache(t *testing.T) {
	v, k := newVault(t)
	for _, n := range []string{"B", "A", "C"} {
		if _, err := v.Store(k, n, []byte("value-of-"+n+"-Zq8xW2pL0vN4"), StoreOptions{RotateDays: 7}); err != nil {
			t.Fatal(err)
		}
	}
	cache := filepath.Join(v.Dir(), ListCacheFile)
	list := func() []Entry {
		t.Helper()
		ents, err := v.List()
		if err != nil {
			t.Fatal(err)
		}
		return ents
	}

	// A directory changed just now is racy: no cache is written.
	list()
	if _, err := os.Stat(cache); err == nil {
		t.Fatal("cache written for a directory changed within the racy window")
	}
	defer func(f func() time.Time) { listNow = f }(listNow)
	listNow = func() time.Time { return time.Now().Add(time.Minute) }
	fresh := list()
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	cached := list()
	if len(cached) != 3 || cached[0].Name != "A" || cached[2].Name != "C" {
		t.Fatalf("cached list = %v", names(cached))
	}
	for i := range fresh {
		if fresh[i].Meta != cached[i].Meta {
			t.Errorf("cached %+v != fresh %+v", cached[i].Meta, fresh[i].Meta)
		}
	}

	// The cache is what is read while the directory is unchanged: an
	// in-place edit of a header (no rename) is not seen yet...
	p := v.secretPath("B")
	b, _ := os.ReadFile(p)
	b[0] ^= 0xff
	os.WriteFile(p, b, 0o600)
	if got := names(list()); got[1] != "B" {
		t.Fatalf("cache not used: %v", got)
	}
	// ...a store (rename into the directory) makes it stale: re-read.
	if _, err := v.Store(k, "D", []byte("value-of-D-Zq8xW2pL0vN4"), StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := names(list()); len(got) != 4 || got[1] != "B!" || got[3] != "D" {
		t.Fatalf("after a store: %v", got)
	}
	b[0] ^= 0xff
	os.WriteFile(p, b, 0o600)
	if err := v.Revoke(k, "D"); err != nil {
		t.Fatal(err)
	}
	want := list() // rewrites the cache: A B C
	if len(want) != 3 {
		t.Fatalf("after revoke: %v", names(want))
	}

	// Every byte of the cache flipped: a full, correct listing each time
	// (the damaged cache is ignored and rewritten).
	good, _ := os.ReadFile(cache)
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x01
		os.WriteFile(cache, bad, 0o600)
		got := list()
		if len(got) != 3 {
			t.Fatalf("flip at %d: %v", i, names(got))
		}
		for j := range got {
			if got[j].Meta != want[j].Meta || got[j].Err != nil {
				t.Fatalf("flip at %d: entry %d = %+v, want %+v", i, j, got[j].Meta, want[j].Meta)
			}
		}
	}
	// Truncated and garbage caches too.
	for _, bad := range [][]byte{nil, good[:len(good)/2], []byte("envsealC\x01garbage")} {
		os.WriteFile(cache, bad, 0o600)
		if got := list(); len(got) != 3 {
			t.Fatalf("bad cache: %v", names(got))
		}
	}
}
