package audit

import (
	"bytes"
	"fmt"
	"hash"
	"strconv"
)

// head is the anchor kept in audit.head: the seq, byte offset and hash of
// the last keyed record appended. See docs/FORMAT.md, "audit.head".
type head struct {
	seq    uint64
	offset int64
	hash   [HashSize]byte
}

// headMagic starts the anchor line. It also separates the anchor's MAC
// from the records' MACs: a record's MAC input starts with '{', this one
// with 'e', so neither can be replayed as the other.
const headMagic = "envseal audit head v1"

// headLen is the fixed length of the anchor line, newline included:
// fixed-width numbers keep an in-place rewrite the same size.
const headLen = len(headMagic) + len(" seq=") + 20 + len(" offset=") + 20 + len(" hash=") + 2*HashSize + len(" mac=") + 2*HashSize + 1

func (h *head) body() []byte {
	b := make([]byte, 0, headLen)
	b = append(b, headMagic...)
	b = fmt.Appendf(b, " seq=%020d offset=%020d hash=", h.seq, h.offset)
	return appendHex(b, h.hash[:])
}

// encode returns the anchor line, MACed with mac (keyed with the audit
// subkey).
func (h *head) encode(mac hash.Hash) []byte {
	b := h.body()
	mac.Reset()
	mac.Write(b)
	var sum [HashSize]byte
	b = append(b, " mac="...)
	b = appendHex(b, mac.Sum(sum[:0]))
	return append(b, '\n')
}

// parseHead reads an anchor line and checks its MAC.
func parseHead(b []byte, mac hash.Hash) (*head, error) {
	bad := func(what string) error { return fmt.Errorf("%s is not a valid anchor: %s", HeadFile, what) }
	if len(b) != headLen || b[len(b)-1] != '\n' || !bytes.HasPrefix(b, []byte(headMagic+" seq=")) {
		return nil, bad("wrong length or magic")
	}
	p := b[len(headMagic)+len(" seq="):]
	seq, err := strconv.ParseUint(string(p[:20]), 10, 64)
	if err != nil || seq == 0 {
		return nil, bad("seq")
	}
	p = p[20:]
	if !bytes.HasPrefix(p, []byte(" offset=")) {
		return nil, bad("offset")
	}
	off, err := strconv.ParseInt(string(p[len(" offset="):len(" offset=")+20]), 10, 64)
	if err != nil || off < 0 {
		return nil, bad("offset")
	}
	p = p[len(" offset=")+20:]
	if !bytes.HasPrefix(p, []byte(" hash=")) || !isHex(p[len(" hash="):len(" hash=")+2*HashSize]) {
		return nil, bad("hash")
	}
	h := &head{seq: seq, offset: off}
	decodeHex(h.hash[:], p[len(" hash="):len(" hash=")+2*HashSize])
	p = p[len(" hash=")+2*HashSize:]
	if !bytes.HasPrefix(p, []byte(" mac=")) || !isHex(p[len(" mac="):len(" mac=")+2*HashSize]) {
		return nil, bad("mac")
	}
	if !bytes.Equal(h.body(), b[:len(b)-len(p)]) {
		return nil, bad("not in canonical form")
	}
	mac.Reset()
	mac.Write(b[:len(b)-len(p)])
	var sum [HashSize]byte
	if !hexEqual((*[HashSize]byte)(mac.Sum(sum[:0])), p[len(" mac="):len(" mac=")+2*HashSize]) {
		return nil, fmt.Errorf("%s: its MAC does not match (it was edited, or belongs to another vault)", HeadFile)
	}
	return h, nil
}
