#!/usr/bin/env bash
# Installs everything Pathwise needs to build, test and run on Debian 12 (apt-get only).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  librocksdb-dev libboost-graph-dev libhnswlib-dev libjemalloc-dev libeigen3-dev
  libantlr4-runtime-dev antlr4 default-jre-headless
  libcpp-httplib-dev libssl-dev nlohmann-json3-dev doctest-dev
  openssl curl
  clang libclang-rt-14-dev python3
  ccache  # optional for the build; lets clones and worktrees share compiled objects
)
# Browser tests (the explorer page) need Chromium and Node.js for playwright-core.
if [ "${PATHWISE_BROWSER_TESTS:-1}" = "1" ]; then
  PACKAGES+=(chromium nodejs)
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian splits npm from nodejs; other nodejs builds ship it inside. Install it only when absent.
if [ "${PATHWISE_BROWSER_TESTS:-1}" = "1" ] && ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm
fi
