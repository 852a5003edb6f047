// Unit tests for vfio::device against the scripted syscall seam: device info,
// region index checks, region read/write, reset and PCI hot reset, with exact
// requests, argsz values and payload bytes. IRQs: test_irq.cpp; region info
// capabilities and mmap: test_region.cpp.
#include <vfio/device.hpp>
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

namespace vfio_unit_test_device {

namespace {

namespace abi = vfio::abi;
using vfio::errc;
using vfio::testing::scripted_syscalls;

using vfio_test::op;
using vfio_test::seam;

constexpr int group_fd = 4;
constexpr int device_fd = 7;
constexpr std::uint64_t bar0_offset = 0;
constexpr std::uint64_t config_offset = 7ULL << 40;

/// Gets a device descriptor the way group::open_device does (GROUP_GET_DEVICE_FD hands
/// out a new fd) and adopts it.
vfio::device open_device(scripted_syscalls& mock) {
  return vfio_test::open_scripted_device(mock, group_fd, device_fd, "0000:03:00.0");
}

/// What every GET_INFO must pass: argsz 24, everything else 0.
abi::device_info info_call() {
  abi::device_info a{};
  a.argsz = sizeof a;
  return a;
}

void expect_info(scripted_syscalls& mock, std::uint32_t flags, std::uint32_t regions, std::uint32_t irqs) {
  vfio_test::expect_device_info(mock, device_fd, flags, regions, irqs);
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

/// The argsz of the first GET_REGION_INFO: a 256-byte stack buffer.
constexpr std::uint32_t region_argsz = vfio::detail::region_info_stack_size;
static_assert(region_argsz == 256, "the first GET_REGION_INFO's buffer");

/// A GET_REGION_INFO exchange without capabilities: argsz 256 in and out (the kernel
/// copies back the 32-byte header with argsz as passed).
void expect_region(scripted_syscalls& mock, std::uint32_t index, std::uint32_t flags, std::uint64_t size,
                   std::uint64_t offset) {
  mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
      .with(region_header(region_argsz, 0, index, 0, 0, 0))
      .fills(region_header(region_argsz, flags, index, 0, size, offset));
}

constexpr std::uint32_t rw = abi::region_flags::read | abi::region_flags::write;
constexpr std::uint32_t pci_reset = abi::device_flags::pci | abi::device_flags::reset;

template <class T>
void put(std::vector<std::uint8_t>& buf, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  buf.insert(buf.end(), p, p + sizeof v);
}

}  // namespace

// --- construction -----------------------------------------------------------

TEST_CASE("device: adopts the descriptor, keeps the seam and name, closes once", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    CHECK(dev.fd() == device_fd);
    CHECK(&dev.sys() == &s.mock);
    CHECK(dev.name() == "0000:03:00.0");
    CHECK(static_cast<bool>(dev));
    CHECK(s.mock.open_descriptors() == 1);
    CHECK(dev.mappings_accessible());

    vfio::device moved(std::move(dev));
    CHECK(moved.fd() == device_fd);
    CHECK(dev.fd() == -1);  // NOLINT: checking the moved-from state on purpose
    CHECK(!dev);
    CHECK(dev.name().empty());
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: an empty device fails with EBADF and makes no syscall", "[device]") {
  seam s;
  vfio::device dev;
  CHECK(dev.fd() == -1);
  CHECK(!dev);

  auto i = dev.info();
  REQUIRE(!i);
  CHECK(i.error() == std::errc::bad_file_descriptor);
  CHECK(op(i.error()) == "VFIO_DEVICE_GET_INFO");
  auto r = dev.region(0);
  REQUIRE(!r);
  CHECK(r.error() == std::errc::bad_file_descriptor);
  CHECK(dev.reset().error() == std::errc::bad_file_descriptor);
  CHECK(dev.pci_hot_reset({}).error() == std::errc::bad_file_descriptor);
  CHECK(dev.pci_hot_reset_info().error() == std::errc::bad_file_descriptor);
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: close() reports the close result and empties the device", "[device]") {
  seam s;
  auto dev = open_device(s.mock);
  s.mock.expect_close(device_fd).fails(EIO);
  auto r = dev.close();
  REQUIRE(!r);
  CHECK(r.error() == std::errc::io_error);
  CHECK(op(r.error()) == "close");
  CHECK(dev.fd() == -1);
  CHECK(dev.close().has_value());  // nothing left to close
  CHECK(s.mock.verify_done());
}

// --- GET_INFO -----------------------------------------------------------------

TEST_CASE("device: info() passes argsz 24 and reads the 24-byte layout, then caches it", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, pci_reset, 9, 5);
    auto i = dev.info();
    REQUIRE(i.has_value());
    CHECK(i->flags == pci_reset);
    CHECK(i->num_regions == 9);
    CHECK(i->num_irqs == 5);
    CHECK(i->can_reset());
    CHECK(i->is_pci());

