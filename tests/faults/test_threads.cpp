// Built with -fsanitize=thread: what the library documents as safe to share
// across threads. The simulated kernel serializes every call with one mutex;
// device::mappings_accessible() is the flag a VMM's vCPU thread reads before
// touching a BAR mapping while another thread suspends or resumes the device.
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <poll.h>
#include <sys/eventfd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "../catch.hpp"

namespace sim = vfio::testing::sim;
using vfio::testing::simulated_kernel;

TEST_CASE("tsan: one simulated kernel used from several threads", "[tsan]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  REQUIRE(k.add_device(sim::profiles::nvme()));
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  auto g = vfio::group::open(3, k);
  REQUIRE((c && g && g->set_container(*c) && c->set_best_iommu()));
  auto d = g->open_device("0000:00:03.0");
  REQUIRE(d);
  const int efd = k.eventfd(0, EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  vfio::unique_fd owned_efd(efd, k);
  const int fds[1] = {efd};
  REQUIRE(d->set_irq_eventfds(vfio::abi::pci_irq::msix, 0, vfio::span<const int>(fds, 1)));

  constexpr int rounds = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  // Containers opened and closed, extensions checked.
  threads.emplace_back([&] {
    for (int i = 0; i < rounds; ++i) {
      auto own = vfio::container::open("/dev/vfio/vfio", k);
      if (!own || !own->check_extension(vfio::abi::extension::type1v2_iommu)) ++failures;
    }
  });
  // sysfs reads of the other device.
  threads.emplace_back([&] {
    char buf[64];
    for (int i = 0; i < rounds; ++i)
      if (!vfio::host::read_attribute("/sys/bus/pci/devices/0000:00:05.0/power/runtime_status", buf, sizeof buf, k))
        ++failures;
  });
  // Config reads through the device (the device object itself stays on this thread).
  threads.emplace_back([&, fd = d->fd()] {
    for (int i = 0; i < rounds; ++i) {
      std::uint32_t id = 0;
      if (k.pread(fd, &id, sizeof id, static_cast<std::int64_t>(vfio::abi::pci_region::config) << 40) != 4) ++failures;
    }
  });
  // The device side raises the interrupt; this waits on the eventfd with poll(-1).
  threads.emplace_back([&] {
    for (int i = 0; i < rounds; ++i) k.raise_interrupt("0000:00:03.0", vfio::abi::pci_irq::msix, 0);
  });
  std::uint64_t received = 0;
  while (received < rounds) {
    struct pollfd p = {efd, POLLIN, 0};
    if (k.poll(&p, 1, -1) != 1) {
      ++failures;
      break;
    }
    std::uint64_t n = 0;
    if (k.read(efd, &n, sizeof n) != 8) {
      ++failures;
      break;
    }
    received += n;
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(received == rounds);
  CHECK(k.trace().size() > 4 * rounds);
}

TEST_CASE("tsan: mappings_accessible() read by another thread while suspend() and resume() run", "[tsan]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  auto g = vfio::group::open(3, k);
  REQUIRE((c && g && g->set_container(*c) && c->set_best_iommu()));
  auto d = g->open_device("0000:00:03.0");
  REQUIRE(d);
  vfio::pci::power pm(*d);

  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<long> inaccessible{0};
  const vfio::device& shared = *d;
  std::thread vcpu([&] {
    while (!stop.load()) {
      if (!shared.mappings_accessible()) ++inaccessible;
      ++reads;
    }
  });
  int cycles = 0;
  for (; cycles < 100; ++cycles) {
    vfio::pci::suspend_options opt;
    opt.wakeup = (cycles % 2) == 0;
    if (!pm.suspend(opt)) break;
    k.settle();
    if (!pm.resume()) break;
  }
  stop = true;
  vcpu.join();
  CHECK(cycles == 100);
  CHECK(reads > 0);
  CHECK(d->mappings_accessible());
}
