// PCI hot reset across groups: which devices a slot or bus reset of one device also
// resets, which of them the caller owns (through the VFIO groups it holds), and the
// reset itself with the owned group descriptors.
//
// The kernel resets only when the caller proves ownership of every affected device:
// for a group-opened device, VFIO_DEVICE_PCI_HOT_RESET must carry a descriptor of each
// affected device's group (vfio_pci_ioctl_pci_hot_reset_groups ->
// vfio_pci_dev_set_hot_reset in drivers/vfio/pci/vfio_pci_core.c answers EINVAL
// otherwise, without saying which). So the plan is made in user space first, from
// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO (vfio_pci_ioctl_get_pci_hot_reset_info): each
// listed device is matched to an owned group by group number, and the ones without an
// owned group are named, as QEMU does ("depends on a device not owned").
// For a device opened through its cdev (v6.6+), the kernel reports ownership itself
// (abi::hot_reset_flags::dev_id, a devid of abi::pci_devid::not_owned) and takes an
// empty descriptor list.
#ifndef VFIO_HOT_RESET_HPP_INCLUDED
#define VFIO_HOT_RESET_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "abi/vfio.hpp"
#include "device.hpp"
#include "error.hpp"
#include "group.hpp"
#include "host/pci_address.hpp"
#include "result.hpp"
#include "span.hpp"

namespace vfio {

/// A group the caller holds, by number and descriptor. Converts from a vfio::group.
struct owned_group {
  unsigned number = 0;
  int fd = -1;
  owned_group() noexcept = default;
  owned_group(unsigned n, int descriptor) noexcept : number(n), fd(descriptor) {}
  owned_group(const group& g) noexcept : number(g.number()), fd(g.fd()) {}  // NOLINT: implicit by design
};

/// One device a hot reset affects.
struct hot_reset_dependent {
  host::pci_address address;
  std::uint32_t group = 0;  ///< IOMMU group (0 with dev_id reporting)
  std::uint32_t devid = 0;  ///< iommufd device id (dev_id reporting only)
  bool owned = false;       ///< its group is among the owned ones (dev_id: the kernel says so)
};

/// What a hot reset of a device needs.
struct hot_reset_plan {
  std::uint32_t flags = 0;  ///< abi::hot_reset_flags of the info reply
  std::vector<hot_reset_dependent> devices;
  /// The owned groups' descriptors the reset passes: one per distinct group of the
  /// listed devices (listing order). Empty with dev_id reporting.
  std::vector<int> group_fds;

  /// Every affected device is owned: hot_reset() can proceed.
  bool complete() const noexcept {
    for (const auto& d : devices)
      if (!d.owned) return false;
    return true;
  }
  /// The affected devices the caller does not own.
  std::vector<hot_reset_dependent> not_owned() const noexcept {
    std::vector<hot_reset_dependent> out;
    for (const auto& d : devices)
      if (!d.owned) out.push_back(d);
    return out;
  }
};

/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO through device::pci_hot_reset_info(), then each
/// listed device matched to `owned` by group number. Makes no other syscall.
/// Errors: those of device::pci_hot_reset_info() (ENODEV: neither slot nor bus reset
/// possible; EPERM: a device of the set has no IOMMU group; EBADF; ENOMEM ...).
inline result<hot_reset_plan> plan_hot_reset(device& dev, span<const owned_group> owned) noexcept {
  auto info = dev.pci_hot_reset_info();
  if (!info) return info.error();
  hot_reset_plan plan;
  plan.flags = info->flags;
  const bool by_devid = (info->flags & abi::hot_reset_flags::dev_id) != 0;
  plan.devices.reserve(info->devices.size());  // at most detail::max_hot_reset_devices
  plan.group_fds.reserve(info->devices.size());
  for (const auto& e : info->devices) {
    hot_reset_dependent d;
    d.address.domain = e.segment;
    d.address.bus = e.bus;
    d.address.device = static_cast<std::uint8_t>(e.devfn >> 3);
    d.address.function = static_cast<std::uint8_t>(e.devfn & 7);
    if (by_devid) {
      d.devid = e.devid;
      d.owned = e.devid != abi::pci_devid::not_owned;
    } else {
      d.group = e.group_id;
      for (const auto& g : owned) {
        if (g.number != e.group_id || g.fd < 0) continue;
        d.owned = true;
        bool listed = false;
        for (int fd : plan.group_fds) listed = listed || fd == g.fd;
        if (!listed) plan.group_fds.push_back(g.fd);
        break;
      }
    }
    plan.devices.push_back(d);
  }
  return plan;
}

/// Plans (plan_hot_reset) and, when every affected device is owned, issues
/// VFIO_DEVICE_PCI_HOT_RESET with the owned groups' descriptors
/// (device::pci_hot_reset). When some are not, no reset is attempted and the error is
/// EPERM; call plan_hot_reset() to learn which (hot_reset_plan::not_owned()).
/// Errors: EPERM ("depends on a device not owned"); those of plan_hot_reset() and of
/// device::pci_hot_reset() (EINVAL, EAGAIN: a device lock is contended, EBUSY ...).
inline result<void> hot_reset(device& dev, span<const owned_group> owned) noexcept {
  auto plan = plan_hot_reset(dev, owned);
  if (!plan) return plan.error();
  if (!plan->complete()) return errno_error(EPERM, "hot reset: depends on a device not owned");
  return dev.pci_hot_reset(span<const int>(plan->group_fds.data(), plan->group_fds.size()));
}

}  // namespace vfio

#endif  // VFIO_HOT_RESET_HPP_INCLUDED
