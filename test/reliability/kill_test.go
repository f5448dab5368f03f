//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// killsPerMode: 4 modes, so the long profile makes 2,000 kills.
func killsPerMode() int {
	if *long {
		return 500
	}
	return 75
}

// maxKillDelay is the longest wait after the first ack. An operation takes
// a few milliseconds (fsyncs), so a kill lands before, inside or between
// operations at random.
const maxKillDelay = 15 * time.Millisecond

// run is what one writer acknowledged before it died.
type run struct {
	acks   []int // "ack N", in order
	stored []int // "stored N" (revoke mode)
	last   int   // the highest N the writer printed
}

// checker checks the vault after a kill against what was acknowledged and
// returns the next op number. lost counts acknowledged writes missing.
type checker func(dir string, k seal.Key, r run) (next, lost int, err error)

// TestKill SIGKILLs a writer at a random moment after its first
// acknowledged operation, then requires every acknowledged write to be
// there and every file to verify: a crash must never cost a write the user
// was told had happened, nor leave a vault that no longer opens.
func TestKill(t *testing.T) {
	modes := []struct {
		name  string
		check checker
	}{
		{"store", checkStore},
		{"revoke", checkRevoke},
		{"policy", (&policyChecker{}).check},
		{"audit", checkAudit},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { killLoop(t, m.name, m.check) })
	}
}

func killLoop(t *testing.T, mode string, check checker) {
	dir, k := newVault(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	want := killsPerMode()
	kills, acked, lost, failures, next := 0, 0, 0, 0, 1
	var errs []string
	for attempt := 0; kills < want && attempt < 3*want; attempt++ {
		r, killed, err := runWriter(mode, dir, next, time.Duration(rng.Int64N(int64(maxKillDelay))))
		if err != nil {
			failures++
			errs = append(errs, err.Error())
			break // the vault state is unknown: later rounds would only repeat it
		}
		if killed {
			kills++
		}
		acked += len(r.acks)
		n, l, err := check(dir, k, r)
		lost += l
		if err == nil {
			err = verifyAll(dir, k)
		}
		if err != nil {
			failures++
			errs = append(errs, fmt.Sprintf("after kill %d: %v", kills, err))
			break
		}
		next = n
	}
	summary(t, "kill/%s: %d kills, %d acknowledged writes, %d lost, %d failures", mode, kills, acked, lost, failures)
	for _, e := range errs {
		t.Error(e)
	}
	if lost > 0 || failures > 0 || kills < want {
		t.Fatalf("kill/%s: want %d kills, 0 lost, 0 failures", mode, want)
	}
}

// runWriter starts a writer at op start and SIGKILLs it delay after its
// first ack. killed is false if it finished on its own first.
func runWriter(mode, dir string, start int, delay time.Duration) (r run, killed bool, err error) {
	cmd := writerCmd(mode, dir, start)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return r, false, err
	}
	if err := cmd.Start(); err != nil {
		return r, false, fmt.Errorf("start writer: %w", err)
	}
	var timer *time.Timer
	r.last = start - 1
	readLines(bufio.NewScanner(out), func(line string) {
		word, num, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(num)
		if err != nil {
			return
		}
		r.last = max(r.last, n)
		switch word {
		case "ack":
			r.acks = append(r.acks, n)
			if timer == nil {
				timer = time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
			}
		case "stored":
			r.stored = append(r.stored, n)
		}
	})
	err = cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return r, true, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("writer %s failed: %v: %s", mode, err, strings.TrimSpace(stderr.String()))
	}
	if len(r.acks) == 0 {
		return r, false, fmt.Errorf("writer %s acknowledged nothing", mode)
	}
	return r, false, nil
}

// checkStore: the value of s is the last acknowledged store or the one in
// flight when the kill came, never an older one and never a mix.
func checkStore(dir string, k seal.Key, r run) (int, int, error) {
	last := r.acks[len(r.acks)-1]
	v, err := vault.Open(dir)
	if err != nil {
		return 0, 0, err
	}
	got, _, err := v.Get(k, "s")
	if err != nil {
		return 0, 1, fmt.Errorf("get s after acknowledged store %d: %w", last, err)
	}
	defer clear(got)
	switch {
	case bytes.Equal(got, storeValue(last)):
		return last + 1, 0, nil
	case bytes.Equal(got, storeValue(last+1)):
		return last + 2, 0, nil
	}
	return 0, 1, fmt.Errorf("value of s is neither store %d (last acknowledged) nor %d (in flight)", last, last+1)
}

