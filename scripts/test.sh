#!/usr/bin/env bash
# Builds Pathwise and runs every test with CTest.
#   scripts/test.sh                               plain build in build/, whole suite
#   scripts/test.sh --sanitize address,undefined  clang + ASan + UBSan in build-asan/, whole suite
#                                                 (also builds the libFuzzer targets there)
#   scripts/test.sh --sanitize thread             clang + TSan in build-tsan/, the concurrency tests
# Extra arguments after the options go to ctest (e.g. -R 'storage:').
# Environment: BUILD_DIR overrides the build directory; CTEST_REGEX overrides the TSan subset.
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) SANITIZE="$2"; shift 2 ;;
    --sanitize=*) SANITIZE="${1#--sanitize=}"; shift ;;
    *) break ;;
  esac
done

# Tests run under TSan: the ones that exercise threads against each other (their names say
# "concurrent" or "thread"), the power-loss test under concurrent writes included
# (docs/reliability.md, "Findings"). CTEST_REGEX chooses others.
TSAN_TESTS='concurren|thread'
# The test executables that hold them (tests/<layer>/): the TSan tree builds only these, not the
# server, jobs, bench, demo or CLI. A test of threads in another layer needs its executable added
# here; with CTEST_REGEX set, the whole tree is built.
TSAN_TARGETS=(test_storage test_graph test_vector test_db test_query test_decide test_reliability)

# -O1 with line tables only: sanitizer reports keep file:line, and a sanitized tree compiles in
# about the time of the plain one. Assertions stay on (no -DNDEBUG).
SANITIZED_FLAGS="-O1 -gline-tables-only"

# Configures and builds a sanitized tree with clang (ccache when present, as scripts/build.sh):
# the targets in BUILD_TARGETS, or everything when it is empty.
BUILD_TARGETS=()
build_sanitized() {  # build_dir cmake_args...
  local dir="$1"; shift
  local launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
  fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$SANITIZED_FLAGS" \
    "${launcher[@]}" "$@" >/dev/null
  local targets=()
  if [ ${#BUILD_TARGETS[@]} -gt 0 ]; then targets=(--target "${BUILD_TARGETS[@]}"); fi
  cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
}

CTEST_ARGS=(--output-on-failure -j2 --timeout 900)
case "$SANITIZE" in
  "")
    BUILD_DIR="${BUILD_DIR:-build}"
    BUILD_DIR="$BUILD_DIR" scripts/build.sh
    ;;
  address,undefined|undefined,address|address)
    BUILD_DIR="${BUILD_DIR:-build-asan}"
    build_sanitized "$BUILD_DIR" -DPATHWISE_SANITIZE="$SANITIZE" -DPATHWISE_FUZZ=ON
    # detect_leaks: a leak is a report too. halt_on_error: the first report fails the test.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    ;;
  thread)
    BUILD_DIR="${BUILD_DIR:-build-tsan}"
    if [ -z "${CTEST_REGEX:-}" ]; then BUILD_TARGETS=("${TSAN_TARGETS[@]}"); fi
    build_sanitized "$BUILD_DIR" -DPATHWISE_SANITIZE=thread
    # scripts/tsan.supp: reports inside hnswlib and RocksDB (each explained in the file).
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp}"
    # The power-loss test's snapshot damage modes run in the ASan+UBSan suite, not here: the
    # rebuild after a lost snapshot draws a lock-order report without stacks, which the
    # suppressions cannot match (docs/reliability.md, "Findings").
    export PATHWISE_POWER_LOSS_SNAPSHOT_MODES="${PATHWISE_POWER_LOSS_SNAPSHOT_MODES-}"
    CTEST_ARGS+=(-R "${CTEST_REGEX:-$TSAN_TESTS}")
    ;;
  *)
    echo "unknown --sanitize value: $SANITIZE (address,undefined | thread)" >&2
    exit 2
    ;;
esac
cd "$BUILD_DIR" && ctest "${CTEST_ARGS[@]}" "$@"
