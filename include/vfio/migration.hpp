// vfio::migration: live migration of a VFIO device's internal state through the
// VFIO_DEVICE_FEATURE migration features (Linux 5.18+, PRE_COPY and MIG_DATA_SIZE 6.2+):
// the capabilities, the migration state machine driven one arc per SET, and the
// data stream (the data_fd a SET returns) read into, or written from, the caller's
// buffers or descriptors.
//
// The flows (drivers/vfio/vfio_main.c, include/uapi/linux/vfio.h):
//   source       RUNNING -> PRE_COPY (data_fd) -> read until "no more for now",
//                VFIO_MIG_GET_PRECOPY_INFO, repeat -> STOP_COPY (the same data_fd
//                carries on) -> read to the end of stream -> STOP
//   destination  RUNNING -> STOP -> RESUMING (data_fd) -> write the stream -> STOP
//                -> RUNNING
//   without PRE_COPY the source goes RUNNING -> STOP_COPY (data_fd) directly.
//
// Arcs. The kernel accepts any target its capabilities allow and walks the arcs
// itself (vfio_mig_get_next_state), but a failure then leaves the device anywhere
// on that path. set_state() issues one SET per arc, on the kernel's own path (the
// shortest one whose interior holds no saving state: PRE_COPY, PRE_COPY_P2P,
// STOP_COPY; states the device does not offer are stepped over), so a failure
// names the arc that failed, and a GET after it says where the device is now.
//
// Sessions. The arcs RUNNING -> PRE_COPY, RUNNING_P2P -> PRE_COPY_P2P, STOP ->
// STOP_COPY and STOP -> RESUMING return a new data_fd; moving between the saving
// states keeps it (PRE_COPY_P2P -> STOP_COPY returns data_fd -1); leaving the saving
// states or RESUMING ends the session and the kernel disables the descriptor (a
// read is then ENODEV, seen on mtty). The library owns the descriptor from the SET
// that returns it and closes it when the session ends.
//
// End of data. In STOP_COPY read(2) returning 0 is the end of the stream. In the
// PRE_COPY states the uAPI asks drivers for ENOMSG at the temporary end ("no more
// for now"); some return 0 instead (mtty, 6.12): both read as stream_end::no_more_for_now.
//
// No heap allocation on the transition and pre-copy-info paths (set_state,
// refresh_state, precopy_info, stop_copy_size): every argument lives on the stack.
//
// Resets. VFIO_DEVICE_RESET (recover()) and a hot reset of the device's bus
// (device::pci_hot_reset; pci_dev_restore calls the driver's reset_done) both
// put a migration driver back in RUNNING and disable its data files; after a
// hot reset made elsewhere, refresh_state() and close_stream() bring this object
// up to date.
//
// Threads: a migration object is used from one thread at a time, like its device.
#ifndef VFIO_MIGRATION_HPP_INCLUDED
#define VFIO_MIGRATION_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <poll.h>

#include "abi/vfio.hpp"
#include "device.hpp"
#include "error.hpp"
#include "feature.hpp"
#include "result.hpp"
#include "span.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio {

/// enum vfio_device_mig_state.
enum class mig_state : std::uint32_t {
  error = abi::mig_device_state::error,  ///< failed; only VFIO_DEVICE_RESET leaves it (to RUNNING)
  stop = abi::mig_device_state::stop,
  running = abi::mig_device_state::running,
  stop_copy = abi::mig_device_state::stop_copy,
  resuming = abi::mig_device_state::resuming,
  running_p2p = abi::mig_device_state::running_p2p,
  pre_copy = abi::mig_device_state::pre_copy,
  pre_copy_p2p = abi::mig_device_state::pre_copy_p2p,
};

/// The uapi name without VFIO_DEVICE_STATE_ ("PRE_COPY_P2P"); "?" for other values.
inline const char* to_string(mig_state s) noexcept {
  switch (s) {
    case mig_state::error: return "ERROR";
    case mig_state::stop: return "STOP";
    case mig_state::running: return "RUNNING";
    case mig_state::stop_copy: return "STOP_COPY";
    case mig_state::resuming: return "RESUMING";
    case mig_state::running_p2p: return "RUNNING_P2P";
    case mig_state::pre_copy: return "PRE_COPY";
    case mig_state::pre_copy_p2p: return "PRE_COPY_P2P";
  }
  return "?";
}

