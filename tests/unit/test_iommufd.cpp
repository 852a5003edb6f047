// Unit tests for vfio::iommufd against the scripted syscall seam: the exact ioctl
// sequences and structs (size, flags, ids) sent to /dev/iommu, what is read back,
// errno propagation with subjects, IOAS/HWPT handles, and no descriptor leak.
#include <vfio/abi/iommufd.hpp>
#include <vfio/error.hpp>
#include <vfio/iommufd.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>

#include "../catch.hpp"
#include "iommufd_fixture.hpp"

namespace vfio_unit_test_iommufd {

namespace {

namespace ia = vfio::abi::iommufd;
using vfio::ioas_id;
using vfio::iommufd;
using vfio::subject;
using vfio::testing::scripted_syscalls;
using vfio_test::hooked;
using vfio_test::op;
using vfio_test::user_pointer;

constexpr int iommu_fd = 5;
constexpr std::uint32_t rw = ia::map_flags::readable | ia::map_flags::writeable;

/// Scripts open("/dev/iommu", O_RDWR|O_CLOEXEC) and opens it.
iommufd open_iommufd(scripted_syscalls& mock, vfio::syscalls& sys) {
  mock.expect_open("/dev/iommu").with_flags(O_RDWR | O_CLOEXEC).returns(iommu_fd);
  auto fd = iommufd::open(iommufd::default_path, sys);
  REQUIRE(fd.has_value());
  return std::move(*fd);
}

/// Scripts IOMMU_IOAS_ALLOC answering `id`.
void expect_ioas_alloc(scripted_syscalls& mock, std::uint32_t id) {
  ia::ioas_alloc call{};
  call.size = sizeof call;
  ia::ioas_alloc reply = call;
  reply.out_ioas_id = id;
  mock.expect_ioctl(iommu_fd, ia::req::ioas_alloc).with(call).fills(reply);
}

/// Scripts IOMMU_DESTROY of `id`.
vfio::testing::expectation expect_destroy(scripted_syscalls& mock, std::uint32_t id) {
  ia::destroy call{};
  call.size = sizeof call;
  call.id = id;
  return mock.expect_ioctl(iommu_fd, ia::req::destroy).with(call);
}

ia::ioas_map map_call(std::uint32_t ioas, std::uint32_t flags, std::uint64_t va, std::uint64_t length,
                      std::uint64_t iova) {
  ia::ioas_map m{};
  m.size = sizeof m;
  m.flags = flags;
  m.ioas_id = ioas;
  m.user_va = va;
  m.length = length;
  m.iova = iova;
  return m;
}

}  // namespace

// --- open and close -----------------------------------------------------------------------

TEST_CASE("iommufd: open is open(/dev/iommu, O_RDWR|O_CLOEXEC); the descriptor closes with the object", "[iommufd]") {
  vfio_test::seam s;
  {
    s.mock.expect_open("/dev/iommu").with_flags(O_RDWR | O_CLOEXEC).returns(iommu_fd);
    auto fd = iommufd::open(iommufd::default_path, s.mock);
    REQUIRE(fd.has_value());
    CHECK(fd->fd() == iommu_fd);
    CHECK(&fd->sys() == &s.mock);
    CHECK(static_cast<bool>(*fd));
    CHECK(s.mock.open_descriptors() == 1);
    s.mock.expect_close(iommu_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: open errors name /dev/iommu (the default path only)", "[iommufd]") {
  vfio_test::seam s;
  s.mock.expect_open("/dev/iommu").fails(ENOENT);
  auto missing = iommufd::open(iommufd::default_path, s.mock);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == std::errc::no_such_file_or_directory);
  CHECK(missing.error().message() == "open /dev/iommu: No such file or directory");
  CHECK(missing.error().about() == subject::host(subject::host_object::iommu_node));

  s.mock.expect_open("/tmp/elsewhere").fails(EACCES);
  auto other = iommufd::open("/tmp/elsewhere", s.mock);
  REQUIRE_FALSE(other.has_value());
  CHECK(other.error() == std::errc::permission_denied);
  CHECK(other.error().subject_kind() == subject::kind::none);
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("iommufd: an empty iommufd fails every call with EBADF and makes no syscall", "[iommufd]") {
  vfio_test::seam s;
  iommufd empty;
  CHECK_FALSE(static_cast<bool>(empty));
  CHECK(empty.ioas_alloc().error() == std::errc::bad_file_descriptor);
  CHECK(empty.destroy(ioas_id{1}).error() == std::errc::bad_file_descriptor);
  CHECK(empty.map(ioas_id{1}, std::uint64_t{0x1000}, 0x1000).error() == std::errc::bad_file_descriptor);
  CHECK(empty.map_fixed(ioas_id{1}, 0, std::uint64_t{0x1000}, 0x1000).error() == std::errc::bad_file_descriptor);
  CHECK(empty.unmap(ioas_id{1}, 0, 0x1000).error() == std::errc::bad_file_descriptor);
  CHECK(empty.unmap_all(ioas_id{1}).error() == std::errc::bad_file_descriptor);
  CHECK(empty.copy(ioas_id{1}, ioas_id{2}, 0, 0x1000).error() == std::errc::bad_file_descriptor);
  CHECK(empty.iova_ranges(ioas_id{1}).error() == std::errc::bad_file_descriptor);
  CHECK(empty.allow_iovas(ioas_id{1}, {}).error() == std::errc::bad_file_descriptor);
  CHECK(empty.get_option(ia::option_id::rlimit_mode).error() == std::errc::bad_file_descriptor);
  CHECK(empty.get_hw_info(vfio::dev_id{1}).error() == std::errc::bad_file_descriptor);
  CHECK(empty.hwpt_alloc(vfio::dev_id{1}, ioas_id{2}).error() == std::errc::bad_file_descriptor);
  CHECK(empty.set_dirty_tracking(vfio::hwpt_id{3}, true).error() == std::errc::bad_file_descriptor);
  std::uint64_t bits[1] = {};
  CHECK(empty.get_dirty_bitmap(vfio::hwpt_id{3}, 0, 4096, 4096, bits).error() == std::errc::bad_file_descriptor);
  CHECK(op(empty.unmap(ioas_id{1}, 0, 0x1000).error()) == "IOMMU_IOAS_UNMAP");
  CHECK(s.mock.verify_done());
}

// --- IOAS ---------------------------------------------------------------------------------

TEST_CASE("iommufd: IOAS_ALLOC sends size 12 and flags 0; the handle destroys the IOAS before the close", "[iommufd]") {
  vfio_test::seam s;
  {
    iommufd fd = open_iommufd(s.mock, s.mock);
    expect_ioas_alloc(s.mock, 2);
    auto space = fd.ioas_alloc();
    REQUIRE(space.has_value());
    CHECK(space->id() == ioas_id{2});
    CHECK(space->owner() == &fd);
    CHECK(static_cast<bool>(*space));
    // Declared after fd, destroyed before it: DESTROY goes out while the descriptor is open.
    expect_destroy(s.mock, 2);
    s.mock.expect_close(iommu_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: IOAS_ALLOC errors carry the iommufd node; nothing leaks", "[iommufd]") {
  vfio_test::seam s;
  {
    iommufd fd = open_iommufd(s.mock, s.mock);
    s.mock.expect_ioctl(iommu_fd, ia::req::ioas_alloc).fails(ENOMEM);
    auto space = fd.ioas_alloc();
    REQUIRE_FALSE(space.has_value());
    CHECK(space.error() == std::errc::not_enough_memory);
    CHECK(space.error().message() == "IOMMU_IOAS_ALLOC /dev/iommu: Cannot allocate memory");
    s.mock.expect_close(iommu_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("iommufd: an IOAS handle reports a failed destroy and keeps the IOAS; release gives it up", "[iommufd]") {
  vfio_test::seam s;
  {
    iommufd fd = open_iommufd(s.mock, s.mock);
    expect_ioas_alloc(s.mock, 4);
    auto space = fd.ioas_alloc();
    REQUIRE(space.has_value());
    // main.c iommufd_object_remove: a device still attached holds a user reference.
    expect_destroy(s.mock, 4).fails(EBUSY);
    auto busy = space->destroy();
    REQUIRE_FALSE(busy.has_value());
    CHECK(busy.error() == std::errc::device_or_resource_busy);
    CHECK(busy.error().message() == "IOMMU_DESTROY (IOAS 4): Device or resource busy");
    CHECK(static_cast<bool>(*space));
    expect_destroy(s.mock, 4);
    CHECK(space->destroy().has_value());
    CHECK_FALSE(static_cast<bool>(*space));
    CHECK(space->destroy().has_value());  // empty: no syscall

    expect_ioas_alloc(s.mock, 5);
    auto kept = fd.ioas_alloc();
    REQUIRE(kept.has_value());
    CHECK(kept->release() == ioas_id{5});
    CHECK_FALSE(static_cast<bool>(*kept));
    s.mock.expect_close(iommu_fd);  // no DESTROY of 5: it was released
  }
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: handles follow a moved iommufd and empty when it closes", "[iommufd]") {
  vfio_test::seam s;
  {
    iommufd first = open_iommufd(s.mock, s.mock);
    expect_ioas_alloc(s.mock, 1);
    auto a = first.ioas_alloc();
    REQUIRE(a.has_value());
    expect_ioas_alloc(s.mock, 2);
    auto b = first.ioas_alloc();
    REQUIRE(b.has_value());

    iommufd moved(std::move(first));
    CHECK(a->owner() == &moved);
    CHECK(b->owner() == &moved);
    CHECK_FALSE(static_cast<bool>(first));  // NOLINT(bugprone-use-after-move): the moved-from state is the point

    // A moved handle stays registered: destroying it goes through the iommufd.
    vfio::ioas c = std::move(*a);
    CHECK_FALSE(static_cast<bool>(*a));
    CHECK(c.owner() == &moved);
    expect_destroy(s.mock, 1);
    CHECK(c.destroy().has_value());

    // Closing the iommufd destroys every object in the kernel: the handles empty, and
    // no DESTROY is sent for them afterwards.
    s.mock.expect_close(iommu_fd);
    CHECK(moved.close().has_value());
    CHECK_FALSE(static_cast<bool>(*b));
    CHECK(b->id() == ioas_id{2});
    CHECK(b->destroy().has_value());
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: move-assigning a handle destroys the IOAS it held", "[iommufd]") {
  vfio_test::seam s;
  {
    iommufd fd = open_iommufd(s.mock, s.mock);
    expect_ioas_alloc(s.mock, 1);
    auto a = fd.ioas_alloc();
    REQUIRE(a.has_value());
    expect_ioas_alloc(s.mock, 2);
    auto b = fd.ioas_alloc();
    REQUIRE(b.has_value());
    expect_destroy(s.mock, 1);
    *a = std::move(*b);
    CHECK(a->id() == ioas_id{2});
    CHECK(a->owner() == &fd);
    CHECK_FALSE(static_cast<bool>(*b));
    vfio::ioas& self = *a;
    *a = std::move(self);  // self-move: nothing happens
    CHECK(a->id() == ioas_id{2});
    CHECK(static_cast<bool>(*a));
    expect_destroy(s.mock, 2);
    s.mock.expect_close(iommu_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: move-assigning over an iommufd empties its handles and closes it first", "[iommufd]") {
  vfio_test::seam s;
  {
    iommufd target = open_iommufd(s.mock, s.mock);
    expect_ioas_alloc(s.mock, 3);
    auto old_space = target.ioas_alloc();
    REQUIRE(old_space.has_value());

    s.mock.expect_open("/dev/iommu").returns(iommu_fd + 1);
    auto other = iommufd::open(iommufd::default_path, s.mock);
    REQUIRE(other.has_value());
    s.mock.expect_close(iommu_fd);
    target = std::move(*other);
    CHECK(target.fd() == iommu_fd + 1);
    CHECK_FALSE(static_cast<bool>(*old_space));
    s.mock.expect_close(iommu_fd + 1);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: destroy by id sends IOMMU_DESTROY and names the object", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  expect_destroy(s.mock, 9).fails(ENOENT);
  auto gone = fd.destroy(vfio::hwpt_id{9});
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error().message() == "IOMMU_DESTROY (HWPT 9): No such file or directory");
  expect_destroy(s.mock, 10);
  CHECK(fd.destroy(10U).has_value());
  expect_destroy(s.mock, 11).fails(EBUSY);
  CHECK(fd.destroy(11U).error().message() == "IOMMU_DESTROY (iommufd object 11): Device or resource busy");
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.verify_done());
}

// --- map, unmap, copy ---------------------------------------------------------------------

TEST_CASE("iommufd: IOAS_MAP without FIXED_IOVA returns the IOVA the kernel picked", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  const ia::ioas_map call = map_call(2, rw, 0x7f0000200000, 0x200000, 0);
  ia::ioas_map reply = call;
  reply.iova = 0x400000;
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_map).with(call).fills(reply);
  auto iova = fd.map(ioas_id{2}, std::uint64_t{0x7f0000200000}, 0x200000);
  REQUIRE(iova.has_value());
  CHECK(*iova == 0x400000);

  // FIXED_IOVA in the flags of map() is dropped: the kernel places the mapping.
  const ia::ioas_map write_only = map_call(2, ia::map_flags::writeable, 0x10000, 0x1000, 0);
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_map).with(write_only).fills(std::uint64_t{0x8000}, 32);
  auto w = fd.map(ioas_id{2}, std::uint64_t{0x10000}, 0x1000, ia::map_flags::writeable | ia::map_flags::fixed_iova);
  REQUIRE(w.has_value());
  CHECK(*w == 0x8000);

  // Read-only memory maps READABLE alone.
  alignas(4096) static const unsigned char rom[4096] = {};
  const ia::ioas_map readable =
      map_call(2, ia::map_flags::readable, reinterpret_cast<std::uintptr_t>(rom), sizeof rom, 0);
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_map).with(readable).fills(std::uint64_t{0x1000}, 32);
  auto r = fd.map(ioas_id{2}, static_cast<const void*>(rom), sizeof rom);
  REQUIRE(r.has_value());
  CHECK(*r == 0x1000);
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: IOAS_MAP with FIXED_IOVA sends the IOVA and returns it", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  alignas(4096) static unsigned char buffer[8192];
  const ia::ioas_map call =
      map_call(3, rw | ia::map_flags::fixed_iova, reinterpret_cast<std::uintptr_t>(buffer), sizeof buffer, 0x100000);
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_map).with(call).fills(call);
  auto iova = fd.map_fixed(ioas_id{3}, 0x100000, static_cast<void*>(buffer), sizeof buffer);
  REQUIRE(iova.has_value());
  CHECK(*iova == 0x100000);

  // io_pagetable.c iopt_check_iova: an overlap with an existing mapping is EEXIST.
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_map).with(call).fails(EEXIST);
  auto again = fd.map_fixed(ioas_id{3}, 0x100000, static_cast<void*>(buffer), sizeof buffer);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error() == std::errc::file_exists);
  CHECK(again.error().message() == "IOMMU_IOAS_MAP (IOAS 3): File exists");
  CHECK(again.error().about().iommufd_object_type() == subject::iommufd_type::ioas);
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: IOAS_MAP errors propagate with the IOAS as subject", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  for (const int e : {ENOENT, EINVAL, ENOSPC, ENOMEM, EFAULT, EOVERFLOW}) {
    s.mock.expect_ioctl(iommu_fd, ia::req::ioas_map).fails(e);
    auto r = fd.map(ioas_id{7}, std::uint64_t{0x1000}, 0x1000);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().value() == e);
    CHECK(op(r.error()) == "IOMMU_IOAS_MAP");
    CHECK(r.error().about() == subject::iommufd_object(7, subject::iommufd_type::ioas));
  }
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("iommufd: IOAS_UNMAP returns the bytes the kernel unmapped; unmap_all is 0..UINT64_MAX", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  ia::ioas_unmap call{};
  call.size = sizeof call;
  call.ioas_id = 2;
  call.iova = 0x400000;
  call.length = 0x400000;
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_unmap).with(call).fills(std::uint64_t{0x200000}, 16);
  auto bytes = fd.unmap(ioas_id{2}, 0x400000, 0x400000);
  REQUIRE(bytes.has_value());
  CHECK(*bytes == 0x200000);

  ia::ioas_unmap all{};
  all.size = sizeof all;
  all.ioas_id = 2;
  all.iova = 0;
  all.length = ~std::uint64_t{0};
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_unmap).with(all).fills(std::uint64_t{0x600000}, 16);
  auto everything = fd.unmap_all(ioas_id{2});
  REQUIRE(everything.has_value());
  CHECK(*everything == 0x600000);

  // ioas.c iommufd_ioas_unmap: nothing mapped in the range (or a mapping crossing it) is ENOENT.
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_unmap).with(call).fails(ENOENT);
  auto none = fd.unmap(ioas_id{2}, 0x400000, 0x400000);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().message() == "IOMMU_IOAS_UNMAP (IOAS 2): No such file or directory");
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: IOAS_COPY sends both IOAS ids and returns the destination IOVA", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  ia::ioas_copy call{};
  call.size = sizeof call;
  call.flags = rw;
  call.dst_ioas_id = 3;
  call.src_ioas_id = 2;
  call.length = 0x1000;
  call.dst_iova = 0;
  call.src_iova = 0x5000;
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_copy).with(call).fills(std::uint64_t{0x9000}, 24);
  auto picked = fd.copy(ioas_id{3}, ioas_id{2}, 0x5000, 0x1000);
  REQUIRE(picked.has_value());
  CHECK(*picked == 0x9000);

  ia::ioas_copy fixed = call;
  fixed.flags = ia::map_flags::readable | ia::map_flags::fixed_iova;
  fixed.dst_iova = 0x7000;
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_copy).with(fixed).fills(fixed);
  auto at = fd.copy_fixed(ioas_id{3}, 0x7000, ioas_id{2}, 0x5000, 0x1000, ia::map_flags::readable);
  REQUIRE(at.has_value());
  CHECK(*at == 0x7000);

  // io_pagetable.c iopt_insert_area: writeable over read-only source pages is EPERM.
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_copy).with(call).fails(EPERM);
  auto denied = fd.copy(ioas_id{3}, ioas_id{2}, 0x5000, 0x1000);
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().message() == "IOMMU_IOAS_COPY (IOAS 3): Operation not permitted");
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

