// Scenarios of the calls a VMM makes beyond the core API: VFIO_DEVICE_IOEVENTFD, the REQ
// and ERR notification IRQs, the PCI core's reset_method, the hot-reset plan across
// groups, and the live update of DMA vaddrs.
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <vfio/abi/vfio.hpp>
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/host/reset_method.hpp>
#include <vfio/hot_reset.hpp>
#include <vfio/ioeventfd.hpp>
#include <vfio/notify_irq.hpp>
#include <vfio/unique_fd.hpp>

#include "common.hpp"
#include "scenario.hpp"

using ktest::failed_with;

namespace {

using ktest::hex;
using ktest::outcome;

std::string methods_text(const vfio::host::reset_methods& ms) {
  std::string s;
  for (const auto m : ms) s += (s.empty() ? "" : " ") + std::string(vfio::host::to_string(m));
  return s.empty() ? "(none)" : s;
}

}  // namespace

KSCENARIO("ioeventfd", "VFIO_DEVICE_IOEVENTFD: add, duplicate, data match, widths, bounds, RAII removal") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  const auto bar = ktest::largest_mappable_bar(s.device);
  KREQUIRE(bar);
  auto ri = s.device.region(*bar);
  KREQUIRE(ri);
  const std::uint64_t bar_size = (*ri)->size;
  ctx.note("bar %u size %s", *bar, hex(bar_size).c_str());
  const int efd = ctx.sys().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  KREQUIRE(efd >= 0);
  vfio::unique_fd event(efd, ctx.sys());

  // Nothing is ever signalled: the registrations are only added and removed, so no
  // register of the device is written.
  const vfio::ioeventfd_spec first{*bar, 0, 1, 4};
  KCHECK(vfio::add_ioeventfd(s.device, efd, first));
  KCHECK(failed_with(vfio::add_ioeventfd(s.device, efd, first), EEXIST));
  KCHECK(vfio::add_ioeventfd(s.device, efd, {*bar, 0, 2, 4}));  // same offset, other data
  KCHECK(failed_with(vfio::remove_ioeventfd(s.device, {*bar, 0, 3, 4}), ENODEV));
  KCHECK(vfio::remove_ioeventfd(s.device, {*bar, 0, 2, 4}));
  KCHECK(vfio::remove_ioeventfd(s.device, first));
  KCHECK(failed_with(vfio::remove_ioeventfd(s.device, first), ENODEV));
  for (std::uint32_t size : {1U, 2U, 4U, 8U}) {
    auto r = vfio::add_ioeventfd(s.device, efd, {*bar, 8, 0, size});
    ctx.note("width %u: %s", size, outcome(r).c_str());
    KCHECK(r);  // 8 too: x86 has iowrite64
    if (r) KCHECK(vfio::remove_ioeventfd(s.device, {*bar, 8, 0, size}));
  }
  KCHECK(failed_with(vfio::add_ioeventfd(s.device, efd, {*bar, bar_size, 0, 4}), EINVAL));
  KCHECK(failed_with(vfio::add_ioeventfd(s.device, efd, {*bar, bar_size - 2, 0, 4}), EINVAL));
  // Not an eventfd.
  KCHECK(failed_with(vfio::add_ioeventfd(s.device, s.other_fd(), {*bar, 0, 0, 4}), EINVAL));
  {
    auto reg = vfio::ioeventfd_registration::add(s.device, efd, {*bar, 0x10, 5, 4});
    KCHECK(reg);
  }  // removed here: adding it again works
  KCHECK(vfio::add_ioeventfd(s.device, efd, {*bar, 0x10, 5, 4}));
  // Closing the eventfd leaves the registration in place.
  KCHECK(event.close());
  KCHECK(vfio::remove_ioeventfd(s.device, {*bar, 0x10, 5, 4}));
}

KSCENARIO("notify_irqs", "REQ and ERR eventfds: set, loopback trigger, clear; ERR where the kernel offers it") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  const int efd = ctx.sys().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  KREQUIRE(efd >= 0);
  vfio::unique_fd event(efd, ctx.sys());
  std::uint64_t count = 0;

  KCHECK(vfio::set_request_eventfd(s.device, efd));
  KCHECK(s.device.trigger_irq(vfio::abi::pci_irq::req, 0, 1));  // DATA_NONE loopback
  KCHECK(ctx.sys().read(efd, &count, sizeof count) == 8 && count == 1);
  KCHECK(vfio::set_request_eventfd(s.device, efd));  // replacing is fine
  KCHECK(vfio::clear_request_eventfd(s.device));
  KCHECK(vfio::clear_request_eventfd(s.device));                                     // and clearing twice
  KCHECK(failed_with(s.device.trigger_irq(vfio::abi::pci_irq::req, 0, 1), EINVAL));  // nothing to signal
  KCHECK(failed_with(vfio::set_request_eventfd(s.device, s.other_fd()), EINVAL));    // not an eventfd

  auto supported = vfio::error_irq_supported(s.device);
  KREQUIRE(supported);
  ctx.note("error irq: %s", *supported ? "offered" : "not offered");
  auto set = vfio::set_error_eventfd(s.device, efd);
  ctx.note("set error eventfd: %s", outcome(set).c_str());
  KCHECK(static_cast<bool>(set) == *supported);
  if (set) {
    KCHECK(s.device.trigger_irq(vfio::abi::pci_irq::err, 0, 1));
    KCHECK(ctx.sys().read(efd, &count, sizeof count) == 8 && count == 1);
    KCHECK(vfio::clear_error_eventfd(s.device));
  } else {
    KCHECK(failed_with(set, EINVAL));
  }
  KCHECK(ctx.sys().read(efd, &count, sizeof count) == -EAGAIN);
}

