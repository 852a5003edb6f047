// The virtual sysfs of a simulated kernel: which paths exist, how the
// /sys/bus/pci/devices links resolve to /sys/devices/pci0000:00/..., the
// relative targets of the iommu_group, driver and firmware_node links, and
// the parsing sysfs store methods apply (sysfs_streq, kstrtoul base 0).
#ifndef VFIO_TESTING_SIM_SYSFS_HPP_INCLUDED
#define VFIO_TESTING_SIM_SYSFS_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "function_ref.hpp"

namespace vfio::testing::sim {

/// What a sysfs path names.
struct sysfs_ref {
  enum class kind {
    none,           ///< no such path (-ENOENT)
    directory,      ///< a plain directory (/sys, /sys/bus/pci/devices, ...)
    device,         ///< a PCI function's directory
    device_link,    ///< /sys/bus/pci/devices/<bdf> itself (a symlink to the directory)
    device_attr,    ///< an attribute or subdirectory of a function
    driver_dir,     ///< /sys/bus/pci/drivers/<name>
    driver_bind,    ///< /sys/bus/pci/drivers/<name>/bind
    driver_unbind,  ///< /sys/bus/pci/drivers/<name>/unbind
    drivers_probe,  ///< /sys/bus/pci/drivers_probe
    module_dir,     ///< /sys/module/<attr>
    iommu_group,    ///< /sys/kernel/iommu_groups/<group>
    group_members,  ///< /sys/kernel/iommu_groups/<group>/devices
    group_member,   ///< /sys/kernel/iommu_groups/<group>/devices/<bdf> (a link to the function)
  };
  kind k = kind::none;
  std::string bdf;     ///< the function (device, device_link, device_attr)
  std::string attr;    ///< e.g. "power/control", "firmware_node/power_resources_D3hot"
  std::string driver;  ///< driver_* kinds
  unsigned group = 0;  ///< iommu_group, group_members, group_member
};

/// The names sysfs_ref::device_attr may carry for a PCI function.
enum class attr_type { file_ro, file_rw, file_wo, binary, link, directory };

struct attr_info {
  const char* name;
  attr_type type;
};

/// The attributes a simulated function has (the subset of
/// drivers/pci/pci-sysfs.c, drivers/base/power/sysfs.c and the ACPI glue
/// that the library reads). firmware_node* exist only with an ACPI
/// companion; power_resources_D3hot only with _PR3; firmware_node/power_state
/// only when the platform manages the power; driver only when bound.
inline const std::vector<attr_info>& pci_attributes() {
  static const std::vector<attr_info> all = {
      {"vendor", attr_type::file_ro},
      {"device", attr_type::file_ro},
      {"subsystem_vendor", attr_type::file_ro},
      {"subsystem_device", attr_type::file_ro},
      {"class", attr_type::file_ro},
      {"revision", attr_type::file_ro},
      {"config", attr_type::binary},
      {"iommu_group", attr_type::link},
      {"driver", attr_type::link},
      {"driver_override", attr_type::file_rw},
      {"d3cold_allowed", attr_type::file_rw},
      {"reset_method", attr_type::file_rw},
      {"power_state", attr_type::file_ro},
      {"power", attr_type::directory},
      {"power/control", attr_type::file_rw},
      {"power/runtime_status", attr_type::file_ro},
      {"firmware_node", attr_type::link},
      {"firmware_node/power_resources_D3hot", attr_type::directory},
      {"firmware_node/power_state", attr_type::file_ro},
      {"vfio-dev", attr_type::directory},
  };
  return all;
}

inline const attr_info* find_attribute(const std::string& name) {
  for (const auto& a : pci_attributes())
    if (name == a.name) return &a;
  return nullptr;
}

/// Resolves `path` (absolute, rooted at "/sys"). `chain_of(bdf)` gives the
/// function's path below /sys/devices ("pci0000:00/0000:00:04.0/0000:01:00.0")
/// or "" when there is no such function; `functions` lists every function.
inline sysfs_ref parse_sysfs_path(const std::string& path, const std::vector<std::string>& functions,
                                  function_ref<std::string(const std::string&)> chain_of,
                                  const std::vector<std::string>& drivers) {
  sysfs_ref r;
  // Collapse repeated and trailing slashes.
  std::string p;
  for (char c : path)
    if (!(c == '/' && !p.empty() && p.back() == '/')) p += c;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  static const std::vector<std::string> dirs = {"/sys",
                                                "/sys/bus",
                                                "/sys/bus/pci",
                                                "/sys/bus/pci/devices",
                                                "/sys/bus/pci/drivers",
                                                "/sys/devices",
                                                "/sys/devices/pci0000:00",
                                                "/sys/kernel",
                                                "/sys/kernel/iommu_groups"};
  for (const auto& d : dirs)
    if (p == d) {
      r.k = sysfs_ref::kind::directory;
      r.attr = d;  // which directory, for listing
      return r;
    }
  if (p == "/sys/module") {
    r.k = sysfs_ref::kind::directory;
    r.attr = p;
    return r;
  }
  const std::string modules = "/sys/module/";
  if (p.compare(0, modules.size(), modules) == 0 && p.find('/', modules.size()) == std::string::npos) {
    r.k = sysfs_ref::kind::module_dir;  // whether it exists is the host's business (sysfs_files::resolve)
    r.attr = p.substr(modules.size());
    return r;
  }
  const std::string groups = "/sys/kernel/iommu_groups/";
  if (p.compare(0, groups.size(), groups) == 0) {
    const std::string rest = p.substr(groups.size());
    const std::string n = rest.substr(0, rest.find('/'));
    if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos) return r;
    r.group = static_cast<unsigned>(std::stoul(n));
    const std::string tail = rest.substr(n.size());
    if (tail.empty()) {
      r.k = sysfs_ref::kind::iommu_group;
    } else if (tail == "/devices") {
      r.k = sysfs_ref::kind::group_members;
    } else if (tail.compare(0, 9, "/devices/") == 0 && tail.find('/', 9) == std::string::npos) {
      r.k = sysfs_ref::kind::group_member;
      r.bdf = tail.substr(9);
    }
    return r;
  }
  if (p == "/sys/bus/pci/drivers_probe") {
    r.k = sysfs_ref::kind::drivers_probe;
    return r;
  }
  const auto split_attr = [&](const std::string& bdf, const std::string& rest, bool link) {
    r.bdf = bdf;
    if (rest.empty()) {
      r.k = link ? sysfs_ref::kind::device_link : sysfs_ref::kind::device;
      return;
    }
    if (!find_attribute(rest)) return;  // none
    r.k = sysfs_ref::kind::device_attr;
    r.attr = rest;
  };
  const std::string bus_devices = "/sys/bus/pci/devices/";
  if (p.compare(0, bus_devices.size(), bus_devices) == 0) {
    const std::string rest = p.substr(bus_devices.size());
    const std::string bdf = rest.substr(0, rest.find('/'));
    for (const auto& f : functions)
      if (f == bdf) split_attr(bdf, rest.size() > bdf.size() ? rest.substr(bdf.size() + 1) : "", true);
    return r;
  }
  const std::string devices = "/sys/devices/";
  if (p.compare(0, devices.size(), devices) == 0) {
    const std::string rest = p.substr(devices.size());
    std::string best;
    std::string best_chain;
    for (const auto& f : functions) {
      const std::string c = chain_of(f);
      if (c.empty() || rest.compare(0, c.size(), c) != 0) continue;
      if (rest.size() > c.size() && rest[c.size()] != '/') continue;
      if (c.size() > best_chain.size()) {
        best = f;
        best_chain = c;
      }
    }
    if (!best.empty())
      split_attr(best, rest.size() > best_chain.size() ? rest.substr(best_chain.size() + 1) : "", false);
    return r;
  }
  const std::string drv = "/sys/bus/pci/drivers/";
  if (p.compare(0, drv.size(), drv) == 0) {
    const std::string rest = p.substr(drv.size());
    const std::string name = rest.substr(0, rest.find('/'));
    bool known = false;
    for (const auto& d : drivers) known = known || d == name;
    if (!known) return r;
    r.driver = name;
    if (rest == name)
      r.k = sysfs_ref::kind::driver_dir;
    else if (rest == name + "/bind")
      r.k = sysfs_ref::kind::driver_bind;
    else if (rest == name + "/unbind")
      r.k = sysfs_ref::kind::driver_unbind;
    return r;
  }
  return r;
}

