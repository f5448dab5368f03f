package seal

import "testing"

// A clone must survive the original's Wipe and vice versa: the broker
// hands clones to runs that wipe them.
func TestKeyCloneIsIndependent(t *testing.T) {
	k := NewKey()
	c := k.Clone()
	if !c.Equal(k) {
		t.Fatal("clone differs from the original")
	}
	c.Wipe()
	if k.Equal(c) {
		t.Fatal("wiping the clone wiped the original")
	}
	d := k.Clone()
	k.Wipe()
	if d.Equal(k) {
		t.Fatal("wiping the original wiped a clone")
	}
	if (Key{}).Clone().Valid() {
		t.Fatal("clone of the zero Key is valid")
	}
}
