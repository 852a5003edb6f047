// Unit tests for vfio::container against the scripted syscall seam: exact
// requests, argsz values and payloads, and every documented error path.
#include <vfio/container.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_container {

namespace {

namespace abi = vfio::abi;
using vfio::container;
using vfio::testing::scripted_syscalls;

using vfio_test::op;
using vfio_test::seam;

constexpr int container_fd = 3;

/// Scripts open + GET_API_VERSION and opens the container through the mock.
container open_container(scripted_syscalls& mock) {
  mock.expect_open("/dev/vfio/vfio").with_flags(O_RDWR | O_CLOEXEC).returns(container_fd);
  mock.expect_ioctl(container_fd, abi::req::get_api_version).returns(abi::api_version);
  auto c = container::open("/dev/vfio/vfio", mock);
  REQUIRE(c.has_value());
  return std::move(*c);
}

/// Appends the bytes of v to buf.
template <class T>
void put(std::vector<std::uint8_t>& buf, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  buf.insert(buf.end(), p, p + sizeof v);
}

abi::iommu_type1_info info_header(std::uint32_t argsz, std::uint32_t flags, std::uint64_t pgsizes,
                                  std::uint32_t cap_offset) {
  abi::iommu_type1_info h{};
  h.argsz = argsz;
  h.flags = flags;
  h.iova_pgsizes = pgsizes;
  h.cap_offset = cap_offset;
  return h;
}

/// The argsz of a container's first VFIO_IOMMU_GET_INFO: a 512-byte stack buffer.
constexpr std::uint32_t first_argsz = vfio::detail::iommu_info_stack_size;
static_assert(first_argsz == 512, "the first GET_INFO's buffer");

/// What a container's first VFIO_IOMMU_GET_INFO must pass: argsz 512, the rest zero.
abi::iommu_type1_info first_call() { return info_header(first_argsz, 0, 0, 0); }

constexpr std::uint32_t pgsizes_and_caps = abi::iommu_info_flags::pgsizes | abi::iommu_info_flags::caps;

/// A DMA_AVAIL capability at the end of a buffer (padded to 8 like the kernel since v6.6).
void put_dma_avail(std::vector<std::uint8_t>& buf, std::uint32_t next, std::uint32_t avail) {
  abi::iommu_type1_info_dma_avail cap{};
  cap.header = {abi::iommu_cap::dma_avail, 1, next};
  cap.avail = avail;
  put(buf, cap);
  buf.resize(buf.size() + 4);
}

}  // namespace

// --- open -------------------------------------------------------------------

