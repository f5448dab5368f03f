//go:build tools

// Package tools pins the versions of the developer tools .ci/run installs.
// It is its own module so the tools' dependencies stay out of envseal's
// go.mod.
package tools

import (
	_ "honnef.co/go/tools/cmd/staticcheck"
)
