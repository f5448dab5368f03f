package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/mcpconfig"
)

func (a *app) mcpConfigCmd() *cobra.Command {
	var write bool
	var file string
	names := mcpconfig.Names()
	c := &cobra.Command{
		Use:       "config " + strings.Join(names, "|"),
		ValidArgs: names,
		Args:      cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, ok := mcpconfig.Clients[args[0]]
			if !ok {
				return withHint(fmt.Errorf("unknown client %q", mcpconfig.Clip(args[0])), "use one of "+strings.Join(names, ", "))
			}
			if !write {
				if file != "" {
					return withHint(errors.New("--file needs --write"), "add --write to merge into that file, or leave --file out to print")
				}
				return a.printMCPConfig(cl)
			}
			return a.writeMCPConfig(args[0], cl, file)
		},
	}
	c.Flags().BoolVar(&write, "write", false, "merge the envseal entry into the client's configuration file")
	c.Flags().StringVar(&file, "file", "", "the configuration file --write merges into (default: the client's usual file)")
	return c
}

func (a *app) printMCPConfig(cl mcpconfig.Client) error {
	out, err := cl.Snippet()
	if err != nil {
		return err
	}
	if _, err := a.stdout.Write(out); err != nil {
		return err
	}
	for _, n := range cl.Notes {
		a.infof("%s", n)
	}
	return nil
}

func (a *app) writeMCPConfig(name string, cl mcpconfig.Client, file string) error {
	if cl.Key == "" {
		return withHint(fmt.Errorf("%s's configuration is not JSON; --write cannot merge into it", name), cl.Notes[0])
	}
	if file == "" {
		if cl.File == "" {
			return withHint(fmt.Errorf("--write for %s needs --file", name), "name the client's configuration file: --write --file PATH")
		}
		file = cl.File
	}
	path, err := mcpconfig.Path(file)
	if err != nil {
		return withHint(err, "pass the file with --file PATH")
	}
	w, err := mcpconfig.Write(path, cl)
	var fe *mcpconfig.FileError
	var me *mcpconfig.MergeError
	var be *mcpconfig.BackupError
	switch {
	case errors.As(err, &fe) && fe.TooLarge:
		return withHint(err, "check that --file names the client's configuration")
	case errors.As(err, &fe):
		return withHint(err, "pass a file with --file PATH")
	case errors.As(err, &me):
		return withHint(err, fmt.Sprintf("fix or move the file, then run 'envseal mcp config %s --write' again (or save the printed snippet yourself)", name))
	case errors.As(err, &be):
		return withHint(be.Err, "nothing was changed; check the directory's permissions")
	case err != nil:
		return err
	case !w.Changed:
		a.infof("%s already starts envseal; nothing to change", path)
		return nil
	}
	switch {
	case w.Replaced:
		a.infof("replaced the envseal entry in %s (the old file is %s)", path, w.Backup)
	case w.Backup != "":
		a.infof("added envseal to %s (the old file is %s)", path, w.Backup)
	default:
		a.infof("created %s", path)
	}
	for _, n := range cl.Notes[1:] {
		a.infof("%s", n)
	}
	return nil
}
