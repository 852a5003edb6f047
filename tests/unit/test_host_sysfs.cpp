// Unit tests for vfio::host::pci_address parsing/formatting and the sysfs
// helpers (attribute I/O, IOMMU group lookup, driver lookup and rebinding),
// driven through the scripted syscall seam.
#include <vfio/host/pci_address.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_host_sysfs {

namespace {

using vfio::host::pci_address;
using vfio::testing::scripted_syscalls;

/// A scripted seam whose mismatches are recorded (and echoed to stderr).
using vfio_test::op;
using vfio_test::seam;

constexpr pci_address nic{0x0000, 0x00, 0x03, 0x0};
const std::string dev_dir = "/sys/bus/pci/devices/0000:00:03.0/";

}  // namespace

// --- pci_address ---------------------------------------------------------

TEST_CASE("host: parse_pci_address accepts the long and the short form", "[host][bdf]") {
  auto a = vfio::host::parse_pci_address("0000:00:03.0");
  REQUIRE(a.has_value());
  CHECK(*a == pci_address{0, 0, 3, 0});

  auto b = vfio::host::parse_pci_address("abcd:ef:1f.7");
  REQUIRE(b.has_value());
  CHECK(b->domain == 0xabcd);
  CHECK(b->bus == 0xef);
  CHECK(b->device == 0x1f);
  CHECK(b->function == 7);

  auto upper = vfio::host::parse_pci_address("ABCD:EF:1F.7");
  REQUIRE(upper.has_value());
  CHECK(*upper == *b);

  auto s = vfio::host::parse_pci_address("04:10.2");
  REQUIRE(s.has_value());
  CHECK(*s == pci_address{0, 0x04, 0x10, 2});
}

TEST_CASE("host: parse_pci_address rejects everything else", "[host][bdf]") {
  std::string embedded_nul = "0000:00:03.0";
  embedded_nul[7] = '\0';
  const std::vector<std::string> bad = {
      "",                           // empty
      "0000:00:03",                 // no function
      "0000:00:20.0",               // device > 0x1f
      "0000:00:ff.0",               // device > 0x1f
      "00:03.8",                    // function > 7
      "00:03.f",                    // function > 7
      "zzzz:00:03.0",               // not hex
      "0000:00:03.0 ",              // trailing space
      " 0000:00:03.0",              // leading space
      "0000:00:03.0\n",             // trailing newline
      "0000:00:03.0x",              // trailing junk
      "0000:00:03.00",              // function too wide
      "00000:00:03.0",              // domain too wide
      "0000:00:03.0:0000:00:03.0",  // far too long
      "0000:0:03.0",                // bus too narrow
      "000:00:03.0",                // domain too narrow
      "0:0:3.0",                    // narrow fields
      "0000-00:03.0",               // wrong separator
      "0000:00-03.0",               // wrong separator
      "0000:00:03:0",               // wrong separator
      "+000:00:03.0",               // sign
      "00:-3.0",                    // sign
      "0x00:03.0",                  // prefix (wrong length anyway)
      embedded_nul,                 // NUL inside
  };
  for (const auto& text : bad) {
    INFO("text: \"" << text << "\" (" << text.size() << " bytes)");
    auto r = vfio::host::parse_pci_address(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == vfio::errc::invalid_bdf);
    CHECK(op(r.error()) == "PCI address check");
  }
}

TEST_CASE("host: to_chars gives the fixed-width lower-case sysfs form", "[host][bdf]") {
  const auto text = vfio::host::to_chars(pci_address{0xabcd, 0xef, 0x1f, 7});
  CHECK(std::string(text.data()) == "abcd:ef:1f.7");
  CHECK(text[12] == '\0');
  CHECK(std::string(vfio::host::to_chars(nic).data()) == "0000:00:03.0");

  // Round trip through the parser.
  for (const char* s : {"0000:00:00.0", "0001:02:1f.7", "ffff:ff:10.3"}) {
    auto parsed = vfio::host::parse_pci_address(s);
    REQUIRE(parsed.has_value());
    CHECK(std::string(vfio::host::to_chars(*parsed).data()) == s);
  }
}

