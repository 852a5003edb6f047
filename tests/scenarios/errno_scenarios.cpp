// Every error the scenarios see from the library, held against the kernel's
// own answer: each refused call is repeated as the bare ioctl (or open) with
// the same arguments, outside the library and the tracer
// (backend::raw_ioctl: syscall(SYS_ioctl) in the guest), and the library
// must report the errno the kernel gave. Where the library refuses before
// any system call (an index past the count it read), the kernel must refuse
// the same arguments too; where it turns an errno into a condition of its
// own (ENOTTY from VFIO_DEVICE_FEATURE is errc::feature_unsupported), the
// kernel must have given that errno. Each pair is a trace note
// "errno <case>: library=<outcome> raw=<errno>", so the simulated kernel is
// held to the same answers.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <vfio/abi/iommufd.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/unique_fd.hpp>

#include "common.hpp"
#include "scenario.hpp"

// KREQUIRE for a function that returns bool: false ends it.
#define KREQUIRE_FALSE(COND)                               \
  do {                                                     \
    if (!(COND)) {                                         \
      ctx.fail(__FILE__, __LINE__, "KREQUIRE(" #COND ")"); \
      return false;                                        \
    }                                                      \
  } while (0)
#define KREQUIRE_FALSE_MSG(COND, ...)                                                              \
  do {                                                                                             \
    if (!(COND)) {                                                                                 \
      ctx.fail(__FILE__, __LINE__, "KREQUIRE(" #COND ") " + ::ktest::format_message(__VA_ARGS__)); \
      return false;                                                                                \
    }                                                                                              \
  } while (0)

namespace {

using ktest::outcome;
namespace req = vfio::abi::req;

/// How the library's answer must relate to the kernel's.
enum class relation {
  same,     ///< the library reports the kernel's errno
  early,    ///< the library refuses without a system call: the kernel must refuse too
  not_tty,  ///< the library reports a condition of its own for the kernel's ENOTTY
};

template <class T>
void cross(ktest::context& ctx, const char* what, const vfio::result<T>& lib, long raw, relation rel = relation::same) {
  const std::string l = outcome(lib), r = ktest::errno_text(raw);
  ctx.note("errno %s: library=%s raw=%s", what, l.c_str(), r.c_str());
  switch (rel) {
    case relation::same:
      KCHECK_MSG(l == r, "%s: the library reports %s, the kernel %s", what, l.c_str(), r.c_str());
      break;
    case relation::early:
      KCHECK_MSG(!lib && raw < 0, "%s: the library %s, the kernel %s", what, l.c_str(), r.c_str());
      break;
    case relation::not_tty:
      KCHECK_MSG(!lib && raw == -ENOTTY, "%s: the library %s, the kernel %s", what, l.c_str(), r.c_str());
      break;
  }
}

/// VFIO_GROUP_GET_DEVICE_FD by hand; closes a descriptor it got.
long raw_device_fd(ktest::context& ctx, int group_fd, const std::string& name) {
  std::string n = name;
  const long r = ctx.be().raw_ioctl(group_fd, req::group_get_device_fd, n.data());
  if (r >= 0) ctx.be().raw_close(static_cast<int>(r));
  return r;
}

long raw_map(ktest::context& ctx, int container_fd, std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size,
             std::uint32_t flags = vfio::abi::dma_map_flags::read | vfio::abi::dma_map_flags::write) {
  vfio::abi::iommu_type1_dma_map m{};
  m.argsz = sizeof m;
  m.flags = flags;
  m.vaddr = vaddr;
  m.iova = iova;
  m.size = size;
  return ctx.be().raw_ioctl(container_fd, req::iommu_map_dma, &m);
}

long raw_unmap(ktest::context& ctx, int container_fd, std::uint64_t iova, std::uint64_t size) {
  vfio::abi::iommu_type1_dma_unmap u{};
  u.argsz = sizeof u;
  u.iova = iova;
  u.size = size;
  return ctx.be().raw_ioctl(container_fd, req::iommu_unmap_dma, &u);
}

long raw_region_info(ktest::context& ctx, int device_fd, std::uint32_t index) {
  vfio::abi::region_info ri{};
  ri.argsz = sizeof ri;
  ri.index = index;
  return ctx.be().raw_ioctl(device_fd, req::device_get_region_info, &ri);
}

long raw_irq_info(ktest::context& ctx, int device_fd, std::uint32_t index) {
  vfio::abi::irq_info ii{};
  ii.argsz = sizeof ii;
  ii.index = index;
  return ctx.be().raw_ioctl(device_fd, req::device_get_irq_info, &ii);
}

long raw_trigger(ktest::context& ctx, int device_fd, std::uint32_t index, std::uint32_t start, std::uint32_t count) {
  vfio::abi::irq_set is{};
  is.argsz = sizeof is;
  is.flags = vfio::abi::irq_set_flags::data_none | vfio::abi::irq_set_flags::action_trigger;
  is.index = index;
  is.start = start;
  is.count = count;
  return ctx.be().raw_ioctl(device_fd, req::device_set_irqs, &is);
}

/// VFIO_DEVICE_FEATURE with `payload_size` bytes of `payload` after the header.
long raw_feature(ktest::context& ctx, int device_fd, std::uint32_t flags, const void* payload,
                 std::size_t payload_size) {
  struct alignas(8) {
    vfio::abi::device_feature header;
    unsigned char data[16];
  } f{};
  f.header.argsz = static_cast<std::uint32_t>(sizeof f.header + payload_size);
  f.header.flags = flags;
  if (payload_size) std::memcpy(f.data, payload, payload_size);
  return ctx.be().raw_ioctl(device_fd, req::device_feature, &f);
}

long raw_hot_reset(ktest::context& ctx, int device_fd, const int* fds, std::uint32_t n) {
  struct {
    vfio::abi::pci_hot_reset header;
    std::int32_t fds[1];
  } h{};
  h.header.argsz = static_cast<std::uint32_t>(sizeof h.header + n * sizeof(std::int32_t));
  h.header.count = n;
  if (n) h.fds[0] = fds[0];
  return ctx.be().raw_ioctl(device_fd, req::device_pci_hot_reset, &h);
}

/// The MAP_DMA and UNMAP_DMA refusals of the container (group path). `va`:
/// pages 0-1 read-write, page 2 read-only, page 3 not mapped.
void container_cases(ktest::context& ctx, ktest::stack& s, std::uintptr_t va, std::size_t page) {
  vfio::container& c = s.container;
  const int cfd = c.fd();
  // Each case runs the library's call, undoes whatever it mapped, then the
  // raw call, and undoes that too, so that no case sees another's mapping.
  const auto map_case = [&](const char* what, std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size,
                            std::uint32_t flags) {
    auto lib = c.map_dma(vaddr, iova, size, flags);
    if (lib) (void)raw_unmap(ctx, cfd, iova, size);
    const long raw = raw_map(ctx, cfd, vaddr, iova, size, flags);
    if (raw >= 0) (void)raw_unmap(ctx, cfd, iova, size);
    cross(ctx, what, lib, raw);
  };
  constexpr std::uint32_t rw = vfio::abi::dma_map_flags::read | vfio::abi::dma_map_flags::write;
  map_case("MAP_DMA at a misaligned IOVA", va, 0x200800, page, rw);
  map_case("MAP_DMA of size 0", va, 0x200000, 0, rw);
  map_case("MAP_DMA in the MSI window", va, 0xfee00000, page, rw);
  map_case("MAP_DMA with neither READ nor WRITE", va, 0x200000, page, 0);
  map_case("MAP_DMA with IOVA + size wrapping", va, 0xfffffffffffff000ULL, 2 * page, rw);
  map_case("MAP_DMA with vaddr + size wrapping", 0xfffffffffffff000ULL, 0x200000, 2 * page, rw);
  map_case("MAP_DMA of unmapped memory", va + 3 * page, 0x200000, page, rw);
  map_case("MAP_DMA of read-only memory for device writes", va + 2 * page, 0x200000, page, rw);
  KCHECK(c.map_dma(va, 0x100000, 2 * page));
  cross(ctx, "MAP_DMA over a mapping", c.map_dma(va, 0x100000, 2 * page), raw_map(ctx, cfd, va, 0x100000, 2 * page));
  cross(ctx, "UNMAP_DMA splitting a mapping", c.unmap_dma(0x100000, page), raw_unmap(ctx, cfd, 0x100000, page));
  cross(ctx, "UNMAP_DMA with IOVA + size wrapping", c.unmap_dma(0xfffffffffffff000ULL, 2 * page),
        raw_unmap(ctx, cfd, 0xfffffffffffff000ULL, 2 * page));
  auto all = c.unmap_all_dma();
  KCHECK(all && *all == 2 * page);
}

/// IOMMU_IOAS_MAP by hand, FIXED_IOVA; returns 0 or -errno.
long raw_ioas_map(ktest::context& ctx, const ktest::stack& s, std::uint64_t vaddr, std::uint64_t iova,
                  std::uint64_t size, std::uint32_t flags) {
  vfio::abi::iommufd::ioas_map m{};
  m.size = sizeof m;
  m.flags = flags | vfio::abi::iommufd::map_flags::fixed_iova;
  m.ioas_id = s.ioas.id().value;
  m.user_va = vaddr;
  m.length = size;
  m.iova = iova;
  return ctx.be().raw_ioctl(s.iommufd.fd(), vfio::abi::iommufd::req::ioas_map, &m);
}

long raw_ioas_unmap(ktest::context& ctx, const ktest::stack& s, std::uint64_t iova, std::uint64_t size) {
  vfio::abi::iommufd::ioas_unmap u{};
  u.size = sizeof u;
  u.ioas_id = s.ioas.id().value;
  u.iova = iova;
  u.length = size;
  return ctx.be().raw_ioctl(s.iommufd.fd(), vfio::abi::iommufd::req::ioas_unmap, &u);
}

/// The same refusals through the IOAS the device is attached to (cdev path):
/// IOMMU_IOAS_MAP with FIXED_IOVA and IOMMU_IOAS_UNMAP.
void ioas_cases(ktest::context& ctx, ktest::stack& s, std::uintptr_t va, std::size_t page) {
  const vfio::ioas_id id = s.ioas.id();
  const auto map_case = [&](const char* what, std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size,
                            std::uint32_t flags) {
    auto lib = s.iommufd.map_fixed(id, iova, vaddr, size, flags);
    if (lib) (void)raw_ioas_unmap(ctx, s, iova, size);
    const long raw = raw_ioas_map(ctx, s, vaddr, iova, size, flags);
    if (raw >= 0) (void)raw_ioas_unmap(ctx, s, iova, size);
    cross(ctx, what, lib, raw);
  };
  namespace mf = vfio::abi::iommufd::map_flags;
  constexpr std::uint32_t rw = mf::readable | mf::writeable;
  map_case("IOAS_MAP at a misaligned IOVA", va, 0x200800, page, rw);
  map_case("IOAS_MAP of size 0", va, 0x200000, 0, rw);
  map_case("IOAS_MAP in the MSI window", va, 0xfee00000, page, rw);
  map_case("IOAS_MAP with neither READABLE nor WRITEABLE", va, 0x200000, page, 0);
  map_case("IOAS_MAP with IOVA + size wrapping", va, 0xfffffffffffff000ULL, 2 * page, rw);
  map_case("IOAS_MAP with vaddr + size wrapping", 0xfffffffffffff000ULL, 0x200000, 2 * page, rw);
  map_case("IOAS_MAP of unmapped memory", va + 3 * page, 0x200000, page, rw);
  map_case("IOAS_MAP of read-only memory for device writes", va + 2 * page, 0x200000, page, rw);
  KCHECK(s.iommufd.map_fixed(id, 0x100000, va, 2 * page));
  cross(ctx, "IOAS_MAP over a mapping", s.iommufd.map_fixed(id, 0x100000, va, 2 * page),
        raw_ioas_map(ctx, s, va, 0x100000, 2 * page, rw));
  cross(ctx, "IOAS_UNMAP splitting a mapping", s.iommufd.unmap(id, 0x100000, page),
        raw_ioas_unmap(ctx, s, 0x100000, page));
  cross(ctx, "IOAS_UNMAP with IOVA + size wrapping", s.iommufd.unmap(id, 0xfffffffffffff000ULL, 2 * page),
        raw_ioas_unmap(ctx, s, 0xfffffffffffff000ULL, 2 * page));
  auto all = s.iommufd.unmap_all(id);
  KCHECK(all && *all == 2 * page);
}

/// The group and container cases (group path): the group opened twice, the
/// device before the container and the IOMMU, SET_IOMMU and SET_CONTAINER
/// again, a device outside the group, UNSET_CONTAINER with the device open.
/// Leaves s.device open. False (with a failure recorded) when a step the rest
/// depends on fails.
bool group_cases(ktest::context& ctx, ktest::stack& s) {
  const std::string bdf = ctx.dut().bdf;
  const std::string group_path = "/dev/vfio/" + std::to_string(ctx.dut().group);

  // --- the group and the container ------------------------------------------
  {
    auto again = vfio::group::open(ctx.dut().group, ctx.sys());
    const int raw = ctx.be().raw_open(group_path.c_str(), O_RDWR);
    if (raw >= 0) ctx.be().raw_close(raw);
    cross(ctx, "group opened twice", again, raw);
  }
  cross(ctx, "device fd without a container", s.group.open_device(bdf), raw_device_fd(ctx, s.group.fd(), bdf));
  KREQUIRE_FALSE(s.group.set_container(s.container));
  cross(ctx, "device fd without an IOMMU", s.group.open_device(bdf), raw_device_fd(ctx, s.group.fd(), bdf));
  KREQUIRE_FALSE(s.container.set_best_iommu());
  cross(ctx, "second SET_IOMMU", s.container.set_iommu(vfio::abi::extension::type1v2_iommu),
        ctx.be().raw_ioctl_value(s.container.fd(), req::set_iommu, vfio::abi::extension::type1v2_iommu));
  {
    auto other = vfio::container::open(ctx.container_node(), ctx.sys());
    KREQUIRE_FALSE(other);
    auto lib = s.group.set_container(*other);
    int other_fd = other->fd();
    cross(ctx, "SET_CONTAINER to a second container", lib,
          ctx.be().raw_ioctl(s.group.fd(), req::group_set_container, &other_fd));
  }
  cross(ctx, "device outside the group", s.group.open_device("0000:00:1f.0"),
        raw_device_fd(ctx, s.group.fd(), "0000:00:1f.0"));

  auto d = s.group.open_device(bdf);
  KREQUIRE_FALSE_MSG(d, "%s", outcome(d).c_str());
  s.device = std::move(*d);
  if (ctx.compat_path())
    ctx.note("UNSET_CONTAINER with a device open: succeeds with an iommufd (lifecycle checks it)");
  else
    cross(ctx, "UNSET_CONTAINER with a device open", s.group.unset_container(),
          ctx.be().raw_ioctl(s.group.fd(), req::group_unset_container, nullptr));

  return true;
}

}  // namespace

KSCENARIO("errno_crosscheck", "each error the library reports against the raw ioctl with the same arguments") {
  const std::string bdf = ctx.dut().bdf;
  ktest::stack s;
  if (ctx.cdev_path()) {
    ctx.note("group path only: the group and container cases");
    if (!ktest::open_stack(ctx, s)) return;
  } else {
    auto c = vfio::container::open(ctx.container_node(), ctx.sys());
    KREQUIRE_MSG(c, "%s", outcome(c).c_str());
    s.container = std::move(*c);
    auto g = vfio::group::open(ctx.dut().group, ctx.sys());
    KREQUIRE_MSG(g, "%s", outcome(g).c_str());
    s.group = std::move(*g);
    if (!group_cases(ctx, s)) return;
  }
  vfio::device& d = s.device;

  // --- the device -----------------------------------------------------------
  auto info = d.info();
  KREQUIRE(info);
  cross(ctx, "region index past num_regions", d.region(info->num_regions),
        raw_region_info(ctx, d.fd(), info->num_regions), relation::early);
  cross(ctx, "VGA region of a device without VGA", d.region(vfio::abi::pci_region::vga),
        raw_region_info(ctx, d.fd(), vfio::abi::pci_region::vga));
  cross(ctx, "IRQ index past num_irqs", d.irq(info->num_irqs), raw_irq_info(ctx, d.fd(), info->num_irqs),
        relation::early);
  cross(ctx, "trigger of MSI not enabled", d.trigger_irq(vfio::abi::pci_irq::msi, 0, 1),
        raw_trigger(ctx, d.fd(), vfio::abi::pci_irq::msi, 0, 1));
  cross(ctx, "trigger past the REQ vector", d.trigger_irq(vfio::abi::pci_irq::req, 1, 1),
        raw_trigger(ctx, d.fd(), vfio::abi::pci_irq::req, 1, 1));
  {
    auto r = d.reset();
    if (r)
      ctx.note("reset: ok");
    else
      cross(ctx, "reset", r, ctx.be().raw_ioctl(d.fd(), req::device_reset, nullptr));
  }
  {
    // On the cdev path the group array must be empty (vfio_pci_ioctl_pci_hot_reset:
    // the zero-length array is only for cdev-opened devices, and only for them).
    const int fds[1] = {ctx.cdev_path() ? s.iommufd.fd() : s.container.fd()};
    cross(ctx, ctx.cdev_path() ? "hot reset with an iommufd as group" : "hot reset with a container fd as group",
          d.pci_hot_reset(vfio::span<const int>(fds, 1)), raw_hot_reset(ctx, d.fd(), fds, 1));
    cross(ctx, "hot reset with no group", d.pci_hot_reset(vfio::span<const int>()),
          raw_hot_reset(ctx, d.fd(), nullptr, 0));
  }

  // --- device features ---------------------------------------------------------
  namespace ff = vfio::abi::feature_flags;
  namespace fid = vfio::abi::feature_id;
  cross(ctx, "PROBE of an unknown feature", vfio::feature::probe(d, 0x7ff),
        raw_feature(ctx, d.fd(), ff::probe | 0x7ff, nullptr, 0), relation::not_tty);
  {
    std::uint64_t payload = 0;
    cross(ctx, "GET of LOW_POWER_ENTRY",
          vfio::feature::call(d, fid::low_power_entry, vfio::feature::direction::get, &payload, 0),
          raw_feature(ctx, d.fd(), ff::get | fid::low_power_entry, nullptr, 0));
  }
  {
    const int efd = ctx.sys().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    KREQUIRE(efd >= 0);
    vfio::unique_fd event(efd, ctx.sys());
    const vfio::abi::feature_low_power_entry_with_wakeup p{efd, 0};
    vfio::abi::feature_low_power_entry_with_wakeup lib_p = p;
    cross(ctx, "LOW_POWER_ENTRY_WITH_WAKEUP with argsz short of the payload",
          vfio::feature::call(d, fid::low_power_entry_with_wakeup, vfio::feature::direction::set, &lib_p, 4),
          raw_feature(ctx, d.fd(), ff::set | fid::low_power_entry_with_wakeup, &p, 4));
    const vfio::abi::feature_low_power_entry_with_wakeup negative{-1, 0};
    cross(ctx, "wake-up eventfd -1", vfio::feature::set<vfio::feature::low_power_entry_with_wakeup>(d, negative),
          raw_feature(ctx, d.fd(), ff::set | fid::low_power_entry_with_wakeup, &negative, sizeof negative));
    const vfio::abi::feature_low_power_entry_with_wakeup not_eventfd{s.other_fd(), 0};
    cross(ctx, "wake-up descriptor that is not an eventfd",
          vfio::feature::set<vfio::feature::low_power_entry_with_wakeup>(d, not_eventfd),
          raw_feature(ctx, d.fd(), ff::set | fid::low_power_entry_with_wakeup, &not_eventfd, sizeof not_eventfd));
  }
  {
    vfio::pci::power pw(d);
    KCHECK(pw.enter());
    cross(ctx, "second LOW_POWER_ENTRY", pw.enter(),
          raw_feature(ctx, d.fd(), ff::set | fid::low_power_entry, nullptr, 0));
    KCHECK(pw.exit());
  }

  // --- DMA ------------------------------------------------------------------------
  constexpr std::size_t page = 4096;
  void* buffer = ::mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  KREQUIRE(buffer != MAP_FAILED);
  std::memset(buffer, 0x5a, 2 * page);
  const auto va = reinterpret_cast<std::uintptr_t>(buffer);
  // Page 2 read-only, page 3 unmapped again: memory the kernel cannot pin for
  // a device write, and memory that is not there.
  ::mprotect(static_cast<char*>(buffer) + 2 * page, page, PROT_READ);
  ::munmap(static_cast<char*>(buffer) + 3 * page, page);
  if (ctx.cdev_path())
    ioas_cases(ctx, s, va, page);
  else
    container_cases(ctx, s, va, page);
  ::munmap(buffer, 3 * page);

  // --- closing ----------------------------------------------------------------
  KCHECK(d.close());
  if (ctx.cdev_path()) return;
  KCHECK(s.group.unset_container());
  cross(ctx, "UNSET_CONTAINER twice", s.group.unset_container(),
        ctx.be().raw_ioctl(s.group.fd(), req::group_unset_container, nullptr));
}
