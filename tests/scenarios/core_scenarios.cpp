// Scenarios of the core VFIO API: container, group and device lifecycle, device
// and region information, config space, DMA mapping, interrupts, reset, BAR mmap.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <vfio/abi/pci.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/unique_fd.hpp>

#include "common.hpp"
#include "scenario.hpp"

using ktest::failed_with;

namespace {

using ktest::hex;
using ktest::outcome;

// Vendor:device of each device of the QEMU machine (tests/kernel/boot.sh binds
// them by these IDs).
std::uint32_t expected_ids(const std::string& name) {
  if (name == "e1000e") return 0x10d38086;
  if (name == "nvme") return 0x00101b36;
  if (name == "virtio-net") return 0x10411af4;
  if (name == "edu") return 0x11e81234;
  return 0;
}

}  // namespace

KSCENARIO("lifecycle", "container, group and device lifecycle with the kernel's refusals along the way") {
  // The cdev path's lifecycle (bind, attach, the refusals before and after) is
  // scenario cdev_iommufd's.
  if (ktest::group_path_only(ctx, "the container and group lifecycle")) return;
  // The compat path's container is an iommufd: where its answers differ from
  // type1's, each is checked on its own path.
  const bool compat = ctx.compat_path();
  auto c = vfio::container::open(ctx.container_node(), ctx.sys());
  KREQUIRE_MSG(c, "%s", outcome(c).c_str());
  for (std::uint32_t ext :
       {vfio::abi::extension::type1_iommu, vfio::abi::extension::type1v2_iommu, vfio::abi::extension::dma_cc_iommu,
        vfio::abi::extension::noiommu_iommu, vfio::abi::extension::unmap_all, vfio::abi::extension::update_vaddr}) {
    auto e = c->check_extension(ext);
    // iommufd answers DMA_CC_IOMMU from the compat IOAS's domains: ENODEV before a group.
    KCHECK(e || (compat && ext == vfio::abi::extension::dma_cc_iommu && failed_with(e, ENODEV)));
    ctx.note("extension %u: %s", ext, e ? (*e ? "yes" : "no") : outcome(e).c_str());
  }
  auto g = vfio::group::open(ctx.dut().group, ctx.sys());
  KREQUIRE_MSG(g, "%s", outcome(g).c_str());
  auto st = g->status();
  KCHECK(st && st->viable && !st->container_set);

  auto early = g->open_device(ctx.dut().bdf);
  KCHECK_MSG(!early, "device fd without a container");
  ctx.note("device before SET_CONTAINER: %s", outcome(early).c_str());

  KREQUIRE(g->set_container(*c));
  st = g->status();
  KCHECK(st && st->viable && st->container_set);

  auto before_iommu = g->open_device(ctx.dut().bdf);
  // iommufd needs no SET_IOMMU: the device binds to the compat IOAS the
  // group's SET_CONTAINER created (vfio_df_group_open).
  KCHECK_MSG(compat ? static_cast<bool>(before_iommu) : !before_iommu, "device fd before SET_IOMMU");
  ctx.note("device before SET_IOMMU: %s", outcome(before_iommu).c_str());
  if (before_iommu) KCHECK(before_iommu->close());

  auto type = c->set_best_iommu();
  KREQUIRE_MSG(type, "%s", outcome(type).c_str());
  KCHECK(*type == vfio::abi::extension::type1v2_iommu);
  auto again = c->set_iommu(vfio::abi::extension::type1v2_iommu);
  KCHECK_MSG(compat ? static_cast<bool>(again) : !again, "second SET_IOMMU");  // iommufd: no driver to refuse it
  ctx.note("second SET_IOMMU: %s", outcome(again).c_str());
  auto cc = c->check_extension(vfio::abi::extension::dma_cc_iommu);
  ctx.note("DMA_CC_IOMMU with the IOMMU set: %s", cc ? (*cc ? "yes" : "no") : outcome(cc).c_str());

  auto other = vfio::container::open(ctx.container_node(), ctx.sys());
  KREQUIRE(other);
  auto moved = g->set_container(*other);
  KCHECK(failed_with(moved, EINVAL));
  ctx.note("second SET_CONTAINER: %s", outcome(moved).c_str());

  auto stranger = g->open_device("0000:00:1f.0");  // the LPC bridge: not in this group
  KCHECK(failed_with(stranger, ENODEV));

  auto d = g->open_device(ctx.dut().bdf);
  KREQUIRE_MSG(d, "%s", outcome(d).c_str());
  auto d2 = g->open_device(ctx.dut().bdf);
  ctx.note("second device fd: %s", outcome(d2).c_str());

  auto busy = g->unset_container();
  ctx.note("UNSET_CONTAINER with the device open: %s", outcome(busy).c_str());
  // type1: EBUSY; iommufd lets go (each bound device holds the context).
  KCHECK(compat ? static_cast<bool>(busy) : failed_with(busy, EBUSY));
  KCHECK(d->close());
  if (d2) KCHECK(d2->close());
  if (!compat) KCHECK(g->unset_container());
  KCHECK(failed_with(g->unset_container(), EINVAL));
  st = g->status();
  KCHECK(st && st->viable && !st->container_set);
}

