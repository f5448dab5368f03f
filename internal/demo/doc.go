// Package demo is `envseal demo`: a walk through envseal on a throwaway
// vault (create, store a generated value, run a program through the
// checkpoint with its output scrubbed, refuse a wrong passphrase, a moved
// and a tampered file, revoke), each step checked and explained. It
// drives the real vault, policy and checkpoint; the user's own vault is
// never touched and the directory is removed at the end.
package demo
