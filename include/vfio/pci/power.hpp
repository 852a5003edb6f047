// PCI power management of a VFIO device: the PM capability (PMC / PMCSR), D-states
// through PM_CTRL, low-power entry and exit through VFIO device features (the
// merged ABI of Linux 6.1+ and the unmerged seed ABI), the wake-up eventfd, and
// the whole suspend / resume flow as two calls.
//
// Syscall sequences (fd = the device fd; cfg = the config region's file offset,
// from VFIO_DEVICE_GET_REGION_INFO(7), which the device fetches once and caches;
// pm = the PM capability offset; F(argsz, flags[, payload]) = one
// ioctl(fd, VFIO_DEVICE_FEATURE) with that header):
//
// Dialect detection, once per device (the answer is kept in the device for every
// power object of it; skipped when forced):
//   F(8, 5|PROBE|SET)   0 -> merged (LOW_POWER_EXIT exists only there): one probe
//                       -ENOTTY / -EINVAL -> go on
//   F(8, 3|PROBE|GET)   0 -> seed; -ENOTTY / -EINVAL -> none
// PM capability lookup, once per device (only where PM_CTRL is needed):
//   pread(fd, 256, cfg + 0)                          capability walk over the bytes read
// A PM_CTRL transition to state S:
//   pread(fd, 2, cfg + pm + 4)                       v = PMCSR (skipped when the lookup
//                                                    above ran in the same call: its
//                                                    bytes hold PMCSR as it is now)
//   pwrite(fd, (v & ~(PowerState | PME_Status)) | S, 2, cfg + pm + 4)
//   pread(fd, 2, cfg + pm + 4)                       verify (kept: the kernel may refuse
//                                                    the state without an error, and
//                                                    mapping safety depends on it)
// (set_power_state() always writes; the flows below stop after the first read
// when PMCSR already reads S.)
//
// Merged ABI (Linux 6.1+), suspend():
//   [d3hot_policy::if_possible and a PM capability: PM_CTRL transition to D3hot]
//   F(8, 3|SET)                                      LOW_POWER_ENTRY
//   with wake-up: eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK) unless the caller gave one,
//                 F(16, 4|SET, {eventfd, 0})        LOW_POWER_ENTRY_WITH_WAKEUP
// Merged ABI, resume():
//   F(8, 5|SET)                                      LOW_POWER_EXIT
//   [a PM capability: pread(PMCSR), or the lookup's 256-byte pread on first use;
//    if not D0, the PM_CTRL transition to D0]         kept: runtime PM may have
//                                                    changed the state while engaged
//   close(eventfd) when the library created it
//
// Seed ABI (the 2022 RFC's POWER_MANAGEMENT, feature 3, never merged), suspend():
//   PM_CTRL transition to D3hot                      required: the seed's
//                                                    vfio_pci_core_feature_pm refused
//                                                    ENTER unless power_state_d3
//   F(16, 3|SET, {u64 1})                            ENTER (that refusal was a
//                                                    positive EINVAL: reported as EINVAL)
// Seed ABI, resume():
//   F(16, 3|SET, {u64 0})                            EXIT
//   PM_CTRL transition to D0, verified
// The seed ABI has no wake-up eventfd.
//
// Waiting for a wake-up: poll({eventfd, POLLIN}, 1, remaining ms) until ready or
// the deadline (syscalls::monotonic_ns), then read(eventfd, 8) (vfio::eventfd::wait);
// then, only when a PM_CTRL D3hot written before entry may have been undone by the
// kernel's runtime suspend, pread(PMCSR) to learn the state (see mapping safety).
//
// Mapping safety: the device records every state change this object makes (and every
// config write, reset and wake-up: see the top of <vfio/device.hpp>), so
// device::mappings_accessible() is false whenever a BAR mapping would fault.
//
// Event loops: a VMM that polls wakeup_fd() in its own epoll/io_uring loop reads the
// counter itself and then calls acknowledge_wakeup(count), which records the wake-up
// exactly as wait_for_wakeup() does.
//
// What the kernel does (drivers/vfio/pci/vfio_pci_core.c, drivers/vfio/pci/vfio_pci_config.c):
// - vfio_pci_core_pm_entry / _entry_with_wakeup -> vfio_pci_runtime_pm_entry: zaps
//   every BAR mmap, then fails with -EINVAL if low power is already engaged, else
//   drops a runtime-PM reference so the device can suspend when the ioctl returns.
//   A negative wakeup_eventfd is -EINVAL. Entry from D0 is allowed.
// - vfio_pci_core_pm_exit always returns 0, engaged or not.
// - vfio_pci_core_runtime_suspend first sets D0 (undoing a PM_CTRL D3hot); the PCI
//   core then picks D3hot or D3cold. vfio_pci_core_runtime_resume signals the
//   wake-up eventfd and ends low power (EXIT is then optional).
// - While engaged, config accesses and ioctls wake the device and succeed; mmap'd
//   BAR access faults with SIGBUS until exit. In D3hot through PM_CTRL, BAR
//   read/write gives EIO and mmap'd access SIGBUS (vfio_pci_mmap_fault,
//   __vfio_pci_memory_enabled). device::mappings_accessible() tells which.
// - vfio_pm_config_write acts only on a write at exactly pm + 4 and only on the
//   PowerState field; PME_En and PME_Status are virtualized (read as 0), and
//   PME_Status is write-1-to-clear on real hardware, so it is never written as 1.
//   vfio_pci_set_power_state saves and restores config state across D3hot for
//   devices without NoSoftRst.
#ifndef VFIO_PCI_POWER_HPP_INCLUDED
#define VFIO_PCI_POWER_HPP_INCLUDED

