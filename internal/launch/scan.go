package launch

import (
	"fmt"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/redact"
)

// ScanResult is where stored values occur in some content: names and
// offsets, never a value.
type ScanResult struct {
	Hits    []redact.ValueHit
	Total   int // hits found (Hits holds at most redact.MaxValueHits)
	Secrets int // secrets checked
	// Unreadable are the secrets that could not be decrypted and so were
	// not checked (Err is nil when the broker only names them).
	Unreadable []Unreadable
}

// Unreadable is a secret a scan could not check.
type Unreadable struct {
	Name string
	Err  error
}

// ScanValues decrypts every stored secret (the key from Unlock) and
// reports where their values, raw or encoded, occur in content (the git
// hook's check of a commit). A value_scan event is audited with the size
// and hit count; requesterPID is recorded in it.
func (c *Checkpoint) ScanValues(content []byte, requesterPID int) (*ScanResult, error) {
	key, err := c.Unlock()
	if err != nil {
		return nil, fmt.Errorf("unlock: %w", err)
	}
	defer key.Wipe()
	ents, err := c.Vault.List()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	res := &ScanResult{Hits: []redact.ValueHit{}}
	var secrets []redact.Secret
	defer func() {
		for _, sec := range secrets {
			clear(sec.Value)
		}
	}()
	for _, e := range ents {
		if e.Err != nil {
			res.Unreadable = append(res.Unreadable, Unreadable{Name: e.Name, Err: e.Err})
			continue
		}
		v, _, err := c.Vault.Get(key, e.Name)
		if err != nil {
			res.Unreadable = append(res.Unreadable, Unreadable{Name: e.Name, Err: err})
			continue
		}
		secrets = append(secrets, redact.Secret{Name: e.Name, Value: v})
	}
	res.Secrets = len(secrets)
	hits, total, err := redact.FindValues(secrets, content)
	if err != nil {
		return nil, fmt.Errorf("value scan: %w", err)
	}
	if hits != nil {
		res.Hits = hits
	}
	res.Total = total
	c.audit(key, audit.ValueScan, map[string]any{"bytes": int64(len(content)), "hits": total, "secrets": res.Secrets, "pid": requesterPID})
	return res, nil
}

// Readable decrypts the secret name (the key from Unlock) and throws the
// value away: nil when the stored file is authentic and opens under this
// vault's key, else why not (envseal demo shows a moved and a tampered
// file refused).
func (c *Checkpoint) Readable(name string) error {
	key, err := c.Unlock()
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	defer key.Wipe()
	v, _, err := c.Vault.Get(key, name)
	clear(v)
	return err
}
