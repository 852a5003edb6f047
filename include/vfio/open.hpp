// vfio::open_device: one call from a PCI address to a usable, DMA-capable device, by
// whichever way the host offers. Through the device's cdev (v6.6+, CONFIG_IOMMUFD and
// CONFIG_VFIO_DEVICE_CDEV): /dev/iommu, an IOAS, /dev/vfio/devices/vfioN bound and
// attached to it. Through its group otherwise: /dev/vfio/vfio, /dev/vfio/N, Type1v2.
// The result owns everything it opened and maps DMA the same way on both paths:
//
//   auto d = vfio::open_device("0000:00:03.0");         // cdev if possible, else group
//   if (!d) return d.error();                            // e.g. "open /dev/vfio/7: EBUSY"
//   d->map_dma(buffer, 0x100000, size);                  // IOAS_MAP or MAP_DMA
//   d->dev().region(0);                                  // the vfio::device as usual
//
// Automatic choice: the cdev path when access("/dev/iommu", R_OK|W_OK) succeeds, the
// device's <sysfs>/bus/pci/devices/<bdf>/vfio-dev lists one vfioN and access() of
// /dev/vfio/devices/vfioN succeeds (the sysfs entry alone is not enough: kernels without
// CONFIG_VFIO_DEVICE_CDEV list it too, vfio_main.c vfio_device_add); the group path
// otherwise. The choice is made once: a failure on the chosen path is reported, not
// retried on the other (a group held open elsewhere makes the cdev bind fail with EBUSY,
// and a bound cdev makes the group open fail with EBUSY).
#ifndef VFIO_OPEN_HPP_INCLUDED
#define VFIO_OPEN_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include <unistd.h>

#include "abi/iommufd.hpp"
#include "abi/vfio.hpp"
#include "cdev.hpp"
#include "container.hpp"
#include "device.hpp"
#include "error.hpp"
#include "group.hpp"
#include "host/pci_address.hpp"
#include "host/sysfs.hpp"
#include "iommufd.hpp"
#include "result.hpp"
#include "syscalls.hpp"

namespace vfio {

/// Which way open_device reaches a device.
enum class open_path : std::uint8_t {
  automatic,  ///< cdev when /dev/iommu and the device's cdev node exist, else group
  cdev,       ///< /dev/vfio/devices/vfioN bound to a new iommufd, attached to a new IOAS
  group,      ///< /dev/vfio/N in a new container with the Type1v2 IOMMU
};

inline const char* to_string(open_path p) noexcept {
  switch (p) {
    case open_path::automatic: return "automatic";
    case open_path::cdev: return "cdev";
    case open_path::group: return "group";
  }
  return "?";
}

/// How open_device proceeds.
struct open_options {
  open_path path = open_path::automatic;
  const char* sysfs_root = "/sys";                   ///< where bus/pci/devices lives
  const char* iommufd_path = iommufd::default_path;  ///< the iommufd node (cdev path)
  /// The container node (group path). "/dev/iommu" gives iommufd's VFIO compatibility
  /// container on a kernel with iommufd but without device cdevs (container.hpp).
  const char* container_path = "/dev/vfio/vfio";
};

/// What the device may do with a DMA mapping; the same bits on both paths.
namespace dma_access {
inline constexpr std::uint32_t read = 1U << 0;   ///< the device reads the memory
inline constexpr std::uint32_t write = 1U << 1;  ///< the device writes the memory
}  // namespace dma_access

/// A device opened by open_device, with the IOMMU context it was opened into: an
/// iommufd and an IOAS (cdev path) or a container and a group (group path). Move-only.
/// Destruction closes the device first, then the IOAS and iommufd, or the group and
/// the container, so the kernel tears down in its own order.
class opened_device {
 public:
  opened_device() noexcept = default;
  opened_device(opened_device&& o) noexcept
      : container_(std::move(o.container_)),
        group_(std::move(o.group_)),
        iommufd_(std::move(o.iommufd_)),
        ioas_(std::move(o.ioas_)),
        dev_(std::move(o.dev_)),
        devid_(std::exchange(o.devid_, dev_id{})),
        path_(std::exchange(o.path_, open_path::automatic)) {}
  opened_device& operator=(opened_device&& o) noexcept {
    if (this != &o) {
      (void)close();
      container_ = std::move(o.container_);
      group_ = std::move(o.group_);
      iommufd_ = std::move(o.iommufd_);
      ioas_ = std::move(o.ioas_);
      dev_ = std::move(o.dev_);
      devid_ = o.devid_;
      path_ = std::exchange(o.path_, open_path::automatic);
    }
    return *this;
  }
  opened_device(const opened_device&) = delete;
  opened_device& operator=(const opened_device&) = delete;
  ~opened_device() { (void)close(); }

