// The machine vfioctl looks at: the real host (the Linux syscalls, /sys) or a
// simulated VFIO kernel holding QEMU-like devices (--simulate[=PROFILE]), and
// what it needs to know about PCI functions that VFIO does not say: the list of
// functions, their IDs, class and driver (sysfs), and names from pci.ids.
#ifndef VFIOCTL_MACHINE_HPP_INCLUDED
#define VFIOCTL_MACHINE_HPP_INCLUDED

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vfio/abi/pci.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

namespace vfioctl {

/// The device profiles --simulate offers (sim::profiles), the default first.
inline const std::vector<std::string>& profile_names() {
  static const std::vector<std::string> names = {"e1000e", "nvme", "virtio-net", "edu", "gpu"};
  return names;
}

/// One PCI function as sysfs shows it.
struct function_info {
  std::string bdf;
  unsigned vendor = 0, device = 0;
  std::uint32_t class_code = 0;  ///< base << 16 | sub << 8 | prog-if
  std::string driver;            ///< "" when none is bound
  std::optional<unsigned> group;
  bool bridge = false;  ///< class 06xx (host, ISA, PCI bridges ...): not for VFIO
};

class machine {
 public:
  /// The real host.
  machine() = default;

  /// A simulated host: every profile's device at its usual address, bound to
  /// vfio-pci, runtime-suspended as after boot; e1000e and nvme on a platform
  /// with ACPI power resources (so low power reaches D3cold). The GPU shares
  /// its IOMMU group with its HDMI audio function, as GPUs do. With `native`,
  /// the chosen device and its group siblings are bound to their native
  /// drivers instead (as before `vfioctl bind`). Returns the error text, or "".
  std::string simulate(const std::string& profile, bool native) {
    namespace sim = vfio::testing::sim;
    sim_ = std::make_unique<vfio::testing::simulated_kernel>();
    std::vector<sim::device_description> devices;
    auto e1000e = sim::profiles::e1000e();
    e1000e.power_resources = true;
    auto nvme = sim::profiles::nvme();
    nvme.power_resources = true;
    devices.push_back(std::move(e1000e));
    devices.push_back(std::move(nvme));
    devices.push_back(sim::profiles::virtio_net());
    devices.push_back(sim::profiles::edu());
    devices.push_back(sim::profiles::gpu());
    devices.push_back(gpu_audio());
    for (const auto& b : {sim::profiles::pcie_root_port(), sim::profiles::pcie_root_port("0000:00:1c.0", 8)}) {
      if (auto r = sim_->add_bridge(b); !r) return "add_bridge " + b.bdf + ": " + r.error().message();
      bridges_.push_back(b.bdf);
    }
    const std::size_t chosen = static_cast<std::size_t>(
        std::find(profile_names().begin(), profile_names().end(), profile) - profile_names().begin());
    if (chosen >= profile_names().size()) return "unknown profile";
    const unsigned chosen_group = devices[chosen].iommu_group;
    for (auto& d : devices) {
      if (native && d.iommu_group == chosen_group) d.driver = d.native_driver;
      if (auto r = sim_->add_device(d); !r) return "add_device " + d.bdf + ": " + r.error().message();
      functions_.push_back(d.bdf);
    }
    default_bdf_ = devices[chosen].bdf;
    return "";
  }

  bool simulated() const { return sim_ != nullptr; }
  vfio::syscalls& sys() { return sim_ ? static_cast<vfio::syscalls&>(*sim_) : vfio::default_syscalls(); }
  vfio::testing::simulated_kernel* sim() { return sim_.get(); }
  /// The chosen profile's device (simulated hosts only).
  const std::string& default_bdf() const { return default_bdf_; }

