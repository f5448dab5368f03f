// Package shellhook is `envseal shell-hook`: the bash, zsh and fish hooks
// that run before each command line, and the check they call, which warns
// when a line holds what looks like a key or token. The warning names the
// kind and the variable, never the value; the hook never stores anything
// and never stops the command.
//
// The scripts are data (hook.bash, hook.zsh, hook.fish, embedded); the
// only thing filled in is the path of the envseal binary, quoted.
package shellhook
