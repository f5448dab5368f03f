//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/vault"
)

const hammerProcs = 8

// TestHammer runs 8 processes doing random store / revoke / policy /
// audit operations on the same vault at once. Afterwards every secret
// decrypts to a value some writer stored, the policy holds every rule a
// writer was told it added (no lost update between concurrent Updates), and
// the audit log verifies and holds every record a writer appended.
func TestHammer(t *testing.T) {
	d := 4 * time.Second
	if *long {
		d = 60 * time.Second
	}
	dir, k := newVault(t)
	type result struct {
		stores, revokes, rules, audits int
		err                            error
	}
	results := make([]result, hammerProcs)
	var wg sync.WaitGroup
	for id := range hammerProcs {
		wg.Go(func() {
			cmd := writerCmd("hammer", dir, id, envFor+"="+d.String())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err == nil {
				err = cmd.Start()
			}
			if err != nil {
				results[id].err = err
				return
			}
			r := &results[id]
			done := false
			readLines(bufio.NewScanner(out), func(line string) {
				if _, err := fmt.Sscanf(line, "done stores=%d revokes=%d rules=%d audits=%d", &r.stores, &r.revokes, &r.rules, &r.audits); err == nil {
					done = true
				}
			})
			if err := cmd.Wait(); err != nil || !done {
				r.err = fmt.Errorf("hammer writer %d: %v: %s", id, err, strings.TrimSpace(stderr.String()))
			}
		})
	}
	wg.Wait()

	var total result
	failures := 0
	for _, r := range results {
		if r.err != nil {
			failures++
			t.Error(r.err)
		}
		total.stores += r.stores
		total.revokes += r.revokes
		total.rules += r.rules
		total.audits += r.audits
	}
	if err := verifyAll(dir, k); err != nil {
		failures++
		t.Errorf("after the hammer: %v", err)
	}
	lost := 0
	if v, err := vault.Open(dir); err == nil {
		entries, _ := v.List()
		for _, e := range entries {
			got, _, err := v.Get(k, e.Name)
			if err != nil || !bytes.HasPrefix(got, []byte("hammer-")) {
				failures++
				t.Errorf("secret %s does not decrypt to a value a writer stored (err %v)", e.Name, err)
			}
			clear(got)
		}
	}
	if p, err := policy.NewStore(dir, k).Load(); err == nil {
		if len(p.Rules) != total.rules {
			lost += max(total.rules-len(p.Rules), 0)
			failures++
			t.Errorf("policy holds %d rules, writers acknowledged %d", len(p.Rules), total.rules)
		}
	}
	if got, err := loggedHammer(dir); err != nil {
		failures++
		t.Error(err)
	} else if got != total.audits {
		lost += max(total.audits-got, 0)
		failures++
		t.Errorf("audit log holds %d hammer records, writers acknowledged %d", got, total.audits)
	}
	summary(t, "hammer: %d processes for %s, %d stores, %d revokes, %d policy updates, %d audit appends, %d lost, %d failures",
		hammerProcs, d, total.stores, total.revokes, total.rules, total.audits, lost, failures)
}

// loggedHammer counts the hammer records (writer, op) in the current log,
// each once.
func loggedHammer(dir string) (int, error) {
	n := 0
	for w := range hammerProcs {
		ops, err := loggedNsWhere(dir, evHammer, "i", "w", w)
		if err != nil {
			return 0, err
		}
		n += len(ops)
	}
	return n, nil
}