  /// Every PCI function's address, sorted (the real host: the entries of
  /// /sys/bus/pci/devices, which the syscall seam has no call to list).
  std::vector<std::string> addresses() const {
    std::vector<std::string> v;
    if (sim_) {
      v = functions_;
      v.insert(v.end(), bridges_.begin(), bridges_.end());
    } else if (DIR* d = opendir("/sys/bus/pci/devices")) {
      while (const dirent* e = readdir(d))
        if (vfio::host::parse_pci_address(e->d_name)) v.emplace_back(e->d_name);
      closedir(d);
    }
    std::sort(v.begin(), v.end());
    return v;
  }

  /// A sysfs attribute of a function, or nullopt when it cannot be read.
  std::optional<std::string> attribute(const std::string& bdf, const char* leaf) {
    const std::string path = "/sys/bus/pci/devices/" + bdf + "/" + leaf;
    char buf[256];
    auto n = vfio::host::read_attribute(path.c_str(), buf, sizeof buf, sys());
    if (!n) return std::nullopt;
    return std::string(buf, *n);
  }

  function_info describe(const std::string& bdf) {
    function_info f;
    f.bdf = bdf;
    const auto hex = [](const std::optional<std::string>& s) -> unsigned long {
      return s ? std::strtoul(s->c_str(), nullptr, 16) : 0UL;
    };
    f.vendor = static_cast<unsigned>(hex(attribute(bdf, "vendor")));
    f.device = static_cast<unsigned>(hex(attribute(bdf, "device")));
    f.class_code = static_cast<std::uint32_t>(hex(attribute(bdf, "class")));
    // The simulated kernel models only the power attributes of its bridges.
    f.bridge = (f.class_code >> 16) == 0x06 || std::find(bridges_.begin(), bridges_.end(), bdf) != bridges_.end();
    if (auto addr = vfio::host::parse_pci_address(bdf)) {
      char name[128];
      if (auto n = vfio::host::driver_of(*addr, name, sizeof name, sys()); n && *n > 0) f.driver = name;
      if (auto g = vfio::host::iommu_group_of(*addr, sys())) f.group = *g;
    }
    return f;
  }

  /// Every function of IOMMU group `group`.
  std::vector<function_info> group_members(unsigned group) {
    std::vector<function_info> v;
    for (const auto& bdf : addresses()) {
      function_info f = describe(bdf);
      if (f.group && *f.group == group) v.push_back(std::move(f));
    }
    return v;
  }

 private:
  /// The HDMI audio function of the simulated GPU: same IOMMU group (9), bus 02.
  static vfio::testing::sim::device_description gpu_audio() {
    vfio::testing::sim::config_builder b(0x10de, 0x10fa, 0x040300, 0xa1, true);
    b.subsystem(0x10de, 0x12a2).interrupt_pin(2);
    b.bar(0, {std::uint64_t{16} * 1024, false, false, false, 0, true, {}});
    b.pm(0x60, 0x0003, 0x0000);
    b.msi(0x68, 0, true, false);
    b.pcie(0x78, 2, vfio::abi::pci::pcie::type_endpoint, false);
    auto d = b.build("0000:02:00.1");
    d.iommu_group = 9;
    d.native_driver = "snd_hda_intel";
    d.upstream_bridge = "0000:00:1c.0";
    return d;
  }

