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

# measure_together NAME FUNCTION [NAME FUNCTION]...: runs the exported shell functions in turn, one
# warm-up round and then RUNS rounds (A B C, A B C, ...), stdout discarded, so that a change in the
# machine's speed during the measurement (this VM drifts by 15 % and more) hits every command of a
# comparison alike. Records each command's median wall time and largest peak RSS (KiB).
declare -A WALL RSS
measure_together() {
  local names=() funcs=()
  while (( $# )); do names+=("$1"); funcs+=("$2"); shift 2; done
  local f i
  for f in "${funcs[@]}"; do bash -c "$f" >/dev/null 2>&1 || true; done
  declare -A times=() peak=()
  for _ in $(seq "$RUNS"); do
    for i in "${!funcs[@]}"; do
      local stats out rss
      stats=$(mktemp)
      /usr/bin/time -f "%e %M" -o "$stats" bash -c "${funcs[$i]}" >/dev/null 2>&1 || true
      out=$(tail -1 "$stats")
      rm -f "$stats"
      times[$i]+="${out% *} "
      rss=${out#* }
      (( rss > ${peak[$i]:-0} )) && peak[$i]=$rss
    done
  done
  for i in "${!funcs[@]}"; do
    local name=${names[$i]}
    WALL[$name]=$(printf '%s\n' ${times[$i]} | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    RSS[$name]=${peak[$i]}
    printf '%-34s median %6.2f s   peak RSS %7.1f MB   (%s runs)\n' "$name" "${WALL[$name]}" "$(echo "${peak[$i]}/1024" | bc -l)" "$RUNS"
  done
}

dump_corpus() { find "$CORPUS" -name '*.evtx' -print0 | xargs -0 -P2 -n1 "$EVTX_DUMP" -t 1 -o jsonl; }
analyze_corpus() { "$RDP" analyze --format json -q "$CORPUS"; }
analyze_corpus_j1() { "$RDP" analyze --format json -q --threads 1 "$CORPUS"; }
analyze_corpus_j2() { "$RDP" analyze --format json -q --threads 2 "$CORPUS"; }
dump_big200() { "$EVTX_DUMP" -t 1 -o jsonl "$WORK/big200.evtx"; }
events_big200() { "$RDP" events --format jsonl -q "$WORK/big200.evtx"; }
analyze_big200() { "$RDP" analyze --format json -q "$WORK/big200.evtx"; }
events_big800() { "$RDP" events --format jsonl -q "$WORK/big800.evtx"; }
analyze_big800() { "$RDP" analyze --format json -q "$WORK/big800.evtx"; }
export -f dump_corpus analyze_corpus analyze_corpus_j1 analyze_corpus_j2 dump_big200 events_big200 \
  analyze_big200 events_big800 analyze_big800
export CORPUS RDP WORK

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo "== versions: $($RDP --version), $("$EVTX_DUMP" --version), $(rustc --version)"
echo "== corpus: $CORPUS ($(find "$CORPUS" -name '*.evtx' | wc -l) files, $(find "$CORPUS" -name '*.evtx' -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s/1048576}') MiB)"
echo "== each group below is measured in alternation (one run of each command per round)"
echo
measure_together "evtx_dump corpus (2 at a time)" dump_corpus "rdptriage analyze corpus" analyze_corpus
measure_together "rdptriage analyze corpus -j1" analyze_corpus_j1 "rdptriage analyze corpus -j2" analyze_corpus_j2
measure_together "evtx_dump big200" dump_big200 "rdptriage events big200" events_big200 \
  "rdptriage analyze big200" analyze_big200
measure_together "rdptriage events big800" events_big800 "rdptriage analyze big800" analyze_big800

ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo
echo "== targets"
echo "corpus: analyze / evtx_dump            = $(ratio "${WALL[rdptriage analyze corpus]}" "${WALL[evtx_dump corpus (2 at a time)]}")  (target <= 0.5)"
echo "big200: evtx_dump / events             = $(ratio "${WALL[evtx_dump big200]}" "${WALL[rdptriage events big200]}")  (target >= 1.0)"
echo "big200: evtx_dump / analyze            = $(ratio "${WALL[evtx_dump big200]}" "${WALL[rdptriage analyze big200]}")  (target >= 2.0)"
echo "cores:  -j1 / -j2                      = $(ratio "${WALL[rdptriage analyze corpus -j1]}" "${WALL[rdptriage analyze corpus -j2]}")  (target >= 1.7)"
echo "memory: analyze big200 / big800 peak   = $((RSS[rdptriage analyze big200] / 1024)) MB / $((RSS[rdptriage analyze big800] / 1024)) MB  (target < 100 MB, no growth)"
echo "memory: events  big200 / big800 peak   = $((RSS[rdptriage events big200] / 1024)) MB / $((RSS[rdptriage events big800] / 1024)) MB"
