// Error model: library error codes, their category, and vfio::error, an
// std::error_code paired with the name of the operation that failed.
#ifndef VFIO_ERROR_HPP_INCLUDED
#define VFIO_ERROR_HPP_INCLUDED

#include <string>
#include <system_error>
#include <type_traits>

namespace vfio {

/// Conditions the library itself detects. Kernel errno values are never
/// translated into these: they stay in std::system_category().
enum class errc {
  api_version_mismatch = 1,    ///< VFIO_GET_API_VERSION is not VFIO_API_VERSION (0)
  extension_unsupported,       ///< the container does not offer the IOMMU type / extension
  group_not_viable,            ///< a device of the group is bound to a non-VFIO driver
  group_has_no_container,      ///< operation needs VFIO_GROUP_SET_CONTAINER first
  feature_unsupported,         ///< VFIO_DEVICE_FEATURE: the device does not offer the feature
  feature_direction_invalid,   ///< VFIO_DEVICE_FEATURE: GET/SET not offered for the feature
  capability_not_found,        ///< no such capability in a chain or in config space
  malformed_capability_chain,  ///< a capability offset points outside the buffer or loops
  argsz_too_large,             ///< the kernel asked for a buffer larger than the library's bound
  invalid_name,                ///< device name empty, too long, or containing NUL / spaces
  invalid_bdf,                 ///< a PCI address that does not parse as DDDD:BB:DD.F
  index_out_of_range,          ///< region or IRQ index beyond what the device reports
  out_of_bounds,               ///< offset/length outside a region or buffer
  short_transfer,              ///< read/write moved fewer bytes than asked and made no progress
  not_mappable,                ///< region does not support mmap (no VFIO_REGION_INFO_FLAG_MMAP)
  too_many_descriptors,        ///< more IRQ eventfds than the library's stack bound
  power_state_unsupported,     ///< D1/D2 requested but PMC says the device lacks it
  stuck_in_d3,                 ///< device does not leave D3hot after a PM_CTRL write to D0
  power_state_not_reached,     ///< PM_CTRL read back a different state than written
  no_pm_capability,            ///< the device has no PCI power management capability
  low_power_unsupported,       ///< the device offers neither low-power dialect
  timed_out,                   ///< a wait ended at its deadline
  parse_error,                 ///< a sysfs attribute held unexpected text
  invalid_argument,            ///< a caller-supplied argument the library rejects before any syscall
};

}  // namespace vfio

template <>
struct std::is_error_code_enum<vfio::errc> : std::true_type {};

namespace vfio {

namespace detail {

class vfio_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "vfio"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::api_version_mismatch: return "VFIO API version mismatch";
      case errc::extension_unsupported: return "IOMMU type or extension not supported by the container";
      case errc::group_not_viable: return "group not viable (a device is bound to another driver)";
      case errc::group_has_no_container: return "group has no container set";
      case errc::feature_unsupported: return "device feature not supported";
      case errc::feature_direction_invalid: return "device feature does not support this direction or payload";
      case errc::capability_not_found: return "capability not found";
      case errc::malformed_capability_chain: return "malformed capability chain";
      case errc::argsz_too_large: return "kernel requested an argsz beyond the library's bound";
      case errc::invalid_name: return "invalid device name";
      case errc::invalid_bdf: return "invalid PCI address (expected DDDD:BB:DD.F)";
      case errc::index_out_of_range: return "region or IRQ index out of range";
      case errc::out_of_bounds: return "offset or length outside the region";
      case errc::short_transfer: return "transfer made no progress";
      case errc::not_mappable: return "region cannot be mmap'd";
      case errc::too_many_descriptors: return "too many eventfds for one call";
      case errc::power_state_unsupported: return "power state not supported by the device";
      case errc::stuck_in_d3: return "device stuck in D3";
      case errc::power_state_not_reached: return "device did not reach the requested power state";
      case errc::no_pm_capability: return "device has no PCI power management capability";
      case errc::low_power_unsupported: return "device does not support VFIO low-power features";
      case errc::timed_out: return "timed out";
      case errc::parse_error: return "unexpected attribute contents";
      case errc::invalid_argument: return "invalid argument";
    }
    return "unknown vfio error";
  }
};

}  // namespace detail

/// The category of vfio::errc values.
inline const std::error_category& category() noexcept {
  static const detail::vfio_category instance;
  return instance;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

/// A failure: the error code plus the operation that produced it, e.g.
/// {EBUSY, "open /dev/vfio/N"} or {EINVAL, "VFIO_DEVICE_FEATURE"}.
/// The operation is a pointer to a string literal: making an error never allocates.
class error {
 public:
  error() noexcept = default;
  error(std::error_code code, const char* operation) noexcept : code_(code), operation_(operation) {}
  error(errc code, const char* operation) noexcept : code_(make_error_code(code)), operation_(operation) {}

  const std::error_code& code() const noexcept { return code_; }
  /// The syscall or ioctl that failed ("VFIO_GROUP_GET_DEVICE_FD", "pread", ...). Never null.
  const char* operation() const noexcept { return operation_; }
  int value() const noexcept { return code_.value(); }
  /// "operation: message". Allocates; call it only when reporting.
  std::string message() const { return std::string(operation_) + ": " + code_.message(); }

  operator std::error_code() const noexcept { return code_; }  // NOLINT: implicit by design

 private:
  std::error_code code_;
  const char* operation_ = "";
};

/// An error from a positive errno value.
inline error errno_error(int errno_value, const char* operation) noexcept {
  return {std::error_code(errno_value, std::system_category()), operation};
}

inline bool operator==(const error& a, const error& b) noexcept { return a.code() == b.code(); }
inline bool operator!=(const error& a, const error& b) noexcept { return !(a == b); }
inline bool operator==(const error& a, const std::error_code& b) noexcept { return a.code() == b; }
inline bool operator!=(const error& a, const std::error_code& b) noexcept { return !(a == b); }
/// Compare against std::errc or any error-condition enum: `e == std::errc::device_or_resource_busy`.
template <class E, std::enable_if_t<std::is_error_condition_enum<E>::value, int> = 0>
bool operator==(const error& a, E b) noexcept {
  return a.code() == b;
}
template <class E, std::enable_if_t<std::is_error_condition_enum<E>::value, int> = 0>
bool operator!=(const error& a, E b) noexcept {
  return !(a.code() == b);
}
inline bool operator==(const error& a, errc b) noexcept { return a.code() == make_error_code(b); }
inline bool operator!=(const error& a, errc b) noexcept { return !(a == b); }

}  // namespace vfio

#endif  // VFIO_ERROR_HPP_INCLUDED