TEST_CASE("host: pci_address equality compares every field", "[host][bdf]") {
  const pci_address a{1, 2, 3, 4};
  CHECK(a == pci_address{1, 2, 3, 4});
  CHECK_FALSE(a != pci_address{1, 2, 3, 4});
  CHECK(a != pci_address{0, 2, 3, 4});
  CHECK(a != pci_address{1, 0, 3, 4});
  CHECK(a != pci_address{1, 2, 0, 4});
  CHECK(a != pci_address{1, 2, 3, 0});
}

// --- read_attribute / write_attribute -------------------------------------

TEST_CASE("host: read_attribute takes a whole attribute in one read, strips the newline and closes", "[host][sysfs]") {
  seam s;
  const std::string path = dev_dir + "power_state";
  s.mock.expect_open(path).returns(7);
  // Shorter than asked and ending the line: sysfs's whole show() output, no read for EOF.
  s.mock.expect_read(7).of_length(15).fills_text("D3hot\n");
  s.mock.expect_close(7);

  char buf[16];
  auto n = vfio::host::read_attribute(path.c_str(), buf, sizeof buf, s.mock);
  REQUIRE(n.has_value());
  CHECK(*n == 5);
  CHECK(std::string(buf) == "D3hot");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: read_attribute keeps reading short reads until one ends the line", "[host][sysfs]") {
  seam s;
  s.mock.expect_open("/sys/x").returns(7);
  s.mock.expect_read(7).of_length(31).fills_text("au");
  s.mock.expect_read(7).of_length(29).fills_text("to\n");
  s.mock.expect_close(7);

  char buf[32];
  auto n = vfio::host::read_attribute("/sys/x", buf, sizeof buf, s.mock);
  REQUIRE(n.has_value());
  CHECK(*n == 4);
  CHECK(std::string(buf) == "auto");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: read_attribute reads a text without newline to EOF", "[host][sysfs]") {
  seam s;
  s.mock.expect_open("/sys/x").returns(7);
  s.mock.expect_read(7).fills_text("flr bus");
  s.mock.expect_read(7).returns(0);
  s.mock.expect_close(7);

  char buf[32];
  auto n = vfio::host::read_attribute("/sys/x", buf, sizeof buf, s.mock);
  REQUIRE(n.has_value());
  CHECK(*n == 7);
  CHECK(std::string(buf) == "flr bus");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: read_attribute accepts text that exactly fills the buffer", "[host][sysfs]") {
  seam s;
  s.mock.expect_open("/sys/x").returns(7);
  s.mock.expect_read(7).of_length(5).fills_text("D3hot");
  s.mock.expect_read(7).of_length(1).returns(0);  // the probe for more
  s.mock.expect_close(7);

  char buf[6];
  auto n = vfio::host::read_attribute("/sys/x", buf, sizeof buf, s.mock);
  REQUIRE(n.has_value());
  CHECK(*n == 5);
  CHECK(std::string(buf) == "D3hot");
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: read_attribute rejects an attribute larger than the buffer and closes", "[host][sysfs]") {
  seam s;
  s.mock.expect_open("/sys/x").returns(7);
  s.mock.expect_read(7).of_length(3).fills_text("act");
  s.mock.expect_read(7).of_length(1).fills_text("i");
  s.mock.expect_close(7);

  char buf[4];
  auto n = vfio::host::read_attribute("/sys/x", buf, sizeof buf, s.mock);
  REQUIRE_FALSE(n.has_value());
  CHECK(n.error() == vfio::errc::out_of_bounds);
  CHECK(op(n.error()) == "read");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: read_attribute reports open and read errors, closing what it opened", "[host][sysfs]") {
  seam s;
  char buf[16];

  s.mock.expect_open("/sys/missing").fails(ENOENT);
  auto a = vfio::host::read_attribute("/sys/missing", buf, sizeof buf, s.mock);
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error() == std::errc::no_such_file_or_directory);
  CHECK(op(a.error()) == "open");

  s.mock.expect_open("/sys/x").returns(7);
  s.mock.expect_read(7).fails(EIO);
  s.mock.expect_close(7);
  auto b = vfio::host::read_attribute("/sys/x", buf, sizeof buf, s.mock);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error() == std::errc::io_error);
  CHECK(op(b.error()) == "read");

  // No room even for the NUL: rejected before any syscall.
  auto c = vfio::host::read_attribute("/sys/x", buf, 0, s.mock);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error() == vfio::errc::invalid_argument);

  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: write_attribute writes exactly the value once and closes", "[host][sysfs]") {
  seam s;
  const std::string path = dev_dir + "driver_override";
  s.mock.expect_open(path).returns(5);
  s.mock.expect_write(5).with_bytes("vfio-pci", 8);
  s.mock.expect_close(5);

  auto r = vfio::host::write_attribute(path.c_str(), "vfio-pci", s.mock);
  CHECK(r.has_value());
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: write_attribute failures leave nothing open", "[host][sysfs]") {
  seam s;

  s.mock.expect_open("/sys/x").returns(5);
  s.mock.expect_write(5).with_bytes("1", 1).fails(EBUSY);
  s.mock.expect_close(5);
  auto a = vfio::host::write_attribute("/sys/x", "1", s.mock);
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error() == std::errc::device_or_resource_busy);
  CHECK(op(a.error()) == "write");

  s.mock.expect_open("/sys/x").returns(5);
  s.mock.expect_write(5).with_bytes("vfio-pci", 8).returns(3);
  s.mock.expect_close(5);
  auto b = vfio::host::write_attribute("/sys/x", "vfio-pci", s.mock);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error() == vfio::errc::short_transfer);

  s.mock.expect_open("/sys/ro").fails(EACCES);
  auto c = vfio::host::write_attribute("/sys/ro", "1", s.mock);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error() == std::errc::permission_denied);
  CHECK(op(c.error()) == "open");

  auto d = vfio::host::write_attribute("/sys/x", "", s.mock);  // no syscall
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error() == vfio::errc::invalid_argument);

  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

