// Package closure finds the files an approved run reads or executes from
// places the agent can write: its "closure". A rule pins the program's
// bytes, but `python3 deploy.py` runs whatever deploy.py and the modules
// beside it say, `make deploy` whatever the Makefile says, `git push`
// whatever .git/hooks and .git/config say. An approval means what the
// human read only if those files are pinned too (docs/ARCHITECTURE.md invariant 1).
//
// Discover lists candidates from what can be known before the run:
//
//   - every argv operand that names an existing regular file;
//   - for an interpreter, the script's sibling modules (python *.py and
//     package __init__.py one level down, node *.js/*.mjs/*.cjs/*.json,
//     perl *.pm/*.pl, ruby *.rb), and the files a shell script sources
//     with a literal path;
//   - for make: the makefile it would read (GNUmakefile, makefile,
//     Makefile — the absent ones too, since creating one changes which
//     runs) and its literal include lines;
//   - for npm/npx/pnpm/yarn: package.json, the lockfiles and .npmrc (its
//     script-shell setting runs code), and the files the named script's
//     command line names;
//   - for git: the repository's config and every hook (absent hooks
//     included: a new pre-push hook runs on the next push), a
//     core.hooksPath directory, ~/.gitconfig and ~/.config/git/config;
//   - the modules of a script that a recipe, a package.json script, a
//     shell script or a git hook names, the package directories a python
//     script's import lines name (namespace packages too), and for
//     `python3 -m MOD` the module and the cwd's modules;
//   - the node_modules/.bin entry script of `npx TOOL` / `exec TOOL` and of
//     a package.json script's first command;
//   - for the commands of `sh -c` strings, recipes, package.json scripts
//     and shell scripts: their $PATH lookup (a shadow in a writable PATH
//     directory) and per-user configs (~/.curlrc, ~/.npmrc, …); what a
//     `-c` string runs or sources;
//   - the config and hooks of a git remote that is a path on this machine;
//   - every path given with --pin (a directory pins its tree).
//
// Only files in a place the user can write are kept (the agent runs as
// the user). What cannot be learned this way — modules imported from
// elsewhere, node_modules, files named only at run time — is returned as
// notes for the approval screen.
package closure
