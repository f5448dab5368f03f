package totp

import (
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// parseHalfBlocks is the inverse of renderHalfBlocks: text back to the
// module matrix (true = dark), two rows per line.
func parseHalfBlocks(t *testing.T, s string) [][]bool {
	t.Helper()
	var out [][]bool
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var top, bot []bool
		for _, r := range line {
			switch r {
			case '█':
				top, bot = append(top, false), append(bot, false)
			case '▀':
				top, bot = append(top, false), append(bot, true)
			case '▄':
				top, bot = append(top, true), append(bot, false)
			case ' ':
				top, bot = append(top, true), append(bot, true)
			default:
				t.Fatalf("line %d: unexpected rune %q", i, r)
			}
		}
		out = append(out, top, bot)
	}
	return out
}

// The rendered text decodes to exactly the module matrix the QR encoder
// produced, inside a light quiet zone of QuietZone modules.
func TestQRRoundTrip(t *testing.T) {
	for _, content := range []string{
		URI("alice@example.org", NewSeed()),
		URI("someone-with-a-long-name@a-rather-long-host-name.example", NewSeed()),
		"x",
	} {
		text, err := QR(content)
		if err != nil {
			t.Fatal(err)
		}
		q, err := qrcode.New(content, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		q.DisableBorder = true
		want := q.Bitmap()
		got := parseHalfBlocks(t, text)
		n := len(want)
		size := n + 2*QuietZone
		// An odd height gets one extra light row from the last half line.
		if len(got) != size && len(got) != size+1 {
			t.Fatalf("%d rows, want %d", len(got), size)
		}
		for y := range got {
			if len(got[y]) != size {
				t.Fatalf("row %d has %d modules, want %d", y, len(got[y]), size)
			}
			for x := range got[y] {
				inCode := y >= QuietZone && y < QuietZone+n && x >= QuietZone && x < QuietZone+n
				if !inCode {
					if got[y][x] {
						t.Fatalf("quiet zone module (%d,%d) is dark", x, y)
					}
					continue
				}
				if got[y][x] != want[y-QuietZone][x-QuietZone] {
					t.Fatalf("module (%d,%d) differs from the encoder's bitmap", x-QuietZone, y-QuietZone)
				}
			}
		}
		// Finder patterns sit in three corners: a 7x7 dark ring.
		for _, c := range [][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
			for i := range 7 {
				if !want[c[1]][c[0]+i] || !want[c[1]+6][c[0]+i] || !want[c[1]+i][c[0]] || !want[c[1]+i][c[0]+6] {
					t.Fatalf("no finder pattern at %v", c)
				}
			}
		}
	}
}

func TestRenderHalfBlocks(t *testing.T) {
	bm := [][]bool{{false, true, false, true}, {false, false, true, true}, {true, false, false, true}}
	got := renderHalfBlocks(bm)
	want := "█▄▀ \n▄██▄\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
