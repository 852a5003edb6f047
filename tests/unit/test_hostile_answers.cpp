// Hostile answers from the kernel and sysfs: a seam that forwards to the
// simulated kernel and then rewrites chosen replies (argsz that grows without
// bound or shrinks, capability chains that loop or leave the buffer, counts of
// 0xFFFFFFFF, region offsets and sizes that overflow, reads answering more or
// fewer bytes than asked, links with "..", NULs, overlong or overflowing
// components). Each case must end in a clear error or a correct value, with no
// out-of-bounds access (the sanitize stage runs these too) and no syscall made
// with a value derived from the bad answer.
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/power.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "../catch.hpp"

namespace vfio_unit_test_hostile_answers {

namespace {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::testing::simulated_kernel;

/// Forwards to a simulated kernel; hooks rewrite answers after the model gave them.
class tamper_seam final : public vfio::syscalls {
 public:
  explicit tamper_seam(simulated_kernel& k) : k_(k) {}

  /// (request, arg, argsz the library sent, result, nth call of that request) -> result.
  std::function<int(unsigned long, void*, std::uint32_t, int, int)> on_ioctl;
  /// read and pread: (fd, buf, count, result) -> result.
  std::function<long(int, void*, std::size_t, long)> on_read;
  /// read (not pread) passes at most this many bytes to the model (0: no limit).
  std::size_t read_chunk = 0;
  /// (path, buf, size, result) -> result.
  std::function<long(const char*, char*, std::size_t, long)> on_readlink;

  std::vector<std::string> opened;
  std::vector<std::int64_t> mmap_offsets;
  int preads = 0;
  std::map<unsigned long, int> ioctls;

  int open(const char* path, int flags, unsigned mode) noexcept override {
    opened.emplace_back(path);
    return k_.open(path, flags, mode);
  }
  int close(int fd) noexcept override { return k_.close(fd); }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    std::uint32_t sent = 0;
    if (arg) std::memcpy(&sent, arg, sizeof sent);
    const int n = ++ioctls[request];
    const int r = k_.ioctl(fd, request, arg);
    return on_ioctl ? on_ioctl(request, arg, sent, r, n) : r;
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    return k_.ioctl_value(fd, request, value);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    ++preads;
    const long r = k_.pread(fd, buf, count, offset);
    return on_read ? on_read(fd, buf, count, r) : r;
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return k_.pwrite(fd, buf, count, offset);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    const long r = k_.read(fd, buf, read_chunk && count > read_chunk ? read_chunk : count);
    return on_read ? on_read(fd, buf, count, r) : r;
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override { return k_.write(fd, buf, count); }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    mmap_offsets.push_back(offset);
    return k_.mmap(addr, length, prot, flags, fd, offset);
  }
  int munmap(void* addr, std::size_t length) noexcept override { return k_.munmap(addr, length); }
  int eventfd(unsigned initval, int flags) noexcept override { return k_.eventfd(initval, flags); }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    const long r = k_.readlink(path, buf, size);
    return on_readlink ? on_readlink(path, buf, size, r) : r;
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    return k_.poll(fds, nfds, timeout_ms);
  }
  std::int64_t monotonic_ns() noexcept override { return k_.monotonic_ns(); }
  int sleep_ns(std::int64_t ns) noexcept override { return k_.sleep_ns(ns); }

 private:
  simulated_kernel& k_;
};

int hostile_cases = 0;

struct rig {
  simulated_kernel k;
  tamper_seam s{k};
  vfio::container c;
  vfio::group g;
  vfio::device d;
  rig() {
    REQUIRE(k.add_device(sim::profiles::e1000e()));
    auto cc = vfio::container::open("/dev/vfio/vfio", s);
    auto gg = vfio::group::open(3, s);
    REQUIRE((cc && gg && gg->set_container(*cc) && cc->set_best_iommu()));
    auto dd = gg->open_device("0000:00:03.0");
    REQUIRE(dd);
    c = std::move(*cc);
    g = std::move(*gg);
    d = std::move(*dd);
  }
};

