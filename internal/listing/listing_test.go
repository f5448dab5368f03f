package listing

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/vault"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func secret(name string, updatedAgo time.Duration, rotateDays uint32) Secret {
	up := now.Add(-updatedAgo)
	return Secret{Entry: vault.Entry{Meta: vault.Meta{Name: name, Created: up, Updated: up, Generation: 2, RotateDays: rotateDays}}}
}

// TestToEntry: rotation due and overdue as of now, "never" as -1, last use
// kept, "unknown" only without a last use, an unreadable secret only its
// name and error.
func TestToEntry(t *testing.T) {
	fresh := ToEntry(secret("FRESH", 24*time.Hour, 30), now)
	if fresh.RotateDays != 30 || fresh.Overdue || fresh.Due == nil || !fresh.Due.Equal(now.Add(29*24*time.Hour)) {
		t.Errorf("fresh: %+v", fresh)
	}
	if old := ToEntry(secret("OLD", 31*24*time.Hour, 30), now); !old.Overdue {
		t.Errorf("31 days into a 30-day period is not overdue: %+v", old)
	}
	if never := ToEntry(secret("N", time.Hour, vault.RotateNever), now); never.RotateDays != -1 || never.Due != nil {
		t.Errorf("never: %+v", never)
	}
	used := secret("USED", time.Hour, 0)
	used.LastUsed, used.UseUnknown = now.Add(-time.Minute), true
	if e := ToEntry(used, now); e.LastUsed == nil || e.UseUnknown || e.RotateDays != vault.DefaultRotateDays {
		t.Errorf("used: %+v", e)
	}
	bad := Secret{Entry: vault.Entry{Meta: vault.Meta{Name: "BAD"}, Err: errors.New("damaged header")}}
	if e := ToEntry(bad, now); e.Error != "damaged header" || e.Updated != nil {
		t.Errorf("unreadable: %+v", e)
	}
}

func TestWriteTableAndJSON(t *testing.T) {
	unknown := secret("UNKNOWN", 2*time.Hour, 30)
	unknown.UseUnknown = true
	unknown.Provider, unknown.Weak = "openai", true
	rows := []Entry{
		ToEntry(secret("OLD", 40*24*time.Hour, 30), now),
		ToEntry(unknown, now),
		ToEntry(Secret{Entry: vault.Entry{Meta: vault.Meta{Name: "BAD"}, Err: errors.New("x")}}, now),
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rows, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, want := range [][]string{
		{"OLD", " - ", "40d", "never", "30d", "OVERDUE 10d"},
		{"UNKNOWN", "openai (weak)", " - ", "in 29d"},
		{"BAD", "(unreadable)"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}
	b.Reset()
	if err := WriteJSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 3 || back[0]["overdue"] != true || back[1]["last_used_unknown"] != true {
		t.Errorf("JSON: %v %s", err, b.Bytes())
	}
}

func TestAgoDays(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "just now", 5 * time.Minute: "5m ago", 47 * time.Hour: "47h ago", 72 * time.Hour: "3d ago",
	} {
		if got := Ago(d); got != want {
			t.Errorf("Ago(%v) = %q, want %q", d, got, want)
		}
	}
	if Days(23*time.Hour) != "0d" || Days(49*time.Hour) != "2d" {
		t.Error("Days does not count whole days")
	}
}

// Rows keeps the order; with dueOnly only the overdue rows.
func TestRows(t *testing.T) {
	ss := []Secret{secret("OLD", 31*24*time.Hour, 30), secret("FRESH", 24*time.Hour, 30), secret("OLDER", 400*24*time.Hour, 0)}
	names := func(rows []Entry) string {
		var n []string
		for _, r := range rows {
			n = append(n, r.Name)
		}
		return strings.Join(n, ",")
	}
	if got := names(Rows(ss, now, false)); got != "OLD,FRESH,OLDER" {
		t.Errorf("Rows = %s", got)
	}
	if got := names(Rows(ss, now, true)); got != "OLD,OLDER" {
		t.Errorf("Rows(dueOnly) = %s", got)
	}
}
