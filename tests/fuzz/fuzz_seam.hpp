// A syscall seam whose every answer comes from the fuzz input: each call takes
// one byte to pick success or an errno, and the bytes it hands back (ioctl
// replies, read/pread data, link targets) are the next bytes of the input.
// It never hands back more bytes than the buffer it was given holds, except
// when the input asks for an oversized count (the "lying" answers the library
// must clamp or reject). It counts descriptors and mappings like the models.
#ifndef VFIO_TESTS_FUZZ_FUZZ_SEAM_HPP_INCLUDED
#define VFIO_TESTS_FUZZ_FUZZ_SEAM_HPP_INCLUDED

#include <vfio/abi/vfio.hpp>
#include <vfio/syscalls.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>

namespace vfio_fuzz {

/// Reads bytes off the front of the input; zeros once it is exhausted.
class input {
 public:
  input(const std::uint8_t* data, std::size_t size) noexcept : p_(data), n_(size) {}
  std::uint8_t u8() noexcept {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(u16() | (std::uint32_t{u16()} << 16)); }
  /// Copies up to n bytes into out; returns how many the input still had.
  std::size_t take(void* out, std::size_t n) noexcept {
    const std::size_t k = n < n_ ? n : n_;
    if (k) std::memcpy(out, p_, k);
    p_ += k;
    n_ -= k;
    return k;
  }
  std::size_t left() const noexcept { return n_; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

class fuzz_syscalls final : public vfio::syscalls {
 public:
  explicit fuzz_syscalls(input& in) noexcept : in_(in) {}

  std::size_t open_descriptors() const noexcept { return open_.size(); }
  std::size_t live_mappings() const noexcept { return mapped_.size(); }
  unsigned calls() const noexcept { return calls_; }

  int open(const char*, int, unsigned) noexcept override { return new_fd(); }
  int close(int fd) noexcept override {
    if (!open_.erase(fd)) std::abort();  // the library closed what it never got
    return verdict();
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    (void)fd;
    const int v = verdict();
    if (v < 0) return v;
    if (arg) {
      // The argument's size is in its argsz (first u32) for VFIO structs; fill at most that.
      std::uint32_t argsz = 0;
      std::memcpy(&argsz, arg, sizeof argsz);
      const std::size_t room = argsz > 4 && argsz <= 65536 ? argsz : 4;
      const std::size_t n = in_.u8() % (room + 1);
      in_.take(arg, n);
    }
    // VFIO_GROUP_GET_DEVICE_FD hands out a descriptor; every other ioctl the
    // library makes answers 0 on success, or (hostile) a small positive value.
    if (request == vfio::abi::req::group_get_device_fd) return new_fd_after_verdict();
    return in_.u8() == 2 ? static_cast<int>(in_.u8()) : 0;
  }
  int ioctl_value(int, unsigned long, unsigned long) noexcept override {
    const int v = verdict();
    return v < 0 ? v : static_cast<int>(in_.u8() & 1);
  }
  long pread(int, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    if (offset < 0) std::abort();  // would be EINVAL from the kernel: the library must not pass it
    return transfer(buf, count);
  }
  long pwrite(int, const void*, std::size_t count, std::int64_t offset) noexcept override {
    if (offset < 0) std::abort();
    const int v = verdict();
    if (v < 0) return v;
    return static_cast<long>(in_.u8() == 0 ? count : count / 2);
  }
  long read(int, void* buf, std::size_t count) noexcept override { return transfer(buf, count); }
  long write(int, const void*, std::size_t count) noexcept override {
    const int v = verdict();
    if (v < 0) return v;
    return static_cast<long>(count);
  }
  int mmap(void** addr, std::size_t length, int, int, int, std::int64_t offset) noexcept override {
    if (offset < 0 || length == 0) std::abort();
    const int v = verdict();
    if (v < 0) return v;
    *addr = reinterpret_cast<void*>(next_addr_);  // never touched
    next_addr_ += 0x100000;
    mapped_.insert(*addr);
    return 0;
  }
  int munmap(void* addr, std::size_t) noexcept override {
    if (!mapped_.count(addr)) std::abort();
    const int v = verdict();
    if (v < 0) return v;
    mapped_.erase(addr);
    return 0;
  }
  int eventfd(unsigned, int) noexcept override { return new_fd(); }
  long readlink(const char*, char* buf, std::size_t size) noexcept override {
    const int v = verdict();
    if (v < 0) return v;
    const std::size_t want = in_.u8();
    const std::size_t n = want < size ? want : size;
    in_.take(buf, n);
    return static_cast<long>(n);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int) noexcept override {
    const int v = verdict();
    if (v < 0) return v;
    for (std::size_t i = 0; i < nfds; ++i) fds[i].revents = static_cast<short>(in_.u8() & (POLLIN | POLLNVAL));
    return nfds && fds[0].revents ? 1 : 0;
  }
  std::int64_t monotonic_ns() noexcept override { return now_ += 1'000'000; }
  int sleep_ns(std::int64_t ns) noexcept override {
    if (ns > 0) now_ += ns;
    return 0;
  }

 private:
  /// 0 or -errno, from one input byte (mostly success).
  int verdict() noexcept {
    ++calls_;
    static constexpr int errnos[] = {EINTR, EIO,    ENOMEM, EBADF,  EFAULT, EINVAL,
                                     EBUSY, ENOSPC, EAGAIN, ENOTTY, ENOENT, ENODEV};
    const std::uint8_t b = in_.u8();
    if (b < 0xe0 || in_.left() == 0) return 0;
    return -errnos[b % (sizeof errnos / sizeof errnos[0])];
  }
  int new_fd() noexcept {
    const int v = verdict();
    if (v < 0) return v;
    return new_fd_after_verdict();
  }
  int new_fd_after_verdict() noexcept {
    const int fd = next_fd_++;
    open_.insert(fd);
    return fd;
  }
  /// read/pread: fewer bytes, exactly as many, or (rarely) a count above the request.
  long transfer(void* buf, std::size_t count) noexcept {
    const int v = verdict();
    if (v < 0) return v;
    const std::uint8_t mode = in_.u8();
    std::size_t n = count;
    if (mode < 0x40) n = count ? in_.u8() % (count + 1) : 0;
    const std::size_t got = in_.take(buf, n);
    if (mode == 0xff) return static_cast<long>(count + in_.u8() + 1);  // a lying count
    return static_cast<long>(got);
  }

  input& in_;
  std::set<int> open_;
  std::set<void*> mapped_;
  int next_fd_ = 100;
  std::uintptr_t next_addr_ = 0x10000000;
  std::int64_t now_ = 1'000'000'000;
  unsigned calls_ = 0;
};

}  // namespace vfio_fuzz

#endif  // VFIO_TESTS_FUZZ_FUZZ_SEAM_HPP_INCLUDED
