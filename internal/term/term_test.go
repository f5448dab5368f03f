package term

import (
	"errors"
	"os"
	"testing"
)

// TestReadFD: what a script writes on the descriptor is read once, up to
// the limit, and the descriptor is closed afterwards.
func TestReadFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("0123456789"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fd := int(r.Fd())
	b, err := ReadFD(fd, 4)
	if err != nil || string(b) != "0123" {
		t.Fatalf("ReadFD(limit 4) = %q, %v; want the first 4 bytes", b, err)
	}
	// Closing r again fails: ReadFD closed its descriptor.
	if err := r.Close(); err == nil {
		t.Fatal("the descriptor is still open after ReadFD")
	}
	if _, err := ReadFD(-1, 4); !errors.Is(err, ErrBadFD) {
		t.Fatalf("ReadFD(-1) = %v, want ErrBadFD", err)
	}
}
