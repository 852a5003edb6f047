// Platform power management in the simulated kernel: pci_target_state asks
// the platform (ACPI _PS0/_PS3 methods, _PR0/_PR3 power resources) before it
// looks at the PM capability, as drivers/pci/pci.c does, and the library's
// power report agrees with what the model then does.
#include <poll.h>

#include <cstdint>
#include <string>
#include <vector>

#include <vfio/host/power.hpp>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_platform_pm {

namespace {

using namespace sim_test;

using words = std::vector<std::string>;

/// edu with the ACPI methods tests/kernel/ssdt-d3cold.asl gives it.
sim::device_description edu_with_methods() {
  auto d = sim::profiles::edu();
  d.power_methods = true;
  return d;
}

vfio::host::pci_address edu_address() { return vfio::host::pci_address{0, 0, 6, 0}; }

}  // namespace

TEST_CASE("simulated platform PM: edu without ACPI power methods idles in D0", "[simulated_kernel][platform_pm]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::edu()));
  CHECK(k.runtime_status(edu_bdf) == "suspended");
  CHECK(k.power_state(edu_bdf) == "D0");  // pci_target_state: not platform-manageable, no PM cap
  long err = 0;
  CHECK(read_sysfs(k, dev_attr(edu_bdf, "firmware_node/power_state"), &err).empty());
  CHECK(err == -ENOENT);
  auto r = vfio::host::read_power_report(edu_address(), vfio::host::capability_presence::unknown, k);
  REQUIRE(r);
  CHECK_FALSE(r->device.platform_power_manageable);
  CHECK(r->pm_capability == vfio::host::capability_presence::absent);
  CHECK(r->deepest == vfio::host::reachable_state::d0);
  CHECK(r->limited_by(vfio::host::power_limit::no_pm_capability));
}

TEST_CASE("simulated platform PM: edu with _PS0/_PS3 runtime-suspends to D3hot", "[simulated_kernel][platform_pm]") {
  simulated_kernel k;
  REQUIRE(k.add_device(edu_with_methods()));
  // At boot: suspended in D3hot through the platform alone (pci_set_low_power_state
  // fails with -EIO, pci_platform_power_transition runs _PS3 and sets current_state).
  CHECK(k.runtime_status(edu_bdf) == "suspended");
  CHECK(k.power_state(edu_bdf) == "D3hot");
  CHECK(read_sysfs(k, dev_attr(edu_bdf, "d3cold_allowed")) == "0");  // pci_pm_init: no PM cap
  CHECK(read_sysfs(k, dev_attr(edu_bdf, "firmware_node/power_state")) == "D3hot");
  CHECK(k.firmware_log(edu_bdf).empty());  // boot's transitions are cleared

  auto r = vfio::host::read_power_report(edu_address(), vfio::host::capability_presence::unknown, k);
  REQUIRE(r);
  CHECK(r->device.platform_power_manageable);
  CHECK(r->pm_capability == vfio::host::capability_presence::absent);
  CHECK(r->deepest == vfio::host::reachable_state::d3hot);
  CHECK_FALSE(r->limited_by(vfio::host::power_limit::no_pm_capability));
  CHECK(r->limited_by(vfio::host::power_limit::d3cold_disallowed));

  // Opening resumes it (_PS0); the last close lets it suspend again (_PS3).
  {
    stack s(k, 6, edu_bdf);
    REQUIRE(s.ok());
    CHECK(k.power_state(edu_bdf) == "D0");
    CHECK(k.runtime_status(edu_bdf) == "active");
    CHECK(read_sysfs(k, dev_attr(edu_bdf, "firmware_node/power_state")) == "D0");
    CHECK(k.firmware_log(edu_bdf) == words{"on"});

    // LOW_POWER_ENTRY: D3hot after the delay; a config read wakes it.
    k.clear_firmware_log(edu_bdf);
    REQUIRE(entry(k, s.device) == 0);
    k.settle();
    CHECK(k.runtime_status(edu_bdf) == "suspended");
    CHECK(k.power_state(edu_bdf) == "D3hot");
    CHECK(k.firmware_log(edu_bdf) == words{"off"});
    std::uint16_t vendor = 0;
    // vfio_pci_core_rw resumes the device first: the read succeeds.
    CHECK(cfg_read16(k, s.device, abi::pci::vendor_id, vendor) == 2);
    CHECK(vendor == 0x1234);
    CHECK(k.firmware_log(edu_bdf) == words{"off", "on"});
    CHECK(exit_low_power(k, s.device) == 0);
    CHECK(k.power_state(edu_bdf) == "D0");
    k.clear_firmware_log(edu_bdf);
  }
  CHECK(k.runtime_status(edu_bdf) == "suspending");
  k.settle();
  CHECK(k.power_state(edu_bdf) == "D3hot");
  CHECK(k.firmware_log(edu_bdf) == words{"off"});
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated platform PM: twenty wake-up cycles of edu with _PS0/_PS3", "[simulated_kernel][platform_pm]") {
  simulated_kernel k;
  REQUIRE(k.add_device(edu_with_methods()));
  stack s(k, 6, edu_bdf);
  REQUIRE(s.ok());
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(efd >= 0);
  k.clear_firmware_log(edu_bdf);
  words expected;
  for (int i = 0; i < 20; ++i) {
    INFO("cycle " << i);
    REQUIRE(entry_with_wakeup(k, s.device, efd) == 0);
    k.settle();
    CHECK(k.runtime_status(edu_bdf) == "suspended");
    CHECK(k.power_state(edu_bdf) == "D3hot");
    std::uint16_t v = 0;
    CHECK(cfg_read16(k, s.device, abi::pci::vendor_id, v) == 2);
    pollfd p{efd, POLLIN, 0};
    CHECK(k.poll(&p, 1, 0) == 1);
    std::uint64_t n = 0;
    CHECK(k.read(efd, &n, sizeof n) == 8);
    CHECK(n == 1);
    CHECK(k.power_state(edu_bdf) == "D0");
    expected.emplace_back("off");
    expected.emplace_back("on");
  }
  CHECK(k.firmware_log(edu_bdf) == expected);
  k.close(efd);
}