/// What VFIO_DEVICE_FEATURE_MIGRATION reports (abi::migration_flags).
struct migration_caps {
  std::uint64_t flags = 0;

  constexpr bool stop_copy() const noexcept { return (flags & abi::migration_flags::stop_copy) != 0; }
  constexpr bool p2p() const noexcept { return (flags & abi::migration_flags::p2p) != 0; }
  constexpr bool pre_copy() const noexcept { return (flags & abi::migration_flags::pre_copy) != 0; }

  /// The flags a state needs (include/uapi/linux/vfio.h: STOP_COPY brings STOP,
  /// STOP_COPY and RESUMING; P2P adds RUNNING_P2P; PRE_COPY adds PRE_COPY; both
  /// add PRE_COPY_P2P). ERROR can never be requested: all bits.
  static constexpr std::uint64_t needs(mig_state s) noexcept {
    namespace f = abi::migration_flags;
    switch (s) {
      case mig_state::stop:
      case mig_state::running:
      case mig_state::stop_copy:
      case mig_state::resuming: return f::stop_copy;
      case mig_state::running_p2p: return f::stop_copy | f::p2p;
      case mig_state::pre_copy: return f::stop_copy | f::pre_copy;
      case mig_state::pre_copy_p2p: return f::stop_copy | f::p2p | f::pre_copy;
      case mig_state::error: break;
    }
    return ~std::uint64_t{0};
  }
  /// Whether the device offers state s (and so accepts it as a SET target).
  constexpr bool supports(mig_state s) const noexcept { return (flags & needs(s)) == needs(s); }
};

namespace detail {

constexpr bool is_saving(mig_state s) noexcept {
  return s == mig_state::pre_copy || s == mig_state::pre_copy_p2p || s == mig_state::stop_copy;
}

/// One step towards `to` with every optional state offered: the rules of the
/// uAPI's FSM (include/uapi/linux/vfio.h, above enum vfio_device_mig_state),
/// written per current state. The saving states are never crossed, only
/// entered or left; STOP_COPY cannot go back to a PRE_COPY state.
constexpr mig_state full_fsm_step(mig_state from, mig_state to) noexcept {
  using s = mig_state;
  if (from == to || from == s::error || to == s::error) return from == to ? from : s::error;
  switch (from) {
    case s::resuming: return s::stop;  // RESUMING only ever leaves for STOP
    case s::stop_copy: return to == s::pre_copy || to == s::pre_copy_p2p ? s::error : s::stop;
    case s::stop:
      if (to == s::stop_copy || to == s::resuming) return to;
      return s::running_p2p;  // towards every running state
    case s::running_p2p:
      if (to == s::running || to == s::pre_copy) return s::running;
      if (to == s::pre_copy_p2p) return s::pre_copy_p2p;
      return s::stop;  // STOP, STOP_COPY, RESUMING
    case s::running: return to == s::pre_copy ? s::pre_copy : s::running_p2p;
    case s::pre_copy: return to == s::pre_copy_p2p || to == s::stop_copy ? s::pre_copy_p2p : s::running;
    case s::pre_copy_p2p:
      if (to == s::stop_copy || to == s::pre_copy) return to;
      return s::running_p2p;
    case s::error: break;
  }
  return s::error;
}

}  // namespace detail

/// The next state on the kernel's path from `from` to `to` for a device with
/// capabilities `caps` (what vfio_mig_get_next_state in drivers/vfio/vfio_main.c
/// computes: the full FSM's step, stepping over states the device does not offer).
/// `from` itself when from == to. mig_state::error when `to` cannot be reached:
/// either state not offered, `to` is ERROR, `from` is ERROR, or STOP_COPY -> a
/// PRE_COPY state (the kernel answers those with EINVAL).
constexpr mig_state next_mig_state(migration_caps caps, mig_state from, mig_state to) noexcept {
  if (!caps.supports(from) || !caps.supports(to)) return mig_state::error;
  mig_state next = detail::full_fsm_step(from, to);
  for (int guard = 0; next != mig_state::error && !caps.supports(next) && guard < 8; ++guard)
    next = detail::full_fsm_step(next, to);
  return caps.supports(next) ? next : mig_state::error;
}

