// Unit tests for region info (argsz grow-and-retry, capability parsing, malformed
// chains) and region_mapping (whole and sparse mmap, partial failure, RAII unmap)
// against the scripted syscall seam.
#include <vfio/device.hpp>
#include <vfio/region.hpp>
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

namespace vfio_unit_test_region {

namespace {

namespace abi = vfio::abi;
using vfio::errc;
using vfio::testing::scripted_syscalls;

using vfio_test::op;
using vfio_test::seam;

constexpr int group_fd = 4;
constexpr int device_fd = 8;

vfio::device open_device(scripted_syscalls& mock) {
  return vfio_test::open_scripted_device(mock, group_fd, device_fd, "0000:05:00.0");
}

void expect_info(scripted_syscalls& mock, std::uint32_t regions) {
  vfio_test::expect_device_info(mock, device_fd, abi::device_flags::pci, regions, 5);
}

abi::region_info region_header(std::uint32_t argsz, std::uint32_t flags, std::uint32_t index, std::uint32_t cap_offset,
                               std::uint64_t size, std::uint64_t offset) {
  abi::region_info h{};
  h.argsz = argsz;
  h.flags = flags;
  h.index = index;
  h.cap_offset = cap_offset;
  h.size = size;
  h.offset = offset;
  return h;
}

template <class T>
void put(std::vector<std::uint8_t>& buf, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  buf.insert(buf.end(), p, p + sizeof v);
}

void put_sparse(std::vector<std::uint8_t>& buf, std::uint32_t next, std::vector<abi::sparse_mmap_area> areas) {
  abi::region_info_cap_sparse_mmap cap{};
  cap.header = {abi::region_cap::sparse_mmap, 1, next};
  cap.nr_areas = static_cast<std::uint32_t>(areas.size());
  put(buf, cap);
  for (const auto& a : areas) put(buf, a);
}

void put_header_cap(std::vector<std::uint8_t>& buf, std::uint16_t id, std::uint32_t next) {
  abi::info_cap_header h{id, 1, next};
  put(buf, h);
}

constexpr std::uint32_t rw_mmap = abi::region_flags::read | abi::region_flags::write | abi::region_flags::mmap;
constexpr std::uint32_t rw_mmap_caps = rw_mmap | abi::region_flags::caps;
constexpr std::uint64_t bar0_size = 0x4000;
constexpr std::uint64_t bar0_offset = 0;
constexpr std::uint64_t bar2_offset = 2ULL << 40;

/// The argsz of the first GET_REGION_INFO: a 256-byte stack buffer.
constexpr std::uint32_t region_argsz = vfio::detail::region_info_stack_size;
static_assert(region_argsz == 256, "the first GET_REGION_INFO's buffer");

/// The first GET_REGION_INFO of `index` (argsz 256) when the capabilities do not fit:
/// the kernel raises argsz to `needed`, sets CAPS and leaves cap_offset 0.
void expect_too_small(scripted_syscalls& mock, std::uint32_t index, std::uint32_t needed, std::uint64_t size,
                      std::uint64_t offset) {
  REQUIRE(needed > region_argsz);
  mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
      .with(region_header(region_argsz, 0, index, 0, 0, 0))
      .fills(region_header(needed, rw_mmap_caps, index, 0, size, offset));
}

/// The first GET_REGION_INFO of `index` (argsz 256) when the capabilities fit: the
/// kernel writes them after the header, sets cap_offset and leaves argsz as passed.
/// `reply` starts with a header from caps_header().
void expect_one_call(scripted_syscalls& mock, std::uint32_t index, const std::vector<std::uint8_t>& reply) {
  REQUIRE(reply.size() <= region_argsz);
  mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
      .with(region_header(region_argsz, 0, index, 0, 0, 0))
      .fills_bytes(reply.data(), reply.size());
}
abi::region_info caps_header(std::uint32_t index, std::uint32_t cap_offset, std::uint64_t size, std::uint64_t offset) {
  return region_header(region_argsz, rw_mmap_caps, index, cap_offset, size, offset);
}

/// The second GET_REGION_INFO: exactly argsz `argsz`, answered with `reply` (header + caps).
void expect_grown(scripted_syscalls& mock, std::uint32_t index, std::uint32_t argsz,
                  const std::vector<std::uint8_t>& reply) {
  REQUIRE(reply.size() <= argsz);  // the mock copies the whole reply into our buffer
  mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
      .with(region_header(argsz, 0, index, 0, 0, 0))
      .fills_bytes(reply.data(), reply.size());
}

// Memory that stands in for mapped BAR pages: real, writable addresses.
alignas(4096) unsigned char fake_bar[3][4096];

}  // namespace

// --- GET_REGION_INFO argsz grow-and-retry and capabilities ---------------------------

TEST_CASE("region: info with sparse, MSI-X and type caps takes one call", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    // 32 header + sparse (16 + 2 * 16) at 32 + MSIX_MAPPABLE (8) at 80 + TYPE (16) at 88:
    // 104 bytes, inside the first call's 256.
    std::vector<std::uint8_t> reply;
    put(reply, caps_header(abi::pci_region::bar0, 32, bar0_size, bar0_offset));
    put_sparse(reply, 80, {{0x0000, 0x1000}, {0x3000, 0x1000}});
    put_header_cap(reply, abi::region_cap::msix_mappable, 88);
    abi::region_info_cap_type type{};
    type.header = {abi::region_cap::type, 1, 0};
    type.type = abi::region_type::pci_vendor(0x8086);
    type.subtype = abi::region_subtype::intel_igd_opregion;
    put(reply, type);
    REQUIRE(reply.size() == 104);
    expect_one_call(s.mock, abi::pci_region::bar0, reply);

    auto r = dev.region(abi::pci_region::bar0);
    REQUIRE(r.has_value());
    const vfio::region_info& info = **r;
    CHECK(info.index == abi::pci_region::bar0);
    CHECK(info.flags == rw_mmap_caps);
    CHECK(info.size == bar0_size);
    CHECK(info.offset == bar0_offset);
    REQUIRE(info.has_sparse_mmap);
    REQUIRE(info.sparse_areas.size() == 2);
    CHECK(info.sparse_areas[0].offset == 0x0000);
    CHECK(info.sparse_areas[0].size == 0x1000);
    CHECK(info.sparse_areas[1].offset == 0x3000);
    CHECK(info.sparse_areas[1].size == 0x1000);
    CHECK(info.msix_mappable);
    REQUIRE(info.has_type);
    CHECK(info.type == abi::region_type::pci_vendor(0x8086));
    CHECK(info.subtype == abi::region_subtype::intel_igd_opregion);

    CHECK(dev.region(abi::pci_region::bar0).has_value());  // cached: no second ioctl
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: info grows argsz when the capabilities do not fit 256 bytes", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    // 32 header + sparse (16 + 16 * 16) at 32 + MSIX_MAPPABLE (8) at 304: 312 bytes.
    constexpr std::uint32_t needed = 312;
    expect_too_small(s.mock, abi::pci_region::bar0, needed, bar0_size, bar0_offset);
    std::vector<abi::sparse_mmap_area> areas;
    for (std::uint64_t i = 0; i < 16; ++i) areas.push_back({i * 0x400, 0x200});
    std::vector<std::uint8_t> reply;
    put(reply, region_header(needed, rw_mmap_caps, abi::pci_region::bar0, 32, bar0_size, bar0_offset));
    put_sparse(reply, 304, areas);
    put_header_cap(reply, abi::region_cap::msix_mappable, 0);
    REQUIRE(reply.size() == needed);
    expect_grown(s.mock, abi::pci_region::bar0, needed, reply);

    auto r = dev.region(abi::pci_region::bar0);
    REQUIRE(r.has_value());
    REQUIRE((*r)->sparse_areas.size() == 16);
    CHECK((*r)->sparse_areas[15].offset == 15 * 0x400);
    CHECK((*r)->sparse_areas[15].size == 0x200);
    CHECK((*r)->msix_mappable);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: a reply without capabilities needs one call", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
        .with(region_header(region_argsz, 0, 4, 0, 0, 0))
        .fills(region_header(region_argsz, rw_mmap, 4, 0, 0x100000, 4ULL << 40));
    auto r = dev.region(4);
    REQUIRE(r.has_value());
    CHECK((*r)->size == 0x100000);
    CHECK(!(*r)->has_sparse_mmap);
    CHECK(!(*r)->has_type);
    CHECK(!(*r)->msix_mappable);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: unknown capabilities are skipped", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    std::vector<std::uint8_t> reply;
    put(reply, caps_header(0, 32, bar0_size, bar0_offset));
    abi::region_info_cap_nvlink2_lnkspd lnk{};  // deprecated id 5: not interpreted
    lnk.header = {abi::region_cap::nvlink2_lnkspd, 1, 48};
    put(reply, lnk);
    put_header_cap(reply, abi::region_cap::msix_mappable, 0);
    expect_one_call(s.mock, 0, reply);
    auto r = dev.region(0);
    REQUIRE(r.has_value());
    CHECK((*r)->msix_mappable);
    CHECK(!(*r)->has_sparse_mmap);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: a malformed capability chain is refused and nothing is cached", "[region]") {
  struct bad_chain {
    const char* what;
    std::uint32_t cap_offset;
    std::uint32_t next_of_first;
    std::uint32_t nr_areas;
  };
  const bad_chain cases[] = {
      {"cap_offset points outside the buffer", 4096, 0, 0},
      {"cap_offset points into the header", 8, 0, 0},
      {"cap_offset at the last bytes (no room for a header)", region_argsz - 4, 0, 0},
      {"next points outside the buffer", 32, 0x10000, 0},
      {"next points back into the header", 32, 16, 0},
      {"next loops back to the first capability", 32, 32, 0},
      {"next is misaligned", 32, 42, 0},
      {"sparse areas run past the buffer", 32, 0, 14},  // (256 - 32 - 16) / 16 = 13 fit
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      seam s;
      {
        auto dev = open_device(s.mock);
        expect_info(s.mock, 9);
        std::vector<std::uint8_t> reply;  // in the first call's 256 bytes, zeros after it
        put(reply, caps_header(0, c.cap_offset, bar0_size, bar0_offset));
        abi::region_info_cap_sparse_mmap cap{};  // 16 bytes at 32, then one area
        cap.header = {abi::region_cap::sparse_mmap, 1, c.next_of_first};
        cap.nr_areas = c.nr_areas;
        put(reply, cap);
        put(reply, abi::sparse_mmap_area{0, 0x1000});
        expect_one_call(s.mock, 0, reply);
        auto r = dev.region(0);
        REQUIRE(!r);
        CHECK(r.error() == errc::malformed_capability_chain);
        CHECK(op(r.error()) == "VFIO_DEVICE_GET_REGION_INFO");

        // Not cached: the next call asks the kernel again.
        s.mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
            .with(region_header(region_argsz, 0, 0, 0, 0, 0))
            .fills(region_header(region_argsz, rw_mmap, 0, 0, bar0_size, bar0_offset));
        CHECK(dev.region(0).has_value());
        s.mock.expect_close(device_fd);
      }
      CHECK(s.mock.open_descriptors() == 0);
      CHECK(s.mock.verify_done());
    }
  }
}

