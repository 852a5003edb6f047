// unique_fd: an owned file descriptor that closes through its syscall seam.
#ifndef VFIO_UNIQUE_FD_HPP_INCLUDED
#define VFIO_UNIQUE_FD_HPP_INCLUDED

#include <cerrno>
#include <utility>

#include "error.hpp"
#include "result.hpp"
#include "syscalls.hpp"

namespace vfio {

/// Owns one descriptor. Move-only. Closing goes through the seam it was
/// created with, so a fake descriptor from a test seam never closes a real one.
/// Move assignment closes the old descriptor at once: a VFIO group node can be
/// open only once, so a late close would make the next open fail with EBUSY.
///
/// A failed close(2) still releases the descriptor: close_fd (fs/file.c) takes it
/// out of the table first, and filp_close (fs/open.c) reports the file's ->flush
/// error (EIO) or EINTR afterwards. So the object is empty after every close, is
/// never closed twice, and close() reports the error; the destructor and reset()
/// ignore it (there is nothing left to retry). EBADF (the kernel did not know the
/// descriptor) is reported the same way and never aborts: a seam or a fault
/// injector may answer it.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  /// Adopts fd (may be -1); it will be closed through sys.
  explicit unique_fd(int fd, syscalls& sys = default_syscalls()) noexcept : fd_(fd), sys_(&sys) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.fd_), sys_(o.sys_) { o.fd_ = -1; }
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      sys_ = o.sys_;
      o.fd_ = -1;
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// The seam this descriptor closes through.
  syscalls& sys() const noexcept { return sys_ ? *sys_ : default_syscalls(); }

  /// Gives up ownership without closing.
  int release() noexcept { return std::exchange(fd_, -1); }

  /// Closes the current descriptor (ignoring errors: it is released either way) and adopts fd.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) (void)sys().close(fd_);
    fd_ = fd;
  }

  /// close(2), reporting failure. The object is empty afterwards in every case
  /// (the descriptor is released even when close fails). Errors: EBADF, EIO.
  result<void> close() noexcept {
    if (fd_ < 0) return {};
    const int r = sys().close(std::exchange(fd_, -1));
    if (r < 0) return errno_error(-r, "close");
    return {};
  }

 private:
  int fd_ = -1;
  syscalls* sys_ = nullptr;  // null means default_syscalls(): keeps the default constructor constexpr-cheap
};

/// A non-owning descriptor parameter: accepts an int or a unique_fd.
class fd_ref {
 public:
  constexpr fd_ref(int fd) noexcept : fd_(fd) {}           // NOLINT: implicit by design
  fd_ref(const unique_fd& fd) noexcept : fd_(fd.get()) {}  // NOLINT: implicit by design
  constexpr int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace vfio

#endif  // VFIO_UNIQUE_FD_HPP_INCLUDED
