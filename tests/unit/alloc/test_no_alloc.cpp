// Proof that the feature and power paths never allocate: this executable replaces
// the global operator new/delete with counting versions and runs every feature,
// PM_CTRL, low-power, suspend/resume, wake-up and host power call against a
// scripted mock prepared beforehand.
//
// The mock's own bookkeeping (it records open descriptors in a std::set) is not
// the library's: the seam below forwards to the mock with counting paused, so the
// count covers only library code. Catch2 assertions run outside the window.
#include <vfio/feature.hpp>
#include <vfio/host/power.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

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
  const std::size_t align = static_cast<std::size_t>(a);
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

struct pause_counting {
  pause_counting() noexcept { ++paused; }
  ~pause_counting() { --paused; }
  pause_counting(const pause_counting&) = delete;
  pause_counting& operator=(const pause_counting&) = delete;
};

/// Forwards every call to the scripted mock with counting paused.
class uncounted_seam final : public vfio::syscalls {
 public:
  explicit uncounted_seam(vfio::testing::scripted_syscalls& inner) : inner_(inner) {}
  int open(const char* path, int flags, unsigned mode) noexcept override {
    pause_counting p;
    return inner_.open(path, flags, mode);
  }
  int close(int fd) noexcept override {
    pause_counting p;
    return inner_.close(fd);
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    pause_counting p;
    return inner_.ioctl(fd, request, arg);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    pause_counting p;
    return inner_.ioctl_value(fd, request, value);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_.pread(fd, buf, count, offset);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_.pwrite(fd, buf, count, offset);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    pause_counting p;
    return inner_.read(fd, buf, count);
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    pause_counting p;
    return inner_.write(fd, buf, count);
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_.mmap(addr, length, prot, flags, fd, offset);
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    pause_counting p;
    return inner_.munmap(addr, length);
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    pause_counting p;
    return inner_.eventfd(initval, flags);
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    pause_counting p;
    return inner_.readlink(path, buf, size);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    pause_counting p;
    return inner_.poll(fds, nfds, timeout_ms);
  }
  std::int64_t monotonic_ns() noexcept override {
    pause_counting p;
    return inner_.monotonic_ns();
  }
  int sleep_ns(std::int64_t ns) noexcept override {
    pause_counting p;
    return inner_.sleep_ns(ns);
  }

 private:
  vfio::testing::scripted_syscalls& inner_;
};

// ---------------------------------------------------------------------------
// Script helpers

namespace abi = vfio::abi;
using vfio::testing::scripted_syscalls;

constexpr int merged_fd = 30;
constexpr int seed_fd = 31;
constexpr std::int64_t cfg_base = std::int64_t{7} << 40;
constexpr std::int64_t pmcsr_at = cfg_base + 0x40 + 4;
constexpr std::uint32_t GET = abi::feature_flags::get;
constexpr std::uint32_t SET = abi::feature_flags::set;
constexpr std::uint32_t PROBE = abi::feature_flags::probe;

std::vector<std::uint8_t> frame(std::uint32_t argsz, std::uint32_t flags, const void* payload = nullptr,
                                std::size_t size = 0) {
  std::vector<std::uint8_t> b(8 + size);
  std::memcpy(b.data(), &argsz, 4);
  std::memcpy(b.data() + 4, &flags, 4);
  if (size) std::memcpy(b.data() + 8, payload, size);
  return b;
}
void expect_feature(scripted_syscalls& m, int fd, const std::vector<std::uint8_t>& bytes, long result = 0) {
  m.expect_ioctl(fd, abi::req::device_feature).with_bytes(bytes.data(), bytes.size()).returns(result);
}
void expect_config_region_info(scripted_syscalls& m, int fd) {
  abi::device_info info{};
  info.argsz = sizeof info;
  info.flags = abi::device_flags::pci;
  info.num_regions = abi::pci_region::count;
  info.num_irqs = 5;
  m.expect_ioctl(fd, abi::req::device_get_info).fills(info);
  abi::region_info region{};
  region.argsz = sizeof region;
  region.index = abi::pci_region::config;
  region.flags = abi::region_flags::read | abi::region_flags::write;
  region.size = 256;
  region.offset = static_cast<std::uint64_t>(cfg_base);
  m.expect_ioctl(fd, abi::req::device_get_region_info).fills(region);
}
void expect_snapshot(scripted_syscalls& m, int fd, std::uint16_t pmcsr) {
  std::vector<std::uint8_t> cfg(256, 0);
  cfg[0x06] = 0x10;
  cfg[0x34] = 0x40;
  cfg[0x40] = 0x01;
  cfg[0x42] = 0x03;  // PMC version 3
  cfg[0x44] = static_cast<std::uint8_t>(pmcsr);
  cfg[0x45] = static_cast<std::uint8_t>(pmcsr >> 8);
  m.expect_pread(fd, cfg_base, 256).fills_bytes(cfg.data(), cfg.size());
}
void expect_pmcsr_read(scripted_syscalls& m, int fd, std::uint16_t v) {
  const std::uint8_t b[2] = {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8)};
  m.expect_pread(fd, pmcsr_at, 2).fills_bytes(b, 2);
}
void expect_transition(scripted_syscalls& m, int fd, std::uint16_t read, std::uint16_t written, std::uint16_t back) {
  expect_pmcsr_read(m, fd, read);
  const std::uint8_t b[2] = {static_cast<std::uint8_t>(written), static_cast<std::uint8_t>(written >> 8)};
  m.expect_pwrite(fd, pmcsr_at).with_bytes(b, 2);
  expect_pmcsr_read(m, fd, back);
}
void expect_attribute(scripted_syscalls& m, const std::string& path, const std::string& text, int fd) {
  m.expect_open(path).returns(fd);
  m.expect_read(fd).fills_text(text + "\n");  // the whole attribute: no read for EOF
  m.expect_close(fd);
}

}  // namespace

