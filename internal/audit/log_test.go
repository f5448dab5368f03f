package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/seal"
)

// corruptFiles lists the rotated-aside logs in dir.
func corruptFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, CorruptPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func parseAll(t *testing.T, l *Log) []Record {
	t.Helper()
	var out []Record
	for i, ln := range readLines(t, l) {
		r, err := ParseRecord(ln)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		out = append(out, r)
	}
	return out
}

// A log that does not verify is moved aside, never deleted; the new chain
// starts with audit_rotated naming the old file, its SHA-256 and the
// reason, with the old last line's hash as prev; the user is warned; and
// the record being written is not lost.
func TestCorruptLogIsRotated(t *testing.T) {
	l, k := sampleLog(t)
	l.setMark(nil) // a new envseal process
	_, w := testLog(t)
	l.Warn = w.add
	ls := readLines(t, l)
	ls[1] = bytes.Replace(ls[1], []byte(`"TOKEN"`), []byte(`"TOKEX"`), 1)
	writeLines(t, l, ls)
	old, _ := os.ReadFile(l.Path())

	mustAppend(t, l, k, "secret_stored", map[string]any{"secret": "NEXT"})

	files := corruptFiles(t, l.dir)
	if len(files) != 1 {
		t.Fatalf("corrupt files: %v", files)
	}
	moved, _ := os.ReadFile(files[0])
	if !bytes.Equal(moved, old) {
		t.Fatal("the rotated-aside file is not the old log byte for byte")
	}
	if !hasWarning(w, "moved to "+files[0]) || !hasWarning(w, "record 2: edited") {
		t.Errorf("warnings %q do not name the file and the bad record", w.all())
	}
	recs := parseAll(t, l)
	if len(recs) != 2 || recs[0].Event != "audit_rotated" || recs[1].Event != "secret_stored" || !recs[0].Keyed() {
		t.Fatalf("new log = %+v", recs)
	}
	f, _ := recs[0].FieldMap()
	wantSum := sha256.Sum256(old)
	if f["file"] != filepath.Base(files[0]) || f["file_sha256"] != hex.EncodeToString(wantSum[:]) || !strings.Contains(f["reason"].(string), "record 2: edited") {
		t.Errorf("audit_rotated fields = %v", f)
	}
	if recs[0].Prev != sha256.Sum256(bytes.TrimSuffix(ls[len(ls)-1], []byte("\n"))) {
		t.Error("audit_rotated prev is not the hash of the old log's last line")
	}
	s, err := l.Verify(k)
	if err != nil || s.RotatedFrom != filepath.Base(files[0]) || s.Records != 2 {
		t.Fatalf("new log: %v, %+v", err, s)
	}
	// The old file still verifies as far as it goes: it names the edit.
	b, _ := os.ReadFile(files[0])
	_, err = Verify(bytes.NewReader(b), k)
	checkTamper(t, "Verify", err, 2, Edited, "MAC")
}

// Control: an intact log is not rotated, and unkeyed records chain on.
func TestIntactLogIsNotRotated(t *testing.T) {
	l, k := sampleLog(t)
	mustAppend(t, l, k, "secret_stored", map[string]any{"secret": "NEXT"})
	mustAppend(t, l, seal.Key{}, "unlock_failed", nil)
	if f := corruptFiles(t, l.dir); len(f) != 0 {
		t.Fatalf("intact log rotated: %v", f)
	}
	s, err := l.Verify(k)
	if err != nil || s.Records != 13 || s.Uncovered != 1 {
		t.Fatalf("%v %+v", err, s)
	}
}