TEST_CASE("container: open checks the API version and keeps the seam", "[container]") {
  seam s;
  {
    s.mock.expect_open("/dev/vfio/vfio").returns(container_fd);
    s.mock.expect_ioctl(container_fd, abi::req::get_api_version).returns(0);
    auto c = container::open("/dev/vfio/vfio", s.mock);
    REQUIRE(c.has_value());
    CHECK(static_cast<bool>(*c));
    CHECK(c->fd() == container_fd);
    CHECK(&c->sys() == &s.mock);
    CHECK(c->iommu_type() == 0);
    CHECK(s.mock.open_descriptors() == 1);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: open with another path", "[container]") {
  seam s;
  s.mock.expect_open("/tmp/vfio-node").returns(9);
  s.mock.expect_ioctl(9, abi::req::get_api_version).returns(0);
  s.mock.expect_close(9);
  {
    auto c = container::open("/tmp/vfio-node", s.mock);
    REQUIRE(c.has_value());
    CHECK(c->fd() == 9);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: an API version mismatch closes the descriptor", "[container]") {
  seam s;
  s.mock.expect_open("/dev/vfio/vfio").returns(container_fd);
  s.mock.expect_ioctl(container_fd, abi::req::get_api_version).returns(1);
  s.mock.expect_close(container_fd);
  auto c = container::open("/dev/vfio/vfio", s.mock);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error() == vfio::errc::api_version_mismatch);
  CHECK(op(c.error()) == "VFIO_GET_API_VERSION");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: open and GET_API_VERSION failures", "[container]") {
  seam s;
  s.mock.expect_open("/dev/vfio/vfio").fails(ENOENT);
  auto a = container::open("/dev/vfio/vfio", s.mock);
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error() == std::errc::no_such_file_or_directory);
  CHECK(op(a.error()) == "open");

  s.mock.expect_open("/dev/null").returns(4);
  s.mock.expect_ioctl(4, abi::req::get_api_version).fails(ENOTTY);
  s.mock.expect_close(4);
  auto b = container::open("/dev/null", s.mock);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error() == std::errc::inappropriate_io_control_operation);
  CHECK(op(b.error()) == "VFIO_GET_API_VERSION");

  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: an empty or moved-from container issues no syscalls", "[container]") {
  seam s;
  container empty;
  CHECK_FALSE(static_cast<bool>(empty));
  CHECK(empty.fd() == -1);
  CHECK(empty.check_extension(abi::extension::type1v2_iommu).error() == std::errc::bad_file_descriptor);
  CHECK(empty.set_iommu(abi::extension::type1v2_iommu).error() == std::errc::bad_file_descriptor);
  CHECK(empty.set_best_iommu().error() == std::errc::bad_file_descriptor);
  CHECK(empty.get_iommu_info().error() == std::errc::bad_file_descriptor);
  CHECK(empty.map_dma(0x1000, 0x1000, 0x1000).error() == std::errc::bad_file_descriptor);
  CHECK(empty.unmap_dma(0x1000, 0x1000).error() == std::errc::bad_file_descriptor);
  CHECK(empty.unmap_all_dma().error() == std::errc::bad_file_descriptor);

  {
    container a = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).returns(1);
    s.mock.expect_ioctl_value(container_fd, abi::req::set_iommu, abi::extension::type1v2_iommu).returns(0);
    REQUIRE(a.set_iommu(abi::extension::type1v2_iommu).has_value());
    container b(std::move(a));
    CHECK_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): checking the moved-from state
    CHECK(a.iommu_type() == 0);         // NOLINT(bugprone-use-after-move)
    CHECK(b.fd() == container_fd);
    CHECK(b.iommu_type() == abi::extension::type1v2_iommu);
    container c;
    c = std::move(b);
    CHECK(c.fd() == container_fd);
    s.mock.expect_close(container_fd);  // exactly once
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

// --- extensions and the IOMMU model ------------------------------------------------

