// Interrupt state of a simulated vfio-pci device: VFIO_DEVICE_SET_IRQS after
// validation, as drivers/vfio/pci/vfio_pci_intrs.c handles it (INTx with
// masking, MSI and MSI-X vector blocks, the ERR and REQ single triggers,
// loopback triggering with DATA_NONE / DATA_BOOL).
#ifndef VFIO_TESTING_SIM_IRQS_HPP_INCLUDED
#define VFIO_TESTING_SIM_IRQS_HPP_INCLUDED

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "../../abi/pci.hpp"
#include "../../abi/vfio.hpp"
#include "eventfd.hpp"
#include "function_ref.hpp"
#include "pci_function.hpp"

namespace vfio::testing::sim {

/// eventfd_ctx_fdget: the counter behind a descriptor, or -EBADF (no such
/// descriptor) / -EINVAL (not an eventfd).
using eventfd_lookup = function_ref<int(int fd, std::shared_ptr<eventfd_counter>& out)>;

class irq_state {
 public:
  /// vdev->irq_type: VFIO_PCI_NUM_IRQS (5) means none.
  static constexpr std::uint32_t none = abi::pci_irq::count;

  explicit irq_state(pci_function& hw) : hw_(&hw) {}

  /// 7.x: the ERR index exists on conventional PCI functions too.
  void set_err_any_function(bool on) noexcept { err_any_function_ = on; }
  std::uint32_t type() const noexcept { return type_; }
  bool intx_masked() const noexcept { return type_ == abi::pci_irq::intx && !ctx_.empty() && ctx_[0].masked; }
  unsigned msi_qmax() const noexcept { return msi_qmax_; }
  bool virq_disabled() const noexcept { return virq_disabled_; }
  /// Number of eventfd contexts the device holds (triggers, unmask, ERR, REQ).
  std::size_t eventfd_refs() const noexcept {
    std::size_t n = (err_ ? 1 : 0) + (req_ ? 1 : 0) + (unmask_ ? 1 : 0);
    for (const auto& c : ctx_) n += c.trigger ? 1 : 0;
    return n;
  }

  /// vfio_pci_set_irqs_ioctl. `data` holds count elements of the DATA type;
  /// `lookup` resolves eventfds; `dynamic_msix` is vdev->has_dyn_msix;
  /// `legacy_bounds` keeps 6.1's "start + count > num_ctx" refusal of
  /// loopback triggers (the array-based contexts before the xarray).
  int set(std::uint32_t flags, std::uint32_t index, std::uint32_t start, std::uint32_t count, const std::uint8_t* data,
          const eventfd_lookup& lookup, bool dynamic_msix, bool legacy_bounds, std::uint32_t max_vectors) {
    namespace f = abi::irq_set_flags;
    const std::uint32_t action = flags & f::action_type_mask;
    switch (index) {
      case abi::pci_irq::intx:
        if (action == f::action_mask) return intx_mask_action(start, count, flags, data);
        if (action == f::action_unmask) return intx_unmask_action(start, count, flags, data, lookup);
        if (action == f::action_trigger) return intx_trigger(start, count, flags, data, lookup);
        break;
      case abi::pci_irq::msi:
      case abi::pci_irq::msix:
        // MASK / UNMASK: "XXX Need masking support exported": no handler.
        if (action == f::action_trigger)
          return msi_trigger(index, start, count, flags, data, lookup, dynamic_msix, legacy_bounds, max_vectors);
        break;
      case abi::pci_irq::err:
        // 7.x drops the pci_is_pcie() test ("vfio: Remove the pcie check for
        // VFIO_PCI_ERR_IRQ_INDEX"), as in vfio_pci_get_irq_count.
        if (action == f::action_trigger && (hw_->is_pcie() || err_any_function_))
          return single(err_, start, count, flags, data, lookup);
        break;
      case abi::pci_irq::req:
        if (action == f::action_trigger) return single(req_, start, count, flags, data, lookup);
        break;
      default: break;
    }
    return -ENOTTY;
  }

