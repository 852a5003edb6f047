// How a VMM wires a guest's power management of an assigned device to VFIO:
//   guest PM_CTRL write of D3hot      -> vfio::pci::power::set_power_state(D3hot)
//   guest ACPI power resource _OFF    -> low-power entry with a wake-up eventfd
//                                        (the host may now take the device to D3cold)
//   the device wakes (any access)     -> the eventfd fires in the VMM's epoll loop
//                                        -> a virtual PME to the guest
//   guest _ON, then PM_CTRL D0        -> low-power exit, D0 (vfio::pci::power::resume)
// The guest is a script of requests on an eventfd; a real VMM gets them from
// KVM exits (the _OFF/_ON AML methods write a port the VMM traps).
// Without arguments it runs against the simulated VFIO kernel (QEMU's e1000e
// with ACPI power resources); `vmm_power_resource 0000:03:00.0` uses a real
// device bound to vfio-pci (root).
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/host/power.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <thread>

namespace {

enum class guest_request { pm_ctrl_d3hot, acpi_off, touch_device, acpi_on, pm_ctrl_d0, shutdown };

const char* name(guest_request r) {
  switch (r) {
    case guest_request::pm_ctrl_d3hot: return "guest writes PM_CTRL D3hot";
    case guest_request::acpi_off: return "guest runs _OFF";
    case guest_request::touch_device: return "guest reads config space (wakes the device)";
    case guest_request::acpi_on: return "guest runs _ON";
    case guest_request::pm_ctrl_d0: return "guest writes PM_CTRL D0";
    case guest_request::shutdown: return "guest shuts down";
  }
  return "?";
}

void show(const char* what, const vfio::host::pci_address& bdf, vfio::syscalls& sys) {
  auto s = vfio::host::wait_for_power_settle(bdf, {}, sys);
  if (s)
    std::printf("  %-46s host: %-9s %s\n", what, vfio::host::to_string(s->status), vfio::host::to_string(s->state));
}

void signal(int efd) {
  const std::uint64_t one = 1;
  if (write(efd, &one, sizeof one) != sizeof one) std::perror("write eventfd");
}

int run(const vfio::host::pci_address& bdf, vfio::syscalls& sys, bool simulated) {
  auto container = vfio::container::open("/dev/vfio/vfio", sys);
  auto group = container ? vfio::group::open_for_device(bdf, sys) : vfio::result<vfio::group>(container.error());
  if (!group) return std::fprintf(stderr, "open: %s\n", group.error().message().c_str()), 1;
  if (!group->set_container(*container) || !container->set_best_iommu()) return 1;
  auto device = group->open_device(vfio::host::to_chars(bdf).data());
  if (!device) return std::fprintf(stderr, "%s\n", device.error().message().c_str()), 1;
  vfio::pci::power pm(*device);

  // The wake-up eventfd is the VMM's (so it can sit in epoll). The simulated
  // kernel's descriptors are not real ones: a relay thread waits on it through
  // the seam and forwards each wake-up to a real eventfd. On a real host the
  // library's eventfd goes into epoll directly.
  const int wake = sys.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const int stop = simulated ? sys.eventfd(0, EFD_CLOEXEC) : -1;
  const int wake_seen = simulated ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : wake;
  std::thread relay;
  if (simulated)
    relay = std::thread([&] {
      for (;;) {
        struct pollfd p[2] = {{wake, POLLIN, 0}, {stop, POLLIN, 0}};
        if (sys.poll(p, 2, -1) < 0 || (p[1].revents & POLLIN)) return;
        std::uint64_t n = 0;
        if (sys.read(wake, &n, sizeof n) == sizeof n) signal(wake_seen);
      }
    });

  const int guest = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);  // the guest's doorbell
  std::deque<guest_request> script = {guest_request::pm_ctrl_d3hot, guest_request::acpi_off,
                                      guest_request::touch_device,  guest_request::acpi_on,
                                      guest_request::pm_ctrl_d0,    guest_request::shutdown};
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = guest;
  epoll_ctl(ep, EPOLL_CTL_ADD, guest, &ev);
  ev.data.fd = wake_seen;
  epoll_ctl(ep, EPOLL_CTL_ADD, wake_seen, &ev);
  signal(guest);

  show("assigned, idle", bdf, sys);
  int pmes = 0;
  bool running = true;
  while (running) {
    struct epoll_event events[4];
    const int n = epoll_wait(ep, events, 4, 2000);
    if (n == 0) {
      std::fprintf(stderr, "nothing happened for 2 s\n");
      break;
    }
    for (int i = 0; i < n; ++i) {
      std::uint64_t count = 0;
      if (read(events[i].data.fd, &count, sizeof count) != sizeof count) continue;
      if (events[i].data.fd == wake_seen) {
        // The device woke: the kernel has ended low power. Tell the library what the
        // loop saw (its mapping state follows), then tell the guest with a virtual PME
        // (PME_Status in the emulated PMCSR and an SCI / PCIe PME interrupt), then let
        // it run _ON.
        if (auto ack = pm.acknowledge_wakeup(count); !ack)
          std::fprintf(stderr, "acknowledge_wakeup: %s\n", ack.error().message().c_str());
        ++pmes;
        show("wake-up eventfd -> virtual PME to the guest", bdf, sys);
        signal(guest);
        continue;
      }
      const guest_request r = script.front();
      script.pop_front();
      vfio::result<void> done;
      switch (r) {
        case guest_request::pm_ctrl_d3hot: {
          auto s = pm.set_power_state(vfio::pci::d_state::d3hot);
          if (!s) done = s.error();
          break;
        }
        case guest_request::acpi_off: {
          vfio::pci::suspend_options o;
          o.wakeup = true;
          o.wakeup_eventfd = wake;
          done = pm.suspend(o);
          break;
        }
        case guest_request::touch_device: {
          auto v = vfio::pci::config(*device).read16(0);
          if (!v) done = v.error();
          break;
        }
        case guest_request::acpi_on: done = pm.resume(); break;
        case guest_request::pm_ctrl_d0: {
          auto s = pm.set_power_state(vfio::pci::d_state::d0);
          if (!s) done = s.error();
          break;
        }
        case guest_request::shutdown: running = false; break;
      }
      if (!done) {
        std::fprintf(stderr, "%s: %s\n", name(r), done.error().message().c_str());
        running = false;
        break;
      }
      show(name(r), bdf, sys);
      // The guest goes on by itself, except after touching a device that is
      // off: then it waits for the PME.
      if (running && r != guest_request::touch_device) signal(guest);
    }
  }
  if (simulated) {
    const std::uint64_t one = 1;
    (void)sys.write(stop, &one, sizeof one);
    relay.join();
    sys.close(stop);
    close(wake_seen);
  }
  sys.close(wake);
  close(guest);
  close(ep);
  std::printf("virtual PMEs delivered: %d, mapped BARs accessible: %s\n", pmes,
              device->mappings_accessible() ? "yes" : "no");
  return running || !script.empty() || pmes != 1 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  vfio::testing::simulated_kernel sim;
  const bool simulated = argc < 2;
  auto bdf = vfio::host::parse_pci_address(simulated ? "0000:00:03.0" : argv[1]);
  if (!bdf) return std::fprintf(stderr, "%s\n", bdf.error().message().c_str()), 2;
  if (simulated) {
    auto nic = vfio::testing::sim::profiles::e1000e();
    nic.power_resources = true;  // ACPI _PR3: low power reaches D3cold
    if (!sim.add_device(nic)) return 1;
  }
  return run(*bdf, simulated ? static_cast<vfio::syscalls&>(sim) : vfio::default_syscalls(), simulated);
}