// --- IOVA ranges --------------------------------------------------------------------------

namespace {

/// The leading 16 bytes of an IOAS_IOVA_RANGES call (the array address follows).
ia::ioas_iova_ranges ranges_call(std::uint32_t ioas, std::uint32_t capacity) {
  ia::ioas_iova_ranges c{};
  c.size = sizeof c;
  c.ioas_id = ioas;
  c.num_iovas = capacity;
  return c;
}

/// The kernel's answer: `total` ranges [i << 32, (i << 32) + 0xfff], as many written as fit.
vfio_test::hooked_seam::hook write_ranges(std::uint32_t total, std::uint64_t alignment) {
  return [total, alignment](void* arg, int) {
    auto* a = static_cast<ia::ioas_iova_ranges*>(arg);
    auto* out = user_pointer<ia::iova_range>(a->allowed_iovas);
    const std::uint32_t capacity = a->num_iovas;
    for (std::uint32_t i = 0; i < total && i < capacity; ++i)
      out[i] = ia::iova_range{std::uint64_t{i} << 32, (std::uint64_t{i} << 32) + 0xfff};
    a->num_iovas = total;
    a->out_iova_alignment = alignment;
  };
}

}  // namespace

TEST_CASE("iommufd: IOAS_IOVA_RANGES reads up to 8 ranges in one call from a stack array", "[iommufd]") {
  hooked h;
  iommufd fd = open_iommufd(h.mock, h.sys);
  const ia::ioas_iova_ranges call = ranges_call(2, iommufd::stack_ranges);
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_iova_ranges).with_bytes(&call, 16);
  h.sys.after(ia::req::ioas_iova_ranges, write_ranges(2, 4096));
  auto ranges = fd.iova_ranges(ioas_id{2});
  REQUIRE(ranges.has_value());
  REQUIRE(ranges->ranges.size() == 2);
  CHECK(ranges->ranges[0].start == 0);
  CHECK(ranges->ranges[0].end == 0xfff);
  CHECK(ranges->ranges[1].start == std::uint64_t{1} << 32);
  CHECK(ranges->ranges[1].end == (std::uint64_t{1} << 32) + 0xfff);
  CHECK(ranges->alignment == 4096);
  h.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(h.mock.verify_done());
  CHECK(h.sys.hooks_done());
  CHECK(h.mismatches.empty());
}

