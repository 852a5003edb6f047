// The syscall budgets of the hot operations, confirmed on the real kernel: the
// figures tests/unit/test_syscall_counts.cpp holds the library to against the
// simulated kernel (and tests/bench/BENCHMARKS.md lists), counted here as the
// lines the operation adds to the trace. Every traced call is one line except a
// run of sysfs reads, which the tracer folds; none of the operations measured
// touches sysfs, and the settling between them is outside the windows.
#include <sys/eventfd.h>

#include <cstddef>
#include <cstdint>

#include <vfio/abi/pci.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/eventfd.hpp>
#include <vfio/feature.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>

#include "common.hpp"
#include "scenario.hpp"

namespace {

using vfio::host::power_state;
using vfio::host::runtime_status;

}  // namespace

KSCENARIO("syscall_budgets",
          "the hot operations' syscall counts on the kernel: probe, config access, PM_CTRL, low power, IRQ, DMA") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  // The device's info and config-region node are cached first, as a VMM's
  // setup does; the windows below measure the steady state.
  KREQUIRE(s.device.info());
  KREQUIRE(s.device.region(vfio::abi::pci_region::config));

  bool ok = false;
  std::size_t n = ktest::calls(
      ctx, [&] { ok = static_cast<bool>(vfio::feature::probe<vfio::feature::low_power_entry>(s.device)); });
  ctx.note("feature probe: %zu call(s), %s", n, ok ? "supported" : "refused");
  KCHECK(n == 1);

  vfio::pci::config cfg(s.device);
  std::uint16_t command = 0;
  n = ktest::calls(ctx, [&] {
    auto r = cfg.read16(vfio::abi::pci::command);
    ok = static_cast<bool>(r);
    if (r) command = *r;
  });
  KREQUIRE(ok);
  ctx.note("config read16: %zu call(s)", n);
  KCHECK(n == 1);
  n = ktest::calls(ctx, [&] { ok = static_cast<bool>(cfg.write16(vfio::abi::pci::command, command)); });
  KREQUIRE(ok);
  ctx.note("config write16: %zu call(s)", n);
  KCHECK(n == 1);

  // PM_CTRL: the first capability() reads the 256-byte standard header once;
  // afterwards each transition is a PMCSR read, the write and its read-back.
  vfio::pci::power pw(s.device);
  bool has_pm = false;
  n = ktest::calls(ctx, [&] { has_pm = static_cast<bool>(pw.capability()); });
  ctx.note("PM capability lookup: %zu call(s), %s", n, has_pm ? "present" : "absent");
  KCHECK(n == 1);
  if (has_pm) {
    n = ktest::calls(ctx, [&] { ok = static_cast<bool>(pw.set_power_state(vfio::pci::d_state::d3hot)); });
    ctx.note("PM_CTRL to D3hot: %zu call(s)", n);
    KCHECK(ok);
    KCHECK(n == 3);
    n = ktest::calls(ctx, [&] { ok = static_cast<bool>(pw.set_power_state(vfio::pci::d_state::d0)); });
    ctx.note("PM_CTRL to D0: %zu call(s)", n);
    KCHECK(ok);
    KCHECK(n == 3);
  }

  // Low power: the dialect probe and LOW_POWER_ENTRY; LOW_POWER_EXIT and, with
  // a PM capability, the PMCSR read that says where the device came back to.
  n = ktest::calls(ctx, [&] { ok = static_cast<bool>(pw.suspend()); });
  ctx.note("suspend: %zu call(s)", n);
  KREQUIRE(ok);
  KCHECK(n == 2);
  n = ktest::calls(ctx, [&] { ok = static_cast<bool>(pw.resume()); });
  ctx.note("resume: %zu call(s)", n);
  KREQUIRE(ok);
  KCHECK(n == (has_pm ? 2U : 1U));
  KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d0));

  // INTx to an eventfd and off again: one VFIO_DEVICE_SET_IRQS each.
  auto efd = vfio::eventfd::create(0, EFD_NONBLOCK, ctx.sys());
  KREQUIRE(efd);
  const int fds[1] = {efd->fd()};
  n = ktest::calls(ctx, [&] {
    ok = static_cast<bool>(s.device.set_irq_eventfds(vfio::abi::pci_irq::intx, 0, vfio::span<const int>(fds, 1)));
  });
  ctx.note("IRQ eventfd set: %zu call(s)", n);
  KCHECK(ok);
  KCHECK(n == 1);
  n = ktest::calls(ctx, [&] { ok = static_cast<bool>(s.device.disable_irq(vfio::abi::pci_irq::intx)); });
  ctx.note("IRQ disable: %zu call(s)", n);
  KCHECK(ok);
  KCHECK(n == 1);

  // One page mapped and unmapped: type1's MAP_DMA/UNMAP_DMA, or the IOAS's.
  constexpr std::uint64_t iova = 0x100000;
  constexpr std::size_t page = ktest::pages::page_size;
  ktest::pages memory(1);
  KREQUIRE(memory);
  unsigned char* mem = memory.at(0);
  mem[0] = 1;  // populated, as a guest's RAM is
  if (ctx.cdev_path()) {
    n = ktest::calls(ctx, [&] { ok = static_cast<bool>(s.iommufd.map_fixed(s.ioas.id(), iova, mem, page)); });
  } else {
    n = ktest::calls(ctx, [&] { ok = static_cast<bool>(s.container.map_dma(mem, iova, page)); });
  }
  ctx.note("DMA map: %zu call(s)", n);
  KCHECK(ok);
  KCHECK(n == 1);
  if (ctx.cdev_path()) {
    n = ktest::calls(ctx, [&] { ok = static_cast<bool>(s.iommufd.unmap(s.ioas.id(), iova, page)); });
  } else {
    n = ktest::calls(ctx, [&] { ok = static_cast<bool>(s.container.unmap_dma(iova, page)); });
  }
  ctx.note("DMA unmap: %zu call(s)", n);
  KCHECK(ok);
  KCHECK(n == 1);
}