func TestRotationCases(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, l *Log)
		key    bool
		reason string
	}{
		{"torn last line, appender without key", func(t *testing.T, l *Log) {
			b, _ := os.ReadFile(l.Path())
			os.WriteFile(l.Path(), b[:len(b)-20], 0o600)
		}, false, "cut short"},
		{"garbage at the end, appender without key", func(t *testing.T, l *Log) {
			f, _ := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("not a record\n")
			f.Close()
		}, false, "not a record"},
		{"anchor deleted", func(t *testing.T, l *Log) { os.Remove(filepath.Join(l.dir, HeadFile)) }, true, "audit.head is missing"},
		{"anchor forged", func(t *testing.T, l *Log) {
			h := head{seq: 1, hash: sha256.Sum256([]byte("x"))}
			os.WriteFile(filepath.Join(l.dir, HeadFile), h.encode(seal.NewMAC(otherKey(t).Subkey(seal.DomainAudit))), 0o600)
		}, true, "MAC does not match"},
		{"records cut from the end", func(t *testing.T, l *Log) {
			ls := readLines(t, l)
			writeLines(t, l, ls[:8])
		}, true, "cut from the end"},
		{"unkeyed record after the anchor re-chained", func(t *testing.T, l *Log) {
			ls := readLines(t, l)
			i := bytes.Index(ls[10], []byte(`"prev":"`)) + len(`"prev":"`)
			if ls[10][i] == '0' {
				ls[10][i] = '1'
			} else {
				ls[10][i] = '0'
			}
			writeLines(t, l, ls)
		}, true, "record 11: edited: its prev does not match"},
		{"log emptied", func(t *testing.T, l *Log) { os.WriteFile(l.Path(), nil, 0o600) }, true, "its records were removed"},
		{"log replaced by a symlink", func(t *testing.T, l *Log) {
			os.Rename(l.Path(), l.Path()+".elsewhere")
			os.Symlink(l.Path()+".elsewhere", l.Path())
		}, true, "symlink"},
		{"log hard-linked", func(t *testing.T, l *Log) { os.Link(l.Path(), l.Path()+".link") }, false, "hard links"},
	}
	for _, c := range cases {
		for _, fresh := range []bool{false, true} {
			name := c.name + "/same process"
			if fresh {
				name = c.name + "/new process"
			}
			t.Run(name, func(t *testing.T) {
				l, k := sampleLog(t)
				if fresh { // forget what this Log appended, as a new envseal process would
					l.setMark(nil)
				}
				w := &warnings{}
				l.Warn = w.add
				c.damage(t, l)
				key := k
				if !c.key {
					key = seal.Key{}
				}
				mustAppend(t, l, key, "run_started", map[string]any{"pid": 1})
				if len(corruptFiles(t, l.dir)) != 1 {
					t.Fatalf("not rotated (warnings %q)", w.all())
				}
				if !hasWarning(w, c.reason) {
					t.Errorf("warnings %q do not say %q", w.all(), c.reason)
				}
				recs := parseAll(t, l)
				if len(recs) != 2 || recs[0].Event != "audit_rotated" || recs[0].Keyed() != c.key {
					t.Fatalf("new log = %+v", recs)
				}
				mustAppend(t, l, k, "run_finished", nil)
				if _, err := l.Verify(k); err != nil {
					t.Fatalf("new chain: %v", err)
				}
			})
		}
	}
}

// A vault without a log (deleted whole, or older than the log) gets one
// whose first record says so, and the user is told.
func TestMissingLogStartsChainThatSaysSo(t *testing.T) {
	l, k := sampleLog(t)
	w := &warnings{}
	l.Warn = w.add
	os.Remove(l.Path())
	os.Remove(filepath.Join(l.dir, HeadFile))
	mustAppend(t, l, k, "secret_stored", map[string]any{"secret": "X"})
	recs := parseAll(t, l)
	if len(recs) != 2 || recs[0].Event != "audit_rotated" || !strings.Contains(string(recs[0].Fields), "there was no audit log") {
		t.Fatalf("new log = %+v", recs)
	}
	if !hasWarning(w, "there was no audit log") {
		t.Errorf("warnings %q", w.all())
	}
	// vault_init on a fresh directory is record 1 and needs no warning.
	l2, w2 := testLog(t)
	mustAppend(t, l2, k, "vault_init", nil)
	if recs := parseAll(t, l2); len(recs) != 1 || recs[0].Event != "vault_init" || len(w2.all()) != 0 {
		t.Fatalf("fresh vault: %+v, warnings %q", recs, w2.all())
	}
	// A new vault over an old log moves the old one aside.
	mustAppend(t, l, k, "vault_init", nil)
	if len(corruptFiles(t, l.dir)) != 1 {
		t.Fatal("vault_init over an existing log did not move it aside")
	}
	if recs := parseAll(t, l); recs[0].Event != "audit_rotated" || recs[1].Event != "vault_init" {
		t.Fatalf("new log = %+v", recs)
	}
}

