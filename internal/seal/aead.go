package seal

import (
	"crypto/rand"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"
)

// Sizes of the AEAD (XChaCha20-Poly1305).
const (
	NonceSize = chacha20poly1305.NonceSizeX // 24: random nonces never repeat in practice
	TagSize   = chacha20poly1305.Overhead   // 16
)

// ErrDecrypt means a ciphertext did not authenticate: wrong key, wrong
// associated data (e.g. a secret file moved to another name), or tampering.
// It deliberately does not say which.
var ErrDecrypt = errors.New("message authentication failed")

// Seal encrypts plaintext under k with a fresh random nonce and returns
// nonce and ciphertext||tag. ad is authenticated but not encrypted.
func Seal(k Key, plaintext, ad []byte) (nonce, ciphertext []byte) {
	aead, err := chacha20poly1305.NewX(k.bytes())
	if err != nil {
		panic("seal: " + err.Error()) // key size is fixed by the type
	}
	nonce = make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		panic("seal: crypto/rand failed: " + err.Error())
	}
	return nonce, aead.Seal(nil, nonce, plaintext, ad)
}

// Open authenticates and decrypts ciphertext. On any failure it returns
// ErrDecrypt and no plaintext.
func Open(k Key, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != NonceSize || len(ciphertext) < TagSize {
		return nil, ErrDecrypt
	}
	aead, err := chacha20poly1305.NewX(k.bytes())
	if err != nil {
		panic("seal: " + err.Error())
	}
	pt, err := aead.Open(nil, nonce, ciphertext, ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// WrapKey seals key k under kek (the master key under the passphrase key).
func WrapKey(kek, k Key, ad []byte) (nonce, ciphertext []byte) {
	return Seal(kek, k.bytes(), ad)
}

// UnwrapKey is the inverse of WrapKey.
func UnwrapKey(kek Key, nonce, ciphertext, ad []byte) (Key, error) {
	raw, err := Open(kek, nonce, ciphertext, ad)
	if err != nil {
		return Key{}, err
	}
	defer clear(raw)
	return KeyFromBytes(raw)
}
