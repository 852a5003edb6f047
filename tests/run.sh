#!/usr/bin/env bash
# The test command: installs what the tests need (only what is missing, from
# Debian's archive) and runs every test stage through CTest.
#   tests/run.sh            all stages
#   tests/run.sh -L unit    only the stages with that CTest label
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VFIO_BUILD_DIR:-"$root/build"}

# shellcheck source=tests/install-deps.sh
source "$root/tests/install-deps.sh"
vfio_install_missing cmake make g++ clang libclang-rt-14-dev catch2 pkg-config clang-tidy clang-format

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure --timeout 1800 -j "$jobs" "$@"
