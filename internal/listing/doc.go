// Package listing is what `envseal list` shows of the secrets: for each
// one its header's metadata (vault.Entry) and its last use (audit), turned
// into the stable JSON row (Entry) and the table a human reads. It exists
// so that the command keeps only its flags and messages, and so that the
// broker's answer and the direct read of the vault are rendered by one
// piece of code. It shows names and metadata only: no value reaches it.
package listing
