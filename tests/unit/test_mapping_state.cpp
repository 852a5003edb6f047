// device::mappings_accessible() against the simulated kernel's own verdict
// (simulated_kernel::mapping_faults, the model of vfio_pci_mmap_fault) on every path
// that changes it: config writes of PMCSR and COMMAND through pci::config and
// device::write, resets, low-power entry, exit and wake-ups, close; views that
// follow device moves; and the power flows' failure paths.
#include <vfio/container.hpp>
#include <vfio/eventfd.hpp>
#include <vfio/group.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <atomic>
#include <climits>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../catch.hpp"

namespace vfio_unit_test_mapping_state {

namespace {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::pci::d_state;
using vfio::testing::simulated_kernel;

constexpr std::uint16_t e1000e_pm = 0xc8;  // the e1000e profile's PM capability
constexpr std::uint16_t pmcsr = e1000e_pm + 4;

/// The library stack over the simulated QEMU e1000e (group 3), with BAR0 mapped.
struct rig {
  simulated_kernel k;
  vfio::container container;
  vfio::group group;
  vfio::device device;
  vfio::region_mapping bar;

  explicit rig(sim::kernel_options o = {}) : k(o) {
    auto nic = sim::profiles::e1000e();
    REQUIRE(k.add_device(nic));
    auto c = vfio::container::open("/dev/vfio/vfio", k);
    REQUIRE(c);
    container = std::move(*c);
    auto g = vfio::group::open(3, k);
    REQUIRE(g);
    group = std::move(*g);
    REQUIRE(group.set_container(container));
    REQUIRE(container.set_best_iommu());
    auto d = group.open_device("0000:00:03.0");
    REQUIRE(d);
    device = std::move(*d);
    auto m = device.map(abi::pci_region::bar0);
    REQUIRE(m);
    bar = std::move(*m);
  }
  const void* bar_address() const { return bar.pieces()[0].addr; }
  bool kernel_faults() const { return k.mapping_faults(bar_address()); }
  /// The promise: never "accessible" while the kernel would fault.
  bool never_lies() const { return !(device.mappings_accessible() && kernel_faults()); }
  /// The library and the kernel agree exactly.
  bool agrees() const { return device.mappings_accessible() == !kernel_faults(); }
};

}  // namespace

TEST_CASE("mapping state: PM_CTRL writes through pci::config, as a VMM forwards a guest's", "[mapping_state]") {
  rig r;
  REQUIRE(r.agrees());
  REQUIRE(r.device.mappings_accessible());
  vfio::pci::config cfg(r.device);
  auto v = cfg.read16(pmcsr);
  REQUIRE(v);
  REQUIRE(cfg.write16(pmcsr, static_cast<std::uint16_t>((*v & ~3u) | 3u)));  // the guest writes D3hot
  CHECK(r.kernel_faults());
  CHECK_FALSE(r.device.mappings_accessible());
  CHECK(r.device.mapping_state().d3hot());
  CHECK(r.agrees());
  REQUIRE(cfg.write16(pmcsr, static_cast<std::uint16_t>(*v & ~3u)));  // and D0 again
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());
}

TEST_CASE("mapping state: a 32-bit write covering PMCSR, and raw device::write", "[mapping_state]") {
  rig r;
  vfio::pci::config cfg(r.device);
  auto dword = cfg.read32(pmcsr);
  REQUIRE(dword);
  REQUIRE(cfg.write32(pmcsr, (*dword & ~3u) | 3u));
  CHECK(r.kernel_faults());
  CHECK(r.agrees());
  // device::write straight to the config region, one byte at PMCSR.
  const std::uint8_t d0 = static_cast<std::uint8_t>(*dword & 0xfc);
  REQUIRE(r.device.write(abi::pci_region::config, pmcsr, &d0, 1));
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());
}

TEST_CASE("mapping state: clearing COMMAND.MEMORY through pci::config faults every mapping", "[mapping_state]") {
  rig r;
  vfio::pci::config cfg(r.device);
  auto cmd = cfg.read16(abi::pci::command);
  REQUIRE(cmd);
  REQUIRE((*cmd & abi::pci::command_bits::memory) != 0);
  REQUIRE(cfg.write16(abi::pci::command, static_cast<std::uint16_t>(*cmd & ~abi::pci::command_bits::memory)));
  CHECK(r.kernel_faults());
  CHECK_FALSE(r.device.mappings_accessible());
  CHECK(r.device.mapping_state().memory_disabled());
  CHECK(r.agrees());
  REQUIRE(cfg.write16(abi::pci::command, *cmd));
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());
  // A byte write of COMMAND's high byte leaves MEMORY alone.
  const std::uint8_t high = static_cast<std::uint8_t>(*cmd >> 8);
  REQUIRE(r.device.write(abi::pci_region::config, abi::pci::command + 1, &high, 1));
  CHECK(r.agrees());
}

