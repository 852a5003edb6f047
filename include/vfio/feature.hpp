// VFIO_DEVICE_FEATURE framing: PROBE, GET and SET for any feature number, typed
// feature traits, and a survey of the features a device offers.
//
// Every call builds the 8-byte vfio_device_feature header and the payload in
// one 8-byte aligned stack object, sets argsz to exactly 8 + sizeof(payload),
// and issues one ioctl through the device's syscall seam. Nothing here
// allocates.
//
// How the kernel answers (drivers/vfio/vfio_main.c, vfio_ioctl_device_feature,
// and include/linux/vfio.h, vfio_check_feature):
// - The core rejects argsz < 8, unknown flag bits, and GET|SET without PROBE
//   with -EINVAL before looking at the feature number.
// - Features the device does not implement give -ENOTTY: the core's own
//   features (MIGRATION, MIG_DEVICE_STATE, DMA_LOGGING_*, MIG_DATA_SIZE) when
//   the device has no mig_ops/log_ops, and the driver's handler for numbers it
//   does not know. A driver with no handler at all gives -EINVAL on kernels
//   before 6.18 ("vfio: return -ENOTTY for unsupported device feature") and
//   -ENOTTY since.
// - vfio_check_feature: a GET or SET bit the feature does not offer gives
//   -EINVAL, even together with PROBE; PROBE then returns 0 with no side
//   effect; a payload shorter than the feature's minimum gives -EINVAL.
// So a bare PROBE answers "does the feature exist" (0, or -ENOTTY / -EINVAL for
// no), and PROBE|GET or PROBE|SET of an existing feature answers "is this
// direction offered" (0, or -EINVAL for no).
#ifndef VFIO_FEATURE_HPP_INCLUDED
#define VFIO_FEATURE_HPP_INCLUDED

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "abi/vfio.hpp"
#include "device.hpp"
#include "error.hpp"
#include "result.hpp"
#include "syscalls.hpp"
#include "unique_fd.hpp"

