#!/usr/bin/env bash
# Main job: install missing packages, build, run the sgx2emu command.
# Arguments are passed to the command; without any it runs its built-in default.
# BUILD=dir selects the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
build=${BUILD:-build}
make -j2 BUILD="$build" all
exec "$build/sgx2emu" "$@"
