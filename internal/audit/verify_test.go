package audit

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// sampleLog writes the log every tamper case starts from (K = keyed, U =
// unkeyed, written before unlock):
//
//	1 K vault_init       5 K approval_decided   9 K run_finished
//	2 K secret_stored    6 K run_started       10 K secret_revoked
//	3 U unlock_failed    7 U unlock_failed     11 U unlock_failed
//	4 K approval_req.    8 U env_refused
func sampleLog(t *testing.T) (*Log, seal.Key) {
	t.Helper()
	l, _ := testLog(t)
	k := testKey(t)
	none := seal.Key{}
	mustAppend(t, l, k, "vault_init", map[string]any{"kdf": "argon2id t=1 m=64 p=1"})
	mustAppend(t, l, k, "secret_stored", map[string]any{"secret": "TOKEN", "generation": 1})
	mustAppend(t, l, none, "unlock_failed", map[string]any{"reason": "wrong passphrase"})
	mustAppend(t, l, k, "approval_requested", map[string]any{"binary": "/bin/tool", "argv": []string{"tool", "deploy"}})
	mustAppend(t, l, k, "approval_decided", map[string]any{"decision": "once", "channel": "tty"})
	mustAppend(t, l, k, "run_started", map[string]any{"binary": "/bin/tool", "pid": 4242})
	mustAppend(t, l, none, "unlock_failed", map[string]any{"reason": "wrong passphrase"})
	mustAppend(t, l, none, "env_refused", map[string]any{"vars": []string{"LD_PRELOAD"}})
	mustAppend(t, l, k, "run_finished", map[string]any{"exit": 0, "leaks": map[string]int{"TOKEN": 1}})
	mustAppend(t, l, k, "secret_revoked", map[string]any{"secret": "TOKEN"})
	mustAppend(t, l, none, "unlock_failed", map[string]any{"reason": "wrong passphrase"})
	return l, k
}

func TestUntouchedLogVerifies(t *testing.T) {
	l, k := sampleLog(t)
	s, err := l.Verify(k)
	if err != nil {
		t.Fatalf("untouched log: %v", err)
	}
	if s.Records != 11 || s.FirstSeq != 1 || s.LastSeq != 11 || s.Unkeyed != 4 || s.Uncovered != 1 || !s.MACs || !s.Anchored {
		t.Errorf("summary = %+v", s)
	}
	if want := time.Date(2026, 11, 27, 1, 2, 3, 457789000, time.UTC); !s.First.Equal(want) {
		t.Errorf("first time %v, want %v", s.First, want)
	}
	if !strings.HasPrefix(s.String(), "audit log intact: 11 records, seq 1-11") {
		t.Errorf("summary line %q", s.String())
	}
	// The package-level Verify agrees, and without the key checks the chain.
	b, _ := os.ReadFile(l.Path())
	if _, err := Verify(bytes.NewReader(b), k); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if s, err := Verify(bytes.NewReader(b), seal.Key{}); err != nil || s.MACs {
		t.Errorf("chain-only Verify: %v, MACs=%v", err, s.MACs)
	}
}

// forge encodes a record with the given key (nil: unkeyed) chained onto
// prevLine.
func forge(seq uint64, event string, prevLine []byte, k seal.Key) []byte {
	prev := sha256.Sum256(bytes.TrimSuffix(prevLine, []byte("\n")))
	var m = seal.NewMAC
	t := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if !k.Valid() {
		return encodeLine(seq, t, event, []byte(`{"forged":true}`), &prev, nil)
	}
	return encodeLine(seq, t, event, []byte(`{"forged":true}`), &prev, m(k.Subkey(seal.DomainAudit)))
}

