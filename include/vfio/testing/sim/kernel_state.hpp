// The state of a simulated host: PCI functions and bridges with their
// drivers and sysfs policy, VFIO groups and containers, open descriptors and
// mappings, the virtual clock; driver binding (probe / remove) and the
// topology questions vfio-pci asks (D3cold reachability, bus resets, hot
// reset sets). The descriptor operations live in vfio_files.hpp and
// sysfs_files.hpp; simulated_kernel.hpp puts a lock and the seam around it.
#ifndef VFIO_TESTING_SIM_KERNEL_STATE_HPP_INCLUDED
#define VFIO_TESTING_SIM_KERNEL_STATE_HPP_INCLUDED

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../../abi/vfio.hpp"
#include "descriptors.hpp"
#include "device_profile.hpp"
#include "options.hpp"
#include "pci_function.hpp"
#include "runtime_pm.hpp"
#include "vfio_pci_device.hpp"
#include "virtual_clock.hpp"

namespace vfio::testing::sim {

/// The drivers whose binding leaves a group viable: vfio-pci itself and the
/// drivers that set driver_managed_dma (pci-stub, pcieport), plus no driver
/// (vfio_group_ioctl_get_status: !iommu_group_dma_owner_claimed).
inline bool driver_keeps_group_viable(const std::string& driver) {
  return driver.empty() || driver == "vfio-pci" || driver == "pci-stub" || driver == "pcieport";
}

/// One PCI function of the simulated host.
struct sim_function {
  std::unique_ptr<pci_function> hw;
  std::unique_ptr<runtime_pm> pm;
  std::unique_ptr<vfio_pci_device> vfio;  ///< present while bound to vfio-pci
  std::string driver;                     ///< bound driver ("" = none)
  std::string driver_override;            ///< "" prints "(null)"
  bool d3cold_allowed = true;
  /// reset_method as written through sysfs (names in priority order); unset: the
  /// probed default list (pci_init_reset_methods).
  std::optional<std::vector<std::string>> reset_methods;
  unsigned open_count = 0;  ///< vfio_device->open_count
  /// vfio_device->index: the N of vfio-dev/vfioN and /dev/vfio/devices/vfioN
  /// (vfio_init_device: the lowest free index when vfio-pci probes); -1 unbound.
  int cdev_index = -1;
  bool cdev_opened = false;     ///< vfio_device->cdev_opened: bound through its cdev
  iommufd_ctx* ictx = nullptr;  ///< the iommufd it is bound to (vfio_iommufd_device_ictx)
  std::uint32_t devid = 0;      ///< its device id there
  std::vector<std::string> firmware_log;
  /// The ACPI companion's power.state (firmware_node/power_state), D0 at
  /// boot (acpi_bus_init_power); D3cold also marks power cut from above.
  d_state acpi_state = d_state::d0;
};

/// acpi_pci_power_manageable -> acpi_device_power_manageable: the ACPI
/// companion has _PS0 or _PR0 (acpi_bus_get_power_flags, drivers/acpi/scan.c).
inline bool platform_power_manageable(const device_description& d) {
  return d.acpi_node && (d.power_methods || d.power_resources);
}

/// A bridge above functions: sysfs attributes only.
struct sim_bridge {
  bridge_description d;
};

class kernel_state final : public vfio_pci_env {
 public:
  // The default options are built in place: moving a freshly value-initialised
  // kernel_options trips GCC 12's -Wmaybe-uninitialized in std::map at -O2.
  kernel_state() : clock(opt.start_ns) {}
  explicit kernel_state(kernel_options options) : opt(std::move(options)), clock(opt.start_ns) {}
  kernel_state(const kernel_state&) = delete;
  kernel_state& operator=(const kernel_state&) = delete;
  ~kernel_state() override {
    mappings = mapping_table{};
    fds = descriptor_table{};
    for (auto& kv : functions) kv.second->vfio.reset();
  }

  kernel_options opt;
  virtual_clock clock;
  address_allocator addresses;
  std::map<std::string, std::unique_ptr<sim_function>> functions;
  std::map<std::string, sim_bridge> bridges;
  std::map<unsigned, group_object> groups;
  descriptor_table fds;
  mapping_table mappings;

  // --- population ------------------------------------------------------------

