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
#      every MiB), each in the two modes:
#        broker  through an unlocked `envseal broker` (the mode agents use):
#                the child runs contained, the broker scrubs its output and
#                writes it to the client's own stdout, which the client
#                hands over with the request (no copy through the client);
#                no unlock per run;
#        direct  `envseal run --direct --passphrase-fd 3`: every run unlocks
#                the vault (Argon2id), which the `policy list` row measures
#                alone in the same hyperfine run;
#      and the ratio of each to `cat | cat`, with the direct rows' unlock
#      taken off as well; peak memory: /usr/bin/time -f %M of a direct run,
#      and of a broker run the client's and the broker's (VmHWM, reset
#      through /proc/PID/clear_refs before the run, so the broker's own
#      unlock is not in it).
# Needs hyperfine, tmux, GNU time and python3 (installed from Debian if
# missing). Makes its own throwaway vault; approves each rule by typing the
# code into a tmux pane (the direct run's, or the broker's), exactly as a
# human would.
#
#   SIZE_MIB=1024 RUNS=5 bash bench/scrub.sh
#
# BASE=<git revision> also builds that revision's envseal, starts a second
# broker from it (a runtime dir of its own, the same vault) and adds its
# four runs to the same hyperfine run (an A/B under the same load).
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
d10="$es run --direct --passphrase-fd 3 $ten -- cat 3<$work/pass <$work/big"
dkey="$es run --direct --passphrase-fd 3 --secret KEY -- cat 3<$work/pass <$work/big"
b10="$es run $ten -- cat <$work/big"
bkey="$es run --secret KEY -- cat <$work/big"
# The unlock alone: a runtime dir with no broker in it, so `policy list`
# opens the vault itself, as a direct run does.
mkdir -m 0700 "$work/xdg-none"
unlock="env XDG_RUNTIME_DIR=$work/xdg-none $es policy list --passphrase-fd 3 3<$work/pass"
cmds=(d10 dkey b10 bkey)
if [ -n "${BASE:-}" ]; then
	mkdir -m 0700 "$work/xdg-base"
	eb="$work/envseal-base"
	base_d10="${d10/#$es /$eb }"
	base_dkey="${dkey/#$es /$eb }"
	base_b10="env XDG_RUNTIME_DIR=$work/xdg-base ${b10/#$es /$eb }"
	base_bkey="env XDG_RUNTIME_DIR=$work/xdg-base ${bkey/#$es /$eb }"
	cmds+=(base_d10 base_dkey base_b10 base_bkey)
fi
{
	for c in "${cmds[@]}" unlock; do printf '%s=%q\n' "$c" "${!c}"; done
	printf 'cmds=(%s)\n' "${cmds[*]}"
	printf 'work=%q es=%q size_mib=%q RUNS=%q base=%q\n' "$work" "$es" "$size_mib" "${RUNS:-5}" "${BASE:-}"
} > "$work/vars.sh"

if [ -z "${NO_GOBENCH:-}" ]; then
echo "## go test -bench (internal/redact)"
echo
echo '```'
go test -run '^$' -bench 'BenchmarkPlainCopy|BenchmarkScrub$|BenchmarkScrub/|BenchmarkScrubMem|BenchmarkScrubLarge|BenchmarkScrubForms' -benchtime 10x -count 1 ./internal/redact | grep -E '^Benchmark'
echo '```'
echo
fi

# The brokers, each in a pane of its own: its terminal is where its
# approvals go. Started from the repository like the runs, whose cwd a
# rule pins.
tmux -L "$sock" new-session -d -s broker -x 220 -y 60 \
	"$es broker --passphrase-fd 3 --idle-lock 1h 3<$work/pass 2>$work/broker.err; sleep 600"
panes=(broker measure)
if [ -n "${BASE:-}" ]; then
	tmux -L "$sock" new-session -d -s broker-base -x 220 -y 60 \
		"XDG_RUNTIME_DIR=$work/xdg-base $work/envseal-base broker --passphrase-fd 3 --idle-lock 1h 3<$work/pass 2>$work/broker-base.err; sleep 600"
	panes+=(broker-base)
fi
for _ in $(seq 100); do "$es" status 2>/dev/null | grep -q '^mode: broker' && break; sleep 0.1; done
"$es" status 2>/dev/null | grep -q '^mode: broker' || { echo "the broker did not start:"; cat "$work/broker.err"; exit 1; }

