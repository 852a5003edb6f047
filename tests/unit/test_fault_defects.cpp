// Regression tests for defects found by fault injection, hostile seams and
// fuzzing: a negative mmap offset, read() answering more than asked, sysfs
// path components that climb out of a directory, config_snapshot offsets that
// wrap, and what the library and both test seams do when close(2) or
// munmap(2) fail.
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/region.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>
#include <vfio/unique_fd.hpp>

#include <fcntl.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_fault_defects {

namespace {

using vfio::testing::call_kind;
namespace sim = vfio::testing::sim;

vfio::region_info mappable_region(std::uint64_t size, std::uint64_t offset) {
  vfio::region_info r;
  r.index = 0;
  r.flags = vfio::abi::region_flags::read | vfio::abi::region_flags::write | vfio::abi::region_flags::mmap;
  r.size = size;
  r.offset = offset;
  return r;
}

}  // namespace

TEST_CASE("defect 4: a sparse area whose offset exceeds INT64_MAX never reaches mmap", "[fault][defect]") {
  vfio_test::seam s;  // no expectations: any syscall is a mismatch
  auto r = mappable_region(~std::uint64_t{0}, 0);
  r.has_sparse_mmap = true;
  REQUIRE(r.sparse_areas.allocate(1));
  r.sparse_areas[0] = {0x8000000000000000ULL, 0x1000};
  auto m = vfio::region_mapping::map(s.mock, 10, r, PROT_READ);
  REQUIRE_FALSE(m);
  CHECK(m.error() == vfio::errc::out_of_bounds);
  CHECK(vfio_test::op(m.error()) == "region bounds check");  // refused before any syscall
  CHECK(s.mismatches.empty());

  SECTION("also when region offset plus area offset plus size passes INT64_MAX") {
    auto r2 = mappable_region(~std::uint64_t{0}, 0x7ffffffffffff000ULL);
    r2.has_sparse_mmap = true;
    REQUIRE(r2.sparse_areas.allocate(1));
    r2.sparse_areas[0] = {0x0, 0x2000};
    auto m2 = vfio::region_mapping::map(s.mock, 10, r2, PROT_READ);
    REQUIRE_FALSE(m2);
    CHECK(m2.error() == vfio::errc::out_of_bounds);
    CHECK(s.mismatches.empty());
  }
}

TEST_CASE("defect 5: read_attribute clamps a read() that answers more bytes than asked", "[fault][defect]") {
  vfio_test::seam s;
  s.mock.expect_open("/sys/x").returns(5);
  // The seam copies at most what was asked but claims 5000 bytes.
  s.mock.expect_read(5).fills_text("abcdefghijklmnopqrstuvwxyz").returns(5000);
  s.mock.expect_read(5).returns(0);  // the one-byte probe after the buffer filled
  s.mock.expect_close(5);
  std::array<char, 16> guard_before{};
  char buf[8];
  std::array<char, 16> guard_after{};
  auto r = vfio::host::read_attribute("/sys/x", buf, sizeof buf, s.mock);
  REQUIRE(r);
  CHECK(*r == 7);
  CHECK(std::string(buf) == "abcdefg");
  CHECK(guard_before == std::array<char, 16>{});
  CHECK(guard_after == std::array<char, 16>{});
  CHECK(s.mock.verify_done());
}

TEST_CASE("defect 6: bind_to_driver refuses driver links whose last component is not a plain name", "[fault][defect]") {
  const vfio::host::pci_address bdf{0, 0, 3, 0};
  const char* const hostile[] = {"../../../../bus/pci/drivers/..", "../../../../bus/pci/drivers/.",
                                 "../../../../bus/pci/drivers/"};
  for (const char* link : hostile) {
    INFO(link);
    vfio_test::seam s;
    s.mock.expect_open("/sys/bus/pci/devices/0000:00:03.0/driver_override").returns(5);
    s.mock.expect_write(5).returns(8);
    s.mock.expect_close(5);
    s.mock.expect_readlink("/sys/bus/pci/devices/0000:00:03.0/driver").fills_text(link);
    auto r = vfio::host::bind_to_driver(bdf, "vfio-pci", s.mock);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::parse_error);
    CHECK(vfio_test::op(r.error()) == "readlink");
    CHECK(s.mock.verify_done());  // no write to <drivers>/../unbind
  }

  SECTION("a NUL inside the name would cut the unbind path short") {
    vfio_test::seam s;
    s.mock.expect_open("/sys/bus/pci/devices/0000:00:03.0/driver_override").returns(5);
    s.mock.expect_write(5).returns(8);
    s.mock.expect_close(5);
    const std::string link("../../../../bus/pci/drivers/e1000e\0x", 36);
    s.mock.expect_readlink("/sys/bus/pci/devices/0000:00:03.0/driver").fills_text(link);
    auto r = vfio::host::bind_to_driver(bdf, "vfio-pci", s.mock);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::parse_error);
    CHECK(s.mock.verify_done());
  }
}