#include <cerrno>
#include <climits>
#include <cstdint>
#include <optional>

#include <poll.h>
#include <sys/eventfd.h>

#include "../abi/pci.hpp"
#include "../abi/vfio.hpp"
#include "../device.hpp"
#include "../error.hpp"
#include "../eventfd.hpp"
#include "../feature.hpp"
#include "../result.hpp"
#include "../syscalls.hpp"
#include "../unique_fd.hpp"
#include "config.hpp"

namespace vfio::pci {

/// A PCI function power state as PMCSR's PowerState field encodes it.
enum class d_state : std::uint8_t { d0 = 0, d1 = 1, d2 = 2, d3hot = 3 };

inline const char* to_string(d_state s) noexcept {
  switch (s) {
    case d_state::d0: return "D0";
    case d_state::d1: return "D1";
    case d_state::d2: return "D2";
    case d_state::d3hot: return "D3hot";
  }
  return "?";
}

/// PMC (Power Management Capabilities, cap + 2), decoded.
struct pm_capabilities {
  std::uint16_t raw = 0;
  std::uint8_t version = 0;      ///< 1: PCI PM 1.0, 2: 1.1, 3: 1.2
  bool pme_clock = false;        ///< PME generation needs the PCI clock
  bool dsi = false;              ///< device-specific initialization needed after D0
  std::uint8_t aux_current = 0;  ///< the 3-bit field; see aux_current_ma()
  bool d1 = false;               ///< D1 supported
  bool d2 = false;               ///< D2 supported
  /// PME_Support, 5 bits: bit 0 = from D0, 1 = D1, 2 = D2, 3 = D3hot, 4 = D3cold.
  /// vfio-pci reads these as 0 ("The guests can't process PME events").
  std::uint8_t pme_support = 0;

  /// The 3.3Vaux current the field announces, in mA (0 = self powered).
  std::uint16_t aux_current_ma() const noexcept {
    constexpr std::uint16_t table[8] = {0, 55, 100, 160, 220, 270, 320, 375};
    return table[aux_current & 7];
  }
  /// Whether the device can enter `s` through PM_CTRL (D0 and D3hot are mandatory).
  bool supports(d_state s) const noexcept { return s == d_state::d1 ? d1 : s == d_state::d2 ? d2 : true; }
};

/// PMCSR (Power Management Control/Status, cap + 4), decoded.
struct pm_control_status {
  std::uint16_t raw = 0;
  d_state power_state = d_state::d0;
  /// NoSoftRst: the function keeps its configuration across D3hot -> D0.
  bool no_soft_reset = false;
  bool pme_enable = false;       ///< vfio-pci virtualizes it (reads 0)
  std::uint8_t data_select = 0;  ///< 4 bits
  std::uint8_t data_scale = 0;   ///< 2 bits
  bool pme_status = false;       ///< write-1-to-clear; vfio-pci virtualizes it
};

inline pm_capabilities decode_pmc(std::uint16_t v) noexcept {
  namespace pm = abi::pci::pm;
  pm_capabilities c;
  c.raw = v;
  c.version = static_cast<std::uint8_t>(v & pm::pmc_ver_mask);
  c.pme_clock = (v & pm::pmc_pme_clock) != 0;
  c.dsi = (v & pm::pmc_dsi) != 0;
  c.aux_current = static_cast<std::uint8_t>((v & pm::pmc_aux_power) >> 6);
  c.d1 = (v & pm::pmc_d1) != 0;
  c.d2 = (v & pm::pmc_d2) != 0;
  c.pme_support = static_cast<std::uint8_t>((v & pm::pmc_pme_mask) >> pm::pmc_pme_shift);
  return c;
}

inline pm_control_status decode_pmcsr(std::uint16_t v) noexcept {
  namespace pm = abi::pci::pm;
  pm_control_status s;
  s.raw = v;
  s.power_state = static_cast<d_state>(v & pm::ctrl_state_mask);
  s.no_soft_reset = (v & pm::ctrl_no_soft_reset) != 0;
  s.pme_enable = (v & pm::ctrl_pme_enable) != 0;
  s.data_select = static_cast<std::uint8_t>((v & pm::ctrl_data_sel_mask) >> 9);
  s.data_scale = static_cast<std::uint8_t>((v & pm::ctrl_data_scale_mask) >> 13);
  s.pme_status = (v & pm::ctrl_pme_status) != 0;
  return s;
}

/// The PCI PM capability of a device.
struct pm_capability {
  std::uint16_t offset = 0;  ///< config-space offset of the capability header
  pm_capabilities pmc;
  pm_control_status pmcsr;  ///< as read by the call that returned this

