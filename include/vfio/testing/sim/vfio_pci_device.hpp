// The vfio-pci driver bound to one simulated function
// (drivers/vfio/pci/vfio_pci_core.c): probe and remove, first open and last
// close, the device-fd ioctls after vfio_main.c's runtime-PM wrapper, region
// reads and writes, mmap checks, the low-power features of both dialects,
// PM_CTRL power-state changes and the runtime suspend / resume callbacks.
#ifndef VFIO_TESTING_SIM_VFIO_PCI_DEVICE_HPP_INCLUDED
#define VFIO_TESTING_SIM_VFIO_PCI_DEVICE_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "../../abi/pci.hpp"
#include "../../abi/vfio.hpp"
#include "config_space.hpp"
#include "device_info.hpp"
#include "irqs.hpp"
#include "migration_device.hpp"
#include "options.hpp"
#include "pci_function.hpp"
#include "region_access.hpp"
#include "runtime_pm.hpp"
#include "virtual_clock.hpp"

namespace vfio::testing::sim {

class vfio_pci_device;

/// What a vfio-pci device needs from the rest of the simulated kernel.
class vfio_pci_env {
 public:
  /// eventfd_ctx_fdget (-EBADF / -EINVAL).
  virtual int eventfd_get(int fd, std::shared_ptr<eventfd_counter>& out) = 0;
  /// pci_target_state: the state a runtime suspend puts the function in.
  virtual d_state target_state(const pci_function& hw) = 0;
  /// pci_platform_power_transition: the platform's part of a change to `s`
  /// (ACPI _PSx methods and power resources; nothing when it does not
  /// manage the function).
  virtual void platform_power(const pci_function& hw, d_state s) = 0;
  /// A bus or slot reset can reset this function alone (pci_reset_bus_function).
  virtual bool bus_reset_possible(const pci_function& hw) = 0;
  /// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO / VFIO_DEVICE_PCI_HOT_RESET (they
  /// need the bus and the groups).
  virtual int hot_reset_info(vfio_pci_device& dev, void* arg) = 0;
  virtual int hot_reset(vfio_pci_device& dev, void* arg) = 0;
  /// A migration data file gets a descriptor (vfio_ioct_mig_return_fd); the number or -errno.
  virtual int install_migration_file(std::shared_ptr<migration_file> file) = 0;
  virtual ~vfio_pci_env() = default;
};

class vfio_pci_device final : public runtime_pm_client, public config_host {
 public:
  vfio_pci_device(pci_function& hw, runtime_pm& pm, virtual_clock& clock, const kernel_options& options,
                  vfio_pci_env& env)
      : hw_(&hw), pm_(&pm), clock_(&clock), opt_(&options), env_(&env), irqs_(hw) {
    irqs_.set_err_any_function(options.version == kernel_version::v7);
    if (hw.desc().migration) {  // a variant driver with mig_ops (and log_ops)
      const bool v6_1 = options.version == kernel_version::v6_1;
      mig_ = std::make_shared<migration_device>(*hw.desc().migration, hw, !v6_1);
      mig_->set_has_data_size(!v6_1);  // MIG_DATA_SIZE and PRE_COPY arrived in 6.2
    }
  }
  vfio_pci_device(const vfio_pci_device&) = delete;
  vfio_pci_device& operator=(const vfio_pci_device&) = delete;
  ~vfio_pci_device() override = default;

  pci_function& hw() noexcept { return *hw_; }
  const pci_function& hw() const noexcept { return *hw_; }
  irq_state& irqs() noexcept { return irqs_; }
  bool enabled() const noexcept { return enabled_; }
  bool low_power_engaged() const noexcept { return engaged_; }
  bool has_wakeup_eventfd() const noexcept { return wake_ != nullptr; }
  bool reset_works() const noexcept { return reset_works_; }
  std::uint32_t num_regions() const noexcept {
    return abi::pci_region::count + static_cast<std::uint32_t>(hw_->desc().regions.size());
  }
  std::size_t ioeventfd_count() const noexcept { return ioeventfds_.size(); }
  migration_device* migration() noexcept { return mig_.get(); }