TEST_CASE("defect 8: config_snapshot reads past 0xffff as all-ones instead of wrapping to byte 0", "[fault][defect]") {
  std::array<std::uint8_t, 4096> bytes{};
  bytes[0] = 0x12;
  bytes[1] = 0x34;
  bytes[2] = 0x56;
  const auto s = vfio::pci::config_snapshot::from_bytes(bytes.data(), bytes.size());
  CHECK(s.u16(0xffff) == 0xffff);
  CHECK(s.u32(0xffff) == 0xffffffffU);
  CHECK(s.u32(0xfffe) == 0xffffffffU);
  CHECK(s.u32(0xfffd) == 0xffffffffU);
  CHECK(s.u16(0x0fff) == 0xff00);  // last byte 0, one past the end
  CHECK(s.u16(0) == 0x3412);
}

TEST_CASE("defect 9: the scripted mock releases a descriptor whose close() failed, as Linux does", "[fault][defect]") {
  for (int e : {EINTR, EIO, EBADF}) {
    INFO(e);
    vfio_test::seam s;
    s.mock.expect_open("/dev/vfio/vfio").returns(7);
    s.mock.expect_close(7).fails(e);
    {
      vfio::unique_fd fd(s.mock.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0), s.mock);
      REQUIRE(fd.get() == 7);
      CHECK(s.mock.open_descriptors() == 1);
    }
    CHECK(s.mock.open_descriptors() == 0);
    CHECK(s.mock.verify_done());
  }
}

TEST_CASE("defect 10: a close() refused with EBADF is not an assertion; the descriptor is gone", "[fault][defect]") {
  vfio::testing::simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  {
    auto c = vfio::container::open("/dev/vfio/vfio", k);
    REQUIRE(c);
    sim::fault_rule rule;
    rule.kind = call_kind::close;
    rule.error = EBADF;
    k.inject(rule);
  }  // ~unique_fd: close fails with EBADF
  CHECK(k.open_descriptors() == 0);

  SECTION("unique_fd::close() reports it") {
    const int fd = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    vfio::unique_fd owned(fd, k);
    auto r = owned.close();
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::bad_file_descriptor);
    CHECK(vfio_test::op(r.error()) == "close");
    CHECK_FALSE(owned);
    CHECK(k.open_descriptors() == 0);
  }
}

TEST_CASE("defect 10: a failed munmap keeps the piece, so unmap() can be retried and the model agrees",
          "[fault][defect]") {
  vfio::testing::simulated_kernel k;
  REQUIRE(k.add_device(sim::profiles::e1000e()));
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  auto g = vfio::group::open(3, k);
  REQUIRE((c && g && g->set_container(*c) && c->set_best_iommu()));
  auto d = g->open_device("0000:00:03.0");
  REQUIRE(d);
  auto m = d->map(vfio::abi::pci_region::bar0);
  REQUIRE(m);
  REQUIRE(k.live_mappings() == 1);

  sim::fault_rule rule;
  rule.kind = call_kind::munmap;
  rule.nth = 1;
  rule.error = ENOMEM;
  k.inject(rule);
  auto r = m->unmap();
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::not_enough_memory);
  CHECK(vfio_test::op(r.error()) == "munmap");
  CHECK(k.live_mappings() == 1);  // the kernel did not unmap
  CHECK_FALSE(m->empty());        // and the library still owns it
  REQUIRE(m->unmap());
  CHECK(k.live_mappings() == 0);
  CHECK(m->empty());

  SECTION("the destructor tries once and then forgets a piece it cannot unmap") {
    auto m2 = d->map(vfio::abi::pci_region::bar0);
    REQUIRE(m2);
    sim::fault_rule always;
    always.kind = call_kind::munmap;
    always.error = EINVAL;
    k.inject(always);
    { auto gone = std::move(*m2); }
    CHECK(k.live_mappings() == 1);  // documented: leaked, the kernel keeps it
    k.clear_faults();
  }
}

}  // namespace vfio_unit_test_fault_defects