  /// NoSoftRst set: the device keeps its state across D3hot -> D0. When clear,
  /// the kernel saves and restores the config space around D3hot itself
  /// (vfio_pci_set_power_state, needs_pm_restore), but device-internal state is lost.
  bool keeps_state_across_d3hot() const noexcept { return pmcsr.no_soft_reset; }
};

/// The PMCSR value a read-modify-write to `target` writes back: only PowerState
/// changes; PME_Status is written as 0 (writing back a 1 would clear it); every
/// other bit (PME_En, Data_Select ...) is written as read.
inline constexpr std::uint16_t pmcsr_write_value(std::uint16_t read_value, d_state target) noexcept {
  namespace pm = abi::pci::pm;
  return static_cast<std::uint16_t>((read_value & ~(pm::ctrl_state_mask | pm::ctrl_pme_status)) |
                                    static_cast<std::uint16_t>(target));
}

/// Which low-power ABI the device's kernel speaks.
enum class low_power_dialect : std::uint8_t {
  merged,  ///< Linux 6.1+: LOW_POWER_ENTRY (3), _WITH_WAKEUP (4), LOW_POWER_EXIT (5), SET only
  seed,    ///< the unmerged seed series: POWER_MANAGEMENT (3), GET/SET {u64}, D3hot first
  none,    ///< no low-power feature
};

inline const char* to_string(low_power_dialect d) noexcept {
  switch (d) {
    case low_power_dialect::merged: return "merged";
    case low_power_dialect::seed: return "seed";
    case low_power_dialect::none: return "none";
  }
  return "?";
}

/// The low-power request the library last made successfully.
enum class low_power_request : std::uint8_t { exit, enter, enter_with_wakeup };

/// When suspend() writes D3hot to PM_CTRL before low-power entry.
enum class d3hot_policy : std::uint8_t {
  /// Only where the ABI requires it (the seed ABI). The merged kernel moves the
  /// device back to D0 before runtime suspend anyway.
  if_required,
  /// Also under the merged ABI when the device has a PM capability: useful where
  /// runtime PM cannot suspend the device (power/control=on, see
  /// vfio::host::read_power_report), so that D3hot is reached regardless.
  if_possible,
  /// Never (under the seed ABI the kernel then refuses ENTER with EINVAL).
  never,
};

/// Options of power::suspend().
struct suspend_options {
  bool wakeup = false;      ///< enter with a wake-up eventfd (merged ABI only)
  int wakeup_eventfd = -1;  ///< the caller's eventfd; -1: the library creates one
  d3hot_policy d3hot = d3hot_policy::if_required;
};

/// Power management of one VFIO PCI device: the detected dialect, the low-power
/// request last made, and the wake-up eventfd it created. The PM capability and the
/// power/mapping state live in the device, so several power objects of one device
/// agree.
///
/// Lifetime: a view of the device (detail::device_view): it follows the device when the
/// device is moved (into a vector, out of a function), and fails every call with EBADF
/// once the device is destroyed or move-assigned over. It never dangles.
///
/// mmap safety: after a PM_CTRL write of D3hot and after low-power entry, touching
/// a BAR mapping raises SIGBUS until the device is back in D0 / low power is
/// exited. device::mappings_accessible() tells, whatever path changed the state.
///
/// Threading: as the device; wait_for_wakeup() may block on one thread while one
/// other thread uses the device (see vfio::device).
class power : private detail::device_view {
 public:
  explicit power(device& dev) noexcept : device_view(dev) {}

  /// The new object views the same device; the moved-from one keeps viewing it but no
  /// longer owns the wake-up eventfd.
  power(power&&) noexcept = default;
  power& operator=(power&&) noexcept = default;
  power(const power&) = delete;
  power& operator=(const power&) = delete;
  ~power() = default;

  /// The device viewed (an empty device, failing with EBADF, once it is gone).
  device& dev() const noexcept { return viewed(); }

  // --- PM capability and D-states through PM_CTRL ---------------------------

