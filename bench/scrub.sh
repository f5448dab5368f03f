#!/usr/bin/env bash
# Scrubbing benchmarks for docs/BENCHMARKS.md (issue "Output scrubbing"):
#   1. go test -bench in internal/redact: scrubber throughput with 1, 10 and
#      100 secrets (all encodings) next to a plain copy, same run;
#   2. end to end: `envseal run --secret … -- cat FILE_1GiB > /dev/null`
#      vs `cat FILE_1GiB | cat > /dev/null`, same hyperfine run.
# Needs hyperfine and tmux (installed from Debian if missing). Makes its own
# throwaway vault; approves the rule by typing the code into a tmux pane,
# exactly as a human would.
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need tmux tmux

work="$(mktemp -d)"
trap 'tmux kill-session -t envseal-bench 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/envseal" ./cmd/envseal
export ENVSEAL_HOME="$work/vault"
# A runtime dir of our own: never the user's broker in /run/user/UID.
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
printf 'bench passphrase\n' > "$work/pass"
"$work/envseal" init --passphrase-fd 3 3<"$work/pass" 2>/dev/null
head -c 48 /dev/urandom | base64 -w0 | "$work/envseal" store TOKEN --stdin --passphrase-fd 3 3<"$work/pass" 2>/dev/null
size_mib="${SIZE_MIB:-1024}"
# base64 text: realistic output with no NUL bytes; head closes the pipe early.
(head -c $((size_mib * 1024 * 1024)) /dev/urandom | base64 -w 100 | head -c $((size_mib * 1024 * 1024)) > "$work/big") || true
[ "$(stat -c %s "$work/big")" -eq $((size_mib * 1024 * 1024)) ]

# Approve `cat $work/big` with TOKEN once and for all, as a human would.
tmux new-session -d -s envseal-bench -x 200 -y 60 \
	"ENVSEAL_HOME=$ENVSEAL_HOME XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR $work/envseal run --passphrase-fd 3 --secret TOKEN -- cat $work/big 3<$work/pass >/dev/null; sleep 30"
code=""
for _ in $(seq 100); do
	code="$(tmux capture-pane -p -t envseal-bench | awk '/allow once/ {print $1; exit}')"
	[ -n "$code" ] && break
	sleep 0.1
done
[ -n "$code" ] || { echo "no approval prompt appeared"; exit 1; }
tmux send-keys -t envseal-bench "$code!" Enter
sleep 1
tmux kill-session -t envseal-bench

echo "## go test -bench (internal/redact)"
go test -run '^$' -bench 'BenchmarkPlainCopy|BenchmarkScrub$|BenchmarkScrub/' -benchtime 3x -count 1 ./internal/redact | grep -E '^Benchmark|^cpu'
echo
echo "## end to end, ${size_mib} MiB"
hyperfine -N -w 1 -r "${RUNS:-10}" --export-markdown "$work/e2e.md" \
	"sh -c 'cat $work/big | cat > /dev/null'" \
	"sh -c '$work/envseal run --passphrase-fd 3 --secret TOKEN -- cat $work/big 3<$work/pass > /dev/null'" \
	"sh -c '$work/envseal policy list --passphrase-fd 3 3<$work/pass > /dev/null'"
sed "s|$work|\$WORK|g" "$work/e2e.md"