/// The arcs from `from` to `to` (at most 7: the longest path has 4).
struct mig_path {
  mig_state states[8] = {};  ///< states[0] is `from`; the arcs are states[i] -> states[i + 1]
  std::uint8_t count = 0;    ///< number of states (arcs + 1); 0 when unreachable
};

/// The whole path next_mig_state() walks; count 0 when `to` is unreachable.
constexpr mig_path mig_path_between(migration_caps caps, mig_state from, mig_state to) noexcept {
  mig_path p{};
  mig_state cur = from;
  p.states[p.count++] = cur;
  while (cur != to && p.count < 8) {
    cur = next_mig_state(caps, cur, to);
    if (cur == mig_state::error) return mig_path{};
    p.states[p.count++] = cur;
  }
  if (cur != to) return mig_path{};
  return p;
}

/// VFIO_MIG_GET_PRECOPY_INFO: what the device can still give during pre-copy.
struct precopy_estimate {
  std::uint64_t initial_bytes = 0;  ///< initial data not yet read; leave PRE_COPY once this is 0
  std::uint64_t dirty_bytes = 0;    ///< state changed since it was read
  constexpr std::uint64_t total() const noexcept { return initial_bytes + dirty_bytes; }
};

/// Why a stream read stopped before the buffer was full.
enum class stream_end : std::uint8_t {
  none,             ///< the buffer is full: more may follow
  end_of_stream,    ///< read(2) returned 0 outside PRE_COPY: all state was read
  no_more_for_now,  ///< PRE_COPY: ENOMSG, or 0 (drivers that do not return ENOMSG)
  timed_out,        ///< EAGAIN, and poll(2) saw nothing within the stream timeout
};

inline const char* to_string(stream_end e) noexcept {
  switch (e) {
    case stream_end::none: return "none";
    case stream_end::end_of_stream: return "end of stream";
    case stream_end::no_more_for_now: return "no more for now";
    case stream_end::timed_out: return "timed out";
  }
  return "?";
}

/// What a read or a save moved.
struct stream_transfer {
  std::uint64_t bytes = 0;
  stream_end end = stream_end::none;
};

/// How a set_state() went, filled on success and on failure.
struct mig_transition {
  mig_state from = mig_state::error;         ///< the state before the call
  mig_state target = mig_state::error;       ///< what was asked
  std::uint8_t arcs_done = 0;                ///< SETs that succeeded
  bool failed = false;                       ///< an arc failed (the call's error is that SET's)
  mig_state failed_from = mig_state::error;  ///< the failed arc: its start ...
  mig_state failed_to = mig_state::error;    ///< ... and the state its SET asked for
  /// Where the device is: the target on success; after a failure, what a GET
  /// answered (ERROR: only VFIO_DEVICE_RESET leaves it, see migration::recover).
  mig_state now = mig_state::error;
  bool now_known = false;  ///< false when the GET after the failure failed too
  bool needs_reset() const noexcept { return now_known && now == mig_state::error; }
};

/// The migration side of one device: its capabilities, its state as last set or
/// read, and the data stream of the current session. Move-only; follows its device
/// when the device is moved and fails with EBADF once the device is gone (a view,
/// like pci::power). The data stream descriptor closes through the device's seam.
class migration : public detail::device_view {
 public:
  /// The size of the stack buffer save_to() and load_from() use without a scratch buffer.
  static constexpr std::size_t stack_chunk = std::size_t{16} * 1024;

  /// Reads the capabilities (VFIO_DEVICE_FEATURE GET MIGRATION) and the current
  /// state (GET MIG_DEVICE_STATE): two ioctls.
  /// Errors: errc::feature_unsupported (ENOTTY: the device has no migration
  /// driver; also a MIGRATION reply without STOP_COPY, which the uAPI requires);
  /// EBADF (empty device); EIO (runtime resume failed); the driver's errnos.
  static result<migration> open(device& dev) noexcept {
    auto caps = feature::get<feature::migration>(dev);
    if (!caps) return caps.error();
    if (!(caps->flags & abi::migration_flags::stop_copy))
      return error(errc::feature_unsupported, feature::detail::operation, subject::feature(feature::migration::id));
    migration m(dev, migration_caps{caps->flags});
    if (auto s = m.refresh_state(); !s) return s.error();
    return m;
  }