KSCENARIO("reset_method", "sysfs reset_method: read, narrow to one method, refuse an unsupported one, default") {
  auto original = vfio::host::read_reset_methods(ctx.dut().address, ctx.sys(), "/sys");
  ctx.note("reset_method: %s", original ? methods_text(*original).c_str() : outcome(original).c_str());
  if (!original) {
    KCHECK(failed_with(original, ENOENT));  // no reset method at all: no attribute
    return;
  }
  KREQUIRE(!original->empty());
  const vfio::host::reset_methods one{(*original)[original->size() - 1]};
  KCHECK(vfio::host::write_reset_methods(ctx.dut().address, one, ctx.sys(), "/sys"));
  auto now = vfio::host::read_reset_methods(ctx.dut().address, ctx.sys(), "/sys");
  KCHECK(now && *now == one);
  // A method the function lacks: EINVAL, the list stays.
  for (const auto m :
       {vfio::host::reset_method::device_specific, vfio::host::reset_method::af_flr, vfio::host::reset_method::acpi}) {
    if (original->contains(m)) continue;
    auto r = vfio::host::write_reset_methods(ctx.dut().address, vfio::host::reset_methods{m}, ctx.sys(), "/sys");
    KCHECK_MSG(failed_with(r, EINVAL), "%s: %s", vfio::host::to_string(m), outcome(r).c_str());
    break;
  }
  now = vfio::host::read_reset_methods(ctx.dut().address, ctx.sys(), "/sys");
  KCHECK(now && *now == one);
  KCHECK(vfio::host::restore_default_reset_methods(ctx.dut().address, ctx.sys(), "/sys"));
  now = vfio::host::read_reset_methods(ctx.dut().address, ctx.sys(), "/sys");
  KCHECK(now && *now == *original);
}

KSCENARIO("hot_reset_plan", "hot-reset plan with the device's own group; reset when it owns every affected device") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  // On the cdev path the kernel reports ownership itself (devids in the
  // iommufd, VFIO_PCI_HOT_RESET_FLAG_DEV_ID) and the reset takes no groups.
  const vfio::owned_group groups[] = {s.group};
  const auto own =
      ctx.cdev_path() ? vfio::span<const vfio::owned_group>() : vfio::span<const vfio::owned_group>(groups);
  auto plan = vfio::plan_hot_reset(s.device, own);
  ctx.note("plan: %s", outcome(plan).c_str());
  if (!plan) {
    KCHECK(failed_with(plan, ENODEV));
    return;
  }
  for (const auto& d : plan->devices) {
    if (ctx.cdev_path())
      ctx.note("affected: devid %u %s %s", d.devid, vfio::host::to_chars(d.address).data(),
               d.owned ? "owned" : "not owned");
    else
      ctx.note("affected: group %u %s %s", d.group, vfio::host::to_chars(d.address).data(),
               d.owned ? "owned" : "not owned");
  }
  KCHECK(!ctx.cdev_path() || plan->group_fds.empty());
  bool only_own = true;
  for (const auto& d : plan->devices)
    only_own = only_own && (ctx.cdev_path() ? d.address == ctx.dut().address : d.group == ctx.dut().group);
  KCHECK(plan->complete() == only_own);
  auto r = vfio::hot_reset(s.device, own);
  ctx.note("hot reset: %s", outcome(r).c_str());
  if (only_own)
    KCHECK(r);
  else
    KCHECK(failed_with(r, EPERM));
}

KSCENARIO("dma_vaddr", "VFIO_UPDATE_VADDR: invalidate the vaddr of a mapping, supply a new one") {
  // iommufd has no counterpart: its IOAS_MAP/UNMAP/COPY keep the pages pinned.
  if (ktest::group_path_only(ctx, "VFIO_UPDATE_VADDR is a container call")) return;
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto offered = s.container.supports_update_vaddr();
  KREQUIRE(offered);
  ctx.note("update_vaddr: %d", *offered ? 1 : 0);
  if (!*offered) return;
  constexpr std::size_t size = 2 * 4096;
  void* a = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* b = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  KREQUIRE(a != MAP_FAILED && b != MAP_FAILED);
  std::memset(a, 0x11, size);
  std::memset(b, 0x22, size);
  const auto va = reinterpret_cast<std::uint64_t>(a);
  const auto vb = reinterpret_cast<std::uint64_t>(b);
  KCHECK(s.container.map_dma(va, 0x100000, size));
  KCHECK(failed_with(s.container.update_dma_vaddr(vb, 0x100000, size), EINVAL));  // still valid
  auto n = s.container.invalidate_dma_vaddr(0x100000, size);
  KCHECK(n && *n == size);
  KCHECK(failed_with(s.container.invalidate_dma_vaddr(0x100000, size), EINVAL));  // already invalid
  KCHECK(failed_with(s.container.update_dma_vaddr(vb, 0x100000, 4096), EINVAL));  // not the whole mapping
  KCHECK(failed_with(s.container.update_dma_vaddr(vb, 0x800000, size), ENOENT));  // no mapping there
  KCHECK(s.container.update_dma_vaddr(vb, 0x100000, size));
  auto all = s.container.invalidate_all_dma_vaddr();
  KCHECK(all && *all == size);
  KCHECK(s.container.update_dma_vaddr(va, 0x100000, size));
  auto unmapped = s.container.unmap_dma(0x100000, size);
  KCHECK(unmapped && *unmapped == size);
  ::munmap(a, size);
  ::munmap(b, size);
}
