package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/vault"
)

func dialT(t *testing.T, sock string) *client.Conn {
	t.Helper()
	c, err := client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A list through the broker gives names and metadata, never values.
func TestListThroughBroker(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	les, err := dialT(t, tb.sock).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(les) != 1 || les[0].Name != "tok" || les[0].Generation != 1 || les[0].Created.IsZero() {
		t.Fatalf("list = %+v", les)
	}
}

// A store request: the human accepts (with the code, here a fake
// approver) and types the value on the broker's channel; the value reaches
// the vault and never the client. Declined, existing and invalid names are
// refused.
func TestStoreRequest(t *testing.T) {
	typed := []byte("typed-at-the-broker-123")
	asked := 0
	tb := startBroker(t, approve.AllowOnce, func(c *Config) {
		c.ReadValue = func(prompt string) ([]byte, error) {
			asked++
			if !strings.Contains(prompt, "NEW_KEY") {
				t.Errorf("prompt %q does not name the secret", prompt)
			}
			return bytes.Clone(typed), nil
		}
	})
	res, err := dialT(t, tb.sock).Store("NEW_KEY", "deploy the staging site")
	if err != nil || !res.Stored {
		t.Fatalf("store = %+v, %v", res, err)
	}
	// The human saw the store template: the name and purpose, no program
	// rows, no "allow always".
	if r := tb.ap.last.Load(); r == nil || r.Store == nil || r.Store.Name != "NEW_KEY" || r.Store.Purpose != "deploy the staging site" {
		t.Errorf("store request shown as %+v, want the store template", r)
	} else if txt := r.Text(); strings.Contains(txt, "sha256") || strings.Contains(txt, "not absolute") {
		t.Errorf("store request screen shows run rows:\n%s", txt)
	}
	v, err := vault.Open(tb.srv.cfg.Vault.Dir())
	if err != nil {
		t.Fatal(err)
	}
	k, err := v.Unlock([]byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := v.Get(k, "NEW_KEY")
	if err != nil || !bytes.Equal(got, typed) {
		t.Fatalf("NEW_KEY not stored as typed (err %v)", err)
	}

	// An existing name is refused without asking the human.
	res, err = dialT(t, tb.sock).Store("NEW_KEY", "again")
	if err != nil || res.Stored || !strings.Contains(res.Reason, "already exists") {
		t.Fatalf("store over an existing name = %+v, %v", res, err)
	}
	if asked != 1 {
		t.Fatalf("the human was asked %d times, want 1", asked)
	}

	// The human declines: nothing stored.
	tb.ap.d.Store(int64(approve.Deny))
	res, err = dialT(t, tb.sock).Store("OTHER", "x")
	if err != nil || res.Stored || res.Reason != "declined" {
		t.Fatalf("declined store = %+v, %v", res, err)
	}
	if _, _, err := v.Get(k, "OTHER"); err == nil {
		t.Fatal("a declined secret was stored")
	}

	// An invalid name never reaches the human.
	if _, err := dialT(t, tb.sock).Store("../x", ""); err == nil {
		t.Fatal("invalid name accepted")
	}
}

// The rules, as an agent may see them, come from the unlocked broker; a
// locked broker refuses instead of asking the human.
func TestPolicyThroughBroker(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	v := tb.srv.cfg.Vault
	k, err := v.Unlock([]byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error {
		p.Put(policy.Rule{ID: "r00000001", Binary: "/usr/bin/curl", SHA256: "aa", Argv: []string{"-s"},
			Grants: []policy.Grant{{Secret: "tok", Delivery: policy.DeliverEnv, Env: "T"}}, Sandbox: "standard"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := dialT(t, tb.sock).Policy()
	if err != nil || len(rules) != 1 || rules[0].ID != "r00000001" || rules[0].Grants[0].Secret != "tok" {
		t.Fatalf("policy = %+v, %v", rules, err)
	}
	tb.srv.Lock()
	before := tb.unlock.Load()
	if _, err := dialT(t, tb.sock).Policy(); err == nil {
		t.Fatal("a locked broker handed out the rules")
	}
	if tb.unlock.Load() != before {
		t.Fatal("a policy request made the broker ask for the passphrase")
	}
}
