// Unit tests for vfio::group against the scripted syscall seam: opening and
// viability, container attach/detach, and VFIO_GROUP_GET_DEVICE_FD framing.
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_group {

namespace {

namespace abi = vfio::abi;
using vfio::container;
using vfio::group;
using vfio::testing::scripted_syscalls;

using vfio_test::op;
using vfio_test::seam;

constexpr int container_fd = 3;
constexpr int group_fd = 4;
constexpr int device_fd = 9;

abi::group_status status_bytes(std::uint32_t flags) { return abi::group_status{sizeof(abi::group_status), flags}; }

/// Scripts open("/dev/vfio/<n>") and a GET_STATUS answering `flags`.
void expect_group_open(scripted_syscalls& mock, unsigned number, int fd, std::uint32_t flags) {
  mock.expect_open("/dev/vfio/" + std::to_string(number)).with_flags(O_RDWR | O_CLOEXEC).returns(fd);
  mock.expect_ioctl(fd, abi::req::group_get_status).with(status_bytes(0)).fills(status_bytes(flags)).returns(0);
}

group open_group(scripted_syscalls& mock, unsigned number = 7, int fd = group_fd) {
  expect_group_open(mock, number, fd, abi::group_flags::viable);
  auto g = group::open(number, mock);
  REQUIRE(g.has_value());
  return std::move(*g);
}

container open_container(scripted_syscalls& mock) {
  mock.expect_open("/dev/vfio/vfio").returns(container_fd);
  mock.expect_ioctl(container_fd, abi::req::get_api_version).returns(abi::api_version);
  auto c = container::open("/dev/vfio/vfio", mock);
  REQUIRE(c.has_value());
  return std::move(*c);
}

}  // namespace

// --- open -------------------------------------------------------------------

TEST_CASE("group: open checks viability with GET_STATUS (argsz 8)", "[group]") {
  seam s;
  {
    expect_group_open(s.mock, 7, group_fd, abi::group_flags::viable);
    auto g = group::open(7, s.mock);
    REQUIRE(g.has_value());
    CHECK(static_cast<bool>(*g));
    CHECK(g->number() == 7);
    CHECK(g->fd() == group_fd);
    CHECK(&g->sys() == &s.mock);
    CHECK(s.mock.open_descriptors() == 1);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: the node path is /dev/vfio/<decimal number>", "[group]") {
  seam s;
  for (unsigned number : {0u, 10u, 4294967295u}) {
    expect_group_open(s.mock, number, group_fd, abi::group_flags::viable);
    s.mock.expect_close(group_fd);
    auto g = group::open(number, s.mock);
    REQUIRE(g.has_value());
    CHECK(g->number() == number);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: a group that is not viable is closed and reported", "[group]") {
  seam s;
  expect_group_open(s.mock, 7, group_fd, 0);
  s.mock.expect_close(group_fd);
  auto g = group::open(7, s.mock);
  REQUIRE_FALSE(g.has_value());
  CHECK(g.error() == vfio::errc::group_not_viable);
  CHECK(op(g.error()) == "VFIO_GROUP_GET_STATUS");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: a second open of the same group fails with EBUSY", "[group]") {
  seam s;
  {
    group first = open_group(s.mock);
    // vfio_group_fops_open: group->opened_file is set, so the kernel refuses.
    s.mock.expect_open("/dev/vfio/7").fails(EBUSY);
    auto second = group::open(7, s.mock);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error() == std::errc::device_or_resource_busy);
    CHECK(op(second.error()) == "open");
    CHECK(static_cast<bool>(first));
    CHECK(s.mock.open_descriptors() == 1);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: open errors from open(2) and GET_STATUS", "[group]") {
  seam s;
  s.mock.expect_open("/dev/vfio/12").fails(ENOENT);
  auto missing = group::open(12, s.mock);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == std::errc::no_such_file_or_directory);

  s.mock.expect_open("/dev/vfio/7").returns(group_fd);
  s.mock.expect_ioctl(group_fd, abi::req::group_get_status).with(status_bytes(0)).fails(ENODEV);
  s.mock.expect_close(group_fd);
  auto gone = group::open(7, s.mock);
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error() == std::errc::no_such_device);
  CHECK(op(gone.error()) == "VFIO_GROUP_GET_STATUS");

  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: open_for_device resolves the group through sysfs", "[group]") {
  seam s;
  const vfio::host::pci_address bdf{0, 0, 3, 0};
  {
    s.mock.expect_readlink("/sys/bus/pci/devices/0000:00:03.0/iommu_group")
        .fills_text("../../../kernel/iommu_groups/12");
    expect_group_open(s.mock, 12, group_fd, abi::group_flags::viable);
    auto g = group::open_for_device(bdf, s.mock);
    REQUIRE(g.has_value());
    CHECK(g->number() == 12);
    s.mock.expect_close(group_fd);
  }
  {
    s.mock.expect_readlink("/tmp/fake-sys/bus/pci/devices/0000:00:03.0/iommu_group")
        .fills_text("../../../kernel/iommu_groups/5");
    expect_group_open(s.mock, 5, group_fd, abi::group_flags::viable);
    auto g = group::open_for_device(bdf, s.mock, "/tmp/fake-sys");
    REQUIRE(g.has_value());
    CHECK(g->number() == 5);
    s.mock.expect_close(group_fd);
  }
  // No IOMMU group: nothing is opened.
  s.mock.expect_readlink("/sys/bus/pci/devices/0000:00:03.0/iommu_group").fails(ENOENT);
  auto none = group::open_for_device(bdf, s.mock);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error() == std::errc::no_such_file_or_directory);
  CHECK(op(none.error()) == "readlink");

  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: move assignment closes the old group at once", "[group]") {
  seam s;
  {
    group a = open_group(s.mock, 7, group_fd);
    group b = open_group(s.mock, 8, 5);
    s.mock.expect_close(group_fd);  // a's old descriptor, before anything else
    a = std::move(b);
    CHECK(a.fd() == 5);
    CHECK(a.number() == 8);
    CHECK_FALSE(static_cast<bool>(b));  // NOLINT(bugprone-use-after-move): checking the moved-from state
    CHECK(b.number() == 0);             // NOLINT(bugprone-use-after-move)
    CHECK(s.mock.open_descriptors() == 1);
    s.mock.expect_close(5);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

// --- status, containers -----------------------------------------------------------

TEST_CASE("group: status decodes both flags", "[group]") {
  seam s;
  {
    group g = open_group(s.mock);
    s.mock.expect_ioctl(group_fd, abi::req::group_get_status)
        .with(status_bytes(0))
        .fills(status_bytes(abi::group_flags::viable | abi::group_flags::container_set));
    auto st = g.status();
    REQUIRE(st.has_value());
    CHECK(st->viable);
    CHECK(st->container_set);

    s.mock.expect_ioctl(group_fd, abi::req::group_get_status).with(status_bytes(0)).fills(status_bytes(0));
    auto none = g.status();
    REQUIRE(none.has_value());
    CHECK_FALSE(none->viable);
    CHECK_FALSE(none->container_set);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: set_container passes a pointer to the container fd", "[group]") {
  seam s;
  {
    container c = open_container(s.mock);
    group g = open_group(s.mock);
    const int expected_fd = container_fd;
    s.mock.expect_ioctl(group_fd, abi::req::group_set_container).with(expected_fd).returns(0);
    CHECK(g.set_container(c).has_value());

    // Already attached: vfio_group_ioctl_set_container answers -EINVAL.
    s.mock.expect_ioctl(group_fd, abi::req::group_set_container).with(expected_fd).fails(EINVAL);
    auto again = g.set_container(c);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error() == std::errc::invalid_argument);
    CHECK(op(again.error()) == "VFIO_GROUP_SET_CONTAINER");

    s.mock.expect_ioctl(group_fd, abi::req::group_unset_container).returns(0);
    CHECK(g.unset_container().has_value());

    s.mock.expect_ioctl(group_fd, abi::req::group_unset_container).fails(EINVAL);
    auto no_container = g.unset_container();
    REQUIRE_FALSE(no_container.has_value());
    CHECK(no_container.error() == std::errc::invalid_argument);
    CHECK(op(no_container.error()) == "VFIO_GROUP_UNSET_CONTAINER");

    s.mock.expect_close(group_fd);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: set_container refuses empty objects and foreign seams", "[group]") {
  seam s;
  seam other;
  {
    group g = open_group(s.mock);
    container empty;
    auto a = g.set_container(empty);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error() == std::errc::bad_file_descriptor);

    container foreign = open_container(other.mock);
    auto b = g.set_container(foreign);
    REQUIRE_FALSE(b.has_value());
    CHECK(b.error() == vfio::errc::invalid_argument);

    group empty_group;
    auto c = empty_group.set_container(foreign);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error() == std::errc::bad_file_descriptor);
    CHECK(empty_group.unset_container().error() == std::errc::bad_file_descriptor);
    CHECK(empty_group.status().error() == std::errc::bad_file_descriptor);
    CHECK(empty_group.open_device("0000:00:03.0").error() == std::errc::bad_file_descriptor);

    other.mock.expect_close(container_fd);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(other.mock.open_descriptors() == 0);
  CHECK(other.mock.verify_done());
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: unset_container with devices open is EBUSY", "[group]") {
  seam s;
  {
    group g = open_group(s.mock);
    s.mock.expect_ioctl(group_fd, abi::req::group_unset_container).fails(EBUSY);
    auto r = g.unset_container();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::device_or_resource_busy);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.verify_done());
}

// --- GET_DEVICE_FD -------------------------------------------------------------------

TEST_CASE("group: open_device passes the exact NUL-terminated name; the device owns the fd", "[group][device]") {
  seam s;
  {
    group g = open_group(s.mock);
    s.mock.expect_ioctl(group_fd, abi::req::group_get_device_fd).with_bytes("0000:00:03.0", 13).returns_fd(device_fd);
    {
      auto d = g.open_device("0000:00:03.0");
      REQUIRE(d.has_value());
      CHECK(d->fd() == device_fd);
      CHECK(d->name() == "0000:00:03.0");
      CHECK(&d->sys() == &s.mock);
      CHECK(s.mock.open_descriptors() == 2);
      s.mock.expect_close(device_fd);
    }
    CHECK(s.mock.open_descriptors() == 1);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: open_device appends the VF token", "[group][device]") {
  seam s;
  {
    group g = open_group(s.mock);
    const std::string expected = "0000:04:10.0 vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3";
    s.mock.expect_ioctl(group_fd, abi::req::group_get_device_fd)
        .with_bytes(expected.c_str(), expected.size() + 1)
        .returns_fd(device_fd);
    auto d = g.open_device("0000:04:10.0", "bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3");
    REQUIRE(d.has_value());
    CHECK(d->fd() == device_fd);
    s.mock.expect_close(device_fd);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: a failing GET_DEVICE_FD leaks nothing", "[group][device]") {
  seam s;
  {
    group g = open_group(s.mock);
    // No container or no IOMMU set yet: vfio_df_group_open answers -EINVAL.
    s.mock.expect_ioctl(group_fd, abi::req::group_get_device_fd).with_bytes("0000:00:03.0", 13).fails(EINVAL);
    auto a = g.open_device("0000:00:03.0");
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error() == std::errc::invalid_argument);
    CHECK(op(a.error()) == "VFIO_GROUP_GET_DEVICE_FD");

    // Not a device of this group: vfio_device_get_from_name answers -ENODEV.
    s.mock.expect_ioctl(group_fd, abi::req::group_get_device_fd).with_bytes("0000:00:04.0", 13).fails(ENODEV);
    auto b = g.open_device("0000:00:04.0");
    REQUIRE_FALSE(b.has_value());
    CHECK(b.error() == std::errc::no_such_device);

    s.mock.expect_ioctl(group_fd, abi::req::group_get_device_fd).with_bytes("0000:00:03.0", 13).fails(EBUSY);
    auto c = g.open_device("0000:00:03.0");
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error() == std::errc::device_or_resource_busy);

    CHECK(s.mock.open_descriptors() == 1);  // only the group
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: open_device rejects bad names without a syscall", "[group][device]") {
  seam s;
  {
    group g = open_group(s.mock);
    std::string with_nul = "0000:00:03.0";
    with_nul[4] = '\0';
    std::string token_with_nul = "bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3";
    token_with_nul[0] = '\0';
    const std::string too_long(256, 'a');
    const std::string name_245(245, 'a');  // + " vf_token=" (10) + 1 = 256 bytes
    struct bad_case {
      std::string name;
      std::string token;
    };
    const std::vector<bad_case> bad = {
        {"", ""},
        {"", "bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3"},
        {"0000:00:03.0 ", ""},
        {"0000:00:03.0 vf_token=x", ""},
        {with_nul, ""},
        {too_long, ""},
        {"0000:00:03.0", "bd8d9d2b 5a5f"},
        {"0000:00:03.0", token_with_nul},
        {name_245, "1"},
    };
    for (const auto& c : bad) {
      INFO("name size " << c.name.size() << ", token size " << c.token.size());
      auto d = g.open_device(c.name, c.token);
      REQUIRE_FALSE(d.has_value());
      CHECK(d.error() == vfio::errc::invalid_name);
      CHECK(op(d.error()) == "device name check");
      // A name that is a PCI address is the subject; any other name leaves the group.
      const auto named = vfio::host::parse_pci_address(c.name);
      CHECK(d.error().about() == (named ? vfio::host::subject_of(*named) : vfio::subject::group(g.number())));
    }
    CHECK(s.mock.open_descriptors() == 1);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("group: open_device accepts exactly 255 bytes", "[group][device]") {
  seam s;
  {
    group g = open_group(s.mock);
    const std::string name(255, 'a');
    s.mock.expect_ioctl(group_fd, abi::req::group_get_device_fd)
        .with_bytes(name.c_str(), name.size() + 1)
        .fails(ENODEV);
    CHECK(g.open_device(name).error() == std::errc::no_such_device);

    const std::string name_244(244, 'b');  // + " vf_token=" + "1" = 255
    const std::string expected = name_244 + " vf_token=1";
    REQUIRE(expected.size() == 255);
    s.mock.expect_ioctl(group_fd, abi::req::group_get_device_fd)
        .with_bytes(expected.c_str(), expected.size() + 1)
        .fails(EINVAL);
    CHECK(g.open_device(name_244, "1").error() == std::errc::invalid_argument);
    s.mock.expect_close(group_fd);
  }
  CHECK(s.mock.verify_done());
}

}  // namespace vfio_unit_test_group
