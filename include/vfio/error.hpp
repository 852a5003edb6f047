// Error model: library error codes, their category, and vfio::error, an
// std::error_code paired with the name of the operation that failed and the
// subject it failed on (a group, a device, a sysfs attribute, a region ...).
#ifndef VFIO_ERROR_HPP_INCLUDED
#define VFIO_ERROR_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
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
  mig_state_unreachable,       ///< no arc of the kernel's migration FSM leads there from the current state
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
      case errc::mig_state_unreachable: return "migration state not reachable from the current state";
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

/// What an error (or a host::diagnose finding) is about: a kind and a number,
/// never a string, so that making an error stays allocation-free. Rendered by
/// to_chars() as a path ("/dev/vfio/12", "/sys/bus/pci/devices/<BDF>/driver")
/// or a parenthesized tag ("(region 7)", "(feature 3, LOW_POWER_ENTRY)").
class subject {
 public:
  enum class kind : std::uint8_t {
    none,             ///< nothing recorded
    host_path,        ///< a fixed host path or limit: value is a subject::host_object
    group_node,       ///< /dev/vfio/<value>
    group,            ///< an open group: value is the group number
    device,           ///< a PCI function: value is the packed BDF (see pack_bdf)
    sysfs_attribute,  ///< <sysfs>/bus/pci/devices/<BDF>/<attribute>: value is the packed BDF, aux the attribute
    region,           ///< a device region: value is the region index
    irq,              ///< a device IRQ: value is the IRQ index
    feature,          ///< a VFIO_DEVICE_FEATURE: value is the feature id
    cdev_node,        ///< /dev/vfio/devices/vfio<value>, a device's VFIO cdev
    iommufd_object,   ///< an object of an iommufd: value is its id, aux a subject::iommufd_type
    mig_stream,       ///< a migration data stream (the data_fd of MIG_DEVICE_STATE): value is the descriptor
  };

  /// The fixed objects a subject of kind host_path names (stable numbering).
  enum class host_object : std::uint8_t {
    dev_vfio,          ///< /dev/vfio
    container_node,    ///< /dev/vfio/vfio
    iommu_groups,      ///< /sys/kernel/iommu_groups
    module_vfio,       ///< /sys/module/vfio
    module_vfio_pci,   ///< /sys/module/vfio_pci
    vfio_pci_driver,   ///< /sys/bus/pci/drivers/vfio-pci
    drivers_probe,     ///< /sys/bus/pci/drivers_probe
    rlimit_memlock,    ///< the RLIMIT_MEMLOCK resource limit of the process
    proc_self_status,  ///< /proc/self/status
    iommu_node,        ///< /dev/iommu, the iommufd node
    count_             ///< number of objects (not an object)
  };

  /// The PCI function attributes a subject of kind sysfs_attribute names
  /// (stable numbering; `other` for an attribute outside this list).
  enum class attribute : std::uint16_t {
    other,
    iommu_group,
    driver,
    driver_override,
    driver_unbind,  ///< driver/unbind (the bound driver's unbind file, through the driver link)
    power_state,
    d3cold_allowed,
    power_control,         ///< power/control
    power_runtime_status,  ///< power/runtime_status
    firmware_node,
    power_resources_d3hot,  ///< firmware_node/power_resources_D3hot
    config,
    reset_method,
    reset,
    vendor,
    device,
    class_code,  ///< class
    vfio_dev,    ///< vfio-dev (the directory holding the device's vfioN cdev entry)
    count_       ///< number of attributes (not an attribute)
  };

  /// What kind of iommufd object a subject of kind iommufd_object names.
  enum class iommufd_type : std::uint16_t {
    any,     ///< an object of any type ("iommufd object N")
    ioas,    ///< an IO address space (IOMMU_IOAS_ALLOC)
    hwpt,    ///< a hardware page table (IOMMU_HWPT_ALLOC, or made by an attach)
    device,  ///< a bound device: its devid (VFIO_DEVICE_BIND_IOMMUFD)
  };