  migration(migration&&) noexcept = default;
  migration& operator=(migration&&) noexcept = default;
  migration(const migration&) = delete;
  migration& operator=(const migration&) = delete;
  ~migration() = default;

  migration_caps caps() const noexcept { return caps_; }
  /// The state as last set or read (no syscall). After a failure whose GET failed
  /// too, state_known() is false and this is the last state known.
  mig_state state() const noexcept { return state_; }
  bool state_known() const noexcept { return state_known_; }

  /// VFIO_DEVICE_FEATURE GET MIG_DEVICE_STATE: the device's state now.
  /// Errors: EBADF (the device is gone); EIO; the driver's errnos (as for open).
  result<mig_state> refresh_state() noexcept {
    auto s = feature::get<feature::mig_device_state>(viewed());
    if (!s) {
      state_known_ = false;
      return s.error();
    }
    state_ = static_cast<mig_state>(s->device_state);
    state_known_ = true;
    return state_;
  }

  /// Moves the device to `target` one arc at a time, each arc one
  /// VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE, on the kernel's own path
  /// (mig_path_between). A data_fd returned by an arc becomes this object's
  /// stream; a session's descriptor is closed when an arc ends the session.
  /// When an arc fails, a GET MIG_DEVICE_STATE follows; `report` (if given)
  /// names the failed arc and where the device is now, and state() follows it.
  /// Preconditions: state() known (it is after open, and after any successful
  /// call); otherwise one GET is made first.
  /// Errors: errc::mig_state_unreachable (target not offered, ERROR, the device
  /// is in ERROR, or STOP_COPY -> PRE_COPY*; no SET made); the failed SET's
  /// error, operation "VFIO_DEVICE_FEATURE", subject feature 2: EINVAL (the driver
  /// refused the arc, e.g. RESUMING -> STOP with an incomplete or invalid stream:
  /// the device stays in RESUMING until recover()), EIO and the driver's own
  /// errnos (ENOMEM, EFAULT, ENODEV ...); errors of the GET when the state was unknown.
  result<void> set_state(mig_state target, mig_transition* report = nullptr) noexcept {
    mig_transition local;
    mig_transition& t = report ? *report : local;
    t = mig_transition{};
    if (!state_known_)
      if (auto s = refresh_state(); !s) return s.error();
    t.from = state_;
    t.target = target;
    t.now = state_;
    t.now_known = true;
    if (state_ != target && next_mig_state(caps_, state_, target) == mig_state::error)
      return error(errc::mig_state_unreachable, "migration state check",
                   subject::feature(feature::mig_device_state::id));
    for (int arcs = 0; state_ != target && arcs < 8; ++arcs) {
      const mig_state next = next_mig_state(caps_, state_, target);
      if (auto r = one_set(next, t); !r) return r;
      ++t.arcs_done;
      t.now = state_;
    }
    return {};
  }

  /// The same move as a single VFIO_DEVICE_FEATURE SET of `target`: the kernel
  /// walks the arcs itself (fewer ioctls; a failure says less: `report`'s failed
  /// arc is then from state() to target). Preconditions, errors: as set_state().
  result<void> set_state_in_one_call(mig_state target, mig_transition* report = nullptr) noexcept {
    mig_transition local;
    mig_transition& t = report ? *report : local;
    t = mig_transition{};
    if (!state_known_)
      if (auto s = refresh_state(); !s) return s.error();
    t.from = state_;
    t.target = target;
    t.now = state_;
    t.now_known = true;
    if (state_ == target) return {};
    if (next_mig_state(caps_, state_, target) == mig_state::error)
      return error(errc::mig_state_unreachable, "migration state check",
                   subject::feature(feature::mig_device_state::id));
    if (auto r = one_set(target, t); !r) return r;
    t.arcs_done = static_cast<std::uint8_t>(mig_path_between(caps_, t.from, target).count - 1);
    t.now = state_;
    return {};
  }

