package detect

import (
	"bytes"
	"math"
	"strconv"
)

// WeakBits is the estimate under which a value is called low-entropy.
const WeakBits = 64

// EstimateBits estimates the entropy of value in bits, generously for a
// random string and harshly for a repeated or patterned one: the character
// pool the value draws from (lower, upper, digits, symbols, other bytes)
// gives bits per character, scaled by how evenly the value uses its
// characters (normalised Shannon entropy), over the length of its shortest
// repeating unit, not counting characters that continue a run. It is a screen for obvious mistakes, not a proof of
// strength.
func EstimateBits(value []byte) float64 {
	v := value[:period(value)]
	if len(v) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range v {
		counts[c]++
	}
	cl := classesOf(v)
	pool := 0
	if isHex(v) {
		pool = 16 // a hex string draws from 16 symbols, not 36
	}
	for _, x := range []struct {
		on bool
		n  int
	}{{cl.lower, 26}, {cl.upper, 26}, {cl.digit, 10}, {cl.symbol, 33}, {cl.other, 128}} {
		if x.on && !isHex(v) {
			pool += x.n
		}
	}
	var h float64
	n := float64(len(v))
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	maxH := math.Log2(math.Min(n, float64(pool)))
	even := 1.0
	if maxH > 0 {
		even = math.Min(1, h/maxH)
	} else {
		even = 0
	}
	// A character that extends a run (the same as, or one after or before,
	// the previous one, twice in a row: "aaaa", "1234", "fedc") adds almost
	// nothing. Random text has such triples rarely.
	seq := 0
	for i := 2; i < len(v); i++ {
		d1, d2 := int(v[i-1])-int(v[i-2]), int(v[i])-int(v[i-1])
		if d1 >= -1 && d1 <= 1 && d2 >= -1 && d2 <= 1 {
			seq++
		}
	}
	return (n - float64(seq)) * math.Log2(float64(pool)) * even
}

// period is the length of the shortest unit value repeats ("abcabcabc" → 3).
func period(v []byte) int {
	for p := 1; p <= len(v)/2; p++ {
		if len(v)%p != 0 {
			continue
		}
		if bytes.Equal(v[p:], v[:len(v)-p]) {
			return p
		}
	}
	return len(v)
}

var placeholderRes = []*lazyRE{
	lazy(`(?i)^(change[-_ ]?me|changeit|placeholder|example|dummy|sample|test(ing)?|secret|password|passw0rd|pass|letmein|admin|root|todo|fixme|tbd|none|null|nil|undefined|empty|redacted|foo|bar|foobar|x+|\*+|\.+|-+|0+|1234(5(6(7(8(90?)?)?)?)?)?|abc(123|def)?|qwerty(123)?)$`),
	lazy(`(?i)^(your|my|insert|enter|put|add)[-_ ]?.*(key|token|secret|password|pass|id|here)$`),
	lazy(`(?i)^.*[-_ ]here$`),
	lazy(`^(<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%[A-Za-z_]+%|\$[A-Z_][A-Z0-9_]*)$`),
	lazy(`(?i)^(sk|pk|ghp|xoxb|glpat|akia)?[-_]?(x{4,}|\*{4,}|\.{3,}|0{8,})$`),
}

// Weakness says why value looks unfit to be a secret: "" when it does not.
// It never includes the value.
func Weakness(value []byte) string {
	v := bytes.TrimSpace(value)
	if Placeholder(v) {
		return "looks like a placeholder, not a real credential"
	}
	if bits := EstimateBits(v); bits < WeakBits {
		return "has low entropy (about " + strconv.Itoa(int(bits)) + " bits, under " + strconv.Itoa(WeakBits) + ")"
	}
	return ""
}

// Placeholder reports whether value looks like a stand-in for a secret
// (changeme, your-api-key-here, <token>, ${VAR}, xxxx…) rather than one.
func Placeholder(value []byte) bool {
	v := bytes.TrimSpace(value)
	for _, re := range placeholderRes {
		if re.Match(v) {
			return true
		}
	}
	return false
}

// isHex: only 0-9a-f, or only 0-9A-F, with at least one letter.
func isHex(v []byte) bool {
	lower, upper, letter := true, true, false
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f':
			upper, letter = false, true
		case c >= 'A' && c <= 'F':
			lower, letter = false, true
		default:
			return false
		}
	}
	return letter && (lower || upper)
}

// classes are the kinds of byte a value uses.
type classes struct {
	lower, upper, digit bool
	symbol              bool // printable ASCII other than letters, digits and space
	other               bool // space, control bytes and bytes above 0x7e
	blank               bool // space or a control byte below 0x20 (also other)
}

// classesOf says which kinds of byte v uses.
func classesOf(v []byte) classes {
	var cl classes
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z':
			cl.lower = true
		case c >= 'A' && c <= 'Z':
			cl.upper = true
		case c >= '0' && c <= '9':
			cl.digit = true
		case c > ' ' && c < 0x7f:
			cl.symbol = true
		default:
			cl.other = true
			if c <= ' ' {
				cl.blank = true
			}
		}
	}
	return cl
}