TEST_CASE("region: a TYPE capability too short for its layout is malformed", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 10);
    // At the buffer's last 8 bytes: room for a bare header only.
    std::vector<std::uint8_t> reply;
    put(reply, caps_header(9, region_argsz - 8, 0x1000, 9ULL << 40));
    reply.resize(region_argsz - 8);
    put_header_cap(reply, abi::region_cap::type, 0);
    expect_one_call(s.mock, 9, reply);
    CHECK(dev.region(9).error() == errc::malformed_capability_chain);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: an argsz beyond the library's bound is refused without a second call", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    expect_too_small(s.mock, 0, vfio::detail::max_info_argsz + 1, bar0_size, bar0_offset);
    auto r = dev.region(0);
    REQUIRE(!r);
    CHECK(r.error() == errc::argsz_too_large);
    CHECK(op(r.error()) == "VFIO_DEVICE_GET_REGION_INFO");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: an argsz that keeps growing is given up after bounded attempts", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    std::uint32_t argsz = region_argsz;
    for (int attempt = 0; attempt < vfio::detail::max_region_info_attempts; ++attempt) {
      const std::uint32_t bigger = argsz + 16;
      s.mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
          .with(region_header(argsz, 0, 0, 0, 0, 0))
          .fills(region_header(bigger, rw_mmap_caps, 0, 0, bar0_size, bar0_offset));
      argsz = bigger;
    }
    auto r = dev.region(0);
    REQUIRE(!r);
    CHECK(r.error() == errc::argsz_too_large);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: an error on the grown call is passed through", "[region]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    expect_too_small(s.mock, 0, 300, bar0_size, bar0_offset);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
        .with(region_header(300, 0, 0, 0, 0, 0))
        .fails(EFAULT);
    auto r = dev.region(0);
    REQUIRE(!r);
    CHECK(r.error() == std::errc::bad_address);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: parse_region_info reads a header-only reply and refuses a truncated one", "[region]") {
  auto h = region_header(32, abi::region_flags::read, 6, 0, 0x8000, 6ULL << 40);
  auto ok = vfio::detail::parse_region_info(reinterpret_cast<const std::uint8_t*>(&h), sizeof h, "test");
  REQUIRE(ok.has_value());
  CHECK(ok->index == 6);
  CHECK(ok->readable());
  CHECK(!ok->writable());
  CHECK(ok->size == 0x8000);
  CHECK(ok->contains(0x7ff0, 0x10));
  CHECK(!ok->contains(0x7ff0, 0x11));
  auto short_reply = vfio::detail::parse_region_info(reinterpret_cast<const std::uint8_t*>(&h), 24, "test");
  REQUIRE(!short_reply);
  CHECK(short_reply.error() == errc::malformed_capability_chain);
  CHECK(op(short_reply.error()) == "test");
}

