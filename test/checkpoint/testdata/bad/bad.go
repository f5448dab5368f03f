// Package bad breaks the one-checkpoint rule on purpose (test/checkpoint's control).
package bad

import (
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func decrypt(v *vault.Vault, k seal.Key) {
	// A value leaves the vault without the checkpoint.
	var val []byte
	val, _, _ = v.Get(k, "token")
	clear(val)
	// A method value is a call waiting to happen.
	get := v.Get
	_ = get
	// Checkpoints made by hand, and one changed after New.
	_ = launch.New(launch.Config{Vault: v}) // allowed
	_ = &launch.Checkpoint{}
	_ = new(launch.Checkpoint)
	cp := launch.New(launch.Config{})
	cp.Vault = v
	_ = v.List // metadata only: allowed
}

func open(k seal.Key, nonce, ct, hdr []byte) {
	// The secret values' key, and sealed bytes opened by hand.
	_ = k.Subkey(seal.DomainPolicy) // another store's domain: not a value's
	sk := k.Subkey(seal.DomainSecret)
	pt, _ := seal.Open(sk, nonce, ct, hdr)
	clear(pt)
	o := seal.Open
	_, _ = seal.UnwrapKey(k, nonce, ct, hdr)
	_ = o
	_, _ = seal.Seal(k, pt, hdr) // sealing is not opening: allowed
}