  /// The PM capability with PMC and a fresh PMCSR. The first use (by any power object
  /// of the device) reads the first 256 bytes of config space once (one pread,
  /// device::pm_capability_location) and walks the capability list; later calls
  /// read only PMCSR (one 2-byte pread).
  /// Errors: errc::no_pm_capability; errc::malformed_capability_chain; EIO and
  /// the errors of device::pm_capability_location / config::read16.
  result<pm_capability> capability() noexcept {
    const bool fresh_lookup = dev().pm_ == device::pm_lookup::unknown;
    auto at = location();
    if (!at) return at.error();
    if (fresh_lookup) return pm_capability{at->offset, decode_pmc(at->pmc), decode_pmcsr(at->pmcsr)};
    auto v = read_pmcsr(at->offset);
    if (!v) return v.error();
    return pm_capability{at->offset, decode_pmc(at->pmc), decode_pmcsr(*v)};
  }

  /// The PowerState field of PMCSR (one 2-byte pread of cap + 4; on first use the
  /// capability lookup's read instead, which holds it). While low power is engaged the read wakes
  /// the device (vfio_pci_config_rw takes a runtime-PM reference).
  /// Errors: as capability().
  result<d_state> power_state() noexcept {
    bool looked_up = false;
    auto at = location(&looked_up);
    if (!at) return at.error();
    if (looked_up) return static_cast<d_state>(at->pmcsr & abi::pci::pm::ctrl_state_mask);
    auto v = read_pmcsr(at->offset);
    if (!v) return v.error();
    return static_cast<d_state>(*v & abi::pci::pm::ctrl_state_mask);
  }

  /// Moves the device to `target` through PM_CTRL: pread PMCSR (taken from the
  /// capability lookup instead when that runs in this call), pwrite it with
  /// only PowerState changed and PME_Status written as 0, pread it back. Always
  /// writes, even when PMCSR already reads `target`. *observed (if given) receives
  /// the state read back whenever the read-back happened, also on failure.
  /// mappings_accessible() becomes false for D3hot, true for D0..D2 unless low
  /// power is engaged.
  /// Errors: errc::power_state_unsupported (D1/D2 absent from PMC, nothing
  /// written); errc::stuck_in_d3 (target D0, read back D3hot); errc::power_state_not_reached
  /// (any other mismatch, e.g. a PF with VFs refusing D3hot: vfio_pci_set_power_state
  /// returns -EBUSY, which the config write ignores); errors of capability(),
  /// config::read16/write16 (EIO ...).
  result<d_state> set_power_state(d_state target, d_state* observed = nullptr) noexcept {
    bool wrote = false;
    auto t = transition(target, /*skip_if_there=*/false, observed, wrote);
    if (!t) return t.error();
    return target;
  }

  // --- Low power through VFIO device features --------------------------------

  /// Detects the dialect (see the sequence at the top): PROBE|SET of LOW_POWER_EXIT
  /// (5), which only the merged ABI has, answers the usual case in one ioctl; only
  /// when it is absent does PROBE|GET of feature 3 tell the seed ABI (GET and SET
  /// of POWER_MANAGEMENT) from none. The merged kernel adds features 3, 4 and 5
  /// together (vfio_pci_core_ioctl_feature), so 5 stands for all three. The answer
  /// is kept in the device: the driver behind a device descriptor cannot change
  /// while it is open, so later calls, by this or any other power object of the
  /// device, return it without a syscall (a forced dialect stays this object's).
  /// Errors: errnos other than ENOTTY / EINVAL from the probes (EIO, EBADF),
  /// operation "VFIO_DEVICE_FEATURE"; nothing is kept then.
  result<low_power_dialect> detect_dialect() noexcept {
    if (dialect_) return *dialect_;
    return probe_dialect();
  }

  /// Uses `d` from now on without probing (e.g. a kernel carrying the seed patch).
  void force_dialect(low_power_dialect d) noexcept { dialect_ = d; }
  /// The detected or forced dialect, if known yet.
  std::optional<low_power_dialect> dialect() const noexcept { return dialect_; }

