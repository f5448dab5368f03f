// Package detect recognises secrets without keeping them: a provider guess
// from well-known prefixes, an entropy estimate, placeholder detection, and
// (for `envseal scan` and the pre-commit hook) finding likely secrets in
// text. It never returns a value, only where one is and what it looks like.
package detect
