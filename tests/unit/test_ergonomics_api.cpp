// One way to name a device, memory mapped as memory, one parameter order, and
// the power vocabularies' conversions and names.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/mman.h>

#include <vfio/container.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/host/power.hpp>
#include <vfio/power_states.hpp>
#include <vfio/region.hpp>
#include <vfio/testing/ioctl_names.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_ergonomics_api {

using namespace sim_test;
namespace host = vfio::host;
namespace pci = vfio::pci;

namespace {

const host::pci_address e1000e{0, 0, 3, 0};

/// Container and group 3 attached, Type1v2 set.
struct attached {
  vfio::result<vfio::container> container;
  vfio::result<vfio::group> group;
  explicit attached(simulated_kernel& k)
      : container(vfio::container::open("/dev/vfio/vfio", k)), group(vfio::group::open_for_device(e1000e, k)) {
    REQUIRE(container);
    REQUIRE(group);
    REQUIRE(group->set_container(*container));
    REQUIRE(container->set_best_iommu());
  }
};

}  // namespace

TEST_CASE("a device opens by address or by name, a group by address or by text", "[ergonomics]") {
  simulated_kernel k;
  add_qemu_machine(k);
  auto by_text = vfio::group::open_for_device("0000:00:03.0", k);
  REQUIRE(by_text);
  CHECK(by_text->number() == 3);
  by_text = vfio::group();  // the node is single-open: close it before the next open

  attached a(k);
  auto by_address = a.group->open_device(e1000e);
  REQUIRE(by_address);
  CHECK(by_address->name() == "0000:00:03.0");
  CHECK(k.open_count(e1000e_bdf) == 1);
  auto by_name = a.group->open_device("0000:00:03.0");
  REQUIRE(by_name);
  CHECK(k.open_count(e1000e_bdf) == 2);

  // Text that is not an address fails before any syscall.
  const auto before = k.trace().size();
  auto bad = vfio::group::open_for_device("00:03.0x", k);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == vfio::errc::invalid_bdf);
  CHECK(k.trace().size() == before);
  // A device of another group: the kernel's ENODEV (vfio_device_get_from_name).
  auto elsewhere = a.group->open_device(host::pci_address{0, 0, 5, 0});
  REQUIRE_FALSE(elsewhere);
  CHECK(elsewhere.error() == std::errc::no_such_device);
}

TEST_CASE("map_dma takes memory as memory", "[ergonomics][container]") {
  simulated_kernel k;
  add_qemu_machine(k);
  attached a(k);
  const std::size_t page = 4096;
  void* raw = nullptr;
  REQUIRE(::posix_memalign(&raw, page, 4 * page) == 0);
  auto* bytes = static_cast<std::byte*>(raw);

  CHECK(a.container->map_dma(raw, 0x100000, page));  // void*: device reads and writes
  const void* read_only = bytes + page;
  CHECK(a.container->map_dma(read_only, 0x200000, page));  // const void*: device reads only
  CHECK(a.container->map_dma(vfio::span<std::byte>(bytes + 2 * page, page), 0x300000));
  CHECK(a.container->map_dma(vfio::span<std::byte>(bytes + 3 * page, page), 0x400000, vfio::abi::dma_map_flags::write));

  const auto maps = k.dma_mappings(a.container->fd());
  REQUIRE(maps.size() == 4);
  const auto at = [&](std::uint64_t iova) {
    for (const auto& m : maps)
      if (m.iova == iova) return m;
    FAIL("no mapping at the IOVA");
    return maps[0];
  };
  CHECK(at(0x100000).vaddr == reinterpret_cast<std::uintptr_t>(raw));
  CHECK((at(0x100000).readable && at(0x100000).writable));
  CHECK(at(0x200000).vaddr == reinterpret_cast<std::uintptr_t>(read_only));
  CHECK((at(0x200000).readable && !at(0x200000).writable));
  CHECK(at(0x300000).vaddr == reinterpret_cast<std::uintptr_t>(bytes + 2 * page));
  CHECK(at(0x300000).size == page);
  CHECK((!at(0x400000).readable && at(0x400000).writable));

  // The kernel's checks still apply: an unaligned address is EINVAL (vfio_dma_do_map).
  auto unaligned = a.container->map_dma(bytes + 1, 0x500000, page);
  REQUIRE_FALSE(unaligned);
  CHECK(unaligned.error() == std::errc::invalid_argument);
  CHECK(a.container->unmap_all_dma());
  std::free(raw);
}

