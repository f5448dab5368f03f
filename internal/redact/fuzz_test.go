package redact

import (
	"bytes"
	"testing"
)

// FuzzWriter builds two secrets and an output stream from the fuzzer's
// bytes, writes the stream in pieces sized by the fuzzer, and compares the
// result with the naive reference scrubber.
//
// ops drives the stream: each op byte either appends filler (low bit 0, the
// next op>>1 bytes of filler; 0xfe: 6000 bytes) or an encoding of a secret
// (low bit 1; bit 1 picks the secret, the rest the encoding; ops >= 0xc0
// append only half of it, a near miss that must pass through). The same
// bytes size the writes (ops >= 0xf0: 4-16 KiB, enough for the fast paths).
//
// Seed corpus (testdata/fuzz/FuzzWriter), one file per idea:
//   - plain: no secret occurs, text passes through
//   - raw_split: the raw value written a byte at a time
//   - overlap: "aaaaaa"/"aaaaaab" in a run of a's, where leftmost-longest
//     and the restart after a match decide the output
//   - prefix_pair: one secret a prefix of the other
//   - encodings: every encoding of a value with +, /, quotes and invalid
//     UTF-8, back to back
//   - near_miss: truncated occurrences only
//   - same_value: both secrets equal, the first listed owns every hit
//   - short: values under MinLen, nothing replaced
//   - long_stretch: 6000-byte filler runs written 8 and 16 KiB at a time,
//     secrets between them, so the filtered and multi-lane scans run
func FuzzWriter(f *testing.F) {
	f.Add([]byte("hunter2-pass"), []byte("0123456789"), []byte("some log line\n"), []byte{0x01, 0x10, 0x07, 0x00})
	f.Fuzz(func(t *testing.T, v1, v2, filler, ops []byte) {
		if len(v1) > 64 || len(v2) > 64 || len(filler) > 1024 || len(ops) > 128 {
			return
		}
		secrets := []Secret{{Name: "ONE", Value: v1}, {Name: "TWO", Value: v2}}
		m, err := NewMatcher(secrets, mainOnly)
		if err != nil {
			t.Fatalf("NewMatcher: %v", err)
		}
		in, sizes := fuzzStream(secrets, filler, ops)
		want, wantHits := refScrubFast(secrets, in)
		got := scrubSplit(t, m, in, sizes)
		if !bytes.Equal(got, want) {
			t.Fatalf("writes %v: output differs from reference\n got %q\nwant %q", sizes, got, want)
		}
		if s := survivors(secrets, got); len(s) > 0 {
			t.Fatalf("patterns of %v survived", s)
		}
		if h := m.Hits(); !mapsEqual(h, wantHits) {
			t.Fatalf("hits %v, want %v", h, wantHits)
		}
	})
}

func fuzzStream(secrets []Secret, filler, ops []byte) (in []byte, sizes []int) {
	in = append(in, filler...)
	fi := 0
	for _, op := range ops {
		size := int(op%23) + 1
		if op >= 0xf0 {
			// Large writes reach the multi-lane and filtered paths.
			size = 4096 * int(op&3+1)
		}
		sizes = append(sizes, size)
		if op == 0xfe {
			// A long stretch of filler, for the same reason.
			for range 6000 {
				if len(filler) == 0 {
					break
				}
				in = append(in, filler[fi%len(filler)])
				fi++
			}
			continue
		}
		if op&1 == 0 {
			for range op >> 1 {
				if len(filler) == 0 {
					break
				}
				in = append(in, filler[fi%len(filler)])
				fi++
			}
			continue
		}
		encs := encodings(secrets[op>>1&1].Value)
		if len(encs) == 0 { // an empty value has no forms to print
			continue
		}
		e := encs[int(op>>2)%len(encs)]
		if op >= 0xc0 {
			e = e[:len(e)/2]
		}
		in = append(in, e...)
	}
	return in, sizes
}
