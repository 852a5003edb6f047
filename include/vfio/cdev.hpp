// vfio::cdev: opening a device through its VFIO character device (/dev/vfio/devices/vfioN,
// CONFIG_VFIO_DEVICE_CDEV, v6.6+) and binding it to an iommufd, the path that needs no
// group node and no container; then attaching it to an IOAS or HWPT of that iommufd.
//
// The kernel's rules (drivers/vfio/device_cdev.c, drivers/vfio/vfio_main.c):
// - an opened cdev grants nothing but VFIO_DEVICE_BIND_IOMMUFD: every other ioctl, read,
//   write and mmap fails with -EINVAL until the bind succeeds
//   (vfio_device_fops_unl_ioctl checks df->access_granted);
// - the bind claims DMA ownership of the device's whole IOMMU group for the iommufd
//   (iommufd_device_bind -> iommu_device_claim_dma_owner), and blocks the group node:
//   binding while /dev/vfio/N is open is -EBUSY (group.c, vfio_device_block_group), and
//   the group node cannot be opened while a cdev of the group is bound;
// - closing the descriptor unbinds (and detaches) the device (vfio_df_unbind_iommufd);
// - DMA goes nowhere (blocked) until VFIO_DEVICE_ATTACH_IOMMUFD_PT.
// A device opened here is a vfio::device like one from group::open_device: regions,
// IRQs, features, reset and power work the same. For PCI hot reset the kernel reports
// affected devices by devid (abi::hot_reset_flags::dev_id) and takes no group
// descriptors (hot_reset.hpp).
#ifndef VFIO_CDEV_HPP_INCLUDED
#define VFIO_CDEV_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include <fcntl.h>

#include "abi/vfio.hpp"
#include "device.hpp"
#include "error.hpp"
#include "feature.hpp"
#include "host/pci_address.hpp"
#include "host/sysfs.hpp"
#include "iommufd.hpp"
#include "result.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

/// A device opened through its cdev and bound to an iommufd (cdev::open_device).
struct cdev_device {
  device dev;    ///< regions, IRQs, features, reset and power as from a group
  dev_id devid;  ///< its id in the iommufd: for iommufd::get_hw_info and hwpt_alloc
};

