//go:build reliability

package reliability

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// maxOps bounds a kill-mode writer that outlives its kill timer, so a
// broken parent cannot leave it running for ever.
const maxOps = 2000

// Event names written by the writers.
const (
	evKill   = "reliability_kill"
	evHammer = "reliability_hammer"
)

// writerMain runs in a re-executed test binary. It prints "ack N" only
// after operation N has returned success, so every acknowledged line is a
// write the parent may insist on after the kill.
func writerMain(mode string) int {
	dir := os.Getenv(envDir)
	start, err := strconv.Atoi(os.Getenv(envStart))
	if err != nil {
		fmt.Fprintf(os.Stderr, "writer: bad %s\n", envStart)
		return 2
	}
	v, err := vault.Open(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "writer: open vault: %v\n", err)
		return 2
	}
	k, err := v.Unlock(passphrase)
	if err != nil {
		fmt.Fprintf(os.Stderr, "writer: unlock: %v\n", err)
		return 2
	}
	if mode == "hammer" {
		d, err := time.ParseDuration(os.Getenv(envFor))
		if err != nil {
			fmt.Fprintf(os.Stderr, "writer: bad %s\n", envFor)
			return 2
		}
		return hammer(v, k, start, d)
	}
	op, ok := killOps(v, k)[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "writer: unknown mode %q\n", mode)
		return 2
	}
	for n := start; n < start+maxOps; n++ {
		if err := op(n); err != nil {
			fmt.Fprintf(os.Stderr, "writer: %s op %d: %v\n", mode, n, err)
			return 1
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", n)
	}
	return 0
}

// killOps are the operations the kill test interrupts, one per mode.
func killOps(v *vault.Vault, k seal.Key) map[string]func(n int) error {
	ps := policy.NewStore(v.Dir(), k)
	log := audit.New(v.Dir())
	return map[string]func(int) error{
		"store": func(n int) error {
			_, err := v.Store(k, "s", storeValue(n), vault.StoreOptions{Force: true})
			return err
		},
		// revoke stores r-N, says so, then revokes it and acknowledges.
		"revoke": func(n int) error {
			name := fmt.Sprintf("r-%d", n)
			if _, err := v.Store(k, name, revokeValue(n), vault.StoreOptions{}); err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "stored %d\n", n)
			return v.Revoke(k, name)
		},
		"policy": func(n int) error {
			_, err := ps.Update(func(p *policy.Policy) error {
				p.Put(testRule(fmt.Sprintf("rule-%d", n)))
				return nil
			})
			return err
		},
		"audit": func(n int) error {
			return log.Append(k, evKill, map[string]any{"n": n})
		},
	}
}

func storeValue(n int) []byte  { return []byte(fmt.Sprintf("store-value-%d", n)) }
func revokeValue(n int) []byte { return []byte(fmt.Sprintf("revoke-value-%d", n)) }

// testRule is a rule with a binary path of its own, so Put never
// supersedes another test rule.
func testRule(id string) policy.Rule {
	return policy.Rule{
		ID:      id,
		Binary:  "/reliability/" + id,
		SHA256:  strings.Repeat("ab", 32),
		Argv:    []string{},
		Grants:  []policy.Grant{{Secret: "s", Delivery: policy.DeliverEnv, Env: "S"}},
		Sandbox: "none",
		Created: time.Now().UTC(),
	}
}

// hammer runs random store/revoke/policy/audit operations for d and
// prints "done stores=… revokes=… rules=… audits=…". Any error other than
// the expected races (ErrExists, ErrNotFound) makes it exit 1.
func hammer(v *vault.Vault, k seal.Key, id int, d time.Duration) int {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	ps := policy.NewStore(v.Dir(), k)
	log := audit.New(v.Dir())
	var stores, revokes, rules, audits int
	fail := func(op string, err error) int {
		fmt.Fprintf(os.Stderr, "hammer %d: %s: %v\n", id, op, err)
		return 1
	}
	for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
		name := fmt.Sprintf("h%d", rng.IntN(8))
		val := []byte(fmt.Sprintf("hammer-%d-%d", id, i))
		switch r := rng.IntN(100); {
		case r < 35:
			if _, err := v.Store(k, name, val, vault.StoreOptions{Force: true}); err != nil {
				return fail("store --force "+name, err)
			}
			stores++
		case r < 45:
			_, err := v.Store(k, name, val, vault.StoreOptions{})
			if err != nil && !errors.Is(err, vault.ErrExists) {
				return fail("store "+name, err)
			}
			if err == nil {
				stores++
			}
		case r < 65:
			err := v.Revoke(k, name)
			if err != nil && !errors.Is(err, vault.ErrNotFound) {
				return fail("revoke "+name, err)
			}
			if err == nil {
				revokes++
			}
		case r < 72:
			// A Get racing a Revoke or a replace of the same name must
			// give the value or ErrNotFound, never a refusal.
			got, _, err := v.Get(k, name)
			clear(got)
			if err != nil && !errors.Is(err, vault.ErrNotFound) {
				return fail("get "+name, err)
			}
		case r < 82:
			if _, err := ps.Update(func(p *policy.Policy) error {
				p.Put(testRule(fmt.Sprintf("ham-%d-%d", id, i)))
				return nil
			}); err != nil {
				return fail("policy update", err)
			}
			rules++
		default:
			if err := log.Append(k, evHammer, map[string]any{"w": id, "i": i}); err != nil {
				return fail("audit append", err)
			}
			audits++
		}
	}
	fmt.Fprintf(os.Stdout, "done stores=%d revokes=%d rules=%d audits=%d\n", stores, revokes, rules, audits)
	return 0
}