KSCENARIO("group_busy", "a group node can be open only once: the second open is EBUSY") {
  if (ktest::group_path_only(ctx, "a group node's single open")) return;
  auto g1 = vfio::group::open(ctx.dut().group, ctx.sys());
  KREQUIRE_MSG(g1, "%s", outcome(g1).c_str());
  auto g2 = vfio::group::open(ctx.dut().group, ctx.sys());
  KCHECK(failed_with(g2, EBUSY));
  *g1 = vfio::group();  // closes the node
  auto g3 = vfio::group::open(ctx.dut().group, ctx.sys());
  KCHECK_MSG(g3, "reopen after close: %s", outcome(g3).c_str());
}

KSCENARIO("device_info", "VFIO_DEVICE_GET_INFO") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto info = s.device.info();
  KREQUIRE_MSG(info, "%s", outcome(info).c_str());
  ctx.note("flags=%s regions=%u irqs=%u reset=%d pci=%d", hex(info->flags).c_str(), info->num_regions, info->num_irqs,
           info->can_reset(), info->is_pci());
  KCHECK(info->is_pci());
  KCHECK(info->num_regions >= vfio::abi::pci_region::count);
  KCHECK(info->num_irqs == vfio::abi::pci_irq::count);
}

KSCENARIO("regions", "every region and its capabilities") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto info = s.device.info();
  KREQUIRE(info);
  for (std::uint32_t i = 0; i < info->num_regions; ++i) {
    auto r = s.device.region(i);
    if (!r) {
      ctx.note("region %u: %s", i, outcome(r).c_str());
      continue;
    }
    const vfio::region_info& ri = **r;
    std::string caps;
    if (ri.has_sparse_mmap) {
      caps += " sparse:";
      for (const auto& a : ri.sparse_areas) caps += " " + hex(a.offset) + "+" + hex(a.size);
    }
    if (ri.has_type) caps += " type=" + std::to_string(ri.type) + "/" + std::to_string(ri.subtype);
    if (ri.msix_mappable) caps += " msix_mappable";
    ctx.note("region %u: flags=%s size=%s offset=%s%s", i, hex(ri.flags).c_str(), hex(ri.size).c_str(),
             hex(ri.offset).c_str(), caps.c_str());
    KCHECK(ri.offset == std::uint64_t{i} << 40);  // VFIO_PCI_INDEX_TO_OFFSET
  }
  auto cfg = s.device.region(vfio::abi::pci_region::config);
  KCHECK(cfg && (*cfg)->readable() && (*cfg)->writable() && !(*cfg)->mappable());
  KCHECK(cfg && ((*cfg)->size == 256 || (*cfg)->size == 4096));
  auto vga = s.device.region(vfio::abi::pci_region::vga);
  KCHECK_MSG(failed_with(vga, EINVAL), "VGA region of a non-VGA device: %s", outcome(vga).c_str());
}

