package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// Run walks through envseal on a throwaway vault in a temporary directory,
// explaining each step on out. kdf is what the vault's key is wrapped
// with; keep leaves the directory in place.
func Run(out io.Writer, kdf seal.KDFParams, keep bool) error {
	tmp, err := os.MkdirTemp("", "envseal-demo-")
	if err != nil {
		return fmt.Errorf("make demo directory: %w", err)
	}
	if !keep {
		defer os.RemoveAll(tmp)
	}
	dir := filepath.Join(tmp, "vault")
	fmt.Fprintf(out, "envseal demo: a throwaway vault in %s (your own vault is not touched)\n", dir)

	w := &walk{out: out, tmp: tmp, dir: dir}
	if err := w.create(kdf); err != nil {
		return err
	}
	defer w.k.Wipe()
	defer func() { clear(w.val) }()
	if err := w.store(); err != nil {
		return err
	}
	if err := w.tamper(); err != nil {
		return err
	}

	w.step(9, "revoke it (envseal revoke DEMO_TOKEN)")
	if err := w.v.Revoke(w.k, "DEMO_TOKEN"); err != nil {
		return err
	}
	fmt.Fprintf(out, "    gone\n")

	if keep {
		fmt.Fprintf(out, "\nkept the demo vault in %s\n", dir)
	} else {
		fmt.Fprintf(out, "\ndone; the throwaway vault was removed\n")
	}
	return nil
}

// walk is the demo's state from step to step.
type walk struct {
	out      io.Writer
	tmp, dir string
	v        *vault.Vault
	k        seal.Key
	pass     []byte
	val      []byte
}

func (w *walk) step(n int, title string) { fmt.Fprintf(w.out, "\n[%d] %s\n", n, title) }