  /// Leaves ERROR (or an aborted RESUMING) the only way the uAPI allows:
  /// VFIO_DEVICE_RESET (device::reset), after which the driver is in RUNNING; the
  /// stream is closed and the state read again (GET MIG_DEVICE_STATE).
  /// Errors: those of device::reset (EINVAL: no reset method; EAGAIN; EIO) and
  /// of refresh_state().
  result<void> recover() noexcept {
    stream_.reset();
    if (auto r = viewed().reset(); !r) {
      state_known_ = false;
      return r;
    }
    if (auto s = refresh_state(); !s) return s.error();
    return {};
  }

  // --- the data stream ---------------------------------------------------------

  /// Whether a session's data_fd is open.
  bool has_stream() const noexcept { return static_cast<bool>(stream_); }
  /// The data_fd of the current session, or -1 (owned by this object).
  int stream_fd() const noexcept { return stream_.get(); }
  /// Closes the session's descriptor now (close(2)); the kernel's session state
  /// follows the device's state, not the descriptor. Errors: close's errno.
  result<void> close_stream() noexcept { return stream_.close(); }
  /// How long a read or write that got EAGAIN waits in poll(2) before giving up:
  /// milliseconds, -1 (the default) for ever. The kernel's data_fd is blocking;
  /// EAGAIN comes only from a driver that waits for the device.
  void set_stream_timeout(int timeout_ms) noexcept { timeout_ms_ = timeout_ms; }

  /// VFIO_MIG_GET_PRECOPY_INFO on the data_fd (argsz 24, on the stack).
  /// Preconditions: state() is PRE_COPY or PRE_COPY_P2P; a stream is open.
  /// Errors: EBADF (no stream: no syscall made); EINVAL (not in a PRE_COPY state,
  /// e.g. in STOP_COPY, as the uAPI requires; argsz too small); ENODEV (the session
  /// ended); ENOTTY (a driver without PRE_COPY, or a RESUMING stream: mtty's
  /// resume file has no ioctl); EFAULT. Operation
  /// "VFIO_MIG_GET_PRECOPY_INFO", subject the stream.
  result<precopy_estimate> precopy_info() noexcept {
    constexpr const char* op = "VFIO_MIG_GET_PRECOPY_INFO";
    if (!stream_) return errno_error(EBADF, op, subject::mig_stream(static_cast<std::uint32_t>(-1)));
    abi::precopy_info info{};
    info.argsz = sizeof info;
    const int r = stream_.sys().ioctl(stream_.get(), abi::req::mig_get_precopy_info, &info);
    if (r < 0) return errno_error(-r, op, stream_subject());
    return precopy_estimate{info.initial_bytes, info.dirty_bytes};
  }

  /// VFIO_DEVICE_FEATURE GET MIG_DATA_SIZE (6.2+): the driver's estimate of the
  /// bytes STOP_COPY will stream (mtty-2: 96).
  /// Errors: errc::feature_unsupported (ENOTTY: before 6.2 or no migration
  /// driver); EBADF; EIO; the driver's errnos.
  result<std::uint64_t> stop_copy_size() noexcept {
    auto r = feature::get<feature::mig_data_size>(viewed());
    if (!r) return r.error();
    return std::uint64_t{r->stop_copy_length};
  }

