package launch

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"

	"github.com/envseal/envseal/internal/redact"
)

// MatcherCache keeps the scrubber automata of recent runs' secret sets
// between runs (the broker's): building one is most of a short run's CPU
// in the broker (≈ 1 ms and 0.7 MB of garbage for one secret). A set is
// found by a keyed hash — HMAC-SHA256, under a random key that only this
// cache holds, of the names and values in order — so no copy of a name or
// value is kept as the key. The automaton itself is made of the values'
// bytes (as every run's is while it scrubs): it is kept only in the
// broker's memory, which is non-dumpable and holds the master key anyway,
// and only while the broker is unlocked — Drop forgets every entry, and
// the broker calls it when it locks (idle lock, 'envseal lock', close). Each
// run scrubs with its own copy (redact.Matcher.Fresh): its own hit counts
// and --on-leak callback. Small sets only, a few of them: the automaton
// of ten secrets is ten megabytes. The zero value is ready to use.
type MatcherCache struct {
	mu      sync.Mutex
	mac     hash.Hash
	gen     uint64 // counts Drops: an automaton built across one is not kept
	off     bool   // after Drop, until Allow: build per run, keep nothing
	entries map[[sha256.Size]byte]*redact.Matcher
	order   [][sha256.Size]byte // oldest first
}

const (
	matcherCacheEntries = 4
	matcherCacheSecrets = 4    // sets of more secrets are built per run
	matcherCacheBytes   = 4096 // nor sets whose values are larger in all
)

// matcher returns a matcher for secrets with opts, from the cache when
// the same names and values were scrubbed before.
func (mc *MatcherCache) matcher(secrets []redact.Secret, opts ...redact.Option) (*redact.Matcher, error) {
	if mc == nil || !cacheable(secrets) {
		return redact.NewMatcher(secrets, opts...)
	}
	mc.mu.Lock()
	if mc.off {
		mc.mu.Unlock()
		return redact.NewMatcher(secrets, opts...)
	}
	id, ok := mc.id(secrets)
	m, gen := mc.entries[id], mc.gen
	mc.mu.Unlock()
	if !ok {
		return redact.NewMatcher(secrets, opts...)
	}
	if m != nil {
		return m.Fresh(opts...), nil
	}
	// Built outside the lock: concurrent runs of different sets do not
	// wait for each other (the same set built twice at once is kept once).
	m, err := redact.NewMatcher(secrets)
	if err != nil {
		return nil, err
	}
	mc.mu.Lock()
	// A Drop while it was built (the broker locked meanwhile): this run
	// scrubs with it, but it is not kept.
	if _, dup := mc.entries[id]; !dup && mc.gen == gen {
		if mc.entries == nil {
			mc.entries = map[[sha256.Size]byte]*redact.Matcher{}
		}
		if len(mc.order) >= matcherCacheEntries {
			delete(mc.entries, mc.order[0])
			mc.order = mc.order[1:]
		}
		mc.entries[id] = m
		mc.order = append(mc.order, id)
	}
	mc.mu.Unlock()
	return m.Fresh(opts...), nil
}

func cacheable(secrets []redact.Secret) bool {
	if len(secrets) > matcherCacheSecrets {
		return false
	}
	n := 0
	for _, s := range secrets {
		n += len(s.Value)
	}
	return n <= matcherCacheBytes
}

// id is the keyed hash of secrets (under mc.mu); false if no key could be
// made.
func (mc *MatcherCache) id(secrets []redact.Secret) ([sha256.Size]byte, bool) {
	var id [sha256.Size]byte
	if mc.mac == nil {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return id, false
		}
		mc.mac = hmac.New(sha256.New, key)
		clear(key)
	}
	mc.mac.Reset()
	var n [8]byte
	for _, s := range secrets {
		for _, b := range [][]byte{[]byte(s.Name), s.Value} {
			binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
			mc.mac.Write(n[:])
			mc.mac.Write(b)
		}
	}
	mc.mac.Sum(id[:0])
	return id, true
}

// Drop forgets every automaton and the hash key, and keeps none until
// Allow (the broker drops when it locks and allows when it is unlocked
// again): a run approved while the broker was locked, or one whose
// automaton was being built when it locked, scrubs with its own and keeps
// nothing. Runs already scrubbing keep their own copies until they end.
func (mc *MatcherCache) Drop() {
	if mc == nil {
		return
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.entries, mc.order, mc.mac = nil, nil, nil
	mc.gen++
	mc.off = true
}

// Allow lets the cache keep automata again after a Drop.
func (mc *MatcherCache) Allow() {
	if mc == nil {
		return
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.off = false
}

// Len is the number of automata kept.
func (mc *MatcherCache) Len() int {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return len(mc.entries)
}