KSCENARIO("config", "config-space snapshot, standard and extended capability walk, typed access") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  vfio::pci::config cfg(s.device);
  auto snap = cfg.snapshot();
  KREQUIRE_MSG(snap, "%s", outcome(snap).c_str());
  ctx.note("snapshot %u bytes", snap->size());
  KCHECK(snap->u32(0) == expected_ids(ctx.dut().name));
  // The standard header and capabilities, except what the firmware assigned
  // (BARs, ROM BAR, interrupt line): vfio-pci's virtualized view.
  for (std::uint16_t row = 0; row < 256; row = static_cast<std::uint16_t>(row + 16)) {
    std::string line;
    for (std::uint16_t i = row; i < row + 16; ++i) {
      const bool assigned = (i >= 0x10 && i < 0x28) || (i >= 0x30 && i < 0x34) || i == 0x3c;
      char b[4];
      if (assigned)
        std::snprintf(b, sizeof b, " ..");
      else
        std::snprintf(b, sizeof b, " %02x", snap->u8(i));
      line += b;
    }
    ctx.note("cfg %02x:%s", row, line.c_str());
  }
  std::string caps;
  auto walked = snap->for_each_capability([&](const vfio::pci::capability& c) {
    caps += " " + hex(c.id) + "@" + hex(c.offset);
    return true;
  });
  KCHECK_MSG(walked, "%s", outcome(walked).c_str());
  ctx.note("capabilities:%s", caps.empty() ? " -" : caps.c_str());
  std::string ext;
  auto ext_walked = snap->for_each_ext_capability([&](const vfio::pci::capability& c) {
    ext += " " + hex(c.id) + "v" + std::to_string(c.version) + "@" + hex(c.offset);
    return true;
  });
  KCHECK_MSG(ext_walked, "%s", outcome(ext_walked).c_str());
  ctx.note("extended capabilities:%s", ext.empty() ? " -" : ext.c_str());

  auto vendor = cfg.read16(vfio::abi::pci::vendor_id);
  KCHECK(vendor && *vendor == (expected_ids(ctx.dut().name) & 0xffff));
  auto ids = cfg.read32(vfio::abi::pci::vendor_id);
  KCHECK(ids && *ids == expected_ids(ctx.dut().name));
  auto command = cfg.read16(vfio::abi::pci::command);
  KREQUIRE(command);
  ctx.note("command=%s", hex(*command).c_str());
  KCHECK(cfg.write16(vfio::abi::pci::command, *command));
  auto command_after = cfg.read16(vfio::abi::pci::command);
  KCHECK(command_after && *command_after == *command);
  KCHECK(failed_with(cfg.read16(1), vfio::errc::invalid_argument));  // misaligned: no syscall
  KCHECK(failed_with(cfg.read32(static_cast<std::uint16_t>(snap->size())), vfio::errc::out_of_bounds));
}

namespace {

// The dma scenario on the cdev path: the same mappings as on the group path,
// through the IOAS the device is attached to, at fixed IOVAs
// (IOMMU_IOAS_MAP with FIXED_IOVA), and the IOAS's own answers where type1's
// differ (io_pagetable.c, iopt_unmap_iova_range: an unmap that would split an
// area, or that finds nothing, is ENOENT where type1 splits nothing with
// EINVAL and unmaps nothing with 0).
void ioas_dma(ktest::context& ctx, ktest::stack& s) {
  auto ranges = s.iommufd.iova_ranges(s.ioas.id());
  KREQUIRE_MSG(ranges, "%s", outcome(ranges).c_str());
  std::string text;
  for (const auto& r : ranges->ranges) text += " " + hex(r.start) + "-" + hex(r.end);
  ctx.note("IOAS alignment=%s ranges:%s", hex(ranges->alignment).c_str(), text.empty() ? " -" : text.c_str());
  KCHECK(!ranges->ranges.empty());

  ktest::pages buffer(4);
  KREQUIRE(buffer);
  std::memset(buffer.at(0), 0x5a, 4 * ktest::pages::page_size);
  const auto va = reinterpret_cast<std::uint64_t>(buffer.at(0));
  const vfio::ioas_id id = s.ioas.id();
  const auto map = [&](const char* what, std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size) {
    auto r = s.iommufd.map_fixed(id, iova, vaddr, size);
    ctx.note("map %s: %s", what, outcome(r).c_str());
    return r;
  };
  auto first = map("0x100000+0x2000", va, 0x100000, 0x2000);
  KCHECK(first && *first == 0x100000);
  KCHECK(failed_with(map("over it", va, 0x100000, 0x2000), EEXIST));
  KCHECK(map("0x102000+0x1000", va + 0x2000, 0x102000, 0x1000));
  KCHECK(failed_with(map("at a misaligned IOVA", va, 0x200800, 0x1000), EINVAL));
  KCHECK(failed_with(map("of size 0", va, 0x200000, 0), EINVAL));
  auto msi = map("in the MSI window", va, 0xfee00000, 0x1000);
  KCHECK_MSG(failed_with(msi, EINVAL), "map in the reserved MSI window: %s", outcome(msi).c_str());
  auto bisect = s.iommufd.unmap(id, 0x100000, 0x1000);
  ctx.note("unmap splitting an area: %s", outcome(bisect).c_str());
  KCHECK_MSG(failed_with(bisect, ENOENT), "the IOAS refuses to split an area: %s", outcome(bisect).c_str());
  auto unmapped = s.iommufd.unmap(id, 0x100000, 0x2000);
  KCHECK(unmapped && *unmapped == 0x2000);
  auto nothing = s.iommufd.unmap(id, 0x100000, 0x2000);
  ctx.note("unmap of nothing: %s", outcome(nothing).c_str());
  KCHECK(failed_with(nothing, ENOENT));
  auto all = s.iommufd.unmap_all(id);
  KCHECK_MSG(all && *all == 0x1000, "%s", all ? hex(*all).c_str() : outcome(all).c_str());
}

}  // namespace

