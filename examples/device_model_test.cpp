// How a VMM tests its device-assignment code without a device: a tiny device
// model that powers its passed-through NIC down when the guest asks for D3,
// tested against the simulated VFIO kernel (Catch2; the model is the "product").
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "catch.hpp"

// The component under test: forwards guest power requests to the host.
struct assigned_nic {
  vfio::pci::power& pm;
  vfio::result<void> guest_set_d3(bool d3) { return d3 ? pm.suspend({true}) : pm.resume(); }
};

TEST_CASE("device model powers the assigned NIC down and up on guest request", "[example]") {
  vfio::testing::simulated_kernel kernel;             // Linux 6.12, merged low-power ABI
  auto nic = vfio::testing::sim::profiles::e1000e();  // 0000:00:03.0, IOMMU group 3
  nic.power_resources = true;                         // the platform has ACPI _PR3
  REQUIRE(kernel.add_device(nic));
  auto container = vfio::container::open("/dev/vfio/vfio", kernel);
  auto group = vfio::group::open(3, kernel);
  REQUIRE((container && group && group->set_container(*container) && container->set_best_iommu()));
  auto device = group->open_device("0000:00:03.0");
  REQUIRE(device);
  vfio::pci::power pm(*device);
  assigned_nic model{pm};

  REQUIRE(model.guest_set_d3(true));
  kernel.settle();  // runtime suspend completes ~14 ms (virtual) after entry
  CHECK(kernel.power_state("0000:00:03.0") == "D3cold");
  CHECK_FALSE(device->mappings_accessible());

  REQUIRE(model.guest_set_d3(false));
  CHECK(kernel.power_state("0000:00:03.0") == "D0");
  CHECK(device->mappings_accessible());
}
