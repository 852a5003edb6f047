// The syscall seam: every system call the library makes goes through a
// vfio::syscalls object, so tests can script or simulate the kernel.
//
// Where the seam goes. Objects opened through it keep it (container::open,
// group::open, device, unique_fd) and their members take none. Every free or
// static function that takes one orders its parameters the same way:
//
//   1. the subject: what the call is about (a PCI address, a path, a group
//      number, a descriptor and what to do to it);
//   2. its options and outputs, most used first (a buffer to fill, settle
//      options, the last reading on failure);
//   3. the seam, `syscalls& sys = default_syscalls()`;
//   4. the sysfs root, `const char* sysfs_root = "/sys"`, for calls that read sysfs.
//
// So the two arguments a test adds are always last, in the same order:
//
//   host::iommu_group_of(bdf, sim, "/sys");
//   host::read_power_report(bdf, host::capability_presence::unknown, sim, "/sys");
//   host::wait_for_power_settle(bdf, options, &last, sim, "/sys");
//   group::open_for_device(bdf, sim);
//   region_mapping::map(fd, info, PROT_READ, sim);
#ifndef VFIO_SYSCALLS_HPP_INCLUDED
#define VFIO_SYSCALLS_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ctime>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vfio {

/// The calls the library makes, as an interface. Every member returns a
/// non-negative value on success and -errno on failure; errno is never left
/// for the caller to read. Implementations must be thread-safe.
class syscalls {
 public:
  syscalls() = default;
  syscalls(const syscalls&) = delete;
  syscalls& operator=(const syscalls&) = delete;
  virtual ~syscalls() = default;

  /// open(2). The library always passes O_CLOEXEC. Returns the descriptor.
  virtual int open(const char* path, int flags, unsigned mode) noexcept = 0;
  /// close(2). Never retried: after EINTR the descriptor is gone on Linux.
  virtual int close(int fd) noexcept = 0;
  /// ioctl(2) with a pointer argument (struct, int*, char*) or none (nullptr).
  virtual int ioctl(int fd, unsigned long request, void* arg) noexcept = 0;
  /// ioctl(2) whose argument is passed by value (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU).
  virtual int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept = 0;
  /// pread(2) / pwrite(2): bytes transferred, possibly fewer than asked.
  virtual long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept = 0;
  virtual long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept = 0;
  /// read(2) / write(2), for eventfds and sysfs attributes.
  virtual long read(int fd, void* buf, std::size_t count) noexcept = 0;
  virtual long write(int fd, const void* buf, std::size_t count) noexcept = 0;
  /// mmap(2): stores the address in *addr and returns 0.
  virtual int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept = 0;
  /// munmap(2).
  virtual int munmap(void* addr, std::size_t length) noexcept = 0;
  /// eventfd(2). The library always passes EFD_CLOEXEC.
  virtual int eventfd(unsigned initval, int flags) noexcept = 0;
  /// readlink(2): the length of the target (not NUL-terminated).
  virtual long readlink(const char* path, char* buf, std::size_t size) noexcept = 0;
  /// poll(2): number of ready descriptors, 0 on timeout.
  virtual int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept = 0;
  /// clock_gettime(CLOCK_MONOTONIC) in nanoseconds. A simulation may run a virtual clock.
  virtual std::int64_t monotonic_ns() noexcept = 0;
  /// nanosleep(2) for the given duration (returns early only on error).
  virtual int sleep_ns(std::int64_t ns) noexcept = 0;

  // Host inspection (host::diagnose). Each has a default answering -ENOSYS so
  // that seams written before they existed keep compiling; callers treat
  // -ENOSYS as "cannot tell".

  /// faccessat(AT_FDCWD, path, mode, AT_EACCESS): 0 when the effective user may
  /// access path with mode (F_OK, or R_OK | W_OK | X_OK), as open(2) would judge.
  virtual int access(const char* /*path*/, int /*mode*/) noexcept { return -ENOSYS; }
  /// getdents64(2) on a directory descriptor opened with O_DIRECTORY: fills buf
  /// with struct linux_dirent64 records; returns the bytes filled, 0 at the end.
  virtual long getdents64(int /*fd*/, void* /*buf*/, std::size_t /*size*/) noexcept { return -ENOSYS; }
  /// getrlimit(2) of the calling process (RLIMIT_MEMLOCK, ...).
  virtual int getrlimit(int /*resource*/, struct rlimit* /*limit*/) noexcept { return -ENOSYS; }
};