TEST_CASE("mapping state: function reset and hot reset return the device to D0", "[mapping_state]") {
  rig r;
  vfio::pci::power pm(r.device);
  REQUIRE(pm.set_power_state(d_state::d3hot));
  REQUIRE(r.agrees());
  REQUIRE_FALSE(r.device.mappings_accessible());
  REQUIRE(r.device.reset());
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());

  REQUIRE(pm.set_power_state(d_state::d3hot));
  REQUIRE_FALSE(r.device.mappings_accessible());
  const int groups[1] = {r.group.fd()};
  auto hot = r.device.pci_hot_reset(vfio::span<const int>(groups, 1));
  if (hot) {
    CHECK(r.agrees());
    CHECK(r.device.mappings_accessible());
  } else {
    CHECK(r.never_lies());  // the model's machine may offer no slot/bus reset
  }
}

TEST_CASE("mapping state: low power entry, exit, and a D3hot undone by runtime suspend", "[mapping_state]") {
  rig r;
  vfio::pci::power pm(r.device);
  REQUIRE(pm.enter());
  CHECK(r.kernel_faults());
  CHECK(r.agrees());
  r.k.settle();
  CHECK(r.agrees());
  REQUIRE(pm.exit());
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());

  // set_power_state(D3hot), then enter(): the kernel's runtime suspend moves the device
  // to D0 before suspending it, so after exit() PM_CTRL reads D0, not the D3hot written.
  REQUIRE(pm.set_power_state(d_state::d3hot));
  REQUIRE(pm.enter());
  CHECK(r.device.mapping_state().unknown());
  r.k.settle();
  REQUIRE(pm.exit());
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());
  CHECK_FALSE(r.device.mapping_state().unknown());
}

TEST_CASE("mapping state: wake-ups with d3hot_policy::if_possible", "[mapping_state]") {
  rig r;
  vfio::pci::power pm(r.device);
  vfio::pci::suspend_options o;
  o.wakeup = true;
  o.d3hot = vfio::pci::d3hot_policy::if_possible;
  REQUIRE(pm.suspend(o));
  CHECK(r.never_lies());
  r.k.settle();
  CHECK(r.never_lies());
  vfio::pci::config cfg(r.device);
  REQUIRE(cfg.read16(abi::pci::vendor_id));  // wakes the device: the eventfd fires
  CHECK(r.never_lies());
  auto woke = pm.wait_for_wakeup(1'000'000'000);
  REQUIRE(woke);
  CHECK(*woke >= 1);
  CHECK_FALSE(pm.engaged());
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());
  REQUIRE(pm.resume());
  CHECK(r.agrees());
}

TEST_CASE("mapping state: an event loop reads the wake-up eventfd and acknowledges it", "[mapping_state]") {
  rig r;
  vfio::pci::power pm(r.device);
  auto efd = vfio::eventfd::create(0, EFD_NONBLOCK, r.k);
  REQUIRE(efd);
  REQUIRE(pm.enter_with_wakeup(efd->descriptor()));
  CHECK(pm.acknowledge_wakeup(0).error() == vfio::errc::invalid_argument);
  r.k.settle();
  vfio::pci::config cfg(r.device);
  REQUIRE(cfg.read16(abi::pci::vendor_id));
  // The loop: the descriptor is readable, it reads the counter itself.
  auto count = efd->read();
  REQUIRE(count);
  CHECK(*count == 1);
  CHECK(pm.engaged());  // the library has not seen it yet: still "not safe"
  CHECK(r.never_lies());
  REQUIRE(pm.acknowledge_wakeup(*count));
  CHECK_FALSE(pm.engaged());
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());
  REQUIRE(pm.exit());
}

TEST_CASE("mapping state: close keeps the state the kernel keeps for a live mapping", "[mapping_state]") {
  rig r;
  vfio::pci::power pm(r.device);
  REQUIRE(pm.enter());
  REQUIRE(r.device.close());
  CHECK_FALSE(r.device.mappings_accessible());
  CHECK(r.never_lies());
}

