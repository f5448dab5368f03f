package totp

import (
	"os"
	"os/user"
	"strings"

	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
)

// On says whether TOTP is on for the vault in dir: the flag sealed in the
// policy, or totp.seal being there (Active). An error is the policy's:
// it did not load (policy.ErrTampered, among others).
func On(dir string, master seal.Key) (bool, error) {
	p, err := policy.NewStore(dir, master).Load()
	if err != nil {
		return false, err
	}
	return Active(dir, p.TOTP), nil
}

// SetFlag sets or clears the policy's TOTP flag.
func SetFlag(dir string, master seal.Key, on bool) error {
	_, err := policy.NewStore(dir, master).Update(func(p *policy.Policy) error { p.TOTP = on; return nil })
	return err
}

// FlagError is a policy flag that could not be changed.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// TurnOff clears the policy flag, then removes totp.seal: a crash in
// between leaves the file, which still means on (fail closed). A flag
// that could not be cleared is a *FlagError, and totp.seal stays.
func TurnOff(dir string, master seal.Key, st *Store) error {
	if err := SetFlag(dir, master, false); err != nil {
		return &FlagError{err}
	}
	return st.Remove()
}

// Account is USER@HOST, the label an authenticator app shows.
func Account() string {
	name := "user"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}

// Grouped is the seed in base32, in groups of four for typing by hand.
func Grouped(seed []byte) string {
	s := EncodeSeed(seed)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
