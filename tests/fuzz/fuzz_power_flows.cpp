// The power-management flows driven by fuzzed kernel answers: dialect
// detection, the PM capability lookup (config reads), PM_CTRL transitions,
// suspend / resume in every option combination, and the wake-up wait. Checks:
// no crash or hang (bounded by the seam's virtual clock), errors name their
// operation, and no descriptor outlives the objects.
#include <vfio/device.hpp>
#include <vfio/pci/power.hpp>

#include <cstdint>
#include <cstdlib>

#include "fuzz_seam.hpp"

namespace {
void named(const vfio::error& e) {
  if (e.operation() == nullptr || e.operation()[0] == '\0') std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opts = data[0];
  vfio_fuzz::input in(data + 1, size - 1);
  vfio_fuzz::fuzz_syscalls sys(in);
  {
    const int fd = sys.open("/dev/vfio/devices/vfio0", 0, 0);
    if (fd < 0) return 0;
    vfio::device dev(vfio::unique_fd(fd, sys), "0000:00:03.0");
    vfio::pci::power pm(dev);
    if (auto d = pm.detect_dialect(); !d) named(d.error());
    if (auto c = pm.capability(); !c) named(c.error());
    vfio::pci::suspend_options o;
    o.wakeup = (opts & 1) != 0;
    o.d3hot = static_cast<vfio::pci::d3hot_policy>((opts >> 1) % 3);
    for (int round = 0; round < 2; ++round) {
      if (auto s = pm.suspend(o); !s) {
        named(s.error());
      } else if (o.wakeup && (opts & 8)) {
        if (auto w = pm.wait_for_wakeup(5'000'000); !w) named(w.error());
      }
      if (auto r = pm.resume(); !r) named(r.error());
    }
    if (auto s = pm.set_power_state(static_cast<vfio::pci::d_state>((opts >> 4) & 3)); !s) named(s.error());
  }
  if (sys.open_descriptors() != 0) std::abort();
  return 0;
}
