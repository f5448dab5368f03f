//go:build !unix

package guard

import "errors"

var errNoOwners = errors.New("file ownership checks are not supported on this OS yet")

func coreLimit() (uint64, error) { return 0, errors.ErrUnsupported }

// RootOwned is not supported here: no approver program is trusted.
func RootOwned(path string) error { return errNoOwners }
