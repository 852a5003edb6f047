// The modern path: a device opened through its VFIO cdev (/dev/vfio/devices/vfioN)
// and bound to an iommufd (/dev/iommu) instead of a group and a container. Only
// kernels built with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV (the suite's
// own kernel) have it; on the others (Debian's) the scenario ends after the
// open of /dev/iommu fails with ENOENT, on both sides alike. Both scenarios
// open their devices themselves, the same way whatever the run's path: they
// run in the group pass only (once_per_run).
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include <vfio/cdev.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/migration.hpp>
#include <vfio/pci/power.hpp>

#include "common.hpp"
#include "scenario.hpp"

using ktest::failed_with;
using ktest::hex;
using ktest::outcome;

namespace {

// Three pages of anonymous memory, mapped outside the seam (as the process's
// own memory is on both sides); unmapped when the scenario ends.
struct pages {
  static constexpr std::size_t size = 3 * 4096;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pages() = default;
  pages(const pages&) = delete;
  pages& operator=(const pages&) = delete;
  ~pages() {
    if (p != MAP_FAILED) ::munmap(p, size);
  }
  void* at(std::size_t page) const { return static_cast<unsigned char*>(p) + page * 4096; }
};

void note_ranges(ktest::context& ctx, const char* label, vfio::iommufd& ictx, vfio::ioas_id id) {
  auto r = ictx.iova_ranges(id);
  if (!r) {
    ctx.note("IOVA ranges %s: %s", label, outcome(r).c_str());
    return;
  }
  std::string text;
  for (std::size_t i = 0; i < r->ranges.size(); ++i)
    text += (text.empty() ? "" : " ") + hex(r->ranges[i].start) + "-" + hex(r->ranges[i].end);
  ctx.note("IOVA ranges %s: alignment=%s %s", label, hex(r->alignment).c_str(), text.c_str());
}

}  // namespace

