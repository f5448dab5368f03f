package wire

import (
	"errors"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/vault"
)

// ListVault is the secret listing both the broker and the direct path
// answer: every secret's metadata (never its value) joined with its last
// use from the audit log. Last use is informational: when the log cannot
// be read, the listing still stands with every use unknown.
func ListVault(v *vault.Vault) ([]ListEntry, error) {
	ents, err := v.List()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name
	}
	uses, complete, err := audit.New(v.Dir()).LastUse(names)
	if err != nil {
		uses, complete = nil, false
	}
	out := make([]ListEntry, 0, len(ents))
	for _, e := range ents {
		le := ListEntry{Name: e.Name}
		if e.Err != nil {
			le.Error = e.Err.Error()
		} else {
			le.Created, le.Updated, le.Generation = e.Created, e.Updated, e.Generation
			le.RotateDays, le.Provider, le.Weak, le.LastUsed = e.RotateDays, e.Provider, e.Weak, uses[e.Name]
			le.UseUnknown = le.LastUsed.IsZero() && !complete
		}
		out = append(out, le)
	}
	return out, nil
}

// Entry is e as the vault's entry it was made from: its metadata, and its
// error (as text) when the header could not be read.
func (e ListEntry) Entry() vault.Entry {
	ve := vault.Entry{Meta: vault.Meta{
		Name: e.Name, Created: e.Created, Updated: e.Updated, Generation: e.Generation,
		RotateDays: e.RotateDays, Provider: e.Provider, Weak: e.Weak,
	}}
	if e.Error != "" {
		ve.Err = errors.New(e.Error)
	}
	return ve
}