func TestTamperingIsDetectedAtTheRightRecord(t *testing.T) {
	type lines = [][]byte
	del := func(ls lines, from, to int) lines { // 1-based, inclusive
		return append(append(lines{}, ls[:from-1]...), ls[to:]...)
	}
	ins := func(ls lines, at int, l []byte) lines { // l becomes line at
		out := append(lines{}, ls[:at-1]...)
		out = append(out, l)
		return append(out, ls[at-1:]...)
	}
	replace := func(ls lines, n int, old, new string) lines {
		ls[n-1] = bytes.Replace(ls[n-1], []byte(old), []byte(new), 1)
		return ls
	}
	rechain := func(ls lines, n int) lines { // recompute line n's prev, as an attacker would for an unkeyed record
		r, _ := parseLine(bytes.TrimSuffix(ls[n-1], []byte("\n")))
		prev := sha256.Sum256(bytes.TrimSuffix(ls[n-2], []byte("\n")))
		ls[n-1] = bytes.Replace(ls[n-1], r.prev, appendHex(nil, prev[:]), 1)
		return ls
	}
	cases := []struct {
		name     string
		mutate   func(lines) lines
		line     int
		kind     Kind
		reason   string // substring
		viaStore bool   // only visible with audit.head (Log.Verify)
	}{
		{"edit a keyed record", func(ls lines) lines { return replace(ls, 2, `"TOKEN"`, `"TOKEX"`) }, 2, Edited, "MAC does not match", false},
		{"edit the seq of a keyed record", func(ls lines) lines { return replace(ls, 5, `{"seq":5,`, `{"seq":50,`) }, 5, Edited, "MAC does not match", false},
		{"edit an unkeyed record", func(ls lines) lines { return replace(ls, 3, `wrong passphrase`, `right passphrase`) }, 3, Edited, "no MAC of its own", false},
		{"edit an unkeyed record and re-chain the next", func(ls lines) lines {
			return rechain(replace(ls, 7, `wrong passphrase`, `right passphrase`), 8)
		}, 7, Edited, "lines 7-8", false},
		{"edit an unkeyed record, next unkeyed not re-chained", func(ls lines) lines { return replace(ls, 7, `wrong`, `right`) }, 7, Edited, "lines 7-8", false},
		{"strip the MAC of a keyed record", func(ls lines) lines {
			l := bytes.TrimSuffix(ls[4], []byte("\n"))
			ls[4] = append(append([]byte{}, l[:len(l)-keyedTail]...), endUnkeyed...)
			return ls
		}, 5, Edited, "no MAC of its own", false},
		{"delete a record", func(ls lines) lines { return del(ls, 5, 5) }, 5, Deleted, "record 5 is missing", false},
		{"delete three records", func(ls lines) lines { return del(ls, 4, 6) }, 4, Deleted, "records 4-6 are missing", false},
		{"delete the first record", func(ls lines) lines { return del(ls, 1, 1) }, 1, Deleted, "record 1 is missing", false},
		{"delete an unkeyed record", func(ls lines) lines { return del(ls, 7, 7) }, 7, Deleted, "record 7 is missing", false},
		{"swap two records", func(ls lines) lines { ls[4], ls[5] = ls[5], ls[4]; return ls }, 5, Reordered, "that record is at line 6", false},
		{"move a record earlier", func(ls lines) lines { l := ls[8]; return ins(del(ls, 9, 9), 4, l) }, 4, Reordered, "expected seq 4", false},
		{"replay a copy of a record", func(ls lines) lines { return ins(ls, 7, ls[1]) }, 7, Inserted, "seq 2 appears a second time", false},
		{"insert a record MACed with another key", func(ls lines) lines { return ins(ls, 5, forge(5, "approval_decided", ls[3], otherKey(t))) }, 5, Inserted, "not a record envseal wrote", false},
		{"insert an unkeyed record", func(ls lines) lines { return ins(ls, 5, forge(5, "approval_decided", ls[3], seal.Key{})) }, 5, Inserted, "carries the same seq 5", false},
		{"insert an empty line", func(ls lines) lines { return ins(ls, 4, []byte{}) }, 4, Inserted, "next line carries seq 4", false},
		{"insert garbage", func(ls lines) lines { return ins(ls, 4, []byte(`{"seq":4,"note":"hello"}`)) }, 4, Inserted, "not a record", false},
		{"cut the last record short", nil, 11, Truncated, "cut short", false},
		{"cut records off the end", func(ls lines) lines { return ls[:9] }, 10, Truncated, "record 10 is missing from the end", true},
		{"cut all but the first record", func(ls lines) lines { return ls[:1] }, 2, Truncated, "records 2-10 are missing from the end", true},
		{"replace the log with another vault's", func(ls lines) lines {
			return lines{forge(1, "vault_init", []byte("x"), otherKey(t))}
		}, 1, Edited, "MAC does not match", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, k := sampleLog(t)
			ls := readLines(t, l)
			if c.mutate == nil { // a write interrupted mid-line
				b, _ := os.ReadFile(l.Path())
				os.WriteFile(l.Path(), b[:len(b)-30], 0o600)
			} else {
				writeLines(t, l, c.mutate(ls))
			}
			b, _ := os.ReadFile(l.Path())
			_, serr := Verify(bytes.NewReader(b), k)
			_, lerr := l.Verify(k)
			if c.viaStore {
				if serr != nil {
					t.Fatalf("the chain alone cannot see a cut tail, but Verify said %v", serr)
				}
			} else {
				checkTamper(t, "Verify", serr, c.line, c.kind, c.reason)
			}
			checkTamper(t, "Log.Verify", lerr, c.line, c.kind, c.reason)
		})
	}
}