  /// Adds a function as the host found it at boot: bound to its driver and,
  /// when that is vfio-pci, already idle in its runtime-suspended state.
  int add_function(const device_description& d) {
    if (!parse_bdf(d.bdf).ok) return -EINVAL;
    if (functions.count(d.bdf) || bridges.count(d.bdf)) return -EEXIST;
    auto f = std::make_unique<sim_function>();
    f->hw = std::make_unique<pci_function>(d, addresses);
    f->pm = std::make_unique<runtime_pm>(clock, opt.suspend_delay_ns);
    f->d3cold_allowed = d.d3cold_allowed && f->hw->pm_cap() != 0;  // pci_pm_init
    sim_function& fn = *f;
    functions.emplace(d.bdf, std::move(f));
    if (!d.driver.empty()) bind(fn, d.driver);
    fn.pm->settle_now();
    fn.firmware_log.clear();
    return 0;
  }
  int add_bridge(const bridge_description& b) {
    if (!parse_bdf(b.bdf).ok) return -EINVAL;
    if (functions.count(b.bdf) || bridges.count(b.bdf)) return -EEXIST;
    bridges.emplace(b.bdf, sim_bridge{b});
    return 0;
  }

  sim_function* function(const std::string& bdf) {
    auto it = functions.find(bdf);
    return it == functions.end() ? nullptr : it->second.get();
  }
  const sim_function* function(const std::string& bdf) const {
    auto it = functions.find(bdf);
    return it == functions.end() ? nullptr : it->second.get();
  }

  // --- topology --------------------------------------------------------------

  /// The bridge above a function or bridge ("" on the root bus).
  std::string upstream_of(const std::string& bdf) const {
    if (auto it = functions.find(bdf); it != functions.end()) return it->second->hw->desc().upstream_bridge;
    if (auto it = bridges.find(bdf); it != bridges.end()) return it->second.d.upstream_bridge;
    return "";
  }
  /// The path below /sys/devices: "pci0000:00/[bridges/]bdf".
  std::string chain_of(const std::string& bdf) const {
    if (!functions.count(bdf) && !bridges.count(bdf)) return "";
    std::vector<std::string> up;
    for (std::string b = upstream_of(bdf); !b.empty() && up.size() < 16; b = upstream_of(b)) up.push_back(b);
    std::string s = "pci0000:00";
    for (auto it = up.rbegin(); it != up.rend(); ++it) s += "/" + *it;
    return s + "/" + bdf;
  }
  std::vector<std::string> sysfs_names() const {
    std::vector<std::string> v;
    for (const auto& kv : functions) v.push_back(kv.first);
    for (const auto& kv : bridges) v.push_back(kv.first);
    return v;
  }
  std::vector<std::string> driver_names() const {
    std::vector<std::string> v = {"vfio-pci", "pci-stub", "pcieport"};
    if (!opt.host.vfio_pci_loaded) v.erase(v.begin());
    for (const auto& kv : functions) {
      const std::string& n = kv.second->hw->desc().native_driver;
      if (!n.empty()) v.push_back(n);
    }
    return v;
  }
  /// Functions on the bus below `bridge` ("" = the root bus).
  std::vector<sim_function*> functions_below(const std::string& bridge) {
    std::vector<sim_function*> v;
    for (auto& kv : functions)
      if (kv.second->hw->desc().upstream_bridge == bridge) v.push_back(kv.second.get());
    return v;
  }
  std::size_t bridges_below(const std::string& bridge) const {
    std::size_t n = 0;
    for (const auto& kv : bridges) n += kv.second.d.upstream_bridge == bridge ? 1 : 0;
    return n;
  }

  // --- groups ---------------------------------------------------------------

  /// /dev/vfio/N exists while a function of IOMMU group N is bound to vfio-pci.
  bool group_has_vfio_device(unsigned id) const {
    for (const auto& kv : functions)
      if (kv.second->vfio && kv.second->hw->desc().iommu_group == id) return true;
    return false;
  }
  /// !iommu_group_dma_owner_claimed: no function or bridge of the group is
  /// bound to a driver that uses the kernel's DMA API.
  bool group_viable(unsigned id) const {
    for (const auto& kv : functions)
      if (kv.second->hw->desc().iommu_group == id && !driver_keeps_group_viable(kv.second->driver)) return false;
    for (const auto& kv : bridges)
      if (kv.second.d.iommu_group == id && !driver_keeps_group_viable(kv.second.d.driver)) return false;
    return true;
  }
  /// The function whose VFIO device has index `n` (/dev/vfio/devices/vfio<n>).
  sim_function* cdev_function(int n) {
    for (auto& kv : functions)
      if (kv.second->vfio && kv.second->cdev_index == n) return kv.second.get();
    return nullptr;
  }
  /// ida_alloc_max(&vfio.device_ida): the lowest index no VFIO device holds.
  int free_cdev_index() const {
    for (int n = 0;; ++n) {
      bool used = false;
      for (const auto& kv : functions) used = used || (kv.second->vfio && kv.second->cdev_index == n);
      if (!used) return n;
    }
  }
  /// Drops a group object nobody uses any more.
  void forget_group_if_unused(unsigned id) {
    auto it = groups.find(id);
    if (it != groups.end() && !it->second.opened && !group_has_vfio_device(id)) groups.erase(it);
  }

