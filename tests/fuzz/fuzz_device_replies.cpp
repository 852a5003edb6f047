// Device ioctls answered from the fuzz input: device info, region info with
// argsz growth and capability chains, IRQ info, PCI hot-reset info (ENOSPC /
// EAGAIN retries, counts), region read/write and mmap. Checks: no crash, every
// error names its operation, no descriptor or mapping outlives the objects.
#include <vfio/device.hpp>

#include <cstdint>
#include <cstdlib>

#include "fuzz_seam.hpp"

namespace {
void named(const vfio::error& e) {
  if (e.operation() == nullptr || e.operation()[0] == '\0') std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vfio_fuzz::input in(data, size);
  vfio_fuzz::fuzz_syscalls sys(in);
  {
    const int fd = sys.open("/dev/vfio/devices/vfio0", 0, 0);
    if (fd < 0) return 0;
    vfio::device dev(vfio::unique_fd(fd, sys), "0000:00:03.0");
    auto info = dev.info();
    if (!info) {
      named(info.error());
    } else {
      const std::uint32_t regions = info->num_regions < 12 ? info->num_regions : 12;
      for (std::uint32_t i = 0; i < regions; ++i) {
        auto r = dev.region(i);
        if (!r) {
          named(r.error());
          continue;
        }
        unsigned char b[16];
        if (auto rd = dev.read(i, in.u8(), b, in.u8() % sizeof b); !rd) named(rd.error());
        auto m = dev.map(i);
        if (!m) named(m.error());
      }
      const std::uint32_t irqs = info->num_irqs < 8 ? info->num_irqs : 8;
      for (std::uint32_t i = 0; i < irqs; ++i)
        if (auto q = dev.irq(i); !q) named(q.error());
    }
    auto hr = dev.pci_hot_reset_info();
    if (!hr)
      named(hr.error());
    else if (hr->devices.size() > vfio::detail::max_hot_reset_devices)
      std::abort();
  }
  if (sys.open_descriptors() != 0) std::abort();
  return 0;
}