TEST_CASE("iommufd: IOAS_IOVA_RANGES asks again with the total after -EMSGSIZE", "[iommufd]") {
  hooked h;
  iommufd fd = open_iommufd(h.mock, h.sys);
  const ia::ioas_iova_ranges first = ranges_call(2, iommufd::stack_ranges);
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_iova_ranges).with_bytes(&first, 16).fails(EMSGSIZE);
  h.sys.after(ia::req::ioas_iova_ranges, write_ranges(11, 4096));
  const ia::ioas_iova_ranges second = ranges_call(2, 11);
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_iova_ranges).with_bytes(&second, 16);
  h.sys.after(ia::req::ioas_iova_ranges, write_ranges(11, 4096));
  auto ranges = fd.iova_ranges(ioas_id{2});
  REQUIRE(ranges.has_value());
  REQUIRE(ranges->ranges.size() == 11);
  CHECK(ranges->ranges[10].start == std::uint64_t{10} << 32);
  CHECK(ranges->ranges[10].end == (std::uint64_t{10} << 32) + 0xfff);
  h.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(h.mock.verify_done());
  CHECK(h.sys.hooks_done());
  CHECK(h.mismatches.empty());
}

TEST_CASE("iommufd: IOAS_IOVA_RANGES gives up on a list that keeps growing or is too long", "[iommufd]") {
  hooked h;
  iommufd fd = open_iommufd(h.mock, h.sys);
  // Each answer reports more ranges than the array just offered: four calls, then argsz_too_large.
  std::uint32_t capacity = iommufd::stack_ranges;
  for (int i = 0; i < vfio::detail::max_iova_ranges_attempts; ++i) {
    const ia::ioas_iova_ranges call = ranges_call(2, capacity);
    h.mock.expect_ioctl(iommu_fd, ia::req::ioas_iova_ranges).with_bytes(&call, 16).fails(EMSGSIZE);
    h.sys.after(ia::req::ioas_iova_ranges, write_ranges(capacity + 1, 4096));
    capacity += 1;
  }
  auto growing = fd.iova_ranges(ioas_id{2});
  REQUIRE_FALSE(growing.has_value());
  CHECK(growing.error() == vfio::errc::argsz_too_large);
  CHECK(op(growing.error()) == "IOMMU_IOAS_IOVA_RANGES");

  // A total past the library's bound stops at once. A success that claims more ranges
  // than the array held is read as "too small" too: nothing past the array is read.
  const ia::ioas_iova_ranges call = ranges_call(2, iommufd::stack_ranges);
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_iova_ranges).with_bytes(&call, 16);
  h.sys.after(ia::req::ioas_iova_ranges, write_ranges(iommufd::max_iova_ranges + 1, 4096));
  auto huge = fd.iova_ranges(ioas_id{2});
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error() == vfio::errc::argsz_too_large);

  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_iova_ranges).fails(ENOENT);
  auto missing = fd.iova_ranges(ioas_id{9});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message() == "IOMMU_IOAS_IOVA_RANGES (IOAS 9): No such file or directory");
  h.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(h.mock.verify_done());
  CHECK(h.sys.hooks_done());
}

