// The replies of vfio-pci's information ioctls, byte for byte: device info,
// region info with its capability chain, IRQ info and PCI hot-reset info
// (drivers/vfio/pci/vfio_pci_core.c vfio_pci_ioctl_get_info,
// vfio_pci_ioctl_get_region_info, vfio_pci_ioctl_get_irq_info,
// vfio_pci_ioctl_get_pci_hot_reset_info; drivers/vfio/vfio_main.c
// vfio_info_cap_add / vfio_info_cap_shift).
#ifndef VFIO_TESTING_SIM_DEVICE_INFO_HPP_INCLUDED
#define VFIO_TESTING_SIM_DEVICE_INFO_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../abi/vfio.hpp"

namespace vfio::testing::sim {

/// VFIO_PCI_OFFSET_SHIFT (drivers/vfio/pci/vfio_pci_priv.h): a region's file
/// offset is its index << 40 (VFIO_PCI_INDEX_TO_OFFSET).
inline constexpr unsigned region_offset_shift = 40;
inline constexpr std::uint64_t region_offset_mask = (std::uint64_t{1} << region_offset_shift) - 1;
constexpr std::uint64_t region_offset(std::uint32_t index) noexcept {
  return static_cast<std::uint64_t>(index) << region_offset_shift;
}
constexpr std::uint32_t region_index(std::uint64_t offset) noexcept {
  return static_cast<std::uint32_t>(offset >> region_offset_shift);
}

/// A region as vfio-pci describes it.
struct region_report {
  std::uint32_t flags = 0;
  std::uint64_t size = 0;
  bool msix_mappable = false;  ///< VFIO_REGION_INFO_CAP_MSIX_MAPPABLE
  bool has_type = false;       ///< VFIO_REGION_INFO_CAP_TYPE
  std::uint32_t type = 0;
  std::uint32_t subtype = 0;
  std::vector<abi::sparse_mmap_area> sparse;  ///< VFIO_REGION_INFO_CAP_SPARSE_MMAP
};

/// A capability chain under construction (struct vfio_info_cap).
class info_caps {
 public:
  explicit info_caps(bool align8) noexcept : align8_(align8) {}

  /// vfio_info_cap_add: appends at the tail; since v6.6 each capability is
  /// padded to 8 bytes ("vfio: align capability structures").
  void add(const void* cap, std::size_t size) {
    const std::size_t padded = align8_ ? ((size + 7) & ~std::size_t{7}) : size;
    const std::size_t at = buf_.size();
    buf_.resize(at + padded, 0);
    std::memcpy(buf_.data() + at, cap, size);
    starts_.push_back(at);
  }
  std::size_t size() const noexcept { return buf_.size(); }
  bool empty() const noexcept { return buf_.empty(); }

  /// vfio_info_cap_shift: `next` offsets counted from the start of the
  /// user's buffer, the chain beginning `base` bytes in; 0 ends it.
  const std::vector<unsigned char>& shifted(std::size_t base) {
    for (std::size_t i = 0; i < starts_.size(); ++i) {
      const std::uint32_t next = i + 1 < starts_.size() ? static_cast<std::uint32_t>(base + starts_[i + 1]) : 0;
      std::memcpy(buf_.data() + starts_[i] + offsetof(abi::info_cap_header, next), &next, sizeof next);
    }
    return buf_;
  }