  /// The device: regions, IRQs, features, reset and power as from group::open_device.
  device& dev() noexcept { return dev_; }
  const device& dev() const noexcept { return dev_; }
  /// The path taken: open_path::cdev or open_path::group (automatic once closed or empty).
  open_path path() const noexcept { return path_; }
  explicit operator bool() const noexcept { return static_cast<bool>(dev_); }

  /// The iommufd (cdev path; empty on the group path).
  vfio::iommufd& iommu_fd() noexcept { return iommufd_; }
  /// The IOAS the device is attached to (cdev path; empty on the group path).
  const vfio::ioas& address_space() const noexcept { return ioas_; }
  /// The device's id in the iommufd (cdev path; 0 on the group path).
  dev_id devid() const noexcept { return devid_; }
  /// The container (group path; empty on the cdev path).
  vfio::container& iommu_container() noexcept { return container_; }
  /// The group (group path; empty on the cdev path).
  vfio::group& iommu_group() noexcept { return group_; }

  /// Maps [vaddr, vaddr + size) of this process at [iova, iova + size) for the device:
  /// IOMMU_IOAS_MAP with FIXED_IOVA (cdev path) or VFIO_IOMMU_MAP_DMA (group path).
  /// `access`: dma_access bits (at least one).
  /// Preconditions: vaddr, iova and size are multiples of the IOMMU page (4 KiB on x86);
  /// the range lies in a usable IOVA range; the memory stays mapped until unmapped here.
  /// Errors: EBADF (nothing open, no syscall); errc::invalid_argument from the "DMA
  /// access check" (no access bit, or unknown bits), no syscall; then iommufd::map_fixed's
  /// (EEXIST overlap, EINVAL misaligned or reserved, EFAULT memory not mapped or
  /// read-only with write, EOVERFLOW ...) or container::map_dma's (EEXIST, EINVAL,
  /// EFAULT, ENOSPC, ENOMEM ...).
  result<void> map_dma(std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size,
                       std::uint32_t access = dma_access::read | dma_access::write) noexcept {
    constexpr std::uint32_t all = dma_access::read | dma_access::write;
    if (!(access & all) || (access & ~all)) return error(errc::invalid_argument, "DMA access check");
    if (path_ == open_path::cdev) {
      std::uint32_t flags = 0;
      if (access & dma_access::read) flags |= abi::iommufd::map_flags::readable;
      if (access & dma_access::write) flags |= abi::iommufd::map_flags::writeable;
      auto r = iommufd_.map_fixed(ioas_.id(), iova, vaddr, size, flags);
      if (!r) return r.error();
      return {};
    }
    if (path_ == open_path::group) {
      std::uint32_t flags = 0;
      if (access & dma_access::read) flags |= abi::dma_map_flags::read;
      if (access & dma_access::write) flags |= abi::dma_map_flags::write;
      return container_.map_dma(vaddr, iova, size, flags);
    }
    return errno_error(EBADF, "DMA map");
  }
  /// map_dma of the caller's memory, without a pointer cast. As map_dma(vaddr, ...).
  result<void> map_dma(void* memory, std::uint64_t iova, std::size_t size,
                       std::uint32_t access = dma_access::read | dma_access::write) noexcept {
    return map_dma(reinterpret_cast<std::uintptr_t>(memory), iova, size, access);
  }
  /// map_dma of read-only memory: the device may only read it. As map_dma(vaddr, ...).
  result<void> map_dma(const void* memory, std::uint64_t iova, std::size_t size) noexcept {
    return map_dma(reinterpret_cast<std::uintptr_t>(memory), iova, size, dma_access::read);
  }