TEST_CASE("iommufd: IOAS_ALLOW_IOVAS passes the ranges with inclusive ends", "[iommufd]") {
  hooked h;
  iommufd fd = open_iommufd(h.mock, h.sys);
  ia::ioas_allow_iovas call{};
  call.size = sizeof call;
  call.ioas_id = 2;
  call.num_iovas = 2;
  const vfio::iova_range wanted[] = {{0x1000, 0xffff}, {0x100000, 0x1fffff}};
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_allow_iovas).with_bytes(&call, 16);
  std::vector<ia::iova_range> seen;
  h.sys.after(ia::req::ioas_allow_iovas, [&seen](void* arg, int) {
    const auto* a = static_cast<const ia::ioas_allow_iovas*>(arg);
    const auto* in = user_pointer<const ia::iova_range>(a->allowed_iovas);
    seen.assign(in, in + a->num_iovas);
  });
  CHECK(fd.allow_iovas(ioas_id{2}, wanted).has_value());
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].start == 0x1000);
  CHECK(seen[0].last == 0xffff);
  CHECK(seen[1].start == 0x100000);
  CHECK(seen[1].last == 0x1fffff);

  // Twenty ranges: more than the stack array, all passed.
  std::vector<vfio::iova_range> many;
  for (std::uint64_t i = 0; i < 20; ++i) many.push_back({i << 20, (i << 20) + 0xfff});
  call.num_iovas = 20;
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_allow_iovas).with_bytes(&call, 16);
  h.sys.after(ia::req::ioas_allow_iovas, [&seen](void* arg, int) {
    const auto* a = static_cast<const ia::ioas_allow_iovas*>(arg);
    const auto* in = user_pointer<const ia::iova_range>(a->allowed_iovas);
    seen.assign(in, in + a->num_iovas);
  });
  CHECK(fd.allow_iovas(ioas_id{2}, many).has_value());
  REQUIRE(seen.size() == 20);
  CHECK(seen[19].start == std::uint64_t{19} << 20);

  // An empty list clears: count 0, no array.
  ia::ioas_allow_iovas clear{};
  clear.size = sizeof clear;
  clear.ioas_id = 2;
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_allow_iovas).with(clear);
  CHECK(fd.allow_iovas(ioas_id{2}, {}).has_value());

  // io_pagetable.c iopt_set_allow_iova: a range over a reserved region is EADDRINUSE.
  call.num_iovas = 2;
  h.mock.expect_ioctl(iommu_fd, ia::req::ioas_allow_iovas).with_bytes(&call, 16).fails(EADDRINUSE);
  auto in_use = fd.allow_iovas(ioas_id{2}, wanted);
  REQUIRE_FALSE(in_use.has_value());
  CHECK(in_use.error() == std::errc::address_in_use);
  CHECK(in_use.error().about() == subject::iommufd_object(2, subject::iommufd_type::ioas));

  // Past the library's bound: refused before any syscall.
  std::vector<vfio::iova_range> too_many(iommufd::max_iova_ranges + 1);
  auto refused = fd.allow_iovas(ioas_id{2}, too_many);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error() == vfio::errc::invalid_argument);
  CHECK(op(refused.error()) == "IOVA range count check");
  h.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(h.mock.verify_done());
  CHECK(h.sys.hooks_done());
  CHECK(h.mismatches.empty());
}