TEST_CASE("container: check_extension passes the extension by value", "[container]") {
  seam s;
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).returns(1);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::noiommu_iommu).returns(0);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::unmap_all).fails(EINVAL);
    auto yes = c.check_extension(abi::extension::type1v2_iommu);
    REQUIRE(yes.has_value());
    CHECK(*yes);
    auto no = c.check_extension(abi::extension::noiommu_iommu);
    REQUIRE(no.has_value());
    CHECK_FALSE(*no);
    auto err = c.check_extension(abi::extension::unmap_all);
    REQUIRE_FALSE(err.has_value());
    CHECK(err.error() == std::errc::invalid_argument);
    CHECK(op(err.error()) == "VFIO_CHECK_EXTENSION");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: provider() asks IOMMU_VFIO_IOAS(GET) and reads the errno", "[container]") {
  seam s;
  {
    container c = open_container(s.mock);
    abi::iommufd::vfio_ioas get{};
    get.size = sizeof get;
    get.op = abi::iommufd::vfio_ioas_op::get;
    const auto expect = [&] { return s.mock.expect_ioctl(container_fd, abi::iommufd::req::vfio_ioas).with(get); };
    expect().returns(0);     // iommufd with its compat IOAS
    expect().fails(ENODEV);  // iommufd before a group
    expect().fails(EINVAL);  // VFIO's container before SET_IOMMU
    expect().fails(ENOTTY);  // type1's answer after it
    expect().fails(EFAULT);  // anything else is an error
    CHECK(c.provider().value() == vfio::container_provider::iommufd);
    CHECK(c.provider().value() == vfio::container_provider::iommufd);
    CHECK(c.provider().value() == vfio::container_provider::vfio);
    CHECK(c.provider().value() == vfio::container_provider::vfio);
    auto err = c.provider();
    REQUIRE_FALSE(err.has_value());
    CHECK(err.error() == std::errc::bad_address);
    CHECK(op(err.error()) == "IOMMU_VFIO_IOAS");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: set_iommu checks the extension, then sets it by value", "[container]") {
  seam s;
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1_iommu).returns(1);
    s.mock.expect_ioctl_value(container_fd, abi::req::set_iommu, abi::extension::type1_iommu).returns(0);
    REQUIRE(c.set_iommu(abi::extension::type1_iommu).has_value());
    CHECK(c.iommu_type() == abi::extension::type1_iommu);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: an IOMMU type the container does not offer is never set", "[container]") {
  seam s;
  {
    container c = open_container(s.mock);
    // No VFIO_SET_IOMMU follows: the script would report it.
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::noiommu_iommu).returns(0);
    auto r = c.set_iommu(abi::extension::noiommu_iommu);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == vfio::errc::extension_unsupported);
    CHECK(op(r.error()) == "VFIO_SET_IOMMU");
    CHECK(c.iommu_type() == 0);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: SET_IOMMU refused by the kernel leaves the type unset", "[container]") {
  seam s;
  {
    container c = open_container(s.mock);
    // No group attached yet: vfio_ioctl_set_iommu answers -EINVAL.
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).returns(1);
    s.mock.expect_ioctl_value(container_fd, abi::req::set_iommu, abi::extension::type1v2_iommu).fails(EINVAL);
    auto r = c.set_iommu(abi::extension::type1v2_iommu);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(op(r.error()) == "VFIO_SET_IOMMU");
    CHECK(c.iommu_type() == 0);

    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).fails(EIO);
    auto e = c.set_iommu(abi::extension::type1v2_iommu);
    REQUIRE_FALSE(e.has_value());
    CHECK(op(e.error()) == "VFIO_CHECK_EXTENSION");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: set_best_iommu prefers Type1v2, falls back to Type1", "[container]") {
  seam s;
  SECTION("Type1v2 offered") {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).returns(1);
    s.mock.expect_ioctl_value(container_fd, abi::req::set_iommu, abi::extension::type1v2_iommu).returns(0);
    auto t = c.set_best_iommu();
    REQUIRE(t.has_value());
    CHECK(*t == abi::extension::type1v2_iommu);
    CHECK(c.iommu_type() == abi::extension::type1v2_iommu);
    s.mock.expect_close(container_fd);
  }
  SECTION("only Type1 offered") {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).returns(0);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1_iommu).returns(1);
    s.mock.expect_ioctl_value(container_fd, abi::req::set_iommu, abi::extension::type1_iommu).returns(0);
    auto t = c.set_best_iommu();
    REQUIRE(t.has_value());
    CHECK(*t == abi::extension::type1_iommu);
    CHECK(c.iommu_type() == abi::extension::type1_iommu);
    s.mock.expect_close(container_fd);
  }
  SECTION("neither offered") {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).returns(0);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1_iommu).returns(0);
    auto t = c.set_best_iommu();
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error() == vfio::errc::extension_unsupported);
    CHECK(c.iommu_type() == 0);
    s.mock.expect_close(container_fd);
  }
  SECTION("SET_IOMMU fails") {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::type1v2_iommu).returns(1);
    s.mock.expect_ioctl_value(container_fd, abi::req::set_iommu, abi::extension::type1v2_iommu).fails(EBUSY);
    auto t = c.set_best_iommu();
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error() == std::errc::device_or_resource_busy);
    CHECK(c.iommu_type() == 0);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

// --- VFIO_IOMMU_GET_INFO ------------------------------------------------------------

