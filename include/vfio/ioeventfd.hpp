// VFIO_DEVICE_IOEVENTFD: an eventfd whose signal makes vfio-pci write a fixed value to a
// BAR, so that a VMM can forward a guest's doorbell write (caught by KVM's own ioeventfd
// with DATAMATCH) to the device without a round trip through userspace.
//
// Kernel rules (vfio_pci_ioctl_ioeventfd in drivers/vfio/pci/vfio_pci_core.c, then
// vfio_pci_ioeventfd in drivers/vfio/pci/vfio_pci_rdwr.c):
// - flags carry the width, exactly one of 1, 2, 4 or 8 bytes; any other flag bit, no
//   width or two widths, or fd < -1: EINVAL.
// - only BAR0..BAR5 (ROM, config and VGA: EINVAL); [offset, offset + size) must lie in
//   the BAR (EINVAL) and not overlap the MSI-X table (EINVAL).
// - 8-byte writes: refused (EINVAL) only where the architecture has no iowrite64
//   (`#ifndef iowrite64`); x86 has it, and Debian's 6.1, 6.12 and 7.x accept them.
// - a registration is identified by (BAR, offset, data, size): two registrations at one
//   offset with different data coexist, the way KVM's DATAMATCH ioeventfds do. Adding one
//   that exists: EEXIST; removing (fd -1) one that does not: ENODEV.
// - at most VFIO_PCI_IOEVENTFD_MAX (1000) per device: ENOSPC.
// - fd not open: EBADF; not an eventfd: EINVAL (vfio_virqfd_enable).
// - closing the eventfd does not remove the registration: it stays listed (and counted)
//   until removed here or until the device's last close (vfio_pci_core_close_device
//   frees them all).
#ifndef VFIO_IOEVENTFD_HPP_INCLUDED
#define VFIO_IOEVENTFD_HPP_INCLUDED

#include <cerrno>
#include <cstdint>
#include <utility>

#include "abi/vfio.hpp"
#include "device.hpp"
#include "error.hpp"
#include "result.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

/// VFIO_PCI_IOEVENTFD_MAX (drivers/vfio/pci/vfio_pci_priv.h): registrations per device.
inline constexpr std::uint32_t max_ioeventfds = 1000;

/// What an ioeventfd writes, and where: `size` bytes of `data` (little-endian, the low
/// bytes) at byte `offset` of BAR `bar` (abi::pci_region::bar0..bar5).
struct ioeventfd_spec {
  std::uint32_t bar = 0;
  std::uint64_t offset = 0;
  std::uint64_t data = 0;
  std::uint32_t size = 4;  ///< 1, 2, 4 or 8
};

namespace detail {

/// The VFIO_DEVICE_IOEVENTFD argument for `spec`, with the BAR's file offset resolved.
/// Checks the library can make without the kernel: errc::invalid_argument for a size
/// other than 1/2/4/8 or a region that is not a BAR. Errors of device::region().
inline result<abi::device_ioeventfd> make_ioeventfd_arg(device& dev, const ioeventfd_spec& spec,
                                                        std::int32_t fd) noexcept {
  if (spec.size != 1 && spec.size != 2 && spec.size != 4 && spec.size != 8)
    return error(errc::invalid_argument, "ioeventfd size (1, 2, 4 or 8)");
  if (spec.bar > abi::pci_region::bar5) return error(errc::invalid_argument, "ioeventfd BAR index (0..5)");
  auto ri = dev.region(spec.bar);
  if (!ri) return ri.error();
  // The offset is passed through unchecked: the kernel answers EINVAL outside the BAR
  // (a region offset is index << 40, so an offset past 2^40 names another region).
  abi::device_ioeventfd arg{};
  arg.argsz = sizeof arg;
  arg.flags = spec.size;  // the width flags are the byte counts: SIZE_8 = 1 ... SIZE_64 = 8
  arg.offset = (*ri)->offset + spec.offset;
  arg.data = spec.data;
  arg.fd = fd;
  return arg;
}

inline result<void> issue_ioeventfd(syscalls& sys, int device_fd, abi::device_ioeventfd& arg) noexcept {
  const int r = sys.ioctl(device_fd, abi::req::device_ioeventfd, &arg);
  if (r < 0) return errno_error(-r, "VFIO_DEVICE_IOEVENTFD");
  return {};
}

}  // namespace detail