  /// vfio_pci_intx_mask: returns true when this call masked it.
  bool intx_mask() {
    if (type_ != abi::pci_irq::intx) {
      set_hw_intx(false);
      return false;
    }
    if (ctx_[0].masked) return false;
    set_hw_intx(false);
    ctx_[0].masked = true;
    return true;
  }
  /// vfio_pci_intx_unmask.
  void intx_unmask() {
    if (type_ != abi::pci_irq::intx) {
      set_hw_intx(true);
      return;
    }
    if (ctx_[0].masked && !virq_disabled_) {
      set_hw_intx(true);
      ctx_[0].masked = false;
    }
  }
  /// The INTx disable bit of the virtual COMMAND register changed
  /// (vfio_basic_config_write).
  void virtual_intx_disable(bool disabled) {
    if (disabled && !virq_disabled_) {
      virq_disabled_ = true;
      intx_mask();
    } else if (!disabled && virq_disabled_) {
      virq_disabled_ = false;
      intx_unmask();
    }
  }

  /// The device raises an interrupt: INTx goes through vfio_intx_handler
  /// (masks, then signals: automasked); MSI/MSI-X vectors signal their
  /// trigger (vfio_msihandler). Returns false when nothing was signalled.
  bool raise(std::uint32_t index, std::uint32_t vector) {
    if (index != type_ || vector >= ctx_.size()) return false;
    irq_ctx& c = ctx_[vector];
    if (index == abi::pci_irq::intx) {
      if (c.masked) return false;
      c.masked = true;
      set_hw_intx(false);
      return send_intx();
    }
    if (!c.trigger) return false;
    c.trigger->signal(1);
    return true;
  }
  /// vfio_pci_core_request: signals the REQ trigger, if any.
  bool request() {
    if (!req_) return false;
    req_->signal(1);
    return true;
  }

  /// vfio_pci_core_aer_err_detected: signals the ERR trigger, if any.
  bool error_detected() {
    if (!err_) return false;
    err_->signal(1);
    return true;
  }

  /// Everything off, as vfio_pci_core_disable / close_device leave it.
  void reset_all() {
    if (type_ == abi::pci_irq::intx)
      intx_disable();
    else if (type_ == abi::pci_irq::msi || type_ == abi::pci_irq::msix)
      msi_disable(type_ == abi::pci_irq::msix);
    err_.reset();
    req_.reset();
    virq_disabled_ = false;
  }

 private:
  struct irq_ctx {
    std::shared_ptr<eventfd_counter> trigger;
    bool masked = false;
  };

  // pci_intx: the hardware INTx disable bit follows (enable = clear it).
  void set_hw_intx(bool enable) {
    std::uint32_t cmd = hw_->command();
    if (enable)
      cmd &= ~static_cast<std::uint32_t>(abi::pci::command_bits::intx_disable);
    else
      cmd |= abi::pci::command_bits::intx_disable;
    hw_->poke(abi::pci::command, cmd, 2);
  }
  bool send_intx() {
    // vfio_send_intx_eventfd
    if (type_ != abi::pci_irq::intx || virq_disabled_ || ctx_.empty() || !ctx_[0].trigger) return false;
    ctx_[0].trigger->signal(1);
    return true;
  }

  int intx_mask_action(std::uint32_t start, std::uint32_t count, std::uint32_t flags, const std::uint8_t* data) {
    namespace f = abi::irq_set_flags;
    if (type_ != abi::pci_irq::intx || start != 0 || count != 1) return -EINVAL;
    if (flags & f::data_none)
      intx_mask();
    else if (flags & f::data_bool) {
      if (data[0]) intx_mask();
    } else if (flags & f::data_eventfd) {
      return -ENOTTY;  // "XXX implement me" (vfio_pci_set_intx_mask)
    }
    return 0;
  }

