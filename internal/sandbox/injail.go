package sandbox

import (
	"errors"
	"os"
	"strings"
)

// InJail reports whether this process runs inside `envseal jail` whose
// vault directory is dir: the jail sets ENVSEAL_JAIL=1 for the agent and
// covers dir with an empty read-only tmpfs (JailOptions.VaultDir). Both must hold:
// the variable alone can be set anywhere, and outside a jail a missing
// vault must keep its own message. Only messages may depend on this,
// never a security decision.
func InJail(dir string) bool {
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
