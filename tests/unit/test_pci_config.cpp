// Unit tests for vfio::pci::config (typed config access through the VFIO config
// region) and vfio::pci::config_snapshot (bounded, cycle-checked capability walks).
#include <vfio/pci/config.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_pci_config {

namespace {

namespace abi = vfio::abi;
using vfio::errc;
using vfio::pci::capability;
using vfio::pci::config_snapshot;
using vfio::testing::scripted_syscalls;

using vfio_test::op;
using vfio_test::seam;

using image = std::array<std::uint8_t, 4096>;

void put8(image& c, std::uint16_t at, std::uint8_t v) { c[at] = v; }
void put16(image& c, std::uint16_t at, std::uint16_t v) {
  c[at] = static_cast<std::uint8_t>(v);
  c[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(image& c, std::uint16_t at, std::uint32_t v) {
  put16(c, at, static_cast<std::uint16_t>(v));
  put16(c, static_cast<std::uint16_t>(at + 2), static_cast<std::uint16_t>(v >> 16));
}
/// A standard capability header: id, next.
void put_cap(image& c, std::uint16_t at, std::uint8_t id, std::uint8_t next) {
  put8(c, at, id);
  put8(c, static_cast<std::uint16_t>(at + 1), next);
}
/// An extended capability header: id:16 | version:4 | next:12.
std::uint32_t ext_header(std::uint16_t id, std::uint8_t version, std::uint16_t next) {
  return static_cast<std::uint32_t>(id) | (static_cast<std::uint32_t>(version) << 16) |
         (static_cast<std::uint32_t>(next) << 20);
}

/// Config space shaped like QEMU's e1000e (82574L): PM at 0xc8 -> MSI at 0xd0 -> PCIe
/// at 0xe0 -> MSI-X at 0xa0, and extended AER at 0x100 -> DSN at 0x140.
image e1000e_image() {
  image c{};
  put16(c, abi::pci::vendor_id, 0x8086);
  put16(c, abi::pci::device_id, 0x10d3);
  put16(c, abi::pci::command, 0x0507);
  put16(c, abi::pci::status, abi::pci::status_bits::cap_list);
  put32(c, abi::pci::class_revision, 0x02000000);
  put32(c, abi::pci::base_address_0, 0xfebc0000);
  put8(c, abi::pci::cap_list, 0xc8);
  put8(c, abi::pci::interrupt_pin, 1);

  put_cap(c, 0xc8, abi::pci::cap::pm, 0xd0);
  put16(c, 0xc8 + abi::pci::pm_pmc, 0x0023);
  put16(c, 0xc8 + abi::pci::pm_ctrl, abi::pci::pm::d0);
  put_cap(c, 0xd0, abi::pci::cap::msi, 0xe0);
  put16(c, 0xd0 + abi::pci::msi_flags, abi::pci::msi::flags_64bit);
  put_cap(c, 0xe0, abi::pci::cap::exp, 0xa0);
  put16(c, 0xe0 + abi::pci::exp_flags, 0x0002);
  put_cap(c, 0xa0, abi::pci::cap::msix, 0x00);
  put16(c, 0xa0 + abi::pci::msix_flags, 4);  // 5 vectors
  put32(c, 0xa0 + abi::pci::msix_table, 0x00000003);
  put32(c, 0xa0 + abi::pci::msix_pba, 0x00002003);

  put32(c, 0x100, ext_header(abi::pci::ext_cap::err, 2, 0x140));
  put32(c, 0x140, ext_header(abi::pci::ext_cap::dsn, 1, 0));
  put32(c, 0x144, 0x12345678);
  put32(c, 0x148, 0x9abcdef0);
  return c;
}

config_snapshot snap(const image& c, std::size_t size = 4096) { return config_snapshot::from_bytes(c.data(), size); }

std::vector<std::pair<std::uint16_t, std::uint16_t>> std_caps(const config_snapshot& s, vfio::error* err = nullptr) {
  std::vector<std::pair<std::uint16_t, std::uint16_t>> out;
  auto r = s.for_each_capability([&](const capability& c) {
    out.emplace_back(c.id, c.offset);
    return true;
  });
  if (!r && err) *err = r.error();
  return out;
}

struct ext_entry {
  std::uint16_t id, offset;
  std::uint8_t version;
  bool operator==(const ext_entry& o) const { return id == o.id && offset == o.offset && version == o.version; }
};

std::vector<ext_entry> ext_caps(const config_snapshot& s, vfio::error* err = nullptr) {
  std::vector<ext_entry> out;
  auto r = s.for_each_ext_capability([&](const capability& c) {
    out.push_back({c.id, c.offset, c.version});
    return true;
  });
  if (!r && err) *err = r.error();
  return out;
}

}  // namespace

// --- config_snapshot: the standard list ------------------------------------------------

TEST_CASE("pci config: the e1000e standard list walks in chain order", "[pci_config]") {
  const auto s = snap(e1000e_image());
  vfio::error err;
  const auto caps = std_caps(s, &err);
  CHECK(!err.code());
  using p = std::pair<std::uint16_t, std::uint16_t>;
  CHECK(caps == std::vector<p>{p{0x01, 0xc8}, p{0x05, 0xd0}, p{0x10, 0xe0}, p{0x11, 0xa0}});

  CHECK(s.find_capability(abi::pci::cap::pm).value() == std::optional<std::uint16_t>(0xc8));
  CHECK(s.find_capability(abi::pci::cap::msi).value() == std::optional<std::uint16_t>(0xd0));
  CHECK(s.find_capability(abi::pci::cap::exp).value() == std::optional<std::uint16_t>(0xe0));
  CHECK(s.find_capability(abi::pci::cap::msix).value() == std::optional<std::uint16_t>(0xa0));
  auto vndr = s.find_capability(abi::pci::cap::vndr);
  REQUIRE(vndr.has_value());
  CHECK(!vndr->has_value());

  // The capability registers read back through the snapshot.
  CHECK(s.u16(0xc8 + abi::pci::pm_pmc) == 0x0023);
  CHECK(s.u32(0xa0 + abi::pci::msix_pba) == 0x00002003);
}

TEST_CASE("pci config: for_each_capability stops when the callback says so", "[pci_config]") {
  const auto s = snap(e1000e_image());
  int calls = 0;
  auto r = s.for_each_capability([&](const capability& c) {
    ++calls;
    return c.id != abi::pci::cap::msi;
  });
  CHECK(r.has_value());
  CHECK(calls == 2);
}

TEST_CASE("pci config: no CAP_LIST status bit means no standard list", "[pci_config]") {
  auto c = e1000e_image();
  put16(c, abi::pci::status, 0);
  const auto s = snap(c);
  CHECK(std_caps(s).empty());
  auto pm = s.find_capability(abi::pci::cap::pm);
  REQUIRE(pm.has_value());
  CHECK(!pm->has_value());
}

TEST_CASE("pci config: the pointers' reserved low bits are masked", "[pci_config]") {
  auto c = e1000e_image();
  put8(c, abi::pci::cap_list, 0xcb);  // 0xc8 | 3
  put8(c, 0xc8 + 1, 0xd2);            // 0xd0 | 2
  const auto caps = std_caps(snap(c));
  REQUIRE(caps.size() == 4);
  CHECK(caps[0].second == 0xc8);
  CHECK(caps[1].second == 0xd0);
}

TEST_CASE("pci config: a looping standard list is malformed", "[pci_config]") {
  auto c = e1000e_image();
  put8(c, abi::pci::cap_list, 0x40);
  put_cap(c, 0x40, abi::pci::cap::pm, 0x48);
  put_cap(c, 0x48, abi::pci::cap::msi, 0x40);  // back to the first
  const auto s = snap(c);
  vfio::error err;
  const auto caps = std_caps(s, &err);
  CHECK(err == errc::malformed_capability_chain);
  CHECK(op(err) == "PCI_CAPABILITY_LIST");
  CHECK(caps.size() == 2);  // each entry reported once, then the repeat is caught

  auto absent = s.find_capability(abi::pci::cap::msix);
  REQUIRE(!absent);
  CHECK(absent.error() == errc::malformed_capability_chain);
  // A match before the loop is found: the walk never reaches the bad pointer.
  CHECK(s.find_capability(abi::pci::cap::msi).value() == std::optional<std::uint16_t>(0x48));

  put_cap(c, 0x40, abi::pci::cap::pm, 0x40);  // a capability pointing at itself
  CHECK(snap(c).find_capability(abi::pci::cap::msix).error() == errc::malformed_capability_chain);
}

TEST_CASE("pci config: a standard pointer below 0x40 or past the snapshot is malformed", "[pci_config]") {
  auto c = e1000e_image();
  put8(c, abi::pci::cap_list, 0x20);  // inside the header
  CHECK(snap(c).find_capability(abi::pci::cap::pm).error() == errc::malformed_capability_chain);

  c = e1000e_image();
  put8(c, 0xe0 + 1, 0x3c);  // PCIe's next points into the header
  vfio::error err;
  const auto caps = std_caps(snap(c), &err);
  CHECK(err == errc::malformed_capability_chain);
  CHECK(caps.size() == 3);

  // A 64-byte snapshot has no room for any capability.
  c = e1000e_image();
  put8(c, abi::pci::cap_list, 0x40);
  CHECK(snap(c, 64).find_capability(abi::pci::cap::pm).error() == errc::malformed_capability_chain);
}

TEST_CASE("pci config: an all-ones config space (device gone) has no capabilities", "[pci_config]") {
  image c;
  c.fill(0xff);
  const auto s = snap(c);
  vfio::error err;
  CHECK(std_caps(s, &err).empty());
  CHECK(!err.code());
  CHECK(ext_caps(s, &err).empty());
  CHECK(!err.code());
}

// --- config_snapshot: the extended list ------------------------------------------------

TEST_CASE("pci config: the e1000e extended list walks AER then DSN", "[pci_config]") {
  const auto s = snap(e1000e_image());
  vfio::error err;
  const auto caps = ext_caps(s, &err);
  CHECK(!err.code());
  CHECK(caps == std::vector<ext_entry>{{abi::pci::ext_cap::err, 0x100, 2}, {abi::pci::ext_cap::dsn, 0x140, 1}});
  CHECK(s.find_ext_capability(abi::pci::ext_cap::dsn).value() == std::optional<std::uint16_t>(0x140));
  CHECK(s.find_ext_capability(abi::pci::ext_cap::err).value() == std::optional<std::uint16_t>(0x100));
  auto sriov = s.find_ext_capability(abi::pci::ext_cap::sriov);
  REQUIRE(sriov.has_value());
  CHECK(!sriov->has_value());
  CHECK(s.u32(0x144) == 0x12345678);
}

TEST_CASE("pci config: no extended list in 256 bytes, or with a 0 / all-ones header", "[pci_config]") {
  const auto conventional = snap(e1000e_image(), 256);
  CHECK(conventional.size() == 256);
  CHECK(ext_caps(conventional).empty());
  CHECK(std_caps(conventional).size() == 4);      // the standard list is all below 0x100
  CHECK(conventional.u32(0x100) == 0xffffffffU);  // past the snapshot reads as all-ones

  auto c = e1000e_image();
  put32(c, 0x100, 0);
  CHECK(ext_caps(snap(c)).empty());
  put32(c, 0x100, 0xffffffffU);
  CHECK(ext_caps(snap(c)).empty());
}

TEST_CASE("pci config: a looping extended list is malformed", "[pci_config]") {
  auto c = e1000e_image();
  put32(c, 0x140, ext_header(abi::pci::ext_cap::dsn, 1, 0x100));  // DSN -> AER again
  const auto s = snap(c);
  vfio::error err;
  const auto caps = ext_caps(s, &err);
  CHECK(err == errc::malformed_capability_chain);
  CHECK(op(err) == "PCI_EXT_CAP_NEXT");
  CHECK(caps.size() == 2);
  CHECK(s.find_ext_capability(abi::pci::ext_cap::acs).error() == errc::malformed_capability_chain);

  put32(c, 0x100, ext_header(abi::pci::ext_cap::err, 2, 0x100));  // self-loop
  CHECK(snap(c).find_ext_capability(abi::pci::ext_cap::dsn).error() == errc::malformed_capability_chain);
}

TEST_CASE("pci config: an extended next below 0x100 or an all-ones header inside the list is malformed",
          "[pci_config]") {
  auto c = e1000e_image();
  put32(c, 0x140, ext_header(abi::pci::ext_cap::dsn, 1, 0x0c0));
  CHECK(snap(c).find_ext_capability(abi::pci::ext_cap::acs).error() == errc::malformed_capability_chain);

  c = e1000e_image();
  put32(c, 0x100, ext_header(abi::pci::ext_cap::err, 2, 0x200));
  put32(c, 0x200, 0xffffffffU);
  vfio::error err;
  const auto caps = ext_caps(snap(c), &err);
  CHECK(err == errc::malformed_capability_chain);
  CHECK(caps.size() == 1);
}

TEST_CASE("pci config: snapshot reads are little-endian and all-ones past the end", "[pci_config]") {
  const auto s = snap(e1000e_image(), 256);
  CHECK(s.u8(0x00) == 0x86);
  CHECK(s.u16(0x00) == 0x8086);
  CHECK(s.u32(0x00) == 0x10d38086);
  CHECK(s.u8(0x100) == 0xff);
  CHECK(s.u16(0xff) == 0xff00);  // one byte in, one past the end
  CHECK(config_snapshot{}.size() == 0);
  CHECK(config_snapshot::from_bytes(e1000e_image().data(), 8192).size() == 4096);
}

// --- config: typed access through the device ------------------------------------------

namespace {

constexpr int group_fd = 4;
constexpr int device_fd = 11;
constexpr std::int64_t cfg = 7LL << 40;

vfio::device open_device(scripted_syscalls& mock) {
  return vfio_test::open_scripted_device(mock, group_fd, device_fd, "0000:00:03.0");
}

/// GET_INFO, then GET_REGION_INFO of the config region with `size` bytes at file
/// offset `at` (default `cfg`), READ and WRITE unless `flags` says otherwise.
void expect_config_region(scripted_syscalls& mock, std::uint64_t size,
                          std::uint32_t flags = abi::region_flags::read | abi::region_flags::write,
                          std::int64_t at = cfg) {
  vfio_test::expect_device_info(mock, device_fd, abi::device_flags::pci, 9, 5);

  abi::region_info ask{};
  ask.argsz = vfio::detail::region_info_stack_size;  // the first call's 256-byte buffer
  ask.index = abi::pci_region::config;
  abi::region_info info = ask;
  info.flags = flags;
  info.size = size;
  info.offset = static_cast<std::uint64_t>(at);
  mock.expect_ioctl(device_fd, abi::req::device_get_region_info).with(ask).fills(info);
}

}  // namespace

TEST_CASE("pci config: read8/16/32 pread at the region offset plus the config offset", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    CHECK(&cfg_space.dev() == &dev);
    expect_config_region(s.mock, 4096);
    const std::uint8_t id[4] = {0x86, 0x80, 0xd3, 0x10};
    s.mock.expect_pread(device_fd, cfg + 0x00, 4).fills_bytes(id, 4);
    auto ids = cfg_space.read32(abi::pci::vendor_id);
    REQUIRE(ids.has_value());
    CHECK(*ids == 0x10d38086U);

    const std::uint8_t status[2] = {0x10, 0x00};
    s.mock.expect_pread(device_fd, cfg + 0x06, 2).fills_bytes(status, 2);
    auto st = cfg_space.read16(abi::pci::status);
    REQUIRE(st.has_value());
    CHECK(*st == abi::pci::status_bits::cap_list);

    const std::uint8_t ptr[1] = {0xc8};
    s.mock.expect_pread(device_fd, cfg + 0x34, 1).fills_bytes(ptr, 1);
    auto cap = cfg_space.read8(abi::pci::cap_list);
    REQUIRE(cap.has_value());
    CHECK(*cap == 0xc8);

    const std::uint8_t pmcsr[2] = {0x03, 0x80};  // D3hot with PME_Status
    s.mock.expect_pread(device_fd, cfg + 0xcc, 2).fills_bytes(pmcsr, 2);
    CHECK(cfg_space.read16(0xcc).value() == 0x8003);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: write8/16/32 pwrite little-endian bytes at the right offset", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 4096);
    const std::uint8_t cmd[2] = {0x06, 0x04};
    s.mock.expect_pwrite(device_fd, cfg + 0x04).with_bytes(cmd, 2);
    CHECK(cfg_space.write16(abi::pci::command, 0x0406).has_value());

    const std::uint8_t bar[4] = {0x00, 0x00, 0xbc, 0xfe};
    s.mock.expect_pwrite(device_fd, cfg + 0x10).with_bytes(bar, 4);
    CHECK(cfg_space.write32(abi::pci::base_address_0, 0xfebc0000).has_value());

    const std::uint8_t line[1] = {0x10};
    s.mock.expect_pwrite(device_fd, cfg + 0x0c).with_bytes(line, 1);
    CHECK(cfg_space.write8(abi::pci::cache_line_size, 0x10).has_value());

    s.mock.expect_pwrite(device_fd, cfg + 0xcc).with_bytes(cmd, 2).fails(EIO);
    auto w = cfg_space.write16(0xcc, 0x0406);
    REQUIRE(!w);
    CHECK(w.error() == std::errc::io_error);
    CHECK(op(w.error()) == "pwrite");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: misaligned and out-of-range accesses are refused without a syscall", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    auto r16 = cfg_space.read16(0x07);
    REQUIRE(!r16);
    CHECK(r16.error() == errc::invalid_argument);
    CHECK(op(r16.error()) == "pread");
    CHECK(cfg_space.read32(0x02).error() == errc::invalid_argument);
    CHECK(cfg_space.read32(0x05).error() == errc::invalid_argument);
    auto w32 = cfg_space.write32(0x06, 0);
    REQUIRE(!w32);
    CHECK(w32.error() == errc::invalid_argument);
    CHECK(op(w32.error()) == "pwrite");
    CHECK(cfg_space.write16(0x01, 0).error() == errc::invalid_argument);

    // A conventional device: 256 bytes of config space.
    expect_config_region(s.mock, 256);
    CHECK(cfg_space.read32(0x100).error() == errc::out_of_bounds);
    CHECK(cfg_space.read8(0x100).error() == errc::out_of_bounds);
    CHECK(cfg_space.write16(0x200, 0).error() == errc::out_of_bounds);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: a failed pread is reported with its errno", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 4096);
    s.mock.expect_pread(device_fd, cfg + 0x44, 4).fails(EIO);  // runtime resume failed
    auto r = cfg_space.read32(0x44);
    REQUIRE(!r);
    CHECK(r.error() == std::errc::io_error);
    CHECK(op(r.error()) == "pread");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: a short pread or pwrite is finished from where it stopped", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 4096);
    const std::uint8_t vendor[2] = {0x86, 0x80};
    s.mock.expect_pread(device_fd, cfg + 0x00, 2).fills_bytes(vendor, 2);  // caches the region
    REQUIRE(cfg_space.read16(abi::pci::vendor_id).value() == 0x8086);

    // Once the region is cached, config access takes its own path: finished alike.
    const std::uint8_t id[4] = {0x86, 0x80, 0xd3, 0x10};
    s.mock.expect_pread(device_fd, cfg + 0x00, 4).fills_bytes(id, 1);  // returns 1
    s.mock.expect_pread(device_fd, cfg + 0x01, 3).fills_bytes(id + 1, 3);
    CHECK(cfg_space.read32(abi::pci::vendor_id).value() == 0x10d38086U);

    s.mock.expect_pread(device_fd, cfg + 0x44, 4).fills_bytes(id, 2);
    s.mock.expect_pread(device_fd, cfg + 0x46, 2).returns(0);
    auto stuck = cfg_space.read32(0x44);
    REQUIRE(!stuck);
    CHECK(stuck.error() == errc::short_transfer);
    CHECK(op(stuck.error()) == "pread");

    s.mock.expect_pread(device_fd, cfg + 0x44, 4).fills_bytes(id, 3);
    s.mock.expect_pread(device_fd, cfg + 0x47, 1).fails(EIO);
    auto failed = cfg_space.read32(0x44);
    REQUIRE(!failed);
    CHECK(failed.error() == std::errc::io_error);

    const std::uint8_t bar[4] = {0x00, 0x00, 0xbc, 0xfe};
    s.mock.expect_pwrite(device_fd, cfg + 0x10).with_bytes(bar, 4).returns(2);
    s.mock.expect_pwrite(device_fd, cfg + 0x12).with_bytes(bar + 2, 2);
    CHECK(cfg_space.write32(abi::pci::base_address_0, 0xfebc0000).has_value());

    s.mock.expect_pwrite(device_fd, cfg + 0x10).with_bytes(bar, 4).returns(0);
    auto none = cfg_space.write32(abi::pci::base_address_0, 0xfebc0000);
    REQUIRE(!none);
    CHECK(none.error() == errc::short_transfer);
    CHECK(op(none.error()) == "pwrite");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: a config region without READ or WRITE, or at the end of the file offsets", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 256, abi::region_flags::write);  // no READ
    for (int i = 0; i < 2; ++i) {  // the first access caches the region, the second uses it
      auto r = cfg_space.read16(abi::pci::command);
      REQUIRE(!r);
      CHECK(r.error() == errc::invalid_argument);
      CHECK(op(r.error()) == "region flags check");
    }
    const std::uint8_t cmd[2] = {0x06, 0x00};
    s.mock.expect_pwrite(device_fd, cfg + 0x04).with_bytes(cmd, 2);
    CHECK(cfg_space.write16(abi::pci::command, 0x0006).has_value());
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
  {
    seam s2;
    {
      auto dev = open_device(s2.mock);
      vfio::pci::config cfg_space(dev);
      // A region ending at the largest file offset: the bounds are the general
      // path's overflow-checked ones, access after access.
      constexpr std::int64_t last = std::numeric_limits<std::int64_t>::max() - 0x100;
      expect_config_region(s2.mock, 256, abi::region_flags::read | abi::region_flags::write, last);
      const std::uint8_t v[2] = {0x34, 0x12};
      s2.mock.expect_pread(device_fd, last, 2).fills_bytes(v, 2);
      CHECK(cfg_space.read16(0).value() == 0x1234);
      s2.mock.expect_pread(device_fd, last + 0xfe, 2).fills_bytes(v, 2);
      CHECK(cfg_space.read16(0xfe).value() == 0x1234);
      s2.mock.expect_pwrite(device_fd, last + 0x3c).with_bytes(v, 2);
      CHECK(cfg_space.write16(0x3c, 0x1234).has_value());
      CHECK(cfg_space.read16(0x100).error() == errc::out_of_bounds);
      s2.mock.expect_close(device_fd);
    }
    CHECK(s2.mock.verify_done());
  }
}

TEST_CASE("pci config: snapshot() reads the whole region in one pread", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 4096);
    const auto img = e1000e_image();
    s.mock.expect_pread(device_fd, cfg, 4096).fills_bytes(img.data(), img.size());
    auto sn = cfg_space.snapshot();
    REQUIRE(sn.has_value());
    CHECK(sn->size() == 4096);
    CHECK(std::memcmp(sn->data(), img.data(), img.size()) == 0);
    CHECK(sn->find_capability(abi::pci::cap::pm).value() == std::optional<std::uint16_t>(0xc8));
    CHECK(sn->find_ext_capability(abi::pci::ext_cap::dsn).value() == std::optional<std::uint16_t>(0x140));
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: snapshot() finishes a short read with a second pread", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 4096);
    const auto img = e1000e_image();
    s.mock.expect_pread(device_fd, cfg, 4096).fills_bytes(img.data(), 1024);  // returns 1024
    s.mock.expect_pread(device_fd, cfg + 1024, 3072).fills_bytes(img.data() + 1024, 3072);
    auto sn = cfg_space.snapshot();
    REQUIRE(sn.has_value());
    CHECK(std::memcmp(sn->data(), img.data(), img.size()) == 0);
    CHECK(sn->u32(0x140) == ext_header(abi::pci::ext_cap::dsn, 1, 0));  // from the second chunk

    // A pread that then makes no progress fails the snapshot.
    s.mock.expect_pread(device_fd, cfg, 4096).fills_bytes(img.data(), 64);
    s.mock.expect_pread(device_fd, cfg + 64, 4032).returns(0);
    auto stuck = cfg_space.snapshot();
    REQUIRE(!stuck);
    CHECK(stuck.error() == errc::short_transfer);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: snapshot() of a conventional device reads 256 bytes", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 256);
    const auto img = e1000e_image();
    s.mock.expect_pread(device_fd, cfg, 256).fills_bytes(img.data(), 256);
    auto sn = cfg_space.snapshot();
    REQUIRE(sn.has_value());
    CHECK(sn->size() == 256);
    CHECK(std_caps(*sn).size() == 4);
    CHECK(ext_caps(*sn).empty());
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("pci config: snapshot() caps the read at 4096 bytes and reports pread errors", "[pci_config]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    vfio::pci::config cfg_space(dev);
    expect_config_region(s.mock, 8192);  // larger than any PCI config space
    s.mock.expect_pread(device_fd, cfg, 4096).fails(EFAULT);
    auto sn = cfg_space.snapshot();
    REQUIRE(!sn);
    CHECK(sn.error() == std::errc::bad_address);
    CHECK(op(sn.error()) == "pread");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

}  // namespace vfio_unit_test_pci_config