  int intx_unmask_action(std::uint32_t start, std::uint32_t count, std::uint32_t flags, const std::uint8_t* data,
                         const eventfd_lookup& lookup) {
    namespace f = abi::irq_set_flags;
    if (type_ != abi::pci_irq::intx || start != 0 || count != 1) return -EINVAL;
    if (flags & f::data_none)
      intx_unmask();
    else if (flags & f::data_bool) {
      if (data[0]) intx_unmask();
    } else if (flags & f::data_eventfd) {
      std::int32_t fd = -1;
      std::memcpy(&fd, data, sizeof fd);
      // An unmask irqfd (vfio_virqfd_enable): the reference is kept; writes
      // to it are not watched by the simulation.
      if (fd >= 0) {
        std::shared_ptr<eventfd_counter> e;
        if (const int r = lookup(fd, e); r < 0) return r;
        unmask_ = std::move(e);
        return 0;
      }
      unmask_.reset();
    }
    return 0;
  }

  int intx_trigger(std::uint32_t start, std::uint32_t count, std::uint32_t flags, const std::uint8_t* data,
                   const eventfd_lookup& lookup) {
    namespace f = abi::irq_set_flags;
    if (type_ == abi::pci_irq::intx && !count && (flags & f::data_none)) {
      intx_disable();
      return 0;
    }
    if (!(type_ == abi::pci_irq::intx || type_ == none) || start != 0 || count != 1) return -EINVAL;
    if (flags & f::data_eventfd) {
      std::int32_t fd = -1;
      std::memcpy(&fd, data, sizeof fd);
      std::shared_ptr<eventfd_counter> e;
      if (fd >= 0)
        if (const int r = lookup(fd, e); r < 0) return r;
      if (type_ != abi::pci_irq::intx) {
        // vfio_intx_enable: the virtual mask follows INTx disable.
        ctx_.assign(1, irq_ctx{});
        ctx_[0].masked = virq_disabled_;
        set_hw_intx(!ctx_[0].masked);
        type_ = abi::pci_irq::intx;
      }
      ctx_[0].trigger = std::move(e);  // vfio_intx_set_signal (fd < 0: disable only)
      return 0;
    }
    if (type_ != abi::pci_irq::intx) return -EINVAL;
    if ((flags & f::data_none) || ((flags & f::data_bool) && data[0])) send_intx();
    return 0;
  }

  void intx_disable() {
    // vfio_intx_disable
    unmask_.reset();
    ctx_.clear();
    type_ = none;
  }

  int msi_trigger(std::uint32_t index, std::uint32_t start, std::uint32_t count, std::uint32_t flags,
                  const std::uint8_t* data, const eventfd_lookup& lookup, bool dynamic_msix, bool legacy_bounds,
                  std::uint32_t max_vectors) {
    namespace f = abi::irq_set_flags;
    const bool msix = index == abi::pci_irq::msix;
    if (type_ == index && !count && (flags & f::data_none)) {
      msi_disable(msix);
      return 0;
    }
    if (!(type_ == index || type_ == none)) return -EINVAL;
    if (flags & f::data_eventfd) {
      std::vector<std::int32_t> fds(count);
      if (count) std::memcpy(fds.data(), data, count * sizeof(std::int32_t));
      if (type_ == index) return set_block(start, fds, msix, lookup, dynamic_msix, max_vectors);
      msi_enable(start + count, msix);
      const int r = set_block(start, fds, msix, lookup, dynamic_msix, max_vectors);
      if (r) msi_disable(msix);
      return r;
    }
    if (type_ != index) return -EINVAL;
    if (legacy_bounds && start + count > allocated_) return -EINVAL;
    for (std::uint32_t i = start; i < start + count; ++i) {
      if (i >= ctx_.size() || !ctx_[i].trigger) continue;
      if ((flags & f::data_none) || ((flags & f::data_bool) && data[i - start])) ctx_[i].trigger->signal(1);
    }
    return 0;
  }

  void msi_enable(std::uint32_t nvec, bool msix) {
    // vfio_msi_enable: pci_alloc_irq_vectors enables MSI / MSI-X in hardware.
    ctx_.assign(nvec, irq_ctx{});
    allocated_ = nvec;
    type_ = msix ? abi::pci_irq::msix : abi::pci_irq::msi;
    if (msix) {
      const unsigned at = hw_->msix_cap() + abi::pci::msix_flags;
      hw_->poke(at, hw_->read(at, 2) | abi::pci::msix::flags_enable, 2);
    } else {
      unsigned q = 0;
      while ((1U << q) < nvec) ++q;
      msi_qmax_ = q;  // fls(nvec * 2 - 1) - 1
      const unsigned at = hw_->msi_cap() + abi::pci::msi_flags;
      std::uint32_t fl = hw_->read(at, 2) & ~static_cast<std::uint32_t>(abi::pci::msi::flags_qsize);
      hw_->poke(at, fl | abi::pci::msi::flags_enable | (q << 4), 2);
    }
  }

