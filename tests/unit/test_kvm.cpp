// The KVM-VFIO device (vfio/kvm.hpp) against the scripted mock. The machines that run
// these tests have no KVM (no /dev/kvm), and the simulated kernel does not model KVM,
// so these tests check the exact requests and arguments, and that the kernel's errnos
// (virt/kvm/vfio.c, virt/kvm/kvm_main.c) come back as documented.
#include <vfio/abi/kvm.hpp>
#include <vfio/group.hpp>
#include <vfio/kvm.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_kvm {

namespace {

namespace kabi = vfio::abi::kvm;
using vfio::kvm_vfio_device;
using vfio::testing::scripted_syscalls;

constexpr int vm_fd = 11;
constexpr int kvm_dev_fd = 12;

/// Scripts KVM_CREATE_DEVICE(type VFIO, flags) on the VM, answering fd (or an errno).
void expect_create(scripted_syscalls& mock, std::uint32_t flags, int fd_or_minus_errno) {
  kabi::create_device call{};
  call.type = kabi::dev_type::vfio;
  call.flags = flags;
  auto e = mock.expect_ioctl(vm_fd, kabi::req::create_device);
  e.with(call);
  if (fd_or_minus_errno < 0) {
    e.fails(-fd_or_minus_errno);
    return;
  }
  kabi::create_device reply = call;
  reply.fd = static_cast<std::uint32_t>(fd_or_minus_errno);
  e.fills(reply).returns(0);
}

/// The attribute header KVM_SET_DEVICE_ATTR carries; addr is checked separately.
kabi::device_attr attr_header(std::uint64_t attr) {
  kabi::device_attr a{};
  a.group = kabi::vfio_attr::file;
  a.attr = attr;
  return a;
}

/// Scripts KVM_SET_DEVICE_ATTR(FILE, attr) on the KVM device: the 16 header bytes are
/// compared (addr points into the caller's stack); answers 0 or -err.
void expect_set_attr(scripted_syscalls& mock, std::uint64_t attr, int err = 0) {
  const kabi::device_attr a = attr_header(attr);
  auto e = mock.expect_ioctl(kvm_dev_fd, kabi::req::set_device_attr);
  e.with_bytes(&a, 16);
  if (err)
    e.fails(err);
  else
    e.returns(0);
}

}  // namespace

TEST_CASE("kvm: request numbers and constants match the kernel's encoding", "[kvm]") {
  // _IOWR(0xAE, 0xe0, struct kvm_create_device) and _IOW(0xAE, 0xe1..0xe3, struct kvm_device_attr).
  CHECK(kabi::req::create_device == ((3UL << 30) | (12UL << 16) | (0xAEUL << 8) | 0xe0));
  CHECK(kabi::req::set_device_attr == ((1UL << 30) | (24UL << 16) | (0xAEUL << 8) | 0xe1));
  CHECK(kabi::vfio_attr::group_add == kabi::vfio_attr::file_add);
  CHECK(kabi::vfio_attr::group_del == kabi::vfio_attr::file_del);
}

TEST_CASE("kvm: create, add and remove a group, close releases", "[kvm]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  expect_create(mock, 0, kvm_dev_fd);
  auto kv = kvm_vfio_device::create(vm_fd, mock);
  REQUIRE(kv);
  CHECK(kv->fd() == kvm_dev_fd);

  // KVM_SET_DEVICE_ATTR(FILE, FILE_ADD, addr -> int32 20): the attribute header is
  // compared here; the pointed-to fd in the next test case.
  expect_set_attr(mock, kabi::vfio_attr::file_add);
  CHECK(kv->add_file(20));
  expect_set_attr(mock, kabi::vfio_attr::file_add, EEXIST);
  auto r = kv->add_file(20);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::file_exists);
  CHECK(r.error().operation() == std::string("KVM_DEV_VFIO_FILE_ADD"));
  expect_set_attr(mock, kabi::vfio_attr::file_add, EINVAL);
  r = kv->add_file(21);  // not a VFIO file
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);
  expect_set_attr(mock, kabi::vfio_attr::file_del);
  CHECK(kv->remove_file(20));
  expect_set_attr(mock, kabi::vfio_attr::file_del, ENOENT);
  r = kv->remove_file(20);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::no_such_file_or_directory);
  // Negative descriptors never reach the kernel.
  r = kv->add_file(-1);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::bad_file_descriptor);

  mock.expect_close(kvm_dev_fd).returns(0);
  CHECK(kv->close());
  CHECK_FALSE(*kv);
  r = kv->add_file(20);  // closed: EBADF without a call
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::bad_file_descriptor);
  CHECK(mock.verify_done());
  CHECK(s.mismatches.empty());
}

