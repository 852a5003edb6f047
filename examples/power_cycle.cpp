// The power cycle of the 2022 VFIO runtime-PM RFC in a page:
//   D0 -> D3hot (PM_CTRL) -> low-power entry with a wake-up eventfd -> a config
//   read wakes the device -> low-power exit -> D0, verified through PM_CTRL.
// Without arguments it runs against the simulated VFIO kernel (QEMU's e1000e
// at 0000:00:03.0 on a platform with ACPI power resources, so it reaches
// D3cold); `power_cycle 0000:03:00.0` drives a real device bound to vfio-pci (root).
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/host/power.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <cinttypes>
#include <cstdio>

namespace {

vfio::result<void> cycle(vfio::host::pci_address bdf, vfio::syscalls& sys) {
  auto container = vfio::container::open("/dev/vfio/vfio", sys);
  if (!container) return container.error();
  auto group = vfio::group::open_for_device(bdf, sys);
  if (!group) return group.error();
  if (auto r = group->set_container(*container); !r) return r;
  if (auto r = container->set_best_iommu(); !r) return r.error();  // result<std::uint32_t>
  auto device = group->open_device(vfio::host::to_chars(bdf).data());
  if (!device) return device.error();

  const auto state = [&](const char* step) {  // what sysfs says once it settles
    auto s = vfio::host::wait_for_power_settle(bdf, {}, sys);
    if (s)
      std::printf("%-28s runtime_status=%-9s power_state=%s\n", step, vfio::host::to_string(s->status),
                  vfio::host::to_string(s->state));
  };
  vfio::pci::power pm(*device);
  state("open");
  if (auto r = pm.set_power_state(vfio::pci::d_state::d3hot); !r) return r.error();
  state("PM_CTRL -> D3hot");
  if (auto r = pm.suspend({/*wakeup=*/true}); !r) return r;  // LOW_POWER_ENTRY_WITH_WAKEUP
  state("low-power entry");
  if (auto r = vfio::pci::config(*device).read16(0); !r) return r.error();  // any access wakes it
  auto woke = pm.wait_for_wakeup(1'000'000'000);                            // nanoseconds
  if (!woke) return woke.error();
  std::printf("wake-up eventfd count %" PRIu64 "\n", *woke);
  state("woken");
  if (auto r = pm.resume(); !r) return r;  // LOW_POWER_EXIT, then D0 through PM_CTRL
  state("exit -> D0");
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  vfio::testing::simulated_kernel sim;
  vfio::syscalls* sys = &sim;
  const char* bdf_text = "0000:00:03.0";
  if (argc > 1) {
    bdf_text = argv[1];
    sys = &vfio::default_syscalls();
  } else {
    auto nic = vfio::testing::sim::profiles::e1000e();
    nic.power_resources = true;
    if (!sim.add_device(nic)) return 1;
  }
  auto bdf = vfio::host::parse_pci_address(bdf_text);
  if (!bdf) return std::fprintf(stderr, "%s\n", bdf.error().message().c_str()), 2;
  auto r = cycle(*bdf, *sys);
  if (!r) std::fprintf(stderr, "power_cycle: %s\n", r.error().message().c_str());
  return r ? 0 : 1;
}