  // --- driver binding (vfio_pci_core_register_device / unregister) ---------

  void probe() {
    pm_->bind(this);               // local_pci_probe: pm_runtime_get_sync
    set_power_state(d_state::d0);  // "first do a D0 transition before enabling runtime PM"
    pm_->allow();                  // pm_runtime_allow: power/control "auto"
    pm_->put();                    // pm_runtime_put: idles, then suspends
  }
  void remove() { pm_->unbind(); }

  // --- open / close -----------------------------------------------------------

  /// vfio_pci_core_enable + vfio_pci_core_finish_enable (first open).
  int enable() {
    pm_->get();  // pm_runtime_resume_and_get: the device leaves its idle suspend
    hw_->clear_master();
    hw_->enable_decoding();  // pci_enable_device
    // pci_try_reset_function decides reset_works (FLR, AF FLR, PM reset,
    // bus / slot reset); the simulated reset leaves registers as saved.
    const auto& d = hw_->desc();
    reset_works_ = d.reset_works
                       ? *d.reset_works
                       : (hw_->has_flr() || hw_->has_af_flr() || hw_->has_pm_reset() || env_->bus_reset_possible(*hw_));
    reports_reset_ = d.reports_reset;
    // pci_intx_mask_supported: DisINTx starts clear.
    hw_->poke(abi::pci::command, hw_->command() & ~static_cast<std::uint32_t>(abi::pci::command_bits::intx_disable), 2);
    vconfig_.init(*this, d, hw_->cfg_size());  // vfio_config_init
    layout_ = probe_bar_layout(*hw_);
    enabled_ = true;
    if (mig_) mig_->open_device();
    return 0;
  }

  /// vfio_pci_core_close_device -> vfio_pci_core_disable (last close).
  void disable() {
    if (opt_->dialect == low_power_dialect::merged) {
      runtime_pm_exit();  // vfio_pci_runtime_pm_exit
      pm_->resume();      // pm_runtime_resume
    } else if (engaged_) {
      pm_->get();  // the seed: pm_runtime_resume_and_get, then disengage
      engaged_ = false;
    }
    set_power_state(d_state::d0);
    hw_->clear_master();
    irqs_.reset_all();  // SET_IRQS DATA_NONE|TRIGGER on irq_type; ERR / REQ released
    ioeventfds_.clear();
    if (mig_) mig_->close_device();
    enabled_ = false;
    pm_->put();  // the usage count taken at enable
  }

  // --- device fd ---------------------------------------------------------------

  /// vfio_device_fops_unl_ioctl for a group-opened device: BIND_IOMMUFD is
  /// refused before the runtime-PM get; everything else runs between
  /// vfio_device_pm_runtime_get (which wakes the device) and _put.
  long ioctl(unsigned long request, void* arg) {
    if (request == abi::req::device_bind_iommufd && opt_->version != kernel_version::v6_1) return -EINVAL;
    pm_->get();
    const long r = dispatch(request, arg);
    pm_->put();
    return r;
  }

  /// vfio_pci_core_read / _write -> vfio_pci_rw. The index is checked before
  /// the runtime-PM get, so a bad offset does not wake the device.
  long rw(std::uint64_t offset, unsigned char* buf, std::size_t count, bool write) {
    if (!count) return 0;
    const std::uint32_t index = region_index(offset);
    if (index >= num_regions()) return -EINVAL;
    pm_->get();
    const std::uint64_t pos = offset & region_offset_mask;
    long r;
    if (index == abi::pci_region::config)
      r = vconfig_.access(*this, pos, buf, count, write);
    else if (index == abi::pci_region::rom)
      r = write ? -EINVAL : bar_rw(*hw_, layout_, index, pos, buf, count, false, memory_enabled());
    else if (index <= abi::pci_region::bar5)
      r = bar_rw(*hw_, layout_, index, pos, buf, count, write, memory_enabled());
    else if (index == abi::pci_region::vga)
      r = layout_.has_vga ? vga_rw(vga_, pos, buf, count, write) : -EINVAL;
    else {
      const std::size_t i = index - abi::pci_region::count;
      if (dev_regions_.size() < hw_->desc().regions.size()) dev_regions_.resize(hw_->desc().regions.size());
      r = device_region_rw(hw_->desc().regions[i], dev_regions_[i], pos, buf, count, write);
    }
    pm_->put();
    return r;
  }

