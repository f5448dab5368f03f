#!/usr/bin/env bash
# Scrubbing benchmarks for docs/BENCHMARKS.md (issue 17):
#   1. go test -bench in internal/redact: scrubber throughput with 1, 10 and
#      100 secrets next to a plain copy, and with one large (64 KiB, 1 MiB)
#      value, with its table memory; BenchmarkScrubForms is the end-to-end
#      data below in memory; cpu-ns/op is the CPU time an op took (on a
#      shared machine it moves less than the wall time ns/op);
#   2. end to end, in one hyperfine run: `cat FILE | cat > /dev/null` next to
#      `envseal run -- cat < FILE > /dev/null` with 10 secrets (output that
#      holds each of them in every common encoding, wrapped forms included,
#      every MiB), and with one 64 KiB PEM-style secret (fragments of it
#      every MiB); peak memory of each (/usr/bin/time -f %M).
# Needs hyperfine, tmux, GNU time and python3 (installed from Debian if
# missing). Makes its own throwaway vault; approves each rule by typing the
# code into a tmux pane, exactly as a human would.
#
#   SIZE_MIB=1024 RUNS=5 bash bench/scrub.sh
#
# BASE=<git revision> also builds that revision's envseal and adds its two
# runs to the same hyperfine run (an A/B under the same load).
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need tmux tmux
need python3 python3
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

# A rule pins the run's environment (docs/THREAT_MODEL.md): measure in the
# one the tmux pane that approved it had.
export TERM=tmux-256color LANG=C.UTF-8
work="$(mktemp -d)"
sock="envseal-scrub-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/envseal" ./cmd/envseal
es="$work/envseal"
if [ -n "${BASE:-}" ]; then
	mkdir "$work/base"
	git archive "$BASE" | tar -x -C "$work/base"
	(cd "$work/base" && CGO_ENABLED=0 go build -o "$work/envseal-base" ./cmd/envseal)
fi
export ENVSEAL_HOME="$work/vault"
# A runtime dir of our own: never the user's broker in /run/user/UID.
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
printf 'bench passphrase\n' > "$work/pass"
"$es" init --passphrase-fd 3 3<"$work/pass" 2>/dev/null
size_mib="${SIZE_MIB:-1024}"

# Ten secrets, a 64 KiB key, and one MiB of log-like output holding every
# secret in each encoding below (and three fragments of the key); the
# file is that MiB SIZE_MIB times.
python3 - "$work" <<'EOF'
import base64, json, os, quopri, random, sys
w = sys.argv[1]
r = random.Random(17)
def wrap(s, n): return "\n".join(s[i:i+n] for i in range(0, len(s), n))
vals = [base64.b64encode(bytes(r.getrandbits(8) for _ in range(48))).decode().encode() for _ in range(10)]
for i, v in enumerate(vals):
    open(f"{w}/S{i}", "wb").write(v)
body = wrap(base64.b64encode(bytes(r.getrandbits(8) for _ in range(48 * 1024))).decode(), 64)
key = ("-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n").encode()
open(f"{w}/KEY", "wb").write(key)
forms = []
for v in vals:
    forms += [
        v,
        wrap(base64.b64encode(v).decode(), 76).encode(),                   # base64
        base64.urlsafe_b64encode(v).rstrip(b"="),                          # base64url, unpadded
        wrap(v.hex(), 60).encode(),                                       # xxd -p
        v.hex().upper().encode(),
        json.dumps(v.decode()).replace("/", "\\/").encode(),              # PHP json_encode
        "".join("\\u%04x" % c for c in v).encode(),                       # \u everything
        "".join("%%%02X" % c for c in v).encode(),                        # percent, every byte
        "".join("\\x%02x" % c for c in v).encode(),                       # C \xNN
        quopri.encodestring(v + b"="),                                    # quoted-printable
        b"Authorization: Basic " + base64.b64encode(b"deploy:" + v),
    ]
lines = key.split(b"\n")
forms += [lines[100], key[5000:5400], base64.b64encode(key[9000:9300])]
words = ["INFO", "WARN", "request", "handled", "in", "ms", "user", "id=", "status=200", "GET", "/api/v1/items", "the", "build", "step", "ok"]
out, fi = bytearray(), 0
while len(out) < 1 << 20:
    line = " ".join(r.choice(words) if r.random() < 0.7 else "%x" % r.getrandbits(64) for _ in range(r.randint(4, 14)))
    out += line.encode() + b"\n"
    if r.random() < 0.01 and fi < len(forms):
        out += b"leak: " + forms[fi] + b"\n"
        fi += 1
assert fi == len(forms), "the MiB is too small for every form"
open(f"{w}/mib", "wb").write(bytes(out[:1 << 20]))
EOF
for i in $(seq 0 9); do
	"$es" store "S$i" --stdin --raw --passphrase-fd 3 3<"$work/pass" <"$work/S$i" 2>/dev/null
