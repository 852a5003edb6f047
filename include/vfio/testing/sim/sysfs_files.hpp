// sysfs descriptors of a simulated kernel: open, read / pread, write and
// readlink of the attributes sysfs.hpp names, with the show and store
// behaviour of drivers/pci/pci-sysfs.c (config, driver_override,
// d3cold_allowed, power_state), drivers/base/power/sysfs.c (control,
// runtime_status) and drivers/base/bus.c (bind, unbind, drivers_probe). The
// reader is modelled as root (CAP_SYS_ADMIN reads the whole config space).
#ifndef VFIO_TESTING_SIM_SYSFS_FILES_HPP_INCLUDED
#define VFIO_TESTING_SIM_SYSFS_FILES_HPP_INCLUDED

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "descriptors.hpp"
#include "kernel_state.hpp"
#include "sysfs.hpp"

namespace vfio::testing::sim::sysfs_files {

/// The IOMMU groups the host has (every group some function or bridge is
/// in), none with the IOMMU off.
inline std::vector<unsigned> iommu_groups(const kernel_state& k) {
  std::vector<unsigned> v;
  if (!k.opt.host.iommu_enabled) return v;
  for (const auto& kv : k.functions) v.push_back(kv.second->hw->desc().iommu_group);
  for (const auto& kv : k.bridges) v.push_back(kv.second.d.iommu_group);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// The functions and bridges of IOMMU group `g`, by address.
inline std::vector<std::string> iommu_group_members(const kernel_state& k, unsigned g) {
  std::vector<std::string> v;
  if (!k.opt.host.iommu_enabled) return v;
  for (const auto& kv : k.functions)
    if (kv.second->hw->desc().iommu_group == g) v.push_back(kv.first);
  for (const auto& kv : k.bridges)
    if (kv.second.d.iommu_group == g) v.push_back(kv.first);
  std::sort(v.begin(), v.end());
  return v;
}

/// Whether a path the host environment decides on exists: the module
/// directories and the IOMMU group directories.
inline bool host_path_exists(const kernel_state& k, const sysfs_ref& r) {
  using K = sysfs_ref::kind;
  const host_environment& h = k.opt.host;
  if (r.k == K::module_dir)
    return (h.vfio_loaded && (r.attr == "vfio" || r.attr == "vfio_iommu_type1")) ||
           (h.vfio_pci_loaded && (r.attr == "vfio_pci" || r.attr == "vfio_pci_core"));
  if (r.k == K::iommu_group || r.k == K::group_members) {
    const auto g = iommu_groups(k);
    return std::find(g.begin(), g.end(), r.group) != g.end();
  }
  if (r.k == K::group_member) {
    const auto m = iommu_group_members(k, r.group);
    return std::find(m.begin(), m.end(), r.bdf) != m.end();
  }
  return true;
}

inline sysfs_ref resolve(kernel_state& k, const std::string& path) {
  sysfs_ref r = parse_sysfs_path(
      path, k.sysfs_names(), [&k](const std::string& b) { return k.chain_of(b); }, k.driver_names());
  if (!host_path_exists(k, r)) r.k = sysfs_ref::kind::none;
  return r;
}

/// The names a directory lists (getdents64), without "." and "..": the
/// directories the library enumerates; other directories list nothing.
inline std::vector<std::string> list(const kernel_state& k, const sysfs_ref& r) {
  using K = sysfs_ref::kind;
  std::vector<std::string> v;
  if (r.k == K::group_members) return iommu_group_members(k, r.group);
  if (r.k == K::iommu_group) return {"devices"};
  if (r.k == K::device_attr && r.attr == "vfio-dev") {
    const sim_function* fn = k.function(r.bdf);
    if (fn && fn->vfio) v.push_back("vfio" + std::to_string(fn->cdev_index));
    return v;
  }
  if (r.k != K::directory) return v;
  if (r.attr == "/sys/kernel/iommu_groups")
    for (unsigned g : iommu_groups(k)) v.push_back(std::to_string(g));
  if (r.attr == "/sys/bus/pci/devices") v = k.sysfs_names();
  if (r.attr == "/sys/bus/pci/drivers") v = k.driver_names();
  if (r.attr == "/sys/module") {
    if (k.opt.host.vfio_loaded) v = {"vfio", "vfio_iommu_type1"};
    if (k.opt.host.vfio_pci_loaded) v.insert(v.end(), {"vfio_pci", "vfio_pci_core"});
  }
  return v;
}

/// pci_init_reset_methods: the methods whose probe succeeds, in the order of
/// pci_reset_fn_methods (drivers/pci/pci.c). No device quirks, ACPI _RST or CXL
/// are modelled, so device_specific, acpi and cxl_bus never probe.
inline std::vector<std::string> probed_reset_methods(kernel_state& k, const pci_function& hw) {
  std::vector<std::string> m;
  if (hw.has_flr()) m.emplace_back("flr");
  if (hw.has_af_flr()) m.emplace_back("af_flr");
  if (hw.has_pm_reset()) m.emplace_back("pm");
  if (k.bus_reset_possible(hw)) m.emplace_back("bus");
  return m;
}

/// reset_method_store: "" disables all, "default" re-probes, else each
/// space-separated name must exist and probe, at most PCI_NUM_RESET_METHODS - 1.
inline long store_reset_method(kernel_state& k, sim_function& fn, const std::string& v, std::size_t count) {
  if (sysfs_streq(v, "")) {
    fn.reset_methods = std::vector<std::string>{};
    return static_cast<long>(count);
  }
  if (sysfs_streq(v, "default")) {
    fn.reset_methods.reset();
    return static_cast<long>(count);
  }
  const std::vector<std::string> probed = probed_reset_methods(k, *fn.hw);
  const bool cxl_known = k.opt.version != kernel_version::v6_1;  // 6.1 has no cxl_bus
  std::vector<std::string> chosen;
  std::size_t at = 0;
  while (at <= v.size()) {
    std::size_t sp = v.find(' ', at);
    if (sp == std::string::npos) sp = v.size();
    std::string name = v.substr(at, sp - at);
    at = sp + 1;
    if (sysfs_streq(name, "")) continue;
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();  // strim
    std::size_t lead = 0;
    while (lead < name.size() && std::isspace(static_cast<unsigned char>(name[lead]))) ++lead;
    name.erase(0, lead);
    static const char* const known[] = {"device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus"};
    bool exists = false;
    for (const char* n : known) exists = exists || (name == n && (cxl_known || name != "cxl_bus"));
    if (!exists) return -EINVAL;                                                        // "Invalid reset method"
    if (std::find(probed.begin(), probed.end(), name) == probed.end()) return -EINVAL;  // "Unsupported"
    if (chosen.size() == (cxl_known ? 7U : 6U)) return -EINVAL;                         // "Too many reset methods"
    chosen.push_back(name);
  }
  fn.reset_methods = chosen;
  return static_cast<long>(count);
}

/// Whether a function's or bridge's attribute exists right now (links and
/// the ACPI directories come and go with the binding and the platform).
inline bool attr_exists(kernel_state& k, const sysfs_ref& r) {
  const std::string& a = r.attr;
  if (a == "iommu_group" && !k.opt.host.iommu_enabled) return false;
  if (sim_function* fn = k.function(r.bdf)) {
    const device_description& d = fn->hw->desc();
    if (a == "driver") return !fn->driver.empty();
    if (a == "firmware_node") return d.acpi_node;
    if (a == "firmware_node/power_resources_D3hot") return d.acpi_node && d.power_resources;
    if (a == "reset_method") return !probed_reset_methods(k, *fn->hw).empty();
    // acpi_attr_is_visible (drivers/acpi/device_sysfs.c): only for a
    // power-manageable ACPI device.
    if (a == "firmware_node/power_state") return platform_power_manageable(d);
    // The vfio-dev class device (vfio_main.c vfio_device_add), shown with the
    // device cdev option only (sim::kernel_options::device_cdev).
    if (a == "vfio-dev") return fn->vfio && k.opt.has_device_cdev();
    return true;
  }
  auto it = k.bridges.find(r.bdf);
  if (it == k.bridges.end()) return false;
  const bridge_description& b = it->second.d;
  if (a == "driver") return !b.driver.empty();
  if (a == "firmware_node") return b.acpi_node;
  if (a == "firmware_node/power_resources_D3hot") return b.acpi_node && b.power_resources;
  if (a == "firmware_node/power_state") return b.acpi_node && b.power_resources;
  if (a == "reset_method" || a == "vfio-dev") return false;  // not modelled for bridges; no VFIO device
  // Bridges carry no configuration image in their description.
  return a != "config" && a != "vendor" && a != "device" && a != "subsystem_vendor" && a != "subsystem_device" &&
         a != "class" && a != "revision";
}

/// open(2) of a sysfs path. Directories (and links, which open as their
/// target directory) refuse write access (-EISDIR); O_DIRECTORY on a file is
/// -ENOTDIR; writing a read-only attribute or reading a write-only one is
/// -EACCES (kernfs_fop_open).
inline int open(kernel_state& k, const char* path, int flags) {
  const sysfs_ref r = resolve(k, path);
  using K = sysfs_ref::kind;
  if (r.k == K::none) return -ENOENT;
  if (r.k == K::device_attr && !attr_exists(k, r)) return -ENOENT;
  const int acc = flags & O_ACCMODE;
  bool dir = r.k == K::directory || r.k == K::device || r.k == K::device_link || r.k == K::driver_dir ||
             r.k == K::module_dir || r.k == K::iommu_group || r.k == K::group_members || r.k == K::group_member;
  bool readable = true, writable = false;
  if (r.k == K::device_attr) {
    const attr_type t = find_attribute(r.attr)->type;
    dir = t == attr_type::directory || t == attr_type::link;
    writable = t == attr_type::file_rw || t == attr_type::binary;
    readable = t != attr_type::file_wo;
  } else if (r.k == K::driver_bind || r.k == K::driver_unbind || r.k == K::drivers_probe) {
    readable = false;
    writable = true;
  }
  if (dir) {
    if (acc != O_RDONLY) return -EISDIR;
  } else {
    if (flags & O_DIRECTORY) return -ENOTDIR;
    if ((acc != O_RDONLY && !writable) || (acc != O_WRONLY && !readable)) return -EACCES;
  }
  auto f = std::make_shared<sysfs_file>();
  f->ref = r;
  f->flags = flags;
  f->directory = dir;
  descriptor d;
  d.kind = descriptor_kind::sysfs;
  d.sysfs = std::move(f);
  return k.fds.add(std::move(d));
}

/// The show methods of the text attributes.
inline std::string show(const kernel_state& k, const sysfs_ref& r) {
  char buf[64];
  const std::string& a = r.attr;
  if (const sim_function* fn = k.function(r.bdf)) {
    const pci_function& hw = *fn->hw;
    const auto hex = [&](const char* fmt, std::uint32_t v) {
      std::snprintf(buf, sizeof buf, fmt, v);
      return std::string(buf);
    };
    if (a == "vendor") return hex("0x%04x\n", hw.read(abi::pci::vendor_id, 2));
    if (a == "device") return hex("0x%04x\n", hw.read(abi::pci::device_id, 2));
    if (a == "subsystem_vendor") return hex("0x%04x\n", hw.read(abi::pci::subsystem_vendor_id, 2));
    if (a == "subsystem_device") return hex("0x%04x\n", hw.read(abi::pci::subsystem_id, 2));
    if (a == "class") return hex("0x%06x\n", hw.read(abi::pci::class_revision, 4) >> 8);
    if (a == "revision") return hex("0x%02x\n", hw.read(abi::pci::revision_id, 1));
    if (a == "driver_override") return (fn->driver_override.empty() ? "(null)" : fn->driver_override) + "\n";
    if (a == "d3cold_allowed") return fn->d3cold_allowed ? "1\n" : "0\n";
    if (a == "reset_method") {
      // reset_method_show: nothing at all when every method is disabled.
      const std::vector<std::string> ms =
          fn->reset_methods ? *fn->reset_methods : probed_reset_methods(const_cast<kernel_state&>(k), hw);
      std::string out;
      for (const auto& m : ms) out += (out.empty() ? "" : " ") + m;
      return out.empty() ? out : out + "\n";
    }
    // pci_device_remove leaves a function it found in D0 "unknown".
    if (a == "power_state")
      return std::string(fn->driver.empty() && hw.state() == d_state::d0 ? "unknown" : to_string(hw.state())) + "\n";
    if (a == "power/control") return fn->pm->allowed() ? "auto\n" : "on\n";
    if (a == "power/runtime_status") return std::string(to_string(fn->pm->status())) + "\n";
    // power_state_show (drivers/acpi/device_sysfs.c): adev->power.state.
    if (a == "firmware_node/power_state") return std::string(to_string(fn->acpi_state)) + "\n";
    return "";
  }
  auto it = k.bridges.find(r.bdf);
  if (it == k.bridges.end()) return "";
  const bridge_description& b = it->second.d;
  if (a == "driver_override") return "(null)\n";
  if (a == "d3cold_allowed") return b.d3cold_allowed ? "1\n" : "0\n";
  if (a == "power_state") return b.power_state + "\n";
  if (a == "power/control") return b.power_control + "\n";
  if (a == "power/runtime_status") return b.runtime_status + "\n";
  if (a == "firmware_node/power_state") return b.power_state + "\n";
  return "";
}

/// pci_read_config / pci_write_config: the hardware's bytes (not vfio's
/// virtual view). pci_config_pm_runtime_get (drivers/pci/pci.c) waits for a
/// suspend in progress and resumes a function in D3cold for the access,
/// which a vfio-pci device with a wake-up eventfd reports like any other
/// wake; config space stays readable in D3hot.
inline long config_rw(kernel_state& k, sim_function& fn, unsigned char* buf, std::size_t count, std::int64_t off,
                      bool write) {
  const std::int64_t size = static_cast<std::int64_t>(fn.hw->cfg_size());
  if (off < 0) return -EINVAL;
  if (off >= size) return 0;
  count = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(count), size - off));
  const bool managed = fn.pm->bound();
  if (managed) {
    fn.pm->get_noresume();
    fn.pm->barrier();
    if (fn.hw->state() == d_state::d3cold) fn.pm->resume();
  }
  for (std::size_t i = 0; i < count; ++i) {
    const unsigned pos = static_cast<unsigned>(off) + static_cast<unsigned>(i);
    if (write)
      fn.hw->write(pos, buf[i], 1);
    else
      buf[i] = static_cast<unsigned char>(fn.hw->read(pos, 1));
  }
  if (managed) fn.pm->put();
  (void)k;
  return static_cast<long>(count);
}