  constexpr subject() noexcept = default;

  static constexpr subject host(host_object o) noexcept {
    return subject(kind::host_path, static_cast<std::uint32_t>(o), 0);
  }
  static constexpr subject group_node(std::uint32_t number) noexcept { return subject(kind::group_node, number, 0); }
  static constexpr subject group(std::uint32_t number) noexcept { return subject(kind::group, number, 0); }
  /// A PCI function by packed address: domain << 16 | bus << 8 | device << 3 | function.
  static constexpr subject device(std::uint32_t packed_bdf) noexcept { return subject(kind::device, packed_bdf, 0); }
  static constexpr subject sysfs(std::uint32_t packed_bdf, attribute a) noexcept {
    return subject(kind::sysfs_attribute, packed_bdf, static_cast<std::uint16_t>(a));
  }
  static constexpr subject region(std::uint32_t index) noexcept { return subject(kind::region, index, 0); }
  static constexpr subject irq(std::uint32_t index) noexcept { return subject(kind::irq, index, 0); }
  static constexpr subject feature(std::uint32_t id) noexcept { return subject(kind::feature, id, 0); }
  /// /dev/vfio/devices/vfio<number>.
  static constexpr subject cdev_node(std::uint32_t number) noexcept { return subject(kind::cdev_node, number, 0); }
  /// An object of an iommufd by id: "(IOAS 2)", "(HWPT 5)", "(devid 1)", "(iommufd object 7)".
  static constexpr subject iommufd_object(std::uint32_t id, iommufd_type t = iommufd_type::any) noexcept {
    return subject(kind::iommufd_object, id, static_cast<std::uint16_t>(t));
  }

  /// A migration data stream by descriptor: "(migration data fd 7)".
  static constexpr subject mig_stream(std::uint32_t fd) noexcept { return subject(kind::mig_stream, fd, 0); }

  constexpr kind type() const noexcept { return kind_; }
  constexpr std::uint32_t value() const noexcept { return value_; }
  /// The attribute of a sysfs_attribute subject (attribute::other otherwise).
  constexpr attribute sysfs_attribute() const noexcept {
    return kind_ == kind::sysfs_attribute ? static_cast<attribute>(aux_) : attribute::other;
  }
  /// The object type of an iommufd_object subject (iommufd_type::any otherwise).
  constexpr iommufd_type iommufd_object_type() const noexcept {
    return kind_ == kind::iommufd_object ? static_cast<iommufd_type>(aux_) : iommufd_type::any;
  }
  constexpr explicit operator bool() const noexcept { return kind_ != kind::none; }
  constexpr bool operator==(const subject& o) const noexcept {
    return kind_ == o.kind_ && value_ == o.value_ && aux_ == o.aux_;
  }
  constexpr bool operator!=(const subject& o) const noexcept { return !(*this == o); }

  /// Writes the subject's text NUL-terminated into buf (truncating to size - 1
  /// characters); returns the full length. Never allocates. "" for none.
  std::size_t to_chars(char* buf, std::size_t size) const noexcept;
  /// The same as a std::string. Allocates; call it only when reporting.
  std::string to_string() const {
    char buf[max_text];
    const std::size_t n = to_chars(buf, sizeof buf);
    return std::string(buf, n < sizeof buf ? n : sizeof buf - 1);
  }
  /// Whether the text is a path (printed after the operation: "open /dev/vfio/12")
  /// rather than a tag (printed in parentheses: "VFIO_DEVICE_RESET (device ...)").
  constexpr bool is_path() const noexcept {
    return kind_ == kind::group_node || kind_ == kind::sysfs_attribute || kind_ == kind::cdev_node ||
           (kind_ == kind::host_path && value_ != static_cast<std::uint32_t>(host_object::rlimit_memlock));
  }

