package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Walk through envseal on a throwaway vault (no typing, nothing kept)",
		Long: `Build a throwaway vault in a temporary directory, store a generated secret,
and show what protects it, explaining each step. Your own vault is not
touched; the temporary directory is removed at the end.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.demo(keep)
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the throwaway vault and print its directory")
	return c
}

func (a *app) demo(keep bool) error {
	out := a.stdout
	step := func(n int, title string) { fmt.Fprintf(out, "\n[%d] %s\n", n, title) }

	tmp, err := os.MkdirTemp("", "envseal-demo-")
	if err != nil {
		return fmt.Errorf("make demo directory: %w", err)
	}
	if !keep {
		defer os.RemoveAll(tmp)
	}
	dir := filepath.Join(tmp, "vault")
	fmt.Fprintf(out, "envseal demo: a throwaway vault in %s (your own vault is not touched)\n", dir)

	step(1, "create the vault (envseal init)")
	var pr [12]byte
	rand.Read(pr[:])
	pass := []byte(hex.EncodeToString(pr[:])) // random: the demo never shows or reuses it
	t0 := time.Now()
	v, k, err := vault.Create(dir, pass, kdfParams, policy.InitEmpty)
	if err != nil {
		return fmt.Errorf("demo init: %w", err)
	}
	defer k.Wipe()
	fmt.Fprintf(out, "    a random 256-bit master key, wrapped with %s of the passphrase\n", kdfParams)
	fmt.Fprintf(out, "    (took %v; an attacker pays that for every guess)\n", time.Since(t0).Round(time.Millisecond))

	step(2, "store a generated secret (envseal store DEMO_TOKEN --generate)")
	val := generateValue(defaultGenerateLen)
	defer clear(val)
	if _, err := v.Store(k, "DEMO_TOKEN", val, vault.StoreOptions{}); err != nil {
		return fmt.Errorf("demo store: %w", err)
	}
	fmt.Fprintf(out, "    %d random characters went straight into the vault; no command prints them\n", len(val))

	step(3, "what is on disk")
	secFile := filepath.Join(dir, vault.SecretsDir, "DEMO_TOKEN.seal")
	st, err := os.Stat(secFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %s: %d bytes, mode %04o\n", secFile, st.Size(), st.Mode().Perm())
	fmt.Fprintf(out, "    XChaCha20-Poly1305 ciphertext; the name and timestamps are bound as associated data\n")

	step(4, "list names and metadata without the passphrase (envseal list)")
	ents, err := v.List()
	if err != nil {
		return err
	}
	for _, e := range ents {
		fmt.Fprintf(out, "    %s  created %s  generation %d\n", e.Name, e.Created.Local().Format(time.DateTime), e.Generation)
	}

	step(5, "a wrong passphrase is refused")
	if _, err := v.Unlock([]byte("guess")); !errors.Is(err, vault.ErrWrongPassphrase) {
		return fmt.Errorf("demo: wrong passphrase was not refused: %v", err)
	}
	fmt.Fprintf(out, "    unlock with a guessed passphrase: %v\n", vault.ErrWrongPassphrase)

	step(6, "a sealed file copied to another name does not open")
	b, err := os.ReadFile(secFile)
	if err != nil {
		return err
	}
	moved := filepath.Join(dir, vault.SecretsDir, "OTHER.seal")
	if err := os.WriteFile(moved, b, 0o600); err != nil {
		return err
	}
	if _, _, err := v.Get(k, "OTHER"); err == nil {
		return errors.New("demo: a moved secret file was accepted")
	} else {
		fmt.Fprintf(out, "    %v\n", err)
	}
	os.Remove(moved)

	step(7, "flipping one byte of the ciphertext is detected")
	b[len(b)-1] ^= 1
	if err := os.WriteFile(secFile+".tmp", b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(secFile+".tmp", secFile); err != nil {
		return err
	}
	if _, _, err := v.Get(k, "DEMO_TOKEN"); err == nil {
		return errors.New("demo: a tampered secret file was accepted")
	} else {
		fmt.Fprintf(out, "    %v\n", err)
	}

	step(8, "revoke it (envseal revoke DEMO_TOKEN)")
	if err := v.Revoke(k, "DEMO_TOKEN"); err != nil {
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