  /// vfio_pci_core_mmap (no runtime-PM get: mapping never wakes the device).
  int mmap(std::uint64_t offset, std::size_t length, int flags, std::shared_ptr<device_memory>& mem, std::size_t& at) {
    return check_mmap(*hw_, layout_, num_regions(), offset, length, flags, mem, at);
  }

  /// vfio_pci_mmap_fault's verdict: SIGBUS while low power is engaged or
  /// memory is disabled (the seed: while its power_state_d3 flag is set).
  bool mapping_faults() const {
    if (opt_->dialect == low_power_dialect::seed) return !memory_enabled();
    return engaged_ || !memory_enabled();
  }

  /// __vfio_pci_memory_enabled: below D3hot and MEMORY set in vconfig (the
  /// seed also tests its power_state_d3 flag, which stays set until EXIT).
  bool memory_enabled() const {
    if (!enabled_) return false;
    if (hw_->state() >= d_state::d3hot) return false;
    if (opt_->dialect == low_power_dialect::seed && power_state_d3_) return false;
    return vconfig_.virtual_command() & abi::pci::command_bits::memory;
  }

  /// vfio_pci_set_power_state -> pci_set_power_state for D0..D3hot.
  /// Returns 0 or the PCI core's error (the state is then unchanged).
  int set_power_state(d_state s) {
    const d_state cur = hw_->state();
    if (cur == s) return 0;
    if (s != d_state::d0) {
      if (!hw_->supports(s)) return -EIO;                 // pci_set_low_power_state: no PM cap / D1-D2 unsupported
      if (cur != d_state::d0 && cur > s) return -EINVAL;  // "invalid power transition"
    }
    if (s == d_state::d0) env_->platform_power(*hw_, s);  // pci_power_up: the platform first
    hw_->set_state(s);
    if (s == d_state::d3hot || cur >= d_state::d3hot) clock_->advance(opt_->d3hot_delay_ns);  // pci_dev_d3_sleep
    if (s != d_state::d0) env_->platform_power(*hw_, s);  // __pci_set_power_state: native first
    if (opt_->dialect == low_power_dialect::merged || !engaged_) power_state_d3_ = hw_->state() >= d_state::d3hot;
    return 0;
  }

  // --- runtime PM callbacks ------------------------------------------------

  void runtime_suspend_begin() override {
    // vfio_pci_core_runtime_suspend; the seed's version acts only when engaged.
    if (opt_->dialect == low_power_dialect::seed && !engaged_) return;
    set_power_state(d_state::d0);
    pm_intx_masked_ = irqs_.type() == abi::pci_irq::intx && irqs_.intx_mask();
  }
  void runtime_suspend_end() override {
    // pci_finish_runtime_suspend -> pci_set_power_state(pci_target_state):
    // D3hot through the PM capability when there is one
    // (pci_set_low_power_state), then the platform (_PS3, power resources
    // off); without a PM capability the platform's transition alone sets
    // current_state (pci_update_current_state).
    const d_state target = env_->target_state(*hw_);
    if (target == d_state::d0) return;
    if (hw_->pm_cap()) hw_->set_state(d_state::d3hot);
    env_->platform_power(*hw_, target);
    hw_->set_state(target);
  }
  void runtime_resume() override {
    // pci_pm_runtime_resume: back to D0 (power resources on first), then
    // vfio_pci_core_runtime_resume.
    const d_state was = hw_->state();
    env_->platform_power(*hw_, d_state::d0);  // pci_power_up: power resources on, _PS0
    hw_->set_state(d_state::d0);
    if (was >= d_state::d3hot) clock_->advance(opt_->resume_delay_ns);
    if (opt_->dialect == low_power_dialect::merged && wake_) {
      wake_->signal(1);
      runtime_pm_exit();
    }
    if (pm_intx_masked_) irqs_.intx_unmask();
    pm_intx_masked_ = false;
  }