  /// Unmaps the mappings inside [iova, iova + size): IOMMU_IOAS_UNMAP (cdev path) or
  /// VFIO_IOMMU_UNMAP_DMA (group path, Type1v2). Returns the bytes unmapped. A mapping
  /// crossing either end fails the call on both paths.
  /// Errors: EBADF (nothing open, no syscall); then iommufd::unmap's (ENOENT: nothing
  /// mapped there, or a mapping crosses an end; EINVAL size 0; EOVERFLOW) or
  /// container::unmap_dma's (EINVAL: misaligned, or a mapping crosses an end; nothing
  /// mapped there is a success with 0 on this path).
  result<std::uint64_t> unmap_dma(std::uint64_t iova, std::uint64_t size) noexcept {
    if (path_ == open_path::cdev) return iommufd_.unmap(ioas_.id(), iova, size);
    if (path_ == open_path::group) return container_.unmap_dma(iova, size);
    return errno_error(EBADF, "DMA unmap");
  }

  /// Closes everything now, in order: the device (on the cdev path this unbinds it from
  /// the iommufd: vfio_df_unbind_iommufd), then the IOAS and the iommufd, or the group
  /// and the container. Every step runs even after a failure; the first error is
  /// returned (a failing close of the group or container descriptor is not reported).
  /// Empty afterwards.
  /// Errors: close's errno of the device or iommufd descriptor; IOMMU_DESTROY's of the IOAS.
  result<void> close() noexcept {
    std::optional<error> first;
    const auto keep = [&first](const result<void>& r) {
      if (!r && !first) first = r.error();
    };
    keep(dev_.close());
    keep(ioas_.destroy());
    keep(iommufd_.close());
    group_ = vfio::group{};  // closes the group node: the container loses its last group
    container_ = vfio::container{};
    devid_ = dev_id{};
    path_ = open_path::automatic;
    if (first) return *first;
    return {};
  }

 private:
  friend result<opened_device> open_device(const host::pci_address&, syscalls&, const open_options&) noexcept;

