package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/envseal/envseal/internal/vault"
)

// inJail reports whether envseal runs inside `envseal jail`: the jail
// sets ENVSEAL_JAIL=1 for the agent and covers the vault directory dir
// with an empty read-only tmpfs (internal/sandbox, coverDir). Both must
// hold: the variable alone can be set anywhere, and outside a jail a
// missing vault must keep its own message ("create a vault with 'envseal
// init'"). Only messages depend on this, never a security decision.
func inJail(dir string) bool {
	if os.Getenv("ENVSEAL_JAIL") != "1" || dir == "" {
		return false
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		// A vault beneath a path the jail made private (its fresh /tmp)
		// is not there at all; tell that from a vault that does not
		// exist by the user namespace the jail gives (one uid mapped).
		return inChildUserNS()
	}
	if !isEmptyReadOnlyTmpfs(dir) {
		return false
	}
	ents, err := os.ReadDir(dir)
	return err == nil && len(ents) == 0
}

// inChildUserNS: the initial user namespace maps every uid from 0.
func inChildUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) >= 3 && !(f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

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
	if herr != nil || !inJail(dir) {
		return err
	}
	return withHint(fmt.Errorf("%w (%s is covered by the jail)", errInJail, dir),
		"inside the jail, use the broker: 'envseal run', 'envseal mcp', 'envseal request NAME' and 'envseal list' work; "+
			"store, policy, audit and the other vault commands are for the human, in a terminal outside the jail")
}
