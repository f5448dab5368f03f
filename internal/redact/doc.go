// Package redact scrubs secret values out of a child process's output
// before it reaches a terminal, a log or an agent.
//
// A [Matcher] is built once per run from the secrets handed to the child.
// It expands every value into the encodings a program is likely to print
// (raw; base64 in both alphabets with and without padding and at the three
// alignments a value can take inside a longer blob; hex in both cases; URL
// and percent-encoding; JSON, Python, Go, shell and C quoting;
// quoted-printable; the text columns of xxd, hexdump -C and od -c) and
// compiles them into Aho–Corasick automata stored as dense DFAs: one for
// the common forms, and gated ones for the forms that only occur after a
// '\', a '%' or a line start, or around a quoted-printable soft line
// break (TestQuotedPrintableSoftBreaks). An automaton whose table would be
// too large is split by secrets into several stages
// (TestManyShortSecretsSplitIntoStages). Line breaks ('\n', '\r') are walked
// through as if absent, so every form is also caught wrapped at any column
// (TestRealToolsScrubbed runs the real tools, split at every write
// boundary). Values of [LargeValue] bytes or more are found by their pieces
// instead (pieces.go): whole, and any fragment of [FragmentMin] bytes or
// more (TestLargeValueWholeAndFragments), with per-stream memory that does
// not grow with the value (TestLargeValueStreamMemoryBounded). Each output
// stream gets its own [Writer] from [Matcher.NewWriter]; all share the
// automata and the hit counters.
//
// Why these properties matter:
//
//   - A secret split across two read(2) calls must still be caught, or an
//     approved program that leaks could slip the value past the scrubber by
//     writing it one byte at a time. The Writer therefore scans the stream
//     as a whole, whatever the write boundaries.
//   - Interactive programs (prompts, progress bars) must not stall waiting
//     for a newline, so a Writer only holds back the bytes that could still
//     be the beginning of a secret: at most [Matcher.MaxDelay] bytes, and
//     none at all when the tail of the stream cannot start a pattern.
//   - Cost must not grow with secrets × encodings, or the scrubber becomes
//     the bottleneck of every build log: one pass, at most one table lookup
//     per byte whatever the number of patterns, eight independent walks
//     interleaved to hide memory latency, and a sampling q-gram filter that
//     clears long stretches of ordinary output while looking at only a few
//     bytes in each window of the shortest pattern's length.
//
// Overlapping occurrences are resolved leftmost-longest: among the
// occurrences starting earliest the longest one is replaced by
// "[envseal:NAME]", and scanning restarts right after it.
//
// Values shorter than [MinLen] bytes are not scrubbed: they would match
// ordinary output everywhere and their replacement would itself give the
// value away. [TooShort] lists them so the approval text can warn the human.
//
// Limits (each is a form a program would have to print on purpose or by
// rare accident): hex at an odd nibble offset; JSON mixing literal
// characters and \uXXXX escapes other than the common encoders do;
// quoted-printable forms longer than a line (75 characters) broken by
// soft line breaks (one break in a shorter form is caught,
// TestQuotedPrintableSoftBreaks); fragments under
// FragmentMin bytes of a large value, and a large value's escaped, percent,
// quoted-printable and dump forms; a value printed with separators,
// reversed or compressed. Redaction limits an approved program's leaks; it
// does not stop a program that wants to leak.
package redact
