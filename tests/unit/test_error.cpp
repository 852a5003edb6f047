// vfio::error and its subject: layout, formatting, equality, and the message
// each open failure prints on the simulated host.
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <vfio/container.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "../catch.hpp"

namespace vfio_unit_test_error {

namespace {

namespace sim = vfio::testing::sim;
using vfio::errc;
using vfio::error;
using vfio::subject;
using vfio::testing::simulated_kernel;

TEST_CASE("error: small, and compares by code only", "[error]") {
  // error_code (int + category pointer), operation pointer, 8-byte subject.
  STATIC_REQUIRE(sizeof(subject) == 8);
  STATIC_REQUIRE(sizeof(error) <= 2 * sizeof(std::error_code));
  const error a(std::error_code(EBUSY, std::system_category()), "open", subject::group_node(12));
  const error b(std::error_code(EBUSY, std::system_category()), "VFIO_GROUP_GET_STATUS", subject::group(3));
  CHECK(a == b);
  CHECK(a == std::errc::device_or_resource_busy);
  CHECK(a != error(errc::group_not_viable, "open", subject::group_node(12)));
  // The old two-argument constructors still work and carry no subject.
  const error old(errc::invalid_argument, "x");
  CHECK(old.subject_kind() == subject::kind::none);
  CHECK(old.message() == "x: invalid argument");
}

TEST_CASE("error: subjects render as paths or tags", "[error]") {
  const auto bdf = vfio::host::pci_address{0, 0, 3, 0};
  CHECK(error(std::error_code(EBUSY, std::system_category()), "open", subject::group_node(12)).message() ==
        "open /dev/vfio/12: Device or resource busy");
  CHECK(vfio::errno_error(ENOENT, "readlink", vfio::host::subject_of(bdf, subject::attribute::iommu_group)).message() ==
        "readlink /sys/bus/pci/devices/0000:00:03.0/iommu_group: No such file or directory");
  CHECK(vfio::errno_error(EINVAL, "VFIO_DEVICE_GET_REGION_INFO", subject::region(7)).message() ==
        "VFIO_DEVICE_GET_REGION_INFO (region 7): Invalid argument");
  CHECK(vfio::errno_error(EINVAL, "VFIO_DEVICE_FEATURE", subject::feature(3)).message() ==
        "VFIO_DEVICE_FEATURE (feature 3, LOW_POWER_ENTRY): Invalid argument");
  CHECK(vfio::errno_error(EINVAL, "VFIO_DEVICE_FEATURE", subject::feature(40)).message() ==
        "VFIO_DEVICE_FEATURE (feature 40): Invalid argument");
  CHECK(vfio::errno_error(EINVAL, "VFIO_DEVICE_SET_IRQS", subject::irq(2)).message() ==
        "VFIO_DEVICE_SET_IRQS (IRQ 2): Invalid argument");
  CHECK(
      vfio::errno_error(ENODEV, "VFIO_GROUP_GET_DEVICE_FD", vfio::host::subject_of({0x10, 0xab, 0x1f, 7})).message() ==
      "VFIO_GROUP_GET_DEVICE_FD (device 0010:ab:1f.7): No such device");
  CHECK(error(errc::group_not_viable, "VFIO_GROUP_GET_STATUS", subject::group(4)).message() ==
        "VFIO_GROUP_GET_STATUS (group 4): group not viable (a device is bound to another driver)");
  CHECK(subject::host(subject::host_object::container_node).to_string() == "/dev/vfio/vfio");

  // Accessors and the packing round trip.
  const error e = vfio::errno_error(EACCES, "open", vfio::host::subject_of(bdf, subject::attribute::power_control));
  CHECK(e.subject_kind() == subject::kind::sysfs_attribute);
  CHECK(e.about().sysfs_attribute() == subject::attribute::power_control);
  CHECK(vfio::host::unpack(e.subject_value()) == bdf);
  CHECK(std::string(to_string(e.subject_kind())) == "sysfs_attribute");

  // to_chars truncates but reports the full length, and never writes past the buffer.
  char small[8];
  std::memset(small, 'x', sizeof small);
  const subject s = subject::group_node(123456);
  CHECK(s.to_chars(small, 5) == std::strlen("/dev/vfio/123456"));
  CHECK(std::string(small) == "/dev");
  CHECK(small[5] == 'x');
}

TEST_CASE("error: with_subject and or_subject", "[error]") {
  const error plain = vfio::errno_error(EIO, "write");
  const error a = plain.with_subject(subject::region(1));
  CHECK(a.about() == subject::region(1));
  CHECK(a.or_subject(subject::region(2)).about() == subject::region(1));
  CHECK(plain.or_subject(subject::region(2)).about() == subject::region(2));
  CHECK(plain.about() == subject());
}

TEST_CASE("error: sysfs paths become subjects", "[error]") {
  using vfio::host::detail::subject_of_path;
  const auto bdf = vfio::host::pci_address{0, 1, 0, 0};
  CHECK(subject_of_path("/sys/bus/pci/devices/0000:01:00.0/power/control") ==
        vfio::host::subject_of(bdf, subject::attribute::power_control));
  CHECK(subject_of_path("/sys/devices/pci0000:00/0000:00:04.0/0000:01:00.0/d3cold_allowed") ==
        vfio::host::subject_of(bdf, subject::attribute::d3cold_allowed));
  CHECK(subject_of_path("/sys/bus/pci/devices/0000:01:00.0") == vfio::host::subject_of(bdf));
  CHECK(subject_of_path("/sys/bus/pci/devices/0000:01:00.0/unknown_attr") == vfio::host::subject_of(bdf));
  CHECK(subject_of_path("/sys/bus/pci/drivers_probe") == subject());
  CHECK(subject_of_path("/sys/bus/pci/devices/0000:01:00.0x/power") == subject());
  CHECK(subject_of_path(nullptr) == subject());
}

// The message each open failure prints on the simulated host. Each host is
// broken the way a real one is (module absent, node busy, device bound
// elsewhere ...), and the library is called as a user would call it.
struct host {
  std::unique_ptr<simulated_kernel> k;
  explicit host(sim::kernel_options o = {}) : k(std::make_unique<simulated_kernel>(std::move(o))) {}
};

TEST_CASE("error: open failures say what failed", "[error]") {
  const vfio::host::pci_address e1000e{0, 0, 3, 0};

  SECTION("container: /dev/vfio/vfio missing") {
    sim::kernel_options o;
    o.host.vfio_loaded = false;
    host h(o);
    auto c = vfio::container::open("/dev/vfio/vfio", *h.k);
    REQUIRE_FALSE(c);
    CHECK(c.error().message() == "open /dev/vfio/vfio: No such file or directory");
  }
  SECTION("group: busy") {
    host h;
    REQUIRE(h.k->add_device(sim::profiles::e1000e()));
    auto first = vfio::group::open(3, *h.k);
    REQUIRE(first);
    auto second = vfio::group::open(3, *h.k);
    REQUIRE_FALSE(second);
    CHECK(second.error().message() == "open /dev/vfio/3: Device or resource busy");
  }
  SECTION("group: absent") {
    host h;
    REQUIRE(h.k->add_device(sim::profiles::e1000e()));
    auto g = vfio::group::open(42, *h.k);
    REQUIRE_FALSE(g);
    CHECK(g.error().message() == "open /dev/vfio/42: No such file or directory");
  }
  SECTION("group: device bound to another driver") {
    host h;
    auto d = sim::profiles::e1000e();
    d.driver = "e1000e";
    REQUIRE(h.k->add_device(d));
    auto g = vfio::group::open_for_device(e1000e, *h.k);
    REQUIRE_FALSE(g);
    CHECK(g.error().message() == "open /dev/vfio/3: No such file or directory");
  }
  SECTION("group: device absent") {
    host h;
    auto g = vfio::group::open_for_device(e1000e, *h.k);
    REQUIRE_FALSE(g);
    CHECK(g.error().message() == "readlink /sys/bus/pci/devices/0000:00:03.0/iommu_group: No such file or directory");
  }
  SECTION("group: not viable") {
    host h;
    REQUIRE(h.k->add_device(sim::profiles::e1000e()));
    auto sibling = sim::profiles::nvme("0000:00:03.1", 3);
    sibling.driver = "nvme";
    REQUIRE(h.k->add_device(sibling));
    auto g = vfio::group::open(3, *h.k);
    REQUIRE_FALSE(g);
    CHECK(g.error().message() ==
          "VFIO_GROUP_GET_STATUS (group 3): group not viable (a device is bound to another driver)");
  }
  SECTION("device: wrong name") {
    host h;
    REQUIRE(h.k->add_device(sim::profiles::e1000e()));
    auto c = vfio::container::open("/dev/vfio/vfio", *h.k);
    auto g = vfio::group::open(3, *h.k);
    REQUIRE(c);
    REQUIRE(g);
    REQUIRE(g->set_container(*c));
    REQUIRE(c->set_best_iommu());
    auto wrong = g->open_device("0000:00:04.0");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().message() == "VFIO_GROUP_GET_DEVICE_FD (device 0000:00:04.0): No such device");
    auto empty = g->open_device("");
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message() == "device name check (group 3): invalid device name");
  }
}

TEST_CASE("error: feature errors name the feature", "[error]") {
  simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  auto g = vfio::group::open(3, k);
  REQUIRE(c);
  REQUIRE(g);
  REQUIRE(g->set_container(*c));
  REQUIRE(c->set_best_iommu());
  auto dev = g->open_device("0000:00:03.0");
  REQUIRE(dev);
  // LOW_POWER_EXIT while not in low power is accepted by the kernel; a GET of
  // the SET-only ENTRY is refused with EINVAL.
  auto r = vfio::feature::probe(*dev, vfio::abi::feature_id::low_power_entry, vfio::feature::direction::get);
  REQUIRE_FALSE(r);
  CHECK(r.error().about() == subject::feature(vfio::abi::feature_id::low_power_entry));
  CHECK(r.error().message().find("VFIO_DEVICE_FEATURE (feature 3, LOW_POWER_ENTRY): ") == 0);
  auto bad = vfio::feature::probe(*dev, 0x10000);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "feature id check (feature 65536): invalid argument");
}

}  // namespace

}  // namespace vfio_unit_test_error
