package totp

import (
	"fmt"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QuietZone is the light border around the code, in modules (ISO/IEC
// 18004 asks for 4).
const QuietZone = 4

// QR renders content as a QR code (error correction level M) for a
// terminal: two module rows per text line with the half blocks ▀ ▄ █ and
// space. Light modules and the quiet zone are drawn in the terminal's
// foreground colour and dark modules are left blank, which suits the
// light-on-dark terminals most people use (phone scanners read either
// polarity).
func QR(content string) (string, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	q.DisableBorder = true // our own quiet zone, of a known size
	return renderHalfBlocks(withQuietZone(q.Bitmap(), QuietZone)), nil
}

// withQuietZone surrounds bm (true = dark) with n light modules.
func withQuietZone(bm [][]bool, n int) [][]bool {
	w := 0
	if len(bm) > 0 {
		w = len(bm[0])
	}
	out := make([][]bool, 0, len(bm)+2*n)
	for range n {
		out = append(out, make([]bool, w+2*n))
	}
	for _, row := range bm {
		r := make([]bool, n, w+2*n)
		r = append(r, row...)
		out = append(out, append(r, make([]bool, n)...))
	}
	for range n {
		out = append(out, make([]bool, w+2*n))
	}
	return out
}

// renderHalfBlocks draws rows y and y+1 of bm in one line. A missing last
// row (odd height) counts as light.
func renderHalfBlocks(bm [][]bool) string {
	var b strings.Builder
	for y := 0; y < len(bm); y += 2 {
		for x := range bm[y] {
			topLight := !bm[y][x]
			botLight := y+1 >= len(bm) || !bm[y+1][x]
			switch {
			case topLight && botLight:
				b.WriteString("█")
			case topLight:
				b.WriteString("▀")
			case botLight:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
