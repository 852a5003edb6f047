// The modern path: a device opened through its VFIO cdev (/dev/vfio/devices/vfioN)
// and bound to an iommufd (/dev/iommu) instead of a group and a container. Only
// kernels built with CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV (the suite's
// own kernel) have it; on the others (Debian's) the scenario ends after the
// open of /dev/iommu fails with ENOENT, on both sides alike. Both scenarios
// open their devices themselves, the same way whatever the run's path: they
// run in the group pass only (once_per_run).
#include <cerrno>
#include <cstddef>
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

  ktest::pages mem(3);
  KREQUIRE(mem);
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

  // The syscall budgets of tests/unit/test_syscall_counts.cpp ("counts: migration"),
  // confirmed here: open 2 ioctls, one SET per arc, pre-copy info 1, the end of the
  // stream a SET and the data_fd's close.
  vfio::result<vfio::migration> ms = vfio::error(vfio::errc::invalid_argument, "not run");
  std::size_t n = ktest::calls(ctx, [&] { ms = vfio::migration::open(src); });
  KREQUIRE_MSG(ms, "migration (source): %s", outcome(ms).c_str());
  ctx.note("migration open: %zu call(s)", n);
  KCHECK(n == 2);
  auto md = vfio::migration::open(dst);
  KREQUIRE_MSG(md, "migration (destination): %s", outcome(md).c_str());
  ctx.note("caps: flags=%s", hex(ms->caps().flags).c_str());

  std::byte stream[4096];
  std::size_t have = 0;
  vfio::mig_transition t;
  bool ok = false;
  if (ms->caps().pre_copy()) {
    n = ktest::calls(ctx, [&] { ok = static_cast<bool>(ms->set_state(vfio::mig_state::pre_copy, &t)); });
    KREQUIRE(ok);
    ctx.note("RUNNING -> PRE_COPY: %u arc(s), %zu call(s)", t.arcs_done, n);
    KCHECK(n == t.arcs_done);
    auto pre = ms->read(vfio::span<std::byte>(stream, sizeof stream));
    KREQUIRE_MSG(pre, "pre-copy read: %s", outcome(pre).c_str());
    have += static_cast<std::size_t>(pre->bytes);
    ctx.note("pre-copy: %llu bytes, %s", static_cast<unsigned long long>(pre->bytes), vfio::to_string(pre->end));
    vfio::result<vfio::precopy_estimate> est = vfio::error(vfio::errc::invalid_argument, "not run");
    n = ktest::calls(ctx, [&] { est = ms->precopy_info(); });
    ctx.note("pre-copy info: %s initial=%llu dirty=%llu, %zu call(s)", outcome(est).c_str(),
             est ? static_cast<unsigned long long>(est->initial_bytes) : 0ULL,
             est ? static_cast<unsigned long long>(est->dirty_bytes) : 0ULL, n);
    KCHECK(n == 1);
  }
  n = ktest::calls(ctx, [&] { ok = static_cast<bool>(ms->set_state(vfio::mig_state::stop_copy, &t)); });
  KREQUIRE(ok);
  ctx.note("to STOP_COPY: %u arc(s), %zu call(s)", t.arcs_done, n);
  KCHECK(n == t.arcs_done);
  auto rest = ms->read(vfio::span<std::byte>(stream + have, sizeof stream - have));
  KREQUIRE_MSG(rest, "stop-copy read: %s", outcome(rest).c_str());
  have += static_cast<std::size_t>(rest->bytes);
  ctx.note("stop-copy: %llu bytes, %s; stream %zu bytes", static_cast<unsigned long long>(rest->bytes),
           vfio::to_string(rest->end), have);
  KCHECK(rest->end == vfio::stream_end::end_of_stream);
  n = ktest::calls(ctx, [&] { ok = static_cast<bool>(ms->set_state(vfio::mig_state::stop)); });
  ctx.note("STOP_COPY -> STOP: %zu call(s)", n);
  KCHECK(ok);
  KCHECK(n == 2);  // the SET and the close of the data_fd

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