// --- options ------------------------------------------------------------------------------

TEST_CASE("iommufd: IOMMU_OPTION get and set frame option, op and object", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  ia::option get{};
  get.size = sizeof get;
  get.option_id = ia::option_id::rlimit_mode;
  get.op = ia::option_op::get;
  s.mock.expect_ioctl(iommu_fd, ia::req::option).with(get).fills(std::uint64_t{1}, 16);
  auto mode = fd.rlimit_per_process();
  REQUIRE(mode.has_value());
  CHECK(*mode);

  ia::option set = get;
  set.op = ia::option_op::set;
  set.val64 = 1;
  s.mock.expect_ioctl(iommu_fd, ia::req::option).with(set);
  CHECK(fd.set_rlimit_per_process(true).has_value());

  // ioas.c iommufd_option_rlimit_mode: without CAP_SYS_RESOURCE, EPERM.
  set.val64 = 0;
  s.mock.expect_ioctl(iommu_fd, ia::req::option).with(set).fails(EPERM);
  auto denied = fd.set_rlimit_per_process(false);
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().message() == "IOMMU_OPTION /dev/iommu: Operation not permitted");

  ia::option huge{};
  huge.size = sizeof huge;
  huge.option_id = ia::option_id::huge_pages;
  huge.op = ia::option_op::get;
  huge.object_id = 2;
  s.mock.expect_ioctl(iommu_fd, ia::req::option).with(huge).fills(std::uint64_t{0}, 16);
  auto pages = fd.huge_pages(ioas_id{2});
  REQUIRE(pages.has_value());
  CHECK_FALSE(*pages);
  huge.op = ia::option_op::set;
  huge.val64 = 1;
  s.mock.expect_ioctl(iommu_fd, ia::req::option).with(huge).fails(ENOENT);
  auto missing = fd.set_huge_pages(ioas_id{2}, true);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message() == "IOMMU_OPTION (iommufd object 2): No such file or directory");
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