TEST_CASE("mapping state: readable from another thread while suspend and resume run", "[mapping_state]") {
  rig r;
  vfio::pci::power pm(r.device);
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::thread vcpu([&] {
    while (!stop.load()) {
      (void)r.device.mappings_accessible();
      (void)r.device.mapping_state();
      reads.fetch_add(1);
    }
  });
  while (reads.load() == 0) std::this_thread::yield();  // the reader runs before and during
  for (int i = 0; i < 50; ++i) {
    REQUIRE(pm.suspend());
    REQUIRE(pm.resume());
  }
  stop = true;
  vcpu.join();
  CHECK(reads.load() > 0);
  CHECK(r.agrees());
}

TEST_CASE("views: pci::power and pci::config follow the device across moves", "[mapping_state]") {
  rig r;
  std::vector<vfio::device> devices;
  devices.push_back(std::move(r.device));
  vfio::pci::power pm(devices[0]);
  vfio::pci::config cfg(devices[0]);
  // Grow the vector until it reallocates: the device moves, the views follow.
  const auto* before = &devices[0];
  while (&devices[0] == before) devices.emplace_back();
  REQUIRE(&devices[0] != before);
  CHECK(&pm.dev() == &devices[0]);
  CHECK(&cfg.dev() == &devices[0]);
  auto vendor = cfg.read16(abi::pci::vendor_id);
  REQUIRE(vendor);
  CHECK(*vendor == 0x8086);
  REQUIRE(pm.set_power_state(d_state::d3hot));
  CHECK_FALSE(devices[0].mappings_accessible());
  REQUIRE(pm.set_power_state(d_state::d0));

  // Out of a function and into another object.
  auto take = [](vfio::device d) { return d; };
  vfio::device owner = take(std::move(devices[0]));
  CHECK(&pm.dev() == &owner);
  REQUIRE(cfg.read16(abi::pci::vendor_id));

  // Destroyed: the views fail with EBADF instead of dangling.
  { vfio::device gone = std::move(owner); }
  auto after = cfg.read16(abi::pci::vendor_id);
  REQUIRE_FALSE(after);
  CHECK(after.error() == std::errc::bad_file_descriptor);
  auto st = pm.power_state();
  REQUIRE_FALSE(st);
  CHECK(st.error() == std::errc::bad_file_descriptor);
  CHECK(r.k.open_descriptors() == 2);  // container and group; the device is closed
}

namespace {

/// One config access, and what it did: its result, the bytes read, the mapping
/// state after it and the calls the kernel saw.
struct access_outcome {
  bool ok = false;
  std::error_code code;
  std::string operation;
  std::uint32_t value = 0;
  std::uint8_t state = 0;
  std::vector<std::string> calls;
  bool operator==(const access_outcome& o) const {
    return ok == o.ok && code == o.code && operation == o.operation && value == o.value && state == o.state &&
           calls == o.calls;
  }
};

std::vector<std::string> calls_since(simulated_kernel& k) {
  std::vector<std::string> out;
  for (const auto& c : k.trace())
    out.push_back(std::to_string(static_cast<int>(c.kind)) + "@" + std::to_string(c.offset) + "+" +
                  std::to_string(c.length) + "=" + std::to_string(c.result));
  k.clear_trace();
  return out;
}

template <class R>
void record(access_outcome& o, const R& r) {
  o.ok = r.has_value();
  if (!o.ok) {
    o.code = r.error().code();
    o.operation = r.error().operation();
  }
}

}  // namespace

