// Type1 DMA mapping in the simulated kernel: wrap-around errnos by kernel
// release (vfio_dma_do_map / vfio_dma_do_unmap) and the page pinning of
// MAP_DMA (vfio_pin_pages_remote -> vaddr_get_pfns): unmapped or read-only
// memory fails with EFAULT.
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_dma {

namespace {

using namespace sim_test;

constexpr std::uint32_t RW = abi::dma_map_flags::read | abi::dma_map_flags::write;
constexpr std::uint32_t RO = abi::dma_map_flags::read;

int map(simulated_kernel& k, int container, std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size,
        std::uint32_t flags = RW) {
  abi::iommu_type1_dma_map m{};
  m.argsz = sizeof m;
  m.flags = flags;
  m.vaddr = vaddr;
  m.iova = iova;
  m.size = size;
  return k.ioctl(container, abi::req::iommu_map_dma, &m);
}
int unmap(simulated_kernel& k, int container, std::uint64_t iova, std::uint64_t size, std::uint64_t* done = nullptr) {
  abi::iommu_type1_dma_unmap u{};
  u.argsz = sizeof u;
  u.iova = iova;
  u.size = size;
  const int r = k.ioctl(container, abi::req::iommu_unmap_dma, &u);
  if (done) *done = u.size;
  return r;
}

}  // namespace

TEST_CASE("simulated type1: wrap-around is EINVAL before 7.x and EOVERFLOW on 7.x", "[simulated_kernel][dma]") {
  struct release {
    sim::kernel_version v;
    int wrap;
  };
  for (const release rel : {release{sim::kernel_version::v6_1, -EINVAL}, release{sim::kernel_version::v6_12, -EINVAL},
                            release{sim::kernel_version::v7, -EOVERFLOW}}) {
    INFO("version " << static_cast<int>(rel.v));
    sim::kernel_options o;
    o.version = rel.v;
    o.iova_ranges.clear();  // the wrap checks, not the aperture, must answer
    simulated_kernel k(o);
    add_qemu_machine(k);
    stack s(k, 3, e1000e_bdf);
    REQUIRE(s.ok());
    pages mem(0x2000, PROT_READ | PROT_WRITE);
    REQUIRE(mem.p != MAP_FAILED);
    const std::uint64_t top = 0xfffffffffffff000ULL;
    CHECK(map(k, s.container, mem.va(), top, 0x2000) == rel.wrap);      // iova + size wraps
    CHECK(map(k, s.container, top, 0x100000, 0x2000) == rel.wrap);      // vaddr + size wraps
    CHECK(map(k, s.container, mem.va(), 0x100000, 0) == -EINVAL);       // zero size: EINVAL everywhere
    CHECK(map(k, s.container, mem.va(), 0x100800, 0x1000) == -EINVAL);  // misaligned
    CHECK(unmap(k, s.container, top, 0x2000) == rel.wrap);              // unmap with a wrapping iova
    CHECK(unmap(k, s.container, 0x100000, 0x800) == -EINVAL);           // misaligned size
    // 7.x checks the wrap before the flags: neither READ nor WRITE.
    CHECK(map(k, s.container, mem.va(), top, 0x2000, 0) == rel.wrap);
    // The last page of the address space itself does not wrap.
    CHECK(map(k, s.container, mem.va(), top, 0x1000) == 0);
    CHECK(k.dma_mappings(s.container).size() == 1);
  }
}

TEST_CASE("simulated type1: MAP_DMA pins the pages", "[simulated_kernel][dma]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  abi::iommu_type1_info info{};
  info.argsz = sizeof info;
  REQUIRE(k.ioctl(s.container, abi::req::iommu_get_info, &info) == 0);

  SECTION("mapped read-write memory maps either way") {
    pages mem(0x4000, PROT_READ | PROT_WRITE);
    REQUIRE(mem.p != MAP_FAILED);
    CHECK(map(k, s.container, mem.va(), 0x100000, 0x4000) == 0);
    CHECK(map(k, s.container, mem.va(), 0x200000, 0x4000, RO) == 0);
    CHECK(k.dma_mappings(s.container).size() == 2);
  }
  SECTION("an unmapped vaddr is EFAULT and leaves nothing behind") {
    pages mem(0x4000, PROT_READ | PROT_WRITE);
    REQUIRE(mem.p != MAP_FAILED);
    const std::uint64_t va = mem.va();
    REQUIRE(::munmap(mem.p, mem.n) == 0);
    mem.p = MAP_FAILED;
    CHECK(map(k, s.container, va, 0x100000, 0x4000) == -EFAULT);
    CHECK(map(k, s.container, va, 0x100000, 0x4000, RO) == -EFAULT);
    CHECK(k.dma_mappings(s.container).empty());
  }
  SECTION("a hole in the middle is EFAULT") {
    pages mem(0x3000, PROT_READ | PROT_WRITE);
    REQUIRE(mem.p != MAP_FAILED);
    REQUIRE(::munmap(static_cast<char*>(mem.p) + 0x1000, 0x1000) == 0);
    CHECK(map(k, s.container, mem.va(), 0x100000, 0x3000) == -EFAULT);
    CHECK(map(k, s.container, mem.va(), 0x100000, 0x1000) == 0);  // the first page alone is there
    ::munmap(static_cast<char*>(mem.p) + 0x2000, 0x1000);
    ::munmap(mem.p, 0x1000);
    mem.p = MAP_FAILED;
  }
  SECTION("read-only memory: READ maps, WRITE is EFAULT") {
    pages mem(0x2000, PROT_READ);
    REQUIRE(mem.p != MAP_FAILED);
    CHECK(map(k, s.container, mem.va(), 0x100000, 0x2000, RW) == -EFAULT);
    CHECK(map(k, s.container, mem.va(), 0x100000, 0x2000, abi::dma_map_flags::write) == -EFAULT);
    CHECK(map(k, s.container, mem.va(), 0x100000, 0x2000, RO) == 0);
  }
  SECTION("PROT_NONE is EFAULT even for READ") {
    pages mem(0x1000, PROT_NONE);
    REQUIRE(mem.p != MAP_FAILED);
    CHECK(map(k, s.container, mem.va(), 0x100000, 0x1000, RO) == -EFAULT);
  }
  SECTION("VFIO_DMA_MAP_FLAG_VADDR pins nothing") {
    pages mem(0x1000, PROT_READ | PROT_WRITE);
    REQUIRE(mem.p != MAP_FAILED);
    REQUIRE(map(k, s.container, mem.va(), 0x100000, 0x1000) == 0);
    abi::iommu_type1_dma_unmap u{};
    u.argsz = sizeof u;
    u.flags = abi::dma_unmap_flags::vaddr;
    u.iova = 0x100000;
    u.size = 0x1000;
    REQUIRE(k.ioctl(s.container, abi::req::iommu_unmap_dma, &u) == 0);
    CHECK(map(k, s.container, 0x1000, 0x100000, 0x1000, abi::dma_map_flags::vaddr) == 0);
  }
}

TEST_CASE("simulated type1: a refused mapping gives its entry back (vfio_remove_dma)", "[simulated_kernel][dma]") {
  sim::kernel_options o;
  o.dma_entry_limit = 1;
  simulated_kernel k(o);
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  pages mem(0x2000, PROT_READ);
  REQUIRE(mem.p != MAP_FAILED);
  for (int i = 0; i < 5; ++i) CHECK(map(k, s.container, mem.va(), 0x100000, 0x1000, RW) == -EFAULT);
  CHECK(map(k, s.container, mem.va(), 0x100000, 0x1000, RO) == 0);  // not ENOSPC
  CHECK(map(k, s.container, mem.va() + 0x1000, 0x101000, 0x1000, RO) == -ENOSPC);
  CHECK(k.dma_mappings(s.container).size() == 1);
}

TEST_CASE("simulated type1: the model's own BAR mappings count as mapped", "[simulated_kernel][dma]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  void* bar = nullptr;
  REQUIRE(k.mmap(&bar, 0x20000, PROT_READ | PROT_WRITE, MAP_SHARED, s.device, region(0)) == 0);
  const auto va = reinterpret_cast<std::uint64_t>(bar);
  CHECK(map(k, s.container, va, 0x100000, 0x20000) == 0);  // peer-to-peer: follow_fault_pfn
  void* ro = nullptr;
  REQUIRE(k.mmap(&ro, 0x1000, PROT_READ, MAP_SHARED, s.device, region(1)) == 0);
  CHECK(map(k, s.container, reinterpret_cast<std::uint64_t>(ro), 0x200000, 0x1000) == -EFAULT);
  CHECK(map(k, s.container, reinterpret_cast<std::uint64_t>(ro), 0x200000, 0x1000, RO) == 0);
  // Memory decoding off: vfio_pci_mmap_fault answers SIGBUS, the pin fails.
  std::uint16_t cmd = 0;
  REQUIRE(cfg_read16(k, s.device, abi::pci::command, cmd) == 2);
  REQUIRE(cfg_write16(k, s.device, abi::pci::command,
                      static_cast<std::uint16_t>(cmd & ~abi::pci::command_bits::memory)) == 2);
  CHECK(map(k, s.container, va, 0x300000, 0x1000) == -EFAULT);
  REQUIRE(cfg_write16(k, s.device, abi::pci::command, cmd) == 2);
  CHECK(map(k, s.container, va, 0x300000, 0x1000) == 0);
  CHECK(k.munmap(bar, 0x20000) == 0);
  CHECK(k.munmap(ro, 0x1000) == 0);
}

TEST_CASE("simulated type1: a user predicate replaces /proc/self/maps", "[simulated_kernel][dma]") {
  sim::kernel_options o;
  unsigned calls = 0;
  o.user_memory = [&calls](std::uint64_t vaddr, std::uint64_t size, bool write) {
    ++calls;
    // Guest RAM of a pretend VMM: 1 GiB at 1 TiB, the first 2 MiB read-only.
    const std::uint64_t base = 0x10000000000ULL;
    if (vaddr < base || vaddr + size > base + (1ULL << 30)) return -EFAULT;
    if (write && vaddr < base + 0x200000) return -EFAULT;
    return 0;
  };
  simulated_kernel k(o);
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  CHECK(map(k, s.container, 0x10000200000ULL, 0x100000, 0x100000) == 0);
  CHECK(map(k, s.container, 0x10000000000ULL, 0x200000, 0x1000) == -EFAULT);
  CHECK(map(k, s.container, 0x10000000000ULL, 0x200000, 0x1000, RO) == 0);
  CHECK(map(k, s.container, 0x20000000000ULL, 0x400000, 0x1000) == -EFAULT);
  CHECK(calls == 4);
}

}  // namespace vfio_unit_test_simulated_kernel_dma