  /// Longest text to_chars produces, with the NUL.
  static constexpr std::size_t max_text = 96;

 private:
  constexpr subject(kind k, std::uint32_t v, std::uint16_t aux) noexcept : value_(v), aux_(aux), kind_(k) {}

  std::uint32_t value_ = 0;
  std::uint16_t aux_ = 0;
  kind kind_ = kind::none;
};

static_assert(sizeof(subject) == 8, "a subject is two words of 32 bits: keep vfio::error small");

/// A stable name for a subject kind ("group_node", "sysfs_attribute" ...), for logs and JSON.
inline const char* to_string(subject::kind k) noexcept {
  switch (k) {
    case subject::kind::none: return "none";
    case subject::kind::host_path: return "host_path";
    case subject::kind::group_node: return "group_node";
    case subject::kind::group: return "group";
    case subject::kind::device: return "device";
    case subject::kind::sysfs_attribute: return "sysfs_attribute";
    case subject::kind::region: return "region";
    case subject::kind::irq: return "irq";
    case subject::kind::feature: return "feature";
    case subject::kind::cdev_node: return "cdev_node";
    case subject::kind::iommufd_object: return "iommufd_object";
    case subject::kind::mig_stream: return "mig_stream";
  }
  return "?";
}

/// The sysfs name of a PCI function attribute ("power/control"); "" for other.
inline const char* to_string(subject::attribute a) noexcept {
  switch (a) {
    case subject::attribute::other: return "";
    case subject::attribute::iommu_group: return "iommu_group";
    case subject::attribute::driver: return "driver";
    case subject::attribute::driver_override: return "driver_override";
    case subject::attribute::driver_unbind: return "driver/unbind";
    case subject::attribute::power_state: return "power_state";
    case subject::attribute::d3cold_allowed: return "d3cold_allowed";
    case subject::attribute::power_control: return "power/control";
    case subject::attribute::power_runtime_status: return "power/runtime_status";
    case subject::attribute::firmware_node: return "firmware_node";
    case subject::attribute::power_resources_d3hot: return "firmware_node/power_resources_D3hot";
    case subject::attribute::config: return "config";
    case subject::attribute::reset_method: return "reset_method";
    case subject::attribute::reset: return "reset";
    case subject::attribute::vendor: return "vendor";
    case subject::attribute::device: return "device";
    case subject::attribute::class_code: return "class";
    case subject::attribute::vfio_dev: return "vfio-dev";
    case subject::attribute::count_: break;
  }
  return "";
}

/// The path (or, for rlimit_memlock, the name) of a host object.
inline const char* to_string(subject::host_object o) noexcept {
  switch (o) {
    case subject::host_object::dev_vfio: return "/dev/vfio";
    case subject::host_object::container_node: return "/dev/vfio/vfio";
    case subject::host_object::iommu_groups: return "/sys/kernel/iommu_groups";
    case subject::host_object::module_vfio: return "/sys/module/vfio";
    case subject::host_object::module_vfio_pci: return "/sys/module/vfio_pci";
    case subject::host_object::vfio_pci_driver: return "/sys/bus/pci/drivers/vfio-pci";
    case subject::host_object::drivers_probe: return "/sys/bus/pci/drivers_probe";
    case subject::host_object::rlimit_memlock: return "RLIMIT_MEMLOCK";
    case subject::host_object::proc_self_status: return "/proc/self/status";
    case subject::host_object::iommu_node: return "/dev/iommu";
    case subject::host_object::count_: break;
  }
  return "";
}