TEST_CASE("container: get_iommu_info parses the capabilities from one call", "[container][info]") {
  seam s;
  // The kernel's layout (vfio_iommu_type1_get_info): header at 0, caps from 24 in the
  // order migration, dma_avail, iova_range. They fit the first call's 512 bytes, so the
  // kernel fills them in and leaves argsz as passed.
  std::vector<std::uint8_t> full;
  put(full, info_header(first_argsz, pgsizes_and_caps, 0x40201000, 24));
  abi::iommu_type1_info_cap_migration mig{};
  mig.header = {abi::iommu_cap::migration, 1, 56};
  mig.flags = 0;
  mig.pgsize_bitmap = 0x1000;
  mig.max_dirty_bitmap_size = 256ULL << 20;
  put(full, mig);
  REQUIRE(full.size() == 56);
  put_dma_avail(full, 72, 65535);
  REQUIRE(full.size() == 72);
  abi::iommu_type1_info_cap_iova_range ranges{};
  ranges.header = {abi::iommu_cap::iova_range, 1, 0};
  ranges.nr_iovas = 2;
  put(full, ranges);
  put(full, abi::iova_range{0, 0xfedfffff});
  put(full, abi::iova_range{0xfef00000, 0xffffffffffffULL});
  REQUIRE(full.size() == 120);

  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
        .with(first_call())
        .fills_bytes(full.data(), full.size());

    auto info = c.get_iommu_info();
    REQUIRE(info.has_value());
    CHECK(info->flags == pgsizes_and_caps);
    CHECK(info->iova_pgsizes == 0x40201000);
    REQUIRE(info->iova_ranges.size() == 2);
    CHECK(info->iova_ranges[0].start == 0);
    CHECK(info->iova_ranges[0].end == 0xfedfffff);
    CHECK(info->iova_ranges[1].start == 0xfef00000);
    CHECK(info->iova_ranges[1].end == 0xffffffffffffULL);
    REQUIRE(info->dma_avail.has_value());
    CHECK(*info->dma_avail == 65535);
    REQUIRE(info->migration.has_value());
    CHECK(info->migration->pgsize_bitmap == 0x1000);
    CHECK(info->migration->max_dirty_bitmap_size == (256ULL << 20));
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: get_iommu_info grows argsz when the capabilities do not fit 512 bytes", "[container][info]") {
  seam s;
  // 40 IOVA ranges: 24 + 16 (dma_avail) + 16 + 40 * 16 = 696 bytes.
  std::vector<std::uint8_t> full;
  put(full, info_header(0, pgsizes_and_caps, 0x1000, 24));  // argsz patched below
  put_dma_avail(full, 40, 7);
  abi::iommu_type1_info_cap_iova_range ranges{};
  ranges.header = {abi::iommu_cap::iova_range, 1, 0};
  ranges.nr_iovas = 40;
  put(full, ranges);
  for (std::uint64_t i = 0; i < 40; ++i) put(full, abi::iova_range{i << 32, (i << 32) + 0xffff});
  const auto total = static_cast<std::uint32_t>(full.size());
  REQUIRE(total == 696);
  std::memcpy(full.data(), &total, sizeof total);
  {
    container c = open_container(s.mock);
    // First call: the kernel raises argsz, sets CAPS and leaves cap_offset 0.
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
        .with(first_call())
        .fills(info_header(total, pgsizes_and_caps, 0x1000, 0));
    // Second call: the grown argsz, in a fresh zeroed buffer.
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
        .with(info_header(total, 0, 0, 0))
        .fills_bytes(full.data(), full.size());
    auto info = c.get_iommu_info();
    REQUIRE(info.has_value());
    REQUIRE(info->iova_ranges.size() == 40);
    CHECK(info->iova_ranges[39].start == std::uint64_t{39} << 32);
    CHECK(info->iova_ranges[39].end == (std::uint64_t{39} << 32) + 0xffff);
    REQUIRE(info->dma_avail.has_value());
    CHECK(*info->dma_avail == 7);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: get_iommu_info without capabilities makes one call", "[container][info]") {
  seam s;
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
        .with(first_call())
        .fills(info_header(first_argsz, abi::iommu_info_flags::pgsizes, 0x1000, 0));
    auto info = c.get_iommu_info();
    REQUIRE(info.has_value());
    CHECK(info->flags == abi::iommu_info_flags::pgsizes);
    CHECK(info->iova_pgsizes == 0x1000);
    CHECK(info->iova_ranges.empty());
    CHECK_FALSE(info->dma_avail.has_value());
    CHECK_FALSE(info->migration.has_value());
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: get_iommu_info skips unknown capabilities", "[container][info]") {
  seam s;
  std::vector<std::uint8_t> full;
  put(full, info_header(first_argsz, pgsizes_and_caps, 0x1000, 24));
  put(full, abi::info_cap_header{0x7777, 1, 32});  // unknown id, 8 bytes
  put_dma_avail(full, 0, 12);
  REQUIRE(full.size() == 48);
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
        .with(first_call())
        .fills_bytes(full.data(), full.size());
    auto info = c.get_iommu_info();
    REQUIRE(info.has_value());
    REQUIRE(info->dma_avail.has_value());
    CHECK(*info->dma_avail == 12);
    CHECK(info->iova_ranges.empty());
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: get_iommu_info refuses an argsz beyond max_info_argsz", "[container][info]") {
  seam s;
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
        .with(first_call())
        .fills(info_header(vfio::detail::max_info_argsz + 1, pgsizes_and_caps, 0x1000, 0));
    auto info = c.get_iommu_info();
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error() == vfio::errc::argsz_too_large);
    CHECK(op(info.error()) == "VFIO_IOMMU_GET_INFO");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: get_iommu_info gives up when argsz keeps growing", "[container][info]") {
  seam s;
  {
    container c = open_container(s.mock);
    std::uint32_t asked = first_argsz;
    for (std::uint32_t grown : {1024u, 2048u, 4096u, 8192u}) {
      s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
          .with(info_header(asked, 0, 0, 0))
          .fills(info_header(grown, pgsizes_and_caps, 0x1000, 0));
      asked = grown;
    }
    auto info = c.get_iommu_info();
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error() == vfio::errc::argsz_too_large);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: get_iommu_info rejects malformed capability chains", "[container][info]") {
  seam s;
  std::vector<std::uint8_t> full;
  std::string what;

  SECTION("cap_offset past the end of the buffer") {
    what = "outside";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, first_argsz + 8));
    put_dma_avail(full, 0, 1);
  }
  SECTION("cap_offset inside the fixed header") {
    what = "header";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 8));
    put_dma_avail(full, 0, 1);
  }
  SECTION("cap_offset not 4-byte aligned") {
    what = "misaligned";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 26));
    put_dma_avail(full, 0, 1);
  }
  SECTION("a capability that runs past the end") {
    what = "truncated";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 24));
    put(full, abi::info_cap_header{0x7777, 1, first_argsz - 8});
    full.resize(first_argsz - 8);
    put(full, abi::info_cap_header{abi::iommu_cap::dma_avail, 1, 0});  // avail itself is past the buffer
  }
  SECTION("next points past the end") {
    what = "next outside";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 24));
    put_dma_avail(full, 0x1000, 1);
  }
  SECTION("next points back to itself") {
    what = "self loop";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 24));
    put(full, abi::info_cap_header{0x7777, 1, 24});
    put_dma_avail(full, 0, 1);
  }
  SECTION("two capabilities point at each other") {
    what = "loop";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 24));
    put(full, abi::info_cap_header{0x7777, 1, 32});
    put_dma_avail(full, 24, 1);
  }
  SECTION("a known capability loops back to itself") {
    what = "known loop";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 32));
    put(full, abi::info_cap_header{0x7777, 1, 0});
    put_dma_avail(full, 32, 1);
  }
  SECTION("the same capability twice") {
    what = "repeated";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 24));
    put_dma_avail(full, 40, 1);
    put_dma_avail(full, 0, 2);
  }
  SECTION("an IOVA range count larger than the buffer") {
    what = "nr_iovas";
    put(full, info_header(0, pgsizes_and_caps, 0x1000, 24));
    abi::iommu_type1_info_cap_iova_range ranges{};
    ranges.header = {abi::iommu_cap::iova_range, 1, 0};
    ranges.nr_iovas = 31;  // (512 - 24 - 16) / 16 = 29 fit
    put(full, ranges);
    put(full, abi::iova_range{0, 0xffff});
  }
  // One call: the reply fits the first 512 bytes, whose rest reads as zeros.
  REQUIRE(full.size() <= first_argsz);
  std::memcpy(full.data(), &first_argsz, sizeof first_argsz);
  INFO(what);
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info)
        .with(first_call())
        .fills_bytes(full.data(), full.size());
    auto info = c.get_iommu_info();
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error() == vfio::errc::malformed_capability_chain);
    CHECK(op(info.error()) == "VFIO_IOMMU_GET_INFO");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: get_iommu_info before an IOMMU is set", "[container][info]") {
  seam s;
  {
    container c = open_container(s.mock);
    // vfio_fops_unl_ioctl: no IOMMU driver yet, unknown ioctls get -EINVAL.
    s.mock.expect_ioctl(container_fd, abi::req::iommu_get_info).with(first_call()).fails(EINVAL);
    auto info = c.get_iommu_info();
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error() == std::errc::invalid_argument);
    CHECK(op(info.error()) == "VFIO_IOMMU_GET_INFO");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