  // --- config_host ---------------------------------------------------------

  std::uint32_t hw_read(unsigned pos, unsigned count) override { return hw_->read(pos, count); }
  void hw_write(unsigned pos, std::uint32_t value, unsigned count) override { hw_->write(pos, value, count); }
  void pm_ctrl_state_written(unsigned state) override {
    // vfio_pm_config_write -> vfio_lock_and_set_power_state; errors ignored.
    static constexpr d_state map[4] = {d_state::d0, d_state::d1, d_state::d2, d_state::d3hot};
    (void)set_power_state(map[state & 3]);
  }
  void function_reset() override {}  // pci_try_reset_function: registers come back as saved
  bool msi_enabled() const override { return irqs_.type() == abi::pci_irq::msi; }
  unsigned msi_qmax() const override { return irqs_.msi_qmax(); }
  void intx_disable_written(bool disabled) override { irqs_.virtual_intx_disable(disabled); }

 private:
  long dispatch(unsigned long request, void* arg) {
    namespace r = abi::req;
    if (request == r::device_feature) return feature(arg);
    if (request == r::device_get_info) {
      const bool reports = reports_reset_ ? *reports_reset_ : reset_works_;
      const std::uint32_t flags = abi::device_flags::pci | (reports ? abi::device_flags::reset : 0U);
      return reply_device_info(arg, flags, num_regions(), abi::pci_irq::count);
    }
    if (request == r::device_get_region_info) return region_info(arg);
    if (request == r::device_get_irq_info) return irq_info(arg);
    if (request == r::device_set_irqs) return set_irqs(arg);
    if (request == r::device_reset) {
      // vfio_pci_ioctl_reset: D0 first, then pci_try_reset_function.
      if (!reset_works_) return -EINVAL;
      set_power_state(d_state::d0);
      if (mig_) mig_->reset_done();  // the variant driver's reset_done
      return 0;
    }
    if (request == r::device_get_pci_hot_reset_info) return env_->hot_reset_info(*this, arg);
    if (request == r::device_pci_hot_reset) return env_->hot_reset(*this, arg);
    if (request == r::device_ioeventfd) return ioeventfd(arg);
    // ATTACH/DETACH_IOMMUFD_PT reach the cdev handlers only for a cdev-opened
    // device (vfio_device_fops_unl_ioctl, drivers/vfio/vfio_main.c: `!df->group`);
    // a group-opened one falls through to vfio_pci_core_ioctl's default.
    return -ENOTTY;  // vfio_pci_core_ioctl default
  }

  int region_info(void* arg) {
    if (!arg) return -EFAULT;
    abi::region_info info{};
    std::memcpy(&info, arg, sizeof info);
    if (info.argsz < sizeof info) return -EINVAL;
    region_report rep;
    if (!describe_region(*hw_, layout_, info.index, rep)) return -EINVAL;
    return reply_region_info(arg, rep, opt_->aligned_caps());
  }

  std::uint32_t irq_count(std::uint32_t index) const {
    // vfio_pci_get_irq_count
    if (index == abi::pci_irq::intx) return hw_->read(abi::pci::interrupt_pin, 1) ? 1 : 0;
    if (index == abi::pci_irq::msi && hw_->msi_cap())
      return 1U << ((hw_->read(hw_->msi_cap() + abi::pci::msi_flags, 2) & abi::pci::msi::flags_qmask) >> 1);
    if (index == abi::pci_irq::msix && hw_->msix_cap())
      return (hw_->read(hw_->msix_cap() + abi::pci::msix_flags, 2) & abi::pci::msix::flags_qsize) + 1;
    // ERR: PCIe only in 6.x; 7.x reports it for every function (observed on
    // 7.3.4: "vfio: Remove the pcie check for VFIO_PCI_ERR_IRQ_INDEX", which also
    // lets SET_IRQS arm it, see irq_state::set).
    if (index == abi::pci_irq::err) return hw_->is_pcie() || opt_->version == kernel_version::v7 ? 1 : 0;
    if (index == abi::pci_irq::req) return 1;
    return 0;
  }

