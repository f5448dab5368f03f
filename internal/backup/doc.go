// Package backup is `envseal backup` and `envseal restore`: which files of
// a vault an archive carries (the wrapped master key and the secrets, the
// policy, the TOTP state, and the audit log with its anchor, read under
// the audit lock), how the archive file is written (a temporary file,
// then a link that never replaces a file made meanwhile, or a rename with
// force), and the check that a restored vault opens. The archive format
// itself is internal/vault's (vault.Backup, vault.OpenBackup).
package backup
