#!/usr/bin/env bash
# Runs explorer.test.mjs: run_browser_test.sh <pathwise binary> <artifact dir>
# Exit 77 (CTest skip) when node or /usr/bin/chromium is missing.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
  echo "SKIP: node or /usr/bin/chromium is missing"
  exit 77
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: npm is missing, cannot install playwright-core"
    exit 77
  fi
  npm ci --prefix "$here" --no-audit --no-fund || { echo "npm ci failed"; exit 1; }
fi
exec node "$here/explorer.test.mjs" "$1" "$2"
