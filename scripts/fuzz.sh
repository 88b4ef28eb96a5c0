#!/usr/bin/env bash
# Builds and runs one libFuzzer target (fuzz/<target>_fuzz.cc) for a number of seconds.
#   scripts/fuzz.sh pql 600            # or request_body, ndjson_load, vector_snapshot
#   scripts/fuzz.sh pql 60 -jobs=2     # extra arguments go to libFuzzer
# The targets are built in the ASan+UBSan tree that `scripts/test.sh --sanitize address,undefined`
# uses (clang, -DPATHWISE_FUZZ=ON), so CI compiles the project once for both. BUILD_DIR overrides it.
# New inputs go to BUILD_DIR/fuzz-corpus/<target> (seeded from fuzz/corpus/<target>, which stays
# as committed); a crash leaves its input in BUILD_DIR/fuzz-artifacts/<target>/ and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer args...]" >&2
  exit 2
fi
TARGET="$1"; SECONDS_TO_RUN="$2"; shift 2
BUILD_DIR="${BUILD_DIR:-build-asan}"
if [ ! -f "fuzz/${TARGET}_fuzz.cc" ]; then
  echo "no fuzz target fuzz/${TARGET}_fuzz.cc" >&2
  exit 2
fi

SANITIZED_FLAGS="-O1 -gline-tables-only"  # as scripts/test.sh
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
  fi
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$SANITIZED_FLAGS" "${launcher[@]}" \
    -DPATHWISE_SANITIZE=address,undefined -DPATHWISE_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD_DIR" --target "fuzz_${TARGET}" -j"$(nproc)"

CORPUS="$BUILD_DIR/fuzz-corpus/$TARGET"
ARTIFACTS="$BUILD_DIR/fuzz-artifacts/$TARGET"
mkdir -p "$CORPUS" "$ARTIFACTS"
SEEDS=()
if [ -d "fuzz/corpus/$TARGET" ]; then SEEDS=("fuzz/corpus/$TARGET"); fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
LOG="$BUILD_DIR/fuzz-$TARGET.log"
# -timeout: an input running 10 s is a hang; -rss_limit_mb: 2 GiB is a memory bug;
# -max_len: request bodies and queries of up to 4 KiB (larger ones are limited elsewhere).
set +e
"$BUILD_DIR/fuzz/fuzz_$TARGET" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/" "$@" "$CORPUS" "${SEEDS[@]}" \
  2>&1 | tee "$LOG" | grep -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|ERROR|SUMMARY|Done [0-9]+ runs|stat::'
status=${PIPESTATUS[0]}
set -e
runs=$(grep -oE 'stat::number_of_executed_units: +[0-9]+' "$LOG" | awk '{print $2}' | tail -1 || true)
speed=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$LOG" | awk '{print $2}' | tail -1 || true)
cov=$(grep -oE 'DONE +cov: [0-9]+ ft: [0-9]+' "$LOG" | tail -1 |
      sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+)/cov \1, ft \2/' || true)
if [ "$status" -ne 0 ]; then
  echo "fuzz_$TARGET: FAILED (exit $status) after ${runs:-?} runs; input in $ARTIFACTS/, log $LOG"
  exit "$status"
fi
echo "fuzz_$TARGET: ${runs:-0} runs in ${SECONDS_TO_RUN} s (${speed:-0} exec/s, ${cov:-cov ?}), corpus $(ls "$CORPUS" | wc -l) files, no crash"