template <class T>
T load(const void* p) {
  T v{};
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store(void* p, const T& v) {
  std::memcpy(p, &v, sizeof v);
}

/// Rewrites GET_REGION_INFO replies with `edit(buffer, argsz sent, nth)`.
void tamper_region_info(rig& r, std::function<void(unsigned char*, std::uint32_t, int)> edit) {
  r.s.on_ioctl = [edit](unsigned long req, void* arg, std::uint32_t sent, int res, int n) {
    if (req == abi::req::device_get_region_info && res == 0) edit(static_cast<unsigned char*>(arg), sent, n);
    return res;
  };
}

constexpr std::uint32_t region_caps_flag = abi::region_flags::caps;

/// A reply carrying `cap` at cap_offset (flags CAPS) in the first call's 256-byte
/// buffer, argsz left as sent: what the kernel answers when the chain fits.
void with_region_cap(rig& r, std::vector<unsigned char> cap, std::uint32_t cap_offset = 32) {
  tamper_region_info(r, [cap, cap_offset](unsigned char* b, std::uint32_t sent, int) {
    auto h = load<abi::region_info>(b);
    h.flags |= region_caps_flag;
    h.argsz = sent;
    h.cap_offset = cap_offset;
    const std::uint32_t at = cap_offset >= 32 && cap_offset < sent ? cap_offset : 32;
    std::memcpy(b + at, cap.data(), cap.size() < sent - at ? cap.size() : sent - at);
    store(b, h);
  });
}

std::vector<unsigned char> cap_bytes(std::uint16_t id, std::uint32_t next, std::vector<std::uint32_t> words = {}) {
  std::vector<unsigned char> v(8 + 4 * words.size());
  abi::info_cap_header h{id, 1, next};
  std::memcpy(v.data(), &h, sizeof h);
  for (std::size_t i = 0; i < words.size(); ++i) std::memcpy(v.data() + 8 + 4 * i, &words[i], 4);
  return v;
}

}  // namespace

TEST_CASE("hostile: GET_REGION_INFO argsz grows without bound, is huge, or shrinks", "[hostile]") {
  SECTION("grows on every call") {
    rig r;
    tamper_region_info(r, [](unsigned char* b, std::uint32_t sent, int) {
      auto h = load<abi::region_info>(b);
      h.argsz = sent * 2 + 64;
      h.flags |= region_caps_flag;
      h.cap_offset = 0;
      store(b, h);
    });
    auto ri = r.d.region(abi::pci_region::bar0);
    REQUIRE_FALSE(ri);
    CHECK(ri.error() == vfio::errc::argsz_too_large);
    CHECK(r.s.ioctls[abi::req::device_get_region_info] <= vfio::detail::max_region_info_attempts);
    ++hostile_cases;
  }
  SECTION("0xFFFFFFFF") {
    rig r;
    tamper_region_info(r, [](unsigned char* b, std::uint32_t, int) { store<std::uint32_t>(b, 0xffffffffU); });
    auto ri = r.d.region(abi::pci_region::bar0);
    REQUIRE_FALSE(ri);
    CHECK(ri.error() == vfio::errc::argsz_too_large);
    CHECK(r.s.ioctls[abi::req::device_get_region_info] == 1);
    ++hostile_cases;
  }
  SECTION("shrinks below the header on the second call") {
    rig r;
    tamper_region_info(r, [](unsigned char* b, std::uint32_t, int n) {
      auto h = load<abi::region_info>(b);
      h.argsz = n == 1 ? 512 : 8;  // more than the first call's 256, then less than a header
      h.flags |= region_caps_flag;
      h.cap_offset = 0;
      store(b, h);
    });
    auto ri = r.d.region(abi::pci_region::bar0);
    REQUIRE(ri);  // the reply's own fields are intact; no chain to walk
    CHECK((*ri)->size == 128 * 1024);
    ++hostile_cases;
  }
}