// --- iommu_group_of ---------------------------------------------------------

TEST_CASE("host: iommu_group_of parses the iommu_group link", "[host][sysfs]") {
  seam s;
  s.mock.expect_readlink(dev_dir + "iommu_group").fills_text("../../../kernel/iommu_groups/7");
  auto g = vfio::host::iommu_group_of(nic, s.mock);
  REQUIRE(g.has_value());
  CHECK(*g == 7);

  s.mock.expect_readlink(dev_dir + "iommu_group").fills_text("../../../kernel/iommu_groups/0");
  auto zero = vfio::host::iommu_group_of(nic, s.mock);
  REQUIRE(zero.has_value());
  CHECK(*zero == 0);

  s.mock.expect_readlink(dev_dir + "iommu_group").fills_text("../../../kernel/iommu_groups/4294967295");
  auto max = vfio::host::iommu_group_of(nic, s.mock);
  REQUIRE(max.has_value());
  CHECK(*max == 4294967295u);

  // Another root and another address.
  s.mock.expect_readlink("/tmp/fake-sys/bus/pci/devices/abcd:ef:1f.7/iommu_group")
      .fills_text("../../../kernel/iommu_groups/42");
  auto other = vfio::host::iommu_group_of(pci_address{0xabcd, 0xef, 0x1f, 7}, s.mock, "/tmp/fake-sys");
  REQUIRE(other.has_value());
  CHECK(*other == 42);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: iommu_group_of rejects links that do not end in a plain number", "[host][sysfs]") {
  seam s;
  const std::vector<std::string> bad = {
      "../../../kernel/iommu_groups/",             // empty
      "../../../kernel/iommu_groups/7a",           // junk
      "../../../kernel/iommu_groups/07",           // leading zero
      "../../../kernel/iommu_groups/-1",           // sign
      "../../../kernel/iommu_groups/+7",           // sign
      "../../../kernel/iommu_groups/ 7",           // space
      "../../../kernel/iommu_groups/4294967296",   // overflow
      "../../../kernel/iommu_groups/99999999999",  // too many digits
      "../../../kernel/iommu_groups/noiommu-0",    // not a number
  };
  for (const auto& target : bad) {
    INFO("link: " << target);
    s.mock.expect_readlink(dev_dir + "iommu_group").fills_text(target);
    auto g = vfio::host::iommu_group_of(nic, s.mock);
    REQUIRE_FALSE(g.has_value());
    CHECK(g.error() == vfio::errc::parse_error);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: iommu_group_of reports missing links, truncation and bad roots", "[host][sysfs]") {
  seam s;
  s.mock.expect_readlink(dev_dir + "iommu_group").fails(ENOENT);
  auto missing = vfio::host::iommu_group_of(nic, s.mock);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == std::errc::no_such_file_or_directory);
  CHECK(op(missing.error()) == "readlink");

  // A target that fills the whole buffer may be truncated.
  s.mock.expect_readlink(dev_dir + "iommu_group").fills_text(std::string(4096, '1'));
  auto truncated = vfio::host::iommu_group_of(nic, s.mock);
  REQUIRE_FALSE(truncated.has_value());
  CHECK(truncated.error() == vfio::errc::out_of_bounds);

  // Rejected before any syscall.
  auto null_root = vfio::host::iommu_group_of(nic, s.mock, nullptr);
  REQUIRE_FALSE(null_root.has_value());
  CHECK(null_root.error() == vfio::errc::invalid_argument);
  const std::string long_root(5000, 'r');
  auto long_path = vfio::host::iommu_group_of(nic, s.mock, long_root.c_str());
  REQUIRE_FALSE(long_path.has_value());
  CHECK(long_path.error() == vfio::errc::invalid_argument);
  CHECK(s.mock.verify_done());
}