# The measurement runs in a tmux pane: the first run of each command asks
# for approval (a direct run in that pane, a broker run in the broker's)
# and the code is typed in as a human would ("allow always"); the later
# runs, from the same pane and so the same context, are covered by the
# rule.
cat > "$work/measure.sh" <<'MEASURE'
set -euo pipefail
. "$work/vars.sh"
for c in "${cmds[@]}"; do sh -c "${!c} > /dev/null"; done
echo "## end to end, ${size_mib} MiB (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
# What the runs print, once: every planted form replaced (markers per MiB)
# and no secret left; counts only, never a value.
line="markers per MiB of output:"
for c in "${cmds[@]}"; do
	n="$(sh -c "${!c}" 2>/dev/null | grep -o '\[envseal:[A-Z0-9]*\]' | wc -l)"
	line="$line $c $((n / size_mib))"
done
echo "$line (planted: 110 forms for 10 secrets, 3 fragments of the key)"
echo
args=("sh -c 'cat $work/big | cat > /dev/null'")
for c in "${cmds[@]}"; do args+=("sh -c '${!c} > /dev/null'"); done
args+=("sh -c '$unlock > /dev/null'")
hyperfine -N -w 1 -r "$RUNS" --export-markdown "$work/e2e.md" --export-json "$work/e2e.json" "${args[@]}" >/dev/null
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
sed "s|$work|\$WORK|g; s|--secret S0 .*--secret S9|--secret S0 … --secret S9|" "$work/e2e.md"
echo
python3 - "$work/e2e.json" "${cmds[@]}" <<'PY'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
names = ["cat|cat"] + sys.argv[2:] + ["unlock"]
ms = {n: [t * 1000 for t in r["times"]] for n, r in zip(names, res)}
med = {n: statistics.median(v) for n, v in ms.items()}
lo = {n: min(v) for n, v in ms.items()}
print("| run | median ms | min ms | ratio to cat\\|cat (median) | (min) | direct, unlock taken off (median) | (min) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n in names:
    row = f"| {n} | {med[n]:.0f} | {lo[n]:.0f} | {med[n] / med['cat|cat']:.2f}× | {lo[n] / lo['cat|cat']:.2f}× |"
    if n.endswith(("d10", "dkey")):
        row += f" {(med[n] - med['unlock']) / med['cat|cat']:.2f}× | {(lo[n] - lo['unlock']) / lo['cat|cat']:.2f}× |"
    else:
        row += " | |"
    print(row)
PY
echo
rss() { /usr/bin/time -o "$work/rss" -f '%M' sh -c "$1 > /dev/null 2>&1"; cat "$work/rss"; }
# A broker run's scrubbing happens in the broker: its peak RSS over the
# run alone (VmHWM reset first), and the client's.
bpid="$("$es" status | awk '/^broker: pid/ {gsub(",","",$3); print $3}')"
brss() {
	echo 5 > "/proc/$bpid/clear_refs"
	local client; client="$(rss "$1")"
	echo "broker $(awk '/VmHWM/ {print $2}' "/proc/$bpid/status"), client $client"
}
echo "peak RSS (KiB; /usr/bin/time -f %M, the pipeline's largest process): cat|cat $(rss "cat $work/big | cat"); direct: 10 secrets $(rss "$d10"), 64 KiB key $(rss "$dkey"); broker (the broker's VmHWM over the one run, before it: $(awk '/VmRSS/ {print $2}' "/proc/$bpid/status")): 10 secrets $(brss "$b10"), 64 KiB key $(brss "$bkey")"
echo
echo "(d10/dkey: \`envseal run --direct\`, each run unlocking the vault; b10/bkey: through the unlocked broker; unlock: \`policy list\` without a broker, the Argon2id unlock a direct run includes)"
MEASURE
tmux -L "$sock" new-session -d -s measure -x 220 -y 60 \
	"work=$work bash $work/measure.sh > $work/results 2> $work/measure.err; touch $work/done; sleep 5"
answered=""
for _ in $(seq 9000); do
	[ -e "$work/done" ] && break
	for pane in "${panes[@]}"; do
		code="$(tmux -L "$sock" capture-pane -p -t "$pane" | awk '/allow once/ {c=$1} END {print c}')"
		if [ -n "$code" ] && ! grep -qw "$code" <<<"$answered"; then
			tmux -L "$sock" send-keys -t "$pane" "$code!" Enter
			answered="$answered $code"
		fi
	done
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