TEST_CASE("the counting allocator sees an allocation", "[alloc]") {
  allocations = 0;
  counting = true;
  void* p = ::operator new(16);
  ::operator delete(p);
  counting = false;
  CHECK(allocations == 1);
}

TEST_CASE("feature, power and host power paths make no heap allocation", "[alloc]") {
  std::vector<std::string> mismatches;
  scripted_syscalls mock([&mismatches](const std::string& m) { mismatches.push_back(m); });
  uncounted_seam seam(mock);

  // Devices and their cached config region info (the device's one-time cache, not a power path).
  vfio::device merged(vfio::unique_fd(merged_fd, seam), "0000:00:05.0");
  vfio::device seed(vfio::unique_fd(seed_fd, seam), "0000:00:06.0");
  expect_config_region_info(mock, merged_fd);
  expect_config_region_info(mock, seed_fd);
  REQUIRE(merged.region(abi::pci_region::config));
  REQUIRE(seed.region(abi::pci_region::config));

  // --- The whole script, prepared before counting starts ---
  // feature framing
  expect_feature(mock, merged_fd, frame(8, 3 | PROBE));
  const abi::feature_migration caps{abi::migration_flags::stop_copy};
  mock.expect_ioctl(merged_fd, abi::req::device_feature).fills(caps, 8);
  expect_feature(mock, merged_fd, frame(8, 5 | SET));
  for (std::uint32_t id = 0; id < 12; ++id)  // ENOTTY: GET and SET not asked
    expect_feature(mock, merged_fd, frame(8, id | PROBE), -ENOTTY);
  // merged power
  expect_feature(mock, merged_fd, frame(8, 5 | PROBE | SET));
  expect_snapshot(mock, merged_fd, 0x8000);
  expect_transition(mock, merged_fd, 0x8000, 0x0003, 0x0003);
  expect_transition(mock, merged_fd, 0x8003, 0x0000, 0x0000);
  expect_feature(mock, merged_fd, frame(8, 3 | SET));
  expect_feature(mock, merged_fd, frame(8, 3 | SET), -EINVAL);
  expect_feature(mock, merged_fd, frame(8, 5 | SET));
  mock.expect_eventfd().returns(50);
  const abi::feature_low_power_entry_with_wakeup wake50{50, 0};
  expect_feature(mock, merged_fd, frame(16, 4 | SET, &wake50, sizeof wake50));
  mock.expect_poll(50).returns(0);
  mock.expect_poll(50).with_revents(POLLIN).returns(1);
  const std::uint64_t one = 1;
  mock.expect_read(50).fills(one);
  expect_feature(mock, merged_fd, frame(8, 5 | SET));
  expect_pmcsr_read(mock, merged_fd, 0x0000);
  mock.expect_close(50);
  expect_transition(mock, merged_fd, 0x0000, 0x0003, 0x0003);
  const abi::feature_low_power_entry_with_wakeup wake61{61, 0};
  expect_feature(mock, merged_fd, frame(16, 4 | SET, &wake61, sizeof wake61));
  expect_feature(mock, merged_fd, frame(8, 5 | SET));
  expect_transition(mock, merged_fd, 0x0003, 0x0000, 0x0000);
  // seed power
  expect_feature(mock, seed_fd, frame(8, 5 | PROBE | SET), -ENOTTY);
  expect_feature(mock, seed_fd, frame(8, 3 | PROBE | GET));
  expect_snapshot(mock, seed_fd, 0x0000);
  // The lookup just read PMCSR: the transition writes and reads back only.
  const std::uint8_t d3hot_bytes[2] = {0x03, 0x00};
  mock.expect_pwrite(seed_fd, pmcsr_at).with_bytes(d3hot_bytes, 2);
  expect_pmcsr_read(mock, seed_fd, 0x0003);
  const abi::seed::feature_power_management enter{abi::seed::low_power_state_enter};
  const abi::seed::feature_power_management leave{abi::seed::low_power_state_exit};
  expect_feature(mock, seed_fd, frame(16, 3 | SET, &enter, sizeof enter));
  mock.expect_ioctl(seed_fd, abi::req::device_feature).fills(enter, 8);
  expect_feature(mock, seed_fd, frame(16, 3 | SET, &leave, sizeof leave));
  expect_transition(mock, seed_fd, 0x0003, 0x0000, 0x0000);
  // host power report and settle wait
  const std::string dir = "/sys/bus/pci/devices/0000:00:05.0/";
  mock.expect_readlink("/sys/bus/pci/devices/0000:00:05.0").fills_text("../../../devices/pci0000:00/0000:00:05.0");
  expect_attribute(mock, dir + "power/control", "auto", 70);
  expect_attribute(mock, dir + "power/runtime_status", "active", 70);
  expect_attribute(mock, dir + "power_state", "D0", 70);
  expect_attribute(mock, dir + "d3cold_allowed", "1", 70);
  mock.expect_open(dir + "firmware_node/power_resources_D3hot").returns(71);
  mock.expect_close(71);
  mock.expect_open(dir + "firmware_node/power_state").returns(71);
  mock.expect_close(71);
  expect_attribute(mock, dir + "power/runtime_status", "suspending", 70);
  expect_attribute(mock, dir + "power_state", "D0", 70);
  expect_attribute(mock, dir + "power/runtime_status", "suspended", 70);
  expect_attribute(mock, dir + "power_state", "D3cold", 70);

  vfio::host::settle_options settle;
  settle.expect_status = vfio::host::runtime_status::suspended;
  settle.expect_state = vfio::host::power_state::d3cold;

  // --- Counting window: no Catch2 macro inside, results kept in plain variables ---
  bool ok[32] = {};
  int n = 0;
  allocations = 0;
  counting = true;
  {
    ok[n++] = static_cast<bool>(vfio::feature::probe(merged, 3));
    auto mig = vfio::feature::get<vfio::feature::migration>(merged);
    ok[n++] = mig && mig->flags == abi::migration_flags::stop_copy;
    ok[n++] = static_cast<bool>(vfio::feature::set<vfio::feature::low_power_exit>(merged));
    auto survey = vfio::feature::supported_features(merged);
    ok[n++] = survey && !(*survey)[3].supported;

    vfio::pci::power pm(merged);
    ok[n++] = static_cast<bool>(pm.detect_dialect());
    ok[n++] = static_cast<bool>(pm.capability());
    ok[n++] = static_cast<bool>(pm.set_power_state(vfio::pci::d_state::d3hot));
    ok[n++] = static_cast<bool>(pm.set_power_state(vfio::pci::d_state::d0));
    ok[n++] = static_cast<bool>(pm.enter());
    ok[n++] = !pm.enter() && pm.engaged();  // second entry: the kernel's EINVAL
    ok[n++] = static_cast<bool>(pm.exit());
    ok[n++] = static_cast<bool>(pm.enter_with_wakeup());
    auto timed_out = pm.wait_for_wakeup(1'000'000);
    ok[n++] = !timed_out && timed_out.error() == vfio::errc::timed_out;
    ok[n++] = static_cast<bool>(pm.wait_for_wakeup(1'000'000));
    ok[n++] = static_cast<bool>(pm.resume());
    vfio::pci::suspend_options o;
    o.wakeup = true;
    o.wakeup_eventfd = 61;
    o.d3hot = vfio::pci::d3hot_policy::if_possible;
    ok[n++] = static_cast<bool>(pm.suspend(o));
    ok[n++] = static_cast<bool>(pm.resume());

    vfio::pci::power spm(seed);
    ok[n++] = static_cast<bool>(spm.suspend());
    auto k = spm.kernel_engaged();
    ok[n++] = k && *k;
    ok[n++] = static_cast<bool>(spm.resume());

    auto report = vfio::host::read_power_report(vfio::host::pci_address{0, 0, 5, 0},
                                                vfio::host::capability_presence::present, seam);
    ok[n++] = report && report->deepest == vfio::host::reachable_state::d3cold;
    ok[n++] = static_cast<bool>(vfio::host::wait_for_power_settle(vfio::host::pci_address{0, 0, 5, 0}, settle, seam));
  }
  counting = false;
  const long counted = allocations.load();

  for (int i = 0; i < n; ++i) {
    INFO("step " << i);
    CHECK(ok[i]);
  }
  CHECK(counted == 0);
  mock.expect_close(merged_fd);
  mock.expect_close(seed_fd);
  (void)merged.close();
  (void)seed.close();
  CHECK(mock.verify_done());
  for (const auto& m : mismatches) UNSCOPED_INFO(m);
  CHECK(mismatches.empty());
  CHECK(mock.open_descriptors() == 0);
}