// --- driver_of ----------------------------------------------------------------

TEST_CASE("host: driver_of names the bound driver, or none", "[host][sysfs]") {
  seam s;
  char name[32];

  s.mock.expect_readlink(dev_dir + "driver").fills_text("../../../bus/pci/drivers/vfio-pci");
  auto bound = vfio::host::driver_of(nic, name, sizeof name, s.mock);
  REQUIRE(bound.has_value());
  CHECK(*bound == 8);
  CHECK(std::string(name) == "vfio-pci");

  std::strcpy(name, "stale");
  s.mock.expect_readlink(dev_dir + "driver").fails(ENOENT);
  auto unbound = vfio::host::driver_of(nic, name, sizeof name, s.mock);
  REQUIRE(unbound.has_value());
  CHECK(*unbound == 0);
  CHECK(name[0] == '\0');
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: driver_of errors", "[host][sysfs]") {
  seam s;
  char name[4];

  s.mock.expect_readlink(dev_dir + "driver").fails(EACCES);
  auto denied = vfio::host::driver_of(nic, name, sizeof name, s.mock);
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error() == std::errc::permission_denied);

  s.mock.expect_readlink(dev_dir + "driver").fills_text("../../../bus/pci/drivers/e1000e");
  auto too_small = vfio::host::driver_of(nic, name, sizeof name, s.mock);
  REQUIRE_FALSE(too_small.has_value());
  CHECK(too_small.error() == vfio::errc::out_of_bounds);

  s.mock.expect_readlink(dev_dir + "driver").fills_text("../../../bus/pci/drivers/");
  auto empty = vfio::host::driver_of(nic, name, sizeof name, s.mock);
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error() == vfio::errc::parse_error);

  auto zero = vfio::host::driver_of(nic, name, 0, s.mock);  // no syscall
  REQUIRE_FALSE(zero.has_value());
  CHECK(zero.error() == vfio::errc::invalid_argument);
  CHECK(s.mock.verify_done());
}

// --- bind_to_driver -------------------------------------------------------------

namespace {
void expect_sysfs_write(scripted_syscalls& mock, const std::string& path, const std::string& value, int fd) {
  mock.expect_open(path).returns(fd);
  mock.expect_write(fd).with_bytes(value.data(), value.size());
  mock.expect_close(fd);
}
}  // namespace