  /// Low-power entry without wake-up notification.
  /// Merged: VFIO_DEVICE_FEATURE SET LOW_POWER_ENTRY (argsz 8); entry from D0 is
  /// fine. Seed: PM_CTRL transition to D3hot (the seed kernel requires it), then
  /// SET POWER_MANAGEMENT {ENTER}; if ENTER fails, a D3hot the library wrote is
  /// undone (best effort). Detects the dialect first if needed.
  /// Afterwards mappings_accessible() is false. A successful entry does not mean
  /// the device reached D3hot/D3cold: see vfio::host::wait_for_power_settle.
  /// Errors: errc::low_power_unsupported (dialect none); EINVAL, operation
  /// "VFIO_DEVICE_FEATURE", when low power is already engaged (the kernel's
  /// answer; engaged() stays true); seed: errc::no_pm_capability, PM_CTRL errors,
  /// EINVAL (the seed kernel's positive EINVAL is reported as this errno);
  /// errors of detect_dialect(); EIO (resume failed).
  result<void> enter() noexcept {
    auto d = detect_dialect();
    if (!d) return d.error();
    if (*d == low_power_dialect::none) return error(errc::low_power_unsupported, feature::detail::operation);
    if (*d == low_power_dialect::seed) return seed_enter(true);
    if (auto r = feature::set<feature::low_power_entry>(dev()); !r) return r;
    set_engaged(low_power_request::enter);
    drop_wakeup_fd();  // the kernel holds no eventfd for a plain entry
    return {};
  }

  /// Low-power entry with wake-up notification through the caller's eventfd
  /// (merged ABI: SET LOW_POWER_ENTRY_WITH_WAKEUP {eventfd, 0}, argsz 16). The
  /// kernel signals it when the device wakes (any access, or EXIT) and then does
  /// not re-enter low power: wait with wait_for_wakeup().
  /// Preconditions: `eventfd` stays open while engaged (the kernel holds its own
  /// reference, but wait_for_wakeup reads this descriptor).
  /// Errors: errc::low_power_unsupported (dialect none); errc::feature_unsupported
  /// (seed ABI: it has no wake-up eventfd; no syscall); EINVAL (negative eventfd,
  /// or already engaged: the kernel's answers); EBADF (not an eventfd, from
  /// eventfd_ctx_fdget); errors of detect_dialect().
  result<void> enter_with_wakeup(fd_ref eventfd) noexcept {
    if (auto r = require_wakeup_dialect(); !r) return r;
    if (auto r = merged_enter_with_wakeup(eventfd.get()); !r) return r;
    if (owned_wakeup_ && owned_wakeup_.fd() != eventfd.get()) owned_wakeup_ = vfio::eventfd();
    wakeup_fd_ = eventfd.get();
    return {};
  }

  /// As enter_with_wakeup(fd) with an eventfd the library creates
  /// (eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) and owns until the next entry,
  /// resume() or destruction. wakeup_fd() returns it.
  /// Errors: as enter_with_wakeup(fd); eventfd's errno (EMFILE, ENFILE, ENOMEM),
  /// operation "eventfd".
  result<void> enter_with_wakeup() noexcept {
    if (auto r = require_wakeup_dialect(); !r) return r;
    auto fresh = eventfd::create(0, EFD_NONBLOCK, dev().sys());
    if (!fresh) return fresh.error();
    if (auto r = merged_enter_with_wakeup(fresh->fd()); !r) return r;
    owned_wakeup_ = std::move(*fresh);
    wakeup_fd_ = owned_wakeup_.fd();
    return {};
  }

  /// Low-power exit. Merged: SET LOW_POWER_EXIT (argsz 8); the kernel returns 0
  /// also when low power is not engaged. Seed: SET POWER_MANAGEMENT {EXIT}, then
  /// the PM_CTRL transition to D0 (written only if PMCSR does not read D0),
  /// verified; skipped for a device without PM capability. A library-created wake-up eventfd is
  /// kept (EXIT may signal it) until the next entry or resume().
  /// Merged: when a PM_CTRL D3hot written before entry may have been undone by the
  /// kernel's runtime suspend, PMCSR is read once more (a failure of that read leaves
  /// the mapping state "unknown" and is not reported: the exit itself succeeded).
  /// Afterwards mappings_accessible() tells the truth, e.g. false while PM_CTRL still
  /// holds D3hot.
  /// Errors: errc::low_power_unsupported; seed: EINVAL when not engaged (the seed
  /// kernel's answer), errc::stuck_in_d3 and the PM_CTRL errors; EIO; errors of
  /// detect_dialect().
  result<void> exit() noexcept { return exit_low_power(/*refresh_unknown=*/true); }

  /// Waits up to timeout_ns for the wake-up eventfd: poll(POLLIN) with the time
  /// left (deadline from syscalls::monotonic_ns, without overflow: INT64_MAX waits
  /// forever; EINTR polls again; a read answering EAGAIN because another reader drained
  /// the counter waits again within the deadline), then one 8-byte read that returns and
  /// resets the counter, recorded as acknowledge_wakeup() records it.
  /// Preconditions: an entry with wake-up registered an eventfd (wakeup_fd() >= 0).
  /// Errors: errc::timed_out (operation "poll"); errc::invalid_argument (no
  /// eventfd); poll's and read's errno (EBADF ...); errc::short_transfer (read of
  /// fewer than 8 bytes).
  result<std::uint64_t> wait_for_wakeup(std::int64_t timeout_ns) noexcept {
    if (wakeup_fd_ < 0) return error(errc::invalid_argument, "poll");
    auto count = detail::wait_and_read_counter(dev().sys(), wakeup_fd_, timeout_ns);
    if (!count) return count.error();
    observe_wakeup();
    return count;
  }

