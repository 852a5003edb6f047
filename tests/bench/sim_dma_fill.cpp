// How long the simulated kernel's type1 model takes at downstream scale: N
// disjoint MAP_DMA calls, N refused overlapping maps in between them, N
// single-mapping UNMAP_DMA calls, and a fill followed by one
// VFIO_DMA_UNMAP_FLAG_ALL. Prints wall-clock figures; asserts nothing about
// time, but exits non-zero when a call answers other than the kernel would.
//
// The pinning check of MAP_DMA is replaced by a predicate that accepts
// everything, so the figures are the model's own bookkeeping; a last, shorter
// run keeps the default pinning (a read of /proc/self/maps per MAP_DMA) to
// show what that costs per call.
//
//   g++ -std=c++17 -O2 -Iinclude tests/bench/sim_dma_fill.cpp -o sim_dma_fill -lpthread
//   ./sim_dma_fill [N]        (N defaults to 100000)
#include <sys/mman.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <vfio/abi/vfio.hpp>
#include <vfio/testing/simulated_kernel.hpp>

namespace {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::testing::simulated_kernel;

constexpr std::uint64_t page = 0x1000;
constexpr std::uint64_t stride = 2 * page;  // one mapped page, one hole
constexpr std::uint64_t base_iova = 0x100000;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// A container with e1000e's group 3 attached and type1v2 set.
struct setup {
  simulated_kernel k;
  int container = -1;
  int group = -1;

  explicit setup(const sim::kernel_options& o) : k(o) {
    if (!k.add_device(sim::profiles::e1000e())) return;
    container = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
    group = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
    if (container < 0 || group < 0) return;
    int c = container;
    if (k.ioctl(group, abi::req::group_set_container, &c) != 0 ||
        k.ioctl_value(container, abi::req::set_iommu, abi::extension::type1v2_iommu) != 0)
      container = -1;
  }
  bool ok() const { return container >= 0 && group >= 0; }

  int map(std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size) {
    abi::iommu_type1_dma_map m{};
    m.argsz = sizeof m;
    m.flags = abi::dma_map_flags::read | abi::dma_map_flags::write;
    m.vaddr = vaddr;
    m.iova = iova;
    m.size = size;
    return k.ioctl(container, abi::req::iommu_map_dma, &m);
  }
  int unmap(std::uint64_t iova, std::uint64_t size, std::uint32_t flags, std::uint64_t& done) {
    abi::iommu_type1_dma_unmap u{};
    u.argsz = sizeof u;
    u.flags = flags;
    u.iova = iova;
    u.size = size;
    const int r = k.ioctl(container, abi::req::iommu_unmap_dma, &u);
    done = u.size;
    return r;
  }
};

sim::kernel_options options(std::uint64_t n, bool default_pinning) {
  sim::kernel_options o;
  o.dma_entry_limit = static_cast<unsigned>(n + 16);
  if (!default_pinning) o.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };
  return o;
}

int failures = 0;
void expect(bool ok, const char* what, std::uint64_t i) {
  if (ok) return;
  if (++failures <= 5) std::fprintf(stderr, "unexpected answer: %s (i = %llu)\n", what, (unsigned long long)i);
}

void report(const char* what, std::uint64_t calls, double ms) {
  std::printf("%-44s %8llu calls %10.1f ms %8.2f us/call\n", what, (unsigned long long)calls, ms,
              calls ? ms * 1000.0 / static_cast<double>(calls) : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  void* buf = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) return 2;
  const auto va = reinterpret_cast<std::uint64_t>(buf);
  std::printf("simulated type1, N = %llu disjoint 4 KiB mappings\n", (unsigned long long)n);

  {
    setup s(options(n, false));
    if (!s.ok()) return 2;
    auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < n; ++i) expect(s.map(va, base_iova + i * stride, page) == 0, "map", i);
    report("MAP_DMA fill", n, ms_since(t0));

    // A two-page map over each mapping and the hole after it: EEXIST.
    t0 = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < n; ++i)
      expect(s.map(va, base_iova + i * stride, stride) == -EEXIST, "overlapping map", i);
    report("MAP_DMA overlapping (EEXIST)", n, ms_since(t0));

    t0 = std::chrono::steady_clock::now();
    std::uint64_t done = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t j = (i * 7919) % n;  // every mapping once, not in iova order (n not a multiple of 7919)
      expect(s.unmap(base_iova + j * stride, page, 0, done) == 0 && done == page, "unmap", j);
    }
    report("UNMAP_DMA one by one", n, ms_since(t0));
    expect(s.k.dma_mappings(s.container).empty(), "all unmapped", n);
  }
  {
    setup s(options(n, false));
    if (!s.ok()) return 2;
    auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < n; ++i) expect(s.map(va, base_iova + i * stride, page) == 0, "map", i);
    report("MAP_DMA fill (again)", n, ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    std::uint64_t done = 0;
    expect(s.unmap(0, 0, abi::dma_unmap_flags::all, done) == 0 && done == n * page, "unmap all", n);
    report("UNMAP_DMA FLAG_ALL", 1, ms_since(t0));
  }
  {
    const std::uint64_t m = n < 20000 ? n : 20000;
    setup s(options(m, true));
    if (!s.ok()) return 2;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < m; ++i) expect(s.map(va, base_iova + i * stride, page) == 0, "map", i);
    report("MAP_DMA fill, /proc/self/maps pinning", m, ms_since(t0));
  }
  ::munmap(buf, page);
  if (failures) std::fprintf(stderr, "%d unexpected answers\n", failures);
  return failures ? 1 : 0;
}
