// How a downstream project tests its own VFIO code without a device: one test
// scripts the exact ioctls with vfio::testing::scripted_syscalls, another runs
// against the simulated kernel and injects a failure (Catch2).
#include <vfio/abi/vfio.hpp>
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>
#include <vfio/unique_fd.hpp>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

// --- the code under test (the downstream project's) ---------------------------

/// Whether the device can enter low power the Linux 6.1+ way.
bool has_low_power(const vfio::device& dev) {
  return static_cast<bool>(
      vfio::feature::probe(dev, vfio::feature::low_power_entry::id, vfio::feature::direction::set));
}

/// Powers a device down for an idle guest: low-power entry, or, when the kernel
/// refuses it, D3hot through PM_CTRL.
vfio::result<void> power_down(vfio::pci::power& pm) {
  if (pm.suspend()) return {};
  auto d3 = pm.set_power_state(vfio::pci::d_state::d3hot);
  if (!d3) return d3.error();
  return {};
}

}  // namespace

TEST_CASE("scripted ioctls: the low-power probe is one VFIO_DEVICE_FEATURE PROBE|SET", "[example]") {
  std::vector<std::string> mismatches;
  vfio::testing::scripted_syscalls mock([&](const std::string& m) { mismatches.push_back(m); });
  const vfio::abi::device_feature probe{
      8, vfio::abi::feature_id::low_power_entry | vfio::abi::feature_flags::probe | vfio::abi::feature_flags::set};
  mock.expect_ioctl(7, vfio::abi::req::device_feature).with(probe).returns(0);
  mock.expect_ioctl(7, vfio::abi::req::device_feature).with(probe).returns(-ENOTTY);
  mock.expect_close(7);
  {
    vfio::device dev(vfio::unique_fd(7, mock), "0000:00:03.0");
    CHECK(has_low_power(dev));
    CHECK_FALSE(has_low_power(dev));  // a kernel without the feature answers ENOTTY
  }
  CHECK(mock.verify_done());
  CHECK(mismatches.empty());
  CHECK(mock.open_descriptors() == 0);
}

TEST_CASE("simulated kernel with an injected fault: entry fails, D3hot is the fallback", "[example]") {
  vfio::testing::simulated_kernel kernel;
  REQUIRE(kernel.add_device(vfio::testing::sim::profiles::e1000e()));  // 0000:00:03.0, group 3
  auto container = vfio::container::open("/dev/vfio/vfio", kernel);
  auto group = vfio::group::open(3, kernel);
  REQUIRE((container && group && group->set_container(*container) && container->set_best_iommu()));
  auto device = group->open_device("0000:00:03.0");
  REQUIRE(device);
  vfio::pci::power pm(*device);
  REQUIRE(pm.detect_dialect());  // probes now, so the rule below hits the entry itself

  vfio::testing::sim::fault_rule rule;
  rule.kind = vfio::testing::call_kind::ioctl;
  rule.request = vfio::abi::req::device_feature;
  rule.nth = 1;        // the next VFIO_DEVICE_FEATURE: LOW_POWER_ENTRY
  rule.error = EBUSY;  // as if the kernel refused
  kernel.inject(rule);

  REQUIRE(power_down(pm));
  CHECK_FALSE(kernel.low_power_engaged("0000:00:03.0"));
  CHECK(kernel.power_state("0000:00:03.0") == "D3hot");
  CHECK_FALSE(device->mappings_accessible());
  const auto trace = kernel.trace();
  CHECK(std::count_if(trace.begin(), trace.end(), [](const auto& c) { return c.injected; }) == 1);
}
