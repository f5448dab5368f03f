package mcpserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/secretname"
	"github.com/envseal/envseal/internal/vault"
)

// Bounds on run_command; a model given no limit asks for unbounded output
// and hours-long runs.
const (
	DefaultTimeout   = 300 // seconds
	MaxTimeout       = 3600
	DefaultMaxOutput = 64 << 10
	MaxMaxOutput     = 1 << 20
	maxArgs          = 1024
	maxArgLen        = 32 << 10
	maxSecrets       = 64
	maxPurpose       = 512
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkDir wants an absolute path to an existing directory: a relative
// one would be resolved against the server's cwd, which the agent did not
// choose and may not know.
func checkDir(field, dir string) (string, error) {
	if dir == "" {
		return "", invalid("%s is required", field)
	}
	if strings.IndexByte(dir, 0) >= 0 || !filepath.IsAbs(dir) {
		return "", invalid("%s %q must be an absolute path", field, clip(dir))
	}
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	if err != nil {
		// The *PathError would quote the whole path again.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", invalid("%s %q: %v", field, clip(dir), err)
	}
	if !fi.IsDir() {
		return "", invalid("%s %q is not a directory", field, clip(dir))
	}
	return dir, nil
}

func checkArgv(argv []string) error {
	if len(argv) == 0 || argv[0] == "" {
		return invalid("argv must name a program: [\"program\", \"arg\", ...]")
	}
	if len(argv) > maxArgs {
		return invalid("argv has %d elements (at most %d)", len(argv), maxArgs)
	}
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return invalid("argv[%d] holds a NUL byte", i)
		}
		if len(a) > maxArgLen {
			return invalid("argv[%d] is over %d bytes", i, maxArgLen)
		}
	}
	return nil
}

func checkSecretName(name string) error {
	if err := vault.ValidName(name); err != nil {
		return invalid("secret name %q: %s", clip(name), secretname.Rule)
	}
	return nil
}

func checkEnvName(name string) error {
	if err := childenv.ValidName(name); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// checkPurpose keeps the sentence shown to the human to one line of
// printable text: control characters could redraw the broker's terminal and
// make the request look like something else.
func checkPurpose(p string) error {
	if strings.TrimSpace(p) == "" {
		return invalid("purpose is required: one sentence telling the human what the secret is for")
	}
	if len(p) > maxPurpose {
		return invalid("purpose is over %d bytes", maxPurpose)
	}
	if !utf8.ValidString(p) {
		return invalid("purpose is not valid UTF-8")
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return invalid("purpose holds a control character %U", r)
		}
	}
	return nil
}

// clip bounds an echoed input so a huge argument cannot bloat the error.
func clip(s string) string {
	return clipText(s, 64)
}
