// iommufd's VFIO compatibility container: a /dev/iommu descriptor used as the
// container of the group path (group.c accepts an iommufd at
// VFIO_GROUP_SET_CONTAINER; vfio_compat.c answers the container ioctls). The
// same code answers /dev/vfio/vfio on kernels built with
// CONFIG_IOMMUFD_VFIO_CONTAINER. The compat pass (--path compat) runs every
// scenario through it; this one checks where its answers differ from type1's.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <vfio/abi/iommufd.hpp>
#include <vfio/container.hpp>
#include <vfio/group.hpp>

#include "common.hpp"
#include "scenario.hpp"

namespace {

using ktest::errno_text;
using ktest::hex;
using ktest::outcome;
namespace x = vfio::abi::extension;

const char* provider_text(const vfio::result<vfio::container_provider>& p) {
  if (!p) return "error";
  return *p == vfio::container_provider::iommufd ? "iommufd" : "vfio";
}

std::string info_text(const vfio::iommu_info& info) {
  std::string ranges;
  for (const auto& r : info.iova_ranges) ranges += " " + hex(r.start) + "-" + hex(r.end);
  return "pgsizes=" + hex(info.iova_pgsizes) + " ranges:" + (ranges.empty() ? " -" : ranges) +
         " dma_avail=" + (info.dma_avail ? std::to_string(*info.dma_avail) : "-") +
         " migration=" + (info.migration ? "yes" : "no");
}

/// IOMMU_VFIO_IOAS(GET) through the traced seam: the compat IOAS's id, or -errno.
long compat_ioas(ktest::context& ctx, int fd) {
  vfio::abi::iommufd::vfio_ioas cmd{};
  cmd.size = sizeof cmd;
  cmd.op = vfio::abi::iommufd::vfio_ioas_op::get;
  const int r = ctx.sys().ioctl(fd, vfio::abi::iommufd::req::vfio_ioas, &cmd);
  return r < 0 ? r : static_cast<long>(cmd.ioas_id);
}

}  // namespace

