package moving

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"

	"github.com/envseal/envseal/internal/envfile"
)

// mappingFile is a .envseal as it is and the lines it is to gain.
type mappingFile struct {
	path string
	old  []byte // nil when the file does not exist
	mode fs.FileMode
}

// readMapping reads the mapping file at path, if there is one; a missing
// file is an empty mapping, written 0644 when it is created.
func readMapping(path string) (*mappingFile, error) {
	m := &mappingFile{path: path, mode: 0o644}
	old, mode, err := readRegular(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		m.old, m.mode = old, mode
	}
	return m, nil
}

// mappings parses the file as it is.
func (m *mappingFile) mappings() ([]envfile.Mapping, error) {
	return envfile.Parse(bytes.NewReader(m.old), m.path)
}

// with returns the file with add appended under the comment header; the
// result must parse.
func (m *mappingFile) with(header string, add []envfile.Mapping) ([]byte, error) {
	lines, err := envfile.Format(add)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(m.old)
	if len(m.old) > 0 && !bytes.HasSuffix(m.old, []byte("\n")) {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "# %s\n", header)
	b.Write(lines)
	if _, err := envfile.Parse(bytes.NewReader(b.Bytes()), m.path); err != nil {
		return nil, fmt.Errorf("new mapping would not parse: %w", err)
	}
	return b.Bytes(), nil
}

// write is the Write that gives the mapping file data.
func (m *mappingFile) write(data []byte) Write {
	return Write{Path: m.path, Data: data, Mode: m.mode, Old: m.old}
}