namespace {

/// One VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE of `state` outside the
/// migration object (which refuses targets the FSM cannot reach without asking
/// the kernel), through the traced seam. Notes the kernel's answer; a data_fd
/// it returns is closed at once.
bool raw_set_state(ktest::context& ctx, vfio::device& d, std::uint32_t state, const char* what) {
  vfio::abi::feature_mig_state arg{};
  arg.device_state = state;
  arg.data_fd = -1;
  auto r = vfio::feature::set_inout<vfio::feature::mig_device_state>(d, arg);
  ctx.note("SET %s (%u): %s data_fd %s", what, state, outcome(r).c_str(), arg.data_fd >= 0 ? "returned" : "-1");
  if (r && arg.data_fd >= 0) (void)d.sys().close(arg.data_fd);
  return static_cast<bool>(r);
}

/// The device's state as a GET reads it, noted with what the migration object
/// now holds (refresh_state updates it).
vfio::mig_state where(ktest::context& ctx, vfio::migration& m, const char* label) {
  auto s = m.refresh_state();
  ctx.note("%s: GET %s, object %s%s", label, s ? vfio::to_string(*s) : outcome(s).c_str(), vfio::to_string(m.state()),
           m.has_stream() ? " with a stream" : "");
  return s ? *s : vfio::mig_state::error;
}

void note_transition(ktest::context& ctx, const char* label, const vfio::result<void>& r,
                     const vfio::mig_transition& t) {
  if (t.failed)
    ctx.note("%s: %s; arcs done %u, failed arc %s -> %s, device now %s", label, outcome(r).c_str(), t.arcs_done,
             vfio::to_string(t.failed_from), vfio::to_string(t.failed_to),
             t.now_known ? vfio::to_string(t.now) : "unknown");
  else
    ctx.note("%s: %s; arcs done %u, device now %s", label, outcome(r).c_str(), t.arcs_done, vfio::to_string(t.now));
}

}  // namespace