// create is step 1: a vault under a random passphrase.
func (w *walk) create(kdf seal.KDFParams) error {
	w.step(1, "create the vault (envseal init)")
	var pr [12]byte
	rand.Read(pr[:])
	w.pass = []byte(hex.EncodeToString(pr[:])) // random: the demo never shows or reuses it
	t0 := time.Now()
	v, k, err := vault.Create(w.dir, w.pass, kdf, policy.InitEmpty)
	if err != nil {
		return fmt.Errorf("demo init: %w", err)
	}
	w.v, w.k = v, k
	fmt.Fprintf(w.out, "    a random 256-bit master key, wrapped with %s of the passphrase\n", kdf)
	fmt.Fprintf(w.out, "    (took %v; an attacker pays that for every guess)\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

// store is steps 2 to 5: store a generated secret, show the file and
// the listing, and run a program with it through the checkpoint.
func (w *walk) store() error {
	w.step(2, "store a generated secret (envseal store DEMO_TOKEN --generate)")
	w.val = vault.Generate(vault.GeneratedLen)
	if _, err := w.v.Store(w.k, "DEMO_TOKEN", w.val, vault.StoreOptions{}); err != nil {
		return fmt.Errorf("demo store: %w", err)
	}
	fmt.Fprintf(w.out, "    %d random characters went straight into the vault; no command prints them\n", len(w.val))

	w.step(3, "what is on disk")
	st, err := os.Stat(w.secFile())
	if err != nil {
		return err
	}
	fmt.Fprintf(w.out, "    %s: %d bytes, mode %04o\n", w.secFile(), st.Size(), st.Mode().Perm())
	fmt.Fprintf(w.out, "    XChaCha20-Poly1305 ciphertext; the name and timestamps are bound as associated data\n")

	w.step(4, "list names and metadata without the passphrase (envseal list)")
	ents, err := w.v.List()
	if err != nil {
		return err
	}
	for _, e := range ents {
		fmt.Fprintf(w.out, "    %s  created %s  generation %d\n", e.Name, e.Created.Local().Format(time.DateTime), e.Generation)
	}

	w.step(5, "run a program through the checkpoint (envseal run --secret DEMO_TOKEN -- ./show-token.sh)")
	return checkpoint(w.out, w.v, w.pass, w.tmp)
}

func (w *walk) secFile() string { return filepath.Join(w.dir, vault.SecretsDir, "DEMO_TOKEN.seal") }

// tamper is steps 6 to 8: a wrong passphrase, a sealed file under
// another name and a flipped byte are all refused.
func (w *walk) tamper() error {
	w.step(6, "a wrong passphrase is refused")
	if _, err := w.v.Unlock([]byte("guess")); !errors.Is(err, vault.ErrWrongPassphrase) {
		return fmt.Errorf("demo: wrong passphrase was not refused: %v", err)
	}
	fmt.Fprintf(w.out, "    unlock with a guessed passphrase: %v\n", vault.ErrWrongPassphrase)

	w.step(7, "a sealed file copied to another name does not open")
	secFile := w.secFile()
	b, err := os.ReadFile(secFile)
	if err != nil {
		return err
	}
	moved := filepath.Join(w.dir, vault.SecretsDir, "OTHER.seal")
	if err := os.WriteFile(moved, b, 0o600); err != nil {
		return err
	}
	readable := launch.New(launch.Config{Vault: w.v, Unlock: func() (seal.Key, error) { return w.k.Clone(), nil }}).Readable
	if err := readable("OTHER"); err == nil {
		return errors.New("demo: a moved secret file was accepted")
	} else {
		fmt.Fprintf(w.out, "    %v\n", err)
	}
	os.Remove(moved)

	w.step(8, "flipping one byte of the ciphertext is detected")
	b[len(b)-1] ^= 1
	if err := os.WriteFile(secFile+".tmp", b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(secFile+".tmp", secFile); err != nil {
		return err
	}
	if err := readable("DEMO_TOKEN"); err == nil {
		return errors.New("demo: a tampered secret file was accepted")
	} else {
		fmt.Fprintf(w.out, "    %v\n", err)
	}
	return nil
}

// checkpoint shows the checkpoint at work: the rule a human would have saved
// with "allow always", a run it covers (output scrubbed), and a run it does
// not cover, which needs a human — the demo has none, so it is denied.
func checkpoint(out io.Writer, v *vault.Vault, pass []byte, tmp string) error {
	script := filepath.Join(tmp, "show-token.sh")
	body := "#!/bin/sh\necho \"the program got DEMO_TOKEN (${#DEMO_TOKEN} characters)\"\necho \"and tries to print it: $DEMO_TOKEN\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		return err
	}
	script, err := filepath.EvalSymlinks(script)
	if err != nil {
		return err
	}
	grant := policy.Grant{Secret: "DEMO_TOKEN", Delivery: policy.DeliverEnv, Env: "DEMO_TOKEN"}
	// The rule records the run's whole context (cwd, environment, the
	// files it reads), exactly as an "allow always" at the screen would.
	rule, err := launch.PrepareRule(&launch.Request{Argv: []string{script}, Cwd: tmp, Env: os.Environ(), PATH: os.Getenv("PATH")}, nil)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	rule.ID, rule.Grants, rule.Sandbox, rule.Created = policy.NewID(), []policy.Grant{grant}, sandbox.Standard, time.Now().UTC()
	k, err := v.Unlock(pass)
	if err != nil {
		return err
	}
	_, err = policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error { p.Put(rule); return nil })
	k.Wipe()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    the rule you would save by typing the code and '!': %s, sha256 %s…, no arguments, DEMO_TOKEN in $DEMO_TOKEN\n", script, rule.SHA256[:12])

	cp := launch.New(launch.Config{
		Vault:    v,
		Unlock:   func() (seal.Key, error) { return v.Unlock(pass) },
		Approver: approver{out: out},
		Audit:    launch.NopAuditor{},
	})
	var childOut bytes.Buffer
	req := &launch.Request{Argv: []string{script}, Cwd: tmp, Env: os.Environ(), PATH: os.Getenv("PATH"),
		Grants: []policy.Grant{grant}, Stdout: &childOut, Stderr: &childOut, RequesterPID: os.Getpid()}
	res, err := cp.Run(context.Background(), req)
	if err != nil {
		return fmt.Errorf("demo run: %w", err)
	}
	fmt.Fprintf(out, "    it ran from a sealed, non-dumpable copy of the approved bytes; its output:\n")
	for _, l := range strings.Split(strings.TrimRight(childOut.String(), "\n"), "\n") {
		fmt.Fprintf(out, "      | %s\n", l)
	}
	fmt.Fprintf(out, "    exit status %d; the value was scrubbed %d time(s)\n", res.ExitCode, res.Leaks["DEMO_TOKEN"])

	fmt.Fprintf(out, "    the same program with other arguments is not covered by the rule, so a human is asked:\n")
	req.Argv = []string{script, "--other"}
	childOut.Reset()
	_, err = cp.Run(context.Background(), req)
	if err == nil {
		return errors.New("demo: an unapproved run was allowed")
	}
	fmt.Fprintf(out, "    denied: %v (exit status %d)\n", err, launch.ExitDenied)
	return nil
}

// approver shows what the human would see, then denies: the demo has
// no human to type the code.
type approver struct{ out io.Writer }

func (d approver) Approve(_ context.Context, r *approve.Request) (approve.Decision, error) {
	for _, l := range strings.Split(strings.TrimRight(r.Text(), "\n"), "\n") {
		fmt.Fprintf(d.out, "      > %s\n", l)
	}
	fmt.Fprintf(d.out, "      > (the demo types nothing)\n")
	return approve.Deny, nil
}
