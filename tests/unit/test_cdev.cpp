// Unit tests for vfio::cdev against the scripted syscall seam: finding a device's cdev in
// sysfs, opening /dev/vfio/devices/vfioN, VFIO_DEVICE_BIND_IOMMUFD (with and without a VF
// token), ATTACH/DETACH_IOMMUFD_PT, errno propagation with subjects, and that every
// descriptor opened is closed on each failure path.
#include <vfio/abi/iommufd.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/cdev.hpp>
#include <vfio/device.hpp>
#include <vfio/error.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>

#include "../catch.hpp"
#include "iommufd_fixture.hpp"

namespace vfio_unit_test_cdev {

namespace {

namespace abi = vfio::abi;
namespace cdev = vfio::cdev;
using vfio::iommufd;
using vfio::subject;
using vfio::testing::scripted_syscalls;
using vfio_test::hooked;
using vfio_test::op;
using vfio_test::user_pointer;

constexpr int iommu_fd = 5;
constexpr int dir_fd = 20;
constexpr int cdev_fd = 21;
constexpr const char* vfio_dev_dir = "/sys/bus/pci/devices/0000:00:03.0/vfio-dev";

/// struct linux_dirent64 records for `names`, each padded to 8 bytes.
std::vector<std::uint8_t> dirents(std::initializer_list<const char*> names) {
  std::vector<std::uint8_t> out;
  std::uint64_t ino = 100;
  for (const char* name : names) {
    const std::size_t len = std::strlen(name);
    const std::size_t reclen = (19 + len + 1 + 7) / 8 * 8;
    std::vector<std::uint8_t> rec(reclen, 0);
    std::memcpy(rec.data(), &ino, 8);
    const std::uint64_t off = out.size() + reclen;
    std::memcpy(rec.data() + 8, &off, 8);
    const auto r16 = static_cast<std::uint16_t>(reclen);
    std::memcpy(rec.data() + 16, &r16, 2);
    rec[18] = 4;  // DT_DIR
    std::memcpy(rec.data() + 19, name, len);
    out.insert(out.end(), rec.begin(), rec.end());
    ++ino;
  }
  return out;
}

iommufd open_iommufd(scripted_syscalls& mock, vfio::syscalls& sys) {
  mock.expect_open("/dev/iommu").with_flags(O_RDWR | O_CLOEXEC).returns(iommu_fd);
  auto fd = iommufd::open(iommufd::default_path, sys);
  REQUIRE(fd.has_value());
  return std::move(*fd);
}

/// Scripts the listing of vfio-dev: open, one batch of records, the end, close.
void expect_listing(scripted_syscalls& mock, std::initializer_list<const char*> names) {
  const auto records = dirents(names);
  mock.expect_open(vfio_dev_dir).with_flags(O_RDONLY | O_DIRECTORY | O_CLOEXEC).returns(dir_fd);
  mock.expect_getdents64(dir_fd).fills_bytes(records.data(), records.size());
  mock.expect_getdents64(dir_fd).returns(0);
  mock.expect_close(dir_fd);
}

abi::device_bind_iommufd bind_call(std::uint32_t flags = 0) {
  abi::device_bind_iommufd b{};
  b.argsz = sizeof b;
  b.flags = flags;
  b.iommufd = iommu_fd;
  return b;
}

/// Opens cdev 3 as fd 21 and wraps it in a device, as open_device does after the bind.
vfio::device open_node_device(scripted_syscalls& mock) {
  mock.expect_open("/dev/vfio/devices/vfio3").with_flags(O_RDWR | O_CLOEXEC).returns(cdev_fd);
  auto node = cdev::open_node(3, mock);
  REQUIRE(node.has_value());
  return vfio::device(std::move(*node), "0000:00:03.0");
}

}  // namespace

// --- finding and opening the node ---------------------------------------------------------

TEST_CASE("cdev: number_of lists <sysfs>/bus/pci/devices/<bdf>/vfio-dev and reads vfioN", "[cdev]") {
  vfio_test::seam s;
  const auto bdf = vfio::host::parse_pci_address("0000:00:03.0");
  REQUIRE(bdf.has_value());
  expect_listing(s.mock, {".", "..", "vfio3"});
  auto number = cdev::number_of(*bdf, s.mock);
  REQUIRE(number.has_value());
  CHECK(*number == 3);

  // Names that are not vfio<decimal> are skipped.
  expect_listing(s.mock, {"vfio", "vfio07", ".", "vfio12", "vfiox", ".."});
  number = cdev::number_of(*bdf, s.mock);
  REQUIRE(number.has_value());
  CHECK(*number == 12);

  // Another sysfs root.
  s.mock.expect_open("/tmp/sys/bus/pci/devices/0000:00:03.0/vfio-dev").returns(dir_fd);
  const auto records = dirents({"vfio0"});
  s.mock.expect_getdents64(dir_fd).fills_bytes(records.data(), records.size());
  s.mock.expect_getdents64(dir_fd).returns(0);
  s.mock.expect_close(dir_fd);
  number = cdev::number_of(*bdf, s.mock, "/tmp/sys");
  REQUIRE(number.has_value());
  CHECK(*number == 0);
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("cdev: number_of failures name vfio-dev and close the directory", "[cdev]") {
  vfio_test::seam s;
  const auto bdf = vfio::host::parse_pci_address("0000:00:03.0");
  REQUIRE(bdf.has_value());

  // No vfio-dev: not bound to vfio-pci, or no CONFIG_VFIO_DEVICE_CDEV.
  s.mock.expect_open(vfio_dev_dir).fails(ENOENT);
  auto absent = cdev::number_of(*bdf, s.mock);
  REQUIRE_FALSE(absent.has_value());
  CHECK(absent.error().message() == "open /sys/bus/pci/devices/0000:00:03.0/vfio-dev: No such file or directory");
  CHECK(absent.error().about().sysfs_attribute() == subject::attribute::vfio_dev);

  SECTION("no vfioN entry") { expect_listing(s.mock, {".", ".."}); }
  SECTION("two vfioN entries") { expect_listing(s.mock, {"vfio1", "vfio2"}); }
  SECTION("a record shorter than its header") {
    auto records = dirents({"vfio3"});
    const std::uint16_t bad = 8;
    std::memcpy(records.data() + 16, &bad, 2);
    s.mock.expect_open(vfio_dev_dir).returns(dir_fd);
    s.mock.expect_getdents64(dir_fd).fills_bytes(records.data(), records.size());
    s.mock.expect_close(dir_fd);
  }
  SECTION("a record running past the bytes returned") {
    auto records = dirents({"vfio3"});
    s.mock.expect_open(vfio_dev_dir).returns(dir_fd);
    s.mock.expect_getdents64(dir_fd).fills_bytes(records.data(), records.size()).returns(12);
    s.mock.expect_close(dir_fd);
  }
  auto bad = cdev::number_of(*bdf, s.mock);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == vfio::errc::parse_error);
  CHECK(op(bad.error()) == "getdents64");
  CHECK(bad.error().about() == vfio::host::subject_of(*bdf, subject::attribute::vfio_dev));
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("cdev: a failing getdents64 is reported and the directory closed", "[cdev]") {
  vfio_test::seam s;
  const auto bdf = vfio::host::parse_pci_address("0000:00:03.0");
  REQUIRE(bdf.has_value());
  s.mock.expect_open(vfio_dev_dir).returns(dir_fd);
  s.mock.expect_getdents64(dir_fd).fails(EIO);
  s.mock.expect_close(dir_fd);
  auto failed = cdev::number_of(*bdf, s.mock);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().message() == "getdents64 /sys/bus/pci/devices/0000:00:03.0/vfio-dev: Input/output error");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("cdev: open_node opens /dev/vfio/devices/vfioN read-write, close-on-exec", "[cdev]") {
  vfio_test::seam s;
  CHECK(std::string(cdev::node_path_of(0).text) == "/dev/vfio/devices/vfio0");
  CHECK(std::string(cdev::node_path_of(4294967295U).text) == "/dev/vfio/devices/vfio4294967295");
  {
    s.mock.expect_open("/dev/vfio/devices/vfio7").with_flags(O_RDWR | O_CLOEXEC).returns(cdev_fd);
    auto node = cdev::open_node(7, s.mock);
    REQUIRE(node.has_value());
    CHECK(node->get() == cdev_fd);
    s.mock.expect_close(cdev_fd);
  }
  s.mock.expect_open("/dev/vfio/devices/vfio7").fails(EACCES);
  auto denied = cdev::open_node(7, s.mock);
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().message() == "open /dev/vfio/devices/vfio7: Permission denied");
  CHECK(denied.error().about() == subject::cdev_node(7));
  CHECK(denied.error().about().is_path());
  CHECK(std::string(vfio::to_string(subject::kind::cdev_node)) == "cdev_node");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

// --- bind ---------------------------------------------------------------------------------

TEST_CASE("cdev: open_device lists vfio-dev, opens the node, binds with argsz 24 and yields a working device",
          "[cdev]") {
  vfio_test::seam s;
  {
    iommufd ictx = open_iommufd(s.mock, s.mock);
    expect_listing(s.mock, {".", "..", "vfio3"});
    s.mock.expect_open("/dev/vfio/devices/vfio3").with_flags(O_RDWR | O_CLOEXEC).returns(cdev_fd);
    abi::device_bind_iommufd reply = bind_call();
    reply.out_devid = 1;
    s.mock.expect_ioctl(cdev_fd, abi::req::device_bind_iommufd).with(bind_call()).fills(reply);
    auto opened = cdev::open_device("0000:00:03.0", ictx);
    REQUIRE(opened.has_value());
    CHECK(opened->devid == vfio::dev_id{1});
    CHECK(opened->dev.fd() == cdev_fd);
    CHECK(opened->dev.name() == "0000:00:03.0");
    CHECK(&opened->dev.sys() == &s.mock);
    CHECK(s.mock.open_descriptors() == 2);  // the iommufd and the device; the directory is closed

    // The bound cdev is a vfio::device like a group-opened one.
    vfio_test::expect_device_info(s.mock, cdev_fd, abi::device_flags::pci | abi::device_flags::reset, 9, 5);
    auto info = opened->dev.info();
    REQUIRE(info.has_value());
    CHECK(info->num_regions == 9);
    CHECK(info->is_pci());

    s.mock.expect_close(cdev_fd);  // the device first (declared last), then the iommufd
    s.mock.expect_close(iommu_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("cdev: a VF token goes by pointer with VFIO_DEVICE_BIND_FLAG_TOKEN", "[cdev]") {
  hooked h;
  {
    iommufd ictx = open_iommufd(h.mock, h.sys);
    const auto token = cdev::parse_vf_token("bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3");
    REQUIRE(token.has_value());
    expect_listing(h.mock, {"vfio3"});
    h.mock.expect_open("/dev/vfio/devices/vfio3").returns(cdev_fd);
    const abi::device_bind_iommufd call = bind_call(abi::bind_flags::token);
    h.mock.expect_ioctl(cdev_fd, abi::req::device_bind_iommufd).with_bytes(&call, 16).fills(std::uint32_t{2}, 12);
    std::vector<std::uint8_t> seen;
    h.sys.after(abi::req::device_bind_iommufd, [&seen](void* arg, int) {
      const auto* b = static_cast<const abi::device_bind_iommufd*>(arg);
      const auto* uuid = user_pointer<const std::uint8_t>(b->token_uuid_ptr);
      seen.assign(uuid, uuid + 16);
    });
    auto opened = cdev::open_device("0000:00:03.0", ictx, *token);
    REQUIRE(opened.has_value());
    CHECK(opened->devid == vfio::dev_id{2});
    const std::vector<std::uint8_t> expected = {0xbd, 0x8d, 0x9d, 0x2b, 0x5a, 0x5f, 0x4f, 0x5a,
                                                0xa2, 0x11, 0xf5, 0x91, 0x51, 0x4b, 0xa1, 0xf3};
    CHECK(seen == expected);

    // 6.12 takes no flags: the token is refused with EINVAL, and the node is closed again.
    expect_listing(h.mock, {"vfio4"});
    h.mock.expect_open("/dev/vfio/devices/vfio4").returns(cdev_fd + 1);
    h.mock.expect_ioctl(cdev_fd + 1, abi::req::device_bind_iommufd).with_bytes(&call, 16).fails(EINVAL);
    h.mock.expect_close(cdev_fd + 1);
    auto old_kernel = cdev::open_device("0000:00:03.0", ictx, *token);
    REQUIRE_FALSE(old_kernel.has_value());
    CHECK(old_kernel.error() == std::errc::invalid_argument);

    h.mock.expect_close(cdev_fd);
    h.mock.expect_close(iommu_fd);
  }
  CHECK(h.mock.open_descriptors() == 0);
  CHECK(h.mock.verify_done());
  CHECK(h.mismatches.empty());
}

TEST_CASE("cdev: open_device closes every descriptor it opened on each failure", "[cdev]") {
  vfio_test::seam s;
  iommufd ictx = open_iommufd(s.mock, s.mock);
  const std::size_t before = s.mock.open_descriptors();
  REQUIRE(before == 1);

  SECTION("the sysfs listing fails") {
    s.mock.expect_open(vfio_dev_dir).fails(ENOENT);
    auto r = cdev::open_device("0000:00:03.0", ictx);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::no_such_file_or_directory);
    CHECK(r.error().about().sysfs_attribute() == subject::attribute::vfio_dev);
  }
  SECTION("the node cannot be opened") {
    expect_listing(s.mock, {"vfio3"});
    s.mock.expect_open("/dev/vfio/devices/vfio3").fails(EACCES);
    auto r = cdev::open_device("0000:00:03.0", ictx);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message() == "open /dev/vfio/devices/vfio3: Permission denied");
  }
  SECTION("the bind is refused") {
    // group.c vfio_device_block_group: the group node is open elsewhere.
    expect_listing(s.mock, {"vfio3"});
    s.mock.expect_open("/dev/vfio/devices/vfio3").returns(cdev_fd);
    s.mock.expect_ioctl(cdev_fd, abi::req::device_bind_iommufd).with(bind_call()).fails(EBUSY);
    s.mock.expect_close(cdev_fd);
    auto r = cdev::open_device("0000:00:03.0", ictx);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::device_or_resource_busy);
    CHECK(r.error().message() == "VFIO_DEVICE_BIND_IOMMUFD (device 0000:00:03.0): Device or resource busy");
  }
  SECTION("the descriptor is not an iommufd") {
    expect_listing(s.mock, {"vfio3"});
    s.mock.expect_open("/dev/vfio/devices/vfio3").returns(cdev_fd);
    s.mock.expect_ioctl(cdev_fd, abi::req::device_bind_iommufd).fails(EBADFD);
    s.mock.expect_close(cdev_fd);
    auto r = cdev::open_device("0000:00:03.0", ictx);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().value() == EBADFD);
    CHECK(op(r.error()) == "VFIO_DEVICE_BIND_IOMMUFD");
  }
  CHECK(s.mock.open_descriptors() == before);
  s.mock.expect_close(iommu_fd);
  CHECK(ictx.close().has_value());
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("cdev: open_device checks before any syscall", "[cdev]") {
  vfio_test::seam s;
  iommufd empty;
  auto no_iommufd = cdev::open_device("0000:00:03.0", empty);
  REQUIRE_FALSE(no_iommufd.has_value());
  CHECK(no_iommufd.error() == std::errc::bad_file_descriptor);
  CHECK(no_iommufd.error().message() == "VFIO_DEVICE_BIND_IOMMUFD (device 0000:00:03.0): Bad file descriptor");
  auto bad_address = cdev::open_device("00:03", empty);
  REQUIRE_FALSE(bad_address.has_value());
  CHECK(bad_address.error() == vfio::errc::invalid_bdf);
  CHECK(cdev::bind(cdev_fd, empty).error() == std::errc::bad_file_descriptor);
  CHECK(s.mock.verify_done());
}

// --- attach and detach --------------------------------------------------------------------

TEST_CASE("cdev: ATTACH_IOMMUFD_PT sends argsz 16 and returns the HWPT the kernel wrote back", "[cdev]") {
  vfio_test::seam s;
  {
    vfio::device d = open_node_device(s.mock);
    abi::device_attach_iommufd_pt call{};
    call.argsz = sizeof call;
    call.pt_id = 2;
    // device.c iommufd_device_auto_get_domain: attaching to an IOAS reports the domain's HWPT.
    s.mock.expect_ioctl(cdev_fd, abi::req::device_attach_iommufd_pt).with(call).fills(std::uint32_t{7}, 8);
    auto attached = cdev::attach(d, vfio::ioas_id{2});
    REQUIRE(attached.has_value());
    CHECK(*attached == vfio::hwpt_id{7});

    call.pt_id = 9;
    s.mock.expect_ioctl(cdev_fd, abi::req::device_attach_iommufd_pt).with(call);
    auto replaced = cdev::attach(d, vfio::hwpt_id{9});
    REQUIRE(replaced.has_value());
    CHECK(*replaced == vfio::hwpt_id{9});

    abi::device_attach_iommufd_pt pasid = call;
    pasid.flags = abi::attach_flags::pasid;
    pasid.pt_id = 2;
    pasid.pasid = 5;
    s.mock.expect_ioctl(cdev_fd, abi::req::device_attach_iommufd_pt).with(pasid).fills(std::uint32_t{11}, 8);
    auto by_pasid = cdev::attach_pasid(d, 5, vfio::ioas_id{2});
    REQUIRE(by_pasid.has_value());
    CHECK(*by_pasid == vfio::hwpt_id{11});

    call.pt_id = 2;
    s.mock.expect_ioctl(cdev_fd, abi::req::device_attach_iommufd_pt).with(call).fails(ENOENT);
    auto missing = cdev::attach(d, vfio::ioas_id{2});
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message() == "VFIO_DEVICE_ATTACH_IOMMUFD_PT (iommufd object 2): No such file or directory");

    // A group-opened vfio-pci device: vfio_pci_core_ioctl does not know the number.
    s.mock.expect_ioctl(cdev_fd, abi::req::device_attach_iommufd_pt).with(call).fails(ENOTTY);
    CHECK(cdev::attach(d, vfio::ioas_id{2}).error() == std::errc::inappropriate_io_control_operation);
    s.mock.expect_close(cdev_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("cdev: DETACH_IOMMUFD_PT sends argsz 12, with the PASID flag when asked", "[cdev]") {
  vfio_test::seam s;
  {
    vfio::device d = open_node_device(s.mock);
    abi::device_detach_iommufd_pt call{};
    call.argsz = sizeof call;
    CHECK(call.argsz == 12);
    s.mock.expect_ioctl(cdev_fd, abi::req::device_detach_iommufd_pt).with(call);
    CHECK(cdev::detach(d).has_value());
    abi::device_detach_iommufd_pt pasid = call;
    pasid.flags = abi::detach_flags::pasid;
    pasid.pasid = 5;
    s.mock.expect_ioctl(cdev_fd, abi::req::device_detach_iommufd_pt).with(pasid).fails(EINVAL);
    auto refused = cdev::detach_pasid(d, 5);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == std::errc::invalid_argument);
    CHECK(op(refused.error()) == "VFIO_DEVICE_DETACH_IOMMUFD_PT");
    s.mock.expect_close(cdev_fd);
  }
  vfio::device empty;
  CHECK(cdev::detach(empty).error() == std::errc::bad_file_descriptor);
  CHECK(cdev::attach(empty, vfio::ioas_id{1}).error() == std::errc::bad_file_descriptor);
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

// --- VF tokens ----------------------------------------------------------------------------

TEST_CASE("cdev: parse_vf_token reads the UUID text in byte order and refuses anything else", "[cdev]") {
  const auto token = cdev::parse_vf_token("00112233-4455-6677-8899-AaBbCcDdEeFf");
  REQUIRE(token.has_value());
  for (int i = 0; i < 16; ++i) CHECK(token->bytes[i] == static_cast<std::uint8_t>(i * 0x11));
  for (const char* bad : {"", "00112233-4455-6677-8899-aabbccddeef", "00112233-4455-6677-8899-aabbccddeeff0",
                          "0011223304455-6677-8899-aabbccddeeff", "00112233-4455-6677-8899-aabbccddeefg",
                          "{0112233-4455-6677-8899-aabbccddeeff"}) {
    auto r = cdev::parse_vf_token(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == vfio::errc::invalid_argument);
    CHECK(op(r.error()) == "VF token check");
  }
}

}  // namespace vfio_unit_test_cdev
