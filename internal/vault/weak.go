package vault

import (
	"fmt"

	"github.com/envseal/envseal/internal/detect"
)

// MinPassphraseBits is the estimate under which init and passwd warn. The
// master key file can be copied and attacked offline; at 50 bits and one
// Argon2id guess per 0.1 s per core, a 1,000-core rig needs over a
// thousand years on average. The estimator (detect.EstimateBits) only
// screens out obvious mistakes ("abc", "password1", "aaaaaaaa").
const MinPassphraseBits = 50

// PassphraseWeakness says why pass is a poor vault passphrase, "" if it is
// not. It never includes the passphrase or a figure derived from it beyond
// "under the bar", so stderr (which an agent may read) learns nothing.
func PassphraseWeakness(pass []byte) string {
	// Placeholder patterns are for values ("…-here" and so on); only a
	// short passphrase is judged by them, so "… my words here" passes.
	if len(pass) < 16 && detect.Placeholder(pass) {
		return "is a common word or placeholder"
	}
	if detect.EstimateBits(pass) < MinPassphraseBits {
		return fmt.Sprintf("is weak (estimated under %d bits)", MinPassphraseBits)
	}
	return ""
}