/// read(2) (offset < 0: the file position) or pread(2).
inline long read(kernel_state& k, sysfs_file& f, void* buf, std::size_t count, std::int64_t offset) {
  if (f.directory) return -EISDIR;
  const bool positional = offset >= 0;
  const std::int64_t at = positional ? offset : static_cast<std::int64_t>(f.pos);
  long n;
  if (f.ref.k == sysfs_ref::kind::device_attr && f.ref.attr == "config") {
    sim_function* fn = k.function(f.ref.bdf);
    if (!fn) return -ENODEV;
    n = config_rw(k, *fn, static_cast<unsigned char*>(buf), count, at, false);
  } else {
    // seq_file: the show method runs when reading from offset 0.
    if (!f.loaded || at == 0) {
      f.content = show(k, f.ref);
      f.loaded = true;
    }
    if (at < 0) return -EINVAL;
    const std::size_t from = std::min<std::size_t>(static_cast<std::size_t>(at), f.content.size());
    const std::size_t len = std::min(count, f.content.size() - from);
    std::memcpy(buf, f.content.data() + from, len);
    n = static_cast<long>(len);
  }
  if (n > 0 && !positional) f.pos += static_cast<std::size_t>(n);
  return n;
}

/// The store methods. Each write(2) reaches the store whole; the result is
/// the byte count or the store's error.
inline long write(kernel_state& k, sysfs_file& f, const void* data, std::size_t count, std::int64_t offset) {
  if (f.directory) return -EISDIR;
  const std::string v(static_cast<const char*>(data), count);
  const sysfs_ref& r = f.ref;
  using K = sysfs_ref::kind;
  const auto by_name = [&k](const std::string& name) -> sim_function* {
    for (auto& kv : k.functions)
      if (sysfs_streq(kv.first, name)) return kv.second.get();
    return nullptr;
  };
  if (r.k == K::drivers_probe) {
    // drivers_probe_store -> bus_rescan_devices_helper
    sim_function* fn = by_name(v);
    if (!fn) return -ENODEV;
    k.probe_drivers(*fn);
    return static_cast<long>(count);
  }
  if (r.k == K::driver_unbind) {
    sim_function* fn = by_name(v);  // unbind_store: only from the named driver
    if (!fn || fn->driver != r.driver) return -ENODEV;
    if (const int e = k.unbind(*fn); e < 0) return e;
    return static_cast<long>(count);
  }
  if (r.k == K::driver_bind) {
    sim_function* fn = by_name(v);  // bind_store -> driver_match_device, device_driver_attach
    if (!fn) return -ENODEV;
    const std::string& want = fn->driver_override.empty() ? fn->hw->desc().native_driver : fn->driver_override;
    if (want != r.driver) return -ENODEV;
    if (!fn->driver.empty()) return -EBUSY;
    k.bind(*fn, r.driver);
    return static_cast<long>(count);
  }
  if (r.k != K::device_attr) return -EINVAL;
  const std::string& a = r.attr;
  sim_function* fn = k.function(r.bdf);
  auto bit = k.bridges.find(r.bdf);
  if (a == "config") {
    if (!fn) return -ENODEV;
    std::string bytes = v;
    const long n = config_rw(k, *fn, reinterpret_cast<unsigned char*>(&bytes[0]), count,
                             offset >= 0 ? offset : static_cast<std::int64_t>(f.pos), true);
    if (n > 0 && offset < 0) f.pos += static_cast<std::size_t>(n);
    return n;
  }
  if (a == "driver_override") {
    // driver_set_override: at most PAGE_SIZE - 1 bytes, cut at the first
    // newline; empty clears it.
    if (count >= 4096) return -EINVAL;
    std::string s = v.substr(0, v.find('\n'));
    if (fn) fn->driver_override = s;
    return static_cast<long>(count);
  }
  if (a == "reset_method") {
    if (!fn) return -EIO;
    return store_reset_method(k, *fn, v, count);
  }
  if (a == "d3cold_allowed") {
    // d3cold_allowed_store: kstrtoul, then pm_runtime_resume (the device
    // resumes and, unused, idles again under the new policy).
    unsigned long val = 0;
    if (!parse_kstrtoul(v, val)) return -EINVAL;
    if (fn) {
      fn->d3cold_allowed = val != 0;
      if (fn->pm->bound()) fn->pm->resume();
    } else if (bit != k.bridges.end()) {
      bit->second.d.d3cold_allowed = val != 0;
    }
    return static_cast<long>(count);
  }
  if (a == "power/control") {
    // control_store: "auto" -> pm_runtime_allow, "on" -> pm_runtime_forbid.
    const bool on = sysfs_streq(v, "on");
    if (!on && !sysfs_streq(v, "auto")) return -EINVAL;
    if (fn) {
      if (on)
        fn->pm->forbid();
      else
        fn->pm->allow();
    } else if (bit != k.bridges.end()) {
      bit->second.d.power_control = on ? "on" : "auto";
    }
    return static_cast<long>(count);
  }
  return -EIO;
}