/// The name of a VFIO_DEVICE_FEATURE id as <linux/vfio.h> spells it without
/// the VFIO_DEVICE_FEATURE_ prefix (merged ABI numbering); "" when unknown.
inline const char* feature_name(std::uint32_t id) noexcept {
  switch (id) {
    case 0: return "PCI_VF_TOKEN";
    case 1: return "MIGRATION";
    case 2: return "MIG_DEVICE_STATE";
    case 3: return "LOW_POWER_ENTRY";
    case 4: return "LOW_POWER_ENTRY_WITH_WAKEUP";
    case 5: return "LOW_POWER_EXIT";
    case 6: return "DMA_LOGGING_START";
    case 7: return "DMA_LOGGING_STOP";
    case 8: return "DMA_LOGGING_REPORT";
    case 9: return "MIG_DATA_SIZE";
    case 10: return "BUS_MASTER";
    case 11: return "DMA_BUF";
    default: return "";
  }
}

namespace detail {

/// Appends to a bounded, NUL-terminated buffer, counting what did not fit.
class text_sink {
 public:
  text_sink(char* buf, std::size_t size) noexcept : buf_(buf), size_(size) {
    if (size_ > 0) buf_[0] = '\0';
  }
  text_sink& put(const char* s) noexcept {
    for (; s && *s; ++s) put(*s);
    return *this;
  }
  text_sink& put(char c) noexcept {
    if (len_ + 1 < size_) {
      buf_[len_] = c;
      buf_[len_ + 1] = '\0';
    }
    ++len_;
    return *this;
  }
  text_sink& put_unsigned(std::uint64_t v) noexcept {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(digits[--n]);
    return *this;
  }
  text_sink& put_hex(std::uint32_t v, int width) noexcept {
    for (int i = width - 1; i >= 0; --i) put("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
    return *this;
  }
  /// "dddd:bb:dd.f" from a packed address.
  text_sink& put_bdf(std::uint32_t packed) noexcept {
    put_hex(packed >> 16, 4).put(':').put_hex((packed >> 8) & 0xff, 2).put(':');
    return put_hex((packed >> 3) & 0x1f, 2).put('.').put_hex(packed & 7, 1);
  }
  std::size_t length() const noexcept { return len_; }

 private:
  char* buf_;
  std::size_t size_;
  std::size_t len_ = 0;
};

}  // namespace detail

inline std::size_t subject::to_chars(char* buf, std::size_t size) const noexcept {
  detail::text_sink out(buf, size);
  switch (kind_) {
    case kind::none: break;
    case kind::host_path:
      out.put(value_ < static_cast<std::uint32_t>(host_object::count_)
                  ? vfio::to_string(static_cast<host_object>(value_))
                  : "?");
      break;
    case kind::group_node: out.put("/dev/vfio/").put_unsigned(value_); break;
    case kind::group: out.put("(group ").put_unsigned(value_).put(')'); break;
    case kind::device: out.put("(device ").put_bdf(value_).put(')'); break;
    case kind::sysfs_attribute:
      out.put("/sys/bus/pci/devices/").put_bdf(value_).put('/').put(vfio::to_string(sysfs_attribute()));
      break;
    case kind::region: out.put("(region ").put_unsigned(value_).put(')'); break;
    case kind::irq: out.put("(IRQ ").put_unsigned(value_).put(')'); break;
    case kind::feature: {
      out.put("(feature ").put_unsigned(value_);
      const char* name = feature_name(value_);
      if (*name) out.put(", ").put(name);
      out.put(')');
      break;
    }
    case kind::cdev_node: out.put("/dev/vfio/devices/vfio").put_unsigned(value_); break;
    case kind::iommufd_object: {
      const char* names[] = {"iommufd object ", "IOAS ", "HWPT ", "devid "};
      out.put('(').put(aux_ < 4 ? names[aux_] : names[0]).put_unsigned(value_).put(')');
      break;
    }
    case kind::mig_stream: out.put("(migration data fd ").put_unsigned(value_).put(')'); break;
  }
  return out.length();
}

/// A failure: the error code, the operation that produced it and, when known,
/// its subject, e.g. {EBUSY, "open", /dev/vfio/12} or {EINVAL,
/// "VFIO_DEVICE_FEATURE", feature 3}.
///
/// Operation naming: the syscall or ioctl that failed ("open", "readlink",
/// "VFIO_GROUP_GET_DEVICE_FD"); a failure the library finds before making any
/// syscall names what it checked, as "<what> check" ("device name check",
/// "region bounds check", "region flags check", "region index check",
/// "IRQ index check", "eventfd count check", "feature id check", "feature
/// argument check", "feature payload size check", "seam check", "driver name
/// check", "sysfs path check", "attribute value check", "buffer size check",
/// "PCI address check", "migration state check", "dirty bitmap check", "DMA
/// logging range check"). An operation on an empty object keeps the call's name
/// with EBADF, as the kernel would answer.
///
/// Making an error never allocates: the operation is a pointer to a string
/// literal and the subject is a kind and a number. sizeof(error) is 32 bytes on
/// LP64 (error_code 16, operation 8, subject 8): every result<T> carries one,
/// so it stays within four words; paths and names are rebuilt from the numbers
/// by message(). Errors compare by code only: the operation and subject say
/// where, not what.
class error {
 public:
  error() noexcept = default;
  error(std::error_code code, const char* operation) noexcept : code_(code), operation_(operation) {}
  error(errc code, const char* operation) noexcept : code_(make_error_code(code)), operation_(operation) {}
  error(std::error_code code, const char* operation, subject about) noexcept
      : code_(code), operation_(operation), subject_(about) {}
  error(errc code, const char* operation, subject about) noexcept
      : code_(make_error_code(code)), operation_(operation), subject_(about) {}