// checkRevoke: an acknowledged revoke is gone; a secret still present is
// the one in flight and decrypts to what was stored. Leftovers are then
// revoked so the next round starts clean.
func checkRevoke(dir string, k seal.Key, r run) (int, int, error) {
	v, err := vault.Open(dir)
	if err != nil {
		return 0, 0, err
	}
	lost := 0
	for _, n := range r.acks {
		if _, _, err := v.Get(k, fmt.Sprintf("r-%d", n)); !errors.Is(err, vault.ErrNotFound) {
			lost++
			return 0, lost, fmt.Errorf("r-%d is still there after its revoke was acknowledged (err %v)", n, err)
		}
	}
	acked := map[int]bool{}
	for _, n := range r.acks {
		acked[n] = true
	}
	entries, err := v.List()
	if err != nil {
		return 0, lost, err
	}
	for _, e := range entries {
		n, err := strconv.Atoi(strings.TrimPrefix(e.Name, "r-"))
		if err != nil || acked[n] || (n != r.last && n != r.last+1) {
			return 0, lost, fmt.Errorf("unexpected secret %s after the kill", e.Name)
		}
		got, _, err := v.Get(k, e.Name)
		if err != nil {
			return 0, lost, fmt.Errorf("get %s: %w", e.Name, err)
		}
		ok := bytes.Equal(got, revokeValue(n))
		clear(got)
		if !ok {
			return 0, lost, fmt.Errorf("%s holds a value that was never stored under it", e.Name)
		}
		if err := v.Revoke(k, e.Name); err != nil {
			return 0, lost, fmt.Errorf("clean up %s: %w", e.Name, err)
		}
	}
	return r.last + 2, lost, nil
}

// policyChecker: every acknowledged rule is present, the only other one
// may be the rule in flight, and the generation never goes back.
type policyChecker struct{ gen uint64 }

func (c *policyChecker) check(dir string, k seal.Key, r run) (int, int, error) {
	ps := policy.NewStore(dir, k)
	p, err := ps.Load()
	if err != nil {
		return 0, 0, fmt.Errorf("load policy: %w", err)
	}
	have := map[string]bool{}
	for _, rule := range p.Rules {
		have[rule.ID] = true
	}
	lost := 0
	for _, n := range r.acks {
		if !have[fmt.Sprintf("rule-%d", n)] {
			lost++
		}
		delete(have, fmt.Sprintf("rule-%d", n))
	}
	delete(have, fmt.Sprintf("rule-%d", r.last+1))
	if lost > 0 {
		return 0, lost, fmt.Errorf("%d acknowledged rules missing", lost)
	}
	if len(have) > 0 {
		return 0, 0, fmt.Errorf("%d rules present that were never written in this round", len(have))
	}
	if p.Generation < c.gen+uint64(len(r.acks)) {
		return 0, 0, fmt.Errorf("policy generation %d, want at least %d", p.Generation, c.gen+uint64(len(r.acks)))
	}
	// Empty it so the policy stays small over a long run.
	p, err = ps.Update(func(p *policy.Policy) error { p.Rules = nil; return nil })
	if err != nil {
		return 0, 0, fmt.Errorf("reset policy: %w", err)
	}
	c.gen = p.Generation
	return r.last + 2, 0, nil
}

// checkAudit: every acknowledged record is in the current log (not in a
// log moved aside: verifyAll fails if there is one).
func checkAudit(dir string, k seal.Key, r run) (int, int, error) {
	present, err := loggedNs(dir, evKill, "n")
	if err != nil {
		return 0, 0, err
	}
	lost := 0
	for _, n := range r.acks {
		if !present[n] {
			lost++
		}
	}
	if lost > 0 {
		return 0, lost, fmt.Errorf("%d acknowledged audit records missing from %s", lost, audit.LogFile)
	}
	return r.last + 2, 0, nil
}

// loggedNs returns the integer field key of every event record in the
// current log.
func loggedNs(dir, event, key string) (map[int]bool, error) {
	return loggedNsWhere(dir, event, key, "", 0)
}

// loggedNsWhere is loggedNs for the records whose field where equals is
// (every record when where is "").
func loggedNsWhere(dir, event, key, where string, is int) (map[int]bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, audit.LogFile))
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		rec, err := audit.ParseRecord(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", audit.LogFile, i+1, err)
		}
		if rec.Event != event {
			continue
		}
		f, err := rec.FieldMap()
		if err != nil {
			return nil, err
		}
		if where != "" && fmt.Sprint(f[where]) != strconv.Itoa(is) {
			continue
		}
		n, err := strconv.Atoi(fmt.Sprint(f[key]))
		if err != nil {
			return nil, fmt.Errorf("%s line %d: field %s: %w", audit.LogFile, i+1, key, err)
		}
		out[n] = true
	}
	return out, nil
}
