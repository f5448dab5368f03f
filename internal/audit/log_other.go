//go:build !unix

package audit

import (
	"os"

	"github.com/envseal/envseal/internal/safefile"
)

// The audit log needs flock(2) and O_NOFOLLOW; Verify and ParseRecord work
// everywhere.

func lockAudit(dir string, exclusive bool) (func(), error) { return nil, safefile.ErrUnsupported }

func openLog(path string, forAppend bool) (*os.File, error) { return nil, safefile.ErrUnsupported }

func writeHeadFile(path string, b []byte) error { return safefile.ErrUnsupported }