  int set_block(std::uint32_t start, const std::vector<std::int32_t>& fds, bool msix, const eventfd_lookup& lookup,
                bool dynamic_msix, std::uint32_t max_vectors) {
    // vfio_msi_set_block / vfio_msi_set_vector_signal
    std::uint32_t j = start;
    int ret = 0;
    for (std::size_t i = 0; i < fds.size() && !ret; ++i, ++j)
      ret = set_vector(j, fds[i], msix, lookup, dynamic_msix, max_vectors);
    if (ret)
      for (std::uint32_t k = start; k < j; ++k) set_vector(k, -1, msix, lookup, dynamic_msix, max_vectors);
    return ret;
  }

  int set_vector(std::uint32_t vector, std::int32_t fd, bool msix, const eventfd_lookup& lookup, bool dynamic_msix,
                 std::uint32_t max_vectors) {
    if (vector < ctx_.size()) ctx_[vector].trigger.reset();
    if (fd < 0) return 0;
    if (vector >= allocated_) {
      // vfio_msi_alloc_irq: only MSI-X with dynamic allocation grows.
      if (!msix || !dynamic_msix || vector >= max_vectors) return -EINVAL;
      allocated_ = vector + 1;
      ctx_.resize(allocated_);
    }
    std::shared_ptr<eventfd_counter> e;
    if (const int r = lookup(fd, e); r < 0) return r;
    ctx_[vector].trigger = std::move(e);
    return 0;
  }

  void msi_disable(bool msix) {
    ctx_.clear();
    allocated_ = 0;
    type_ = none;
    const unsigned at = msix ? hw_->msix_cap() + abi::pci::msix_flags : hw_->msi_cap() + abi::pci::msi_flags;
    const std::uint32_t bit = msix ? abi::pci::msix::flags_enable : abi::pci::msi::flags_enable;
    hw_->poke(at, hw_->read(at, 2) & ~bit, 2);
  }

  int single(std::shared_ptr<eventfd_counter>& slot, std::uint32_t start, std::uint32_t count, std::uint32_t flags,
             const std::uint8_t* data, const eventfd_lookup& lookup) {
    // vfio_pci_set_ctx_trigger_single
    namespace f = abi::irq_set_flags;
    if (start != 0 || count > 1) return -EINVAL;
    if (flags & f::data_none) {
      if (slot) {
        if (count)
          slot->signal(1);
        else
          slot.reset();
        return 0;
      }
    } else if (flags & f::data_bool) {
      if (!count) return -EINVAL;
      if (data[0] && slot) slot->signal(1);
      return 0;
    } else if (flags & f::data_eventfd) {
      if (!count) return -EINVAL;
      std::int32_t fd = -1;
      std::memcpy(&fd, data, sizeof fd);
      if (fd == -1) {
        slot.reset();
      } else if (fd >= 0) {
        std::shared_ptr<eventfd_counter> e;
        if (const int r = lookup(fd, e); r < 0) return r;
        slot = std::move(e);
      } else {
        return -EINVAL;  // fd < -1
      }
      return 0;
    }
    return -EINVAL;
  }

  pci_function* hw_;
  std::uint32_t type_ = none;
  std::vector<irq_ctx> ctx_;
  std::uint32_t allocated_ = 0;
  unsigned msi_qmax_ = 0;
  bool virq_disabled_ = false;
  std::shared_ptr<eventfd_counter> unmask_;
  std::shared_ptr<eventfd_counter> err_;
  std::shared_ptr<eventfd_counter> req_;
  bool err_any_function_ = false;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_IRQS_HPP_INCLUDED
