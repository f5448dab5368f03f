package vault

import (
	"fmt"
	"strings"
)

// MaxRotateDays is the longest rotation period accepted (100 years).
const MaxRotateDays = 36500

// RotationError is a rotation period that is not understood. Number: it
// has the form of one (a suffix d or w) but not a whole number of days
// from 1 to MaxRotateDays.
type RotationError struct {
	Period string
	Number bool
}

func (e *RotationError) Error() string {
	return fmt.Sprintf("rotation period %q is not understood", e.Period)
}

// ParseRotation parses a rotation period as Meta.RotateDays: "30d",
// "12w", "never" (or "off": RotateNever) or "default" (0, meaning
// DefaultRotateDays).
func ParseRotation(s string) (uint32, error) {
	switch strings.ToLower(s) {
	case "never", "off":
		return RotateNever, nil
	case "default":
		return 0, nil
	}
	mult := uint64(0)
	switch {
	case strings.HasSuffix(s, "d"):
		mult = 1
	case strings.HasSuffix(s, "w"):
		mult = 7
	}
	if mult == 0 || len(s) < 2 {
		return 0, &RotationError{Period: s}
	}
	var n uint64
	if _, err := fmt.Sscanf(s[:len(s)-1], "%d", &n); err != nil || n == 0 || n*mult > MaxRotateDays || fmt.Sprint(n) != s[:len(s)-1] {
		return 0, &RotationError{Period: s, Number: true}
	}
	return uint32(n * mult), nil
}
