// Shared pieces of the iommufd and cdev unit tests: a seam that forwards every call to
// the scripted mock and then lets a test act as the kernel does through the user
// pointers inside an ioctl's struct (IOAS_IOVA_RANGES writes its ranges to
// allowed_iovas, GET_HW_INFO its data to data_uptr, BIND_IOMMUFD reads the token at
// token_uuid_ptr), which the mock, copying bytes into the struct only, cannot reach.
#ifndef VFIO_TESTS_UNIT_IOMMUFD_FIXTURE_HPP_INCLUDED
#define VFIO_TESTS_UNIT_IOMMUFD_FIXTURE_HPP_INCLUDED

#include <vfio/syscalls.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <utility>

#include "mock_fixture.hpp"

namespace vfio_test {

/// Forwards to a scripted mock; after an ioctl of a request a hook was queued for, runs
/// the first such hook (once) with the ioctl's argument and result.
class hooked_seam final : public vfio::syscalls {
 public:
  using hook = std::function<void(void* arg, int result)>;

  explicit hooked_seam(vfio::testing::scripted_syscalls& inner) noexcept : inner_(&inner) {}

  /// Queues h for the next ioctl of `request`.
  void after(unsigned long request, hook h) { hooks_.push_back({request, std::move(h)}); }
  /// Every queued hook ran.
  bool hooks_done() const noexcept { return hooks_.empty(); }

  int open(const char* path, int flags, unsigned mode) noexcept override { return inner_->open(path, flags, mode); }
  int close(int fd) noexcept override { return inner_->close(fd); }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    const int r = inner_->ioctl(fd, request, arg);
    for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
      if (it->request != request) continue;
      hook h = std::move(it->fn);
      hooks_.erase(it);
      h(arg, r);
      break;
    }
    return r;
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    return inner_->ioctl_value(fd, request, value);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return inner_->pread(fd, buf, count, offset);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return inner_->pwrite(fd, buf, count, offset);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override { return inner_->read(fd, buf, count); }
  long write(int fd, const void* buf, std::size_t count) noexcept override { return inner_->write(fd, buf, count); }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    return inner_->mmap(addr, length, prot, flags, fd, offset);
  }
  int munmap(void* addr, std::size_t length) noexcept override { return inner_->munmap(addr, length); }
  int eventfd(unsigned initval, int flags) noexcept override { return inner_->eventfd(initval, flags); }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    return inner_->readlink(path, buf, size);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    return inner_->poll(fds, nfds, timeout_ms);
  }
  std::int64_t monotonic_ns() noexcept override { return inner_->monotonic_ns(); }
  int sleep_ns(std::int64_t ns) noexcept override { return inner_->sleep_ns(ns); }
  int access(const char* path, int mode) noexcept override { return inner_->access(path, mode); }
  long getdents64(int fd, void* buf, std::size_t size) noexcept override { return inner_->getdents64(fd, buf, size); }
  int getrlimit(int resource, struct rlimit* limit) noexcept override { return inner_->getrlimit(resource, limit); }

 private:
  struct entry {
    unsigned long request;
    hook fn;
  };
  vfio::testing::scripted_syscalls* inner_;
  std::deque<entry> hooks_;
};

/// The scripted mock with its mismatch log, and the hooked seam over it.
struct hooked : seam {
  hooked_seam sys{mock};
};

/// The user address a u64 field of an ioctl struct carries, as a pointer.
template <class T>
T* user_pointer(std::uint64_t address) {
  return reinterpret_cast<T*>(static_cast<std::uintptr_t>(address));
}

}  // namespace vfio_test

#endif  // VFIO_TESTS_UNIT_IOMMUFD_FIXTURE_HPP_INCLUDED