TEST_CASE("hostile: region capability chains that loop or leave the buffer", "[hostile]") {
  struct chain_case {
    const char* what;
    std::vector<unsigned char> cap;
    std::uint32_t cap_offset;
  };
  const std::vector<chain_case> cases = {
      {"a capability pointing at itself", cap_bytes(abi::region_cap::msix_mappable, 32), 32},
      {"two capabilities pointing at each other",
       [] {
         auto a = cap_bytes(abi::region_cap::msix_mappable, 40);
         auto b = cap_bytes(abi::region_cap::msix_mappable, 32);
         a.insert(a.end(), b.begin(), b.end());
         return a;
       }(),
       32},
      {"next past the buffer", cap_bytes(abi::region_cap::msix_mappable, 0x10000), 32},
      {"next at the last 4 bytes of the buffer", cap_bytes(abi::region_cap::msix_mappable, 252), 32},
      {"cap_offset inside the fixed header", cap_bytes(abi::region_cap::msix_mappable, 0), 8},
      {"cap_offset misaligned", cap_bytes(abi::region_cap::msix_mappable, 0), 34},
      {"cap_offset 0xFFFFFFFF", cap_bytes(abi::region_cap::msix_mappable, 0), 0xffffffffU},
      {"sparse mmap with nr_areas 0xFFFFFFFF", cap_bytes(abi::region_cap::sparse_mmap, 0, {0xffffffffU, 0}), 32},
      {"sparse mmap with more areas than fit", cap_bytes(abi::region_cap::sparse_mmap, 0, {14, 0}), 32},
      {"type capability cut short", cap_bytes(abi::region_cap::type, 0x0), 248},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    rig r;
    with_region_cap(r, c.cap, c.cap_offset);
    auto ri = r.d.region(abi::pci_region::bar0);
    REQUIRE_FALSE(ri);
    CHECK(ri.error() == vfio::errc::malformed_capability_chain);
    CHECK(std::string(ri.error().operation()) == "VFIO_DEVICE_GET_REGION_INFO");
    ++hostile_cases;
  }
}

TEST_CASE("hostile: region offsets and sizes that overflow reach no pread or mmap", "[hostile]") {
  struct geometry {
    const char* what;
    std::uint64_t offset, size;
    std::uint64_t read_at;
  };
  const geometry cases[] = {
      {"offset near 2^64", 0xfffffffffffff000ULL, 0x2000, 0},
      {"offset past INT64_MAX", 0x8000000000000000ULL, 0x1000, 0},
      {"offset + size past INT64_MAX", 0x7ffffffffffff000ULL, 0x2000, 0x1800},
      {"size 2^64 - 1", 0, 0xffffffffffffffffULL, 0x7ffffffffffffffcULL},
  };
  for (const auto& g : cases) {
    INFO(g.what);
    rig r;
    tamper_region_info(r, [g](unsigned char* b, std::uint32_t, int) {
      auto h = load<abi::region_info>(b);
      h.offset = g.offset;
      h.size = g.size;
      store(b, h);
    });
    const int before = r.s.preads;
    std::uint32_t v = 0;
    auto rd = r.d.read(abi::pci_region::bar0, g.read_at, &v, sizeof v);
    REQUIRE_FALSE(rd);
    CHECK(rd.error() == vfio::errc::out_of_bounds);
    CHECK(r.s.preads == before);
    auto m = r.d.map(abi::pci_region::bar0);
    REQUIRE_FALSE(m);
    CHECK(m.error() == vfio::errc::out_of_bounds);
    CHECK(r.s.mmap_offsets.empty());
    ++hostile_cases;
  }
  SECTION("a sparse area past INT64_MAX") {
    rig r;
    with_region_cap(r, cap_bytes(abi::region_cap::sparse_mmap, 0, {1, 0, 0, 0x80000000U, 0x1000, 0}));
    r.s.on_ioctl = [inner = r.s.on_ioctl](unsigned long req, void* arg, std::uint32_t sent, int res, int n) {
      res = inner(req, arg, sent, res, n);
      if (req == abi::req::device_get_region_info && n == 1) {
        auto h = load<abi::region_info>(arg);
        h.size = ~std::uint64_t{0};
        store(arg, h);
      }
      return res;
    };
    auto ri = r.d.region(abi::pci_region::bar0);
    REQUIRE(ri);
    REQUIRE((*ri)->sparse_areas.size() == 1);
    CHECK((*ri)->sparse_areas[0].offset == 0x8000000000000000ULL);
    auto m = r.d.map(abi::pci_region::bar0);
    REQUIRE_FALSE(m);
    CHECK(m.error() == vfio::errc::out_of_bounds);
    CHECK(r.s.mmap_offsets.empty());
    ++hostile_cases;
  }
}

