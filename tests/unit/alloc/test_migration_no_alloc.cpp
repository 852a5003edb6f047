// Proof that the migration transition and pre-copy paths never allocate: this
// executable replaces the global operator new/delete with counting versions and
// runs migration::open, multi-arc set_state (adopting a data_fd, and a failed arc
// with its GET), precopy_info, stop_copy_size, the stream read and recover against
// a scripted mock prepared beforehand.
//
// The mock's own bookkeeping is not the library's: the seam below forwards to the
// mock with counting paused, so the count covers only library code.
#include <vfio/migration.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "../../catch.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
thread_local int paused = 0;

void note_allocation() noexcept {
  if (counting.load() && paused == 0) allocations.fetch_add(1);
}
void* counted_malloc(std::size_t n) {
  note_allocation();
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void* counted_aligned(std::size_t n, std::align_val_t a) {
  note_allocation();
  const std::size_t align = static_cast<std::size_t>(a);
  const std::size_t size = ((n ? n : 1) + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_malloc(n); }
void* operator new[](std::size_t n) { return counted_malloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  note_allocation();
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  note_allocation();
  return std::malloc(n ? n : 1);
}
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

struct pause_counting {
  pause_counting() noexcept { ++paused; }
  ~pause_counting() { --paused; }
  pause_counting(const pause_counting&) = delete;
  pause_counting& operator=(const pause_counting&) = delete;
};

/// Forwards the calls the migration paths make to the scripted mock with counting paused.
class uncounted_seam final : public vfio::syscalls {
 public:
  explicit uncounted_seam(vfio::testing::scripted_syscalls& inner) : inner_(inner) {}
  int open(const char* path, int flags, unsigned mode) noexcept override {
    pause_counting p;
    return inner_.open(path, flags, mode);
  }
  int close(int fd) noexcept override {
    pause_counting p;
    return inner_.close(fd);
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    pause_counting p;
    return inner_.ioctl(fd, request, arg);
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    pause_counting p;
    return inner_.ioctl_value(fd, request, value);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_.pread(fd, buf, count, offset);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_.pwrite(fd, buf, count, offset);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    pause_counting p;
    return inner_.read(fd, buf, count);
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    pause_counting p;
    return inner_.write(fd, buf, count);
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    pause_counting p;
    return inner_.mmap(addr, length, prot, flags, fd, offset);
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    pause_counting p;
    return inner_.munmap(addr, length);
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    pause_counting p;
    return inner_.eventfd(initval, flags);
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    pause_counting p;
    return inner_.readlink(path, buf, size);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    pause_counting p;
    return inner_.poll(fds, nfds, timeout_ms);
  }
  std::int64_t monotonic_ns() noexcept override {
    pause_counting p;
    return inner_.monotonic_ns();
  }
  int sleep_ns(std::int64_t ns) noexcept override {
    pause_counting p;
    return inner_.sleep_ns(ns);
  }

 private:
  vfio::testing::scripted_syscalls& inner_;
};

namespace abi = vfio::abi;
using vfio::mig_state;

constexpr int device_fd = 30;
constexpr int data_fd = 31;

abi::feature_mig_state mig(mig_state s, std::int32_t fd) {
  abi::feature_mig_state m{};
  m.device_state = static_cast<std::uint32_t>(s);
  m.data_fd = fd;
  return m;
}

}  // namespace

TEST_CASE("migration transitions, pre-copy info and the stream read make no heap allocation", "[alloc][migration]") {
  std::vector<std::string> mismatches;
  vfio::testing::scripted_syscalls mock([&mismatches](const std::string& m) { mismatches.push_back(m); });
  uncounted_seam seam(mock);
  constexpr unsigned long req = abi::req::device_feature;

  // open: MIGRATION, then the state.
  abi::feature_migration caps{};
  caps.flags = abi::migration_flags::stop_copy | abi::migration_flags::p2p | abi::migration_flags::pre_copy;
  mock.expect_ioctl(device_fd, req).fills(caps, 8);
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::running, -1), 8);
  // RUNNING -> PRE_COPY: one SET, a data_fd.
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::pre_copy, data_fd), 8);
  abi::precopy_info info{};
  info.argsz = sizeof info;
  info.initial_bytes = 24;
  mock.expect_ioctl(data_fd, abi::req::mig_get_precopy_info).fills(info);
  mock.expect_read(data_fd).fills_text(std::string(24, 'x'));
  mock.expect_read(data_fd).returns(0);
  abi::feature_mig_data_size size{};
  size.stop_copy_length = 96;
  mock.expect_ioctl(device_fd, req).fills(size, 8);
  // PRE_COPY -> STOP_COPY: two SETs, the second fails, a GET follows.
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::pre_copy_p2p, -1), 8);
  mock.expect_ioctl(device_fd, req).fails(EIO);
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::error, -1), 8);
  mock.expect_close(data_fd);
  // recover: VFIO_DEVICE_RESET, then the state.
  mock.expect_ioctl(device_fd, abi::req::device_reset).returns(0);
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::running, -1), 8);
  // RUNNING -> STOP through the arcs, and back in one call.
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::running_p2p, -1), 8);
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::stop, -1), 8);
  mock.expect_ioctl(device_fd, req).fills(mig(mig_state::running, -1), 8);
  mock.expect_close(device_fd);

  bool all_ok = true;
  vfio::mig_transition t;
  {
    vfio::device dev(vfio::unique_fd(device_fd, seam));  // a device without a name: nothing to store
    allocations = 0;
    counting = true;
    {
      auto m = vfio::migration::open(dev);
      all_ok = all_ok && m;
      if (m) {
        all_ok = all_ok && m->set_state(mig_state::pre_copy, &t);
        auto pi = m->precopy_info();
        all_ok = all_ok && pi && pi->initial_bytes == 24;
        std::byte buf[64];
        auto got = m->read(buf);
        all_ok = all_ok && got && got->bytes == 24 && got->end == vfio::stream_end::no_more_for_now;
        auto sz = m->stop_copy_size();
        all_ok = all_ok && sz && *sz == 96;
        all_ok = all_ok && !m->set_state(mig_state::stop_copy, &t) && t.needs_reset();
        all_ok = all_ok && m->recover();
        all_ok = all_ok && m->set_state(mig_state::stop);
        all_ok = all_ok && m->set_state_in_one_call(mig_state::running);
      }
    }
    counting = false;
  }
  CHECK(all_ok);
  CHECK(allocations == 0);
  CHECK(mock.verify_done());
  CHECK(mismatches.empty());
}