/// VFIO_DEVICE_IOEVENTFD: when `eventfd` is signalled, vfio-pci writes spec.data
/// (spec.size bytes) to spec.offset of BAR spec.bar. Calls device::region(spec.bar)
/// first (cached) for the BAR's file offset. The caller keeps `eventfd` open; see
/// ioeventfd_registration for an owner that removes it again.
/// Preconditions: dev is open; eventfd is an eventfd.
/// Errors: errc::invalid_argument (size not 1/2/4/8, or bar > 5; no ioctl); errors of
/// device::region(); the kernel's (see the top of this header): EINVAL (outside the
/// BAR, over the MSI-X table, 8 bytes on 6.1, not an eventfd), EEXIST (the same
/// registration exists), ENOSPC (1000 already), EBADF, ENOMEM.
inline result<void> add_ioeventfd(device& dev, fd_ref eventfd, const ioeventfd_spec& spec) noexcept {
  if (eventfd.get() < 0) return errno_error(EBADF, "ioeventfd eventfd");
  auto arg = detail::make_ioeventfd_arg(dev, spec, eventfd.get());
  if (!arg) return arg.error();
  return detail::issue_ioeventfd(dev.sys(), dev.fd(), *arg);
}

/// VFIO_DEVICE_IOEVENTFD with fd -1: removes the registration that matches spec exactly
/// (BAR, offset, data and size; the eventfd is not compared).
/// Errors: errc::invalid_argument; errors of device::region(); ENODEV (no such
/// registration); EINVAL (outside the BAR, over the MSI-X table); EBADF.
inline result<void> remove_ioeventfd(device& dev, const ioeventfd_spec& spec) noexcept {
  auto arg = detail::make_ioeventfd_arg(dev, spec, -1);
  if (!arg) return arg.error();
  return detail::issue_ioeventfd(dev.sys(), dev.fd(), *arg);
}

/// One VFIO_DEVICE_IOEVENTFD registration, removed on destruction. Move-only.
///
/// It keeps the device's descriptor number and seam, not a pointer to the device, so
/// moving the device (into a vector, out of a function) does not affect it. It does not
/// own the eventfd. Destroy it before closing the device: the kernel drops every
/// registration at the device's last close anyway, and a later removal would reach
/// whatever file then holds the descriptor number.
class ioeventfd_registration {
 public:
  ioeventfd_registration() noexcept = default;
  ioeventfd_registration(ioeventfd_registration&& o) noexcept
      : sys_(o.sys_), device_fd_(std::exchange(o.device_fd_, -1)), arg_(o.arg_) {}
  ioeventfd_registration& operator=(ioeventfd_registration&& o) noexcept {
    if (this != &o) {
      (void)remove();
      sys_ = o.sys_;
      device_fd_ = std::exchange(o.device_fd_, -1);
      arg_ = o.arg_;
    }
    return *this;
  }
  ioeventfd_registration(const ioeventfd_registration&) = delete;
  ioeventfd_registration& operator=(const ioeventfd_registration&) = delete;
  ~ioeventfd_registration() { (void)remove(); }

  /// add_ioeventfd(), returning the owner of the registration. Errors: those of
  /// add_ioeventfd().
  static result<ioeventfd_registration> add(device& dev, fd_ref eventfd, const ioeventfd_spec& spec) noexcept {
    if (eventfd.get() < 0) return errno_error(EBADF, "ioeventfd eventfd");
    auto arg = detail::make_ioeventfd_arg(dev, spec, eventfd.get());
    if (!arg) return arg.error();
    if (auto r = detail::issue_ioeventfd(dev.sys(), dev.fd(), *arg); !r) return r.error();
    ioeventfd_registration reg;
    reg.sys_ = &dev.sys();
    reg.device_fd_ = dev.fd();
    reg.arg_ = *arg;
    reg.arg_.fd = -1;  // what removal passes
    return reg;
  }

  /// True while the registration is held.
  bool active() const noexcept { return device_fd_ >= 0; }
  explicit operator bool() const noexcept { return active(); }
  /// The device-file offset (region offset + BAR offset) and the values registered.
  std::uint64_t file_offset() const noexcept { return arg_.offset; }
  std::uint64_t data() const noexcept { return arg_.data; }
  std::uint32_t size() const noexcept { return arg_.flags; }

  /// VFIO_DEVICE_IOEVENTFD with fd -1 for this registration, reporting failure. The
  /// object is inactive afterwards in every case; inactive, it succeeds without a call.
  /// Errors: ENODEV (already gone: e.g. the device was closed and reopened); EBADF (the
  /// device descriptor is closed).
  result<void> remove() noexcept {
    if (device_fd_ < 0) return {};
    const int fd = std::exchange(device_fd_, -1);
    abi::device_ioeventfd arg = arg_;
    return detail::issue_ioeventfd(*sys_, fd, arg);
  }

  /// Gives up ownership: the registration stays until the device's last close.
  void release() noexcept { device_fd_ = -1; }

 private:
  syscalls* sys_ = nullptr;
  int device_fd_ = -1;
  abi::device_ioeventfd arg_{};
};

}  // namespace vfio

#endif  // VFIO_IOEVENTFD_HPP_INCLUDED