TEST_CASE("pci config: the views' accesses match device::read and write call for call", "[mapping_state]") {
  // The same accesses through pci::config (the config region's own path once its
  // info is cached) and through device::read / write (the general path, after the
  // views' alignment check), on two identical kernels with the same injected faults.
  rig views, general;
  for (auto* r : {&views, &general}) {
    // Every 11th pread and every 7th pwrite fail (EIO): failed writes and read-backs
    // leave the state "unknown" or assumed unsafe until a read tells it.
    for (std::uint64_t nth = 11; nth < 1000; nth += 11) {
      sim::fault_rule f;
      f.kind = vfio::testing::call_kind::pread;
      f.nth = nth;
      r->k.inject(f);
    }
    for (std::uint64_t nth = 7; nth < 1000; nth += 7) {
      sim::fault_rule f;
      f.kind = vfio::testing::call_kind::pwrite;
      f.nth = nth;
      r->k.inject(f);
    }
    r->k.clear_trace();
  }
  vfio::pci::config cfg(views.device);
  const std::uint16_t offsets[] = {0x00,  0x01, 0x02, 0x04, 0x05, 0x06, 0x3c,  0x3e,  0x40,  0x44,  e1000e_pm, 0xca,
                                   pmcsr, 0xcd, 0xce, 0xfc, 0xfe, 0xff, 0x100, 0x104, 0xffc, 0xffe, 0x1000,    0x1002};
  const unsigned widths[] = {1, 2, 4};
  std::uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, seed >> 8; };
  for (int step = 0; step < 600; ++step) {
    const std::uint16_t offset = offsets[next() % (sizeof offsets / sizeof offsets[0])];
    const unsigned width = widths[next() % 3];
    const bool writing = next() % 2 == 0;
    // PMCSR gets D3hot or (3 times in 4) D0; COMMAND clears MEMORY or (3 times in 4)
    // sets it, so that the state changes often; elsewhere any value.
    std::uint32_t value = next();
    if (offset == pmcsr) value = (next() % 4 == 0) ? 3u : 0u;
    if (offset == abi::pci::command) value = (next() % 4 == 0) ? 0x0004u : 0x0006u;
    std::uint8_t bytes[4] = {static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(value >> 8),
                             static_cast<std::uint8_t>(value >> 16), static_cast<std::uint8_t>(value >> 24)};

    access_outcome a, b;
    if (writing) {
      if (width == 1) record(a, cfg.write8(offset, bytes[0]));
      if (width == 2) record(a, cfg.write16(offset, static_cast<std::uint16_t>(value)));
      if (width == 4) record(a, cfg.write32(offset, value));
    } else {
      if (width == 1) {
        auto r = cfg.read8(offset);
        record(a, r);
        if (r) a.value = *r;
      }
      if (width == 2) {
        auto r = cfg.read16(offset);
        record(a, r);
        if (r) a.value = *r;
      }
      if (width == 4) {
        auto r = cfg.read32(offset);
        record(a, r);
        if (r) a.value = *r;
      }
    }
    if (offset % width != 0) {
      b.ok = false;
      b.code = vfio::errc::invalid_argument;
      b.operation = writing ? "pwrite" : "pread";
    } else if (writing) {
      record(b, general.device.write(abi::pci_region::config, offset, bytes, width));
    } else {
      std::uint8_t in[4] = {};
      auto r = general.device.read(abi::pci_region::config, offset, in, width);
      record(b, r);
      if (r) b.value = static_cast<std::uint32_t>(in[0] | (in[1] << 8) | (in[2] << 16)) | (std::uint32_t{in[3]} << 24);
    }
    a.state = views.device.mapping_state().bits();
    b.state = general.device.mapping_state().bits();
    a.calls = calls_since(views.k);
    b.calls = calls_since(general.k);
    INFO("step " << step << ": " << (writing ? "write" : "read") << width << " at 0x" << std::hex << offset
                 << " value 0x" << value);
    REQUIRE(a == b);
    REQUIRE(views.never_lies());
  }
  // A device moved from: its cached path is gone with the descriptor.
  vfio::device moved = std::move(views.device);
  auto gone = vfio::pci::read_config16(views.device, abi::pci::vendor_id);
  REQUIRE_FALSE(gone);
  CHECK(gone.error() == std::errc::bad_file_descriptor);
  CHECK(vfio::pci::read_config16(moved, abi::pci::vendor_id).value() == 0x8086);
  REQUIRE(moved.close());
  CHECK(vfio::pci::read_config16(moved, abi::pci::vendor_id).error() == std::errc::bad_file_descriptor);
}

TEST_CASE("views: move-assigning over a device detaches the views of the old one", "[mapping_state]") {
  rig r;
  vfio::pci::config cfg(r.device);
  vfio::pci::config copy = cfg;  // copies view the same device
  REQUIRE(copy.read16(abi::pci::vendor_id));
  r.device = vfio::device();
  CHECK(cfg.read16(0).error() == std::errc::bad_file_descriptor);
  CHECK(copy.read16(0).error() == std::errc::bad_file_descriptor);
}