KSCENARIO("mtty_error_arcs",
          "the migration FSM's refusals on an mtty mdev: bad targets, STOP_COPY back to PRE_COPY, reads past the "
          "end, a closed stream, a garbage stream in RESUMING until reset") {
  // As mtty_migration: on edu's turn, after it, and only where mtty exists
  // (the suite's own kernel, the one with IOMMUFD); once per run.
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
  const auto numbers = ctx.be().mtty_create(1, &why);
  KREQUIRE_MSG(numbers.size() == 1, "mtty: %s", why.c_str());
  struct cleanup {
    ktest::backend& be;
    ~cleanup() { be.mtty_remove(); }
  } removes{ctx.be()};

  auto node = vfio::cdev::open_node(numbers[0], ctx.sys());
  KREQUIRE_MSG(node, "open mtty cdev: %s", outcome(node).c_str());
  vfio::device dev(std::move(*node), "mtty");
  auto id = vfio::cdev::bind(dev.fd(), *ictx);
  KREQUIRE_MSG(id, "bind mtty: %s", outcome(id).c_str());
  auto opened = vfio::migration::open(dev);
  KREQUIRE_MSG(opened, "migration: %s", outcome(opened).c_str());
  vfio::migration& m = *opened;
  ctx.note("caps: flags=%s, state %s", hex(m.caps().flags).c_str(), vfio::to_string(m.state()));
  KREQUIRE(m.state() == vfio::mig_state::running);
  namespace st = vfio::abi::mig_device_state;

  // Targets vfio_mig_get_next_state refuses before the driver sees them:
  // ERROR (state_flags_table says ~0U), numbers past the last state. The
  // device does not move. SET of the current state is a no-op. (mtty offers
  // every state, so no target is refused for its flags here; the unit tests
  // cover that with the 6.1 model, which has no PRE_COPY.)
  KCHECK(!raw_set_state(ctx, dev, st::error, "ERROR"));
  KCHECK(!raw_set_state(ctx, dev, 8, "past PRE_COPY_P2P"));
  KCHECK(!raw_set_state(ctx, dev, 0x100, "out of range"));
  KCHECK(raw_set_state(ctx, dev, st::running, "RUNNING (current)"));
  KCHECK(where(ctx, m, "after the refused targets") == vfio::mig_state::running);
  auto lib = m.set_state(vfio::mig_state::error);
  ctx.note("library, to ERROR: %s", outcome(lib).c_str());
  KCHECK(failed_with(lib, vfio::errc::mig_state_unreachable));

  // PRE_COPY: the header is all there is until STOP_COPY; reading past it is 0.
  std::byte buf[256];
  KREQUIRE(m.set_state(vfio::mig_state::pre_copy));
  auto pre = m.read(vfio::span<std::byte>(buf, sizeof buf));
  ctx.note("pre-copy read: %s %llu bytes, %s", outcome(pre).c_str(),
           pre ? static_cast<unsigned long long>(pre->bytes) : 0ULL, pre ? vfio::to_string(pre->end) : "-");
  KCHECK(pre && pre->end == vfio::stream_end::no_more_for_now);
  auto more = m.read(vfio::span<std::byte>(buf, sizeof buf));
  ctx.note("pre-copy read past the end: %s %llu bytes, %s", outcome(more).c_str(),
           more ? static_cast<unsigned long long>(more->bytes) : 0ULL, more ? vfio::to_string(more->end) : "-");
  KCHECK(more && more->bytes == 0);
  auto info = m.precopy_info();
  ctx.note("pre-copy info after the read: %s initial=%llu dirty=%llu", outcome(info).c_str(),
           info ? static_cast<unsigned long long>(info->initial_bytes) : 0ULL,
           info ? static_cast<unsigned long long>(info->dirty_bytes) : 0ULL);
  KCHECK(info && info->total() == 0);
  // The saving file is read-only (vfs_write: no FMODE_WRITE) and a stream
  // (stream_open: no positioned reads).
  auto wrote = m.write(vfio::span<const std::byte>(buf, 8));
  ctx.note("write to the saving stream: %s", outcome(wrote).c_str());
  KCHECK(failed_with(wrote, EBADF));
  const long positioned = ctx.sys().pread(m.stream_fd(), buf, 8, 0);
  ctx.note("pread of the saving stream: %s",
           positioned >= 0 ? "ok" : vfio::testing::errno_name(positioned).substr(1).c_str());
  KCHECK(positioned == -ESPIPE);

  // STOP_COPY cannot go back to a PRE_COPY state (the kernel's table has
  // ERROR there, so EINVAL, and the device stays).
  KREQUIRE(m.set_state(vfio::mig_state::stop_copy));
  KCHECK(!raw_set_state(ctx, dev, st::pre_copy, "PRE_COPY from STOP_COPY"));
  KCHECK(!raw_set_state(ctx, dev, st::pre_copy_p2p, "PRE_COPY_P2P from STOP_COPY"));
  KCHECK(where(ctx, m, "after the refused PRE_COPY arcs") == vfio::mig_state::stop_copy);
  lib = m.set_state(vfio::mig_state::pre_copy);
  ctx.note("library, STOP_COPY to PRE_COPY: %s", outcome(lib).c_str());
  KCHECK(failed_with(lib, vfio::errc::mig_state_unreachable));
  auto late_info = m.precopy_info();
  ctx.note("pre-copy info in STOP_COPY: %s", outcome(late_info).c_str());
  KCHECK(failed_with(late_info, EINVAL));
  auto rest = m.read(vfio::span<std::byte>(buf, sizeof buf));
  ctx.note("stop-copy read: %s %llu bytes, %s", outcome(rest).c_str(),
           rest ? static_cast<unsigned long long>(rest->bytes) : 0ULL, rest ? vfio::to_string(rest->end) : "-");
  KCHECK(rest && rest->end == vfio::stream_end::end_of_stream);
  auto beyond = m.read(vfio::span<std::byte>(buf, sizeof buf));
  ctx.note("stop-copy read past the end: %s %llu bytes, %s", outcome(beyond).c_str(),
           beyond ? static_cast<unsigned long long>(beyond->bytes) : 0ULL, beyond ? vfio::to_string(beyond->end) : "-");
  KCHECK(beyond && beyond->bytes == 0 && beyond->end == vfio::stream_end::end_of_stream);
  KREQUIRE(m.set_state(vfio::mig_state::running));

  // The data_fd closed in the middle of pre-copy: the driver holds its own
  // reference to the file, so the session goes on without a reader; STOP_COPY
  // returns no new descriptor (the saving file exists), leaving STOP_COPY ends
  // the session, and the next PRE_COPY starts a fresh one from its header.
  KREQUIRE(m.set_state(vfio::mig_state::pre_copy));
  auto part = m.read(vfio::span<std::byte>(buf, 10));
  ctx.note("partial pre-copy read: %s %llu bytes", outcome(part).c_str(),
           part ? static_cast<unsigned long long>(part->bytes) : 0ULL);
  KCHECK(part && part->bytes == 10);
  KCHECK(m.close_stream());
  KCHECK(where(ctx, m, "after closing the stream") == vfio::mig_state::pre_copy);
  vfio::mig_transition t;
  auto to_stop_copy = m.set_state(vfio::mig_state::stop_copy, &t);
  note_transition(ctx, "PRE_COPY -> STOP_COPY without the stream", to_stop_copy, t);
  KCHECK(to_stop_copy && !m.has_stream());
  KCHECK(m.set_state(vfio::mig_state::running));
  KREQUIRE(m.set_state(vfio::mig_state::pre_copy));
  auto fresh = m.read(vfio::span<std::byte>(buf, sizeof buf));
  ctx.note("the next pre-copy session: %s %llu bytes", outcome(fresh).c_str(),
           fresh ? static_cast<unsigned long long>(fresh->bytes) : 0ULL);
  KCHECK(fresh && pre && fresh->bytes == pre->bytes);
  KCHECK(m.set_state(vfio::mig_state::running));

  // A garbage stream into RESUMING: mtty_resume_write checks the header once
  // 24 bytes are in (EFAULT, the bytes still count), more than the device's
  // state is ENOMEM, and RESUMING -> STOP fails in mtty_load_state (EINVAL:
  // incomplete). The resuming file is write-only and has no ioctl.
  KREQUIRE(m.set_state(vfio::mig_state::resuming));
  std::byte garbage[128];
  for (std::size_t i = 0; i < sizeof garbage; ++i) garbage[i] = static_cast<std::byte>(0x5a ^ i);
  auto bad = m.write(vfio::span<const std::byte>(garbage, 24));
  ctx.note("garbage header: %s", outcome(bad).c_str());
  KCHECK(failed_with(bad, EFAULT));
  auto too_much = m.write(vfio::span<const std::byte>(garbage, 80));
  ctx.note("write past the device's state: %s", outcome(too_much).c_str());
  KCHECK(failed_with(too_much, ENOMEM));
  auto read_back = m.read(vfio::span<std::byte>(buf, 8));
  ctx.note("read of the resuming stream: %s", outcome(read_back).c_str());
  KCHECK(failed_with(read_back, EBADF));
  vfio::abi::precopy_info probe{};
  probe.argsz = sizeof probe;
  const int no_ioctl = ctx.sys().ioctl(m.stream_fd(), vfio::abi::req::mig_get_precopy_info, &probe);
  ctx.note("ioctl on the resuming stream: %s",
           no_ioctl >= 0 ? "ok" : vfio::testing::errno_name(no_ioctl).substr(1).c_str());
  KCHECK(no_ioctl == -ENOTTY);
  auto to_stop = m.set_state(vfio::mig_state::stop, &t);
  note_transition(ctx, "RESUMING -> STOP after garbage", to_stop, t);
  KCHECK(failed_with(to_stop, EINVAL) && t.now_known && t.now == vfio::mig_state::resuming);
  KCHECK(m.state() == vfio::mig_state::resuming && m.has_stream());
  auto to_running = m.set_state(vfio::mig_state::running, &t);
  note_transition(ctx, "RESUMING -> RUNNING after garbage", to_running, t);
  KCHECK(failed_with(to_running, EINVAL) && t.now == vfio::mig_state::resuming);
  KCHECK(!raw_set_state(ctx, dev, st::running, "RUNNING in one SET"));
  KCHECK(where(ctx, m, "still") == vfio::mig_state::resuming);

  // VFIO_DEVICE_RESET (mtty_reset: the deferred reset) is the way out: RUNNING,
  // the files disabled.
  auto recovered = m.recover();
  ctx.note("reset: %s", outcome(recovered).c_str());
  KCHECK(recovered);
  KCHECK(where(ctx, m, "after the reset") == vfio::mig_state::running && !m.has_stream());

  // The device migrates normally again: a whole stream in one SET to STOP_COPY.
  KREQUIRE(m.set_state_in_one_call(vfio::mig_state::stop_copy, &t));
  note_transition(ctx, "RUNNING -> STOP_COPY in one SET", vfio::result<void>{}, t);
  auto whole = m.read(vfio::span<std::byte>(buf, sizeof buf));
  ctx.note("stop-copy stream: %s %llu bytes, %s", outcome(whole).c_str(),
           whole ? static_cast<unsigned long long>(whole->bytes) : 0ULL, whole ? vfio::to_string(whole->end) : "-");
  auto size = m.stop_copy_size();
  KCHECK(whole && size && whole->bytes == *size);
  KCHECK(m.set_state(vfio::mig_state::running));
}