  /// Records a wake-up that the caller observed itself: its event loop saw wakeup_fd()
  /// readable and read the counter (`count`, non-zero). The kernel signals the eventfd
  /// from vfio_pci_core_runtime_resume and ends low power there, so engaged() becomes
  /// false; the mapping state follows (reading PMCSR once when a PM_CTRL D3hot written
  /// before entry may have been undone meanwhile; a failure of that read leaves it
  /// "unknown").
  /// Errors: errc::invalid_argument (count 0, or no entry with wake-up registered an
  /// eventfd); no syscall otherwise fails the call.
  result<void> acknowledge_wakeup(std::uint64_t count) noexcept {
    if (count == 0 || wakeup_fd_ < 0) return error(errc::invalid_argument, "wake-up acknowledgement");
    observe_wakeup();
    return {};
  }

 private:
  result<void> exit_low_power(bool refresh_unknown) noexcept {
    auto d = detect_dialect();
    if (!d) return d.error();
    if (*d == low_power_dialect::none) return error(errc::low_power_unsupported, feature::detail::operation);
    if (*d == low_power_dialect::seed) {
      abi::seed::feature_power_management p{abi::seed::low_power_state_exit};
      auto r = feature::set_inout<feature::seed_power_management>(dev(), p);
      if (!r) return r.error();
      if (*r > 0) return errno_error(*r, feature::detail::operation);  // the seed's positive errno
      set_disengaged(low_power_request::exit);
      bool looked_up = false;
      auto at = location(&looked_up);
      if (!at && at.error() != errc::no_pm_capability) return at.error();
      if (at) {
        bool wrote = false;
        if (auto t = transition(d_state::d0, true, nullptr, wrote, looked_up); !t) return t.error();
      }
      return {};
    }
    if (auto r = feature::set<feature::low_power_exit>(dev()); !r) return r;
    set_disengaged(low_power_request::exit);
    if (refresh_unknown) refresh_if_unknown();
    return {};
  }

 public:
  /// The low-power request the library last made successfully (exit at start).
  low_power_request last_set_state() const noexcept { return last_; }
  /// True between a successful entry and an exit, resume or observed wake-up (the
  /// device's record, shared by every power object of it).
  bool engaged() const noexcept { return dev().mapping_state().low_power(); }
  /// The eventfd registered by the last entry with wake-up, or -1.
  int wakeup_fd() const noexcept { return wakeup_fd_; }

  /// The kernel's view of the low-power state. Seed: GET POWER_MANAGEMENT
  /// (argsz 16), true when it reads ENTER. The merged ABI offers no GET.
  /// Errors: errc::feature_direction_invalid (merged; no syscall);
  /// errc::low_power_unsupported; the GET's errors.
  result<bool> kernel_engaged() noexcept {
    auto d = detect_dialect();
    if (!d) return d.error();
    if (*d == low_power_dialect::none) return error(errc::low_power_unsupported, feature::detail::operation);
    if (*d == low_power_dialect::merged) return error(errc::feature_direction_invalid, feature::detail::operation);
    auto g = feature::get<feature::seed_power_management>(dev());
    if (!g) return g.error();
    return g->low_power_state == abi::seed::low_power_state_enter;
  }

  // --- The seed's whole flow as two calls ------------------------------------

  /// D0 -> (D3hot through PM_CTRL where required or asked for) -> low-power entry,
  /// with or without wake-up. See the sequences at the top of this header. If
  /// the PM_CTRL transition (its read-back included) or the entry fails, a D3hot the
  /// library wrote is undone (best effort) and the first error returned.
  /// Errors: errc::low_power_unsupported (dialect none, nothing written);
  /// errc::feature_unsupported (wake-up under the seed ABI, nothing written);
  /// errc::no_pm_capability (seed ABI); the errors of enter(), enter_with_wakeup()
  /// and set_power_state().
  result<void> suspend(const suspend_options& options = {}) noexcept {
    auto d = detect_dialect();
    if (!d) return d.error();
    if (*d == low_power_dialect::none) return error(errc::low_power_unsupported, feature::detail::operation);
    if (*d == low_power_dialect::seed) {
      if (options.wakeup) return error(errc::feature_unsupported, feature::detail::operation);
      return seed_enter(options.d3hot != d3hot_policy::never);
    }
    bool wrote_d3hot = false;
    if (options.d3hot == d3hot_policy::if_possible) {
      bool looked_up = false;
      auto at = location(&looked_up);
      if (!at && at.error() != errc::no_pm_capability) return at.error();
      if (at) {
        auto t = transition(d_state::d3hot, true, nullptr, wrote_d3hot, looked_up);
        if (!t) {
          if (wrote_d3hot) undo_d3hot();
          return t.error();
        }
      }
    }
    result<void> entered = !options.wakeup               ? enter()
                           : options.wakeup_eventfd >= 0 ? enter_with_wakeup(options.wakeup_eventfd)
                                                         : enter_with_wakeup();
    if (!entered && wrote_d3hot) undo_d3hot();
    return entered;
  }

