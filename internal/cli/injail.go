package cli

import (
	"errors"
	"fmt"

	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/vault"
)

// errInJail is what a command that needs the vault itself says inside the
// jail, where the vault is hidden on purpose.
var errInJail = errors.New("you are inside envseal jail: the vault is hidden here")

// jailError turns "no vault here" into errInJail, with what does work
// inside the jail, when this process is jailed; other errors pass through.
func jailError(err error) error {
	if !errors.Is(err, vault.ErrNotInitialized) {
		return err
	}
	dir, herr := vault.Home()
	if herr != nil || !sandbox.InJail(dir) {
		return err
	}
	return withHint(fmt.Errorf("%w (%s is covered by the jail)", errInJail, dir),
		"inside the jail, use the broker: 'envseal run', 'envseal mcp', 'envseal request NAME' and 'envseal list' work; "+
			"store, policy, audit and the other vault commands are for the human, in a terminal outside the jail")
}
