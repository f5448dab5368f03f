package cli

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command has its help file, every help file belongs to a command,
// and each file is a Short line, then (optionally) a blank line and the
// Long text.
func TestHelpFiles(t *testing.T) {
	files, err := fs.Glob(helpFiles, "help/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	orphan := map[string]bool{}
	for _, f := range files {
		orphan[f] = true
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		f := helpFile(c)
		b, err := helpFiles.ReadFile(f)
		switch {
		case err != nil:
			t.Errorf("%q has no help file %s", c.CommandPath(), f)
		case c.Short == "":
			t.Errorf("%s: no Short text", f)
		default:
			short, long, _ := strings.Cut(string(b), "\n")
			if short != c.Short || long != "" && (!strings.HasPrefix(long, "\n") || !strings.HasSuffix(long, "\n")) {
				t.Errorf("%s: want a Short line, then nothing or a blank line and the Long text ending in a newline", f)
			}
		}
		delete(orphan, f)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk((&app{}).rootCmd())
	for f := range orphan {
		t.Errorf("%s belongs to no command", f)
	}
}
