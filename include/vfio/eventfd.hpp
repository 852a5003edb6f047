// vfio::eventfd: an owned eventfd(2) counter, the descriptor VFIO signals through
// (IRQs, the low-power wake-up, ioeventfds), with read, write and a bounded wait,
// all through the syscall seam. The library and its users share this one type.
#ifndef VFIO_EVENTFD_HPP_INCLUDED
#define VFIO_EVENTFD_HPP_INCLUDED

#include <cerrno>
#include <cstdint>

#include <poll.h>
#include <sys/eventfd.h>

#include "detail/deadline.hpp"
#include "error.hpp"
#include "result.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

namespace detail {

/// Waits until `fd` is readable and reads its 8-byte counter, by the deadline. See
/// eventfd::wait. Shared by eventfd and pci::power (which may wait on a caller's fd).
inline result<std::uint64_t> wait_and_read_counter(syscalls& sys, int fd, std::int64_t timeout_ns) noexcept {
  if (fd < 0) return errno_error(EBADF, "poll");
  const std::int64_t deadline = deadline_after(sys.monotonic_ns(), timeout_ns);
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    const int r = sys.poll(&p, 1, poll_timeout_ms(deadline - sys.monotonic_ns()));
    if (r < 0 && r != -EINTR) return errno_error(-r, "poll");
    if (r > 0) {
      if (p.revents & POLLNVAL) return errno_error(EBADF, "poll");
      std::uint64_t count = 0;
      const long n = sys.read(fd, &count, sizeof count);
      if (n == static_cast<long>(sizeof count)) return count;
      if (n >= 0) return error(errc::short_transfer, "read");
      // EAGAIN: another reader drained it first; wait again, within the same deadline.
      if (n != -EAGAIN) return errno_error(static_cast<int>(-n), "read");
    }
    if (sys.monotonic_ns() >= deadline) return error(errc::timed_out, "poll");
  }
}

}  // namespace detail

/// An owned eventfd. Move-only; closes through its seam.
class eventfd {
 public:
  /// An empty eventfd: every call fails with EBADF.
  eventfd() noexcept = default;
  /// Adopts an eventfd descriptor (closed through its seam).
  explicit eventfd(unique_fd fd) noexcept : fd_(std::move(fd)) {}

  /// eventfd(2) with `initial` and EFD_CLOEXEC plus `flags` (EFD_NONBLOCK by default:
  /// wait() polls, and read() answers EAGAIN instead of blocking on an empty counter;
  /// EFD_SEMAPHORE as the caller wishes).
  /// Errors: EMFILE, ENFILE, ENOMEM, EINVAL (unknown flags), operation "eventfd".
  static result<eventfd> create(unsigned initial = 0, int flags = EFD_NONBLOCK,
                                syscalls& sys = default_syscalls()) noexcept {
    const int fd = sys.eventfd(initial, flags | EFD_CLOEXEC);
    if (fd < 0) return errno_error(-fd, "eventfd");
    return eventfd(unique_fd(fd, sys));
  }

  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }
  syscalls& sys() const noexcept { return fd_.sys(); }
  /// The descriptor, for APIs that take one (fd_ref converts).
  const unique_fd& descriptor() const noexcept { return fd_; }

  /// read(2) of the 8-byte counter, which resets it (or decrements it by one with
  /// EFD_SEMAPHORE). Errors: EAGAIN (non-blocking and zero), EBADF,
  /// errc::short_transfer (fewer than 8 bytes), operation "read".
  result<std::uint64_t> read() noexcept {
    std::uint64_t count = 0;
    const long n = sys().read(fd_.get(), &count, sizeof count);
    if (n < 0) return errno_error(static_cast<int>(-n), "read");
    if (n != static_cast<long>(sizeof count)) return error(errc::short_transfer, "read");
    return count;
  }

  /// write(2) of `value` (adds it to the counter; signals waiters).
  /// Errors: EINVAL (value 2^64-1), EAGAIN (the counter would overflow, non-blocking),
  /// EBADF, errc::short_transfer, operation "write".
  result<void> write(std::uint64_t value = 1) noexcept {
    const long n = sys().write(fd_.get(), &value, sizeof value);
    if (n < 0) return errno_error(static_cast<int>(-n), "write");
    if (n != static_cast<long>(sizeof value)) return error(errc::short_transfer, "write");
    return {};
  }

  /// Waits up to timeout_ns for the counter to become non-zero, then reads it:
  /// poll(POLLIN) with the time left (deadline from syscalls::monotonic_ns, computed
  /// without overflow: a huge timeout waits until INT64_MAX ns), EINTR polls again, and
  /// a read answering EAGAIN (another reader drained the counter) waits again within
  /// the same deadline. timeout_ns <= 0 checks once without blocking.
  /// Errors: errc::timed_out (operation "poll"); EBADF; poll's and read's errno;
  /// errc::short_transfer.
  result<std::uint64_t> wait(std::int64_t timeout_ns) noexcept {
    return detail::wait_and_read_counter(sys(), fd_.get(), timeout_ns);
  }

  /// close(2), reporting failure; empty afterwards in every case. Errors: EIO.
  result<void> close() noexcept { return fd_.close(); }

 private:
  unique_fd fd_;
};

}  // namespace vfio

#endif  // VFIO_EVENTFD_HPP_INCLUDED