TEST_CASE("power: a failed PM_CTRL read-back after the D3hot write is undone", "[mapping_state]") {
  // suspend(if_possible): read PMCSR, write D3hot, read back (fails) -> write D0 again.
  rig r;
  vfio::pci::power pm(r.device);
  REQUIRE(pm.capability());  // the lookup and the first PMCSR read happen before the rule
  sim::fault_rule rule;
  rule.kind = vfio::testing::call_kind::pread;
  rule.nth = 2;  // the first pread reads PMCSR, the second is the read-back
  rule.error = EIO;
  r.k.inject(rule);
  vfio::pci::suspend_options o;
  o.d3hot = vfio::pci::d3hot_policy::if_possible;
  auto s = pm.suspend(o);
  REQUIRE_FALSE(s);
  CHECK(s.error() == std::errc::io_error);
  r.k.clear_faults();
  CHECK_FALSE(pm.engaged());
  CHECK(r.k.power_state("0000:00:03.0") == "D0");  // the D3hot the library wrote is undone
  CHECK(r.agrees());
  CHECK(r.device.mappings_accessible());
}

TEST_CASE("power: the seed dialect undoes its D3hot after a failed read-back too", "[mapping_state]") {
  sim::kernel_options o;
  o.dialect = sim::low_power_dialect::seed;
  rig r(o);
  vfio::pci::power pm(r.device);
  REQUIRE(pm.detect_dialect());
  REQUIRE(pm.capability());
  sim::fault_rule rule;
  rule.kind = vfio::testing::call_kind::pread;
  rule.nth = 2;
  r.k.inject(rule);
  REQUIRE_FALSE(pm.suspend());
  r.k.clear_faults();
  CHECK_FALSE(pm.engaged());
  CHECK(r.k.power_state("0000:00:03.0") == "D0");
  CHECK(r.agrees());
}

TEST_CASE("deadlines: huge timeouts wait instead of wrapping", "[mapping_state]") {
  using vfio::detail::deadline_after;
  using vfio::detail::poll_timeout_ms;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  STATIC_REQUIRE(deadline_after(5, max) == max);
  STATIC_REQUIRE(deadline_after(max - 1, 10) == max);
  STATIC_REQUIRE(deadline_after(5, -3) == 5);
  STATIC_REQUIRE(deadline_after(5, 10) == 15);
  STATIC_REQUIRE(poll_timeout_ms(max) == INT_MAX);
  STATIC_REQUIRE(poll_timeout_ms(1) == 1);
  STATIC_REQUIRE(poll_timeout_ms(0) == 0);
  STATIC_REQUIRE(poll_timeout_ms(2'000'000) == 2);

  // "Wait forever" on a signalled eventfd returns its count at once.
  rig r;
  vfio::pci::power pm(r.device);
  REQUIRE(pm.suspend({true}));
  vfio::pci::config cfg(r.device);
  REQUIRE(cfg.read16(0));
  auto woke = pm.wait_for_wakeup(max);
  REQUIRE(woke);
  CHECK(*woke == 1);
  REQUIRE(pm.resume());
}

TEST_CASE("eventfd: a reader that keeps losing the race still meets its deadline", "[mapping_state]") {
  // poll says readable, read answers EAGAIN (another reader drained the counter): the
  // wait checks its deadline before polling again instead of spinning.
  std::vector<std::string> mismatches;
  vfio::testing::scripted_syscalls mock{[&](const std::string& m) { mismatches.push_back(m); }};
  mock.expect_eventfd().returns(40);
  auto efd = vfio::eventfd::create(0, EFD_NONBLOCK, mock);
  REQUIRE(efd);
  mock.expect_poll(40).with_revents(POLLIN).returns(1);
  mock.expect_read(40).fails(EAGAIN);
  auto w = efd->wait(0);
  REQUIRE_FALSE(w);
  CHECK(w.error() == vfio::errc::timed_out);
  mock.expect_close(40);
  REQUIRE(efd->close());
  CHECK(mock.verify_done());
  for (const auto& m : mismatches) UNSCOPED_INFO(m);
  CHECK(mismatches.empty());
}

TEST_CASE("eventfd: create, write, read, wait, close through the seam", "[mapping_state]") {
  simulated_kernel k;
  auto e = vfio::eventfd::create(0, EFD_NONBLOCK, k);
  REQUIRE(e);
  CHECK(k.open_descriptors() == 1);
  CHECK(e->read().error() == std::errc::resource_unavailable_try_again);
  REQUIRE(e->write(3));
  REQUIRE(e->write(4));
  auto n = e->wait(0);
  REQUIRE(n);
  CHECK(*n == 7);
  CHECK(e->wait(0).error() == vfio::errc::timed_out);
  REQUIRE(e->close());
  CHECK(k.open_descriptors() == 0);
  CHECK(e->read().error() == std::errc::bad_file_descriptor);
  vfio::eventfd empty;
  CHECK(empty.wait(1000).error() == std::errc::bad_file_descriptor);
}

}  // namespace vfio_unit_test_mapping_state
