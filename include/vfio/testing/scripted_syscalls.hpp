// scripted_syscalls: a syscall seam that replays an ordered script of expected
// calls with canned replies. For unit tests of code built on the library; it
// depends on no test framework (mismatches go to a callback).
#ifndef VFIO_TESTING_SCRIPTED_SYSCALLS_HPP_INCLUDED
#define VFIO_TESTING_SCRIPTED_SYSCALLS_HPP_INCLUDED

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../detail/owned.hpp"
#include "../syscalls.hpp"
#include "call_kind.hpp"
#include "callback.hpp"
#include "ioctl_names.hpp"

namespace vfio::testing {

/// One scripted call: what the code under test must pass, and what it gets back.
struct expected_call {
  call_kind kind = call_kind::open;
  int fd = -1;                ///< descriptor argument (not used by open/eventfd/readlink/munmap)
  unsigned long request = 0;  ///< ioctl request number
  std::string path;           ///< open/readlink path
  bool check_flags = false;   ///< open / eventfd flags
  int flags = 0;
  bool check_value = false;  ///< ioctl_value argument, eventfd initval, poll events
  unsigned long value = 0;
  bool check_offset = false;  ///< pread/pwrite/mmap offset
  std::int64_t offset = 0;
  bool check_length = false;  ///< pread/read/mmap/munmap length
  std::size_t length = 0;
  bool check_input = false;  ///< ioctl: leading bytes of *arg; pwrite/write: the exact bytes
  std::vector<std::uint8_t> input;
  bool result_set = false;
  long result = 0;                   ///< >= 0, or -errno
  bool result_is_fd = false;         ///< result is a new descriptor the code now owns
  std::vector<std::uint8_t> output;  ///< copied into *arg (ioctl) or buf (pread/read/readlink)
  std::size_t output_offset = 0;     ///< where in *arg the output goes
  void* address = nullptr;           ///< mmap result / munmap argument
  short revents = 0;                 ///< poll result events
  std::string note;                  ///< shown in mismatch reports
};

/// Builder for the expected_call just added.
class expectation {
 public:
  explicit expectation(expected_call& c) noexcept : c_(&c) {}
  /// The code must pass these leading bytes (ioctl arg) or exactly these bytes (pwrite/write).
  expectation& with_bytes(const void* data, std::size_t size) {
    auto p = static_cast<const std::uint8_t*>(data);
    c_->input.assign(p, p + size);
    c_->check_input = true;
    return *this;
  }
  template <class T>
  expectation& with(const T& v) {
    return with_bytes(&v, sizeof v);
  }
  /// Bytes copied back into the caller's buffer.
  expectation& fills_bytes(const void* data, std::size_t size, std::size_t at = 0) {
    auto p = static_cast<const std::uint8_t*>(data);
    c_->output.assign(p, p + size);
    c_->output_offset = at;
    return *this;
  }
  template <class T>
  expectation& fills(const T& v, std::size_t at = 0) {
    return fills_bytes(&v, sizeof v, at);
  }
  /// Text for read/pread/readlink; the result defaults to its length.
  expectation& fills_text(const std::string& s) { return fills_bytes(s.data(), s.size()); }
  expectation& returns(long r) {
    c_->result = r;
    c_->result_set = true;
    return *this;
  }
  /// The call returns a new descriptor (GET_DEVICE_FD, DMA_BUF ...): tracked as open.
  expectation& returns_fd(int fd) {
    returns(fd);
    c_->result_is_fd = true;
    return *this;
  }
  expectation& fails(int errno_value) { return returns(-errno_value); }
  expectation& at_offset(std::int64_t off) {
    c_->offset = off;
    c_->check_offset = true;
    return *this;
  }
  expectation& of_length(std::size_t len) {
    c_->length = len;
    c_->check_length = true;
    return *this;
  }
  expectation& with_value(unsigned long v) {
    c_->value = v;
    c_->check_value = true;
    return *this;
  }
  /// The exact flags the code must pass to open or eventfd (e.g. O_RDWR | O_CLOEXEC).
  expectation& with_flags(int f) {
    c_->flags = f;
    c_->check_flags = true;
    return *this;
  }
  expectation& maps_to(void* addr) {
    c_->address = addr;
    return *this;
  }
  expectation& with_revents(short ev) {
    c_->revents = ev;
    return *this;
  }
  expectation& note(std::string text) {
    c_->note = std::move(text);
    return *this;
  }