  /// Low-power exit, then D0 verified through PMCSR (written only if PMCSR does
  /// not already read D0; skipped for a device without PM capability; under the
  /// seed ABI exit() does this part). Closes a library-created wake-up eventfd.
  /// Afterwards mappings_accessible() is true unless memory decoding is off.
  /// Errors: the errors of exit(); errc::stuck_in_d3 / power_state_not_reached and the
  /// PM_CTRL errors.
  result<void> resume() noexcept {
    // The D0 transition below reads PMCSR anyway: no separate refresh.
    if (auto r = exit_low_power(/*refresh_unknown=*/false); !r) return r;
    if (dialect_ == low_power_dialect::merged) {  // the seed's exit() has verified D0 already
      // PMCSR after exit: one 2-byte pread (or, on first use, the lookup's 256-byte
      // one, whose PMCSR serves): kept, because runtime PM may have changed the state
      // while low power was engaged (vfio_pci_core_runtime_suspend sets D0 first).
      // transition() looks the capability up when needed (its PMCSR then serves) and
      // fails with errc::no_pm_capability, before any access, when there is none.
      bool wrote = false;
      auto t = transition(d_state::d0, true, nullptr, wrote);
      if (!t && t.error() != errc::no_pm_capability) return t.error();
    }
    drop_wakeup_fd();
    return {};
  }

 private:
  // detect_dialect() the first time for this object: the device's record, else the probes.
  [[gnu::noinline]] result<low_power_dialect> probe_dialect() noexcept {
    device& d = dev();
    if (d.low_power_dialect_ != 0) return remember(static_cast<low_power_dialect>(d.low_power_dialect_ - 1));
    const int merged =
        feature::detail::probe_raw(d.fd(), d.sys(), feature::low_power_exit::id, abi::feature_flags::set);
    if (merged >= 0) return remember(low_power_dialect::merged);
    // ENOTTY: no such feature; EINVAL: before 6.18, a driver without a feature handler.
    if (merged != -ENOTTY && merged != -EINVAL) return errno_error(-merged, feature::detail::operation);
    const int seed =
        feature::detail::probe_raw(d.fd(), d.sys(), abi::seed::feature_id::power_management, abi::feature_flags::get);
    if (seed >= 0) return remember(low_power_dialect::seed);
    if (seed == -ENOTTY || seed == -EINVAL) return remember(low_power_dialect::none);
    return errno_error(-seed, feature::detail::operation);
  }

  result<low_power_dialect> remember(low_power_dialect d) noexcept {
    dialect_ = d;
    device& viewed_device = dev();
    if (viewed_device) viewed_device.low_power_dialect_ = static_cast<std::uint8_t>(static_cast<std::uint8_t>(d) + 1);
    return d;
  }

  // The PM capability's location; errc::no_pm_capability when the device has none.
  // *looked_up (if given) tells whether this call read config space for it: its
  // pmcsr is then PMCSR as it is now, and a transition need not read it again.
  result<pm_location> location(bool* looked_up = nullptr) const noexcept {
    if (looked_up) *looked_up = dev().pm_ == device::pm_lookup::unknown;
    auto at = dev().pm_capability_location();
    if (!at) return at.error();
    if (at->offset == 0) return error(errc::no_pm_capability, "PCI_CAPABILITY_LIST");
    return at;
  }

  result<std::uint16_t> read_pmcsr(std::uint16_t pm_offset) const noexcept {
    // Through the device, not a pci::config view, which would join and leave the
    // device's view list on every access (so in transition() below).
    return read_config16(dev(), static_cast<std::uint16_t>(pm_offset + abi::pci::pm_ctrl));
  }