func checkTamper(t *testing.T, who string, err error, line int, kind Kind, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: tampered log verified", who)
	}
	te := tamperErr(t, err)
	if te.Line != line || te.Kind != kind || !strings.Contains(te.Reason, reason) {
		t.Errorf("%s: got line %d, %s, %q (%v); want line %d, %s, containing %q", who, te.Line, te.Kind, te.Reason, err, line, kind, reason)
	}
}

func TestAnchorTampering(t *testing.T) {
	t.Run("edited", func(t *testing.T) {
		l, k := sampleLog(t)
		p := filepath.Join(l.dir, HeadFile)
		b, _ := os.ReadFile(p)
		i := bytes.Index(b, []byte("hash=")) + 5
		b[i] ^= 1
		os.WriteFile(p, b, 0o600)
		checkTamper(t, "Log.Verify", func() error { _, err := l.Verify(k); return err }(), 0, Edited, "MAC does not match")
	})
	t.Run("deleted", func(t *testing.T) {
		l, k := sampleLog(t)
		os.Remove(filepath.Join(l.dir, HeadFile))
		_, err := l.Verify(k)
		checkTamper(t, "Log.Verify", err, 0, Truncated, "missing")
	})
	t.Run("from another vault", func(t *testing.T) {
		l, k := sampleLog(t)
		h := head{seq: 10, hash: sha256.Sum256([]byte("x"))}
		os.WriteFile(filepath.Join(l.dir, HeadFile), h.encode(seal.NewMAC(otherKey(t).Subkey(seal.DomainAudit))), 0o600)
		_, err := l.Verify(k)
		checkTamper(t, "Log.Verify", err, 0, Edited, "MAC does not match")
	})
	t.Run("log deleted", func(t *testing.T) {
		l, k := sampleLog(t)
		os.Remove(l.Path())
		_, err := l.Verify(k)
		checkTamper(t, "Log.Verify", err, 1, Deleted, "missing")
	})
	t.Run("log emptied", func(t *testing.T) {
		l, k := sampleLog(t)
		os.WriteFile(l.Path(), nil, 0o600)
		_, err := l.Verify(k)
		checkTamper(t, "Log.Verify", err, 1, Truncated, "missing from the end")
	})
	t.Run("wrong key", func(t *testing.T) {
		l, _ := sampleLog(t)
		_, err := l.Verify(otherKey(t))
		checkTamper(t, "Log.Verify", err, 0, Edited, "MAC does not match")
		b, _ := os.ReadFile(l.Path())
		_, err = Verify(bytes.NewReader(b), otherKey(t))
		checkTamper(t, "Verify", err, 1, Edited, "another vault")
	})
}

// A log far longer than one read chunk is checked across chunk boundaries
// (the parallel path), and damage deep inside it is still found at the
// right line.
func TestVerifyAcrossChunks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, LogFile)
	const n = 20000 // ~6 MiB: several chunks per worker
	if err := writeBenchLog(p, n, testKey(t)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	s, err := Verify(bytes.NewReader(b), testKey(t))
	if err != nil || s.Records != n {
		t.Fatalf("verify: %v, %d records", err, s.Records)
	}
	// Delete record 15001.
	start := 0
	for range 15000 {
		start += bytes.IndexByte(b[start:], '\n') + 1
	}
	end := start + bytes.IndexByte(b[start:], '\n') + 1
	cut := append(append([]byte{}, b[:start]...), b[end:]...)
	_, err = Verify(bytes.NewReader(cut), testKey(t))
	checkTamper(t, "Verify", err, 15001, Deleted, "record 15001 is missing")
}
