// Package envfile reads the two text formats envseal meets in a project:
//
//   - .envseal, a committed mapping of ENV_VAR=secret-name lines. It holds
//     names only, never values, so it is safe to commit. Find discovers it
//     upward from a directory; Load reads it without ever following a
//     symlink; Parse and Format are its grammar.
//   - .env, the common dotenv dialect, which holds values. ParseDotEnv reads
//     it for `envseal import`, which moves the values into the vault and
//     writes the .envseal mapping. No error from this package contains a
//     value.
//
// # .envseal grammar
//
// One entry per line: ENV_VAR=secret-name. Whitespace around the line and
// around '=' is ignored; whitespace inside a name is an error. Lines whose
// first non-blank character is '#' are comments; a comment cannot follow an
// entry on the same line. ENV_VAR is a POSIX name that childenv.ValidName
// accepts — so a committed file cannot aim a secret at LD_PRELOAD or
// NODE_OPTIONS. secret-name is a vault name, [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
// One ENV_VAR may appear once; two variables may name the same secret. An
// "export " prefix is refused with a hint rather than accepted, because it
// means someone pasted a shell or .env line — and those carry values. A
// file over 1 MiB, or with a NUL byte, is refused.
//
// Every parse failure is a *ParseError carrying the path and the 1-based line.
//
// Load also refuses a file that another user could have written — owned by
// someone other than the caller or root, or world-writable — for the reason
// git refuses a repository owned by someone else: a .envseal planted in a
// shared parent directory such as /tmp must not decide which secret reaches
// which variable. Bind mounts whose files belong to another uid (some dev
// containers) trip this check; the error names the owner.
package envfile