  /// The PM_CTRL read-modify-write; the device reads PMCSR back as part of the write
  /// (and records it). Returns whether it wrote; `wrote` is set before the write is
  /// attempted, so a caller can undo it whatever failed after. `looked_up`: the
  /// caller's location() call has just read config space (nothing ran since), so
  /// its PMCSR is current; so it is when this call's own location() looks it up.
  /// Then the first PMCSR read is skipped; otherwise it costs one 2-byte pread.
  result<bool> transition(d_state target, bool skip_if_there, d_state* observed, bool& wrote,
                          bool looked_up = false) noexcept {
    device& d = dev();
    bool fresh = false;
    pm_location loc = d.pm_at_;
    if (d.pm_ != device::pm_lookup::present) {  // the lookup, or the reason there is none
      auto found = location(&fresh);
      if (!found) return found.error();
      loc = *found;
    }
    if (!decode_pmc(loc.pmc).supports(target)) return pm_ctrl_error(errc::power_state_unsupported);
    const auto at = static_cast<std::uint16_t>(loc.offset + abi::pci::pm_ctrl);
    std::uint16_t before = loc.pmcsr;
    if (!fresh && !looked_up) {
      auto read = read_config16(d, at);
      if (!read) return read.error();
      before = *read;
    }
    const auto current = static_cast<d_state>(before & abi::pci::pm::ctrl_state_mask);
    if (skip_if_there && current == target) {
      if (observed) *observed = current;
      return false;
    }
    wrote = true;
    // The write is followed by one 2-byte pread of PMCSR inside device::write (the
    // read-back): kept, since vfio-pci ignores a refused state change
    // (vfio_pm_config_write drops vfio_pci_set_power_state's -EBUSY) and the mapping
    // state must follow what the device really is in.
    // note_config_write sets it for this write; never judge it by an earlier one.
    d.pm_readback_ = device::pm_readback_not_done;
    if (auto w = write_config16(d, at, pmcsr_write_value(before, target)); !w) return w.error();
    if (d.pm_readback_ != 0) return d.pm_readback_error();
    const auto now = static_cast<d_state>(d.pm_at_.pmcsr & abi::pci::pm::ctrl_state_mask);
    if (observed) *observed = now;
    if (now == target) return true;
    return pm_ctrl_error(target == d_state::d0 && now == d_state::d3hot ? errc::stuck_in_d3
                                                                        : errc::power_state_not_reached);
  }
  [[gnu::cold, gnu::noinline]] static error pm_ctrl_error(errc code) noexcept { return error(code, "PCI_PM_CTRL"); }

  // Best effort: back to D0 after a failed suspend that wrote D3hot.
  void undo_d3hot() noexcept {
    bool wrote = false;
    (void)transition(d_state::d0, true, nullptr, wrote);
  }

  void refresh_if_unknown() const noexcept {
    if (dev().mapping_state().unknown()) (void)dev().refresh_mapping_state();
  }

  void observe_wakeup() noexcept {
    set_disengaged(last_);
    refresh_if_unknown();
  }

  result<void> seed_enter(bool write_d3hot) noexcept {
    bool wrote = false;
    if (write_d3hot) {
      auto t = transition(d_state::d3hot, true, nullptr, wrote);
      if (!t) {
        if (wrote) undo_d3hot();
        return t.error();
      }
    }
    abi::seed::feature_power_management p{abi::seed::low_power_state_enter};
    auto r = feature::set_inout<feature::seed_power_management>(dev(), p);
    const int positive = r ? *r : 0;
    if (!r || positive > 0) {
      if (wrote && !engaged()) undo_d3hot();
      if (!r) return r.error();
      return errno_error(positive, feature::detail::operation);  // the seed's positive EINVAL
    }
    set_engaged(low_power_request::enter);
    return {};
  }

  result<void> require_wakeup_dialect() noexcept {
    auto d = detect_dialect();
    if (!d) return d.error();
    if (*d == low_power_dialect::none) return error(errc::low_power_unsupported, feature::detail::operation);
    if (*d == low_power_dialect::seed) return error(errc::feature_unsupported, feature::detail::operation);
    return {};
  }

  result<void> merged_enter_with_wakeup(int efd) noexcept {
    const abi::feature_low_power_entry_with_wakeup payload{efd, 0};
    if (auto r = feature::set<feature::low_power_entry_with_wakeup>(dev(), payload); !r) return r;
    set_engaged(low_power_request::enter_with_wakeup);
    return {};
  }

  // A refused entry changes nothing visible: vfio_pci_runtime_pm_entry zaps the
  // mmaps before its check, but they fault back in while not engaged.
  void set_engaged(low_power_request r) noexcept {
    last_ = r;
    // Only the merged kernel's runtime suspend moves the device to D0 first.
    dev().note_low_power(true, dialect_ == low_power_dialect::merged);
  }
  void set_disengaged(low_power_request r) noexcept {
    last_ = r;
    dev().note_low_power(false, false);
  }
  void drop_wakeup_fd() noexcept {
    owned_wakeup_ = vfio::eventfd();
    wakeup_fd_ = -1;
  }

  std::optional<low_power_dialect> dialect_;
  low_power_request last_ = low_power_request::exit;
  vfio::eventfd owned_wakeup_;
  int wakeup_fd_ = -1;
};

}  // namespace vfio::pci

#endif  // VFIO_PCI_POWER_HPP_INCLUDED