// --- hardware info and HWPTs --------------------------------------------------------------

TEST_CASE("iommufd: GET_HW_INFO reports capabilities and fills the caller's buffer", "[iommufd]") {
  hooked h;
  iommufd fd = open_iommufd(h.mock, h.sys);
  // No buffer: data_len 0 and data_uptr 0.
  ia::hw_info bare{};
  bare.size = sizeof bare;
  bare.dev_id = 1;
  ia::hw_info reply = bare;
  reply.data_len = sizeof(ia::hw_info_vtd);
  reply.out_data_type = ia::hw_info_type::intel_vtd;
  reply.out_max_pasid_log2 = 20;
  reply.out_capabilities = ia::hw_cap::dirty_tracking | ia::hw_cap::pci_pasid_exec;
  h.mock.expect_ioctl(iommu_fd, ia::req::get_hw_info).with(bare).fills(reply);
  auto info = fd.get_hw_info(vfio::dev_id{1});
  REQUIRE(info.has_value());
  CHECK(info->data_type == ia::hw_info_type::intel_vtd);
  CHECK(info->data_len == 24);
  CHECK(info->max_pasid_log2 == 20);
  CHECK(info->dirty_tracking());
  CHECK((info->capabilities & ia::hw_cap::pci_pasid_exec) != 0);

  // With a buffer: its size and address go to the kernel, which writes the VT-d registers.
  ia::hw_info_vtd vtd{};
  ia::hw_info with_buffer = bare;
  with_buffer.data_len = sizeof vtd;
  // The reply's fields from out_data_type on (the mock would overwrite data_uptr otherwise).
  h.mock.expect_ioctl(iommu_fd, ia::req::get_hw_info)
      .with_bytes(&with_buffer, 16)
      .fills_bytes(reinterpret_cast<const unsigned char*>(&reply) + offsetof(ia::hw_info, out_data_type),
                   sizeof reply - offsetof(ia::hw_info, out_data_type), offsetof(ia::hw_info, out_data_type));
  const void* seen = nullptr;
  h.sys.after(ia::req::get_hw_info, [&seen](void* arg, int) {
    const auto* a = static_cast<const ia::hw_info*>(arg);
    auto* out = user_pointer<ia::hw_info_vtd>(a->data_uptr);
    seen = out;
    out->cap_reg = 0xd2008c40660462ULL;
    out->ecap_reg = 0xf050daULL;
  });
  auto filled = fd.get_hw_info(vfio::dev_id{1}, vfio::span<std::byte>(reinterpret_cast<std::byte*>(&vtd), sizeof vtd));
  REQUIRE(filled.has_value());
  CHECK(seen == &vtd);
  CHECK(vtd.cap_reg == 0xd2008c40660462ULL);
  CHECK(vtd.ecap_reg == 0xf050daULL);

  h.mock.expect_ioctl(iommu_fd, ia::req::get_hw_info).fails(ENOENT);
  auto unknown = fd.get_hw_info(vfio::dev_id{6});
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().message() == "IOMMU_GET_HW_INFO (devid 6): No such file or directory");
  h.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(h.mock.verify_done());
  CHECK(h.sys.hooks_done());
  CHECK(h.mismatches.empty());
}

