// Package deptest holds the layer tests of the module (tailscale's
// tstest/deptest idea): they type-check every package with the compiler's
// export data (`go list -export`) and fail on a call or an import that
// breaks a rule. The package has no code of its own.
package deptest