 private:
  expected_call* c_;
};

/// The seam. Calls must arrive in script order; any other call is a mismatch:
/// it is reported through the handler and answered with -EPROTO. Reports name
/// ioctl requests ("VFIO_DEVICE_FEATURE"); a descriptor the script opened from
/// /dev/vfio/vfio is a container, which tells the requests whose numbers
/// containers and devices share apart.
/// The clock is virtual: sleep_ns and timed-out polls advance it.
class scripted_syscalls final : public syscalls {
 public:
  /// Called with each mismatch's report (a lambda, as for std::function).
  using mismatch_handler = callback<void(const std::string&)>;

  explicit scripted_syscalls(mismatch_handler on_mismatch = {}) : on_mismatch_(std::move(on_mismatch)) {}

  expectation expect_open(std::string path) { return add(call_kind::open, -1).path(std::move(path)).done(); }
  expectation expect_close(int fd) { return add(call_kind::close, fd).done(); }
  expectation expect_ioctl(int fd, unsigned long request) { return add(call_kind::ioctl, fd).req(request).done(); }
  expectation expect_ioctl_value(int fd, unsigned long request, unsigned long value) {
    auto e = add(call_kind::ioctl_value, fd).req(request).done();
    e.with_value(value);
    return e;
  }
  expectation expect_pread(int fd, std::int64_t offset, std::size_t length) {
    auto e = add(call_kind::pread, fd).done();
    e.at_offset(offset).of_length(length);
    return e;
  }
  expectation expect_pwrite(int fd, std::int64_t offset) {
    auto e = add(call_kind::pwrite, fd).done();
    e.at_offset(offset);
    return e;
  }
  expectation expect_read(int fd) { return add(call_kind::read, fd).done(); }
  expectation expect_write(int fd) { return add(call_kind::write, fd).done(); }
  expectation expect_mmap(int fd, std::size_t length, std::int64_t offset) {
    auto e = add(call_kind::mmap, fd).done();
    e.of_length(length).at_offset(offset);
    return e;
  }
  expectation expect_munmap(void* addr, std::size_t length) {
    auto e = add(call_kind::munmap, -1).done();
    e.maps_to(addr).of_length(length);
    return e;
  }
  expectation expect_eventfd() { return add(call_kind::eventfd, -1).done(); }
  expectation expect_readlink(std::string path) { return add(call_kind::readlink, -1).path(std::move(path)).done(); }
  expectation expect_poll(int fd) { return add(call_kind::poll, fd).done(); }
  /// access(path, mode): with_value(mode) checks the mode; returns 0 unless told.
  expectation expect_access(std::string path) { return add(call_kind::access, -1).path(std::move(path)).done(); }
  /// getdents64(fd): fills_bytes gives the linux_dirent64 records; the result defaults to their size.
  expectation expect_getdents64(int fd) { return add(call_kind::getdents64, fd).done(); }
  /// getrlimit(resource): fills(struct rlimit{...}) gives the limits.
  expectation expect_getrlimit(int resource) {
    auto e = add(call_kind::getrlimit, -1).done();
    e.with_value(static_cast<unsigned long>(resource));
    return e;
  }