TEST_CASE("one parameter order: subject, options, seam, sysfs root", "[ergonomics][host]") {
  simulated_kernel k;
  add_qemu_machine(k);
  auto group = host::iommu_group_of(e1000e, k, "/sys");
  REQUIRE(group);
  CHECK(*group == 3);
  auto report = host::read_power_report(e1000e, host::capability_presence::unknown, k, "/sys");
  REQUIRE(report);
  // Bound to vfio-pci and not open, the device is runtime-suspended.
  host::settle_options o;
  o.expect_status = host::runtime_status::suspended;
  host::power_sample last;
  auto settled = host::wait_for_power_settle(e1000e, o, &last, k, "/sys");
  REQUIRE(settled);
  CHECK(last.status == host::runtime_status::suspended);
  auto plain = host::wait_for_power_settle(e1000e, o, k);
  CHECK(plain);

  // A status that never comes: the last reading is still reported.
  o.expect_status = host::runtime_status::active;
  o.timeout_ns = 10'000'000;
  last = {};
  auto timed_out = host::wait_for_power_settle(e1000e, o, &last, k);
  REQUIRE_FALSE(timed_out);
  CHECK(timed_out.error() == vfio::errc::timed_out);
  CHECK(last.status == host::runtime_status::suspended);
}

TEST_CASE("power vocabularies convert where a mapping exists", "[ergonomics][power]") {
  using host::power_state;
  using host::reachable_state;
  using pci::d_state;
  static_assert(host::to_power_state(d_state::d3hot) == power_state::d3hot, "usable in constant expressions");

  for (const d_state s : {d_state::d0, d_state::d1, d_state::d2, d_state::d3hot}) {
    CHECK(pci::to_d_state(host::to_power_state(s)) == s);  // a round trip
    CHECK(std::string(to_string(host::to_power_state(s))) == to_string(s));
  }
  for (const reachable_state s : {reachable_state::d0, reachable_state::d3hot, reachable_state::d3cold}) {
    CHECK(host::to_reachable_state(host::to_power_state(s)) == s);
    CHECK(std::string(to_string(host::to_power_state(s))) == to_string(s));
  }
  CHECK(pci::to_d_state(power_state::d3cold) == std::nullopt);  // no PowerState encoding
  CHECK(pci::to_d_state(reachable_state::d3cold) == std::nullopt);
  CHECK(pci::to_d_state(reachable_state::d3hot) == d_state::d3hot);
  CHECK(host::to_reachable_state(d_state::d0) == reachable_state::d0);
  CHECK(host::to_reachable_state(d_state::d1) == std::nullopt);
  CHECK(host::to_reachable_state(power_state::d2) == std::nullopt);
  for (const power_state s : {power_state::absent, power_state::unknown, power_state::error, power_state::other}) {
    CHECK(pci::to_d_state(s) == std::nullopt);
    CHECK(host::to_reachable_state(s) == std::nullopt);
  }
}

TEST_CASE("every public enum has a name", "[ergonomics]") {
  CHECK(std::string(to_string(host::runtime_pm_control::automatic)) == "auto");
  CHECK(std::string(to_string(host::runtime_pm_control::on)) == "on");
  CHECK(std::string(to_string(host::d3cold_policy::disallowed)) == "disallowed");
  CHECK(std::string(to_string(host::capability_presence::present)) == "present");
  CHECK(std::string(to_string(vfio::feature::direction::get_set)) == "GET and SET");
  CHECK(std::string(to_string(pci::low_power_request::enter_with_wakeup)) == "enter with wake-up");
  CHECK(std::string(to_string(pci::d3hot_policy::if_possible)) == "if possible");
  CHECK(std::string(to_string(vfio::testing::ioctl_target::container)) == "container");
  CHECK(std::string(to_string(vfio::testing::sim::kernel_version::v6_12)) == "6.12");
  CHECK(std::string(to_string(vfio::testing::sim::low_power_dialect::seed)) == "seed");
  // Out-of-range values do not crash.
  CHECK(std::string(to_string(static_cast<host::d3cold_policy>(99))) == "?");
}

}  // namespace vfio_unit_test_ergonomics_api