 private:
  bool align8_;
  std::vector<unsigned char> buf_;
  std::vector<std::size_t> starts_;
};

/// VFIO_DEVICE_GET_INFO. minsz is offsetofend(num_irqs) = 16; from argsz 20
/// (offsetofend of vfio_iommu_type1_info's cap_offset, which the code uses
/// for "capsz") cap_offset is written too. No device capabilities: zPCI is
/// s390 only and the atomic-completer capability needs DEVCAP2 AtomicOp bits
/// the profiles do not set.
inline int reply_device_info(void* arg, std::uint32_t flags, std::uint32_t num_regions,
                             std::uint32_t num_irqs) noexcept {
  if (!arg) return -EFAULT;
  abi::device_info info{};
  constexpr std::size_t minsz = offsetof(abi::device_info, cap_offset);  // 16
  constexpr std::size_t capsz = offsetof(abi::device_info, pad);         // 20
  std::memcpy(&info, arg, minsz);
  if (info.argsz < minsz) return -EINVAL;
  std::size_t copy = minsz;
  if (info.argsz >= capsz) {
    copy = capsz;
    info.cap_offset = 0;
  }
  info.flags = flags;
  info.num_regions = num_regions;
  info.num_irqs = num_irqs;
  std::memcpy(arg, &info, copy);
  return 0;
}

/// VFIO_DEVICE_GET_REGION_INFO once the region is known. The 32-byte header
/// comes back with offset = index << 40; a chain that does not fit in argsz
/// raises argsz instead (the call still succeeds, cap_offset 0). Without
/// capabilities the caller's cap_offset is returned unchanged, as the kernel
/// copies back what it read.
inline int reply_region_info(void* arg, const region_report& r, bool align8) {
  abi::region_info info{};
  constexpr std::size_t minsz = sizeof(abi::region_info);  // offsetofend(offset) = 32
  std::memcpy(&info, arg, minsz);
  info.offset = region_offset(info.index);
  info.size = r.size;
  info.flags = r.flags;
  info_caps caps(align8);
  if (!r.sparse.empty()) {
    std::vector<unsigned char> c(sizeof(abi::region_info_cap_sparse_mmap) +
                                 r.sparse.size() * sizeof(abi::sparse_mmap_area));
    abi::region_info_cap_sparse_mmap hdr{};
    hdr.header = {abi::region_cap::sparse_mmap, 1, 0};
    hdr.nr_areas = static_cast<std::uint32_t>(r.sparse.size());
    std::memcpy(c.data(), &hdr, sizeof hdr);
    std::memcpy(c.data() + sizeof hdr, r.sparse.data(), r.sparse.size() * sizeof(abi::sparse_mmap_area));
    caps.add(c.data(), c.size());
  }
  if (r.msix_mappable) {
    const abi::info_cap_header h{abi::region_cap::msix_mappable, 1, 0};
    caps.add(&h, sizeof h);
  }
  if (r.has_type) {
    abi::region_info_cap_type t{};
    t.header = {abi::region_cap::type, 1, 0};
    t.type = r.type;
    t.subtype = r.subtype;
    caps.add(&t, sizeof t);
  }
  if (!caps.empty()) {
    info.flags |= abi::region_flags::caps;
    if (info.argsz < sizeof info + caps.size()) {
      info.argsz = static_cast<std::uint32_t>(sizeof info + caps.size());
      info.cap_offset = 0;
    } else {
      const auto& bytes = caps.shifted(sizeof info);
      std::memcpy(static_cast<unsigned char*>(arg) + sizeof info, bytes.data(), bytes.size());
      info.cap_offset = sizeof info;
    }
  }
  std::memcpy(arg, &info, minsz);
  return 0;
}

/// VFIO_DEVICE_GET_IRQ_INFO once the index is valid: EVENTFD, plus MASKABLE
/// and AUTOMASKED for INTx, NORESIZE for the others except MSI-X with
/// dynamic allocation (v6.5, vdev->has_dyn_msix).
inline int reply_irq_info(void* arg, std::uint32_t count, bool dynamic_msix) noexcept {
  abi::irq_info info{};
  std::memcpy(&info, arg, sizeof info);
  info.flags = abi::irq_info_flags::eventfd;
  info.count = count;
  if (info.index == abi::pci_irq::intx)
    info.flags |= abi::irq_info_flags::maskable | abi::irq_info_flags::automasked;
  else if (info.index != abi::pci_irq::msix || !dynamic_msix)
    info.flags |= abi::irq_info_flags::noresize;
  std::memcpy(arg, &info, sizeof info);
  return 0;
}

/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO once the affected devices are known:
/// -ENOSPC with `count` filled in (the 12-byte header copied back) when the
/// array does not fit; flags are 0 then and for group-opened devices.
inline int reply_hot_reset_info(void* arg, const std::vector<abi::pci_dependent_device>& devices,
                                std::uint32_t flags = 0) noexcept {
  abi::pci_hot_reset_info hdr{};
  std::memcpy(&hdr, arg, sizeof hdr);
  hdr.flags = 0;
  hdr.count = static_cast<std::uint32_t>(devices.size());
  const std::size_t need = sizeof hdr + devices.size() * sizeof(abi::pci_dependent_device);
  if (hdr.argsz < need) {
    std::memcpy(arg, &hdr, sizeof hdr);
    return -ENOSPC;
  }
  hdr.flags = flags;  // the cdev flags come with the filled array only
  std::memcpy(arg, &hdr, sizeof hdr);
  if (!devices.empty())
    std::memcpy(static_cast<unsigned char*>(arg) + sizeof hdr, devices.data(),
                devices.size() * sizeof(abi::pci_dependent_device));
  return 0;
}

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_DEVICE_INFO_HPP_INCLUDED