// --- DMA map / unmap -------------------------------------------------------------------

TEST_CASE("container: map_dma passes the exact vfio_iommu_type1_dma_map", "[container][dma]") {
  seam s;
  {
    container c = open_container(s.mock);
    abi::iommu_type1_dma_map rw{};
    rw.argsz = 32;
    rw.flags = abi::dma_map_flags::read | abi::dma_map_flags::write;
    rw.vaddr = 0x7f0000200000;
    rw.iova = 0x100000;
    rw.size = 0x200000;
    s.mock.expect_ioctl(container_fd, abi::req::iommu_map_dma).with(rw).returns(0);
    CHECK(c.map_dma(0x7f0000200000, 0x100000, 0x200000).has_value());

    abi::iommu_type1_dma_map ro = rw;
    ro.flags = abi::dma_map_flags::read;
    ro.iova = 0x400000;
    s.mock.expect_ioctl(container_fd, abi::req::iommu_map_dma).with(ro).returns(0);
    CHECK(c.map_dma(0x7f0000200000, 0x400000, 0x200000, abi::dma_map_flags::read).has_value());

    s.mock.expect_ioctl(container_fd, abi::req::iommu_map_dma).with(rw).fails(EEXIST);
    auto dup = c.map_dma(0x7f0000200000, 0x100000, 0x200000);
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error() == std::errc::file_exists);
    CHECK(op(dup.error()) == "VFIO_IOMMU_MAP_DMA");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: unmap_dma reports the size the kernel wrote back", "[container][dma]") {
  seam s;
  {
    container c = open_container(s.mock);
    abi::iommu_type1_dma_unmap unmap{};
    unmap.argsz = 24;
    unmap.flags = 0;
    unmap.iova = 0x100000;
    unmap.size = 0x1000;
    // Type1 (v1) may unmap a whole larger mapping.
    s.mock.expect_ioctl(container_fd, abi::req::iommu_unmap_dma)
        .with(unmap)
        .fills(std::uint64_t{0x200000}, offsetof(abi::iommu_type1_dma_unmap, size))
        .returns(0);
    auto n = c.unmap_dma(0x100000, 0x1000);
    REQUIRE(n.has_value());
    CHECK(*n == 0x200000);

    // Nothing mapped there: success with 0.
    s.mock.expect_ioctl(container_fd, abi::req::iommu_unmap_dma)
        .with(unmap)
        .fills(std::uint64_t{0}, offsetof(abi::iommu_type1_dma_unmap, size))
        .returns(0);
    auto zero = c.unmap_dma(0x100000, 0x1000);
    REQUIRE(zero.has_value());
    CHECK(*zero == 0);

    s.mock.expect_ioctl(container_fd, abi::req::iommu_unmap_dma).with(unmap).fails(EINVAL);
    auto bad = c.unmap_dma(0x100000, 0x1000);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == std::errc::invalid_argument);
    CHECK(op(bad.error()) == "VFIO_IOMMU_UNMAP_DMA");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: unmap_all_dma uses FLAG_ALL with iova and size 0", "[container][dma]") {
  seam s;
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::unmap_all).returns(1);
    abi::iommu_type1_dma_unmap all{};
    all.argsz = 24;
    all.flags = abi::dma_unmap_flags::all;
    s.mock.expect_ioctl(container_fd, abi::req::iommu_unmap_dma)
        .with(all)
        .fills(std::uint64_t{0x600000}, offsetof(abi::iommu_type1_dma_unmap, size))
        .returns(0);
    auto n = c.unmap_all_dma();
    REQUIRE(n.has_value());
    CHECK(*n == 0x600000);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("container: unmap_all_dma without VFIO_UNMAP_ALL issues no unmap", "[container][dma]") {
  seam s;
  {
    container c = open_container(s.mock);
    s.mock.expect_ioctl_value(container_fd, abi::req::check_extension, abi::extension::unmap_all).returns(0);
    auto n = c.unmap_all_dma();
    REQUIRE_FALSE(n.has_value());
    CHECK(n.error() == vfio::errc::extension_unsupported);
    CHECK(op(n.error()) == "VFIO_IOMMU_UNMAP_DMA");
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

}  // namespace vfio_unit_test_container