  // --- driver binding -----------------------------------------------------------

  /// really_probe: vfio-pci registers the VFIO device and lets it idle
  /// (vfio_pci_core_register_device); other drivers are only recorded.
  void bind(sim_function& fn, const std::string& driver) {
    if (driver == "vfio-pci" && (!opt.host.iommu_enabled || !opt.host.vfio_pci_loaded)) return;  // probe fails
    fn.driver = driver;
    if (driver != "vfio-pci") return;
    fn.vfio = std::make_unique<vfio_pci_device>(*fn.hw, *fn.pm, clock, opt, *this);
    fn.cdev_index = free_cdev_index();
    groups[fn.hw->desc().iommu_group].id = fn.hw->desc().iommu_group;
    fn.vfio->probe();
  }
  /// device_release_driver. vfio_unregister_group_dev waits for every user
  /// of an open device to let go (relaying VFIO_PCI_REQ_IRQ requests); the
  /// simulation cannot block, so it refuses with -EBUSY instead.
  int unbind(sim_function& fn) {
    if (fn.vfio) {
      if (fn.open_count) {
        fn.vfio->irqs().request();
        return -EBUSY;
      }
      fn.vfio->remove();
      fn.vfio.reset();
      fn.cdev_index = -1;
      forget_group_if_unused(fn.hw->desc().iommu_group);
    }
    fn.driver.clear();
    return 0;
  }
  /// drivers_probe / bind: driver_override, when set, is the only driver
  /// that may match (pci_match_device); otherwise the native driver.
  void probe_drivers(sim_function& fn) {
    if (!fn.driver.empty()) return;
    const std::string want = !fn.driver_override.empty() ? fn.driver_override : fn.hw->desc().native_driver;
    if (want.empty()) return;
    for (const auto& d : driver_names())
      if (d == want) {
        bind(fn, want);
        return;
      }
  }

  // --- vfio_pci_env ---------------------------------------------------------

  int eventfd_get(int fd, std::shared_ptr<eventfd_counter>& out) override {
    descriptor* d = fds.find(fd);
    if (!d) return -EBADF;
    if (d->kind != descriptor_kind::eventfd) return -EINVAL;
    out = d->eventfd;
    return 0;
  }

  int install_migration_file(std::shared_ptr<migration_file> file) override {
    descriptor d;
    d.kind = descriptor_kind::migration;
    d.migration = std::move(file);
    return fds.add(std::move(d));
  }

  /// pci_target_state (drivers/pci/pci.c) for a runtime suspend, in the
  /// kernel's order. The platform first: when platform_pci_power_manageable
  /// (acpi_pci_power_manageable), platform_pci_choose_state decides
  /// (acpi_pci_choose_state: the deepest valid ACPI state up to D3cold when
  /// d3cold_allowed, else up to D3hot; D3hot is always valid, D3cold only with
  /// _PR0 and _PR3, acpi_bus_get_power_flags), with or without a PM
  /// capability. Otherwise: a function already in D3cold stays there, one
  /// without a PM capability stays in D0, any other goes to D3hot.
  /// A function in D3hot whose upstream bridges all allow runtime PM up to
  /// one with power resources ends in D3cold: the bridge suspends after it
  /// and __pci_set_power_state marks the bus below D3cold. That needs
  /// d3cold_allowed (pci_dev_check_d3cold); the bridge case is inferred, not
  /// checked against a real kernel.
  d_state target_state(const pci_function& hw) override {
    const sim_function* fn = function(hw.desc().bdf);
    if (!fn) return d_state::d0;
    const device_description& d = hw.desc();
    d_state target = d_state::d3hot;
    if (platform_power_manageable(d)) {
      if (fn->d3cold_allowed && d.power_resources) return d_state::d3cold;
    } else if (hw.state() == d_state::d3cold) {
      return d_state::d3cold;
    } else if (!hw.pm_cap()) {
      return d_state::d0;
    }
    if (fn->d3cold_allowed && upstream_power_cut_possible(d)) target = d_state::d3cold;
    return target;
  }