  /// True when every expectation was consumed and nothing mismatched;
  /// otherwise reports what is left through the handler.
  bool verify_done() {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = next_; i < script_.size(); ++i)
      report_locked("expected call #" + std::to_string(i) + " never made: " + describe(*script_[i], i));
    return next_ == script_.size() && mismatches_.empty();
  }
  std::size_t remaining() const {
    std::lock_guard<std::mutex> lock(mu_);
    return script_.size() - next_;
  }
  std::vector<std::string> mismatches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return mismatches_;
  }
  /// Descriptors handed out (open, eventfd, returns_fd) and not closed yet.
  std::size_t open_descriptors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_.size();
  }
  /// Mappings handed out by mmap and not unmapped yet.
  std::size_t live_mappings() const {
    std::lock_guard<std::mutex> lock(mu_);
    return mapped_.size();
  }
  std::int64_t now_ns() const {
    std::lock_guard<std::mutex> lock(mu_);
    return clock_ns_;
  }

  // --- the seam ---
  int open(const char* path, int flags, unsigned) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::open, -1);
    if (!c) return -EPROTO;
    if (c->path != path) return mismatch(*c, std::string("path ") + path);
    if (c->check_flags && c->flags != flags) return mismatch(*c, "flags " + hex_ul(static_cast<unsigned long>(flags)));
    return static_cast<int>(finish_fd(*c));
  }
  int close(int fd) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::close, fd);
    if (!c) return -EPROTO;
    // Linux frees the descriptor before anything can fail (close_fd in fs/file.c
    // removes it from the table, then filp_close in fs/open.c reports ->flush
    // errors such as EIO; EINTR also comes after the release), so a scripted
    // failure releases it too. EBADF means it was not open: nothing to release.
    forget(open_, fd);
    return static_cast<int>(c->result);
  }
  int ioctl(int fd, unsigned long request, void* arg) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::ioctl, fd, request);
    if (!c) return -EPROTO;
    if (c->check_input && (arg == nullptr || std::memcmp(arg, c->input.data(), c->input.size()) != 0))
      return mismatch(*c, "argument bytes " + (arg ? hex(arg, c->input.size()) : std::string("(null)")));
    if (!c->output.empty() && arg)
      std::memcpy(static_cast<char*>(arg) + c->output_offset, c->output.data(), c->output.size());
    return static_cast<int>(finish_fd(*c));
  }
  int ioctl_value(int fd, unsigned long request, unsigned long value) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::ioctl_value, fd, request);
    if (!c) return -EPROTO;
    if (c->check_value && c->value != value) return mismatch(*c, "value " + std::to_string(value));
    return static_cast<int>(c->result);
  }
  long pread(int fd, void* buf, std::size_t count, std::int64_t offset) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::pread, fd);
    if (!c) return -EPROTO;
    if (c->check_offset && c->offset != offset) return mismatch(*c, "offset " + std::to_string(offset));
    if (c->check_length && c->length != count) return mismatch(*c, "length " + std::to_string(count));
    return copy_out(*c, buf, count);
  }
  long pwrite(int fd, const void* buf, std::size_t count, std::int64_t offset) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::pwrite, fd);
    if (!c) return -EPROTO;
    if (c->check_offset && c->offset != offset) return mismatch(*c, "offset " + std::to_string(offset));
    if (c->check_input && (count != c->input.size() || std::memcmp(buf, c->input.data(), count) != 0))
      return mismatch(*c, "bytes " + hex(buf, count));
    return c->result_set ? c->result : static_cast<long>(count);
  }
  long read(int fd, void* buf, std::size_t count) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::read, fd);
    if (!c) return -EPROTO;
    if (c->check_length && c->length != count) return mismatch(*c, "length " + std::to_string(count));
    return copy_out(*c, buf, count);
  }
  long write(int fd, const void* buf, std::size_t count) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::write, fd);
    if (!c) return -EPROTO;
    if (c->check_input && (count != c->input.size() || std::memcmp(buf, c->input.data(), count) != 0))
      return mismatch(*c, "bytes " + hex(buf, count));
    return c->result_set ? c->result : static_cast<long>(count);
  }
  int mmap(void** addr, std::size_t length, int, int, int fd, std::int64_t offset) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::mmap, fd);
    if (!c) return -EPROTO;
    if (c->check_length && c->length != length) return mismatch(*c, "length " + std::to_string(length));
    if (c->check_offset && c->offset != offset) return mismatch(*c, "offset " + std::to_string(offset));
    if (c->result < 0) return static_cast<int>(c->result);
    *addr = c->address;
    remember(mapped_, c->address);
    return 0;
  }
  int munmap(void* addr, std::size_t length) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::munmap, -1);
    if (!c) return -EPROTO;
    if (c->address != addr || (c->check_length && c->length != length))
      return mismatch(*c, "munmap(" + hex_ptr(addr) + ", " + std::to_string(length) + ")");
    if (c->result >= 0) forget(mapped_, addr);
    return static_cast<int>(c->result);
  }
  int eventfd(unsigned initval, int flags) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::eventfd, -1);
    if (!c) return -EPROTO;
    if (c->check_flags && c->flags != flags) return mismatch(*c, "flags " + hex_ul(static_cast<unsigned long>(flags)));
    if (c->check_value && c->value != initval) return mismatch(*c, "initval " + std::to_string(initval));
    return static_cast<int>(finish_fd(*c));
  }
  long readlink(const char* path, char* buf, std::size_t size) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::readlink, -1);
    if (!c) return -EPROTO;
    if (c->path != path) return mismatch(*c, std::string("path ") + path);
    return copy_out(*c, buf, size);
  }
  int poll(struct pollfd* fds, std::size_t nfds, int timeout_ms) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::poll, nfds ? fds[0].fd : -1);
    if (!c) return -EPROTO;
    if (c->check_value && nfds && static_cast<unsigned long>(fds[0].events) != c->value)
      return mismatch(*c, "events " + std::to_string(fds[0].events));
    for (std::size_t i = 0; i < nfds; ++i) fds[i].revents = i == 0 ? c->revents : short{0};
    if (c->result == 0 && timeout_ms > 0) clock_ns_ += static_cast<std::int64_t>(timeout_ms) * 1000000;
    return static_cast<int>(c->result);
  }
  int access(const char* path, int mode) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::access, -1);
    if (!c) return -EPROTO;
    if (c->path != path) return mismatch(*c, std::string("path ") + path);
    if (c->check_value && c->value != static_cast<unsigned long>(mode))
      return mismatch(*c, "mode " + std::to_string(mode));
    return static_cast<int>(c->result);
  }
  long getdents64(int fd, void* buf, std::size_t size) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::getdents64, fd);
    if (!c) return -EPROTO;
    return copy_out(*c, buf, size);
  }
  int getrlimit(int resource, struct rlimit* limit) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    expected_call* c = next_call(call_kind::getrlimit, -1);
    if (!c) return -EPROTO;
    if (c->check_value && c->value != static_cast<unsigned long>(resource))
      return mismatch(*c, "resource " + std::to_string(resource));
    if (c->result < 0) return static_cast<int>(c->result);
    if (limit && c->output.size() == sizeof *limit) std::memcpy(limit, c->output.data(), sizeof *limit);
    return static_cast<int>(c->result);
  }
  std::int64_t monotonic_ns() noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    return clock_ns_;
  }
  int sleep_ns(std::int64_t ns) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    if (ns > 0) clock_ns_ += ns;
    return 0;
  }

 private:
  struct adder {
    scripted_syscalls* self;
    expected_call* c;
    adder& path(std::string p) {
      c->path = std::move(p);
      return *this;
    }
    adder& req(unsigned long r) {
      c->request = r;
      return *this;
    }
    expectation done() const { return expectation(*c); }
  };
  adder add(call_kind kind, int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    // One allocation per call: an expectation keeps pointing at its call while
    // more are added.
    script_.emplace_back(new expected_call{});
    script_.back()->kind = kind;
    script_.back()->fd = fd;
    return adder{this, script_.back().get()};
  }

  expected_call* next_call(call_kind kind, int fd, unsigned long request = 0) {
    if (next_ >= script_.size()) {
      report_locked(std::string("unexpected call ") + to_string(kind) + "(fd " + std::to_string(fd) +
                    (kind == call_kind::ioctl || kind == call_kind::ioctl_value
                         ? ", request " + ioctl_text(request, target_of(fd, script_.size()))
                         : "") +
                    ") after the script ended");
      return nullptr;
    }
    expected_call& c = *script_[next_];
    const bool fd_matters = kind != call_kind::open && kind != call_kind::eventfd && kind != call_kind::readlink &&
                            kind != call_kind::munmap && kind != call_kind::access && kind != call_kind::getrlimit;
    if (c.kind != kind || (fd_matters && c.fd != fd) ||
        ((kind == call_kind::ioctl || kind == call_kind::ioctl_value) && c.request != request)) {
      report_locked("call #" + std::to_string(next_) + ": expected " + describe(c, next_) + ", got " + to_string(kind) +
                    "(fd " + std::to_string(fd) +
                    (request ? ", request " + ioctl_text(request, target_of(fd, next_)) : "") + ")");
      return nullptr;
    }
    ++next_;
    return &c;
  }
  long finish_fd(const expected_call& c) {
    if (c.result >= 0 && (c.kind == call_kind::open || c.kind == call_kind::eventfd || c.result_is_fd))
      remember(open_, static_cast<int>(c.result));
    return c.result;
  }
  long copy_out(const expected_call& c, void* buf, std::size_t capacity) {
    if (c.result_set && c.result < 0) return c.result;
    const std::size_t n = c.output.size() < capacity ? c.output.size() : capacity;
    if (n) std::memcpy(buf, c.output.data(), n);
    return c.result_set ? c.result : static_cast<long>(n);
  }
  int mismatch(const expected_call& c, const std::string& got) {
    report_locked("call #" + std::to_string(next_ - 1) + ": " + describe(c, next_ - 1) + " got " + got);
    return -EPROTO;
  }
  void report_locked(const std::string& msg) {
    mismatches_.push_back(msg);
    if (on_mismatch_)
      on_mismatch_(msg);
    else
      std::fprintf(stderr, "scripted_syscalls: %s\n", msg.c_str());
  }
  static std::string hex_ul(unsigned long v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%lx", v);
    return b;
  }
  static std::string hex_ptr(const void* p) {
    char b[32];
    std::snprintf(b, sizeof b, "%p", p);
    return b;
  }
  static std::string hex(const void* data, std::size_t n) {
    std::string s;
    auto p = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      char b[4];
      std::snprintf(b, sizeof b, "%02x", p[i]);
      s += b;
    }
    return s;
  }
  // A set of a few values as a list: adds `value` unless there, removes it if there.
  template <class T>
  static void remember(std::vector<T>& list, T value) {
    for (const T& v : list)
      if (v == value) return;
    list.push_back(value);
  }
  template <class T>
  static void forget(std::vector<T>& list, T value) {
    for (auto it = list.begin(); it != list.end(); ++it)
      if (*it == value) {
        list.erase(it);
        return;
      }
  }
  /// What fd is at script position `at`: the latest earlier expectation that
  /// hands it out decides (an open of /dev/vfio/vfio makes a container).
  ioctl_target target_of(int fd, std::size_t at) const {
    for (std::size_t i = at < script_.size() ? at : script_.size(); i-- > 0;) {
      const expected_call& c = *script_[i];
      const bool hands_out = c.kind == call_kind::open || c.kind == call_kind::eventfd || c.result_is_fd;
      if (hands_out && c.result_set && c.result == fd)
        return c.kind == call_kind::open && c.path == "/dev/vfio/vfio" ? ioctl_target::container
                                                                       : ioctl_target::group_or_device;
    }
    return ioctl_target::unknown;
  }
  /// c is script_[at].
  std::string describe(const expected_call& c, std::size_t at) const {
    std::string s = to_string(c.kind);
    s += "(";
    if (!c.path.empty())
      s += c.path;
    else
      s += "fd " + std::to_string(c.fd);
    if (c.kind == call_kind::ioctl || c.kind == call_kind::ioctl_value)
      s += ", request " + ioctl_text(c.request, target_of(c.fd, at));
    if (c.check_flags) s += ", flags " + hex_ul(static_cast<unsigned long>(c.flags));
    if (c.check_value) s += ", value " + std::to_string(c.value);
    if (c.check_offset) s += ", offset " + std::to_string(c.offset);
    if (c.check_length) s += ", length " + std::to_string(c.length);
    if (c.check_input) s += ", bytes " + hex(c.input.data(), c.input.size());
    s += ")";
    if (!c.note.empty()) s += " [" + c.note + "]";
    return s;
  }

  mutable std::mutex mu_;
  std::vector<detail::owned<expected_call>> script_;
  std::size_t next_ = 0;
  std::vector<std::string> mismatches_;
  std::vector<int> open_;      // descriptors handed out, not closed yet
  std::vector<void*> mapped_;  // mmap addresses handed out, not unmapped yet
  std::int64_t clock_ns_ = 0;
  mismatch_handler on_mismatch_;
};

}  // namespace vfio::testing

#endif  // VFIO_TESTING_SCRIPTED_SYSCALLS_HPP_INCLUDED
