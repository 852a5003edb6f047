// sysfs values and links answered from the fuzz input: attribute reads (short,
// exact and lying counts), the IOMMU group link, the driver link, the rebind
// flow and the host power report. Checks: no crash, no write outside the
// driver directories (every path the library opens stays under the sysfs root
// and contains no "/../" or "/./" component), no descriptor left open.
#include <vfio/host/power.hpp>
#include <vfio/host/sysfs.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "fuzz_seam.hpp"

namespace {

/// The fuzz seam, with every opened path checked.
class path_checking_syscalls final : public vfio::syscalls {
 public:
  explicit path_checking_syscalls(vfio_fuzz::fuzz_syscalls& inner) noexcept : s_(inner) {}
  int open(const char* path, int flags, unsigned mode) noexcept override {
    check(path);
    return s_.open(path, flags, mode);
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    check(path);
    return s_.readlink(path, buf, size);
  }
  int close(int fd) noexcept override { return s_.close(fd); }
  int ioctl(int fd, unsigned long r, void* a) noexcept override { return s_.ioctl(fd, r, a); }
  int ioctl_value(int fd, unsigned long r, unsigned long v) noexcept override { return s_.ioctl_value(fd, r, v); }
  long pread(int fd, void* b, std::size_t n, std::int64_t o) noexcept override { return s_.pread(fd, b, n, o); }
  long pwrite(int fd, const void* b, std::size_t n, std::int64_t o) noexcept override { return s_.pwrite(fd, b, n, o); }
  long read(int fd, void* b, std::size_t n) noexcept override { return s_.read(fd, b, n); }
  long write(int fd, const void* b, std::size_t n) noexcept override { return s_.write(fd, b, n); }
  int mmap(void** a, std::size_t l, int p, int f, int fd, std::int64_t o) noexcept override {
    return s_.mmap(a, l, p, f, fd, o);
  }
  int munmap(void* a, std::size_t l) noexcept override { return s_.munmap(a, l); }
  int eventfd(unsigned i, int f) noexcept override { return s_.eventfd(i, f); }
  int poll(struct pollfd* f, std::size_t n, int t) noexcept override { return s_.poll(f, n, t); }
  std::int64_t monotonic_ns() noexcept override { return s_.monotonic_ns(); }
  int sleep_ns(std::int64_t ns) noexcept override { return s_.sleep_ns(ns); }

 private:
  static void check(const char* path) {
    const std::string_view p(path);
    if (p.compare(0, 5, "/sys/") != 0) std::abort();
    if (p.find("/../") != std::string_view::npos || p.find("/./") != std::string_view::npos) std::abort();
    if (p.size() >= 3 && (p.substr(p.size() - 3) == "/.." || p.substr(p.size() - 2) == "/.")) std::abort();
  }
  vfio_fuzz::fuzz_syscalls& s_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t which = data[0] % 5;
  vfio_fuzz::input in(data + 1, size - 1);
  vfio_fuzz::fuzz_syscalls inner(in);
  path_checking_syscalls sys(inner);
  const vfio::host::pci_address bdf{0, 3, 0, 0};
  switch (which) {
    case 0: {
      char buf[32];
      auto r = vfio::host::read_attribute("/sys/bus/pci/devices/0000:00:03.0/power_state", buf, sizeof buf, sys);
      if (r && (*r >= sizeof buf || buf[*r] != '\0')) std::abort();
      break;
    }
    case 1: {
      (void)vfio::host::iommu_group_of(bdf, sys);
      break;
    }
    case 2: {
      char name[64];
      auto r = vfio::host::driver_of(bdf, name, sizeof name, sys);
      if (r && *r > 0 && (std::strlen(name) != *r || !vfio::host::detail::valid_name_component(name))) std::abort();
      break;
    }
    case 3: {
      (void)vfio::host::bind_to_driver(bdf, "vfio-pci", sys);
      break;
    }
    default: {
      (void)vfio::host::read_power_report(bdf, vfio::host::capability_presence::unknown, sys);
      break;
    }
  }
  if (inner.open_descriptors() != 0) std::abort();
  return 0;
}
