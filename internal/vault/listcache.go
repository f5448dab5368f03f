package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/seal"
)

// ListCacheFile holds every secret's header so that `envseal list` of a
// large vault reads one file instead of opening each secret. It is a cache
// of data that is itself in the clear: it is trusted exactly as much as the
// headers it copies (authenticated only when a value is decrypted), and it
// is used only while the secrets directory is unchanged since it was
// written (same device, inode, mtime and ctime). Any damage makes List
// fall back to reading the headers and rewrite it.
const ListCacheFile = "list.cache"

const (
	listCacheMagic = "envsealC"
	listCacheV1    = 1
	// racyWindow: a directory changed this recently may change again within
	// the same timestamp tick, so a cache stamped with it could go stale
	// unnoticed; it is not written until the directory is older.
	racyWindow = 2 * time.Second
	maxCache   = 64 << 20
)

// listNow is the clock the racy check uses (tests move it).
var listNow = time.Now

// dirStamp identifies a state of the secrets directory: any entry created,
// removed or renamed changes its mtime and ctime.
type dirStamp struct {
	dev, ino, mtimeNS, ctimeNS uint64
}

func (s dirStamp) append(b []byte) []byte {
	for _, x := range []uint64{s.dev, s.ino, s.mtimeNS, s.ctimeNS} {
		b = binary.BigEndian.AppendUint64(b, x)
	}
	return b
}

// encodeListCache: magic, version, stamp (4×8), count (4), then per secret:
// file size (8), header length (2), header; then SHA-256 of all that, so
// accidental damage is noticed (anyone can recompute it: it is not a MAC).
func encodeListCache(st dirStamp, hdrs [][]byte, sizes []int64) []byte {
	var b bytes.Buffer
	b.WriteString(listCacheMagic)
	b.WriteByte(listCacheV1)
	b.Write(st.append(nil))
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hdrs))))
	for i, h := range hdrs {
		b.Write(binary.BigEndian.AppendUint64(nil, uint64(sizes[i])))
		b.Write(binary.BigEndian.AppendUint16(nil, uint16(len(h))))
		b.Write(h)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// decodeListCache returns the entries if b is a whole cache for stamp st;
// ok is false for anything else (stale, damaged, another version).
func decodeListCache(b []byte, st dirStamp) (out []Entry, ok bool) {
	hl := len(listCacheMagic) + 1
	if len(b) < hl+32+4+sha256.Size {
		return nil, false
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return nil, false
	}
	b = body
	if string(b[:len(listCacheMagic)]) != listCacheMagic || b[len(listCacheMagic)] != listCacheV1 {
		return nil, false
	}
	if !bytes.Equal(b[hl:hl+32], st.append(nil)) {
		return nil, false
	}
	n := int(binary.BigEndian.Uint32(b[hl+32:]))
	p := b[hl+36:]
	if n > len(p)/10 {
		return nil, false
	}
	out = make([]Entry, 0, n)
	prev := ""
	for range n {
		if len(p) < 10 {
			return nil, false
		}
		size := int64(binary.BigEndian.Uint64(p))
		hlen := int(binary.BigEndian.Uint16(p[8:]))
		p = p[10:]
		if hlen > len(p) || hlen > secretHeaderMax || size < 0 || size > maxSecretFile {
			return nil, false
		}
		m, used, err := parseSecretHeader(p[:hlen], size)
		if err != nil || used != hlen || m.Name <= prev {
			return nil, false
		}
		prev = m.Name
		out = append(out, Entry{Meta: m})
		p = p[hlen:]
	}
	if len(p) != 0 {
		return nil, false
	}
	return out, true
}

// readListCache returns the cached listing if it is current.
func (v *Vault) readListCache(st dirStamp) ([]Entry, bool) {
	b, err := safefile.ReadFile(v.path(ListCacheFile), maxCache)
	if err != nil {
		return nil, false
	}
	return decodeListCache(b, st)
}

// writeListCache saves a listing read at stamp st, best effort. Nothing is
// written when the directory changed within racyWindow of now.
func (v *Vault) writeListCache(st dirStamp, ents []Entry, hdrs [][]byte, now time.Time) {
	if now.Sub(time.Unix(0, int64(st.mtimeNS))) < racyWindow || now.Sub(time.Unix(0, int64(st.ctimeNS))) < racyWindow {
		return
	}
	sizes := make([]int64, len(ents))
	for i, e := range ents {
		if e.Err != nil || hdrs[i] == nil {
			return // a damaged file is always re-read, never cached
		}
		sizes[i] = int64(len(hdrs[i]) + seal.NonceSize + e.Len + seal.TagSize)
	}
	_ = safefile.WriteAtomic(v.dir, ListCacheFile, encodeListCache(st, hdrs, sizes))
}
