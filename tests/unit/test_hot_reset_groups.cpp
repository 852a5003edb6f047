// PCI hot reset across groups (vfio/hot_reset.hpp): the plan names the affected devices
// the caller does not own, and the reset passes exactly the owned groups' descriptors.
// Against the simulated kernel (a root port with two functions in two groups) and the
// scripted mock (the cdev dev_id reporting, which the simulation does not model).
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/hot_reset.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_hot_reset_groups {

namespace {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::owned_group;
using vfio::testing::simulated_kernel;

/// A root port at 00:04.0 with two functions behind it: 01:00.0 (group 7) and
/// 01:00.1 (group 8); an e1000e on the root bus (group 3).
void add_two_function_bus(simulated_kernel& k) {
  REQUIRE(k.add_bridge(sim::profiles::pcie_root_port("0000:00:04.0", 4)));
  REQUIRE(k.add_device(sim::profiles::virtio_net("0000:01:00.0", 7, "0000:00:04.0")));
  REQUIRE(k.add_device(sim::profiles::virtio_net("0000:01:00.1", 8, "0000:00:04.0")));
  REQUIRE(k.add_device(sim::profiles::e1000e("0000:00:03.0", 3)));
}

std::size_t count_calls(const simulated_kernel& k, int fd, unsigned long request) {
  std::size_t n = 0;
  for (const auto& c : k.trace()) n += c.fd == fd && c.request == request ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("hot reset: the plan names devices of groups not owned; the reset needs them all",
          "[hot_reset][simulated_kernel]") {
  simulated_kernel k;
  add_two_function_bus(k);
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  REQUIRE(c);
  auto g7 = vfio::group::open(7, k);
  REQUIRE(g7);
  REQUIRE(g7->set_container(*c));
  REQUIRE(c->set_best_iommu());
  auto dev = g7->open_device("0000:01:00.0");
  REQUIRE(dev);

  // Only group 7 owned: 01:00.1 (group 8) is named; no reset is attempted.
  const owned_group just7[] = {*g7};
  auto plan = vfio::plan_hot_reset(*dev, just7);
  REQUIRE(plan);
  REQUIRE(plan->devices.size() == 2);
  CHECK_FALSE(plan->complete());
  const auto missing = plan->not_owned();
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].group == 8);
  CHECK(missing[0].address.bus == 1);
  CHECK(missing[0].address.device == 0);
  CHECK(missing[0].address.function == 1);
  CHECK(plan->group_fds == std::vector<int>{g7->fd()});
  k.clear_trace();
  auto r = vfio::hot_reset(*dev, just7);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::operation_not_permitted);
  CHECK(count_calls(k, dev->fd(), abi::req::device_pci_hot_reset) == 0);
  // What the kernel says when asked anyway: EINVAL, naming nothing.
  const int only7[] = {g7->fd()};
  auto raw = dev->pci_hot_reset(only7);
  REQUIRE_FALSE(raw);
  CHECK(raw.error() == std::errc::invalid_argument);

  // Owning group 8 too (attached to the same container): the reset passes both.
  auto g8 = vfio::group::open(8, k);
  REQUIRE(g8);
  REQUIRE(g8->set_container(*c));
  auto g3 = vfio::group::open(3, k);  // an unrelated group is ignored
  REQUIRE(g3);
  const owned_group owned[] = {*g3, *g8, *g7};
  plan = vfio::plan_hot_reset(*dev, owned);
  REQUIRE(plan);
  CHECK(plan->complete());
  CHECK(plan->not_owned().empty());
  CHECK(plan->group_fds == std::vector<int>{g7->fd(), g8->fd()});  // listing order, no duplicate
  k.clear_trace();
  CHECK(vfio::hot_reset(*dev, owned));
  CHECK(count_calls(k, dev->fd(), abi::req::device_pci_hot_reset) == 1);

  // A device on the root bus: no slot or bus reset (ENODEV from the info ioctl).
  auto c3 = vfio::container::open("/dev/vfio/vfio", k);
  REQUIRE(c3);
  REQUIRE(g3->set_container(*c3));
  REQUIRE(c3->set_best_iommu());
  auto e1000e = g3->open_device("0000:00:03.0");
  REQUIRE(e1000e);
  auto none = vfio::plan_hot_reset(*e1000e, owned);
  REQUIRE_FALSE(none);
  CHECK(none.error() == std::errc::no_such_device);
}

TEST_CASE("hot reset: dev_id reporting (cdev) takes the kernel's ownership and no descriptors", "[hot_reset]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  vfio::device dev = vfio_test::open_scripted_device(mock, 4, 9, "0000:01:00.0");
  abi::pci_hot_reset_info hdr{};
  hdr.argsz = sizeof hdr;
  abi::pci_hot_reset_info need = hdr;
  need.flags = abi::hot_reset_flags::dev_id;
  need.count = 2;
  mock.expect_ioctl(9, abi::req::device_get_pci_hot_reset_info).with(hdr).fills(need).fails(ENOSPC);
  struct {
    abi::pci_hot_reset_info h;
    abi::pci_dependent_device d[2];
  } full{};
  full.h.argsz = sizeof full;
  abi::pci_hot_reset_info ask{};
  ask.argsz = sizeof full;
  full.h.flags = abi::hot_reset_flags::dev_id;
  full.h.count = 2;
  full.d[0].devid = 5;
  full.d[0].bus = 1;
  full.d[0].devfn = 0;
  full.d[1].devid = abi::pci_devid::not_owned;
  full.d[1].bus = 1;
  full.d[1].devfn = 1;
  mock.expect_ioctl(9, abi::req::device_get_pci_hot_reset_info).with(ask).fills(full).returns(0);
  const owned_group nothing[1] = {};
  auto plan = vfio::plan_hot_reset(dev, vfio::span<const owned_group>(nothing, 0));
  REQUIRE(plan);
  REQUIRE(plan->devices.size() == 2);
  CHECK(plan->devices[0].owned);
  CHECK(plan->devices[0].devid == 5);
  CHECK_FALSE(plan->devices[1].owned);
  CHECK(plan->devices[1].address.function == 1);
  CHECK(plan->group_fds.empty());
  mock.expect_close(9).returns(0);
  CHECK(dev.close());
  CHECK(mock.verify_done());
  CHECK(s.mismatches.empty());
}

}  // namespace vfio_unit_test_hot_reset_groups
