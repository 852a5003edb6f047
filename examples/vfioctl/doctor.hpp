// `vfioctl doctor`: why a PCI device can or cannot be used through VFIO, each
// cause with the command that fixes it. Built from the public sysfs helpers;
// it has the shape of a library diagnosis (findings, each with a cause, a
// subject, a sentence and a fixing command) so that one can replace it.
#ifndef VFIOCTL_DOCTOR_HPP_INCLUDED
#define VFIOCTL_DOCTOR_HPP_INCLUDED

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <vfio/vfio.hpp>

#include "machine.hpp"

namespace vfioctl {

/// What stands between a device and VFIO, in the order doctor checks. The
/// names are stable (scripts match on them); group_busy is found by opening
/// the group node, which only an open can tell.
enum class cause {
  device_absent,           ///< no such PCI function
  vfio_pci_not_loaded,     ///< /sys/bus/pci/drivers/vfio-pci absent
  iommu_off,               ///< the device has no IOMMU group: the IOMMU is off or absent
  device_unbound,          ///< no driver bound to the device
  device_bound_elsewhere,  ///< the device is bound to a driver other than vfio-pci
  group_not_viable,        ///< another function of the group holds a DMA-owning driver (one finding each)
  group_node_denied,       ///< /dev/vfio/N cannot be opened read-write by this user
  container_node_denied,   ///< /dev/vfio/vfio cannot be opened read-write by this user
  group_busy,              ///< another process holds /dev/vfio/N open
  memlock_too_low,         ///< RLIMIT_MEMLOCK limits DMA mappings (a warning, not a blocker)
};

inline const char* to_string(cause c) {
  switch (c) {
    case cause::device_absent: return "device_absent";
    case cause::vfio_pci_not_loaded: return "vfio_pci_not_loaded";
    case cause::iommu_off: return "iommu_off";
    case cause::device_unbound: return "device_unbound";
    case cause::device_bound_elsewhere: return "device_bound_elsewhere";
    case cause::group_not_viable: return "group_not_viable";
    case cause::group_node_denied: return "group_node_denied";
    case cause::container_node_denied: return "container_node_denied";
    case cause::group_busy: return "group_busy";
    case cause::memlock_too_low: return "memlock_too_low";
  }
  return "?";
}

struct finding {
  cause what;
  std::string subject;   ///< the BDF, device node or limit concerned
  std::string sentence;  ///< what is wrong, in one sentence
  std::string fix;       ///< the command that fixes it ("" when none applies)
  bool blocking = true;  ///< false: VFIO works, with a limitation
};

/// Checks, in order: the device, the vfio-pci driver, the IOMMU group, the
/// bound driver, the drivers of the group's other functions, access to the
/// device nodes, and RLIMIT_MEMLOCK (real host only). Each check that cannot
/// run because an earlier one failed is skipped.
inline std::vector<finding> diagnose(machine& m, const vfio::host::pci_address& addr) {
  std::vector<finding> out;
  vfio::syscalls& sys = m.sys();
  const std::string bdf = vfio::host::to_chars(addr).data();
  const std::string dev = "/sys/bus/pci/devices/" + bdf;
  char link[512];
  if (sys.readlink(dev.c_str(), link, sizeof link) < 0) {
    out.push_back({cause::device_absent, bdf, "there is no PCI device " + bdf + ".", "lspci -D"});
    return out;
  }
  const int drv = sys.open("/sys/bus/pci/drivers/vfio-pci", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (drv >= 0)
    sys.close(drv);
  else
    out.push_back({cause::vfio_pci_not_loaded, "vfio-pci", "the vfio-pci driver is not loaded.", "modprobe vfio-pci"});

  auto group = vfio::host::iommu_group_of(addr, sys);
  if (!group) {
    out.push_back({cause::iommu_off, bdf, "the device has no IOMMU group: the IOMMU is off or the platform has none.",
                   "add intel_iommu=on (Intel) or amd_iommu=on (AMD) to the kernel command line, then reboot"});
    return out;
  }
  const function_info self = m.describe(bdf);
  if (self.driver != "vfio-pci")
    out.push_back({self.driver.empty() ? cause::device_unbound : cause::device_bound_elsewhere, bdf,
                   self.driver.empty() ? "the device is bound to no driver."
                                       : "the device is bound to " + self.driver + ", not vfio-pci.",
                   "vfioctl bind " + bdf});
  for (const auto& f : m.group_members(*group)) {
    if (f.bdf == bdf || keeps_group_viable(f.driver)) continue;
    out.push_back({cause::group_not_viable, f.bdf,
                   "IOMMU group " + std::to_string(*group) + " also holds " + f.bdf + " (" + f.driver +
                       "): the group is not viable.",
                   "vfioctl bind " + bdf + " --group"});
  }

  // The group node exists only while a device of the group is bound to vfio-pci.
  const std::string node = "/dev/vfio/" + std::to_string(*group);
  const int g = sys.open(node.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (g >= 0) {
    sys.close(g);
  } else if (g == -EACCES || g == -EPERM) {
    out.push_back({cause::group_node_denied, node, "this user may not open " + node + ".",
                   "sudo chown $(id -un) " + node + "   (or a udev rule: SUBSYSTEM==\"vfio\", OWNER=\"<user>\")"});
  } else if (g == -EBUSY) {
    out.push_back({cause::group_busy, node, node + " is open in another process (a running VM?).", "fuser -v " + node});
  }
  const int c = sys.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  if (c >= 0)
    sys.close(c);
  else if (c == -EACCES || c == -EPERM)
    out.push_back({cause::container_node_denied, "/dev/vfio/vfio", "this user may not open /dev/vfio/vfio.",
                   "sudo chmod 0666 /dev/vfio/vfio"});

  // vfio_iommu_type1.c vfio_lock_acct: pinned pages count against
  // RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK.
  struct rlimit lim {};
  if (!m.simulated() && geteuid() != 0 && getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    out.push_back({cause::memlock_too_low, "RLIMIT_MEMLOCK",
                   "locked memory is limited to " + std::to_string(lim.rlim_cur / 1024) +
                       " KiB: DMA mappings beyond that fail with ENOMEM.",
                   "ulimit -l unlimited   (or memlock in /etc/security/limits.conf)", false});
  }
  return out;
}

}  // namespace vfioctl

#endif  // VFIOCTL_DOCTOR_HPP_INCLUDED
