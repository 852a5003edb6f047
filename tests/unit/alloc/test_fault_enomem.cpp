// Allocation failure under noexcept: this executable replaces the global
// operator new so that, once armed, the n-th allocation made by library code
// and every later one fails (the throwing forms throw std::bad_alloc, the
// nothrow forms return null). Each call is then run with n = 1, 2, ... until
// it no longer allocates: it must answer ENOMEM naming its operation, or
// succeed, and never terminate. The simulated kernel behind the seam allocates
// too; its calls run disarmed.
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <cstdlib>
#include <functional>
#include <new>
#include <string>

#include "../../catch.hpp"

namespace {
bool armed = false;
long fail_at = 0;  // 1-based index of the first allocation to fail
long seen = 0;
thread_local int paused = 0;

bool should_fail() noexcept {
  if (!armed || paused != 0) return false;
  return ++seen >= fail_at;
}
void* alloc(std::size_t n) {
  if (should_fail()) throw std::bad_alloc();
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void* alloc_nothrow(std::size_t n) noexcept { return should_fail() ? nullptr : std::malloc(n ? n : 1); }
}  // namespace

void* operator new(std::size_t n) { return alloc(n); }
void* operator new[](std::size_t n) { return alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return alloc_nothrow(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return alloc_nothrow(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

namespace sim = vfio::testing::sim;
using vfio::testing::simulated_kernel;

struct pause {
  pause() noexcept { ++paused; }
  ~pause() { --paused; }
  pause(const pause&) = delete;
  pause& operator=(const pause&) = delete;
};

/// The simulated kernel with allocation failure paused inside every call.
class disarmed_seam final : public vfio::syscalls {
 public:
  explicit disarmed_seam(simulated_kernel& k) : k_(k) {}
  int open(const char* path, int flags, unsigned mode) noexcept override {
    pause p;
    return k_.open(path, flags, mode);
  }
  int close(int fd) noexcept override {
    pause p;
    return k_.close(fd);
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    pause p;
    return k_.ioctl(fd, request, arg);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    pause p;
    return k_.ioctl_value(fd, request, value);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause p;
    return k_.pread(fd, buf, count, offset);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause p;
    return k_.pwrite(fd, buf, count, offset);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    pause p;
    return k_.read(fd, buf, count);
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    pause p;
    return k_.write(fd, buf, count);
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    pause p;
    return k_.mmap(addr, length, prot, flags, fd, offset);
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    pause p;
    return k_.munmap(addr, length);
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    pause p;
    return k_.eventfd(initval, flags);
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    pause p;
    return k_.readlink(path, buf, size);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    pause p;
    return k_.poll(fds, nfds, timeout_ms);
  }
  std::int64_t monotonic_ns() noexcept override { return k_.monotonic_ns(); }
  int sleep_ns(std::int64_t ns) noexcept override { return k_.sleep_ns(ns); }

 private:
  simulated_kernel& k_;
};

/// Runs `call` with the n-th allocation failing, for n = 1, 2, ... until a run
/// makes fewer than n allocations. Returns how many runs saw an injected failure.
int each_allocation(const std::function<vfio::result<void>()>& call, const char* op) {
  int failures = 0;
  for (long n = 1; n < 64; ++n) {
    seen = 0;
    fail_at = n;
    armed = true;
    auto r = call();
    armed = false;
    const bool injected = seen >= n;
    if (!injected) {
      CHECK(r);
      break;
    }
    ++failures;
    if (!r) {
      CHECK(r.error() == std::errc::not_enough_memory);
      CHECK(std::string(r.error().operation()) == op);
    }
  }
  return failures;
}

}  // namespace

TEST_CASE("allocation failure inside noexcept calls is ENOMEM, never termination", "[alloc][fault][defect]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  // virtio-net sits behind a root port: the only profile with a hot-reset set.
  REQUIRE(k.add_bridge(sim::profiles::pcie_root_port("0000:00:04.0", 2)));
  REQUIRE(k.add_device(sim::profiles::virtio_net("0000:01:00.0", 7, "0000:00:04.0")));
  disarmed_seam s(k);
  auto c = vfio::container::open("/dev/vfio/vfio", s);
  auto g = vfio::group::open(3, s);
  REQUIRE((c && g && g->set_container(*c) && c->set_best_iommu()));
  auto d = g->open_device("0000:00:03.0");
  REQUIRE(d);

  SECTION("pci_hot_reset_info: the buffer and the device list") {
    auto g7 = vfio::group::open(7, s);
    REQUIRE((g7 && g7->set_container(*c)));
    auto v = g7->open_device("0000:01:00.0");
    REQUIRE(v);
    CHECK(each_allocation(
              [&] {
                auto r = v->pci_hot_reset_info();
                if (!r) return vfio::result<void>(r.error());
                CHECK(r->devices.size() >= 1);
                return vfio::result<void>();
              },
              "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO") >= 2);
  }
  SECTION("get_iommu_info: the IOVA ranges (the first call's buffer is on the stack)") {
    CHECK(each_allocation(
              [&] {
                auto r = c->get_iommu_info();
                if (!r) return vfio::result<void>(r.error());
                CHECK(r->iova_ranges.size() == 2);
                return vfio::result<void>();
              },
              "VFIO_IOMMU_GET_INFO") == 1);
  }
  SECTION("get_iommu_info: the grown buffer and the IOVA ranges") {
    sim::kernel_options many;  // 40 ranges: more than the first call's 512 bytes hold
    many.iova_ranges.clear();
    for (std::uint64_t i = 0; i < 40; ++i) many.iova_ranges.push_back({i << 32, (i << 32) + 0xfffffff});
    simulated_kernel k2(many);
    REQUIRE(k2.add_device(sim::profiles::e1000e()));
    disarmed_seam s2(k2);
    auto c2 = vfio::container::open("/dev/vfio/vfio", s2);
    auto g2 = vfio::group::open(3, s2);
    REQUIRE((c2 && g2 && g2->set_container(*c2) && c2->set_best_iommu()));
    CHECK(each_allocation(
              [&] {
                auto r = c2->get_iommu_info();
                if (!r) return vfio::result<void>(r.error());
                CHECK(r->iova_ranges.size() == 40);
                return vfio::result<void>();
              },
              "VFIO_IOMMU_GET_INFO") == 2);
  }
  SECTION("region_mapping::map: the piece list") {
    auto ri = d->region(vfio::abi::pci_region::bar0);
    REQUIRE(ri);
    CHECK(each_allocation(
              [&] {
                auto m = vfio::region_mapping::map(s, d->fd(), **ri, PROT_READ);
                if (!m) return vfio::result<void>(m.error());
                return vfio::result<void>();
              },
              "mmap") >= 1);
    CHECK(k.live_mappings() == 0);
  }
}