    auto again = dev.info();  // cached: no second ioctl is scripted
    REQUIRE(again.has_value());
    CHECK(again->num_regions == 9);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: info() accepts a 6.1 kernel's 20-byte reply", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    // A 6.1 kernel writes back its 20-byte struct: argsz, flags, num_regions, num_irqs, cap_offset.
    const std::uint32_t reply[5] = {24, abi::device_flags::pci, 10, 5, 0};
    s.mock.expect_ioctl(device_fd, abi::req::device_get_info).with(info_call()).fills_bytes(reply, sizeof reply);
    auto i = dev.info();
    REQUIRE(i.has_value());
    CHECK(i->num_regions == 10);
    CHECK(i->num_irqs == 5);
    CHECK(i->is_pci());
    CHECK(!i->can_reset());
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: info() failure is reported and not cached", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_info).with(info_call()).fails(EIO);
    auto i = dev.info();
    REQUIRE(!i);
    CHECK(i.error() == std::errc::io_error);
    CHECK(op(i.error()) == "VFIO_DEVICE_GET_INFO");

    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    auto retry = dev.info();
    REQUIRE(retry.has_value());
    CHECK(retry->num_irqs == 5);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

// --- GET_REGION_INFO (index handling; capabilities are in test_region.cpp) ----------

TEST_CASE("device: region() checks the index against num_regions before any region ioctl", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    auto r = dev.region(9);
    REQUIRE(!r);
    CHECK(r.error() == errc::index_out_of_range);
    CHECK(op(r.error()) == "region index check");
    CHECK(r.error().message() == "region index check (region 9): region or IRQ index out of range");
    CHECK(dev.region(0xffffffffU).error() == errc::index_out_of_range);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: region() reads a region once and caches it per index", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    expect_region(s.mock, abi::pci_region::config, rw, 4096, config_offset);
    auto r = dev.region(abi::pci_region::config);
    REQUIRE(r.has_value());
    const vfio::region_info* cfg = *r;
    CHECK(cfg->index == abi::pci_region::config);
    CHECK(cfg->size == 4096);
    CHECK(cfg->offset == config_offset);
    CHECK(cfg->readable());
    CHECK(cfg->writable());
    CHECK(!cfg->mappable());
    CHECK(!cfg->has_sparse_mmap);

    expect_region(s.mock, abi::pci_region::bar0, rw | abi::region_flags::mmap, 0x20000, bar0_offset);
    auto bar = dev.region(abi::pci_region::bar0);
    REQUIRE(bar.has_value());
    CHECK((*bar)->mappable());

    // Both cached; the first pointer is still valid after the cache grew and after a move.
    vfio::device moved(std::move(dev));
    auto again = moved.region(abi::pci_region::config);
    REQUIRE(again.has_value());
    CHECK(*again == cfg);
    CHECK(cfg->size == 4096);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: region() passes kernel errors through and does not cache them", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_region_info)
        .with(region_header(region_argsz, 0, abi::pci_region::vga, 0, 0, 0))
        .fails(EINVAL);
    auto r = dev.region(abi::pci_region::vga);
    REQUIRE(!r);
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(op(r.error()) == "VFIO_DEVICE_GET_REGION_INFO");

    expect_region(s.mock, abi::pci_region::vga, rw, 0xc0000, 8ULL << 40);
    CHECK(dev.region(abi::pci_region::vga).has_value());
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

// --- read / write ---------------------------------------------------------------

TEST_CASE("device: read() preads at the region offset and completes a short read", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    expect_region(s.mock, abi::pci_region::bar0, rw, 0x1000, 0x5000);
    const std::uint8_t first[3] = {1, 2, 3};
    const std::uint8_t rest[5] = {4, 5, 6, 7, 8};
    s.mock.expect_pread(device_fd, 0x5000 + 0x10, 8).fills_bytes(first, sizeof first);  // returns 3
    s.mock.expect_pread(device_fd, 0x5000 + 0x13, 5).fills_bytes(rest, sizeof rest);
    std::uint8_t buf[8] = {};
    auto r = dev.read(abi::pci_region::bar0, 0x10, buf, sizeof buf);
    REQUIRE(r.has_value());
    const std::uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(std::memcmp(buf, want, sizeof want) == 0);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: read() reports a pread that makes no progress as short_transfer", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    expect_region(s.mock, abi::pci_region::bar0, rw, 0x1000, 0);
    const std::uint8_t first[2] = {0xaa, 0xbb};
    s.mock.expect_pread(device_fd, 0x100, 4).fills_bytes(first, sizeof first);
    s.mock.expect_pread(device_fd, 0x102, 2).returns(0);
    std::uint8_t buf[4] = {};
    auto r = dev.read(abi::pci_region::bar0, 0x100, buf, sizeof buf);
    REQUIRE(!r);
    CHECK(r.error() == errc::short_transfer);
    CHECK(op(r.error()) == "pread");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: read() passes pread errno through", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    expect_region(s.mock, abi::pci_region::bar0, rw, 0x1000, 0);
    s.mock.expect_pread(device_fd, 0, 4).fails(EIO);  // memory decode off / D3hot
    std::uint32_t v = 0;
    auto r = dev.read(abi::pci_region::bar0, 0, &v, sizeof v);
    REQUIRE(!r);
    CHECK(r.error() == std::errc::io_error);
    CHECK(op(r.error()) == "pread");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: read() and write() are bounds- and flag-checked before any syscall", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    expect_region(s.mock, abi::pci_region::bar0, rw, 0x1000, 0);
    std::uint8_t buf[16] = {};
    auto past_end = dev.read(abi::pci_region::bar0, 0xff8, buf, 16);
    REQUIRE(!past_end);
    CHECK(past_end.error() == errc::out_of_bounds);
    CHECK(op(past_end.error()) == "region bounds check");
    CHECK(past_end.error().subject_kind() == vfio::subject::kind::region);
    CHECK(past_end.error().subject_value() == abi::pci_region::bar0);
    CHECK(dev.read(abi::pci_region::bar0, 0x1001, buf, 0).error() == errc::out_of_bounds);
    CHECK(dev.read(abi::pci_region::bar0, ~0ULL, buf, 2).error() == errc::out_of_bounds);
    CHECK(dev.write(abi::pci_region::bar0, 0xffc, buf, 8).error() == errc::out_of_bounds);
    CHECK(dev.read(abi::pci_region::bar0, 0x1000, buf, 0).has_value());  // empty, at the end: fine

    // The ROM is read-only: a write is refused by the library.
    expect_region(s.mock, abi::pci_region::rom, abi::region_flags::read, 0x10000, 6ULL << 40);
    auto w = dev.write(abi::pci_region::rom, 0, buf, 4);
    REQUIRE(!w);
    CHECK(w.error() == errc::invalid_argument);
    CHECK(op(w.error()) == "region flags check");
    CHECK(w.error().about() == vfio::subject::region(abi::pci_region::rom));

    // A region without READ (an unimplemented BAR reports flags 0).
    expect_region(s.mock, abi::pci_region::bar1, 0, 0, 1ULL << 40);
    CHECK(dev.read(abi::pci_region::bar1, 0, buf, 4).error() == errc::invalid_argument);

    CHECK(dev.read(9, 0, buf, 4).error() == errc::index_out_of_range);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: write() pwrites the exact bytes and completes a short write", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, abi::device_flags::pci, 9, 5);
    expect_region(s.mock, abi::pci_region::bar2, rw, 0x4000, 2ULL << 40);
    const std::uint8_t data[6] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60};
    s.mock.expect_pwrite(device_fd, (2LL << 40) + 0x200).with_bytes(data, 6).returns(4);
    s.mock.expect_pwrite(device_fd, (2LL << 40) + 0x204).with_bytes(data + 4, 2);
    auto r = dev.write(abi::pci_region::bar2, 0x200, data, sizeof data);
    CHECK(r.has_value());

    s.mock.expect_pwrite(device_fd, (2LL << 40) + 0x300).with_bytes(data, 2).returns(0);
    auto stuck = dev.write(abi::pci_region::bar2, 0x300, data, 2);
    REQUIRE(!stuck);
    CHECK(stuck.error() == errc::short_transfer);
    CHECK(op(stuck.error()) == "pwrite");

    s.mock.expect_pwrite(device_fd, (2LL << 40) + 0x400).with_bytes(data, 1).fails(EINVAL);
    auto bad = dev.write(abi::pci_region::bar2, 0x400, data, 1);
    REQUIRE(!bad);
    CHECK(bad.error() == std::errc::invalid_argument);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

// --- reset ------------------------------------------------------------------------

TEST_CASE("device: reset() issues VFIO_DEVICE_RESET and reports its errno", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    s.mock.expect_ioctl(device_fd, abi::req::device_reset).returns(0);
    CHECK(dev.reset().has_value());

    s.mock.expect_ioctl(device_fd, abi::req::device_reset).fails(EINVAL);  // no reset method
    auto r = dev.reset();
    REQUIRE(!r);
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(op(r.error()) == "VFIO_DEVICE_RESET");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

// --- PCI hot reset ------------------------------------------------------------------

namespace {

abi::pci_hot_reset_info hot_reset_header(std::uint32_t argsz, std::uint32_t flags, std::uint32_t count) {
  abi::pci_hot_reset_info h{};
  h.argsz = argsz;
  h.flags = flags;
  h.count = count;
  return h;
}

abi::pci_dependent_device dependent(std::uint32_t group, std::uint16_t segment, std::uint8_t bus, std::uint8_t devfn) {
  abi::pci_dependent_device d{};
  d.group_id = group;
  d.segment = segment;
  d.bus = bus;
  d.devfn = devfn;
  return d;
}

}  // namespace

TEST_CASE("device: pci_hot_reset_info() starts bare, grows on ENOSPC and parses the devices", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    // First call: the bare 12-byte header. The kernel answers -ENOSPC with count filled.
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(12, 0, 0))
        .fills(hot_reset_header(12, 0, 2))
        .fails(ENOSPC);
    // Second call: room for two 8-byte entries.
    std::vector<std::uint8_t> reply;
    put(reply, hot_reset_header(28, 0, 2));
    put(reply, dependent(12, 0, 3, 0x00));
    put(reply, dependent(13, 0, 3, 0x01));
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(28, 0, 0))
        .fills_bytes(reply.data(), reply.size());
    auto info = dev.pci_hot_reset_info();
    REQUIRE(info.has_value());
    CHECK(info->flags == 0);
    REQUIRE(info->devices.size() == 2);
    CHECK(info->devices[0].group_id == 12);
    CHECK(info->devices[0].bus == 3);
    CHECK(info->devices[0].devfn == 0x00);
    CHECK(info->devices[1].group_id == 13);
    CHECK(info->devices[1].devfn == 0x01);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: pci_hot_reset_info() retries when the set grows between calls", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(12, 0, 0))
        .fills(hot_reset_header(12, 0, 1))
        .fails(ENOSPC);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(20, 0, 0))
        .fills(hot_reset_header(20, 0, 3))
        .fails(ENOSPC);  // two devices appeared meanwhile
    std::vector<std::uint8_t> reply;
    put(reply, hot_reset_header(36, abi::hot_reset_flags::dev_id, 3));
    put(reply, dependent(1, 1, 0x40, 0x08));
    put(reply, dependent(abi::pci_devid::not_owned, 1, 0x40, 0x09));
    put(reply, dependent(abi::pci_devid::owned, 1, 0x40, 0x0a));
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(36, 0, 0))
        .fills_bytes(reply.data(), reply.size());
    auto info = dev.pci_hot_reset_info();
    REQUIRE(info.has_value());
    CHECK(info->flags == abi::hot_reset_flags::dev_id);
    REQUIRE(info->devices.size() == 3);
    CHECK(info->devices[0].devid == 1);
    CHECK(info->devices[0].segment == 1);
    CHECK(info->devices[1].devid == abi::pci_devid::not_owned);
    CHECK(info->devices[2].devfn == 0x0a);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: pci_hot_reset_info() asks again with the same room after EAGAIN", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(12, 0, 0))
        .fills(hot_reset_header(12, 0, 1))
        .fails(ENOSPC);
    // A device appeared while the kernel filled the list; it copies back the header
    // with the count the caller passed (0).
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(20, 0, 0))
        .fills(hot_reset_header(20, 0, 0))
        .fails(EAGAIN);
    std::vector<std::uint8_t> reply;
    put(reply, hot_reset_header(20, 0, 1));
    put(reply, dependent(7, 0, 1, 0x10));
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(20, 0, 0))
        .fills_bytes(reply.data(), reply.size());
    auto info = dev.pci_hot_reset_info();
    REQUIRE(info.has_value());
    REQUIRE(info->devices.size() == 1);
    CHECK(info->devices[0].group_id == 7);
    CHECK(info->devices[0].devfn == 0x10);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: pci_hot_reset_info() gives up after a bounded number of ENOSPC", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    std::uint32_t argsz = 12;
    for (std::uint32_t count = 1; count <= static_cast<std::uint32_t>(vfio::detail::max_hot_reset_info_attempts);
         ++count) {
      s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
          .with(hot_reset_header(argsz, 0, 0))
          .fills(hot_reset_header(argsz, 0, count))
          .fails(ENOSPC);
      argsz = 12 + 8 * count;
    }
    auto info = dev.pci_hot_reset_info();
    REQUIRE(!info);
    CHECK(info.error() == std::errc::no_space_on_device);
    CHECK(op(info.error()) == "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
    CHECK(s.mock.remaining() == 0);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: pci_hot_reset_info() refuses an absurd count and other errors", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(12, 0, 0))
        .fills(hot_reset_header(12, 0, vfio::detail::max_hot_reset_devices + 1))
        .fails(ENOSPC);
    auto huge = dev.pci_hot_reset_info();
    REQUIRE(!huge);
    CHECK(huge.error() == errc::argsz_too_large);

    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(12, 0, 0))
        .fails(ENODEV);  // neither slot nor bus reset
    auto none = dev.pci_hot_reset_info();
    REQUIRE(!none);
    CHECK(none.error() == std::errc::no_such_device);

    // A success that claims entries the bare header had no room for is not trusted.
    s.mock.expect_ioctl(device_fd, abi::req::device_get_pci_hot_reset_info)
        .with(hot_reset_header(12, 0, 0))
        .fills(hot_reset_header(12, 0, 1));
    CHECK(dev.pci_hot_reset_info().error() == errc::out_of_bounds);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("device: pci_hot_reset() passes the exact header and group fds", "[device]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    std::vector<std::uint8_t> want;
    put(want, std::uint32_t{12 + 2 * 4});  // argsz
    put(want, std::uint32_t{0});           // flags
    put(want, std::uint32_t{2});           // count
    put(want, std::int32_t{4});
    put(want, std::int32_t{9});
    s.mock.expect_ioctl(device_fd, abi::req::device_pci_hot_reset).with_bytes(want.data(), want.size());
    const int groups[] = {4, 9};
    CHECK(dev.pci_hot_reset(groups).has_value());

    // cdev-opened devices (v6.6+) pass no fds at all.
    std::vector<std::uint8_t> bare;
    put(bare, std::uint32_t{12});
    put(bare, std::uint32_t{0});
    put(bare, std::uint32_t{0});
    s.mock.expect_ioctl(device_fd, abi::req::device_pci_hot_reset).with_bytes(bare.data(), bare.size()).fails(EINVAL);
    auto r = dev.pci_hot_reset({});
    REQUIRE(!r);
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(op(r.error()) == "VFIO_DEVICE_PCI_HOT_RESET");

    std::vector<int> too_many(vfio::max_hot_reset_fds + 1, 4);
    auto over = dev.pci_hot_reset(too_many);
    REQUIRE(!over);
    CHECK(over.error() == errc::too_many_descriptors);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

}  // namespace vfio_unit_test_device