TEST_CASE("host: bind_to_driver moves a device from its driver to vfio-pci", "[host][sysfs]") {
  seam s;
  expect_sysfs_write(s.mock, dev_dir + "driver_override", "vfio-pci", 5);
  s.mock.expect_readlink(dev_dir + "driver").fills_text("../../../bus/pci/drivers/e1000e");
  expect_sysfs_write(s.mock, "/sys/bus/pci/drivers/e1000e/unbind", "0000:00:03.0", 6);
  expect_sysfs_write(s.mock, "/sys/bus/pci/drivers_probe", "0000:00:03.0", 7);
  s.mock.expect_readlink(dev_dir + "driver").fills_text("../../../bus/pci/drivers/vfio-pci");

  auto r = vfio::host::bind_to_driver(nic, "vfio-pci", s.mock);
  CHECK(r.has_value());
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: bind_to_driver under another sysfs root", "[host][sysfs]") {
  seam s;
  const std::string dir = "/tmp/fake-sys/bus/pci/devices/0001:02:00.1/";
  const pci_address vf{1, 2, 0, 1};
  expect_sysfs_write(s.mock, dir + "driver_override", "vfio-pci", 5);
  s.mock.expect_readlink(dir + "driver").fails(ENOENT);  // no driver: nothing to unbind
  expect_sysfs_write(s.mock, "/tmp/fake-sys/bus/pci/drivers_probe", "0001:02:00.1", 7);
  s.mock.expect_readlink(dir + "driver").fills_text("../../../../bus/pci/drivers/vfio-pci");

  auto r = vfio::host::bind_to_driver(vf, "vfio-pci", s.mock, "/tmp/fake-sys");
  CHECK(r.has_value());
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: bind_to_driver stops when the device is already bound to the driver", "[host][sysfs]") {
  seam s;
  expect_sysfs_write(s.mock, dev_dir + "driver_override", "vfio-pci", 5);
  s.mock.expect_readlink(dev_dir + "driver").fills_text("../../../bus/pci/drivers/vfio-pci");

  auto r = vfio::host::bind_to_driver(nic, "vfio-pci", s.mock);
  CHECK(r.has_value());
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: bind_to_driver reports a probe that bound nothing", "[host][sysfs]") {
  seam s;
  expect_sysfs_write(s.mock, dev_dir + "driver_override", "vfio-pci", 5);
  s.mock.expect_readlink(dev_dir + "driver").fails(ENOENT);
  expect_sysfs_write(s.mock, "/sys/bus/pci/drivers_probe", "0000:00:03.0", 7);
  s.mock.expect_readlink(dev_dir + "driver").fails(ENOENT);  // still unbound

  auto r = vfio::host::bind_to_driver(nic, "vfio-pci", s.mock);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == std::errc::no_such_device);
  CHECK(op(r.error()) == "drivers_probe");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: bind_to_driver stops at the first failing step", "[host][sysfs]") {
  seam s;
  // No such device: driver_override cannot be opened.
  s.mock.expect_open(dev_dir + "driver_override").fails(ENOENT);
  auto a = vfio::host::bind_to_driver(nic, "vfio-pci", s.mock);
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error() == std::errc::no_such_file_or_directory);

  // Unbinding fails: no probe follows.
  expect_sysfs_write(s.mock, dev_dir + "driver_override", "vfio-pci", 5);
  s.mock.expect_readlink(dev_dir + "driver").fills_text("../../../bus/pci/drivers/e1000e");
  s.mock.expect_open("/sys/bus/pci/drivers/e1000e/unbind").returns(6);
  s.mock.expect_write(6).with_bytes("0000:00:03.0", 12).fails(EIO);
  s.mock.expect_close(6);
  auto b = vfio::host::bind_to_driver(nic, "vfio-pci", s.mock);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error() == std::errc::io_error);
  CHECK(op(b.error()) == "write");

  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("host: bind_to_driver rejects bad driver names before any syscall", "[host][sysfs]") {
  seam s;
  const std::string too_long(65, 'd');
  for (const char* driver :
       {"", "vfio/pci", "vfio pci", "vfio-pci\n", too_long.c_str(), static_cast<const char*>(nullptr)}) {
    auto r = vfio::host::bind_to_driver(nic, driver, s.mock);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == vfio::errc::invalid_argument);
  }
  CHECK(s.mock.verify_done());
}

}  // namespace vfio_unit_test_host_sysfs
