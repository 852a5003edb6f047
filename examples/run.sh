#!/usr/bin/env bash
# Builds vfioctl and runs the main example: the power cycle of a device
# (D0 -> D3hot -> low-power entry with wake-up -> wake-up -> exit -> D0) on the
# simulated VFIO kernel. Arguments, when given, go to vfioctl instead, e.g.
#   examples/run.sh power 0000:03:00.0 cycle --wakeup     (a real device, as root)
# On Debian it first installs cmake, make and g++ with apt-get (through sudo
# when not root) if they are missing. Builds in build-examples/
# (VFIO_EXAMPLE_BUILD_DIR) with VFIO_JOBS parallel jobs (default: every core).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VFIO_EXAMPLE_BUILD_DIR:-"$root/build-examples"}
jobs=${VFIO_JOBS:-$(nproc 2>/dev/null || echo 2)}

# shellcheck source=tests/install-deps.sh
source "$root/tests/install-deps.sh"
vfio_install_missing cmake make g++

# No optimization (an empty build type, as the README's install recipe): vfioctl waits
# on syscalls and sleeps, and -O3 doubles the wait before the first run (22 s of
# compiler CPU instead of 10 on a 2-core machine).
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE= -DVFIO_BUILD_TESTS=OFF -DVFIO_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target vfioctl -j "$jobs" >/dev/null
if [ $# -eq 0 ]; then
  set -- --simulate power cycle --wakeup
fi
exec "$build/examples/vfioctl" "$@"
