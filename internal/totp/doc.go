// Package totp is envseal's second factor for approvals: time-based
// one-time passwords (RFC 6238) built on HOTP (RFC 4226), the codes an
// authenticator app shows.
//
// Parameters: HMAC-SHA1 (SHA-256 and SHA-512 are implemented for the RFC
// 6238 vectors), 6 digits, a 30-second step (RFC 6238 §4.1, X = 30, T0 = 0),
// and a window of one step either side of now (RFC 6238 §5.2) for clock
// drift. The seed is 20 random bytes (RFC 4226 §4 R6 asks for at least 128
// bits and recommends 160), shown once as a base32 otpauth:// URI and a
// terminal QR code.
//
// The seed and the verifier's state live in totp.seal in the vault
// directory, sealed with XChaCha20-Poly1305 under the TOTP subkey of the
// master key ("envseal v1 totp"). The state makes a code work once (RFC
// 4226 §7.5 and RFC 6238 §5.2: a step at or below the last accepted one is
// refused, so a code read over the human's shoulder, or off a shared
// terminal, cannot be replayed) and rate-limits wrong codes (RFC 4226 §7.3):
// after MaxFailures consecutive failures every check is refused for
// BaseLockout, doubling per further failure up to MaxLockout. The state is
// written under the vault's flock before the verdict is returned, so the
// limit holds across processes and restarts.
//
// Whether TOTP is on is recorded in the sealed policy (policy.Policy.TOTP)
// and, redundantly, by the presence of totp.seal: either one turns it on.
// A deleted totp.seal therefore cannot switch TOTP off while the policy says
// on, and a damaged one denies every approval until it is restored or reset
// with the passphrase; nothing here ever falls back to "TOTP off".
//
// The steps of `envseal totp enable` and `envseal totp status` that are not
// prompts or flags live here too (enrol.go): the Enrolment a human scans
// and confirms with a code, and the status lines; so does the order in
// which turning TOTP on or off touches the policy flag and totp.seal
// (onoff.go). The flag itself is set by a function of the caller: this
// package does not import policy.
package totp