TEST_CASE("hostile: counts of 0xFFFFFFFF", "[hostile]") {
  SECTION("device info with 0xFFFFFFFF regions and IRQs") {
    rig r;
    r.s.on_ioctl = [](unsigned long req, void* arg, std::uint32_t, int res, int) {
      if (req == abi::req::device_get_info && res == 0) {
        auto h = load<abi::device_info>(arg);
        h.num_regions = 0xffffffffU;
        h.num_irqs = 0xffffffffU;
        store(arg, h);
      }
      return res;
    };
    auto ri = r.d.region(0xfffffff0U);  // allowed by the count; the kernel says EINVAL
    REQUIRE_FALSE(ri);
    CHECK(ri.error() == std::errc::invalid_argument);
    auto q = r.d.irq(0xfffffff0U);
    REQUIRE_FALSE(q);
    CHECK(q.error() == std::errc::invalid_argument);
    ++hostile_cases;
  }
  SECTION("hot-reset info asking for 0xFFFFFFFF devices") {
    rig r;
    r.s.on_ioctl = [](unsigned long req, void* arg, std::uint32_t, int res, int) {
      if (req != abi::req::device_get_pci_hot_reset_info) return res;
      auto h = load<abi::pci_hot_reset_info>(arg);
      h.count = 0xffffffffU;
      store(arg, h);
      return -ENOSPC;
    };
    auto hr = r.d.pci_hot_reset_info();
    REQUIRE_FALSE(hr);
    CHECK(hr.error() == vfio::errc::argsz_too_large);
    CHECK(r.s.ioctls[abi::req::device_get_pci_hot_reset_info] == 1);
    ++hostile_cases;
  }
  SECTION("hot-reset info whose count grows on every call") {
    rig r;
    r.s.on_ioctl = [](unsigned long req, void* arg, std::uint32_t, int res, int n) {
      if (req != abi::req::device_get_pci_hot_reset_info) return res;
      auto h = load<abi::pci_hot_reset_info>(arg);
      h.count = static_cast<std::uint32_t>(n + 1);
      store(arg, h);
      return -ENOSPC;
    };
    auto hr = r.d.pci_hot_reset_info();
    REQUIRE_FALSE(hr);
    CHECK(hr.error() == std::errc::no_space_on_device);
    CHECK(r.s.ioctls[abi::req::device_get_pci_hot_reset_info] == vfio::detail::max_hot_reset_info_attempts);
    ++hostile_cases;
  }
  SECTION("hot-reset info filling more entries than the buffer held") {
    rig r;
    r.s.on_ioctl = [](unsigned long req, void* arg, std::uint32_t, int res, int n) {
      if (req != abi::req::device_get_pci_hot_reset_info) return res;
      auto h = load<abi::pci_hot_reset_info>(arg);
      h.count = n == 1 ? 2 : 7;
      store(arg, h);
      return n == 1 ? -ENOSPC : 0;
    };
    auto hr = r.d.pci_hot_reset_info();
    REQUIRE_FALSE(hr);
    CHECK(hr.error() == vfio::errc::out_of_bounds);
    ++hostile_cases;
  }
  SECTION("IOMMU info with nr_iovas 0xFFFFFFFF, a looping chain, a growing argsz") {
    for (int variant = 0; variant < 3; ++variant) {
      INFO("variant " << variant);
      rig r;
      r.s.on_ioctl = [variant](unsigned long req, void* arg, std::uint32_t sent, int res, int) {
        if (req != abi::req::iommu_get_info || res != 0) return res;
        auto h = load<abi::iommu_type1_info>(arg);
        if (variant == 2) {
          h.argsz = sent * 2 + 8;
          store(arg, h);
          return res;
        }
        if (sent < 64) {
          h.argsz = 64;
          h.flags |= abi::iommu_info_flags::caps;
          h.cap_offset = 0;
          store(arg, h);
          return res;
        }
        h.flags |= abi::iommu_info_flags::caps;
        h.cap_offset = 24;
        store(arg, h);
        auto* b = static_cast<unsigned char*>(arg);
        abi::info_cap_header c{abi::iommu_cap::iova_range, 1, variant == 1 ? 24U : 0U};
        std::memcpy(b + 24, &c, sizeof c);
        const std::uint32_t nr = variant == 0 ? 0xffffffffU : 0;
        std::memcpy(b + 32, &nr, sizeof nr);
        return res;
      };
      auto info = r.c.get_iommu_info();
      REQUIRE_FALSE(info);
      if (variant == 2)
        CHECK(info.error() == vfio::errc::argsz_too_large);
      else
        CHECK(info.error() == vfio::errc::malformed_capability_chain);
      ++hostile_cases;
    }
  }
}