namespace cdev {

/// The node of cdev `number`: "/dev/vfio/devices/vfio<number>" (the kernel's devnode,
/// device_cdev.c vfio_device_devnode), NUL-terminated.
struct node_path {
  char text[40];
};
inline node_path node_path_of(unsigned number) noexcept {
  node_path p{};
  vfio::detail::text_sink(p.text, sizeof p.text).put("/dev/vfio/devices/vfio").put_unsigned(number);
  return p;
}

/// The cdev number of a PCI device: the N of the one "vfioN" entry in
/// <sysfs_root>/bus/pci/devices/<bdf>/vfio-dev (the device's vfio-dev class device,
/// named "vfio%d" by vfio_main.c vfio_init_device). Lists the directory with
/// open(O_RDONLY|O_DIRECTORY|O_CLOEXEC) and getdents64, then closes it.
/// Errors (subject the vfio-dev attribute): open's errno (ENOENT: no such device, not
/// bound to a VFIO driver, or a kernel without CONFIG_VFIO_DEVICE_CDEV); getdents64's
/// (ENOSYS: the seam cannot list directories); errc::parse_error (no vfioN entry, more
/// than one, or a malformed record); errc::invalid_argument (path longer than PATH_MAX).
inline result<unsigned> number_of(const host::pci_address& bdf, syscalls& sys = default_syscalls(),
                                  const char* sysfs_root = "/sys") noexcept {
  const subject about = host::subject_of(bdf, subject::attribute::vfio_dev);
  const auto path = host::detail::device_path(sysfs_root, bdf, "vfio-dev");
  if (!path.ok()) return host::detail::path_error();
  const int r = sys.open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (r < 0) return errno_error(-r, "open", about);
  unique_fd dir(r, sys);
  alignas(8) unsigned char buf[1024];
  unsigned found = 0;
  int entries = 0;
  for (;;) {
    const long n = sys.getdents64(dir.get(), buf, sizeof buf);
    if (n < 0) return errno_error(static_cast<int>(-n), "getdents64", about);
    if (n == 0) break;
    const long filled = n < static_cast<long>(sizeof buf) ? n : static_cast<long>(sizeof buf);
    // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
    for (long at = 0; at < filled;) {
      std::uint16_t reclen = 0;
      if (at + 19 >= filled) return error(errc::parse_error, "getdents64", about);
      std::memcpy(&reclen, buf + at + 16, sizeof reclen);
      if (reclen < 20 || at + reclen > filled) return error(errc::parse_error, "getdents64", about);
      const char* name = reinterpret_cast<const char*>(buf + at + 19);
      const std::string_view entry(name, strnlen(name, static_cast<std::size_t>(reclen) - 19));
      at += reclen;
      if (entry == "." || entry == "..") continue;
      unsigned number = 0;
      if (entry.substr(0, 4) != "vfio" || !host::detail::parse_decimal(entry.substr(4), number)) continue;
      found = number;
      ++entries;
    }
  }
  if (entries != 1) return error(errc::parse_error, "getdents64", about);
  return found;
}

/// open("/dev/vfio/devices/vfio<number>", O_RDWR|O_CLOEXEC): an unbound cdev descriptor.
/// Errors (subject the node): ENOENT (no such node: not created by udev, or no cdev
/// support); EACCES; ENODEV (the device is being unregistered: device_cdev.c
/// vfio_device_fops_cdev_open).
inline result<unique_fd> open_node(unsigned number, syscalls& sys = default_syscalls()) noexcept {
  const node_path path = node_path_of(number);
  const int r = sys.open(path.text, O_RDWR | O_CLOEXEC, 0);
  if (r < 0) return errno_error(-r, "open", subject::cdev_node(number));
  return unique_fd(r, sys);
}

/// A VF token in its text form, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits of
/// either case), as 16 bytes in text order: the kernel's uuid_parse, and the byte order
/// VFIO_DEVICE_FEATURE_PCI_VF_TOKEN sets on the PF.
/// Errors: errc::invalid_argument from the "VF token check", no syscall.
inline result<feature::vf_token_uuid> parse_vf_token(std::string_view text) noexcept {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  feature::vf_token_uuid out{};
  if (text.size() != 36) return error(errc::invalid_argument, "VF token check");
  std::size_t at = 0;
  for (std::uint8_t& byte : out.bytes) {
    if (at == 8 || at == 13 || at == 18 || at == 23) {
      if (text[at] != '-') return error(errc::invalid_argument, "VF token check");
      ++at;
    }
    const int hi = hex(text[at]);
    const int lo = hex(text[at + 1]);
    if (hi < 0 || lo < 0) return error(errc::invalid_argument, "VF token check");
    byte = static_cast<std::uint8_t>(hi << 4 | lo);
    at += 2;
  }
  return out;
}

/// VFIO_DEVICE_BIND_IOMMUFD of an opened, unbound cdev descriptor to `ictx`: afterwards
/// the device is fully usable (its DMA blocked until attach). argsz is 24, with the
/// token flag and token_uuid_ptr only when a VF token is given (6.12 reads 16 bytes and
/// requires flags 0; later kernels read all 24). `about` is the subject errors carry.
/// Returns the devid.
/// Preconditions: device_fd and ictx were opened through the same seam.
/// Errors (device_cdev.c, vfio_df_ioctl_bind_iommufd): EBADF (ictx empty, no syscall);
/// EINVAL (already bound; a group-opened descriptor; a VF token on a kernel without the
/// flag (6.12) or for a device that takes none); EBUSY (the group node is open:
/// vfio_device_block_group); EPERM (another owner holds DMA of the group, another
/// iommufd or a kernel driver of a device in it: iommu_device_claim_dma_owner; or MSI
/// not isolated and allow_unsafe_interrupts off: iommufd_device_bind); EACCES (VF token
/// missing or wrong, kernels with the flag: vfio_pci_core_match_token_uuid); EBADFD (not
/// an iommufd); E2BIG (a VF token on a token kernel without the fix 2f03f21fe751, see
/// abi::device_bind_iommufd); the driver's open errors (EIO, ENOMEM ...).
inline result<dev_id> bind(fd_ref device_fd, const iommufd& ictx,
                           const std::optional<feature::vf_token_uuid>& vf_token = std::nullopt,
                           subject about = {}) noexcept {
  constexpr const char* op = "VFIO_DEVICE_BIND_IOMMUFD";
  if (!ictx) return errno_error(EBADF, op, about);
  abi::device_bind_iommufd arg{};
  arg.argsz = sizeof arg;
  arg.iommufd = ictx.fd();
  if (vf_token) {
    arg.flags = abi::bind_flags::token;
    arg.token_uuid_ptr = reinterpret_cast<std::uintptr_t>(vf_token->bytes);
  }
  const int r = ictx.sys().ioctl(device_fd.get(), abi::req::device_bind_iommufd, &arg);
  if (r < 0) return errno_error(-r, op, about);
  return dev_id{arg.out_devid};
}

/// Opens a PCI device through its cdev and binds it to `ictx`: number_of(bdf), then
/// open_node, then bind. The seam is ictx's. Every descriptor opened is closed on failure.
/// The device is named by its address (device::name()).
/// Errors: EBADF (ictx empty, no syscall); those of number_of, open_node and bind (bind's
/// with the device as subject).
inline result<cdev_device> open_device(const host::pci_address& bdf, const iommufd& ictx,
                                       const std::optional<feature::vf_token_uuid>& vf_token = std::nullopt,
                                       const char* sysfs_root = "/sys") noexcept {
  if (!ictx) return errno_error(EBADF, "VFIO_DEVICE_BIND_IOMMUFD", host::subject_of(bdf));
  const auto number = number_of(bdf, ictx.sys(), sysfs_root);
  if (!number) return number.error();
  auto fd = open_node(*number, ictx.sys());
  if (!fd) return fd.error();
  // The device owns the descriptor from here on: a failed bind closes it.
  const auto name = host::to_chars(bdf);
  device dev(std::move(*fd), std::string_view(name.data(), name.size() - 1));
  const auto id = cdev::bind(dev.fd(), ictx, vf_token, host::subject_of(bdf));  // qualified: ADL finds std::bind
  if (!id) return id.error();
  return cdev_device{std::move(dev), *id};
}
/// open_device of a PCI address in text ("0000:00:03.0" or "00:03.0").
/// Errors: errc::invalid_bdf (host::parse_pci_address), no syscall; then as above.
inline result<cdev_device> open_device(std::string_view bdf, const iommufd& ictx,
                                       const std::optional<feature::vf_token_uuid>& vf_token = std::nullopt,
                                       const char* sysfs_root = "/sys") noexcept {
  const auto address = host::parse_pci_address(bdf);
  if (!address) return address.error();
  return open_device(*address, ictx, vf_token, sysfs_root);
}

namespace detail {
inline result<hwpt_id> attach(device& d, pt_id pt, std::uint32_t flags, std::uint32_t pasid) noexcept {
  constexpr const char* op = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
  const subject about = subject::iommufd_object(pt.value);
  if (!d) return errno_error(EBADF, op, about);
  abi::device_attach_iommufd_pt arg{};
  arg.argsz = sizeof arg;
  arg.flags = flags;
  arg.pt_id = pt.value;
  arg.pasid = pasid;
  const int r = d.sys().ioctl(d.fd(), abi::req::device_attach_iommufd_pt, &arg);
  if (r < 0) return errno_error(-r, op, about);
  return hwpt_id{arg.pt_id};
}
inline result<void> detach(device& d, std::uint32_t flags, std::uint32_t pasid) noexcept {
  constexpr const char* op = "VFIO_DEVICE_DETACH_IOMMUFD_PT";
  if (!d) return errno_error(EBADF, op);
  abi::device_detach_iommufd_pt arg{};
  arg.argsz = sizeof arg;
  arg.flags = flags;
  arg.pasid = pasid;
  const int r = d.sys().ioctl(d.fd(), abi::req::device_detach_iommufd_pt, &arg);
  if (r < 0) return errno_error(-r, op);
  return {};
}
}  // namespace detail

/// VFIO_DEVICE_ATTACH_IOMMUFD_PT (flags 0, argsz 16): the device's DMA now goes through
/// `pt`, an IOAS or an HWPT of the iommufd it is bound to. Attaching again replaces the
/// page table without a detach. Returns the HWPT the device is attached to, which the
/// kernel writes back: pt itself for an HWPT, for an IOAS a domain it found or made
/// (device.c, iommufd_device_auto_get_domain).
/// Precondition: d was opened through its cdev and bound (open_device).
/// Errors (device_cdev.c vfio_df_ioctl_attach_pt, iommufd device.c
/// iommufd_device_change_pt): EBADF (empty device, no syscall); ENOENT (no such object);
/// EINVAL (pt is neither an IOAS nor an HWPT; the device is not bound yet); ENOTTY (a
/// group-opened device: vfio-pci answers the number as unknown, vfio_pci_core_ioctl);
/// EADDRINUSE (the device's reserved regions meet mappings or allowed ranges of the
/// IOAS); ENOMEM and EFAULT (pinning the IOAS's mappings into the new domain).
inline result<hwpt_id> attach(device& d, pt_id pt) noexcept { return detail::attach(d, pt, 0, 0); }

/// VFIO_DEVICE_ATTACH_IOMMUFD_PT with VFIO_DEVICE_ATTACH_PASID: attaches one PASID of the
/// device (not in 6.12; v6.15, version unverified). Returns the HWPT attached.
/// Errors: as attach(); EINVAL on kernels without the flag (they require flags 0).
inline result<hwpt_id> attach_pasid(device& d, std::uint32_t pasid, pt_id pt) noexcept {
  return detail::attach(d, pt, abi::attach_flags::pasid, pasid);
}

/// VFIO_DEVICE_DETACH_IOMMUFD_PT (flags 0, argsz 12): the device's DMA is blocked again.
/// Detaching a device that is not attached succeeds (vfio_iommufd_physical_detach_ioas
/// does nothing).
/// Errors: EBADF (empty device, no syscall); EINVAL (not bound); ENOTTY (a group-opened device).
inline result<void> detach(device& d) noexcept { return detail::detach(d, 0, 0); }

/// VFIO_DEVICE_DETACH_IOMMUFD_PT with VFIO_DEVICE_DETACH_PASID (not in 6.12; v6.15,
/// version unverified). Errors: as detach(); EINVAL on kernels without the flag.
inline result<void> detach_pasid(device& d, std::uint32_t pasid) noexcept {
  return detail::detach(d, abi::detach_flags::pasid, pasid);
}

}  // namespace cdev

}  // namespace vfio

#endif  // VFIO_CDEV_HPP_INCLUDED
