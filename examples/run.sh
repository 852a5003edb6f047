#!/usr/bin/env bash
# Builds and runs the main example: vfioctl's power cycle (D0 -> D3hot ->
# low-power entry with wake-up -> exit -> D0). Without arguments it runs against
# the simulated VFIO kernel; pass a PCI address bound to vfio-pci (as root) to
# drive a real device, e.g.  examples/run.sh power-cycle 0000:03:00.0 --wakeup
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VFIO_EXAMPLE_BUILD_DIR:-"$root/build-examples"}

# shellcheck source=tests/install-deps.sh
source "$root/tests/install-deps.sh"
vfio_install_missing cmake make g++

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVFIO_BUILD_TESTS=OFF -DVFIO_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target vfioctl -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
if [ $# -eq 0 ]; then
  set -- power-cycle --wakeup
fi
exec "$build/examples/vfioctl" "$@"