  int irq_info(void* arg) {
    if (!arg) return -EFAULT;
    abi::irq_info info{};
    std::memcpy(&info, arg, sizeof info);
    if (info.argsz < sizeof info || info.index >= abi::pci_irq::count) return -EINVAL;
    if (info.index == abi::pci_irq::err && !irq_count(info.index)) return -EINVAL;
    return reply_irq_info(arg, irq_count(info.index), dynamic_msix());
  }

  bool dynamic_msix() const { return opt_->dynamic_msix() && hw_->msix_cap(); }

  int set_irqs(void* arg) {
    // vfio_pci_ioctl_set_irqs -> vfio_set_irqs_validate_and_prepare
    if (!arg) return -EFAULT;
    abi::irq_set hdr{};
    std::memcpy(&hdr, arg, sizeof hdr);
    const std::uint32_t max = irq_count(hdr.index);
    namespace f = abi::irq_set_flags;
    if (hdr.argsz < sizeof hdr || hdr.index >= abi::pci_irq::count || hdr.count >= UINT32_MAX - hdr.start ||
        (hdr.flags & ~(f::data_type_mask | f::action_type_mask)))
      return -EINVAL;
    if (hdr.start >= max || hdr.start + hdr.count > max) return -EINVAL;
    std::size_t size = 0;
    switch (hdr.flags & f::data_type_mask) {
      case f::data_none: size = 0; break;
      case f::data_bool: size = 1; break;
      case f::data_eventfd: size = 4; break;
      default: return -EINVAL;
    }
    std::vector<std::uint8_t> data;
    if (size) {
      if (hdr.argsz - sizeof hdr < hdr.count * size) return -EINVAL;
      data.resize(hdr.count * size);
      std::memcpy(data.data(), static_cast<unsigned char*>(arg) + sizeof hdr, data.size());
    }
    const auto lookup = [this](int fd, std::shared_ptr<eventfd_counter>& out) { return env_->eventfd_get(fd, out); };
    return irqs_.set(hdr.flags, hdr.index, hdr.start, hdr.count, data.data(), lookup, dynamic_msix(),
                     opt_->version == kernel_version::v6_1, max);
  }

  int ioeventfd(void* arg) {
    // vfio_pci_ioctl_ioeventfd -> vfio_pci_ioeventfd. The writes an
    // ioeventfd would perform are not simulated.
    if (!arg) return -EFAULT;
    abi::device_ioeventfd io{};
    std::memcpy(&io, arg, offsetof(abi::device_ioeventfd, reserved));
    if (io.argsz < offsetof(abi::device_ioeventfd, reserved)) return -EINVAL;
    if (io.flags & ~abi::ioeventfd_flags::size_mask) return -EINVAL;
    const std::uint32_t count = io.flags & abi::ioeventfd_flags::size_mask;
    if ((count & (count - 1)) || !count || io.fd < -1) return -EINVAL;
    const std::uint32_t bar = region_index(io.offset);
    const std::uint64_t pos = io.offset & region_offset_mask;
    if (bar > abi::pci_region::bar5) return -EINVAL;
    if (pos + count > hw_->bar(bar).size) return -EINVAL;
    if (bar == layout_.msix_bar &&
        !(pos + count <= layout_.msix_offset || pos >= layout_.msix_offset + layout_.msix_size))
      return -EINVAL;
    // `#ifndef iowrite64 ... count == 8: -EINVAL` never applies on x86, which
    // has iowrite64: the real 6.1.192 accepts 8-byte ioeventfds too.
    for (auto it = ioeventfds_.begin(); it != ioeventfds_.end(); ++it) {
      if (it->pos == pos && it->bar == bar && it->data == io.data && it->count == count) {
        if (io.fd == -1) {
          ioeventfds_.erase(it);
          return 0;
        }
        return -EEXIST;
      }
    }
    if (io.fd < 0) return -ENODEV;
    if (ioeventfds_.size() >= 1000) return -ENOSPC;  // VFIO_PCI_IOEVENTFD_MAX
    std::shared_ptr<eventfd_counter> e;
    if (const int rc = env_->eventfd_get(io.fd, e); rc < 0) return rc;
    ioeventfds_.push_back({pos, bar, io.data, count, std::move(e)});
    return 0;
  }

