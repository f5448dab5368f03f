// Package seal holds envseal's cryptography and nothing else: Argon2id
// wrapping of the master key (RFC 9106), XChaCha20-Poly1305 AEAD
// (draft-irtf-cfrg-xchacha), and HKDF-SHA256 (RFC 5869) domain-separated
// subkeys so that a key used for secrets can never open a policy or audit
// record.
//
// Keys are their own type. A Key cannot be compared with == (it carries an
// incomparable field), has no String method that prints bytes, and formats
// as "seal.Key(redacted)" under every fmt verb, so a stray log line or a
// test failure message cannot leak it.
package seal
