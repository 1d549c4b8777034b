#!/usr/bin/env bash
# Side-by-side performance of rdptriage against the raw parser evtx_dump 0.15.1 (issue 7 targets).
#
# Usage: bench/compare.sh [RUNS]        (default 5 runs per measurement; medians are reported)
# Needs: RDPTRIAGE_CORPUS (defaults to ../shared/corpus), python3, GNU time (/usr/bin/time).
# Installs evtx_dump 0.15.1 with cargo if it is missing, builds rdptriage in release mode, builds
# bench/big200.evtx and bench/big800.evtx from the corpus's real chunks (bench/make-big-evtx.py).
# Prints machine, versions, wall-time medians, peak RSS, and the ratios the targets are about.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
CORPUS=${RDPTRIAGE_CORPUS:-../shared/corpus}
[ -d "$CORPUS" ] || { echo "corpus not found: $CORPUS (set RDPTRIAGE_CORPUS)" >&2; exit 2; }
WORK=${BENCH_DIR:-target/bench}
mkdir -p "$WORK"

if ! command -v /usr/bin/time >/dev/null; then apt-get install -y time >/dev/null; fi
# The Rust crate's evtx_dump, not python-evtx's console script of the same name (a pyenv shim may
# come first on the PATH).
if ! "$HOME/.cargo/bin/evtx_dump" --version 2>/dev/null | grep -q 'EVTX Parser 0.15.1'; then
  cargo install evtx --version 0.15.1 --locked >/dev/null 2>&1
fi
EVTX_DUMP="$HOME/.cargo/bin/evtx_dump"
export EVTX_DUMP
cargo build --release --quiet
RDP=target/release/rdptriage
[ -f "$WORK/big200.evtx" ] || python3 bench/make-big-evtx.py "$CORPUS" "$WORK/big200.evtx" 200 >/dev/null
[ -f "$WORK/big800.evtx" ] || python3 bench/make-big-evtx.py "$CORPUS" "$WORK/big800.evtx" 800 >/dev/null

# measure NAME COMMAND...: runs the command RUNS times (after one warm-up), stdout discarded;
# records the median wall time and the largest peak RSS (KiB) of the command and its children.
declare -A WALL RSS
measure() {
  local name=$1; shift
  "$@" >/dev/null 2>&1 || true
  local times=() peak=0
  for _ in $(seq "$RUNS"); do
    local out stats
    stats=$(mktemp)
    /usr/bin/time -f "%e %M" -o "$stats" "$@" >/dev/null 2>&1 || true
    out=$(tail -1 "$stats")
    rm -f "$stats"
    times+=("${out% *}")
    local rss=${out#* }
    (( rss > peak )) && peak=$rss
  done
  WALL[$name]=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  RSS[$name]=$peak
  printf '%-34s median %6.2f s   peak RSS %7.1f MB   (%s runs)\n' "$name" "${WALL[$name]}" "$(echo "$peak/1024" | bc -l)" "$RUNS"
}

dump_corpus() { find "$CORPUS" -name '*.evtx' -print0 | xargs -0 -P2 -n1 "$EVTX_DUMP" -t 1 -o jsonl; }
export -f dump_corpus; export CORPUS

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo "== versions: $($RDP --version), $("$EVTX_DUMP" --version), $(rustc --version)"
echo "== corpus: $CORPUS ($(find "$CORPUS" -name '*.evtx' | wc -l) files, $(find "$CORPUS" -name '*.evtx' -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s/1048576}') MiB)"
echo
measure "evtx_dump corpus (2 at a time)" bash -c dump_corpus
measure "rdptriage analyze corpus" $RDP analyze --format json -q "$CORPUS"
measure "rdptriage analyze corpus -j1" $RDP analyze --format json -q --threads 1 "$CORPUS"
measure "rdptriage analyze corpus -j2" $RDP analyze --format json -q --threads 2 "$CORPUS"
measure "evtx_dump big200" "$EVTX_DUMP" -t 1 -o jsonl "$WORK/big200.evtx"
measure "rdptriage events big200" $RDP events --format jsonl -q "$WORK/big200.evtx"
measure "rdptriage analyze big200" $RDP analyze --format json -q "$WORK/big200.evtx"
measure "rdptriage events big800" $RDP events --format jsonl -q "$WORK/big800.evtx"
measure "rdptriage analyze big800" $RDP analyze --format json -q "$WORK/big800.evtx"

ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo
echo "== targets"
echo "corpus: analyze / evtx_dump            = $(ratio "${WALL[rdptriage analyze corpus]}" "${WALL[evtx_dump corpus (2 at a time)]}")  (target <= 0.5)"
echo "big200: evtx_dump / events             = $(ratio "${WALL[evtx_dump big200]}" "${WALL[rdptriage events big200]}")  (target >= 1.0)"
echo "big200: evtx_dump / analyze            = $(ratio "${WALL[evtx_dump big200]}" "${WALL[rdptriage analyze big200]}")  (target >= 2.0)"
echo "cores:  -j1 / -j2                      = $(ratio "${WALL[rdptriage analyze corpus -j1]}" "${WALL[rdptriage analyze corpus -j2]}")  (target >= 1.7)"
echo "memory: analyze big200 / big800 peak   = $((RSS[rdptriage analyze big200] / 1024)) MB / $((RSS[rdptriage analyze big800] / 1024)) MB  (target < 100 MB, no growth)"
echo "memory: events  big200 / big800 peak   = $((RSS[rdptriage events big200] / 1024)) MB / $((RSS[rdptriage events big800] / 1024)) MB"