  static int check_feature(std::uint32_t flags, std::size_t argsz, std::uint32_t supported, std::size_t minsz) {
    // vfio_check_feature (include/linux/vfio.h)
    namespace ff = abi::feature_flags;
    if ((flags & (ff::get | ff::set)) & ~supported) return -EINVAL;
    if (flags & ff::probe) return 0;
    if (!(flags & (ff::get | ff::set))) return -EINVAL;
    if (argsz < minsz) return -EINVAL;
    return 1;
  }

  int feature(void* arg) {
    // vfio_ioctl_device_feature
    namespace ff = abi::feature_flags;
    if (!arg) return -EFAULT;
    abi::device_feature hdr{};
    std::memcpy(&hdr, arg, sizeof hdr);
    if (hdr.argsz < sizeof hdr) return -EINVAL;
    if (hdr.flags & ~(ff::mask | ff::set | ff::get | ff::probe)) return -EINVAL;
    if (!(hdr.flags & ff::probe) && (hdr.flags & ff::set) && (hdr.flags & ff::get)) return -EINVAL;
    const std::uint32_t id = hdr.flags & ff::mask;
    namespace fid = abi::feature_id;
    if (mig_ && mig_->handles(id))  // the core's migration features, given mig_ops / log_ops
      return mig_->feature(
          hdr.flags, id, static_cast<unsigned char*>(arg) + sizeof hdr, hdr.argsz - sizeof hdr,
          [this](std::shared_ptr<migration_file> f) { return env_->install_migration_file(std::move(f)); });
    // Core features without mig_ops / log_ops: -ENOTTY.
    if (id == fid::migration || id == fid::mig_device_state || id == fid::dma_logging_start ||
        id == fid::dma_logging_stop || id == fid::dma_logging_report || id == fid::mig_data_size)
      return -ENOTTY;
    if (!hw_->desc().driver_has_feature_op) return opt_->feature_without_handler_errno();
    unsigned char* data = static_cast<unsigned char*>(arg) + sizeof hdr;
    const std::size_t argsz = hdr.argsz - sizeof hdr;
    // vfio_pci_core_ioctl_feature
    if (opt_->dialect == low_power_dialect::seed) {
      if (id == abi::seed::feature_id::power_management) return seed_feature(hdr.flags, data, argsz);
      return -ENOTTY;
    }
    if (id == fid::low_power_entry) {
      const int c = check_feature(hdr.flags, argsz, ff::set, 0);
      return c != 1 ? c : runtime_pm_entry(nullptr);
    }
    if (id == fid::low_power_entry_with_wakeup) {
      const int c = check_feature(hdr.flags, argsz, ff::set, sizeof(abi::feature_low_power_entry_with_wakeup));
      if (c != 1) return c;
      abi::feature_low_power_entry_with_wakeup entry{};
      std::memcpy(&entry, data, sizeof entry);
      if (entry.wakeup_eventfd < 0) return -EINVAL;
      std::shared_ptr<eventfd_counter> e;
      if (const int r = env_->eventfd_get(entry.wakeup_eventfd, e); r < 0) return r;
      return runtime_pm_entry(std::move(e));
    }
    if (id == fid::low_power_exit) {
      const int c = check_feature(hdr.flags, argsz, ff::set, 0);
      if (c != 1) return c;
      runtime_pm_exit();  // always 0: the ioctl's own resume already woke the device
      return 0;
    }
    if (id == fid::dma_buf && opt_->version == kernel_version::v7) {
      // vfio_pci_core_feature_dma_buf (v6.19): GET only. Exporting BAR
      // ranges as a dma-buf is not modelled: a real GET is refused.
      const int c = check_feature(hdr.flags, argsz, ff::get, sizeof(abi::feature_dma_buf));
      return c != 1 ? c : -EOPNOTSUPP;
    }
    return -ENOTTY;  // PCI_VF_TOKEN: not an SR-IOV PF; unknown features
  }

