#!/usr/bin/env bash
# Tests: install missing packages, build with warnings as errors, run every
# test.  Extra arguments go to make (e.g. SAN=1, BUILD=build-x).
# The last line is "N passed, N failed" (tests summed over all binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
make -j2 WERROR=1 "$@" check
