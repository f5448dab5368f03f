// Package moving takes secret values out of the user's files and puts
// them in the vault: `envseal import` for a dotenv file, `envseal scan
// --import` for the findings in programs, notes and shell history.
//
// Both are the same three steps, planned before anything changes so that
// every refusal happens while nothing has been touched:
//
//  1. plan the rewrite: the file with each value replaced (a dotenv line
//     blanked, a program made to read an environment variable, a note
//     given an "[envseal:NAME]" marker), checked by parsing it again, and
//     the lines the .envseal mapping file gains;
//  2. store every value in the vault;
//  3. replace the files, each atomically (safefile.WriteFileAtomic).
//
// Tx is the one transaction that runs steps 2 and 3: a failure at any step
// restores the files it wrote and revokes the secrets it stored, so the
// outcome is all or nothing (short of a crash between steps, which leaves
// extra secrets in the vault and the files intact — never a lost value).
// Existing secrets are never replaced, and no value is ever put in an
// error or a message.
//
// The command line (internal/cli) keeps the flags, the prompts for names
// and the table it prints; it holds none of the rewriting.
package moving