func TestAppendRefusesBadInput(t *testing.T) {
	l, _ := testLog(t)
	k := testKey(t)
	for _, ev := range []string{"", "Upper", "has space", "9lead", strings.Repeat("a", 65), "new\nline"} {
		if err := l.Append(k, Event(ev), nil); err == nil {
			t.Errorf("event %q accepted", ev)
		}
	}
	if err := l.Append(k, "x", map[string]any{"c": make(chan int)}); err == nil {
		t.Error("unencodable field accepted")
	}
	// Huge fields are summarised, so the line stays readable.
	mustAppend(t, l, k, "vault_init", nil)
	mustAppend(t, l, k, "run_started", map[string]any{"argv": []string{strings.Repeat("A", 100<<10)}})
	recs := parseAll(t, l)
	if !strings.Contains(string(recs[1].Fields), `"truncated":true`) {
		t.Errorf("huge fields not summarised: %.200s", recs[1].Fields)
	}
	if _, err := l.Verify(k); err != nil {
		t.Fatal(err)
	}
}

// The log and its anchor are created 0600, like every vault file.
func TestFileModes(t *testing.T) {
	l, _ := sampleLog(t)
	for _, n := range []string{LogFile, HeadFile, LockFile} {
		fi, err := os.Stat(filepath.Join(l.dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", n, fi.Mode())
		}
	}
}

// 8 processes append 200 records each at the same time (a fifth of them
// unkeyed, as failed unlocks are): the result is one valid chain of 1,600
// records (plus vault_init) containing every record exactly once.
func TestConcurrentProcesses(t *testing.T) {
	const procs, each = 8, 200
	l, _ := testLog(t)
	k := testKey(t)
	mustAppend(t, l, k, "vault_init", nil)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range procs {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+strconv.Itoa(i)+","+strconv.Itoa(each)+","+l.dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer %d: %v: %s", i, err, outs[i])
		}
		if outs[i].Len() != 0 {
			t.Errorf("writer %d said: %s", i, outs[i]) // e.g. a rotation warning
		}
	}
	s, err := l.Verify(k)
	if err != nil {
		t.Fatal(err)
	}
	if s.Records != procs*each+1 {
		t.Fatalf("%d records, want %d", s.Records, procs*each+1)
	}
	seen := map[string]bool{}
	for _, r := range parseAll(t, l)[1:] {
		f, _ := r.FieldMap()
		key := f["tag"].(string) + "/" + f["n"].(interface{ String() string }).String()
		if seen[key] {
			t.Errorf("record %s twice", key)
		}
		seen[key] = true
	}
	if len(seen) != procs*each {
		t.Errorf("%d distinct records, want %d", len(seen), procs*each)
	}
	if len(corruptFiles(t, l.dir)) != 0 {
		t.Error("a writer rotated the log")
	}
}

// A log over fullCheckLimit is checked from the anchor on: appending stays
// cheap, and damage after the anchor still rotates it.
func TestLongLogCheckedFromAnchor(t *testing.T) {
	l, _ := testLog(t)
	k := testKey(t)
	const n = 30000 // ~10 MB
	if err := writeBenchLog(l.Path(), n, k); err != nil {
		t.Fatal(err)
	}
	ls := readLines(t, l)
	last := bytes.TrimSuffix(ls[n-1], []byte("\n"))
	h := head{seq: n, offset: fileSize(t, l) - int64(len(last)) - 1, hash: sha256.Sum256(last)}
	if err := os.WriteFile(filepath.Join(l.dir, HeadFile), h.encode(seal.NewMAC(k.Subkey(seal.DomainAudit))), 0o600); err != nil {
		t.Fatal(err)
	}
	if fileSize(t, l) <= fullCheckLimit {
		t.Fatalf("log is only %d bytes", fileSize(t, l))
	}
	mustAppend(t, l, k, "run_started", nil)
	mustAppend(t, l, seal.Key{}, "unlock_failed", nil)
	mustAppend(t, l, k, "run_finished", nil)
	if s, err := l.Verify(k); err != nil || s.Records != n+3 {
		t.Fatalf("%v %+v", err, s)
	}
	// Cut the last record: the next append notices and rotates.
	b, _ := os.ReadFile(l.Path())
	b = b[:bytes.LastIndexByte(b[:len(b)-1], '\n')+1]
	os.WriteFile(l.Path(), b, 0o600)
	w := &warnings{}
	l.Warn = w.add
	mustAppend(t, l, k, "run_started", nil)
	if len(corruptFiles(t, l.dir)) != 1 || !hasWarning(w, "cut from the end") {
		t.Fatalf("not rotated: %q", w.all())
	}
}

func fileSize(t *testing.T, l *Log) int64 {
	t.Helper()
	fi, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