TEST_CASE("iommufd: HWPT_ALLOC sends the whole zeroed 48-byte struct; the handle destroys the HWPT", "[iommufd]") {
  vfio_test::seam s;
  {
    iommufd fd = open_iommufd(s.mock, s.mock);
    ia::hwpt_alloc call{};
    call.size = sizeof call;
    call.flags = ia::hwpt_alloc_flags::dirty_tracking;
    call.dev_id = 1;
    call.pt_id = 2;
    CHECK(call.size == 48);
    s.mock.expect_ioctl(iommu_fd, ia::req::hwpt_alloc).with(call).fills(std::uint32_t{8}, 16);
    auto table = fd.hwpt_alloc(vfio::dev_id{1}, ioas_id{2}, ia::hwpt_alloc_flags::dirty_tracking);
    REQUIRE(table.has_value());
    CHECK(table->id() == vfio::hwpt_id{8});

    // hw_pagetable.c iommufd_hwpt_paging_alloc: dirty tracking on an IOMMU without it.
    s.mock.expect_ioctl(iommu_fd, ia::req::hwpt_alloc).with(call).fails(EOPNOTSUPP);
    auto unsupported = fd.hwpt_alloc(vfio::dev_id{1}, ioas_id{2}, ia::hwpt_alloc_flags::dirty_tracking);
    REQUIRE_FALSE(unsupported.has_value());
    CHECK(unsupported.error() == std::errc::operation_not_supported);
    CHECK(unsupported.error().message() == "IOMMU_HWPT_ALLOC (devid 1): Operation not supported");

    // A kernel before the ioctl (6.2 .. 6.5) does not know the number.
    call.flags = 0;
    s.mock.expect_ioctl(iommu_fd, ia::req::hwpt_alloc).with(call).fails(ENOTTY);
    CHECK(fd.hwpt_alloc(vfio::dev_id{1}, ioas_id{2}).error() == std::errc::inappropriate_io_control_operation);

    ia::destroy destroy{};
    destroy.size = sizeof destroy;
    destroy.id = 8;
    s.mock.expect_ioctl(iommu_fd, ia::req::destroy).with(destroy);
    s.mock.expect_close(iommu_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: HWPT_SET_DIRTY_TRACKING sends the enable flag", "[iommufd]") {
  vfio_test::seam s;
  iommufd fd = open_iommufd(s.mock, s.mock);
  ia::hwpt_set_dirty_tracking on{};
  on.size = sizeof on;
  on.flags = ia::dirty_tracking_flags::enable;
  on.hwpt_id = 8;
  s.mock.expect_ioctl(iommu_fd, ia::req::hwpt_set_dirty_tracking).with(on);
  CHECK(fd.set_dirty_tracking(vfio::hwpt_id{8}, true).has_value());
  ia::hwpt_set_dirty_tracking off = on;
  off.flags = 0;
  s.mock.expect_ioctl(iommu_fd, ia::req::hwpt_set_dirty_tracking).with(off);
  CHECK(fd.set_dirty_tracking(vfio::hwpt_id{8}, false).has_value());
  // io_pagetable.c iopt_set_dirty_tracking: an HWPT without dirty ops.
  s.mock.expect_ioctl(iommu_fd, ia::req::hwpt_set_dirty_tracking).with(on).fails(EOPNOTSUPP);
  auto no_ops = fd.set_dirty_tracking(vfio::hwpt_id{8}, true);
  REQUIRE_FALSE(no_ops.has_value());
  CHECK(no_ops.error().message() == "IOMMU_HWPT_SET_DIRTY_TRACKING (HWPT 8): Operation not supported");
  s.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("iommufd: HWPT_GET_DIRTY_BITMAP checks the bitmap size first and passes its address", "[iommufd]") {
  hooked h;
  iommufd fd = open_iommufd(h.mock, h.sys);
  std::uint64_t bits[2] = {};
  // 0x80000 bytes at 4 KiB: 128 pages, two words.
  ia::hwpt_get_dirty_bitmap call{};
  call.size = sizeof call;
  call.hwpt_id = 8;
  call.flags = ia::dirty_bitmap_flags::no_clear;
  call.iova = 0x100000;
  call.length = 0x80000;
  call.page_size = 4096;
  h.mock.expect_ioctl(iommu_fd, ia::req::hwpt_get_dirty_bitmap).with_bytes(&call, 40);
  const void* passed = nullptr;
  h.sys.after(ia::req::hwpt_get_dirty_bitmap, [&passed](void* arg, int) {
    const auto* a = static_cast<const ia::hwpt_get_dirty_bitmap*>(arg);
    auto* words = user_pointer<std::uint64_t>(a->data);
    passed = words;
    words[0] |= 1U << 3;                 // page 3 written
    words[1] |= std::uint64_t{1} << 63;  // page 127 written
  });
  CHECK(fd.get_dirty_bitmap(vfio::hwpt_id{8}, 0x100000, 0x80000, 4096, bits, ia::dirty_bitmap_flags::no_clear)
            .has_value());
  CHECK(passed == bits);
  CHECK(bits[0] == 8);
  CHECK(bits[1] == std::uint64_t{1} << 63);

  // Checks made before any syscall.
  std::uint64_t one[1] = {};
  auto short_bitmap = fd.get_dirty_bitmap(vfio::hwpt_id{8}, 0x100000, 0x80000, 4096, one);
  REQUIRE_FALSE(short_bitmap.has_value());
  CHECK(short_bitmap.error() == vfio::errc::out_of_bounds);
  CHECK(op(short_bitmap.error()) == "bitmap size check");
  for (const std::uint64_t page : {std::uint64_t{0}, std::uint64_t{3000}}) {
    auto bad = fd.get_dirty_bitmap(vfio::hwpt_id{8}, 0, 0x1000, page, bits);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == vfio::errc::invalid_argument);
    CHECK(op(bad.error()) == "dirty bitmap check");
  }
  CHECK(fd.get_dirty_bitmap(vfio::hwpt_id{8}, 0, 0, 4096, bits).error() == vfio::errc::invalid_argument);

  // iommufd_check_iova_range: an IOVA not aligned to the page size.
  call.flags = 0;
  call.iova = 0x100800;
  h.mock.expect_ioctl(iommu_fd, ia::req::hwpt_get_dirty_bitmap).with_bytes(&call, 40).fails(EINVAL);
  auto misaligned = fd.get_dirty_bitmap(vfio::hwpt_id{8}, 0x100800, 0x80000, 4096, bits);
  REQUIRE_FALSE(misaligned.has_value());
  CHECK(misaligned.error().message() == "IOMMU_HWPT_GET_DIRTY_BITMAP (HWPT 8): Invalid argument");
  h.mock.expect_close(iommu_fd);
  CHECK(fd.close().has_value());
  CHECK(h.mock.verify_done());
  CHECK(h.sys.hooks_done());
  CHECK(h.mismatches.empty());
}

// --- subjects and names -------------------------------------------------------------------

TEST_CASE("iommufd: subjects name IOAS, HWPT, devid and the node; ioctl names for the mock", "[iommufd]") {
  CHECK(subject::iommufd_object(2, subject::iommufd_type::ioas).to_string() == "(IOAS 2)");
  CHECK(subject::iommufd_object(5, subject::iommufd_type::hwpt).to_string() == "(HWPT 5)");
  CHECK(subject::iommufd_object(1, subject::iommufd_type::device).to_string() == "(devid 1)");
  CHECK(subject::iommufd_object(4294967295U).to_string() == "(iommufd object 4294967295)");
  CHECK_FALSE(subject::iommufd_object(2).is_path());
  CHECK(subject::iommufd_object(2, subject::iommufd_type::ioas) != subject::iommufd_object(2));
  CHECK(subject::host(subject::host_object::iommu_node).to_string() == "/dev/iommu");
  CHECK(subject::host(subject::host_object::iommu_node).is_path());
  CHECK(std::string(vfio::to_string(subject::kind::iommufd_object)) == "iommufd_object");
  CHECK(subject::region(3).iommufd_object_type() == subject::iommufd_type::any);
  using vfio::testing::ioctl_name;
  using vfio::testing::ioctl_target;
  CHECK(std::string(ioctl_name(ia::req::ioas_map, ioctl_target::unknown)) == "IOMMU_IOAS_MAP");
  CHECK(std::string(ioctl_name(ia::req::hwpt_get_dirty_bitmap, ioctl_target::group_or_device)) ==
        "IOMMU_HWPT_GET_DIRTY_BITMAP");
  CHECK(std::string(ioctl_name(vfio::abi::req::device_bind_iommufd, ioctl_target::group_or_device)) ==
        "VFIO_DEVICE_BIND_IOMMUFD");
}

}  // namespace vfio_unit_test_iommufd
