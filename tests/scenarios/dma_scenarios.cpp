// DMA through the IOMMU with a device that really does DMA: QEMU's edu
// (hw/misc/edu.c) copies between its 4 KiB buffer and an IOMMU address. The
// scenario maps pages with container::map_dma (group path) or into the IOAS
// with fixed IOVAs (cdev path) and checks the bytes the device moved, that it
// cannot write into a read-only mapping, and that it cannot write after the
// unmap (type1 or iommufd unmaps the IOVA from the IOMMU domain; the emulated
// VT-d then refuses the access).
//
// The simulated kernel has no edu device model: its backend performs the
// transfers itself through the model's type1 or IOAS mappings (backend::edu_dma), so
// that both sides record the same outcome notes. The engine's registers are
// touched through the BAR0 mapping, outside the seam, on both sides.
#include <sys/mman.h>

#include <cstdint>
#include <cstring>

#include <vfio/abi/iommufd.hpp>
#include <vfio/abi/pci.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/container.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/pci/config.hpp>

#include "common.hpp"
#include "scenario.hpp"

namespace {

using ktest::outcome;

constexpr std::size_t page = 4096;
constexpr std::uint64_t rw_iova = 0x100000;
constexpr std::uint64_t ro_iova = 0x200000;

/// Anonymous memory, unmapped at scope exit.
class pages {
 public:
  explicit pages(std::size_t n) : size_(n * page) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
  }
  ~pages() {
    if (base_) ::munmap(base_, size_);
  }
  pages(const pages&) = delete;
  pages& operator=(const pages&) = delete;
  unsigned char* at(std::size_t i) const { return base_ + i * page; }
  explicit operator bool() const { return base_ != nullptr; }

 private:
  std::size_t size_;
  unsigned char* base_ = nullptr;
};

std::uint64_t address(const unsigned char* p) { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

KSCENARIO("edu_dma", "edu DMA through the IOMMU: round trip, no write into a read-only mapping, none after unmap") {
  if (ctx.dut().name != "edu") {
    ctx.note("no DMA engine on this device");
    return;
  }
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto bar0 = s.device.map(vfio::abi::pci_region::bar0);
  KREQUIRE_MSG(bar0, "%s", outcome(bar0).c_str());
  vfio::pci::config cfg(s.device);
  auto command = cfg.read16(vfio::abi::pci::command);
  KREQUIRE(command);
  // The device masters the bus only with COMMAND.MASTER set (vfio-pci clears
  // it when the device is opened).
  namespace cb = vfio::abi::pci::command_bits;
  KREQUIRE(cfg.write16(vfio::abi::pci::command, static_cast<std::uint16_t>(*command | cb::memory | cb::master)));

  pages mem(2);
  KREQUIRE(mem);
  unsigned char* rw = mem.at(0);
  unsigned char* ro = mem.at(1);
  for (std::size_t i = 0; i < page; ++i) {
    rw[i] = static_cast<unsigned char>(i * 7 + 1);
    ro[i] = static_cast<unsigned char>(0xa5 ^ i);
  }
  // Group path: the container's type1 mappings. Cdev path: the IOAS the
  // device is attached to, at the same fixed IOVAs (IOMMU_IOAS_MAP with
  // FIXED_IOVA; READABLE alone for the read-only page).
  ktest::backend::dma_space space;
  if (ctx.cdev_path()) {
    namespace mf = vfio::abi::iommufd::map_flags;
    auto a = s.iommufd.map_fixed(s.ioas.id(), rw_iova, address(rw), page, mf::readable | mf::writeable);
    KREQUIRE_MSG(a, "%s", outcome(a).c_str());
    auto b = s.iommufd.map_fixed(s.ioas.id(), ro_iova, address(ro), page, mf::readable);
    KREQUIRE_MSG(b, "%s", outcome(b).c_str());
    space.fd = s.iommufd.fd();
    space.ioas = s.ioas.id().value;
  } else {
    KREQUIRE(s.container.map_dma(address(rw), rw_iova, page));
    KREQUIRE(s.container.map_dma(address(ro), ro_iova, page, vfio::abi::dma_map_flags::read));
    space.fd = s.container.fd();
  }

  const auto dma = [&](bool to_device, std::uint64_t iova, std::uint32_t offset, std::uint32_t size) {
    ktest::backend::dma_transfer t;
    t.to_device = to_device;
    t.iova = iova;
    t.buffer_offset = offset;
    t.size = size;
    const bool done = ctx.be().edu_dma(ctx.dut(), bar0->data(0), space, t);
    ctx.note("dma %s iova %s, buffer +%s, %u bytes: %s", to_device ? "RAM->device" : "device->RAM",
             ktest::hex(iova).c_str(), ktest::hex(offset).c_str(), size, done ? "done" : "engine timed out");
    KCHECK_MSG(done, "edu's DMA engine did not finish");
    return done;
  };

  // Round trip: the first half of the page into the device, back into the
  // second half. 2 KiB each way: well inside edu's buffer.
  std::memset(rw + 0x800, 0, 0x800);
  dma(true, rw_iova, 0, 0x800);
  dma(false, rw_iova + 0x800, 0, 0x800);
  const bool round_trip = std::memcmp(rw, rw + 0x800, 0x800) == 0;
  ctx.note("round trip: %s", round_trip ? "bytes match" : "bytes differ");
  KCHECK(round_trip);

  // The device may read a read-only mapping.
  dma(true, ro_iova, 0x800, 0x400);
  dma(false, rw_iova, 0x800, 0x400);
  const bool read_ro = std::memcmp(rw, ro, 0x400) == 0;
  ctx.note("device read of the read-only mapping: %s", read_ro ? "bytes match" : "bytes differ");
  KCHECK(read_ro);

  // ... but not write it: the emulated VT-d refuses the write (no write
  // permission in the IOMMU page table), the memory keeps its bytes.
  unsigned char before[0x400];
  std::memcpy(before, ro, sizeof before);
  dma(false, ro_iova, 0, 0x400);
  const bool ro_kept = std::memcmp(ro, before, sizeof before) == 0;
  ctx.note("device write into the read-only mapping: %s", ro_kept ? "blocked" : "memory changed");
  KCHECK(ro_kept);

  // After the unmap, nothing reaches the page.
  auto unmapped = ctx.cdev_path() ? s.iommufd.unmap(s.ioas.id(), rw_iova, page) : s.container.unmap_dma(rw_iova, page);
  KCHECK(unmapped && *unmapped == page);
  std::memcpy(before, rw, sizeof before);
  dma(false, rw_iova, 0x400, 0x400);
  const bool rw_kept = std::memcmp(rw, before, sizeof before) == 0;
  ctx.note("device write after the unmap: %s", rw_kept ? "blocked" : "memory changed");
  KCHECK(rw_kept);

  auto rest = ctx.cdev_path() ? s.iommufd.unmap_all(s.ioas.id()) : s.container.unmap_all_dma();
  KCHECK(rest && *rest == page);
  KCHECK(cfg.write16(vfio::abi::pci::command, *command));
  KCHECK(bar0->unmap());
}
