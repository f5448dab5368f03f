package vault

import (
	"errors"
	"testing"
)

func TestParseRotation(t *testing.T) {
	for s, want := range map[string]uint32{"30d": 30, "12w": 84, "never": RotateNever, "OFF": RotateNever, "default": 0, "36500d": 36500} {
		if got, err := ParseRotation(s); err != nil || got != want {
			t.Errorf("ParseRotation(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for s, number := range map[string]bool{"30": false, "d": false, "1y": false, "0d": true, "036d": true, "36501d": true, "5215w": true, "-3d": true} {
		var re *RotationError
		if _, err := ParseRotation(s); !errors.As(err, &re) || re.Number != number {
			t.Errorf("ParseRotation(%q) = %v; want a RotationError (Number %v)", s, err, number)
		}
	}
}

func TestRotationDays(t *testing.T) {
	for days, want := range map[uint32]int64{0: DefaultRotateDays, 30: 30, RotateNever: -1} {
		if got := (Meta{RotateDays: days}).RotationDays(); got != want {
			t.Errorf("RotationDays of RotateDays %d = %d, want %d", days, got, want)
		}
	}
}
