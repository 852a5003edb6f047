// Repetition and concurrency: many low-power cycles in one boot, a wake-up
// observed by one thread and caused by another, and config-space reads racing
// low-power entry and exit.
//
// Threads: a vfio::device (and vfio::pci::power) is used by one thread at a
// time, so the second thread gets a descriptor of its own
// (VFIO_GROUP_GET_DEVICE_FD again: vfio-pci allows several on one device).
// The cdev path has no second descriptor (vfio_df_open refuses a second
// open of a cdev-opened device): there the two threaded scenarios record the
// refusal and end.
// That thread works on the backend's seam, untraced: what it does between the
// main thread's calls is the scheduler's choice and would make the trace
// differ from run to run. Its outcome is recorded as a note after the join,
// and the main thread's calls stay in the trace.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include <vfio/abi/pci.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/cdev.hpp>
#include <vfio/device.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/unique_fd.hpp>

#include "common.hpp"
#include "scenario.hpp"

namespace {

using ktest::outcome;
using vfio::host::power_state;
using vfio::host::runtime_status;

constexpr int cycles = 20;
constexpr int race_iterations = 200;

/// A second descriptor of the device under test on the backend's seam
/// (untraced), for another thread. On the cdev path: the cdev opened again and
/// bound to the stack's iommufd, which the kernel refuses (vfio_df_open: only
/// the group path opens a device more than once; -EINVAL).
vfio::result<vfio::device> untraced_descriptor(ktest::context& ctx, const ktest::stack& s) {
  std::string name = ctx.dut().bdf;
  vfio::syscalls& sys = ctx.be().seam();
  if (ctx.cdev_path()) {
    auto number = vfio::cdev::number_of(ctx.dut().address, sys);
    if (!number) return number.error();
    auto node = vfio::cdev::open_node(*number, sys);
    if (!node) return node.error();
    vfio::abi::device_bind_iommufd bind{};
    bind.argsz = sizeof bind;
    bind.iommufd = s.iommufd.fd();
    const int r = sys.ioctl(node->get(), vfio::abi::req::device_bind_iommufd, &bind);
    if (r < 0) return vfio::errno_error(-r, "VFIO_DEVICE_BIND_IOMMUFD");
    return vfio::device(std::move(*node), ctx.dut().bdf);
  }
  const int fd = sys.ioctl(s.group.fd(), vfio::abi::req::group_get_device_fd, name.data());
  if (fd < 0) return vfio::errno_error(-fd, "VFIO_GROUP_GET_DEVICE_FD");
  return vfio::device(vfio::unique_fd(fd, sys), ctx.dut().bdf);
}

/// On the cdev path the second descriptor is refused (untraced_descriptor):
/// notes that and the refusal, checks it is EINVAL, and returns true (the
/// scenario ends). On the group path returns false.
bool second_descriptor_refused(ktest::context& ctx, const vfio::result<vfio::device>& reader) {
  if (!ctx.cdev_path()) return false;
  ctx.note("second descriptor: %s", outcome(reader).c_str());
  KCHECK_MSG(ktest::failed_with(reader, EINVAL), "a second bind of a cdev-opened device: %s", outcome(reader).c_str());
  ctx.note("group path only: a second descriptor of the device (vfio_df_open)");
  return true;
}

/// Ends the program with a failed scenario when the threads of a scenario do
/// not finish in time: a hang must name its scenario, not only run into the
/// boot's timeout.
class watchdog {
 public:
  watchdog(const ktest::context& ctx, const char* scenario, int seconds)
      : thread_([this, scenario, seconds, device = ctx.dut().name] {
          std::unique_lock<std::mutex> lock(mu_);
          if (cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) return;
          std::printf("KFAIL %s %s %s:%d: hang: the scenario's threads did not finish within %d s\n", scenario,
                      device.c_str(), "cycle_scenarios.cpp", __LINE__, seconds);
          std::printf("KSCENARIO FAIL %s %s hang\n", scenario, device.c_str());
          std::fflush(stdout);
          std::_Exit(3);
        }) {}
  ~watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

KSCENARIO("repeated_cycles",
          "20 low-power cycles and 20 with wake-up in one open, the settled state checked each time") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  vfio::pci::power pw(s.device);
  const power_state target = ktest::to_power_state(ktest::expected_deepest(ctx));
  ctx.firmware("open");
  int bad = 0;
  for (int i = 0; i < cycles; ++i) {
    const bool ok = pw.enter() && ktest::settle(ctx, runtime_status::suspended, target) && pw.exit() &&
                    ktest::settle(ctx, runtime_status::active, power_state::d0) && s.device.mappings_accessible();
    if (!ok) ++bad;
    ctx.firmware(("cycle " + std::to_string(i)).c_str());
  }
  KCHECK_MSG(bad == 0, "%d of %d plain cycles failed", bad, cycles);
  bad = 0;
  for (int i = 0; i < cycles; ++i) {
    bool ok = pw.enter_with_wakeup() && ktest::settle(ctx, runtime_status::suspended, target) &&
              ktest::config_read_ok(ctx, s.device);
    auto woke = pw.wait_for_wakeup(2'000'000'000);
    ok = ok && woke && *woke == 1 && ktest::settle(ctx, runtime_status::active, power_state::d0) && !pw.engaged() &&
         s.device.mappings_accessible();
    if (!ok) ++bad;
    ctx.firmware(("wake-up cycle " + std::to_string(i)).c_str());
  }
  KCHECK_MSG(bad == 0, "%d of %d wake-up cycles failed", bad, cycles);
  KCHECK(pw.exit());
}

KSCENARIO("thread_wakeup", "one thread waits on the wake-up eventfd, another reads config space and wakes the device") {
  const long descriptors = ctx.be().open_descriptors();
  {
    ktest::stack s;
    if (!ktest::open_stack(ctx, s)) return;
    auto reader = untraced_descriptor(ctx, s);
    if (second_descriptor_refused(ctx, reader)) return;
    KREQUIRE_MSG(reader, "second descriptor: %s", outcome(reader).c_str());
    ctx.note("second descriptor: ok");
    vfio::pci::power pw(s.device);
    const power_state target = ktest::to_power_state(ktest::expected_deepest(ctx));
    ctx.firmware("open");
    KREQUIRE(pw.enter_with_wakeup());
    KCHECK(ktest::settle(ctx, runtime_status::suspended, target));
    ctx.firmware("entry");

    vfio::result<std::uint16_t> read = vfio::error(vfio::errc::invalid_argument, "not run");
    vfio::result<std::uint64_t> woke = vfio::error(vfio::errc::invalid_argument, "not run");
    {
      watchdog dog(ctx, "thread_wakeup", 30);
      std::thread other([&] {
        // Give the waiter time to block in poll(); the order does not change
        // the outcome (an eventfd signalled before the poll is ready at once).
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        read = vfio::pci::config(*reader).read16(vfio::abi::pci::vendor_id);
      });
      woke = pw.wait_for_wakeup(5'000'000'000);
      other.join();
    }
    ctx.note("reader thread: config read %s", outcome(read).c_str());
    KCHECK_MSG(read && *read != 0xffff, "config read from the other thread: %s", outcome(read).c_str());
    KCHECK_MSG(woke && *woke == 1, "wake-up seen by the waiting thread: %s",
               woke ? std::to_string(*woke).c_str() : outcome(woke).c_str());
    KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d0));
    ctx.firmware("wake");
    KCHECK(!pw.engaged() && s.device.mappings_accessible());
    KCHECK(pw.exit());
  }
  const long after = ctx.be().open_descriptors();
  KCHECK_MSG(after == descriptors, "descriptors before %ld, after %ld", descriptors, after);
}

KSCENARIO("config_race", "200 low-power entries and exits race config reads from another thread: no hang, no error") {
  const long descriptors = ctx.be().open_descriptors();
  {
    ktest::stack s;
    if (!ktest::open_stack(ctx, s)) return;
    auto reader = untraced_descriptor(ctx, s);
    if (second_descriptor_refused(ctx, reader)) return;
    KREQUIRE_MSG(reader, "second descriptor: %s", outcome(reader).c_str());
    ctx.note("second descriptor: ok");
    vfio::pci::power pw(s.device);
    KREQUIRE(pw.detect_dialect());

    std::atomic<bool> go{false};
    int entry_failed = 0, exit_failed = 0, read_failed = 0;
    std::string first_read_error;
    {
      watchdog dog(ctx, "config_race", 120);
      std::thread other([&] {
        while (!go.load()) std::this_thread::yield();
        vfio::pci::config cfg(*reader);
        for (int i = 0; i < race_iterations; ++i) {
          auto v = cfg.read16(vfio::abi::pci::vendor_id);
          if (!v || *v == 0xffff) {
            if (!read_failed++) first_read_error = v ? "0xffff" : outcome(v);
          }
        }
      });
      go.store(true);
      for (int i = 0; i < race_iterations; ++i) {
        if (!pw.enter()) ++entry_failed;
        if (!pw.exit()) ++exit_failed;
      }
      other.join();
    }
    ctx.note("%d entries and exits: %d entries failed, %d exits failed", race_iterations, entry_failed, exit_failed);
    ctx.note("reader thread: %d config reads, %d failed%s%s", race_iterations, read_failed,
             read_failed ? ", first: " : "", first_read_error.c_str());
    KCHECK(entry_failed == 0 && exit_failed == 0);
    KCHECK_MSG(read_failed == 0, "config reads failed: %d (first: %s)", read_failed, first_read_error.c_str());
    KCHECK(ktest::settle(ctx, runtime_status::active, power_state::d0));
    KCHECK(s.device.mappings_accessible());
    KCHECK(ktest::config_read_ok(ctx, s.device));
  }
  const long after = ctx.be().open_descriptors();
  KCHECK_MSG(after == descriptors, "descriptors before %ld, after %ld", descriptors, after);
}