KSCENARIO("cdev_iommufd",
          "cdev + iommufd: bind, IOAS, attach, map/unmap, the refusals, low power on a cdev-opened device") {
  if (ktest::once_per_run(ctx)) return;
  auto ictx = vfio::iommufd::open(vfio::iommufd::default_path, ctx.sys());
  if (!ictx) {
    // A kernel without CONFIG_IOMMUFD has no /dev/iommu (and so no device
    // cdevs: VFIO_DEVICE_CDEV depends on IOMMUFD).
    ctx.note("/dev/iommu: %s: no iommufd, nothing more to do", outcome(ictx).c_str());
    KCHECK_MSG(failed_with(ictx, ENOENT), "open /dev/iommu: %s", outcome(ictx).c_str());
    return;
  }
  auto number = vfio::cdev::number_of(ctx.dut().address, ctx.sys());
  KREQUIRE_MSG(number, "vfio-dev: %s", outcome(number).c_str());
  auto node = vfio::cdev::open_node(*number, ctx.sys());
  KREQUIRE_MSG(node, "open the cdev: %s", outcome(node).c_str());
  vfio::device dev(std::move(*node), ctx.dut().bdf);

  // Before the bind the descriptor grants nothing but BIND_IOMMUFD
  // (vfio_device_fops_unl_ioctl: !df->access_granted is -EINVAL).
  auto info = dev.info();
  ctx.note("GET_INFO before bind: %s", outcome(info).c_str());
  KCHECK(failed_with(info, EINVAL));
  auto ioas = ictx->ioas_alloc();
  KREQUIRE_MSG(ioas, "IOAS_ALLOC: %s", outcome(ioas).c_str());
  ctx.note("IOAS id %u", ioas->id().value);
  auto early = vfio::cdev::attach(dev, ioas->id());
  ctx.note("attach before bind: %s", outcome(early).c_str());
  KCHECK(failed_with(early, EINVAL));

  auto devid = vfio::cdev::bind(dev.fd(), *ictx);
  KREQUIRE_MSG(devid, "BIND_IOMMUFD: %s", outcome(devid).c_str());
  ctx.note("bound: devid %u", devid->value);
  // vfio_df_ioctl_bind_iommufd: "one device cannot be bound twice".
  auto twice = vfio::cdev::bind(dev.fd(), *ictx);
  ctx.note("second bind: %s", outcome(twice).c_str());
  KCHECK(failed_with(twice, EINVAL));
  // vfio_group_fops_open: a group with a cdev-bound device is -EBUSY.
  auto g = vfio::group::open(ctx.dut().group, ctx.sys());
  ctx.note("group node while bound: %s", outcome(g).c_str());
  KCHECK(failed_with(g, EBUSY));

  auto gi = dev.info();
  KCHECK_MSG(gi && gi->is_pci(), "GET_INFO after bind: %s", outcome(gi).c_str());

  note_ranges(ctx, "before attach", *ictx, ioas->id());
  auto hwpt = vfio::cdev::attach(dev, ioas->id());
  KREQUIRE_MSG(hwpt, "attach: %s", outcome(hwpt).c_str());
  ctx.note("attached: hwpt %u", hwpt->value);
  note_ranges(ctx, "after attach", *ictx, ioas->id());
  // The IOAS is in use while a device is attached (iommufd_object_remove).
  auto busy = ioas->destroy();
  ctx.note("destroy the attached IOAS: %s", outcome(busy).c_str());
  KCHECK(failed_with(busy, EBUSY));

  pages mem;
  KREQUIRE(mem.p != MAP_FAILED);
  // One page each: the kernel aligns a picked IOVA like the user address, up
  // to the length rounded to a power of two (io_pagetable.c, iopt_alloc_iova),
  // so a 4 KiB map is placed alike wherever the pages lie.
  auto a = ictx->map(ioas->id(), mem.at(0), 4096);
  ctx.note("map page 0: %s iova=%s", outcome(a).c_str(), a ? hex(*a).c_str() : "-");
  KCHECK(a);
  auto b = ictx->map(ioas->id(), mem.at(1), 4096);
  ctx.note("map page 1: %s iova=%s", outcome(b).c_str(), b ? hex(*b).c_str() : "-");
  KCHECK(b && a && *b != *a);
  constexpr std::uint64_t fixed = 0x10000000;
  auto c = ictx->map_fixed(ioas->id(), fixed, mem.at(2), 4096);
  ctx.note("map page 2 at %s: %s iova=%s", hex(fixed).c_str(), outcome(c).c_str(), c ? hex(*c).c_str() : "-");
  KCHECK(c && *c == fixed);
  // iopt_alloc_area -> iopt_reserve_iova: an overlap is -EEXIST.
  auto overlap = ictx->map_fixed(ioas->id(), fixed, mem.at(0), 4096);
  ctx.note("map over it: %s", outcome(overlap).c_str());
  KCHECK(failed_with(overlap, EEXIST));
  // iopt_check_iova: the MSI window of x86 is a reserved region once attached.
  auto msi = ictx->map_fixed(ioas->id(), 0xfee00000, mem.at(0), 4096);
  ctx.note("map into the MSI window: %s", outcome(msi).c_str());
  KCHECK(!msi);
  if (b) {
    auto u = ictx->unmap(ioas->id(), *b, 4096);
    ctx.note("unmap page 1: %s bytes=%s", outcome(u).c_str(), u ? hex(*u).c_str() : "-");
    KCHECK(u && *u == 4096);
    // iopt_unmap_iova_range: nothing mapped there any more is -ENOENT.
    auto again = ictx->unmap(ioas->id(), *b, 4096);
    ctx.note("unmap it again: %s", outcome(again).c_str());
    KCHECK(failed_with(again, ENOENT));
  }
  auto all = ictx->unmap_all(ioas->id());
  ctx.note("unmap all: %s bytes=%s", outcome(all).c_str(), all ? hex(*all).c_str() : "-");
  KCHECK(all && *all == 2 * 4096);

  // Low power on the cdev-opened device, as on a group-opened one.
  vfio::pci::power pw(dev);
  (void)ktest::presence(pw);
  ctx.firmware("bound");
  const auto target = ktest::to_power_state(ktest::expected_deepest(ctx));
  auto entered = pw.enter();
  KCHECK_MSG(entered, "LOW_POWER_ENTRY: %s", outcome(entered).c_str());
  KCHECK(ktest::settle(ctx, vfio::host::runtime_status::suspended, target));
  ctx.firmware("entry");
  KCHECK(pw.exit());
  KCHECK(ktest::settle(ctx, vfio::host::runtime_status::active, vfio::host::power_state::d0));
  ctx.firmware("exit");

  KCHECK(vfio::cdev::detach(dev));
  auto freed = ioas->destroy();
  ctx.note("destroy the IOAS after detach: %s", outcome(freed).c_str());
  KCHECK(freed);

  // Closing the cdev unbinds it (vfio_df_unbind_iommufd): the group opens again.
  dev = vfio::device();
  auto reopened = vfio::group::open(ctx.dut().group, ctx.sys());
  ctx.note("group node after close: %s", outcome(reopened).c_str());
  KCHECK(reopened);
}

namespace {

constexpr std::uint32_t uart_scr = 7;  // the scratch register of a 16550 (UART_SCR)

// Reads one UART register of port 0 (BAR0 of an mtty device).
int read_uart(vfio::device& d, std::uint32_t reg) {
  std::uint8_t v = 0;
  return d.read(0, reg, &v, 1) ? v : -1;
}

}  // namespace