TEST_CASE("simulated platform PM: the platform decides before the PM capability", "[simulated_kernel][platform_pm]") {
  simulated_kernel k;
  SECTION("power resources without a PM capability stop at D3hot (d3cold_allowed 0)") {
    auto d = sim::profiles::edu();
    d.power_resources = true;
    REQUIRE(k.add_device(d));
    CHECK(k.power_state(edu_bdf) == "D3hot");
    CHECK(read_sysfs(k, dev_attr(edu_bdf, "firmware_node/power_state")) == "D3hot");
    // d3cold_allowed_store sets it even without a PM capability; the next
    // suspend then reaches D3cold (acpi_pci_choose_state, D3cold valid).
    k.clear_firmware_log(edu_bdf);
    CHECK(write_sysfs(k, dev_attr(edu_bdf, "d3cold_allowed"), "1") == 1);
    k.settle();
    CHECK(k.power_state(edu_bdf) == "D3cold");
    CHECK(read_sysfs(k, dev_attr(edu_bdf, "firmware_node/power_state")) == "D3cold");
    // The store's resume (D3hot -> D0) switched no resource (they stay
    // referenced); the D3cold suspend turned them off.
    CHECK(k.firmware_log(edu_bdf) == words{"off"});
    stack s(k, 6, edu_bdf);
    REQUIRE(s.ok());
    CHECK(k.firmware_log(edu_bdf) == words{"off", "on"});
    REQUIRE(entry(k, s.device) == 0);
    k.settle();
    CHECK(k.power_state(edu_bdf) == "D3cold");
    CHECK(k.firmware_log(edu_bdf) == words{"off", "on", "off"});
  }
  SECTION("a PM capability with _PS0/_PS3 only: D3hot, both methods run") {
    auto d = sim::profiles::nvme();
    d.power_methods = true;
    REQUIRE(k.add_device(d));
    CHECK(k.power_state(nvme_bdf) == "D3hot");  // D3cold is not valid without _PR0/_PR3
    k.clear_firmware_log(nvme_bdf);
    stack s(k, 5, nvme_bdf);
    REQUIRE(s.ok());
    CHECK(k.firmware_log(nvme_bdf) == words{"on"});
    // A PM_CTRL write of D3hot goes through pci_set_power_state: the PM
    // capability first, then the platform (_PS3).
    std::uint16_t pmcsr = 0;
    REQUIRE(cfg_read16(k, s.device, 0x60 + abi::pci::pm_ctrl, pmcsr) == 2);
    REQUIRE(cfg_write16(k, s.device, 0x60 + abi::pci::pm_ctrl, static_cast<std::uint16_t>(pmcsr | 3)) == 2);
    CHECK(k.power_state(nvme_bdf) == "D3hot");
    CHECK(k.firmware_log(nvme_bdf) == words{"on", "off"});
    REQUIRE(cfg_write16(k, s.device, 0x60 + abi::pci::pm_ctrl, static_cast<std::uint16_t>(pmcsr & ~3U)) == 2);
    CHECK(k.power_state(nvme_bdf) == "D0");
    CHECK(k.firmware_log(nvme_bdf) == words{"on", "off", "on"});
  }
  SECTION("no ACPI companion: methods cannot be reached") {
    auto d = edu_with_methods();
    d.acpi_node = false;
    REQUIRE(k.add_device(d));
    CHECK(k.power_state(edu_bdf) == "D0");
    CHECK(k.firmware_log(edu_bdf).empty());
  }
}

}  // namespace vfio_unit_test_simulated_kernel_platform_pm