KSCENARIO("dma", "IOMMU info, DMA map/unmap within and outside the IOVA ranges") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  if (ctx.cdev_path()) {
    ioas_dma(ctx, s);
    return;
  }
  auto info = s.container.get_iommu_info();
  KREQUIRE_MSG(info, "%s", outcome(info).c_str());
  std::string ranges;
  for (const auto& r : info->iova_ranges) ranges += " " + hex(r.start) + "-" + hex(r.end);
  ctx.note("iommu flags=%s pgsizes=%s ranges:%s dma_avail=%s", hex(info->flags).c_str(),
           hex(info->iova_pgsizes).c_str(), ranges.empty() ? " -" : ranges.c_str(),
           info->dma_avail ? std::to_string(*info->dma_avail).c_str() : "-");
  KCHECK(info->iova_pgsizes & 0x1000);
  KCHECK(!info->iova_ranges.empty());

  // Real memory in the guest; the simulated kernel takes any address.
  ktest::pages buffer(4);
  KREQUIRE(buffer);
  std::memset(buffer.at(0), 0x5a, 4 * ktest::pages::page_size);
  const auto va = reinterpret_cast<std::uint64_t>(buffer.at(0));

  KCHECK(s.container.map_dma(va, 0x100000, 0x2000));
  if (info->dma_avail) {
    // type1 counts its mappings down from dma_entry_limit; iommufd's compat
    // container always reports U32_MAX (its limit is the memory cgroup's).
    auto after = s.container.get_iommu_info();
    const std::uint32_t expected = ctx.compat_path() ? *info->dma_avail : *info->dma_avail - 1;
    KCHECK(after && after->dma_avail && *after->dma_avail == expected);
  }
  KCHECK(failed_with(s.container.map_dma(va, 0x100000, 0x2000), EEXIST));
  KCHECK(s.container.map_dma(va + 0x2000, 0x102000, 0x1000));
  KCHECK(failed_with(s.container.map_dma(va, 0x200800, 0x1000), EINVAL));  // misaligned IOVA
  KCHECK(failed_with(s.container.map_dma(va, 0x200000, 0), EINVAL));       // empty
  auto msi = s.container.map_dma(va, 0xfee00000, 0x1000);                  // the MSI window
  KCHECK_MSG(failed_with(msi, EINVAL), "map in the reserved MSI window: %s", outcome(msi).c_str());
  auto bisect = s.container.unmap_dma(0x100000, 0x1000);
  // type1v2: EINVAL; iommufd's compat container (iopt_unmap_iova_range): ENOENT.
  KCHECK_MSG(failed_with(bisect, ctx.compat_path() ? ENOENT : EINVAL), "type1v2 refuses to split a mapping: %s",
             outcome(bisect).c_str());
  auto unmapped = s.container.unmap_dma(0x100000, 0x2000);
  KCHECK(unmapped && *unmapped == 0x2000);
  auto nothing = s.container.unmap_dma(0x100000, 0x2000);
  KCHECK(nothing && *nothing == 0);
  auto all = s.container.unmap_all_dma();
  KCHECK_MSG(all && *all == 0x1000, "%s", all ? hex(*all).c_str() : outcome(all).c_str());
}