  /// pci_platform_power_transition -> acpi_pci_set_power_state ->
  /// acpi_device_set_power (drivers/acpi/device_pm.c): does nothing when the
  /// state is the ACPI state already; going down runs _PS3 (unless already
  /// in D3hot) and then turns the power resources off when D3cold is valid;
  /// going to D0 turns them back on first, then runs _PS0. Power resources
  /// are reference-counted: D0 <-> D3hot switches none of them. For a
  /// function the platform does not manage, the inferred bridge case of
  /// target_state records the upstream port's resources going off and on.
  void platform_power(const pci_function& hw, d_state s) override {
    sim_function* fn = function(hw.desc().bdf);
    if (!fn) return;
    const device_description& d = hw.desc();
    d_state& cur = fn->acpi_state;
    if (!platform_power_manageable(d)) {
      if (s == d_state::d3cold && cur != d_state::d3cold) {
        fn->firmware_log.emplace_back("off");
        cur = d_state::d3cold;
      } else if (s == d_state::d0 && cur == d_state::d3cold) {
        fn->firmware_log.emplace_back("on");
        cur = d_state::d0;
      }
      return;
    }
    if (s == cur || s == d_state::d1 || s == d_state::d2) return;  // no _PS1/_PS2 modelled: not valid
    if (s == d_state::d0) {
      if (d.power_resources && cur == d_state::d3cold) fn->firmware_log.emplace_back("on");  // _ON
      if (d.power_methods) fn->firmware_log.emplace_back("on");                              // _PS0
      cur = d_state::d0;
      return;
    }
    const d_state target = s == d_state::d3cold && d.power_resources ? d_state::d3cold : d_state::d3hot;
    if (cur < d_state::d3hot && d.power_methods) fn->firmware_log.emplace_back("off");  // _PS3
    if (target == d_state::d3cold) fn->firmware_log.emplace_back("off");                // _OFF
    cur = target;
  }

  /// pci_reset_bus_function (pci_parent_bus_reset / pci_dev_reset_slot_function):
  /// not on the root bus, and the only device on its bus.
  bool bus_reset_possible(const pci_function& hw) override {
    const std::string& up = hw.desc().upstream_bridge;
    if (up.empty()) return false;
    return functions_below(up).size() == 1 && bridges_below(up) == 0;
  }

  /// vfio_pci_ioctl_get_pci_hot_reset_info: -ENODEV without a slot or bus
  /// reset (root bus), else every function on the bus with its group.
  int hot_reset_info(vfio_pci_device& dev, void* arg) override {
    if (!arg) return -EFAULT;
    abi::pci_hot_reset_info hdr{};
    std::memcpy(&hdr, arg, sizeof hdr);
    if (hdr.argsz < sizeof hdr) return -EINVAL;
    const std::string& bus = dev.hw().desc().upstream_bridge;
    if (bus.empty()) return -ENODEV;  // pci_probe_reset_slot / pci_probe_reset_bus: -ENOTTY
    // A cdev-opened device reports devids (vfio_pci_fill_devs with
    // VFIO_PCI_HOT_RESET_FLAG_DEV_ID): the devid in the caller's iommufd,
    // OWNED for a device whose group that iommufd holds, NOT_OWNED otherwise
    // (which also clears DEV_ID_OWNED).
    const sim_function* self = function(dev.hw().desc().bdf);
    const bool by_devid = self && self->cdev_opened;
    std::uint32_t flags = by_devid ? abi::hot_reset_flags::dev_id | abi::hot_reset_flags::dev_id_owned : 0U;
    std::vector<abi::pci_dependent_device> out;
    for (sim_function* f : functions_below(bus)) {
      abi::pci_dependent_device e{};
      if (by_devid) {
        const int id = devid_in(*f, self->ictx);
        e.devid = id > 0          ? static_cast<std::uint32_t>(id)
                  : id == -ENOENT ? abi::pci_devid::owned
                                  : abi::pci_devid::not_owned;
        if (e.devid == abi::pci_devid::not_owned) flags &= ~abi::hot_reset_flags::dev_id_owned;
      } else {
        e.group_id = f->hw->desc().iommu_group;
      }
      e.segment = f->hw->address().segment;
      e.bus = f->hw->address().bus;
      e.devfn = f->hw->address().devfn;
      out.push_back(e);
    }
    return reply_hot_reset_info(arg, out, flags);
  }

