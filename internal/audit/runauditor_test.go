package audit

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/seal"
)

func TestProcStrings(t *testing.T) {
	got := ProcStrings([]approve.Proc{{PID: 7, Exe: "/usr/bin/bash", Comm: "bash"}, {PID: 1, Exe: "/sbin/init"}})
	want := []string{"7 /usr/bin/bash (bash)", "1 /sbin/init"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ProcStrings = %q, want %q", got, want)
	}
}

// TestRunAuditorChannel: approval records name the channel and carry the
// chain as strings; other records are written as given, and the caller's
// map is not changed.
func TestRunAuditorChannel(t *testing.T) {
	l, _ := testLog(t)
	r := RunAuditor{Log: l, Channel: "tty"}
	in := map[string]any{"chain": []approve.Proc{{PID: 7, Exe: "/bin/sh"}}}
	r.Event(testKey(t), ApprovalRequested, in)
	r.Event(testKey(t), RunStarted, map[string]any{"secret": "A"})
	if _, ok := in["channel"]; ok {
		t.Error("RunAuditor changed the caller's fields")
	}
	var es []*Entry
	for _, ln := range readLines(t, l) {
		es = append(es, ParseEntry(bytes.TrimSuffix(ln, []byte("\n"))))
	}
	if len(es) < 2 {
		t.Fatalf("%d records, want the two written last", len(es))
	}
	es = es[len(es)-2:] // after the record that starts the log
	if es[0].Fields["channel"] != "tty" || !reflect.DeepEqual(es[0].Fields["chain"], []any{"7 /bin/sh"}) {
		t.Errorf("approval record fields = %v", es[0].Fields)
	}
	if _, ok := es[1].Fields["channel"]; ok {
		t.Errorf("run record got a channel: %v", es[1].Fields)
	}
}

// TestWriteEntries: the table marks unkeyed records with "*" and shows an
// unreadable line as such; the JSON view prints stored lines as they are
// and leaves unreadable ones out.
func TestWriteEntries(t *testing.T) {
	l, _ := testLog(t)
	l.Event(seal.Key{}, UnlockFailed, map[string]any{"reason": "wrong passphrase"})
	mustAppend(t, l, testKey(t), SecretStored, map[string]any{"secret": "API_KEY"})
	var es []*Entry
	for _, ln := range readLines(t, l) {
		es = append(es, ParseEntry(bytes.TrimSuffix(ln, []byte("\n"))))
	}
	es = append(es[len(es)-2:], ParseEntry([]byte("not json"))) // after the record that starts the log

	var table bytes.Buffer
	if err := WriteEntries(&table, es, false, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")
	if len(lines) != len(es)+1 || !strings.HasPrefix(lines[0], "SEQ ") {
		t.Fatalf("table:\n%s", table.String())
	}
	if !strings.HasPrefix(lines[1], "2* ") || !strings.Contains(lines[1], "unlock_failed") {
		t.Errorf("unkeyed record not marked: %q", lines[1])
	}
	if !strings.Contains(lines[2], "secret_stored") || !strings.Contains(lines[2], "secret=API_KEY") || strings.Contains(lines[2], "*") {
		t.Errorf("keyed record: %q", lines[2])
	}
	if !strings.HasPrefix(lines[3], "? ") || !strings.Contains(lines[3], "(unreadable)") {
		t.Errorf("unreadable line: %q", lines[3])
	}

	var js bytes.Buffer
	if err := WriteEntries(&js, es, true, true); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, e := range es[:2] {
		want = append(append(want, e.Raw...), '\n')
	}
	if !bytes.Equal(js.Bytes(), want) {
		t.Errorf("JSON view:\n%s\nwant the stored lines:\n%s", js.Bytes(), want)
	}
}

// TestWrongPassphraseRecord: a failed unlock is an unkeyed record naming
// this process first in its chain.
func TestWrongPassphraseRecord(t *testing.T) {
	l, _ := testLog(t)
	l.WrongPassphrase()
	lines := readLines(t, l)
	e := ParseEntry(bytes.TrimSuffix(lines[len(lines)-1], []byte("\n")))
	if e.Err != nil || e.Record.Event != string(UnlockFailed) || e.Record.Keyed() || e.Fields["reason"] != "wrong passphrase" {
		t.Fatalf("record: %s", lines[len(lines)-1])
	}
	chain, _ := e.Fields["chain"].([]any)
	if me := strconv.Itoa(os.Getpid()) + " "; len(chain) == 0 || !strings.HasPrefix(chain[0].(string), me) {
		t.Errorf("chain %v does not start with this process", chain)
	}
}