  const std::error_code& code() const noexcept { return code_; }
  /// The syscall or ioctl that failed ("VFIO_GROUP_GET_DEVICE_FD", "pread", ...),
  /// or "<what> check" for a check made before any syscall. Never null.
  const char* operation() const noexcept { return operation_; }
  /// What the operation was applied to; subject::kind::none when unknown.
  const subject& about() const noexcept { return subject_; }
  subject::kind subject_kind() const noexcept { return subject_.type(); }
  std::uint32_t subject_value() const noexcept { return subject_.value(); }
  int value() const noexcept { return code_.value(); }
  /// A copy with the subject set (replacing any). For callers that know more
  /// than the layer that failed, e.g. which device a sysfs write was for.
  error with_subject(subject about) const noexcept {
    error e = *this;
    e.subject_ = about;
    return e;
  }
  /// A copy with the subject set only if none is recorded yet.
  error or_subject(subject about) const noexcept { return subject_ ? *this : with_subject(about); }

  /// "operation subject: message", e.g. "open /dev/vfio/12: Device or resource
  /// busy", "VFIO_DEVICE_GET_REGION_INFO (region 7): Invalid argument"; without a
  /// subject "operation: message". Allocates; call it only when reporting.
  std::string message() const {
    std::string s(operation_);
    if (subject_) {
      s += ' ';
      s += subject_.to_string();
    }
    s += ": ";
    s += code_.message();
    return s;
  }

  operator std::error_code() const noexcept { return code_; }  // NOLINT: implicit by design

 private:
  std::error_code code_;
  const char* operation_ = "";
  subject subject_;
};

/// Packs a PCI address for subject::device / subject::sysfs (the layout
/// host::pack(pci_address) uses).
constexpr std::uint32_t pack_bdf(std::uint32_t domain, std::uint32_t bus, std::uint32_t dev,
                                 std::uint32_t function) noexcept {
  return (domain & 0xffffU) << 16 | (bus & 0xffU) << 8 | (dev & 0x1fU) << 3 | (function & 7U);
}

/// An error from a positive errno value.
inline error errno_error(int errno_value, const char* operation) noexcept {
  return {std::error_code(errno_value, std::system_category()), operation};
}
/// An error from a positive errno value, with its subject.
inline error errno_error(int errno_value, const char* operation, subject about) noexcept {
  return {std::error_code(errno_value, std::system_category()), operation, about};
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