  // Declaration order is the reverse of the teardown order.
  vfio::container container_;
  vfio::group group_;
  vfio::iommufd iommufd_;
  vfio::ioas ioas_;
  device dev_;
  dev_id devid_{};
  open_path path_ = open_path::automatic;
};

namespace detail {

/// Whether the cdev path is there for `bdf`: access(R_OK|W_OK) of the iommufd node, the
/// device's vfio-dev entry (cdev::number_of) and access of its node. Any failure,
/// ENOSYS from a seam without access(2) included, means no.
inline bool cdev_available(const host::pci_address& bdf, syscalls& sys, const open_options& o) noexcept {
  if (sys.access(o.iommufd_path, R_OK | W_OK) != 0) return false;
  const auto number = cdev::number_of(bdf, sys, o.sysfs_root);
  if (!number) return false;
  return sys.access(cdev::node_path_of(*number).text, R_OK | W_OK) == 0;
}

}  // namespace detail

/// Opens PCI device `bdf` (bound to vfio-pci) ready for DMA, by `options.path`:
/// - cdev: iommufd::open(options.iommufd_path), cdev::open_device (vfio-dev listing,
///   open of /dev/vfio/devices/vfioN, VFIO_DEVICE_BIND_IOMMUFD), IOMMU_IOAS_ALLOC,
///   VFIO_DEVICE_ATTACH_IOMMUFD_PT of the IOAS;
/// - group: host::iommu_group_of (readlink of the iommu_group link),
///   container::open(options.container_path), group::open (with its viability check),
///   VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU(Type1v2), VFIO_GROUP_GET_DEVICE_FD;
/// - automatic: the cdev path when detail::cdev_available says so (two access(2) calls
///   and the vfio-dev listing), else the group path.
/// Every descriptor opened is closed, and the IOAS destroyed, on every failure.
/// Preconditions: the device is bound to vfio-pci; the caller may open the nodes.
/// Errors (each with the operation and the subject of the step that failed):
/// cdev path: iommufd::open's (ENOENT no /dev/iommu; EACCES), cdev::number_of's
/// (ENOENT, errc::parse_error), cdev::open_node's (ENOENT, EACCES), cdev::bind's (EBUSY
/// the group is open; EPERM the group's DMA is owned elsewhere; EINVAL already bound),
/// ioas_alloc's (ENOMEM), cdev::attach's (EADDRINUSE, ENOMEM, EFAULT);
/// group path: host::iommu_group_of's (ENOENT no IOMMU group), container::open's,
/// group::open's (ENOENT, EBUSY the group or a cdev of it is open, EACCES,
/// errc::group_not_viable), set_container's (EPERM), set_iommu's
/// (errc::extension_unsupported; ENODEV from an iommufd before the group attached),
/// group::open_device's (ENODEV, EINVAL; EPERM from an iommufd container, which claims
/// the group's DMA only here).
inline result<opened_device> open_device(const host::pci_address& bdf, syscalls& sys = default_syscalls(),
                                         const open_options& options = {}) noexcept {
  open_path path = options.path;
  if (path == open_path::automatic)
    path = detail::cdev_available(bdf, sys, options) ? open_path::cdev : open_path::group;
  opened_device out;
  if (path == open_path::cdev) {
    auto ictx = iommufd::open(options.iommufd_path, sys);
    if (!ictx) return ictx.error();
    out.iommufd_ = std::move(*ictx);
    auto bound = cdev::open_device(bdf, out.iommufd_, std::nullopt, options.sysfs_root);
    if (!bound) return bound.error();
    out.dev_ = std::move(bound->dev);
    out.devid_ = bound->devid;
    auto space = out.iommufd_.ioas_alloc();
    if (!space) return space.error();
    out.ioas_ = std::move(*space);
    auto attached = cdev::attach(out.dev_, out.ioas_.id());
    if (!attached) return attached.error();
    out.path_ = open_path::cdev;
    return out;
  }
  auto number = host::iommu_group_of(bdf, sys, options.sysfs_root);
  if (!number) return number.error();
  auto c = container::open(options.container_path, sys);
  if (!c) return c.error();
  out.container_ = std::move(*c);
  auto g = group::open(*number, sys);
  if (!g) return g.error();
  out.group_ = std::move(*g);
  if (auto r = out.group_.set_container(out.container_); !r) return r.error();
  if (auto r = out.container_.set_iommu(abi::extension::type1v2_iommu); !r) return r.error();
  auto d = out.group_.open_device(bdf);
  if (!d) return d.error();
  out.dev_ = std::move(*d);
  out.path_ = open_path::group;
  return out;
}

/// open_device of a PCI address in text ("0000:00:03.0" or "00:03.0").
/// Errors: errc::invalid_bdf (host::parse_pci_address), no syscall; then as above.
inline result<opened_device> open_device(std::string_view bdf, syscalls& sys = default_syscalls(),
                                         const open_options& options = {}) noexcept {
  const auto address = host::parse_pci_address(bdf);
  if (!address) return address.error();
  return open_device(*address, sys, options);
}

}  // namespace vfio

#endif  // VFIO_OPEN_HPP_INCLUDED
