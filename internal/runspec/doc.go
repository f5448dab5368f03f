// Package runspec reads what a run asks for into the checkpoint's terms:
// the secrets as policy grants — from `envseal run`'s --secret,
// --file-secret and --stdin-secret, or else from the nearest .envseal file
// — its --template-file templates, and the paths it names made canonical.
// It exists so that the command line keeps only its flags and hints, and
// so that the .envseal file is read into grants one way for `envseal run`
// and for the MCP server's run_command. It handles names, never a value.
package runspec
