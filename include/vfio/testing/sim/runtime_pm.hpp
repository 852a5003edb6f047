// The runtime power-management core of one simulated device: usage count,
// runtime_status, power/control, and the asynchronous idle -> suspend that
// settles a fixed delay after the last reference is dropped, as
// drivers/base/power/runtime.c does it for a PCI function.
#ifndef VFIO_TESTING_SIM_RUNTIME_PM_HPP_INCLUDED
#define VFIO_TESTING_SIM_RUNTIME_PM_HPP_INCLUDED

#include <cstdint>
#include <optional>

#include "virtual_clock.hpp"

namespace vfio::testing::sim {

/// The PCI core's power state of a function (pci_dev->current_state), as
/// sysfs power_state prints it.
enum class d_state { d0, d1, d2, d3hot, d3cold };

inline const char* to_string(d_state s) noexcept {
  switch (s) {
    case d_state::d0: return "D0";
    case d_state::d1: return "D1";
    case d_state::d2: return "D2";
    case d_state::d3hot: return "D3hot";
    case d_state::d3cold: return "D3cold";
  }
  return "unknown";
}

/// dev->power.runtime_status, as power/runtime_status prints it (rpm_status_str).
enum class rpm_status { active, resuming, suspending, suspended };

inline const char* to_string(rpm_status s) noexcept {
  switch (s) {
    case rpm_status::active: return "active";
    case rpm_status::resuming: return "resuming";
    case rpm_status::suspending: return "suspending";
    case rpm_status::suspended: return "suspended";
  }
  return "error";
}

/// What the bus and driver do when the core suspends or resumes the device
/// (pci_pm_runtime_suspend / pci_pm_runtime_resume with the driver's
/// runtime callbacks inside).
class runtime_pm_client {
 public:
  /// Start of rpm_suspend: the driver's runtime_suspend callback
  /// (vfio_pci_core_runtime_suspend) runs, then the PCI core saves state.
  virtual void runtime_suspend_begin() = 0;
  /// pci_finish_runtime_suspend: the function enters its target state
  /// (pci_target_state); runtime_status turns "suspended" right after.
  virtual void runtime_suspend_end() = 0;
  /// rpm_resume: the PCI core brings the function back to D0
  /// (pci_pm_runtime_resume, which may take time on the virtual clock),
  /// then the driver's runtime_resume callback runs.
  virtual void runtime_resume() = 0;
  virtual ~runtime_pm_client() = default;
};

/// Runtime PM of one device. The usage count includes the reference that
/// power/control=on holds (pm_runtime_forbid takes one, pm_runtime_allow
/// drops it), as in the kernel. Without a bound client (no driver with
/// runtime PM callbacks) the device stays active.
class runtime_pm final : public clock_timer {
 public:
  runtime_pm(virtual_clock& clock, std::int64_t suspend_delay_ns) : clock_(&clock), delay_(suspend_delay_ns) {
    clock_->add_timer(this);
  }
  ~runtime_pm() override { clock_->remove_timer(this); }
  runtime_pm(const runtime_pm&) = delete;
  runtime_pm& operator=(const runtime_pm&) = delete;

  rpm_status status() const noexcept { return status_; }
  int usage() const noexcept { return usage_; }
  /// power/control: "auto" when true, "on" when false.
  bool allowed() const noexcept { return !forbidden_; }
  bool bound() const noexcept { return client_ != nullptr; }

  /// A driver with runtime PM callbacks is bound. local_pci_probe holds a
  /// reference across probe (pm_runtime_get_sync); the driver drops it.
  void bind(runtime_pm_client* client) {
    get();
    client_ = client;
  }
  /// The driver goes away: pci_device_remove resumes the function first
  /// (pm_runtime_get_sync), and the driver leaves runtime PM forbidden
  /// (vfio_pci_core_unregister_device: pm_runtime_get_noresume + forbid).
  /// Afterwards the usage count is the PCI core's: 1 (forbidden).
  void unbind() {
    resume_now();
    client_ = nullptr;
    forbidden_ = true;
    usage_ = 1;
    status_ = rpm_status::active;
  }

  /// pm_runtime_resume_and_get: takes a reference and resumes synchronously.
  void get() {
    ++usage_;
    resume_now();
  }
  /// pm_runtime_put: drops a reference; at zero, an asynchronous idle
  /// (rpm_idle with RPM_ASYNC) starts the suspend.
  void put() {
    if (usage_ > 0) --usage_;
    idle();
  }
  /// pm_runtime_put_noidle: drops a reference without an idle check.
  void put_noidle() {
    if (usage_ > 0) --usage_;
  }
  /// pm_runtime_get_noresume: takes a reference, no resume.
  void get_noresume() { ++usage_; }
  /// pm_runtime_resume: resumes synchronously without a reference; rpm_resume
  /// then queues an idle check (rpm_idle(dev, RPM_ASYNC)), so an unused
  /// device suspends again.
  void resume() {
    resume_now();
    idle();
  }
  /// pm_runtime_allow (power/control "auto").
  void allow() {
    if (!forbidden_) return;
    forbidden_ = false;
    put();
  }
  /// pm_runtime_forbid (power/control "on"): takes a reference and resumes.
  void forbid() {
    if (forbidden_) return;
    forbidden_ = true;
    get();
  }
  /// pm_runtime_barrier: waits (on the virtual clock) for a suspend in progress.
  void barrier() {
    if (status_ == rpm_status::suspending) clock_->advance_to(suspend_due_);
  }
  /// Completes a suspend in progress at the current time (a device present
  /// since boot has long settled).
  void settle_now() {
    if (status_ == rpm_status::suspending) finish_suspend();
  }

  std::optional<std::int64_t> due_ns() const override {
    if (status_ == rpm_status::suspending) return suspend_due_;
    return std::nullopt;
  }
  void fire() override { finish_suspend(); }

 private:
  /// rpm_idle -> rpm_suspend: only when nothing holds the device, the driver
  /// has runtime PM callbacks and the device is active. The work runs at
  /// once and the status reads "suspending" until the PCI core has moved the
  /// function to its target state (the D3hot transition alone sleeps
  /// PCI_PM_D3HOT_WAIT), `delay_` later.
  void idle() {
    if (usage_ != 0 || !client_ || status_ != rpm_status::active) return;
    status_ = rpm_status::suspending;
    suspend_due_ = clock_->now() + delay_;
    client_->runtime_suspend_begin();
  }
  void finish_suspend() {
    if (status_ != rpm_status::suspending) return;
    if (client_) client_->runtime_suspend_end();
    status_ = rpm_status::suspended;
  }
  /// rpm_resume: a suspend in progress is waited for (the caller sleeps until
  /// it completes), then the device resumes.
  void resume_now() {
    if (status_ == rpm_status::suspending) clock_->advance_to(suspend_due_);
    if (status_ != rpm_status::suspended) return;
    status_ = rpm_status::resuming;
    if (client_) client_->runtime_resume();
    status_ = rpm_status::active;
  }

  virtual_clock* clock_;
  std::int64_t delay_;
  runtime_pm_client* client_ = nullptr;
  int usage_ = 1;          // pci_pm_init: pm_runtime_forbid
  bool forbidden_ = true;  // power/control "on" until a driver allows runtime PM
  rpm_status status_ = rpm_status::active;
  std::int64_t suspend_due_ = 0;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_RUNTIME_PM_HPP_INCLUDED
