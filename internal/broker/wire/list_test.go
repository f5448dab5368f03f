package wire

import (
	"testing"
	"time"
)

// Entry gives back the vault entry a listing row was made from.
func TestListEntryEntry(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	e := ListEntry{Name: "A", Created: now, Updated: now, Generation: 3, RotateDays: 30, Provider: "github", Weak: true}
	ve := e.Entry()
	if ve.Err != nil || ve.Name != "A" || !ve.Created.Equal(now) || ve.Generation != 3 || ve.RotateDays != 30 || ve.Provider != "github" || !ve.Weak {
		t.Errorf("Entry() = %+v", ve)
	}
	if ve := (ListEntry{Name: "B", Error: "bad header"}).Entry(); ve.Err == nil || ve.Err.Error() != "bad header" {
		t.Errorf("Entry() of a failed row: %v", ve.Err)
	}
}