/// readlink(2): the bus link and the iommu_group, driver and firmware_node
/// links; -EINVAL for an existing path that is not a link.
inline long readlink(kernel_state& k, const char* path, char* buf, std::size_t size) {
  const sysfs_ref r = resolve(k, path);
  using K = sysfs_ref::kind;
  if (r.k == K::none) return -ENOENT;
  std::string target;
  const std::string chain = k.chain_of(r.bdf);
  if (r.k == K::device_link) {
    target = bus_link_target(chain);
  } else if (r.k == K::group_member) {
    target = "../../../../devices/" + chain;  // iommu_group_add_device: sysfs_create_link to the device
  } else if (r.k == K::device_attr) {
    if (!attr_exists(k, r)) return -ENOENT;
    sim_function* fn = k.function(r.bdf);
    auto bit = k.bridges.find(r.bdf);
    if (r.attr == "iommu_group") {
      const unsigned g = fn ? fn->hw->desc().iommu_group : bit->second.d.iommu_group;
      target = iommu_group_link_target(chain, g);
    } else if (r.attr == "driver") {
      target = driver_link_target(chain, fn ? fn->driver : bit->second.d.driver);
    } else if (r.attr == "firmware_node") {
      const bdf_parts p = parse_bdf(r.bdf);
      target = firmware_link_target(chain, p.devfn);
    } else {
      return -EINVAL;
    }
  } else {
    return -EINVAL;
  }
  // readlink(2) places no terminating NUL.
  const std::size_t n = std::min(size, target.size());
  std::copy_n(target.data(), n, buf);
  return static_cast<long>(n);
}

}  // namespace vfio::testing::sim::sysfs_files

#endif  // VFIO_TESTING_SIM_SYSFS_FILES_HPP_INCLUDED
