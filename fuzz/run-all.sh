#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 600), two at a time, niced, and report.
#   fuzz/run-all.sh 600            # all targets
#   fuzz/run-all.sh 60 xml rule    # some targets
# Works on the stable toolchain (RUSTC_BOOTSTRAP=1, no sanitizer) or on nightly
# (FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=address). Crashes land in fuzz/artifacts/<target>/;
# logs in fuzz/logs/<target>.log. Exits non-zero when a target crashed.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xml jsonl evtx text ingest rule case)
toolchain=${FUZZ_TOOLCHAIN:-stable}
sanitizer=${FUZZ_SANITIZER:-none}
jobs=${FUZZ_PARALLEL:-2}
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || { echo "cargo install cargo-fuzz first" >&2; exit 2; }
[ -d corpus/xml ] || ./seed.sh
mkdir -p logs
nice cargo "+$toolchain" fuzz build -s "$sanitizer" || exit 2
# Run the built binaries directly: `cargo fuzz run` would rebuild them whenever the sources change.
bin=target/x86_64-unknown-linux-gnu/release

run_one() {
  local t=$1
  mkdir -p "corpus/$t" "artifacts/$t"
  # -rss_limit_mb: libFuzzer's memory cap per input; -timeout: one input may take at most 10 s.
  nice "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$secs" -rss_limit_mb=4096 -timeout=10 -max_len=262144 \
    -print_final_stats=1 >"logs/$t.log" 2>&1
  local rc=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
  echo "$t: exit $rc, ${execs:-?} execs, $(ls "artifacts/$t" | wc -l) artifacts"
  return $rc
}

status=0
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
