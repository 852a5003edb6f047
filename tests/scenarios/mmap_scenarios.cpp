// device::mappings_accessible() against real faults: a BAR mapping is touched
// (in a forked child, see guest_backend.cpp) in every state the library can
// put the device in, and the flag must never say "accessible" where the
// kernel answers with SIGBUS (vfio_pci_mmap_fault in
// drivers/vfio/pci/vfio_pci_core.c refuses while pm_runtime_engaged is set or
// __vfio_pci_memory_enabled is false: COMMAND.MEMORY clear or the power state
// D3hot and below).
#include <cstdint>
#include <optional>
#include <string>

#include <vfio/abi/pci.hpp>
#include <vfio/device.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>

#include "common.hpp"
#include "scenario.hpp"

namespace {

using ktest::outcome;
using vfio::host::power_state;
using vfio::host::runtime_status;

/// How a state may relate the flag to the probe.
enum class flag_rule {
  exact,  ///< the flag must say what the probe found
  /// The flag may still say "blocked" where the mapping already works:
  /// documented for a wake-up the library has not observed yet
  /// (pci::power::wait_for_wakeup sets the flag when it reads the eventfd).
  may_lag,
};

/// Probes the mapping, records flag and probe in the trace, and checks them
/// against what the kernel must do in this state (`faults`) and each other.
void probe(ktest::context& ctx, vfio::device& dev, const vfio::region_mapping& m, const char* state, bool faults,
           flag_rule rule = flag_rule::exact) {
  const bool accessible = dev.mappings_accessible();
  const bool fault = ctx.be().mapping_faults(m.data(0));
  ctx.note("mmap %s: flag=%s probe=%s", state, accessible ? "accessible" : "blocked", fault ? "SIGBUS" : "ok");
  KCHECK_MSG(fault == faults, "%s: the mapping %s, every kernel %s", state, fault ? "faults" : "works",
             faults ? "faults" : "maps it");
  KCHECK_MSG(!(accessible && fault), "%s: mappings_accessible() is true but touching the mapping raised SIGBUS", state);
  if (rule == flag_rule::exact)
    KCHECK_MSG(!(!accessible && !fault), "%s: mappings_accessible() is false but the mapping works", state);
}

}  // namespace

KSCENARIO("mmap_states", "SIGBUS on a BAR mapping vs mappings_accessible() in each state the library can reach") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto m = ktest::map_first_bar(ctx, s.device);
  KREQUIRE_MSG(m, "%s", outcome(m).c_str());
  vfio::pci::power pw(s.device);
  const bool pm = ktest::presence(pw) == vfio::host::capability_presence::present;
  const power_state target = ktest::to_power_state(ktest::expected_deepest(ctx));
  vfio::pci::config cfg(s.device);
  auto info = s.device.info();
  KREQUIRE(info);

  probe(ctx, s.device, *m, "open, D0", false);

  // COMMAND.MEMORY off through the library's own config write: the kernel
  // zaps the BAR mappings (vfio_basic_config_write) and refuses faults.
  auto command = cfg.read16(vfio::abi::pci::command);
  KREQUIRE(command);
  const auto memory = static_cast<std::uint16_t>(vfio::abi::pci::command_bits::memory);
  KREQUIRE(cfg.write16(vfio::abi::pci::command, static_cast<std::uint16_t>(*command & ~memory)));
  probe(ctx, s.device, *m, "COMMAND.MEMORY cleared", true);
  KREQUIRE(cfg.write16(vfio::abi::pci::command, static_cast<std::uint16_t>(*command | memory)));
  probe(ctx, s.device, *m, "COMMAND.MEMORY set again", false);

  if (pm) {
    KCHECK(pw.set_power_state(vfio::pci::d_state::d3hot));
    KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d3hot));
    probe(ctx, s.device, *m, "D3hot by PM_CTRL", true);
    KCHECK(pw.set_power_state(vfio::pci::d_state::d0));
    KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d0));
    probe(ctx, s.device, *m, "D0 by PM_CTRL", false);
  } else {
    ctx.note("no PM capability: no PM_CTRL states");
  }

  KCHECK(pw.enter());
  KCHECK(ktest::settle(ctx, runtime_status::suspended, target));
  probe(ctx, s.device, *m, "low power engaged", true);
  KCHECK(ktest::config_read_ok(ctx, s.device));
  KCHECK(ktest::settle(ctx, runtime_status::suspended, target));
  probe(ctx, s.device, *m, "engaged, after a config read", true);
  KCHECK(pw.exit());
  KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d0));
  probe(ctx, s.device, *m, "after exit", false);

  KCHECK(pw.enter_with_wakeup());
  KCHECK(ktest::settle(ctx, runtime_status::suspended, target));
  probe(ctx, s.device, *m, "low power with wake-up engaged", true);
  KCHECK(ktest::config_read_ok(ctx, s.device));
  KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d0));
  // vfio_pci_core_runtime_resume signalled the eventfd and ended low power.
  probe(ctx, s.device, *m, "woken by a config read", false, flag_rule::may_lag);
  auto woke = pw.wait_for_wakeup(2'000'000'000);
  KCHECK_MSG(woke && *woke == 1, "%s", woke ? std::to_string(*woke).c_str() : outcome(woke).c_str());
  probe(ctx, s.device, *m, "wake-up read", false);
  KCHECK(pw.exit());
  probe(ctx, s.device, *m, "exit after the wake-up", false);

  // VFIO_DEVICE_RESET returns the device to D0 first (vfio_pci_ioctl_reset:
  // vfio_pci_set_power_state(vdev, PCI_D0)), and pci_try_reset_function
  // restores the config space it saved: the mapping works again.
  if (pm) {
    KCHECK(pw.set_power_state(vfio::pci::d_state::d3hot));
    KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d3hot));
    probe(ctx, s.device, *m, "D3hot before the reset", true);
  }
  auto r = s.device.reset();
  ctx.note("reset: %s", outcome(r).c_str());
  if (info->can_reset()) {
    KCHECK(r);
    KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d0));
    probe(ctx, s.device, *m, "after reset", false);
  } else {
    KCHECK(ktest::failed_with(r, EINVAL));
    probe(ctx, s.device, *m, "after a refused reset", pm);
    if (pm) KCHECK(pw.set_power_state(vfio::pci::d_state::d0));
  }
  KCHECK(m->unmap());
}