KSCENARIO("irq", "IRQ info of every index; eventfd attach, loopback trigger and disable") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto info = s.device.info();
  KREQUIRE(info);
  std::uint32_t counts[vfio::abi::pci_irq::count] = {};
  for (std::uint32_t i = 0; i < info->num_irqs; ++i) {
    auto irq = s.device.irq(i);
    ctx.note("irq %u: %s flags=%s count=%u", i, outcome(irq).c_str(), irq ? hex(irq->flags).c_str() : "-",
             irq ? irq->count : 0);
    if (irq && i < vfio::abi::pci_irq::count) counts[i] = irq->count;
  }
  KCHECK(counts[vfio::abi::pci_irq::req] == 1);
  if (ctx.dut().name == "e1000e") KCHECK(counts[vfio::abi::pci_irq::msix] > 0);
  // MSI-X where the device has it, else MSI, else INTx.
  const std::uint32_t index = counts[vfio::abi::pci_irq::msix]  ? vfio::abi::pci_irq::msix
                              : counts[vfio::abi::pci_irq::msi] ? vfio::abi::pci_irq::msi
                                                                : vfio::abi::pci_irq::intx;
  ctx.note("using irq index %u", index);
  const int efd = ctx.sys().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  KREQUIRE(efd >= 0);
  vfio::unique_fd event(efd, ctx.sys());
  const int fds[1] = {efd};
  auto attached = s.device.set_irq_eventfds(index, 0, vfio::span<const int>(fds, 1));
  KREQUIRE_MSG(attached, "%s", outcome(attached).c_str());
  KCHECK(s.device.trigger_irq(index, 0, 1));
  struct pollfd p = {efd, POLLIN, 0};
  KCHECK(ctx.sys().poll(&p, 1, 2000) == 1);
  std::uint64_t count = 0;
  KCHECK(ctx.sys().read(efd, &count, sizeof count) == 8 && count == 1);
  KCHECK(s.device.trigger_irq(index, 0, 1));
  KCHECK(s.device.trigger_irq(index, 0, 1));
  KCHECK(ctx.sys().read(efd, &count, sizeof count) == 8 && count == 2);
  auto beyond = s.device.trigger_irq(index, counts[index], 1);
  KCHECK_MSG(failed_with(beyond, EINVAL), "trigger beyond the vector count: %s", outcome(beyond).c_str());
  KCHECK(s.device.disable_irq(index));
  auto after = s.device.trigger_irq(index, 0, 1);
  ctx.note("trigger after disable: %s", outcome(after).c_str());
  KCHECK(ctx.sys().read(efd, &count, sizeof count) == -EAGAIN);
}

KSCENARIO("reset", "VFIO_DEVICE_RESET, hot-reset info and hot reset where the bus allows it") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto info = s.device.info();
  KREQUIRE(info);
  auto r = s.device.reset();
  ctx.note("reset: %s (flag %d)", outcome(r).c_str(), info->can_reset());
  if (info->can_reset())
    KCHECK(r);
  else
    KCHECK(failed_with(r, EINVAL));
  auto hr = s.device.pci_hot_reset_info();
  ctx.note("hot reset info: %s", outcome(hr).c_str());
  if (!hr) {
    KCHECK(failed_with(hr, ENODEV));
    return;
  }
  // A cdev-opened device reports the affected devices by devid in its
  // iommufd (VFIO_PCI_HOT_RESET_FLAG_DEV_ID, vfio_pci_fill_devs), a
  // group-opened one by group.
  const bool by_devid = (hr->flags & vfio::abi::hot_reset_flags::dev_id) != 0;
  KCHECK(by_devid == ctx.cdev_path());
  bool self = false;
  for (const auto& d : hr->devices) {
    char bdf[16];
    std::snprintf(bdf, sizeof bdf, "%04x:%02x:%02x.%x", d.segment, d.bus, d.devfn >> 3, d.devfn & 7);
    if (by_devid) {
      ctx.note("affected: devid %u %s", d.devid, bdf);
      if (bdf == ctx.dut().bdf && d.devid == s.devid.value) self = true;
    } else {
      ctx.note("affected: group %u %s", d.group_id, bdf);
      if (bdf == ctx.dut().bdf && d.group_id == ctx.dut().group) self = true;
    }
  }
  KCHECK(self);
  if (hr->devices.size() == 1) {
    // The cdev path proves ownership through the iommufd: the zero-length
    // group array (vfio_pci_ioctl_pci_hot_reset: only for cdev-opened devices).
    const int fds[1] = {s.group.fd()};
    auto done = s.device.pci_hot_reset(ctx.cdev_path() ? vfio::span<const int>() : vfio::span<const int>(fds, 1));
    KCHECK_MSG(done, "%s", outcome(done).c_str());
  }
}

KSCENARIO("bar_mmap", "mmap of a BAR, access through the mapping and through the fd") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto bar = ktest::largest_mappable_bar(s.device);
  KREQUIRE(bar);
  ctx.note("mapping BAR %u", *bar);
  auto m = s.device.map(*bar);
  KREQUIRE_MSG(m, "%s", outcome(m).c_str());
  KCHECK(m->pieces().size() >= 1);
  KCHECK(!ctx.be().mapping_faults(m->data(0)));
  std::uint32_t v = 0;
  KCHECK(s.device.read(*bar, 0, &v, sizeof v));
  KCHECK(m->unmap());
  KCHECK(failed_with(s.device.map(vfio::abi::pci_region::config), vfio::errc::not_mappable));
}