KSCENARIO("compat_container",
          "/dev/iommu as the group's container: iommufd's VFIO compatibility answers where they differ from type1's") {
  if (ktest::once_per_run(ctx)) return;
  if (ctx.dut().name != "edu") {
    ctx.note("runs on edu's turn");
    return;
  }
  {
    auto own = vfio::container::open("/dev/vfio/vfio", ctx.sys());
    KREQUIRE_MSG(own, "%s", outcome(own).c_str());
    auto p = own->provider();
    ctx.note("/dev/vfio/vfio provider: %s", provider_text(p));
    KCHECK(p && *p == vfio::container_provider::vfio);
  }
  auto c = vfio::container::open("/dev/iommu", ctx.sys());
  if (!c) {
    ctx.note("/dev/iommu: %s", outcome(c).c_str());
    KCHECK(ktest::failed_with(c, ENOENT));  // a kernel without CONFIG_IOMMUFD
    return;
  }
  auto p = c->provider();
  ctx.note("/dev/iommu provider: %s", provider_text(p));
  KCHECK(p && *p == vfio::container_provider::iommufd);
  for (std::uint32_t ext : {x::type1_iommu, x::type1v2_iommu, x::dma_cc_iommu, x::type1_nesting_iommu, x::noiommu_iommu,
                            x::unmap_all, x::update_vaddr}) {
    auto e = c->check_extension(ext);
    ctx.note("extension %u: %s", ext, e ? (*e ? "yes" : "no") : outcome(e).c_str());
  }
  KCHECK(c->check_extension(x::type1v2_iommu).value_or(false));
  KCHECK(!c->supports_update_vaddr().value_or(true));

  // Before a group: no compat IOAS, so ENODEV where type1 says EINVAL.
  ktest::pages mem(4);
  KREQUIRE(mem);
  std::memset(mem.at(0), 0x3c, 4 * ktest::pages::page_size);
  const auto va = reinterpret_cast<std::uint64_t>(mem.at(0));
  auto early_set = c->set_iommu(x::type1v2_iommu);
  ctx.note("SET_IOMMU before a group: %s", outcome(early_set).c_str());
  KCHECK(ktest::failed_with(early_set, ENODEV));
  auto early_info = c->get_iommu_info();
  ctx.note("GET_INFO before a group: %s", outcome(early_info).c_str());
  KCHECK(ktest::failed_with(early_info, ENODEV));
  auto early_map = c->map_dma(va, 0x100000, 0x1000);
  ctx.note("MAP_DMA before a group: %s", outcome(early_map).c_str());
  KCHECK(ktest::failed_with(early_map, ENODEV));
  const long no_ioas = compat_ioas(ctx, c->fd());
  ctx.note("IOMMU_VFIO_IOAS before a group: %s", errno_text(no_ioas).c_str());
  KCHECK(no_ioas == -ENODEV);

  auto g = vfio::group::open(ctx.dut().group, ctx.sys());
  KREQUIRE_MSG(g, "%s", outcome(g).c_str());
  KREQUIRE(g->set_container(*c));
  auto st = g->status();
  KCHECK(st && st->viable && st->container_set);
  const long ioas = compat_ioas(ctx, c->fd());
  ctx.note("compat IOAS: %s", ioas > 0 ? std::to_string(ioas).c_str() : errno_text(ioas).c_str());
  KCHECK(ioas > 0);

  // No device yet, so no IOMMU domain: no domain's page sizes or aperture.
  auto before = c->get_iommu_info();
  KREQUIRE_MSG(before, "%s", outcome(before).c_str());
  ctx.note("GET_INFO before a device: %s", info_text(*before).c_str());
  KCHECK(!before->migration);
  KCHECK(before->dma_avail && *before->dma_avail == 0xffffffffU);

  // TYPE1 (large pages off: an unmap may split a mapping), then SET_IOMMU again.
  auto t1 = c->set_iommu(x::type1_iommu);
  ctx.note("SET_IOMMU TYPE1: %s", outcome(t1).c_str());
  KCHECK(t1);
  auto again = c->set_iommu(x::type1v2_iommu);
  ctx.note("SET_IOMMU TYPE1v2 after it: %s", outcome(again).c_str());
  KCHECK(again);

  // A mapping with neither READ nor WRITE: taken while no domain holds the
  // IOAS; the device's attach must then fill the new domain with it.
  {
    vfio::abi::iommu_type1_dma_map none{sizeof none, 0, va, 0x200000, 0x1000};
    const int r = ctx.sys().ioctl(c->fd(), vfio::abi::req::iommu_map_dma, &none);
    ctx.note("MAP_DMA with neither READ nor WRITE, no device open: %s", errno_text(r).c_str());
    auto blocked = g->open_device(ctx.dut().bdf);
    ctx.note("device open with that mapping in the IOAS: %s", outcome(blocked).c_str());
    auto cleared = c->unmap_all_dma();
    ctx.note("unmap all: %s", cleared ? hex(*cleared).c_str() : outcome(cleared).c_str());
    KCHECK(cleared);
  }
  auto d = g->open_device(ctx.dut().bdf);
  KREQUIRE_MSG(d, "%s", outcome(d).c_str());
  auto after = c->get_iommu_info();
  KREQUIRE_MSG(after, "%s", outcome(after).c_str());
  ctx.note("GET_INFO with the device open: %s", info_text(*after).c_str());
  KCHECK(after->iova_pgsizes & 0x1000);
  auto cc = c->check_extension(x::dma_cc_iommu);
  ctx.note("DMA_CC_IOMMU with the device open: %s", cc ? (*cc ? "yes" : "no") : outcome(cc).c_str());

  KCHECK(c->map_dma(va, 0x100000, 4 * ktest::pages::page_size));
  auto middle = c->unmap_dma(0x101000, 0x1000);
  ctx.note("unmap of one page inside a mapping (TYPE1): %s", middle ? hex(*middle).c_str() : outcome(middle).c_str());
  KCHECK(middle && *middle == 0x1000);
  {
    vfio::abi::iommu_type1_dma_map m{sizeof m, vfio::abi::dma_map_flags::read | vfio::abi::dma_map_flags::vaddr, va,
                                     0x200000, 0x1000};
    const int r = ctx.sys().ioctl(c->fd(), vfio::abi::req::iommu_map_dma, &m);
    ctx.note("MAP_DMA with FLAG_VADDR: %s", errno_text(r).c_str());
    KCHECK(r == -EINVAL);
    vfio::abi::iommu_type1_dma_map none{sizeof none, 0, va, 0x200000, 0x1000};
    const int r0 = ctx.sys().ioctl(c->fd(), vfio::abi::req::iommu_map_dma, &none);
    ctx.note("MAP_DMA with neither READ nor WRITE, the device open: %s", errno_text(r0).c_str());
  }
  auto all = c->unmap_all_dma();
  ctx.note("unmap all: %s", all ? hex(*all).c_str() : outcome(all).c_str());
  KCHECK(all);

  // UNSET_CONTAINER with the device open succeeds; the IOAS and its mappings
  // stay with the iommufd.
  KCHECK(c->map_dma(va, 0x100000, 0x1000));
  auto unset = g->unset_container();
  ctx.note("UNSET_CONTAINER with the device open: %s", outcome(unset).c_str());
  KCHECK(unset);
  KCHECK(d->close());
  auto left = c->unmap_all_dma();
  ctx.note("unmap all after the group left: %s", left ? hex(*left).c_str() : outcome(left).c_str());
  KCHECK(left && *left == 0x1000);
}