  /// vfio_iommufd_get_dev_id: the devid of a VFIO device bound to `ictx`,
  /// -ENOENT when another device of its group is bound there, else -ENODEV
  /// (also for a function vfio-pci does not drive: not in the dev_set).
  int devid_in(const sim_function& f, iommufd_ctx* ictx) const {
    if (!f.vfio || !ictx) return -ENODEV;
    if (f.ictx == ictx) return static_cast<int>(f.devid);
    return ictx->has_group(f.hw->desc().iommu_group) ? -ENOENT : -ENODEV;
  }

  /// vfio_pci_ioctl_pci_hot_reset -> vfio_pci_dev_set_hot_reset.
  int hot_reset(vfio_pci_device& dev, void* arg) override {
    if (!arg) return -EFAULT;
    abi::pci_hot_reset hdr{};
    std::memcpy(&hdr, arg, sizeof hdr);
    if (hdr.argsz < sizeof hdr || hdr.flags) return -EINVAL;
    // Since the device cdev work ("zero-length array is only for cdev opened
    // devices", absent from 6.1, present in 6.12 and 7.x), an empty list on a
    // group-opened device and a non-empty one on a cdev-opened device are
    // refused before the slot/bus probe (`!!hdr.count == cdev_opened`).
    const sim_function* self = function(dev.hw().desc().bdf);
    const bool cdev = self && self->cdev_opened;
    if (opt.version != kernel_version::v6_1 && (hdr.count != 0) == cdev) return -EINVAL;
    const std::string& bus = dev.hw().desc().upstream_bridge;
    if (bus.empty()) return -ENODEV;
    const std::vector<sim_function*> affected = functions_below(bus);
    if (cdev) {
      // vfio_pci_dev_set_hot_reset with the device's iommufd: every affected
      // function must be a VFIO device of the set, bound to that iommufd or in
      // a group it holds.
      for (sim_function* f : affected) {
        const int id = devid_in(*f, self->ictx);
        if (!f->vfio || !(id > 0 || id == -ENOENT)) return -EINVAL;
      }
      for (sim_function* f : affected) f->pm->get();
      for (sim_function* f : affected) f->vfio->set_power_state(d_state::d0);
      bus_reset_done(affected);
      for (sim_function* f : affected) f->pm->put();
      return 0;
    }
    if (!hdr.count || hdr.count > affected.size()) return -EINVAL;
    std::vector<std::int32_t> group_fds(hdr.count);
    std::memcpy(group_fds.data(), static_cast<unsigned char*>(arg) + sizeof hdr, hdr.count * sizeof(std::int32_t));
    std::vector<unsigned> provided;
    for (std::int32_t gfd : group_fds) {
      descriptor* d = fds.find(gfd);
      if (!d) return -EBADF;
      if (d->kind != descriptor_kind::group) return -EINVAL;  // vfio_file_is_group
      provided.push_back(d->group);
    }
    // vfio_pci_dev_set_resettable: every function the reset touches must be
    // a vfio-pci device of the set; then each must be in a provided group.
    for (sim_function* f : affected)
      if (!f->vfio) return -EINVAL;
    for (sim_function* f : affected) {
      bool in = false;
      for (unsigned g : provided) in = in || g == f->hw->desc().iommu_group;
      if (!in) return -EINVAL;
    }
    for (sim_function* f : affected) f->pm->get();  // vfio_pci_dev_set_pm_runtime_get
    for (sim_function* f : affected) f->vfio->set_power_state(d_state::d0);
    bus_reset_done(affected);
    for (sim_function* f : affected) f->pm->put();
    return 0;  // pci_reset_bus: registers come back as saved
  }

  /// pci_reset_bus -> pci_bus_restore_locked -> pci_dev_restore (drivers/pci/pci.c)
  /// calls each function's err_handler->reset_done: a migration driver's
  /// (mlx5vf_pci_aer_reset_done) puts the device back in RUNNING and disables
  /// its data files, as after VFIO_DEVICE_RESET.
  static void bus_reset_done(const std::vector<sim_function*>& affected) {
    for (sim_function* f : affected)
      if (f->vfio && f->vfio->migration()) f->vfio->migration()->reset_done();
  }

 private:
  /// An upstream bridge with power resources, reached through bridges that
  /// all allow runtime PM (power/control "auto") and itself allowing D3cold.
  bool upstream_power_cut_possible(const device_description& d) const {
    for (std::string b = d.upstream_bridge; !b.empty();) {
      auto it = bridges.find(b);
      if (it == bridges.end()) return false;
      const bridge_description& bd = it->second.d;
      if (bd.power_control != "auto") return false;
      if (bd.power_resources) return bd.d3cold_allowed;
      b = bd.upstream_bridge;
    }
    return false;
  }
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_KERNEL_STATE_HPP_INCLUDED