  int runtime_pm_entry(std::shared_ptr<eventfd_counter> wake) {
    // vfio_pci_runtime_pm_entry: mappings are zapped, a second entry is
    // -EINVAL, and the usage count drops without an idle check: the put at
    // the end of the ioctl lets the device suspend.
    if (engaged_) return -EINVAL;
    engaged_ = true;
    wake_ = std::move(wake);
    pm_->put_noidle();
    return 0;
  }
  void runtime_pm_exit() {
    // __vfio_pci_runtime_pm_exit
    if (!engaged_) return;
    engaged_ = false;
    pm_->get_noresume();
    wake_.reset();
  }

  int seed_feature(std::uint32_t flags, unsigned char* data, std::size_t argsz) {
    // vfio_pci_core_feature_pm of "[PATCH v3 8/8] vfio/pci: Add the support
    // for PCI D3cold state" (never merged); its EINVAL is positive.
    namespace ff = abi::feature_flags;
    const int c = check_feature(flags, argsz, ff::get | ff::set, sizeof(abi::seed::feature_power_management));
    if (c != 1) return c;
    abi::seed::feature_power_management pm{};
    if (flags & ff::get) {
      pm.low_power_state = engaged_ ? abi::seed::low_power_state_enter : abi::seed::low_power_state_exit;
      std::memcpy(data, &pm, sizeof pm);
      return 0;
    }
    std::memcpy(&pm, data, sizeof pm);
    const int einval = opt_->seed_positive_einval ? EINVAL : -EINVAL;
    if (pm.low_power_state == abi::seed::low_power_state_enter) {
      if (!power_state_d3_ || engaged_) return einval;
      engaged_ = true;
      pm_->put_noidle();
      return 0;
    }
    if (pm.low_power_state == abi::seed::low_power_state_exit) {
      if (!engaged_) return einval;
      engaged_ = false;
      power_state_d3_ = false;
      pm_->get_noresume();
      return 0;
    }
    return einval;
  }

  struct ioeventfd_entry {
    std::uint64_t pos;
    std::uint32_t bar;
    std::uint64_t data;
    std::uint32_t count;
    std::shared_ptr<eventfd_counter> fd;
  };

  pci_function* hw_;
  runtime_pm* pm_;
  virtual_clock* clock_;
  const kernel_options* opt_;
  vfio_pci_env* env_;
  irq_state irqs_;
  config_virtualizer vconfig_;
  bar_layout layout_;
  bool enabled_ = false;
  bool reset_works_ = false;
  std::optional<bool> reports_reset_;  ///< device_description::reports_reset
  bool engaged_ = false;               // vdev->pm_runtime_engaged (the seed: platform_pm_engaged)
  bool power_state_d3_ = false;        // the seed's vdev->power_state_d3
  bool pm_intx_masked_ = false;
  std::shared_ptr<eventfd_counter> wake_;  // vdev->pm_wake_eventfd_ctx
  std::vector<ioeventfd_entry> ioeventfds_;
  std::vector<std::uint8_t> vga_;
  std::vector<std::vector<std::uint8_t>> dev_regions_;
  std::shared_ptr<migration_device> mig_;  ///< the migration driver, when the description has one
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_VFIO_PCI_DEVICE_HPP_INCLUDED
