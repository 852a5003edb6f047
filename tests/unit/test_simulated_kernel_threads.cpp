// Threads against the simulated kernel: a poll or sleep with a timeout
// really blocks (releasing the kernel's lock) so that another thread's call
// can wake it, as on the kernel; the virtual clock advances by the time
// waited. Cross-thread wake-ups through the library and the
// config-access-vs-low-power-entry race must pass on every run.
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/host/power.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_threads {

namespace {

using namespace sim_test;

/// The library's objects on the e1000e of the QEMU machine.
struct opened {
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

bool open_e1000e(simulated_kernel& k, opened& out) {
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  auto g = vfio::group::open(3, k);
  if (!c || !g || !g->set_container(*c) || !c->set_best_iommu()) return false;
  auto d = g->open_device(e1000e_bdf);
  if (!d) return false;
  out.container = std::move(*c);
  out.group = std::move(*g);
  out.device = std::move(*d);
  return true;
}

}  // namespace

TEST_CASE("simulated threads: a zero timeout never blocks, a timeout ends on its deadline",
          "[simulated_kernel][threads]") {
  simulated_kernel k;
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(efd >= 0);
  pollfd p{efd, POLLIN, 0};
  const std::int64_t t0 = k.monotonic_ns();
  const auto r0 = std::chrono::steady_clock::now();
  CHECK(k.poll(&p, 1, 0) == 0);
  CHECK(k.monotonic_ns() == t0);
  CHECK(k.poll(&p, 1, 15) == 0);  // nothing else can happen: it times out
  const auto waited = std::chrono::steady_clock::now() - r0;
  CHECK(waited >= std::chrono::milliseconds(15));  // really waited
  CHECK(k.monotonic_ns() == t0 + 15'000'000);      // and the clock reads the deadline exactly
  CHECK(k.sleep_ns(3'000'000) == 0);
  CHECK(k.monotonic_ns() == t0 + 18'000'000);
  k.close(efd);
}

TEST_CASE("simulated threads: a poll with a timeout is woken by another thread's write",
          "[simulated_kernel][threads]") {
  simulated_kernel k;
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(efd >= 0);
  const std::int64_t t0 = k.monotonic_ns();
  std::thread writer([&k, efd] {
    k.sleep_ns(5'000'000);
    const std::uint64_t one = 1;
    k.write(efd, &one, sizeof one);
  });
  pollfd p{efd, POLLIN, 0};
  const int r = k.poll(&p, 1, 5000);  // far longer than the writer needs
  writer.join();
  CHECK(r == 1);
  CHECK(p.revents == POLLIN);
  const std::int64_t t1 = k.monotonic_ns();
  CHECK(t1 >= t0 + 5'000'000);       // the writer's sleep passed
  CHECK(t1 < t0 + 5'000'000'000LL);  // the poll did not run to its deadline
  k.close(efd);
}

TEST_CASE("simulated threads: wait_for_wakeup in one thread, a config read in another (24 runs)",
          "[simulated_kernel][threads]") {
  for (int run = 0; run < 24; ++run) {
    INFO("run " << run);
    simulated_kernel k;
    add_qemu_machine(k, true);
    opened o;
    REQUIRE(open_e1000e(k, o));
    vfio::pci::power pm(o.device);
    REQUIRE(pm.enter_with_wakeup());
    k.settle();
    REQUIRE(k.power_state(e1000e_bdf) == "D3cold");

    std::atomic<bool> read_ok{false};
    std::thread reader([&o, &k, &read_ok] {
      k.sleep_ns(2'000'000);  // let the waiter block first (not required for correctness)
      vfio::pci::config cfg(o.device);
      auto v = cfg.read16(abi::pci::vendor_id);
      read_ok = v && *v == 0x8086;
    });
    auto w = pm.wait_for_wakeup(5'000'000'000LL);
    reader.join();
    REQUIRE(w);
    CHECK(*w == 1);
    CHECK(read_ok);
    CHECK(k.power_state(e1000e_bdf) == "D0");
    CHECK(k.runtime_status(e1000e_bdf) == "active");
    CHECK_FALSE(k.low_power_engaged(e1000e_bdf));
  }
}

TEST_CASE("simulated threads: the waiter may also start after the wake-up", "[simulated_kernel][threads]") {
  simulated_kernel k;
  add_qemu_machine(k);
  opened o;
  REQUIRE(open_e1000e(k, o));
  vfio::pci::power pm(o.device);
  REQUIRE(pm.enter_with_wakeup());
  k.settle();
  std::thread reader([&o] {
    vfio::pci::config cfg(o.device);
    (void)cfg.read16(abi::pci::vendor_id);
  });
  reader.join();
  auto w = pm.wait_for_wakeup(1'000'000'000);
  REQUIRE(w);
  CHECK(*w == 1);
}

TEST_CASE("simulated threads: config access races low-power entry (200 iterations)", "[simulated_kernel][threads]") {
  simulated_kernel k;
  add_qemu_machine(k, true);
  const std::size_t fds_before = k.open_descriptors();
  {
    opened o;
    REQUIRE(open_e1000e(k, o));
    vfio::pci::power pm(o.device);
    std::atomic<bool> stop{false};
    std::atomic<unsigned> reads{0};
    std::atomic<unsigned> read_errors{0};
    // The config region's info is looked up (VFIO_DEVICE_GET_REGION_INFO, an
    // ioctl that resumes the device too) before the race: from then on each
    // helper read is one pread, and every wake-up needs a read of its own.
    REQUIRE(vfio::pci::config(o.device).read16(abi::pci::vendor_id));
    // The helper keeps reading config space; every read succeeds whatever
    // the state (vfio_pci_core_rw resumes the device first).
    std::thread helper([&] {
      vfio::pci::config cfg(o.device);
      while (!stop) {
        auto v = cfg.read16(abi::pci::vendor_id);
        if (v && *v == 0x8086)
          ++reads;
        else
          ++read_errors;
        k.sleep_ns(100'000);
      }
    });
    unsigned woken = 0, timed_out = 0, failures = 0;
    for (int i = 0; i < 200; ++i) {
      if (!pm.enter_with_wakeup()) {
        ++failures;
        continue;
      }
      // Either the helper's next read wakes the device (eventfd signalled)
      // or, if it read before the entry took effect, a later one does.
      auto w = pm.wait_for_wakeup(2'000'000'000);
      if (w)
        ++woken;
      else
        ++timed_out;
      (void)pm.exit();  // optional after a wake-up; 0 or EINVAL-free either way
    }
    stop = true;
    helper.join();
    CHECK(failures == 0);
    CHECK(timed_out == 0);
    CHECK(woken == 200);
    CHECK(read_errors == 0);
    CHECK(reads >= 200);  // the helper really ran: one read per wake-up at least
    CHECK_FALSE(k.low_power_engaged(e1000e_bdf));
  }
  k.settle();
  CHECK(k.open_descriptors() == fds_before);  // nothing leaked
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");
  CHECK(k.power_state(e1000e_bdf) == "D3cold");
}

TEST_CASE("simulated threads: a sleeping thread does not hold the kernel", "[simulated_kernel][threads]") {
  simulated_kernel k;
  add_qemu_machine(k);
  std::atomic<bool> done{false};
  std::thread sleeper([&k, &done] {
    k.sleep_ns(500'000'000);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it start sleeping
  // While it sleeps, this thread's calls go through at once.
  const auto r0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) CHECK_FALSE(k.runtime_status(e1000e_bdf).empty());
  const int fd = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  CHECK(fd >= 1000);
  k.close(fd);
  CHECK(std::chrono::steady_clock::now() - r0 < std::chrono::milliseconds(400));
  CHECK_FALSE(done);
  sleeper.join();
  CHECK(done);
}

TEST_CASE("simulated threads: with real_time_sleeps off a sleep only moves the virtual clock",
          "[simulated_kernel][threads]") {
  sim::kernel_options o;
  o.real_time_sleeps = false;
  simulated_kernel k(o);
  add_qemu_machine(k);
  opened s;
  REQUIRE(open_e1000e(k, s));
  const std::int64_t t0 = k.monotonic_ns();
  const auto r0 = std::chrono::steady_clock::now();
  CHECK(k.sleep_ns(3'600'000'000'000LL) == 0);  // an hour of virtual time
  CHECK(k.monotonic_ns() == t0 + 3'600'000'000'000LL);
  CHECK(std::chrono::steady_clock::now() - r0 < std::chrono::minutes(10));  // not an hour of real time

  // The runtime suspend queued by low-power entry comes due during the sleeps
  // of a settle loop, at the same virtual time as with real sleeps.
  vfio::pci::power pw(s.device);
  REQUIRE(pw.enter());
  const std::int64_t entered = k.monotonic_ns();
  CHECK(k.runtime_status(e1000e_bdf) == "suspending");
  vfio::host::settle_options settle;
  settle.expect_status = vfio::host::runtime_status::suspended;
  settle.interval_ns = 1'000'000;
  auto bdf = vfio::host::parse_pci_address(e1000e_bdf);
  REQUIRE(bdf);
  auto settled = vfio::host::wait_for_power_settle(*bdf, settle, k, "/sys");
  REQUIRE(settled);
  CHECK(settled->at_ns >= entered + o.suspend_delay_ns);
  CHECK(settled->at_ns < entered + o.suspend_delay_ns + settle.interval_ns);
  CHECK(k.power_state(e1000e_bdf) == "D3hot");  // no platform power resources on this machine
  CHECK(pw.exit());
}

}  // namespace vfio_unit_test_simulated_kernel_threads
