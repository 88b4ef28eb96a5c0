#!/usr/bin/env bash
# Builds Pathwise and runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build && ctest --output-on-failure -j2 --timeout 900
