package vault

import "github.com/envseal/envseal/internal/secretname"

// MaxNameLen is the longest secret name accepted.
const MaxNameLen = secretname.MaxLen

// ErrBadName is matched (errors.Is) by every invalid-name error.
var ErrBadName = secretname.ErrBadName

// ValidName checks a secret name against the one name rule
// (internal/secretname): [A-Za-z0-9][A-Za-z0-9._-]{0,127}. Names become
// file names, so anything else is refused.
func ValidName(name string) error { return secretname.Valid(name) }