done
"$es" store KEY --stdin --raw --passphrase-fd 3 3<"$work/pass" <"$work/KEY" 2>/dev/null
rm -f "$work"/S? "$work/KEY"
for _ in $(seq "$size_mib"); do cat "$work/mib"; done > "$work/big"
[ "$(stat -c %s "$work/big")" -eq $((size_mib * 1024 * 1024)) ]

ten="--secret S0 --secret S1 --secret S2 --secret S3 --secret S4 --secret S5 --secret S6 --secret S7 --secret S8 --secret S9"
# The file comes in on stdin: a run pins the files its argv names, up to
# 64 MiB each, so `-- cat BIG` would be refused.
run10="$es run --passphrase-fd 3 $ten -- cat 3<$work/pass <$work/big"
runkey="$es run --passphrase-fd 3 --secret KEY -- cat 3<$work/pass <$work/big"
base10="" basekey=""
if [ -n "${BASE:-}" ]; then
	base10="${run10/#$es /$work/envseal-base }"
	basekey="${runkey/#$es /$work/envseal-base }"
fi

# The measurement runs in a tmux pane: its first run of each command asks
# for approval there and the code is typed in as a human would ("allow
# always"); the later runs, in the same pane and so the same context, are
# covered by the rule.
cat > "$work/measure.sh" <<MEASURE
set -euo pipefail
sh -c '$run10 > /dev/null'
sh -c '$runkey > /dev/null'
MEASURE
if [ -n "${BASE:-}" ]; then
	printf '%s\n' "sh -c '$base10 > /dev/null'" "sh -c '$basekey > /dev/null'" >> "$work/measure.sh"
fi
if [ -z "${NO_GOBENCH:-}" ]; then
echo "## go test -bench (internal/redact)"
echo
echo '```'
go test -run '^$' -bench 'BenchmarkPlainCopy|BenchmarkScrub$|BenchmarkScrub/|BenchmarkScrubMem|BenchmarkScrubLarge|BenchmarkScrubForms' -benchtime 10x -count 1 ./internal/redact | grep -E '^Benchmark'
echo '```'
echo
fi
cat >> "$work/measure.sh" <<'MEASURE'
echo "## end to end, ${size_mib} MiB (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
# What the runs print, once: every planted form replaced (markers per MiB)
# and no secret left; counts only, never a value.
n10="$(sh -c "$run10" 2>"$work/err10" | grep -o '\[envseal:S[0-9]\]' | wc -l)"
nkey="$(sh -c "$runkey" 2>/dev/null | grep -o '\[envseal:KEY\]' | wc -l)"
echo "markers per MiB of output: 10 secrets $((n10 / size_mib)) (110 forms planted), 64 KiB key $((nkey / size_mib)) (3 fragments planted)"
echo
base=()
if [ -n "$base10" ]; then
	base=("sh -c '$base10 > /dev/null'" "sh -c '$basekey > /dev/null'")
fi
hyperfine -N -w 1 -r "${RUNS:-5}" --export-markdown "$work/e2e.md" \
	"sh -c 'cat $work/big | cat > /dev/null'" \
	"sh -c '$run10 > /dev/null'" \
	"sh -c '$runkey > /dev/null'" \
	"${base[@]}" \
	"sh -c '$es policy list --passphrase-fd 3 3<$work/pass > /dev/null'" >/dev/null
sed "s|$work|\$WORK|g; s|--secret S0 .*--secret S9|--secret S0 … --secret S9|" "$work/e2e.md"
echo
rss() { /usr/bin/time -o "$work/rss" -f '%M' sh -c "$1 > /dev/null 2>&1"; cat "$work/rss"; }
echo "peak RSS (KiB, /usr/bin/time -f %M of the whole pipeline's largest process): cat|cat $(rss "cat $work/big | cat"), 10 secrets $(rss "$run10"), 64 KiB key $(rss "$runkey")"
echo
echo "(the \`policy list\` row is the Argon2id unlock every direct-mode \`envseal run\` above includes)"
MEASURE
tmux -L "$sock" new-session -d -s measure -x 220 -y 60 \
	"work=$work es=$es size_mib=$size_mib RUNS=${RUNS:-5} run10='$run10' runkey='$runkey' base10='$base10' basekey='$basekey' bash $work/measure.sh > $work/results 2> $work/measure.err; touch $work/done; sleep 5"
answered=""
for _ in $(seq 9000); do
	[ -e "$work/done" ] && break
	code="$(tmux -L "$sock" capture-pane -p -t measure | awk '/allow once/ {c=$1} END {print c}')"
	if [ -n "$code" ] && ! grep -qw "$code" <<<"$answered"; then
		tmux -L "$sock" send-keys -t measure "$code!" Enter
		answered="$answered $code"
	fi
	sleep 0.2
done
[ -e "$work/done" ] || { echo "the measurement did not finish"; exit 1; }
cat "$work/results"
# The runs' leak warnings are expected; anything else is shown.
if grep -qv '^envseal: warning: the program printed' "$work/measure.err"; then
	echo "measure errors:"
	grep -v '^envseal: warning: the program printed' "$work/measure.err" | head -5
fi
true
