// The state behind a simulated eventfd: the 64-bit counter and its read,
// write, poll and in-kernel signal semantics (fs/eventfd.c).
#ifndef VFIO_TESTING_SIM_EVENTFD_HPP_INCLUDED
#define VFIO_TESTING_SIM_EVENTFD_HPP_INCLUDED

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <poll.h>
#include <sys/eventfd.h>

namespace vfio::testing::sim {

class eventfd_counter {
 public:
  eventfd_counter(std::uint64_t initial, int flags) noexcept
      : count_(initial), semaphore_(flags & EFD_SEMAPHORE), nonblock_(flags & EFD_NONBLOCK) {}

  /// eventfd2(2) flag check: only EFD_CLOEXEC, EFD_NONBLOCK and EFD_SEMAPHORE.
  static bool valid_flags(int flags) noexcept { return (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) == 0; }

  std::uint64_t count() const noexcept { return count_; }
  bool nonblocking() const noexcept { return nonblock_; }

  /// eventfd_read: 8 bytes out; 0 = would block (counter is 0).
  /// Returns 8, 0 (must wait) or -errno.
  long read(void* buf, std::size_t size) noexcept {
    if (size < sizeof(std::uint64_t)) return -EINVAL;
    if (count_ == 0) return nonblock_ ? -EAGAIN : 0;
    const std::uint64_t v = semaphore_ ? 1 : count_;
    count_ -= v;
    std::memcpy(buf, &v, sizeof v);
    return sizeof v;
  }

  /// eventfd_write: adds the 8-byte value. Returns 8, 0 (must wait: the sum
  /// would reach ULLONG_MAX) or -errno.
  long write(const void* buf, std::size_t size) noexcept {
    if (size < sizeof(std::uint64_t)) return -EINVAL;
    std::uint64_t v = 0;
    std::memcpy(&v, buf, sizeof v);
    if (v == UINT64_MAX) return -EINVAL;
    if (UINT64_MAX - count_ > v) {
      count_ += v;
      return sizeof v;
    }
    return nonblock_ ? -EAGAIN : 0;
  }

  /// eventfd_signal from kernel code (interrupts, wake-up notifications):
  /// adds n, saturating at ULLONG_MAX.
  void signal(std::uint64_t n = 1) noexcept {
    if (UINT64_MAX - count_ < n) n = UINT64_MAX - count_;
    count_ += n;
  }

  /// Consumes the counter (eventfd_ctx_remove_wait_queue in virqfd handlers).
  std::uint64_t drain() noexcept {
    const std::uint64_t v = count_;
    count_ = 0;
    return v;
  }

  /// eventfd_poll.
  short poll_events() const noexcept {
    short ev = 0;
    if (count_ > 0) ev |= POLLIN | POLLRDNORM;
    if (count_ == UINT64_MAX) ev |= POLLERR;
    if (UINT64_MAX - 1 > count_) ev |= POLLOUT | POLLWRNORM;
    return ev;
  }

 private:
  std::uint64_t count_;
  bool semaphore_;
  bool nonblock_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_EVENTFD_HPP_INCLUDED
