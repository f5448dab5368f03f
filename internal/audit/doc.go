// Package audit is envseal's tamper-evident log: every decision taken on a
// secret (stored, revoked, a run asked for, approved or denied, started,
// finished, a binary or policy that changed, a failed unlock) becomes one
// line of audit.log in the vault directory, and a same-user agent cannot
// quietly rewrite, drop, reorder or insert one.
//
// # Records
//
// audit.log is JSON Lines. Each record has a sequence number (1, 2, … with
// no gap), the time (UTC, RFC 3339 with nanoseconds, fixed width), the event
// type, its fields, the SHA-256 of the previous line ("prev") and an
// HMAC-SHA256 ("mac") under the audit subkey HKDF(master, "envseal v1
// audit"). The MAC and the hash cover exact bytes, never a re-serialisation,
// so the verifier needs no canonical JSON and no JSON parser on its hot
// path. docs/FORMAT.md gives the format byte by byte.
//
// Fields hold names, paths, hashes, argv, cwd, the requesting process chain,
// decisions, exit statuses and leak-hit counts — never a secret value. The
// package cannot check that (a field is just JSON), so callers pass names,
// and the CLI tests grep the log for every value they stored.
//
// # Records written before unlock
//
// A failed unlock (and a refused environment) happens before the master key
// exists, and is worth recording most of all. Such a record is written with
// "mac":null. It is still chained: the next keyed record's prev is the hash
// of its line, and that prev is under the keyed record's MAC, so once any
// keyed record follows, changing, dropping or inserting an unkeyed record
// breaks a MAC. Until then the trailing unkeyed records are "not yet
// covered": Verify counts them in Summary.Uncovered and `audit show` marks
// them, because a same-user agent could have written them itself.
//
// # Anchor (audit.head)
//
// A hash chain alone cannot show that records were cut off the end: every
// prefix of a valid chain is valid. After each keyed append the writer
// records (seq, offset, hash) of that record, with a MAC, in audit.head. The
// verifier requires the record it names to be present and identical, so
// deleting keyed records from the tail is detected. A key holder checks
// the whole log before appending while it is small (8 MiB, ~25,000
// records); beyond that the anchor lets it check only the records written
// since the last keyed append, so an append stays cheap however long the
// log grows. `envseal audit verify` always checks every record.
//
// What remains possible for a same-user attacker, and is documented as such:
// restoring an older copy of both audit.log and audit.head together (a
// rollback; only state outside the user's reach, such as the broker, can
// stop it), and dropping trailing unkeyed records.
//
// # Concurrency and durability
//
// Appenders take an exclusive flock on audit.lock (not the vault's .lock:
// vault writers append audit records while holding that one, so the order is
// always vault lock → audit lock, and audit code never takes the vault
// lock). Each append is one write(2) on an O_APPEND descriptor followed by
// fsync before the lock is released and before the caller acts on the
// decision it records: a run that was approved must not lose its record to a
// crash. That costs about a millisecond per record, against hundreds for an
// Argon2id unlock. audit.head is rewritten in place and never fsynced: it is
// written only after the record it names is durable, so after a crash it is
// either the new anchor or an older one, and an older anchor is still true.
//
// # Damage
//
// If the log does not verify when a key holder appends (or cannot even be
// parsed by an appender without the key), the appender renames it to
// audit.log.corrupt-<time>, starts a new chain whose first record is
// audit_rotated (naming that file, its SHA-256 and the reason) and whose
// prev is the hash of the old file's last line, writes its own record after
// it, and warns the user. envseal never refuses to work because the log is
// damaged, and never deletes it.
//
// # Reading and writing for the commands
//
// What `envseal audit show` does with the log lives here too, so the CLI
// holds only its flags: Filter and Follow (follow.go) pick and tail
// records, Details and WriteEntries (show.go) render them. RunAuditor
// (runauditor.go) is the checkpoint's Auditor for a run: the log, with the
// approval channel and the process chain added to approval records.
package audit