// --- mmap ---------------------------------------------------------------------------

namespace {

/// Scripts the region info of a BAR with two sparse areas, [0, 0x1000) and [0x3000, 0x4000):
/// the rest (an MSI-X table) cannot be mapped.
void expect_sparse_bar(scripted_syscalls& mock, std::uint32_t index, std::uint64_t offset) {
  std::vector<std::uint8_t> reply;
  put(reply, caps_header(index, 32, bar0_size, offset));
  put_sparse(reply, 0, {{0x0000, 0x1000}, {0x3000, 0x1000}});
  expect_one_call(mock, index, reply);
}

}  // namespace

TEST_CASE("region: map() of a sparse region maps each area and unmaps them all", "[region][mmap]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    expect_sparse_bar(s.mock, abi::pci_region::bar2, bar2_offset);
    s.mock.expect_mmap(device_fd, 0x1000, static_cast<std::int64_t>(bar2_offset + 0x0000)).maps_to(fake_bar[0]);
    s.mock.expect_mmap(device_fd, 0x1000, static_cast<std::int64_t>(bar2_offset + 0x3000)).maps_to(fake_bar[1]);
    {
      auto m = dev.map(abi::pci_region::bar2);
      REQUIRE(m.has_value());
      CHECK(s.mock.live_mappings() == 2);
      CHECK(m->region_index() == abi::pci_region::bar2);
      REQUIRE(m->pieces().size() == 2);
      CHECK(m->pieces()[0].offset == 0x0000);
      CHECK(m->pieces()[0].size == 0x1000);
      CHECK(m->pieces()[0].addr == fake_bar[0]);
      CHECK(m->pieces()[1].offset == 0x3000);
      CHECK(m->pieces()[1].addr == fake_bar[1]);

      CHECK(m->data(0x0010) == fake_bar[0] + 0x10);
      CHECK(m->data(0x0fff) == fake_bar[0] + 0xfff);
      CHECK(m->data(0x1000) == nullptr);  // the unmapped MSI-X hole
      CHECK(m->data(0x2ff8) == nullptr);
      CHECK(m->data(0x3008) == fake_bar[1] + 8);
      CHECK(m->data(0x4000) == nullptr);  // past the region

      // The addresses are real memory: a store through data() lands in the "BAR".
      auto* reg = static_cast<volatile std::uint32_t*>(m->data(0x3008));
      *reg = 0xdeadbeef;
      std::uint32_t seen = 0;
      std::memcpy(&seen, fake_bar[1] + 8, sizeof seen);
      CHECK(seen == 0xdeadbeef);

      s.mock.expect_munmap(fake_bar[0], 0x1000);
      s.mock.expect_munmap(fake_bar[1], 0x1000);
    }
    CHECK(s.mock.live_mappings() == 0);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: a failed mmap of the second area unmaps the first", "[region][mmap]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    expect_sparse_bar(s.mock, abi::pci_region::bar0, bar0_offset);
    s.mock.expect_mmap(device_fd, 0x1000, 0x0000).maps_to(fake_bar[0]);
    s.mock.expect_mmap(device_fd, 0x1000, 0x3000).fails(ENOMEM);
    s.mock.expect_munmap(fake_bar[0], 0x1000);
    auto m = dev.map(abi::pci_region::bar0, PROT_READ);
    REQUIRE(!m);
    CHECK(m.error() == std::errc::not_enough_memory);
    CHECK(op(m.error()) == "mmap");
    CHECK(s.mock.live_mappings() == 0);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: map() of a region without sparse areas maps it whole", "[region][mmap]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
        .with(region_header(region_argsz, 0, 4, 0, 0, 0))
        .fills(region_header(region_argsz, rw_mmap, 4, 0, 4096, 4ULL << 40));
    s.mock.expect_mmap(device_fd, 4096, static_cast<std::int64_t>(4ULL << 40)).maps_to(fake_bar[2]);
    auto m = dev.map(4);
    REQUIRE(m.has_value());
    REQUIRE(m->pieces().size() == 1);
    CHECK(m->data(0) == fake_bar[2]);
    CHECK(m->data(4095) == fake_bar[2] + 4095);
    CHECK(m->data(4096) == nullptr);

    // Moving hands the pieces over; the moved-from mapping unmaps nothing.
    vfio::region_mapping other(std::move(*m));
    CHECK(m->empty());  // NOLINT: checking the moved-from state on purpose
    CHECK(!other.empty());
    CHECK(s.mock.live_mappings() == 1);

    // unmap() reports a failure and keeps the piece (the kernel unmapped nothing),
    // so a second unmap() retries it.
    s.mock.expect_munmap(fake_bar[2], 4096).fails(EINVAL);
    auto u = other.unmap();
    REQUIRE(!u);
    CHECK(u.error() == std::errc::invalid_argument);
    CHECK(op(u.error()) == "munmap");
    CHECK(!other.empty());
    CHECK(other.data(0) == fake_bar[2]);
    CHECK(s.mock.live_mappings() == 1);
    s.mock.expect_munmap(fake_bar[2], 4096);
    REQUIRE(other.unmap());
    CHECK(other.empty());
    CHECK(other.data(0) == nullptr);
    CHECK(s.mock.live_mappings() == 0);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: map() refuses regions it cannot map, before any mmap", "[region][mmap]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 9);
    // The config region has no MMAP flag.
    s.mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
        .with(region_header(region_argsz, 0, abi::pci_region::config, 0, 0, 0))
        .fills(region_header(region_argsz, abi::region_flags::read | abi::region_flags::write, abi::pci_region::config,
                             0, 4096, 7ULL << 40));
    auto cfg = dev.map(abi::pci_region::config);
    REQUIRE(!cfg);
    CHECK(cfg.error() == errc::not_mappable);
    CHECK(op(cfg.error()) == "region flags check");
    CHECK(cfg.error().about() == vfio::subject::region(abi::pci_region::config));

    // A SPARSE_MMAP capability with no areas: nothing may be mapped.
    std::vector<std::uint8_t> none;
    put(none, caps_header(1, 32, bar0_size, 1ULL << 40));
    put_sparse(none, 0, {});
    expect_one_call(s.mock, 1, none);
    CHECK(dev.map(1).error() == errc::not_mappable);

    // A sparse area reaching past the region.
    std::vector<std::uint8_t> outside;
    put(outside, caps_header(3, 32, bar0_size, 3ULL << 40));
    put_sparse(outside, 0, {{0x3000, 0x2000}});
    expect_one_call(s.mock, 3, outside);
    CHECK(dev.map(3).error() == errc::out_of_bounds);

    CHECK(dev.map(12).error() == errc::index_out_of_range);
    CHECK(s.mock.live_mappings() == 0);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("region: a region_mapping outlives a move-assignment and unmaps the old pieces", "[region][mmap]") {
  seam s;
  vfio::region_info info;
  info.index = 0;
  info.flags = rw_mmap;
  info.size = 4096;
  info.offset = 0;
  s.mock.expect_mmap(device_fd, 4096, 0).maps_to(fake_bar[0]);
  s.mock.expect_mmap(device_fd, 4096, 0).maps_to(fake_bar[1]);
  auto a = vfio::region_mapping::map(device_fd, info, PROT_READ, s.mock);
  auto b = vfio::region_mapping::map(device_fd, info, PROT_READ, s.mock);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(s.mock.live_mappings() == 2);
  s.mock.expect_munmap(fake_bar[0], 4096);  // a's old piece, at the assignment
  *a = std::move(*b);
  CHECK(s.mock.live_mappings() == 1);
  CHECK(a->data(0) == fake_bar[1]);
  s.mock.expect_munmap(fake_bar[1], 4096);
  CHECK(a->unmap().has_value());
  CHECK(s.mock.live_mappings() == 0);
  CHECK(s.mock.verify_done());
}

}  // namespace vfio_unit_test_region
