package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/exeseal"
	"github.com/envseal/envseal/internal/inject"
	"github.com/envseal/envseal/internal/policy"
)

// --template-file ENV=TEMPLATE: the template is read once, here, before
// the approval; its bytes are pinned by hash in the rule's closure (an
// edited template is another run, and asks again with a diff); the secrets
// its placeholders name become grants (DeliverTemplate) the human approves
// and the rule lists; after approval it is rendered from those same bytes
// into a sealed read-only memfd that only the child holds, like
// --file-secret. The values are scrubbed from the output like every other
// delivery's, because they are grants.

// MaxTemplates is how many --template-file one run may name.
const MaxTemplates = 16

// tmplFile is one template of a run, as read and parsed.
type tmplFile struct {
	env  string
	path string // canonical
	sha  string
	t    *inject.Template
}

// validateTemplates checks req.Templates beside the grants' variables
// (envs): absolute paths, good and unique variable names.
func validateTemplates(req *Request, envs map[string]bool) error {
	bad := func(format string, args ...any) error {
		return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadRequest}, args...)...)}
	}
	if len(req.Templates) > MaxTemplates {
		return bad("%d templates (max %d)", len(req.Templates), MaxTemplates)
	}
	for _, t := range req.Templates {
		if !filepath.IsAbs(t.Path) {
			return bad("--template-file %q is not an absolute path", t.Path)
		}
		if err := childenv.ValidName(t.Env); err != nil {
			return &Error{Code: ExitFailed, Err: fmt.Errorf("%w: %w", ErrBadRequest, err), Hint: "use a POSIX variable name that is not a loader or interpreter hook (LD_*, NODE_OPTIONS, …)"}
		}
		if envs[t.Env] {
			return bad("two secrets or templates mapped to $%s", t.Env)
		}
		envs[t.Env] = true
	}
	return nil
}

// withTemplates reads and parses req's templates into rc and returns req
// with a DeliverTemplate grant for every secret they use. A template that
// is missing, not a regular file or malformed fails here, before the
// passphrase is asked and long before anything runs.
//
// A template inside the vault or a hidden directory (the runtime dir with
// the broker socket) is refused: rendering copies the file's bytes to the
// child, and through the broker that would hand a jailed agent, which
// cannot read those files, a copy of master.key or a sealed secret.
func (rc *runContext) withTemplates(req *Request, vaultDir string) (*Request, error) {
	if len(req.Templates) == 0 {
		return req, nil
	}
	out := *req
	out.Grants = slices.Clone(req.Grants)
	for _, rt := range req.Templates {
		p, err := filepath.EvalSymlinks(rt.Path)
		if err != nil {
			return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("%w: template %s: %w", ErrBadRequest, rt.Path, err), Hint: "name an existing template file with --template-file ENV=PATH"}
		}
		for _, d := range canonicalDirs(append([]string{vaultDir}, req.Hide...)) {
			if p == d || strings.HasPrefix(p, d+"/") {
				return nil, &Error{Code: ExitDenied, Err: fmt.Errorf("%w: template %s is inside %s, which programs never see", ErrDenied, p, d),
					Hint: "keep templates in your project; they hold placeholders, never values"}
			}
		}
		b, ok := rc.data[p]
		var sha string
		if ok {
			// Also a closure file: render the bytes the closure pinned.
			i := slices.IndexFunc(rc.files, func(f policy.File) bool { return f.Path == p })
			sha = rc.files[i].SHA256
		} else {
			var mode uint32
			b, mode, sha, err = readPinned(p)
			if err != nil {
				return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("%w: template %s: %w", ErrBadRequest, p, err), Hint: "a template must be a regular file"}
			}
			rc.data[p], rc.modes[p] = b, mode
		}
		t, err := inject.Parse(b)
		if err != nil {
			return nil, &Error{Code: ExitFailed, Err: fmt.Errorf("%w: template %s: %w", ErrBadRequest, p, err), Hint: inject.Hint}
		}
		rc.templates = append(rc.templates, tmplFile{env: rt.Env, path: p, sha: sha, t: t})
		for _, n := range t.Names() {
			out.Grants = append(out.Grants, policy.Grant{Secret: n, Delivery: policy.DeliverTemplate, Env: rt.Env, Template: p})
		}
	}
	return &out, nil
}

// withTemplateFiles adds the templates to a closure listing (as files the
// rule pins by hash; a template that is also a closure file is there once).
func (rc *runContext) withTemplateFiles(files []policy.File, text bool) []policy.File {
	for _, t := range rc.templates {
		if slices.ContainsFunc(files, func(f policy.File) bool { return f.Path == t.path }) {
			continue
		}
		f := policy.File{Path: t.path, SHA256: t.sha}
		if b := rc.data[t.path]; text && isText(b) && !secretLooking(t.path) {
			f.Text = string(b)
		}
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b policy.File) int { return strings.Compare(a.Path, b.Path) })
	return files
}

// templateFD is the descriptor of the k-th template: after the
// --file-secret ones.
func (rc *runContext) templateFD(pin *exeseal.Pinned, req *Request, k int) int {
	n := 0
	for _, g := range req.Grants {
		if g.Delivery == policy.DeliverFD {
			n++
		}
	}
	return secretFD(pin, rc, n+k)
}

// templateRows tell the human what each template is and which secrets it
// puts into the file the program reads.
func (rc *runContext) templateRows(pin *exeseal.Pinned, req *Request) []approve.Row {
	var rows []approve.Row
	for k, t := range rc.templates {
		uses := strings.Join(t.t.Names(), ", ")
		if uses == "" {
			uses = "(no secrets)"
		}
		fd := rc.templateFD(pin, req, k)
		rows = append(rows,
			approve.Row{Label: "template", Value: fmt.Sprintf("%s  sha256 %s", t.path, approve.ShortHash(t.sha))},
			approve.Row{Label: "template", Value: fmt.Sprintf("  rendered read-only for the program only: fd %d (%s=/dev/fd/%d); uses %s", fd, t.env, fd, uses)})
	}
	return rows
}

// deliverTemplates renders each template into a sealed memfd and adds it
// to cmd's descriptors, after the --file-secret ones (as the screen said).
// The caller closes the returned files once the child holds them.
func (rc *runContext) deliverTemplates(cmd *exec.Cmd, pin *exeseal.Pinned, req *Request, values map[string][]byte) ([]*os.File, []childenv.KV, error) {
	var files []*os.File
	var kv []childenv.KV
	fail := func(err error) ([]*os.File, []childenv.KV, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, &Error{Code: ExitFailed, Err: err}
	}
	for k, t := range rc.templates {
		b, err := t.t.Render(values)
		if err != nil {
			return fail(fmt.Errorf("render template %s: %w", t.path, err))
		}
		f, err := secretFile("template "+t.env, b)
		clear(b)
		if err != nil {
			return fail(err)
		}
		files = append(files, f)
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		fd := 2 + len(cmd.ExtraFiles)
		if want := rc.templateFD(pin, req, k); fd != want {
			return fail(fmt.Errorf("template %s would be on fd %d, approved as fd %d", t.path, fd, want))
		}
		kv = append(kv, childenv.KV{Name: t.env, Value: fmt.Appendf(nil, "/dev/fd/%d", fd)})
	}
	return files, kv, nil
}