namespace {
/// A seam that passes every call to the scripted mock and, for KVM_SET_DEVICE_ATTR,
/// records the int32 the attribute's addr points to (the mock compares only the
/// argument's own bytes).
class pointee_recorder final : public vfio::syscalls {
 public:
  explicit pointee_recorder(scripted_syscalls& m) : m_(m) {}
  std::int32_t last_fd = -100;
  int open(const char* p, int f, unsigned mode) noexcept override { return m_.open(p, f, mode); }
  int close(int fd) noexcept override { return m_.close(fd); }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    if (request == kabi::req::set_device_attr && arg) {
      kabi::device_attr a{};
      std::memcpy(&a, arg, sizeof a);
      std::memcpy(&last_fd, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(a.addr)), sizeof last_fd);
    }
    return m_.ioctl(fd, request, arg);
  }
  int ioctl_value(int fd, unsigned long r, unsigned long v) noexcept override { return m_.ioctl_value(fd, r, v); }
  long pread(int fd, void* b, std::size_t n, std::int64_t o) noexcept override { return m_.pread(fd, b, n, o); }
  long pwrite(int fd, const void* b, std::size_t n, std::int64_t o) noexcept override { return m_.pwrite(fd, b, n, o); }
  long read(int fd, void* b, std::size_t n) noexcept override { return m_.read(fd, b, n); }
  long write(int fd, const void* b, std::size_t n) noexcept override { return m_.write(fd, b, n); }
  int mmap(void** a, std::size_t l, int p, int f, int fd, std::int64_t o) noexcept override {
    return m_.mmap(a, l, p, f, fd, o);
  }
  int munmap(void* a, std::size_t l) noexcept override { return m_.munmap(a, l); }
  int eventfd(unsigned v, int f) noexcept override { return m_.eventfd(v, f); }
  long readlink(const char* p, char* b, std::size_t n) noexcept override { return m_.readlink(p, b, n); }
  int poll(struct pollfd* f, std::size_t n, int t) noexcept override { return m_.poll(f, n, t); }
  std::int64_t monotonic_ns() noexcept override { return m_.monotonic_ns(); }
  int sleep_ns(std::int64_t ns) noexcept override { return m_.sleep_ns(ns); }

 private:
  scripted_syscalls& m_;
};
}  // namespace

TEST_CASE("kvm: the attribute points to the group's descriptor as an int32", "[kvm]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  pointee_recorder rec(mock);
  // A group opened through the same seam: open + GET_STATUS (viable).
  mock.expect_open("/dev/vfio/7").returns_fd(30);
  vfio::abi::group_status st{};
  st.argsz = sizeof st;
  vfio::abi::group_status viable = st;
  viable.flags = vfio::abi::group_flags::viable;
  mock.expect_ioctl(30, vfio::abi::req::group_get_status).with(st).fills(viable);
  auto g = vfio::group::open(7, rec);
  REQUIRE(g);

  expect_create(mock, 0, kvm_dev_fd);
  auto kv = kvm_vfio_device::create(vm_fd, rec);
  REQUIRE(kv);
  expect_set_attr(mock, kabi::vfio_attr::file_add);
  CHECK(kv->add(*g));
  CHECK(rec.last_fd == 30);
  expect_set_attr(mock, kabi::vfio_attr::file_del);
  rec.last_fd = -100;
  CHECK(kv->remove(*g));
  CHECK(rec.last_fd == 30);
  // A group from another seam: refused without a call (its number means nothing here).
  vfio_test::seam other;
  other.mock.expect_open("/dev/vfio/8").returns_fd(31);
  other.mock.expect_ioctl(31, vfio::abi::req::group_get_status).with(st).fills(viable);
  auto g8 = vfio::group::open(8, other.mock);
  REQUIRE(g8);
  auto r = kv->add(*g8);
  REQUIRE_FALSE(r);
  CHECK(r.error() == vfio::errc::invalid_argument);
  other.mock.expect_close(31).returns(0);
  mock.expect_close(kvm_dev_fd).returns(0);
  mock.expect_close(30).returns(0);
}

TEST_CASE("kvm: creation errors, the TEST probe and has_attribute", "[kvm]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  expect_create(mock, 0, -EBUSY);  // one per VM
  auto kv = kvm_vfio_device::create(vm_fd, mock);
  REQUIRE_FALSE(kv);
  CHECK(kv.error() == std::errc::device_or_resource_busy);
  CHECK(kv.error().operation() == std::string("KVM_CREATE_DEVICE"));
  expect_create(mock, 0, -ENODEV);  // no CONFIG_KVM_VFIO
  kv = kvm_vfio_device::create(vm_fd, mock);
  REQUIRE_FALSE(kv);
  CHECK(kv.error() == std::errc::no_such_device);
  kv = kvm_vfio_device::create(-1, mock);  // no call
  REQUIRE_FALSE(kv);
  CHECK(kv.error() == std::errc::bad_file_descriptor);

  expect_create(mock, kabi::create_device_flags::test, 0);
  auto ok = kvm_vfio_device::supported(vm_fd, mock);
  REQUIRE(ok);
  CHECK(*ok);
  expect_create(mock, kabi::create_device_flags::test, -ENODEV);
  ok = kvm_vfio_device::supported(vm_fd, mock);
  REQUIRE(ok);
  CHECK_FALSE(*ok);
  expect_create(mock, kabi::create_device_flags::test, -ENOTTY);  // not a VM descriptor
  ok = kvm_vfio_device::supported(vm_fd, mock);
  REQUIRE_FALSE(ok);
  CHECK(ok.error() == std::errc::inappropriate_io_control_operation);

  expect_create(mock, 0, kvm_dev_fd);
  kv = kvm_vfio_device::create(vm_fd, mock);
  REQUIRE(kv);
  mock.expect_ioctl(kvm_dev_fd, kabi::req::has_device_attr).with(attr_header(kabi::vfio_attr::file_add)).returns(0);
  auto has = kv->has_attribute(kabi::vfio_attr::file_add);
  REQUIRE(has);
  CHECK(*has);
  mock.expect_ioctl(kvm_dev_fd, kabi::req::has_device_attr)
      .with(attr_header(kabi::vfio_attr::group_set_spapr_tce))
      .fails(ENXIO);
  has = kv->has_attribute(kabi::vfio_attr::group_set_spapr_tce);  // x86: no SPAPR TCE
  REQUIRE(has);
  CHECK_FALSE(*has);
  mock.expect_close(kvm_dev_fd).returns(0);
  kv = vfio::result<kvm_vfio_device>(kvm_vfio_device{});  // the owner closes on destruction
  CHECK(mock.verify_done());
  CHECK(s.mismatches.empty());
}

}  // namespace vfio_unit_test_kvm
