// Command envseal is a write-only secret vault with process-level access
// control. See internal/cli for the commands.
package main

import (
	"os"

	"github.com/envseal/envseal/internal/cli"
)

func main() { os.Exit(cli.Main()) }
