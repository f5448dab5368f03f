package cli

import (
	"embed"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// helpFiles are the commands' help texts, one file per command, named by
// its path without "envseal" ("policy.list.txt"; the root is
// "envseal.txt"): the first line is the Short text, and after a blank
// line comes the Long one. They are the output contract of 'envseal help'
// kept out of the Go code (help_test.go: every command has its file and
// every file its command).
//
//go:embed help/*.txt
var helpFiles embed.FS

// helpFile is the file name of c's help text.
func helpFile(c *cobra.Command) string {
	name := "envseal"
	if c.HasParent() {
		name = strings.ReplaceAll(strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" "), " ", ".")
	}
	return "help/" + name + ".txt"
}

// setHelp gives c and every command beneath it its Short and Long text.
// A missing file is a build mistake (help_test.go), not a user's error.
func setHelp(c *cobra.Command) {
	b, err := helpFiles.ReadFile(helpFile(c))
	if err != nil {
		panic(fmt.Sprintf("envseal: no help text for %q: %v", c.CommandPath(), err))
	}
	short, long, _ := strings.Cut(string(b), "\n")
	c.Short = short
	if long != "" {
		c.Long = strings.TrimSuffix(strings.TrimPrefix(long, "\n"), "\n")
	}
	for _, sub := range c.Commands() {
		setHelp(sub)
	}
}