  /// read(2)s the data_fd into `buf` until it is full or the data stops: short
  /// reads continue, EINTR is retried, EAGAIN waits in poll(2) (see
  /// set_stream_timeout). Returns the bytes read and why it stopped
  /// (stream_end::none: the buffer is full).
  /// Preconditions: a saving session (PRE_COPY, PRE_COPY_P2P, STOP_COPY).
  /// Errors: EBADF (no stream: no syscall; or the stream is a RESUMING one, which
  /// the driver opens write-only: vfs_read, seen on mtty); ENODEV (the session
  /// ended); EIO, EFAULT and the driver's errnos; poll's errno. Bytes read before
  /// an error are in `buf` but not counted. A read past the end of the data is 0
  /// again (stream_end::end_of_stream, or no_more_for_now in PRE_COPY).
  result<stream_transfer> read(span<std::byte> buf) noexcept {
    constexpr const char* op = "read";
    if (!stream_) return errno_error(EBADF, op, subject::mig_stream(static_cast<std::uint32_t>(-1)));
    syscalls& sys = stream_.sys();
    stream_transfer t;
    while (t.bytes < buf.size()) {
      const long n = sys.read(stream_.get(), buf.data() + t.bytes, buf.size() - static_cast<std::size_t>(t.bytes));
      if (n > 0) {
        t.bytes += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n == 0) {
        t.end = state_ == mig_state::pre_copy || state_ == mig_state::pre_copy_p2p ? stream_end::no_more_for_now
                                                                                   : stream_end::end_of_stream;
        return t;
      }
      if (n == -EINTR) continue;
      if (n == -ENOMSG) {
        t.end = stream_end::no_more_for_now;
        return t;
      }
      if (n == -EAGAIN) {
        auto ready = wait(sys, stream_.get(), POLLIN, timeout_ms_);
        if (!ready) return ready.error().or_subject(stream_subject());
        if (!*ready) {
          t.end = stream_end::timed_out;
          return t;
        }
        continue;
      }
      return errno_error(static_cast<int>(-n), op, stream_subject());
    }
    return t;
  }

  /// write(2)s all of `data` to the data_fd of a RESUMING session: short writes
  /// continue, EINTR is retried, EAGAIN waits in poll(2). The stream may be
  /// written in any segmentation.
  /// Preconditions: state() is RESUMING; a stream is open.
  /// Errors: EBADF (no stream: no syscall); errc::short_transfer (write returned
  /// 0); errc::timed_out (EAGAIN and nothing within the stream timeout); the
  /// driver's errnos: EFAULT (mtty: the stream header does not match this
  /// device; the bytes count as written and RESUMING -> STOP then fails), ENOMEM
  /// (more than the device's state), ENODEV (the session ended), EBADF (a saving
  /// stream, which the driver opens read-only: vfs_write, seen on mtty).
  /// Operation "write", subject the stream.
  result<void> write(span<const std::byte> data) noexcept {
    constexpr const char* op = "write";
    if (!stream_) return errno_error(EBADF, op, subject::mig_stream(static_cast<std::uint32_t>(-1)));
    return write_all(stream_.sys(), stream_.get(), data, timeout_ms_, op, stream_subject());
  }

  /// Reads the stream (as read()) and writes it to `out_fd` through `out_sys` until
  /// the data stops: the end of the stream in STOP_COPY, "no more for now" in
  /// PRE_COPY. Short writes to out_fd continue, EINTR is retried and EAGAIN waits
  /// in poll(2) on either side. Chunks go through `scratch`, or a 16 KiB stack
  /// buffer when it is empty. Returns the bytes moved and why it stopped.
  /// Errors: as read(); out_fd's write errors (operation "write", no subject);
  /// errc::short_transfer (out_fd's write returned 0).
  result<stream_transfer> save_to(int out_fd, span<std::byte> scratch = {},
                                  syscalls& out_sys = default_syscalls()) noexcept {
    std::byte local[stack_chunk];
    const span<std::byte> chunk = scratch.empty() ? span<std::byte>(local, sizeof local) : scratch;
    stream_transfer total;
    for (;;) {
      auto got = read(chunk);
      if (!got) return got.error();
      if (got->bytes > 0) {
        auto w = write_all(out_sys, out_fd, span<const std::byte>(chunk.data(), static_cast<std::size_t>(got->bytes)),
                           timeout_ms_, "write", subject());
        if (!w) return w.error();
        total.bytes += got->bytes;
      }
      if (got->end != stream_end::none) {
        total.end = got->end;
        return total;
      }
    }
  }

