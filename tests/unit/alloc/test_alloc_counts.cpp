// Heap-allocation budgets of the operations whose syscall budgets
// tests/unit/test_syscall_counts.cpp checks, counted exactly: this executable
// replaces the global operator new/delete with counting versions and runs each
// operation against the simulated kernel, first call and a later one.
//
// The simulated kernel allocates for its own bookkeeping (paths as strings,
// descriptors in maps): the seam below forwards to it with counting paused, so
// the figures are the library's own. Catch2 assertions run outside the windows.
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/eventfd.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/host/power.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "../../catch.hpp"

// ---------------------------------------------------------------------------
// Counting allocator

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
thread_local int paused = 0;

void note_allocation() noexcept {
  if (counting.load() && paused == 0) allocations.fetch_add(1);
}
void* counted_malloc(std::size_t n) {
  note_allocation();
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void* counted_aligned(std::size_t n, std::align_val_t a) {
  note_allocation();
  const auto align = static_cast<std::size_t>(a);
  const std::size_t size = ((n ? n : 1) + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_malloc(n); }
void* operator new[](std::size_t n) { return counted_malloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  note_allocation();
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  note_allocation();
  return std::malloc(n ? n : 1);
}
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::testing::simulated_kernel;

struct pause_counting {
  pause_counting() noexcept { ++paused; }
  ~pause_counting() { --paused; }
  pause_counting(const pause_counting&) = delete;
  pause_counting& operator=(const pause_counting&) = delete;
};

/// Forwards every call to the simulated kernel with counting paused.
class uncounted_seam final : public vfio::syscalls {
 public:
  explicit uncounted_seam(simulated_kernel& inner) noexcept : inner_(&inner) {}
  int open(const char* path, int flags, unsigned mode) noexcept override {
    pause_counting p;
    return inner_->open(path, flags, mode);
  }
  int close(int fd) noexcept override {
    pause_counting p;
    return inner_->close(fd);
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    pause_counting p;
    return inner_->ioctl(fd, request, arg);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    pause_counting p;
    return inner_->ioctl_value(fd, request, value);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_->pread(fd, buf, count, offset);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_->pwrite(fd, buf, count, offset);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    pause_counting p;
    return inner_->read(fd, buf, count);
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    pause_counting p;
    return inner_->write(fd, buf, count);
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_->mmap(addr, length, prot, flags, fd, offset);
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    pause_counting p;
    return inner_->munmap(addr, length);
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    pause_counting p;
    return inner_->eventfd(initval, flags);
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    pause_counting p;
    return inner_->readlink(path, buf, size);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    pause_counting p;
    return inner_->poll(fds, nfds, timeout_ms);
  }
  std::int64_t monotonic_ns() noexcept override {
    pause_counting p;
    return inner_->monotonic_ns();
  }
  int sleep_ns(std::int64_t ns) noexcept override {
    pause_counting p;
    return inner_->sleep_ns(ns);
  }
  int access(const char* path, int mode) noexcept override {
    pause_counting p;
    return inner_->access(path, mode);
  }
  long getdents64(int fd, void* buf, std::size_t size) noexcept override {
    pause_counting p;
    return inner_->getdents64(fd, buf, size);
  }
  int getrlimit(int resource, struct rlimit* limit) noexcept override {
    pause_counting p;
    return inner_->getrlimit(resource, limit);
  }

 private:
  simulated_kernel* inner_;
};

/// The allocations `f` makes; f reports success in *ok (no Catch2 macro inside).
template <class F>
long allocations_of(bool& ok, F f) {
  allocations = 0;
  counting = true;
  ok = f();
  counting = false;
  return allocations.load();
}

struct opened {
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

/// Opens the e1000e at 0000:00:03.0 with Type1v2 set (container, group, device).
bool open_e1000e(vfio::syscalls& sys, opened& out) {
  auto c = vfio::container::open("/dev/vfio/vfio", sys);
  if (!c) return false;
  auto g = vfio::group::open_for_device("0000:00:03.0", sys);
  if (!g || !g->set_container(*c) || !c->set_best_iommu()) return false;
  auto d = g->open_device("0000:00:03.0");
  if (!d) return false;
  out = opened{std::move(*c), std::move(*g), std::move(*d)};
  return true;
}

}  // namespace

TEST_CASE("counts: the counting allocator sees an allocation", "[counts][alloc]") {
  bool ok = false;
  const long n = allocations_of(ok, [] {
    void* p = ::operator new(16);
    ::operator delete(p);
    return true;
  });
  CHECK(ok);
  CHECK(n == 1);
}

TEST_CASE("counts: heap allocations of open, region, IOMMU info, IRQ and DMA calls", "[counts][alloc]") {
  simulated_kernel k;
  auto desc = sim::profiles::e1000e();
  desc.bars[0].sparse_areas = {{0x0, 0x1000}, {0x4000, 0x1000}};
  REQUIRE(k.add_device(desc));
  uncounted_seam sys(k);
  bool ok = false;

  opened o;
  CHECK(allocations_of(ok, [&] { return open_e1000e(sys, o); }) == 0);
  REQUIRE(ok);
  CHECK(allocations_of(ok, [&] { return static_cast<bool>(o.device.info()); }) == 0);
  REQUIRE(ok);

  // The first region() keeps its info in a new list node, and the sparse areas in
  // an array of their own; later calls return the cached node.
  CHECK(allocations_of(ok, [&] { return static_cast<bool>(o.device.region(0)); }) == 2);
  REQUIRE(ok);
  CHECK(allocations_of(ok, [&] { return static_cast<bool>(o.device.region(0)); }) == 0);
  REQUIRE(ok);
  CHECK(allocations_of(ok, [&] { return static_cast<bool>(o.device.region(3)); }) == 1);  // node only
  REQUIRE(ok);

  // get_iommu_info: only the returned iova_ranges array, on every call.
  for (int call = 0; call < 2; ++call) {
    INFO("call " << call);
    CHECK(allocations_of(ok, [&] { return static_cast<bool>(o.container.get_iommu_info()); }) == 1);
    REQUIRE(ok);
  }

  auto efd = vfio::eventfd::create(0, EFD_NONBLOCK, sys);
  REQUIRE(efd);
  const int fds[1] = {efd->fd()};
  const std::size_t size = 4096;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  for (int call = 0; call < 2; ++call) {
    INFO("call " << call);
    CHECK(allocations_of(ok, [&] {
            return static_cast<bool>(o.device.set_irq_eventfds(abi::pci_irq::msix, 0, vfio::span<const int>(fds, 1)));
          }) == 0);
    REQUIRE(ok);
    CHECK(allocations_of(ok, [&] { return static_cast<bool>(o.container.map_dma(mem, 0x100000, size)); }) == 0);
    REQUIRE(ok);
    CHECK(allocations_of(ok, [&] { return static_cast<bool>(o.container.unmap_dma(0x100000, size)); }) == 0);
    REQUIRE(ok);
  }
  ::munmap(mem, size);
}

TEST_CASE("counts: heap allocations of config access, features, suspend/resume and the power report",
          "[counts][alloc]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  uncounted_seam sys(k);
  bool ok = false;
  opened o;
  REQUIRE(open_e1000e(sys, o));
  REQUIRE(o.device.info());

  vfio::pci::config cfg(o.device);
  // The first config access caches the config region's info (one list node).
  CHECK(allocations_of(ok, [&] { return static_cast<bool>(cfg.read16(abi::pci::command)); }) == 1);
  REQUIRE(ok);
  CHECK(allocations_of(ok, [&] { return static_cast<bool>(cfg.read16(abi::pci::command)); }) == 0);
  REQUIRE(ok);
  for (int call = 0; call < 2; ++call) {
    INFO("call " << call);
    CHECK(allocations_of(ok, [&] { return static_cast<bool>(cfg.write16(abi::pci::command, 0x0006)); }) == 0);
    REQUIRE(ok);
    CHECK(allocations_of(ok, [&] { return static_cast<bool>(vfio::feature::supported_features(o.device)); }) == 0);
    REQUIRE(ok);
  }

  vfio::pci::power pm(o.device);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    CHECK(allocations_of(ok, [&] { return static_cast<bool>(pm.suspend()); }) == 0);
    REQUIRE(ok);
    k.settle();
    CHECK(allocations_of(ok, [&] { return static_cast<bool>(pm.resume()); }) == 0);
    REQUIRE(ok);
  }

  const auto bdf = *vfio::host::parse_pci_address("0000:00:03.0");
  for (int call = 0; call < 2; ++call) {
    INFO("call " << call);
    CHECK(allocations_of(ok, [&] {
            return static_cast<bool>(vfio::host::read_power_report(bdf, vfio::host::capability_presence::unknown, sys));
          }) == 0);
    REQUIRE(ok);
  }
}
