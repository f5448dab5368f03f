//go:build redteam && linux

package redteam

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

var markdown = flag.Bool("markdown", false, "also print the table as Markdown (for docs/THREAT_MODEL.md)")

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == agentArg {
		os.Exit(agentMain(os.Args[2:]))
	}
	flag.Parse()
	os.Exit(m.Run())
}

// Expectations, as docs/THREAT_MODEL.md states them.
const (
	expStopped    = "stopped"
	expNotStopped = "not stopped (documented)"
)

// Results.
const (
	resStopped   = "stopped"
	resSucceeded = "SUCCEEDED"
	resNoProbe   = "PROBE BROKEN"
)

// row is one attack in one mode.
type row struct {
	attack, mode string
	expect       string
	result       string
	by           string // the mechanism, and the test that proves it
	note         string // what was observed
	control      string // "" when the control worked (or there is none)
}

// verdict says whether the row agrees with the docs.
func (r row) verdict() string {
	switch {
	case r.control != "":
		return "FAIL: control failed, the probe proves nothing"
	case r.result == resNoProbe:
		return "FAIL: probe could not run"
	case r.expect == expStopped && r.result == resSucceeded:
		return "FAIL: the docs say this is stopped"
	case r.expect == expNotStopped && r.result == resStopped:
		return "FAIL: documented as not stopped, but it was (update docs/THREAT_MODEL.md)"
	}
	return "ok"
}

type table struct {
	mu   sync.Mutex
	rows []row
}

func (tb *table) add(r row) {
	tb.mu.Lock()
	tb.rows = append(tb.rows, r)
	tb.mu.Unlock()
}

// report adds a row: stopped tells whether the attack failed; control is
// "" when the control showed the probe works, else what went wrong.
func (w *world) report(tb *table, attack, expect string, stopped bool, by, note, control string) {
	// Never print the value, whatever a probe or envseal said.
	note = strings.ReplaceAll(note, w.value, "[value]")
	note = strings.Join(strings.Fields(strings.ReplaceAll(note, w.root, "$T")), " ")
	if len(note) > 150 {
		note = note[:150] + "…"
	}
	r := row{attack: attack, mode: w.mode, expect: expect, by: by, note: note, control: control}
	r.result = resSucceeded
	if stopped {
		r.result = resStopped
	}
	tb.add(r)
	if v := r.verdict(); v != "ok" {
		w.t.Errorf("%s [%s]: %s — %s (%s)", attack, w.mode, v, r.result, note)
		if control != "" {
			w.t.Logf("control: %s", control)
		}
	}
}

func TestRedteam(t *testing.T) {
	start := time.Now()
	b := buildBins(t)
	tb := &table{}
	for _, mode := range []string{modeDirect, modeJail} {
		w := newWorld(t, b, mode)
		if mode == modeJail {
			w.startBroker()
		}
		w.setupRules()
		for _, a := range attacks {
			if a.modes != "" && a.modes != mode {
				continue
			}
			a.run(w, tb)
		}
	}
	tb.print(os.Stdout, *markdown)
	fails, documented := 0, 0
	for _, r := range tb.rows {
		if r.verdict() != "ok" {
			fails++
		}
		if r.expect == expNotStopped {
			documented++
		}
	}
	fmt.Printf("redteam: %d attacks run (%d direct, %d broker+jail), %d stopped as documented, %d not stopped as documented, %d disagree with the docs, %.1fs\n",
		len(tb.rows), countMode(tb.rows, modeDirect), countMode(tb.rows, modeJail),
		len(tb.rows)-documented-fails, documented, fails, time.Since(start).Seconds())
}

func countMode(rs []row, mode string) int {
	n := 0
	for _, r := range rs {
		if r.mode == mode {
			n++
		}
	}
	return n
}

func (tb *table) print(f *os.File, md bool) {
	tw := tabwriter.NewWriter(f, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTACK\tMODE\tEXPECTED\tRESULT\tVERDICT\tSTOPPED BY / PROVED BY\tOBSERVED")
	for _, r := range tb.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.attack, r.mode, r.expect, r.result, short(r.verdict()), r.by, r.note)
	}
	tw.Flush()
	if !md {
		return
	}
	fmt.Fprintln(f)
	fmt.Fprintln(f, "| attack | mode | expected | result | stopped by / proved by | observed |")
	fmt.Fprintln(f, "|---|---|---|---|---|---|")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, r := range tb.rows {
		res := r.result
		if res == resSucceeded {
			res = "**" + res + "**"
		}
		if v := r.verdict(); v != "ok" {
			res += " — " + v
		}
		fmt.Fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", esc(r.attack), r.mode, r.expect, res, esc(r.by), esc(r.note))
	}
}

func short(v string) string {
	if v == "ok" {
		return "ok"
	}
	return "FAIL"
}