/// The Linux implementation: each call reads errno once, right after the call,
/// and retries EINTR (except close, where a retry could close another thread's
/// new descriptor).
class linux_syscalls final : public syscalls {
 public:
  int open(const char* path, int flags, unsigned mode) noexcept override {
    return static_cast<int>(retry([&] { return static_cast<long>(::open(path, flags, mode)); }));
  }
  int close(int fd) noexcept override {
    if (::close(fd) == 0) return 0;
    const int e = errno;
    return e == EINTR ? 0 : -e;  // EINTR: Linux has released the descriptor already
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    return static_cast<int>(retry([&] { return static_cast<long>(::ioctl(fd, request, arg)); }));
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    return static_cast<int>(retry([&] { return static_cast<long>(::ioctl(fd, request, value)); }));
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return retry([&] { return static_cast<long>(::pread(fd, buf, count, static_cast<off_t>(offset))); });
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    return retry([&] { return static_cast<long>(::pwrite(fd, buf, count, static_cast<off_t>(offset))); });
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    return retry([&] { return static_cast<long>(::read(fd, buf, count)); });
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    return retry([&] { return static_cast<long>(::write(fd, buf, count)); });
  }
  int mmap(void** addr, std::size_t length, int prot, int flags, int fd, std::int64_t offset) noexcept override {
    void* p = ::mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
    if (p == MAP_FAILED) return -errno;
    *addr = p;
    return 0;
  }
  int munmap(void* addr, std::size_t length) noexcept override { return ::munmap(addr, length) == 0 ? 0 : -errno; }
  int eventfd(unsigned initval, int flags) noexcept override {
    const int fd = ::eventfd(initval, flags);
    return fd >= 0 ? fd : -errno;
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    const long n = static_cast<long>(::readlink(path, buf, size));
    return n >= 0 ? n : -errno;
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    // EINTR is not retried here: the caller's deadline loop re-polls with the remaining time.
    const int n = ::poll(fds, static_cast<nfds_t>(nfds), timeout_ms);
    return n >= 0 ? n : -errno;
  }
  std::int64_t monotonic_ns() noexcept override {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  int sleep_ns(std::int64_t ns) noexcept override {
    if (ns <= 0) return 0;
    timespec req{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    timespec rem{};
    while (::nanosleep(&req, &rem) != 0) {
      if (errno != EINTR) return -errno;
      req = rem;
    }
    return 0;
  }
  int access(const char* path, int mode) noexcept override {
    return ::faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0 ? 0 : -errno;
  }
  long getdents64(int fd, void* buf, std::size_t size) noexcept override {
    // Through syscall(2): glibc's getdents64 wrapper only exists since 2.30.
    return retry([&] { return ::syscall(SYS_getdents64, fd, buf, size); });
  }
  int getrlimit(int resource, struct rlimit* limit) noexcept override {
    // glibc declares the resource as an enum under _GNU_SOURCE, other C libraries as int.
    using resource_type = decltype(resource_parameter(&::getrlimit));
    return ::getrlimit(static_cast<resource_type>(resource), limit) == 0 ? 0 : -errno;
  }

 private:
  template <class R>
  static R resource_parameter(int (*)(R, struct rlimit*));  // never defined: only its type is used
  template <class F>
  static long retry(F call) noexcept {
    for (;;) {
      const long r = call();
      if (r >= 0) return r;
      const int e = errno;
      if (e != EINTR) return -e;
    }
  }
};

/// The process-wide Linux implementation, used wherever no seam is passed.
inline syscalls& default_syscalls() noexcept {
  static linux_syscalls instance;
  return instance;
}

}  // namespace vfio

#endif  // VFIO_SYSCALLS_HPP_INCLUDED