namespace vfio::feature {

/// The direction bits of a request (VFIO_DEVICE_FEATURE_GET / _SET).
enum class direction : std::uint32_t {
  none = 0,  ///< bare PROBE: does the feature exist
  get = abi::feature_flags::get,
  set = abi::feature_flags::set,
  get_set = abi::feature_flags::get | abi::feature_flags::set,  ///< PROBE only: both directions
};

inline const char* to_string(direction d) noexcept {
  switch (d) {
    case direction::none: return "none";
    case direction::get: return "GET";
    case direction::set: return "SET";
    case direction::get_set: return "GET and SET";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Payloads the ABI mirror does not spell as a struct.

/// PCI_VF_TOKEN payload: the VF token UUID, 16 bytes in the kernel's byte order.
struct vf_token_uuid {
  std::uint8_t bytes[16];
};

/// DMA_BUF payload with N ranges: the vfio_device_feature_dma_buf header
/// followed by its dma_ranges[] array (header.nr_ranges must be N).
template <std::size_t N>
struct dma_buf_request {
  static_assert(N >= 1, "DMA_BUF needs at least one range");
  abi::feature_dma_buf header;
  abi::dma_range ranges[N];
};

// ---------------------------------------------------------------------------
// Feature traits. A trait is any type with:
//   static constexpr std::uint32_t id;      // the feature number, < 0x10000
//   using payload = T or void;               // T trivially copyable, alignof <= 8
//   static constexpr bool can_get, can_set;  // the directions the kernel offers
// and optionally
//   static constexpr const char* name;       // for reports
//   static constexpr bool returns_fd;        // GET's return value is a new descriptor
// Users declare their own the same way (e.g. for a vendor driver's feature).

/// The members every trait needs, for declaring one in a line:
///   struct my_feature : vfio::feature::basic_traits<0x8001, my_payload, true, false> {};
template <std::uint32_t Id, class Payload, bool CanGet, bool CanSet>
struct basic_traits {
  static_assert(Id <= abi::feature_flags::mask, "feature numbers are 16 bits");
  static constexpr std::uint32_t id = Id;
  using payload = Payload;
  static constexpr bool can_get = CanGet, can_set = CanSet;
};

/// PCI_VF_TOKEN (0): SET the VF token of an SR-IOV PF. -ENOTTY on other devices.
struct pci_vf_token : basic_traits<abi::feature_id::pci_vf_token, vf_token_uuid, false, true> {
  static constexpr const char* name = "PCI_VF_TOKEN";
};
/// MIGRATION (1): GET the migration capabilities (abi::migration_flags).
struct migration : basic_traits<abi::feature_id::migration, abi::feature_migration, true, false> {
  static constexpr const char* name = "MIGRATION";
};
/// MIG_DEVICE_STATE (2): GET the migration state, SET a new one (SET may
/// return a data_fd in the payload: use set_inout and own that descriptor).
struct mig_device_state : basic_traits<abi::feature_id::mig_device_state, abi::feature_mig_state, true, true> {
  static constexpr const char* name = "MIG_DEVICE_STATE";
};
/// LOW_POWER_ENTRY (3, v6.1): SET, no payload. Under the unmerged seed ABI the
/// same number is POWER_MANAGEMENT: see seed_power_management.
struct low_power_entry : basic_traits<abi::feature_id::low_power_entry, void, false, true> {
  static constexpr const char* name = "LOW_POWER_ENTRY";
};
/// LOW_POWER_ENTRY_WITH_WAKEUP (4, v6.1): SET {wakeup_eventfd, reserved}.
struct low_power_entry_with_wakeup : basic_traits<abi::feature_id::low_power_entry_with_wakeup,
                                                  abi::feature_low_power_entry_with_wakeup, false, true> {
  static constexpr const char* name = "LOW_POWER_ENTRY_WITH_WAKEUP";
};
/// LOW_POWER_EXIT (5, v6.1): SET, no payload.
struct low_power_exit : basic_traits<abi::feature_id::low_power_exit, void, false, true> {
  static constexpr const char* name = "LOW_POWER_EXIT";
};
/// DMA_LOGGING_START (6, v6.1): SET; `ranges` is the address of the range array.
struct dma_logging_start
    : basic_traits<abi::feature_id::dma_logging_start, abi::feature_dma_logging_control, false, true> {
  static constexpr const char* name = "DMA_LOGGING_START";
};
/// DMA_LOGGING_STOP (7, v6.1): SET, no payload.
struct dma_logging_stop : basic_traits<abi::feature_id::dma_logging_stop, void, false, true> {
  static constexpr const char* name = "DMA_LOGGING_STOP";
};
/// DMA_LOGGING_REPORT (8, v6.1): GET with an input payload (use get_inout).
struct dma_logging_report
    : basic_traits<abi::feature_id::dma_logging_report, abi::feature_dma_logging_report, true, false> {
  static constexpr const char* name = "DMA_LOGGING_REPORT";
};
/// MIG_DATA_SIZE (9, v6.2): GET the estimated stop-copy length.
struct mig_data_size : basic_traits<abi::feature_id::mig_data_size, abi::feature_mig_data_size, true, false> {
  static constexpr const char* name = "MIG_DATA_SIZE";
};
/// BUS_MASTER (10): SET {op}; CDX devices only.
struct bus_master : basic_traits<abi::feature_id::bus_master, abi::feature_bus_master, false, true> {
  static constexpr const char* name = "BUS_MASTER";
};
/// DMA_BUF (11, v6.19): GET with an input payload of N ranges; the ioctl
/// returns a new dma-buf descriptor (use get_fd).
template <std::size_t N = 1>
struct dma_buf_ranges : basic_traits<abi::feature_id::dma_buf, dma_buf_request<N>, true, false> {
  static constexpr bool returns_fd = true;
  static constexpr const char* name = "DMA_BUF";
};
/// DMA_BUF with one range.
using dma_buf = dma_buf_ranges<1>;

/// The seed series' POWER_MANAGEMENT (3, never merged): GET and SET of
/// {u64 low_power_state} (abi::seed::low_power_state_enter / _exit).
struct seed_power_management
    : basic_traits<abi::seed::feature_id::power_management, abi::seed::feature_power_management, true, true> {
  static constexpr const char* name = "POWER_MANAGEMENT (seed ABI)";
};

namespace detail {

template <class F, class = void>
struct returns_fd_of : std::false_type {};
template <class F>
struct returns_fd_of<F, std::void_t<decltype(F::returns_fd)>> : std::integral_constant<bool, F::returns_fd> {};

template <class F, class = void>
struct is_traits : std::false_type {};
template <class F>
struct is_traits<F, std::void_t<decltype(F::id), typename F::payload, decltype(F::can_get), decltype(F::can_set)>>
    : std::true_type {};

template <class P>
constexpr bool payload_ok() noexcept {
  if constexpr (std::is_void<P>::value) {
    return true;
  } else {
    return std::is_trivially_copyable<P>::value && std::is_standard_layout<P>::value && alignof(P) <= 8;
  }
}

template <class F>
constexpr bool check_traits() noexcept {
  static_assert(is_traits<F>::value, "a feature trait needs `id`, `using payload`, `can_get` and `can_set`");
  static_assert(F::id <= abi::feature_flags::mask, "a feature id fits in 16 bits");
  static_assert(payload_ok<typename F::payload>(),
                "a feature payload is void or a trivially copyable, standard-layout type aligned to at most 8");
  static_assert(F::can_get || F::can_set, "a feature offers GET, SET or both");
  return true;
}

/// Header and payload in one 8-byte aligned object: the payload starts at +8
/// exactly as vfio_device_feature's data[] does.
template <class P>
struct alignas(8) frame {
  abi::device_feature header;
  P payload;
};
template <>
struct alignas(8) frame<void> {
  abi::device_feature header;
};

template <class P>
constexpr std::uint32_t payload_size() noexcept {
  if constexpr (std::is_void<P>::value) {
    return 0;
  } else {
    return static_cast<std::uint32_t>(sizeof(P));
  }
}

/// argsz: the header plus exactly the payload (not frame padding).
template <class P>
constexpr std::uint32_t argsz_of() noexcept {
  return static_cast<std::uint32_t>(sizeof(abi::device_feature)) + payload_size<P>();
}

inline constexpr const char* operation = "VFIO_DEVICE_FEATURE";

/// The error for a failed GET or SET: ENOTTY means the device does not offer
/// the feature; everything else stays the kernel's errno.
inline error call_error(int errno_value) noexcept {
  if (errno_value == ENOTTY) return error(errc::feature_unsupported, operation);
  return errno_error(errno_value, operation);
}

/// call_error() for the ioctl's flags, naming the feature. Out of line: the
/// success path of every GET and SET stays small enough to inline.
[[gnu::cold, gnu::noinline]] inline error exchange_error(int errno_value, std::uint32_t id_and_op) noexcept {
  return call_error(errno_value).with_subject(subject::feature(id_and_op & abi::feature_flags::mask));
}

/// One typed GET or SET (`op` is abi::feature_flags::get or ::set): the frame
/// on the stack with argsz exact, `in` copied into the payload before the ioctl
/// and the kernel's payload copied to `out` after it (either may be null).
/// Returns the ioctl's non-negative return value.
template <class P>
result<int> exchange(int fd, syscalls& sys, std::uint32_t id_and_op, const P* in, P* out) noexcept {
  frame<P> f{};
  f.header.argsz = argsz_of<P>();
  f.header.flags = id_and_op;
  if constexpr (!std::is_void<P>::value) {
    if (in) f.payload = *in;
  }
  const int r = sys.ioctl(fd, abi::req::device_feature, &f);
  if (r < 0) return exchange_error(-r, id_and_op);
  if constexpr (!std::is_void<P>::value) {
    if (out) *out = f.payload;
  }
  return r;
}

/// Issues VFIO_DEVICE_FEATURE with flags = id | extra on a header-only frame;
/// returns the ioctl's raw answer (>= 0 or -errno).
inline int probe_raw(int fd, syscalls& sys, std::uint32_t id, std::uint32_t dir) noexcept {
  frame<void> f{};
  f.header.argsz = argsz_of<void>();
  f.header.flags = (id & abi::feature_flags::mask) | abi::feature_flags::probe | dir;
  return sys.ioctl(fd, abi::req::device_feature, &f);
}

}  // namespace detail

/// True when F is a usable feature trait (see above).
template <class F>
inline constexpr bool is_feature_traits_v = detail::is_traits<F>::value;

// ---------------------------------------------------------------------------
// PROBE

/// VFIO_DEVICE_FEATURE with PROBE | `dir` on feature `id` (argsz 8, no payload):
/// asks whether the device offers the feature (dir none) or the feature in
/// that direction. The feature does nothing on PROBE, but like every device-fd
/// ioctl the call first resumes a runtime-suspended device
/// (vfio_device_fops_unl_ioctl in drivers/vfio/vfio_main.c), which ends a
/// LOW_POWER_ENTRY_WITH_WAKEUP and signals its eventfd: probe before entering.
/// When PROBE|GET or PROBE|SET (or both) gives -EINVAL, a second, bare PROBE
/// tells "the feature exists but not in this direction" from "no feature"
/// (a driver without a feature handler gives -EINVAL on kernels before 6.18).
/// Preconditions: id < 0x10000.
/// Errors: errc::feature_unsupported (-ENOTTY, or -EINVAL on a bare PROBE);
/// errc::feature_direction_invalid (the feature exists, the direction is not
/// offered); errc::invalid_argument (id too large, no syscall made); other
/// errnos as system errors with operation "VFIO_DEVICE_FEATURE" (EIO: the
/// device could not be resumed from runtime suspend; EBADF).
inline result<void> probe(const device& dev, std::uint32_t id, direction dir = direction::none) noexcept {
  if (id > abi::feature_flags::mask) return error(errc::invalid_argument, "feature id check", subject::feature(id));
  const int r = detail::probe_raw(dev.fd(), dev.sys(), id, static_cast<std::uint32_t>(dir));
  if (r >= 0) return {};
  if (r == -ENOTTY) return error(errc::feature_unsupported, detail::operation, subject::feature(id));
  if (r != -EINVAL) return errno_error(-r, detail::operation, subject::feature(id));
  if (dir == direction::none) return error(errc::feature_unsupported, detail::operation, subject::feature(id));
  const int bare = detail::probe_raw(dev.fd(), dev.sys(), id, 0);
  if (bare >= 0) return error(errc::feature_direction_invalid, detail::operation, subject::feature(id));
  if (bare == -ENOTTY || bare == -EINVAL)
    return error(errc::feature_unsupported, detail::operation, subject::feature(id));
  return errno_error(-bare, detail::operation, subject::feature(id));
}

/// PROBE of a typed feature in every direction its trait declares
/// (PROBE|GET, PROBE|SET or PROBE|GET|SET; the last succeeds only if both do).
/// Errors: as probe(dev, id, dir).
template <class F>
result<void> probe(const device& dev) noexcept {
  static_assert(detail::check_traits<F>());
  const std::uint32_t dir = (F::can_get ? abi::feature_flags::get : 0U) | (F::can_set ? abi::feature_flags::set : 0U);
  return probe(dev, F::id, static_cast<direction>(dir));
}

// ---------------------------------------------------------------------------
// GET / SET

/// VFIO_DEVICE_FEATURE GET of a typed feature: sends a zeroed payload
/// (argsz 8 + sizeof(payload)) and returns what the kernel wrote into it.
/// Compiles only for traits with can_get and a payload.
/// Errors: errc::feature_unsupported (ENOTTY); EINVAL (direction not offered,
/// payload too short, or, before 6.18, a driver with no feature handler:
/// ambiguous, see probe); EFAULT; EIO (resume failed); the feature's own errnos.
template <class F>
result<typename F::payload> get(const device& dev) noexcept {
  static_assert(detail::check_traits<F>());
  static_assert(F::can_get, "this feature does not offer VFIO_DEVICE_FEATURE_GET");
  static_assert(!std::is_void<typename F::payload>::value, "GET of a feature without payload");
  static_assert(!detail::returns_fd_of<F>::value, "this feature's GET returns a descriptor: use get_fd");
  typename F::payload out{};
  auto r = detail::exchange<typename F::payload>(dev.fd(), dev.sys(), F::id | abi::feature_flags::get, nullptr, &out);
  if (!r) return r.error();
  return out;
}

/// VFIO_DEVICE_FEATURE GET with an input payload (DMA_LOGGING_REPORT ...):
/// sends `inout`, copies the kernel's payload back into it, and returns the
/// ioctl's non-negative return value.
/// Errors: as get<F>(dev).
template <class F>
result<int> get_inout(const device& dev, typename F::payload& inout) noexcept {
  static_assert(detail::check_traits<F>());
  static_assert(F::can_get, "this feature does not offer VFIO_DEVICE_FEATURE_GET");
  static_assert(!detail::returns_fd_of<F>::value, "this feature's GET returns a descriptor: use get_fd");
  return detail::exchange<typename F::payload>(dev.fd(), dev.sys(), F::id | abi::feature_flags::get, &inout, &inout);
}

/// VFIO_DEVICE_FEATURE GET of a feature whose return value is a new
/// descriptor (DMA_BUF). The descriptor is owned by the returned unique_fd
/// (closed through the device's seam).
/// Errors: as get<F>(dev) (a driver's own errnos such as EOPNOTSUPP are
/// passed through unchanged).
template <class F>
result<unique_fd> get_fd(const device& dev, const typename F::payload& request) noexcept {
  static_assert(detail::check_traits<F>());
  static_assert(F::can_get, "this feature does not offer VFIO_DEVICE_FEATURE_GET");
  static_assert(detail::returns_fd_of<F>::value, "this feature's GET does not return a descriptor");
  auto r =
      detail::exchange<typename F::payload>(dev.fd(), dev.sys(), F::id | abi::feature_flags::get, &request, nullptr);
  if (!r) return r.error();
  return unique_fd(*r, dev.sys());
}

/// VFIO_DEVICE_FEATURE SET of a feature without payload (argsz 8).
/// Compiles only for traits with can_set and payload void.
/// Errors: errc::feature_unsupported (ENOTTY); EINVAL (direction not offered;
/// for LOW_POWER_ENTRY also "already in low power"; before 6.18 also "no
/// feature handler": ambiguous); EIO (resume failed); the feature's own errnos.
template <class F>
result<void> set(const device& dev) noexcept {
  static_assert(detail::check_traits<F>());
  static_assert(F::can_set, "this feature does not offer VFIO_DEVICE_FEATURE_SET");
  static_assert(std::is_void<typename F::payload>::value, "this feature needs a payload: set<F>(dev, payload)");
  auto r = detail::exchange<void>(dev.fd(), dev.sys(), F::id | abi::feature_flags::set, nullptr, nullptr);
  if (!r) return r.error();
  return {};
}

/// VFIO_DEVICE_FEATURE SET with a payload (argsz 8 + sizeof(payload)).
/// Errors: as set<F>(dev).
template <class F>
result<void> set(const device& dev, const typename F::payload& value) noexcept {
  static_assert(detail::check_traits<F>());
  static_assert(F::can_set, "this feature does not offer VFIO_DEVICE_FEATURE_SET");
  static_assert(!std::is_void<typename F::payload>::value, "this feature has no payload: set<F>(dev)");
  auto r = detail::exchange<typename F::payload>(dev.fd(), dev.sys(), F::id | abi::feature_flags::set, &value, nullptr);
  if (!r) return r.error();
  return {};
}

/// VFIO_DEVICE_FEATURE SET that also reads the payload back (MIG_DEVICE_STATE
/// returns data_fd in it; the caller owns such a descriptor). Returns the
/// ioctl's non-negative return value (the seed ABI's buggy positive EINVAL
/// shows up here as 22).
/// Errors: as set<F>(dev).
template <class F>
result<int> set_inout(const device& dev, typename F::payload& inout) noexcept {
  static_assert(detail::check_traits<F>());
  static_assert(F::can_set, "this feature does not offer VFIO_DEVICE_FEATURE_SET");
  static_assert(!std::is_void<typename F::payload>::value, "this feature has no payload: set<F>(dev)");
  return detail::exchange<typename F::payload>(dev.fd(), dev.sys(), F::id | abi::feature_flags::set, &inout, &inout);
}

// ---------------------------------------------------------------------------
// Untyped access, for feature numbers without a trait.

/// The largest payload call() carries (on the stack).
inline constexpr std::size_t max_untyped_payload = 256;

/// VFIO_DEVICE_FEATURE with flags = id | dir (GET or SET, not PROBE) and
/// `size` payload bytes from `payload`; argsz is 8 + size. The kernel's
/// payload is copied back into `payload` afterwards. Returns the ioctl's
/// non-negative return value.
/// Preconditions: payload points to size bytes (may be null when size is 0).
/// Errors: errc::invalid_argument (id >= 0x10000, dir none or get_set, no
/// syscall made); errc::out_of_bounds (size > max_untyped_payload);
/// errc::feature_unsupported (ENOTTY); other errnos as for get/set.
inline result<int> call(const device& dev, std::uint32_t id, direction dir, void* payload, std::size_t size) noexcept {
  if (id > abi::feature_flags::mask || (dir != direction::get && dir != direction::set) ||
      (size > 0 && payload == nullptr))
    return error(errc::invalid_argument, "feature argument check", subject::feature(id));
  if (size > max_untyped_payload) return error(errc::out_of_bounds, "feature payload size check", subject::feature(id));
  struct alignas(8) untyped_frame {
    abi::device_feature header;
    unsigned char data[max_untyped_payload];
  } f{};
  f.header.argsz = static_cast<std::uint32_t>(sizeof(abi::device_feature) + size);
  f.header.flags = id | static_cast<std::uint32_t>(dir);
  if (size > 0) std::memcpy(f.data, payload, size);
  const int r = dev.sys().ioctl(dev.fd(), abi::req::device_feature, &f);
  if (r < 0) return detail::call_error(-r).with_subject(subject::feature(id));
  if (size > 0) std::memcpy(payload, f.data, size);
  return r;
}

// ---------------------------------------------------------------------------
// Survey

/// What the device answered for one feature number.
struct feature_support {
  std::uint32_t id = 0;
  const char* name = "";   ///< the uapi name without VFIO_DEVICE_FEATURE_
  bool supported = false;  ///< bare PROBE returned 0
  bool can_get = false;    ///< PROBE|GET returned 0
  bool can_set = false;    ///< PROBE|SET returned 0
  int probe_errno = 0;     ///< errno of the bare PROBE (0 on success)
  int get_errno = 0;       ///< errno of PROBE|GET (ENOTTY without asking when the bare PROBE said so)
  int set_errno = 0;       ///< errno of PROBE|SET (likewise)
};

/// The number of feature numbers the library knows (0..11).
inline constexpr std::size_t known_feature_count = 12;

/// One entry per known feature number, in order.
using feature_survey = std::array<feature_support, known_feature_count>;

/// The uapi name of a feature number ("LOW_POWER_EXIT"), or "unknown".
/// Number 3 is named as merged (LOW_POWER_ENTRY); the seed ABI used it for
/// POWER_MANAGEMENT.
inline const char* feature_name(std::uint32_t id) noexcept {
  static constexpr const char* names[known_feature_count] = {pci_vf_token::name,
                                                             migration::name,
                                                             mig_device_state::name,
                                                             low_power_entry::name,
                                                             low_power_entry_with_wakeup::name,
                                                             low_power_exit::name,
                                                             dma_logging_start::name,
                                                             dma_logging_stop::name,
                                                             dma_logging_report::name,
                                                             mig_data_size::name,
                                                             bus_master::name,
                                                             dma_buf::name};
  return id < known_feature_count ? names[id] : "unknown";
}

/// Probes every known feature number, id 0 to 11: a bare PROBE, then PROBE|GET
/// and PROBE|SET unless the bare PROBE answered ENOTTY. 12 to 36
/// VFIO_DEVICE_FEATURE ioctls, argsz 8 each: 12 + 2 x (numbers not answering
/// ENOTTY), 18 on a merged vfio-pci device. Every answer is recorded with its
/// errno; ENOTTY, EINVAL (and any other feature-specific errno) mean "no". Each
/// ioctl wakes a runtime-suspended device (see probe).
/// An ENOTTY is given before the direction is looked at, so PROBE|GET and
/// PROBE|SET would answer ENOTTY too and are recorded as such without asking:
/// the core's own features check mig_ops / log_ops first
/// (vfio_ioctl_device_feature_migration and friends in drivers/vfio/vfio_main.c),
/// drivers answer unknown numbers ENOTTY from their switch's default
/// (vfio_pci_core_ioctl_feature), and vfio_check_feature, which judges the
/// direction, runs only inside a feature the driver has. EINVAL is not so clear
/// (a driver without a handler answers it for every number before 6.18, but
/// vfio_check_feature also uses it for a direction not offered): such numbers
/// are probed in full.
/// Errors: EBADF, EFAULT or EIO from any probe ends the survey with that
/// error (the device could not be asked at all; EIO is a failed runtime
/// resume), operation "VFIO_DEVICE_FEATURE".
inline result<feature_survey> supported_features(const device& dev) noexcept {
  feature_survey survey{};
  for (std::uint32_t id = 0; id < known_feature_count; ++id) {
    int answers[3] = {0, 0, 0};
    const std::uint32_t dirs[3] = {0, abi::feature_flags::get, abi::feature_flags::set};
    for (int i = 0; i < 3; ++i) {
      if (i > 0 && answers[0] == ENOTTY) {
        answers[i] = ENOTTY;  // the answer the kernel would give: see above
        continue;
      }
      const int r = detail::probe_raw(dev.fd(), dev.sys(), id, dirs[i]);
      const int e = r < 0 ? -r : 0;
      if (e == EBADF || e == EFAULT || e == EIO) return errno_error(e, detail::operation, subject::feature(id));
      answers[i] = e;
    }
    feature_support& s = survey[id];
    s.id = id;
    s.name = feature_name(id);
    s.probe_errno = answers[0];
    s.get_errno = answers[1];
    s.set_errno = answers[2];
    s.supported = answers[0] == 0;
    s.can_get = s.supported && answers[1] == 0;
    s.can_set = s.supported && answers[2] == 0;
  }
  return survey;
}

}  // namespace vfio::feature

#endif  // VFIO_FEATURE_HPP_INCLUDED