/// "../" repeated for a link living in the function's directory, enough to
/// climb back to /sys: one level per component of the chain plus "devices".
inline std::string up_to_sysfs_root(const std::string& chain) {
  std::size_t depth = 2;  // the function's directory itself, then /sys/devices
  for (char c : chain) depth += c == '/' ? 1 : 0;
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "../";
  return s;
}

/// readlink /sys/bus/pci/devices/<bdf>: "../../../devices/<chain>".
inline std::string bus_link_target(const std::string& chain) { return "../../../devices/" + chain; }

/// readlink <function>/iommu_group: "../../../kernel/iommu_groups/N" for a
/// function on the root bus, one more "../" per bridge above it.
inline std::string iommu_group_link_target(const std::string& chain, unsigned group) {
  return up_to_sysfs_root(chain) + "kernel/iommu_groups/" + std::to_string(group);
}

/// readlink <function>/driver: "../../../bus/pci/drivers/<name>" (deeper behind bridges).
inline std::string driver_link_target(const std::string& chain, const std::string& driver) {
  return up_to_sysfs_root(chain) + "bus/pci/drivers/" + driver;
}

/// readlink <function>/firmware_node: the ACPI companion under the host
/// bridge's PNP0A08 node. The node names (device:NN) are enumeration order
/// in a real guest; here they follow the devfn, which nothing compares.
inline std::string firmware_link_target(const std::string& chain, unsigned devfn) {
  std::string up;
  std::size_t depth = 1;
  for (char c : chain) depth += c == '/' ? 1 : 0;
  for (std::size_t i = 0; i < depth; ++i) up += "../";
  char node[16];
  std::snprintf(node, sizeof node, "device:%02x", devfn);
  return up + "LNXSYSTM:00/LNXSYBUS:00/PNP0A08:00/" + node;
}

/// sysfs_streq: equal, ignoring one trailing newline on either side.
inline bool sysfs_streq(std::string a, std::string b) {
  if (!a.empty() && a.back() == '\n') a.pop_back();
  if (!b.empty() && b.back() == '\n') b.pop_back();
  return a == b;
}

/// kstrtoul(buf, 0, &v): decimal, 0x hex or 0 octal, one trailing newline
/// allowed; false (-EINVAL) otherwise.
inline bool parse_kstrtoul(std::string s, unsigned long& v) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  unsigned base = 10;
  std::size_t i = 0;
  if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    i = 1;
  }
  if (i >= s.size()) return false;
  unsigned long acc = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return false;
    if (d >= base) return false;
    if (acc > (~0UL - d) / base) return false;  // -ERANGE in the kernel; refused all the same
    acc = acc * base + d;
  }
  v = acc;
  return true;
}

/// An open sysfs file: text attributes are rendered at the first read (as
/// the show method runs then) and read sequentially afterwards.
struct sysfs_file {
  sysfs_ref ref;
  int flags = 0;
  bool directory = false;
  bool loaded = false;
  std::string content;
  std::size_t pos = 0;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_SYSFS_HPP_INCLUDED