  std::unique_ptr<vfio::testing::simulated_kernel> sim_;
  std::vector<std::string> functions_, bridges_;
  std::string default_bdf_;
};

/// A driver whose binding keeps an IOMMU group usable through VFIO: none,
/// vfio-pci and its variant drivers, and the drivers that set
/// driver_managed_dma (pci-stub, pcieport); see vfio_group_ioctl_get_status and
/// iommu_group_dma_owner_claimed in drivers/iommu/iommu.c.
inline bool keeps_group_viable(const std::string& driver) {
  return driver.empty() || driver == "pci-stub" || driver == "pcieport" || driver.find("vfio") != std::string::npos;
}

/// The PCI class name (the PCI Code and ID Assignment Specification's), or "".
inline const char* class_name(std::uint32_t class_code) {
  struct entry {
    std::uint32_t code;  ///< base << 8 | sub, or base << 8 | 0xff for "any subclass"
    const char* name;
  };
  static const entry table[] = {
      {0x0000, "Non-VGA unclassified device"},
      {0x0001, "VGA compatible unclassified device"},
      {0x00ff, "Unclassified device"},
      {0x0100, "SCSI storage controller"},
      {0x0101, "IDE interface"},
      {0x0104, "RAID bus controller"},
      {0x0106, "SATA controller"},
      {0x0107, "Serial Attached SCSI controller"},
      {0x0108, "Non-Volatile memory controller"},
      {0x01ff, "Mass storage controller"},
      {0x0200, "Ethernet controller"},
      {0x0207, "Infiniband controller"},
      {0x0280, "Network controller"},
      {0x02ff, "Network controller"},
      {0x0300, "VGA compatible controller"},
      {0x0302, "3D controller"},
      {0x03ff, "Display controller"},
      {0x0401, "Multimedia audio controller"},
      {0x0403, "Audio device"},
      {0x04ff, "Multimedia controller"},
      {0x05ff, "Memory controller"},
      {0x0600, "Host bridge"},
      {0x0601, "ISA bridge"},
      {0x0604, "PCI bridge"},
      {0x06ff, "Bridge"},
      {0x07ff, "Communication controller"},
      {0x0880, "System peripheral"},
      {0x08ff, "Generic system peripheral"},
      {0x0c03, "USB controller"},
      {0x0c05, "SMBus"},
      {0x0cff, "Serial bus controller"},
      {0x0dff, "Wireless controller"},
      {0x10ff, "Encryption controller"},
      {0x11ff, "Signal processing controller"},
      {0x12ff, "Processing accelerators"},
      {0xffff, "Unassigned class"},
  };
  const std::uint32_t sub = class_code >> 8;
  for (const auto& e : table)
    if (e.code == sub) return e.name;
  for (const auto& e : table)
    if (e.code == ((sub & 0xff00) | 0xff)) return e.name;
  return "";
}

/// Vendor and device names from pci.ids (the pciutils database:
/// /usr/share/misc/pci.ids, /usr/share/hwdata/pci.ids), "" when unknown.
struct pci_names {
  std::string vendor, device;
};

/// VFIOCTL_PCI_IDS, when set, is the only file tried; set empty, no names are looked up.
inline pci_names lookup_names(unsigned vendor, unsigned device) {
  pci_names out;
  const char* chosen = std::getenv("VFIOCTL_PCI_IDS");
  const char* candidates[] = {"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"};
  std::FILE* f = nullptr;
  if (chosen != nullptr) {
    if (*chosen) f = std::fopen(chosen, "re");
  } else {
    for (const char* path : candidates)
      if ((f = std::fopen(path, "re"))) break;
  }
  if (!f) return out;
  char line[512];
  char want_vendor[8], want_device[8];
  std::snprintf(want_vendor, sizeof want_vendor, "%04x", vendor);
  std::snprintf(want_device, sizeof want_device, "%04x", device);
  bool in_vendor = false;
  while (std::fgets(line, sizeof line, f)) {
    std::size_t len = std::strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (line[0] == '#' || len == 0) continue;
    if (line[0] == 'C' && line[1] == ' ') break;  // the class section follows the vendors
    if (line[0] != '\t') {
      if (in_vendor) break;
      in_vendor = len > 6 && std::strncmp(line, want_vendor, 4) == 0 && line[4] == ' ';
      if (in_vendor) out.vendor = line + 6;
    } else if (in_vendor && line[1] != '\t' && len > 7 && std::strncmp(line + 1, want_device, 4) == 0 &&
               line[5] == ' ') {
      out.device = line + 7;
      break;
    }
  }
  std::fclose(f);
  return out;
}

}  // namespace vfioctl

#endif  // VFIOCTL_MACHINE_HPP_INCLUDED