  /// Reads `in_fd` through `in_sys` to its end (read returning 0) and writes
  /// everything to the data_fd (as write()). Returns the bytes loaded.
  /// Errors: as write(); in_fd's read errors (operation "read", no subject);
  /// errc::timed_out (EAGAIN on either side and nothing within the timeout).
  result<std::uint64_t> load_from(int in_fd, span<std::byte> scratch = {},
                                  syscalls& in_sys = default_syscalls()) noexcept {
    std::byte local[stack_chunk];
    const span<std::byte> chunk = scratch.empty() ? span<std::byte>(local, sizeof local) : scratch;
    std::uint64_t total = 0;
    for (;;) {
      const long n = in_sys.read(in_fd, chunk.data(), chunk.size());
      if (n == 0) return total;
      if (n == -EINTR) continue;
      if (n == -EAGAIN) {
        auto ready = wait(in_sys, in_fd, POLLIN, timeout_ms_);
        if (!ready) return ready.error();
        if (!*ready) return error(errc::timed_out, "read");
        continue;
      }
      if (n < 0) return errno_error(static_cast<int>(-n), "read");
      if (auto w = write(span<const std::byte>(chunk.data(), static_cast<std::size_t>(n))); !w) return w.error();
      total += static_cast<std::uint64_t>(n);
    }
  }

 private:
  migration(device& dev, migration_caps caps) noexcept : device_view(dev), caps_(caps) {}

  subject stream_subject() const noexcept { return subject::mig_stream(static_cast<std::uint32_t>(stream_.get())); }

  /// Which data session a state belongs to: 1 saving, 2 resuming, 0 none.
  static int session_of(mig_state s) noexcept {
    if (detail::is_saving(s)) return 1;
    return s == mig_state::resuming ? 2 : 0;
  }

  /// One SET of `next` (an arc, or the whole move for set_state_in_one_call).
  result<void> one_set(mig_state next, mig_transition& t) noexcept {
    device& dev = viewed();
    abi::feature_mig_state arg{};
    arg.device_state = static_cast<std::uint32_t>(next);
    arg.data_fd = -1;
    auto r = feature::set_inout<feature::mig_device_state>(dev, arg);
    if (!r) {
      const mig_state before = state_;
      t.failed = true;
      t.failed_from = before;
      t.failed_to = next;
      auto now = refresh_state();
      t.now_known = static_cast<bool>(now);
      if (now) {
        t.now = *now;
        // A failed arc may still have ended the session (ERROR, or a path that left it).
        if (session_of(*now) != session_of(before) || *now == mig_state::error) stream_.reset();
      }
      return r.error();
    }
    const mig_state before = state_;
    state_ = next;
    state_known_ = true;
    if (arg.data_fd >= 0) {
      stream_ = unique_fd(arg.data_fd, dev.sys());  // a new session (any old one has ended)
    } else if (session_of(before) != 0 && session_of(before) != session_of(next)) {
      stream_.reset();  // the session ended: the kernel has disabled its descriptor
    }
    return {};
  }

  /// poll(2) for `events` on fd: true when ready, false on timeout. EINTR retried.
  static result<bool> wait(syscalls& sys, int fd, short events, int timeout_ms) noexcept {
    for (;;) {
      pollfd p{fd, events, 0};
      const int r = sys.poll(&p, 1, timeout_ms);
      if (r == -EINTR) continue;
      if (r < 0) return errno_error(-r, "poll");
      return r > 0;
    }
  }

  static result<void> write_all(syscalls& sys, int fd, span<const std::byte> data, int timeout_ms, const char* op,
                                subject about) noexcept {
    std::size_t done = 0;
    while (done < data.size()) {
      const long n = sys.write(fd, data.data() + done, data.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) return error(errc::short_transfer, op, about);
      if (n == -EINTR) continue;
      if (n == -EAGAIN) {
        auto ready = wait(sys, fd, POLLOUT, timeout_ms);
        if (!ready) return ready.error().or_subject(about);
        if (!*ready) return error(errc::timed_out, op, about);
        continue;
      }
      return errno_error(static_cast<int>(-n), op, about);
    }
    return {};
  }

  migration_caps caps_;
  mig_state state_ = mig_state::error;
  bool state_known_ = false;
  int timeout_ms_ = -1;
  unique_fd stream_;
};

}  // namespace vfio

#endif  // VFIO_MIGRATION_HPP_INCLUDED