TEST_CASE("hostile: reads answering more or fewer bytes than asked", "[hostile]") {
  SECTION("pread claims more than asked: clamped") {
    rig r;
    r.s.on_read = [](int, void*, std::size_t count, long res) {
      return res > 0 ? static_cast<long>(count) + 4096 : res;
    };
    std::uint32_t id = 0;
    REQUIRE(r.d.read(abi::pci_region::config, 0, &id, sizeof id));
    CHECK(id == 0x10d38086);
    ++hostile_cases;
  }
  SECTION("pread gives one byte at a time") {
    rig r;
    r.s.on_read = [](int, void*, std::size_t, long res) { return res > 0 ? 1L : res; };
    std::uint32_t id = 0;
    const int before = r.s.preads;
    REQUIRE(r.d.read(abi::pci_region::config, 0, &id, sizeof id));
    CHECK(r.s.preads - before == 4);
    CHECK(id == 0x10d38086);
    ++hostile_cases;
  }
  SECTION("pread answers 0") {
    rig r;
    r.s.on_read = [](int, void*, std::size_t, long res) { return res > 0 ? 0L : res; };
    std::uint32_t id = 0;
    auto rd = r.d.read(abi::pci_region::config, 0, &id, sizeof id);
    REQUIRE_FALSE(rd);
    CHECK(rd.error() == vfio::errc::short_transfer);
    ++hostile_cases;
  }
  SECTION("a short config snapshot under the PM capability lookup") {
    rig r;
    r.s.on_read = [](int, void*, std::size_t count, long res) { return res > 0 && count > 64 ? 40L : res; };
    vfio::pci::power pm(r.d);
    auto cap = pm.capability();  // whatever it answers, it answers without reading past the bytes read
    if (!cap) CHECK(std::string(cap.error().operation()).size() > 0);
    ++hostile_cases;
  }
  SECTION("sysfs read claims more than asked, or gives one byte at a time") {
    for (int variant = 0; variant < 2; ++variant) {
      simulated_kernel k;
      REQUIRE(k.add_device(sim::profiles::e1000e()));
      tamper_seam s(k);
      if (variant == 0)
        s.on_read = [](int, void*, std::size_t count, long res) {
          return res > 0 ? static_cast<long>(count) + 1000 : res;
        };
      else
        s.read_chunk = 1;
      char buf[8];
      auto v = vfio::host::read_attribute("/sys/bus/pci/devices/0000:00:03.0/vendor", buf, sizeof buf, s);
      REQUIRE(v);
      CHECK(*v == 6);
      CHECK(std::string(buf) == "0x8086");
      ++hostile_cases;
    }
  }
  SECTION("the wake-up eventfd read answers 4 of 8 bytes") {
    rig r;
    vfio::pci::power pm(r.d);
    vfio::pci::suspend_options o;
    o.wakeup = true;
    REQUIRE(pm.suspend(o));
    r.k.settle();
    std::uint16_t v = 0;
    REQUIRE(r.d.read(abi::pci_region::config, 0, &v, sizeof v));  // wakes the device
    r.s.on_read = [](int, void*, std::size_t count, long res) { return count == 8 && res == 8 ? 4L : res; };
    auto w = pm.wait_for_wakeup(1'000'000'000);
    REQUIRE_FALSE(w);
    CHECK(w.error() == vfio::errc::short_transfer);
    r.s.on_read = nullptr;
    CHECK(pm.resume());
    ++hostile_cases;
  }
}

TEST_CASE("hostile: sysfs links with '..', NULs, overlong or overflowing components", "[hostile]") {
  const vfio::host::pci_address bdf{0, 0, 3, 0};
  struct link_case {
    const char* what;
    std::string target;  // what readlink answers; empty: the result below
    long result_override;
    vfio::errc expect;
  };
  const std::vector<link_case> group_cases = {
      {"group '..'", "../../../kernel/iommu_groups/..", 0, vfio::errc::parse_error},
      {"group '.'", "../../../kernel/iommu_groups/.", 0, vfio::errc::parse_error},
      {"group past UINT_MAX", "../../../kernel/iommu_groups/4294967296", 0, vfio::errc::parse_error},
      {"group with 11 digits", "../../../kernel/iommu_groups/10000000000", 0, vfio::errc::parse_error},
      {"group with a NUL", std::string("../../../kernel/iommu_groups/7\0", 31), 0, vfio::errc::parse_error},
      {"group with a sign", "../../../kernel/iommu_groups/-1", 0, vfio::errc::parse_error},
      {"group empty", "", 0, vfio::errc::parse_error},
      {"link filling the buffer", std::string(4096, '7'), 0, vfio::errc::out_of_bounds},
      {"readlink claims more than the buffer", "7", 5000, vfio::errc::out_of_bounds},
  };
  for (const auto& c : group_cases) {
    INFO(c.what);
    simulated_kernel k;
    REQUIRE(k.add_device(sim::profiles::e1000e()));
    tamper_seam s(k);
    s.on_readlink = [&c](const char*, char* buf, std::size_t size, long) {
      const std::size_t n = c.target.size() < size ? c.target.size() : size;
      std::memcpy(buf, c.target.data(), n);
      return c.result_override ? c.result_override : static_cast<long>(n);
    };
    auto g = vfio::group::open_for_device(bdf, s);
    REQUIRE_FALSE(g);
    CHECK(g.error() == c.expect);
    CHECK(s.opened.empty());  // never /dev/vfio/<anything>
    ++hostile_cases;
  }

  const std::vector<link_case> driver_cases = {
      {"driver '..'", "../../../../bus/pci/drivers/..", 0, vfio::errc::parse_error},
      {"driver '.'", "../../../../bus/pci/drivers/.", 0, vfio::errc::parse_error},
      {"driver ends in '/'", "../../../../bus/pci/drivers/", 0, vfio::errc::parse_error},
      {"driver with a NUL", std::string("../../../../bus/pci/drivers/e1000e\0..", 37), 0, vfio::errc::parse_error},
      {"driver name over NAME_MAX", "../../../../bus/pci/drivers/" + std::string(300, 'a'), 0, vfio::errc::parse_error},
      {"driver name longer than the caller's buffer", "../../../../bus/pci/drivers/" + std::string(100, 'a'), 0,
       vfio::errc::out_of_bounds},
  };
  for (const auto& c : driver_cases) {
    INFO(c.what);
    simulated_kernel k;
    REQUIRE(k.add_device(sim::profiles::e1000e()));
    tamper_seam s(k);
    s.on_readlink = [&c](const char*, char* buf, std::size_t size, long) {
      const std::size_t n = c.target.size() < size ? c.target.size() : size;
      std::memcpy(buf, c.target.data(), n);
      return static_cast<long>(n);
    };
    char name[64];
    auto d = vfio::host::driver_of(bdf, name, sizeof name, s);
    REQUIRE_FALSE(d);
    CHECK(d.error() == c.expect);
    CHECK(name[0] == '\0');
    // And the rebind flow writes nothing outside <root>/bus/pci/drivers/<name>/.
    auto b = vfio::host::bind_to_driver(bdf, "vfio-pci", s);
    REQUIRE_FALSE(b);
    for (const auto& p : s.opened) CHECK(p.find("/..") == std::string::npos);
    ++hostile_cases;
  }

  SECTION("a device link with '..' and junk components, or overlong") {
    for (int variant = 0; variant < 2; ++variant) {
      simulated_kernel k;
      REQUIRE(k.add_device(sim::profiles::e1000e()));
      tamper_seam s(k);
      s.on_readlink = [variant](const char* path, char* buf, std::size_t size, long res) {
        if (std::string(path) != "/sys/bus/pci/devices/0000:00:03.0") return res;
        const std::string t =
            variant == 0 ? "../../../devices/pci0000:00/../x/0000:zz:00.0/./0000:00:03.0" : std::string(size, 'a');
        const std::size_t n = t.size() < size ? t.size() : size;
        std::memcpy(buf, t.data(), n);
        return static_cast<long>(n);
      };
      auto rep = vfio::host::read_power_report(bdf, vfio::host::capability_presence::unknown, s);
      if (variant == 0) {
        REQUIRE(rep);
        CHECK(rep->bridge_count == 0);  // only well-formed addresses count as components
      } else {
        REQUIRE_FALSE(rep);
        CHECK(rep.error() == vfio::errc::out_of_bounds);
      }
      for (const auto& p : s.opened) CHECK(p.find("/..") == std::string::npos);
      ++hostile_cases;
    }
  }
}

TEST_CASE("hostile: config-space capability lists that loop or point outside", "[hostile]") {
  struct cfg_case {
    const char* what;
    std::function<void(std::array<std::uint8_t, 4096>&)> edit;
    bool extended;
  };
  const std::vector<cfg_case> cases = {
      {"standard list pointing at itself",
       [](auto& c) {
         c[0x34] = 0x40;
         c[0x40] = 0x01;
         c[0x41] = 0x40;
       },
       false},
      {"standard list A -> B -> A",
       [](auto& c) {
         c[0x34] = 0x40;
         c[0x40] = 0x01;
         c[0x41] = 0x50;
         c[0x50] = 0x05;
         c[0x51] = 0x40;
       },
       false},
      {"standard pointer into the header",
       [](auto& c) {
         c[0x34] = 0x40;
         c[0x40] = 0x01;
         c[0x41] = 0x10;
       },
       false},
      {"extended list pointing at itself",
       [](auto& c) {
         const std::uint32_t h = 0x0001 | (1u << 16) | (0x100u << 20);
         std::memcpy(&c[0x100], &h, 4);
       },
       true},
      {"extended pointer below 0x100",
       [](auto& c) {
         const std::uint32_t h = 0x0001 | (1u << 16) | (0x0c0u << 20);
         std::memcpy(&c[0x100], &h, 4);
       },
       true},
      {"extended list with an all-ones header inside",
       [](auto& c) {
         const std::uint32_t h = 0x0001 | (1u << 16) | (0x200u << 20);
         std::memcpy(&c[0x100], &h, 4);
         std::memset(&c[0x200], 0xff, 4);
       },
       true},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::array<std::uint8_t, 4096> bytes{};
    bytes[0x06] = 0x10;  // PCI_STATUS.CAP_LIST
    c.edit(bytes);
    const auto s = vfio::pci::config_snapshot::from_bytes(bytes.data(), bytes.size());
    unsigned visited = 0;
    auto count = [&visited](const vfio::pci::capability&) {
      ++visited;
      return true;
    };
    auto walked = c.extended ? s.for_each_ext_capability(count) : s.for_each_capability(count);
    REQUIRE_FALSE(walked);
    CHECK(walked.error() == vfio::errc::malformed_capability_chain);
    CHECK(visited <= 3);
    ++hostile_cases;
  }
  SECTION("a capability pointer past a 64-byte snapshot") {
    std::array<std::uint8_t, 64> bytes{};
    bytes[0x06] = 0x10;
    bytes[0x34] = 0x80;
    const auto s = vfio::pci::config_snapshot::from_bytes(bytes.data(), bytes.size());
    auto found = s.find_capability(abi::pci::cap::pm);
    REQUIRE_FALSE(found);
    CHECK(found.error() == vfio::errc::malformed_capability_chain);
    ++hostile_cases;
  }
}

TEST_CASE("hostile: the number of cases", "[hostile][total]") {
  // Declared last: runs after the cases above when the whole file runs.
  std::printf("hostile-answer cases run: %d\n", hostile_cases);
  SUCCEED();
}

}  // namespace vfio_unit_test_hostile_answers