KSCENARIO("mtty_migration",
          "two mtty mdevs through their cdevs: migrate the source to the destination, the scratch register follows") {
  // One pair per run: on the last device of the machine only, so that the
  // simulation's mtty devices, which stay, come after every other scenario.
  if (ktest::once_per_run(ctx)) return;
  if (ctx.dut().name != "edu") {
    ctx.note("runs with edu only");
    return;
  }
  auto ictx = vfio::iommufd::open(vfio::iommufd::default_path, ctx.sys());
  if (!ictx) {
    ctx.note("/dev/iommu: %s: no iommufd, nothing more to do", outcome(ictx).c_str());
    KCHECK_MSG(failed_with(ictx, ENOENT), "open /dev/iommu: %s", outcome(ictx).c_str());
    return;
  }
  std::string why;
  const auto numbers = ctx.be().mtty_create(2, &why);
  KREQUIRE_MSG(numbers.size() == 2, "mtty: %s", why.c_str());
  struct cleanup {
    ktest::backend& be;
    ~cleanup() { be.mtty_remove(); }
  } removes{ctx.be()};

  vfio::device devs[2];
  for (int i = 0; i < 2; ++i) {
    auto node = vfio::cdev::open_node(numbers[i], ctx.sys());
    KREQUIRE_MSG(node, "open mtty cdev: %s", outcome(node).c_str());
    devs[i] = vfio::device(std::move(*node), i == 0 ? "source" : "destination");
    auto id = vfio::cdev::bind(devs[i].fd(), *ictx);
    KREQUIRE_MSG(id, "bind mtty: %s", outcome(id).c_str());
  }
  vfio::device& src = devs[0];
  vfio::device& dst = devs[1];
  auto info = src.info();
  KREQUIRE_MSG(info, "GET_INFO: %s", outcome(info).c_str());
  ctx.note("mtty: flags=%s regions=%u irqs=%u", hex(info->flags).c_str(), info->num_regions, info->num_irqs);

  const std::uint8_t scratch = 0xa5;
  KCHECK(src.write(0, uart_scr, &scratch, 1));
  ctx.note("source scratch: %s, destination scratch: %s", hex(read_uart(src, uart_scr)).c_str(),
           hex(read_uart(dst, uart_scr)).c_str());

  auto ms = vfio::migration::open(src);
  KREQUIRE_MSG(ms, "migration (source): %s", outcome(ms).c_str());
  auto md = vfio::migration::open(dst);
  KREQUIRE_MSG(md, "migration (destination): %s", outcome(md).c_str());
  ctx.note("caps: flags=%s", hex(ms->caps().flags).c_str());

  std::byte stream[4096];
  std::size_t have = 0;
  if (ms->caps().pre_copy()) {
    KREQUIRE(ms->set_state(vfio::mig_state::pre_copy));
    auto pre = ms->read(vfio::span<std::byte>(stream, sizeof stream));
    KREQUIRE_MSG(pre, "pre-copy read: %s", outcome(pre).c_str());
    have += static_cast<std::size_t>(pre->bytes);
    ctx.note("pre-copy: %llu bytes, %s", static_cast<unsigned long long>(pre->bytes), vfio::to_string(pre->end));
    auto est = ms->precopy_info();
    ctx.note("pre-copy info: %s initial=%llu dirty=%llu", outcome(est).c_str(),
             est ? static_cast<unsigned long long>(est->initial_bytes) : 0ULL,
             est ? static_cast<unsigned long long>(est->dirty_bytes) : 0ULL);
  }
  KREQUIRE(ms->set_state(vfio::mig_state::stop_copy));
  auto rest = ms->read(vfio::span<std::byte>(stream + have, sizeof stream - have));
  KREQUIRE_MSG(rest, "stop-copy read: %s", outcome(rest).c_str());
  have += static_cast<std::size_t>(rest->bytes);
  ctx.note("stop-copy: %llu bytes, %s; stream %zu bytes", static_cast<unsigned long long>(rest->bytes),
           vfio::to_string(rest->end), have);
  KCHECK(rest->end == vfio::stream_end::end_of_stream);
  KCHECK(ms->set_state(vfio::mig_state::stop));

  KREQUIRE(md->set_state(vfio::mig_state::resuming));
  KCHECK(md->write(vfio::span<const std::byte>(stream, have)));
  auto resumed = md->set_state(vfio::mig_state::running);
  ctx.note("destination running: %s", outcome(resumed).c_str());
  KCHECK(resumed);
  const int got = read_uart(dst, uart_scr);
  ctx.note("destination scratch after migration: %s", hex(static_cast<std::uint64_t>(got)).c_str());
  KCHECK_MSG(got == scratch, "scratch register: %d", got);
  KCHECK(ms->set_state(vfio::mig_state::running));
}
