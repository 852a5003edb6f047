// Host power report: what sysfs says about a PCI device's runtime power
// management and that of its upstream bridges, and a verdict on the deepest
// state VFIO low-power entry can bring the device to, with every reason it
// cannot go deeper. Also a wait until runtime_status / power_state settle.
//
// VFIO gives userspace no way to ask this (the uapi says of LOW_POWER_ENTRY
// that no "mechanism [is] provided ... to know the current power state"), so
// the answer comes from sysfs:
//   power/control          "auto" lets runtime PM suspend the device, "on" forbids it
//                          (vfio-pci sets "auto" at probe with pm_runtime_allow)
//   power/runtime_status   active, suspended, suspending, resuming, error, unsupported
//   power_state            the PCI core's current_state (v5.11+): D0 .. D3hot, D3cold
//   d3cold_allowed         0 caps the ACPI target state at D3hot
//                          (drivers/pci/pci-acpi.c: acpi_pci_choose_state, no_d3cold)
//   firmware_node/power_resources_D3hot
//                          exists when the ACPI node has _PR3 power resources:
//                          the best userspace proxy for the kernel's pci_pr3_present()
//   firmware_node/power_state
//                          exists when the ACPI node is power-manageable (_PS0 or _PR0;
//                          drivers/acpi/device_sysfs.c acpi_attr_is_visible): the
//                          userspace view of platform_pci_power_manageable()
// pci_target_state (drivers/pci/pci.c) asks the platform first: for a device
// the platform manages, acpi_pci_choose_state picks D3cold (d3cold_allowed and
// _PR0/_PR3) or else D3hot, PM capability or not (pci_platform_power_transition
// runs _PS3 when there is none); only otherwise does the PM capability decide
// (D3hot, or D0 without one). D3cold needs power resources on the device or
// on an upstream port; without them runtime suspend stops at D3hot.
#ifndef VFIO_HOST_POWER_HPP_INCLUDED
#define VFIO_HOST_POWER_HPP_INCLUDED

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <fcntl.h>

#include "../abi/pci.hpp"
#include "../detail/deadline.hpp"
#include "../error.hpp"
#include "../result.hpp"
#include "../span.hpp"
#include "../syscalls.hpp"
#include "../unique_fd.hpp"
#include "pci_address.hpp"
#include "sysfs.hpp"

namespace vfio::host {

/// power/control.
enum class runtime_pm_control : std::uint8_t {
  absent,     ///< no such attribute (kernel without CONFIG_PM)
  automatic,  ///< "auto": runtime PM may suspend the device
  on,         ///< "on": runtime PM forbidden, the device stays in D0
  other,      ///< text the library does not know
};

/// power/runtime_status.
enum class runtime_status : std::uint8_t {
  absent,
  active,
  suspended,
  suspending,
  resuming,
  error,
  unsupported,
  other,
};

/// power_state (the PCI core's current_state).
enum class power_state : std::uint8_t {
  absent,  ///< no such attribute (kernels before 5.11)
  unknown,
  error,
  d0,
  d1,
  d2,
  d3hot,
  d3cold,
  other,
};

/// d3cold_allowed.
enum class d3cold_policy : std::uint8_t { absent, allowed, disallowed, other };

/// Whether the device has a PCI power management capability.
enum class capability_presence : std::uint8_t {
  unknown,  ///< not known (as a read_power_report argument: read it from sysfs config)
  present,
  absent,
};

/// The deepest state runtime PM can bring the device to after low-power entry.
enum class reachable_state : std::uint8_t { d0, d3hot, d3cold };

/// Why a device cannot go deeper than the verdict. Bit values for power_report::limits.
enum class power_limit : std::uint32_t {
  runtime_pm_forbidden = 1U << 0,         ///< device power/control is "on"
  runtime_pm_disabled = 1U << 1,          ///< no power/control, or runtime_status "unsupported"
  d3cold_disallowed = 1U << 2,            ///< device d3cold_allowed is 0
  no_platform_power_resources = 1U << 3,  ///< no power_resources_D3hot on the device or any upstream bridge
  upstream_runtime_pm_forbidden =
      1U << 4,  ///< power resources only upstream, and a bridge up to them has power/control "on"
  /// the device has no PCI PM capability and the platform does not manage its
  /// power either (no D3hot: pci_target_state returns D0)
  no_pm_capability = 1U << 5,
};

/// Every power_limit, in bit order (for iterating over power_report::limits).
inline constexpr std::array<power_limit, 6> all_power_limits = {power_limit::runtime_pm_forbidden,
                                                                power_limit::runtime_pm_disabled,
                                                                power_limit::d3cold_disallowed,
                                                                power_limit::no_platform_power_resources,
                                                                power_limit::upstream_runtime_pm_forbidden,
                                                                power_limit::no_pm_capability};

inline const char* to_string(power_limit l) noexcept {
  switch (l) {
    case power_limit::runtime_pm_forbidden: return "runtime PM forbidden (power/control=on)";
    case power_limit::runtime_pm_disabled: return "runtime PM disabled";
    case power_limit::d3cold_disallowed: return "D3cold disallowed (d3cold_allowed=0)";
    case power_limit::no_platform_power_resources: return "no platform power resources for D3cold (_PR3)";
    case power_limit::upstream_runtime_pm_forbidden:
      return "runtime PM forbidden on the upstream port holding the power resources";
    case power_limit::no_pm_capability: return "no PCI power management capability and no platform power methods";
  }
  return "?";
}
inline const char* to_string(reachable_state s) noexcept {
  switch (s) {
    case reachable_state::d0: return "D0";
    case reachable_state::d3hot: return "D3hot";
    case reachable_state::d3cold: return "D3cold";
  }
  return "?";
}
inline const char* to_string(runtime_status s) noexcept {
  switch (s) {
    case runtime_status::absent: return "(absent)";
    case runtime_status::active: return "active";
    case runtime_status::suspended: return "suspended";
    case runtime_status::suspending: return "suspending";
    case runtime_status::resuming: return "resuming";
    case runtime_status::error: return "error";
    case runtime_status::unsupported: return "unsupported";
    case runtime_status::other: return "(other)";
  }
  return "?";
}
inline const char* to_string(power_state s) noexcept {
  switch (s) {
    case power_state::absent: return "(absent)";
    case power_state::unknown: return "unknown";
    case power_state::error: return "error";
    case power_state::d0: return "D0";
    case power_state::d1: return "D1";
    case power_state::d2: return "D2";
    case power_state::d3hot: return "D3hot";
    case power_state::d3cold: return "D3cold";
    case power_state::other: return "(other)";
  }
  return "?";
}
inline const char* to_string(runtime_pm_control c) noexcept {
  switch (c) {
    case runtime_pm_control::absent: return "(absent)";
    case runtime_pm_control::automatic: return "auto";
    case runtime_pm_control::on: return "on";
    case runtime_pm_control::other: return "(other)";
  }
  return "?";
}
inline const char* to_string(d3cold_policy p) noexcept {
  switch (p) {
    case d3cold_policy::absent: return "(absent)";
    case d3cold_policy::allowed: return "allowed";
    case d3cold_policy::disallowed: return "disallowed";
    case d3cold_policy::other: return "(other)";
  }
  return "?";
}
inline const char* to_string(capability_presence p) noexcept {
  switch (p) {
    case capability_presence::unknown: return "unknown";
    case capability_presence::present: return "present";
    case capability_presence::absent: return "absent";
  }
  return "?";
}

/// Text of power/runtime_status to the enum.
inline runtime_status parse_runtime_status(std::string_view t) noexcept {
  if (t == "active") return runtime_status::active;
  if (t == "suspended") return runtime_status::suspended;
  if (t == "suspending") return runtime_status::suspending;
  if (t == "resuming") return runtime_status::resuming;
  if (t == "error") return runtime_status::error;
  if (t == "unsupported") return runtime_status::unsupported;
  return runtime_status::other;
}
/// Text of power_state to the enum.
inline power_state parse_power_state(std::string_view t) noexcept {
  if (t == "D0") return power_state::d0;
  if (t == "D1") return power_state::d1;
  if (t == "D2") return power_state::d2;
  if (t == "D3hot") return power_state::d3hot;
  if (t == "D3cold") return power_state::d3cold;
  if (t == "unknown") return power_state::unknown;
  if (t == "error") return power_state::error;
  return power_state::other;
}

/// The power attributes of one PCI function (the device or a bridge).
struct power_node {
  pci_address address{};
  runtime_pm_control control = runtime_pm_control::absent;
  runtime_status status = runtime_status::absent;
  power_state state = power_state::absent;
  d3cold_policy d3cold = d3cold_policy::absent;
  bool power_resources_d3hot = false;  ///< firmware_node/power_resources_D3hot exists
  /// firmware_node/power_state exists: the platform manages the power
  /// (acpi_pci_power_manageable).
  bool platform_power_manageable = false;
};

/// The most upstream bridges a report holds (PCIe hierarchies are far shallower).
inline constexpr std::size_t max_upstream_bridges = 16;

/// The report and its verdict.
struct power_report {
  power_node device;
  std::array<power_node, max_upstream_bridges> bridges{};  ///< nearest upstream bridge first
  std::size_t bridge_count = 0;
  capability_presence pm_capability = capability_presence::unknown;
  reachable_state deepest = reachable_state::d0;
  std::uint32_t limits = 0;  ///< power_limit bits; empty when deepest is D3cold

  /// The upstream bridges, nearest first (the root port last).
  span<const power_node> upstream() const noexcept { return {bridges.data(), bridge_count}; }
  bool limited_by(power_limit l) const noexcept { return (limits & static_cast<std::uint32_t>(l)) != 0; }
};

namespace detail {

inline constexpr const char* report_operation = "power report";

/// "<root>/bus/pci/devices/<bdf>/", built once, and the path of any attribute under
/// it: each leaf() cuts back to the directory and appends, so a node's six paths cost
/// one path build, not six.
class device_dir {
 public:
  device_dir(const char* root, const pci_address& bdf) noexcept
      : path_(device_path(root, bdf, "")), base_(path_.size()), ok_(path_.ok()) {}
  /// False when the directory's own path does not fit (or the root is null).
  bool ok() const noexcept { return ok_; }
  /// The path of `leaf` (valid until the next leaf() call), or null when it does not fit.
  const char* leaf(std::string_view leaf) noexcept {
    if (!ok_) return nullptr;
    path_.truncate(base_);
    path_.append(leaf);
    return path_.ok() ? path_.c_str() : nullptr;
  }

 private:
  path_buffer path_;
  std::size_t base_;
  bool ok_;
};

/// Reads a short attribute (read_attribute: open, one read, close); ENOENT means
/// "absent" (returns false in *present).
inline result<std::size_t> read_optional(device_dir& dir, std::string_view leaf, char* buf, std::size_t size,
                                         bool& present, syscalls& sys) noexcept {
  present = false;
  const char* path = dir.leaf(leaf);
  if (path == nullptr) return path_error();
  auto r = read_attribute(path, buf, size, sys);
  if (!r) {
    if (r.error() == std::errc::no_such_file_or_directory) return std::size_t{0};
    return r.error();
  }
  present = true;
  return r;
}

/// Whether the file or directory `leaf` exists: one access(F_OK) (faccessat), or,
/// through a seam without access (ENOSYS), open(open_flags) and close. ENOENT and
/// ENOTDIR mean absent (no ACPI companion, or not that kind of node).
inline result<bool> exists(device_dir& dir, std::string_view leaf, int open_flags, syscalls& sys) noexcept {
  const char* path = dir.leaf(leaf);
  if (path == nullptr) return path_error();
  int r = sys.access(path, F_OK);
  const char* op = "access";
  if (r == -ENOSYS) {
    op = "open";
    r = sys.open(path, open_flags, 0);
    if (r >= 0) {
      unique_fd owned(r, sys);
      return true;
    }
  }
  if (r >= 0) return true;
  if (r == -ENOENT || r == -ENOTDIR) return false;
  return errno_error(-r, op, subject_of_path(path));
}

/// runtime_status and power_state of one function.
inline result<void> read_status_and_state(device_dir& dir, power_node& node, syscalls& sys) noexcept {
  char text[32];
  bool present = false;
  auto n = read_optional(dir, "power/runtime_status", text, sizeof text, present, sys);
  if (!n) return n.error();
  node.status = present ? parse_runtime_status(std::string_view(text, *n)) : runtime_status::absent;
  n = read_optional(dir, "power_state", text, sizeof text, present, sys);
  if (!n) return n.error();
  node.state = present ? parse_power_state(std::string_view(text, *n)) : power_state::absent;
  return {};
}

/// All attributes of one function, in the order the report documents.
inline result<void> read_node(const char* root, const pci_address& bdf, power_node& node, syscalls& sys) noexcept {
  node.address = bdf;
  device_dir dir(root, bdf);
  if (!dir.ok()) return path_error();
  char text[32];
  bool present = false;
  auto n = read_optional(dir, "power/control", text, sizeof text, present, sys);
  if (!n) return n.error();
  if (!present)
    node.control = runtime_pm_control::absent;
  else if (std::string_view(text, *n) == "auto")
    node.control = runtime_pm_control::automatic;
  else if (std::string_view(text, *n) == "on")
    node.control = runtime_pm_control::on;
  else
    node.control = runtime_pm_control::other;

  if (auto r = read_status_and_state(dir, node, sys); !r) return r;

  n = read_optional(dir, "d3cold_allowed", text, sizeof text, present, sys);
  if (!n) return n.error();
  if (!present)
    node.d3cold = d3cold_policy::absent;
  else if (std::string_view(text, *n) == "1")
    node.d3cold = d3cold_policy::allowed;
  else if (std::string_view(text, *n) == "0")
    node.d3cold = d3cold_policy::disallowed;
  else
    node.d3cold = d3cold_policy::other;

  // No ACPI companion, or no _PR3 (the directory) / neither _PS0 nor _PR0 (the file).
  auto pr3 = exists(dir, "firmware_node/power_resources_D3hot", O_RDONLY | O_DIRECTORY | O_CLOEXEC, sys);
  if (!pr3) return pr3.error();
  node.power_resources_d3hot = *pr3;
  auto manageable = exists(dir, "firmware_node/power_state", O_RDONLY | O_CLOEXEC, sys);
  if (!manageable) return manageable.error();
  node.platform_power_manageable = *manageable;
  return {};
}

/// Looks for the PM capability in the device's sysfs config file. Unprivileged
/// readers see only the first 64 bytes: the answer is then "unknown".
inline capability_presence pm_capability_from_sysfs(const char* root, const pci_address& bdf, syscalls& sys) noexcept {
  const auto path = device_path(root, bdf, "config");
  if (!path.ok()) return capability_presence::unknown;
  const int fd = sys.open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return capability_presence::unknown;
  unique_fd owned(fd, sys);
  std::uint8_t cfg[abi::pci::cfg_space_size];
  const long n = sys.pread(fd, cfg, sizeof cfg, 0);
  if (n < static_cast<long>(abi::pci::std_header_sizeof)) return capability_presence::unknown;
  // A count above the request (a broken seam) is clamped: only cfg's bytes exist.
  const std::size_t len = static_cast<std::size_t>(n) < sizeof cfg ? static_cast<std::size_t>(n) : sizeof cfg;
  const std::uint16_t status = static_cast<std::uint16_t>(cfg[abi::pci::status] | (cfg[abi::pci::status + 1] << 8));
  if ((status & abi::pci::status_bits::cap_list) == 0) return capability_presence::absent;
  std::uint8_t ptr = cfg[abi::pci::cap_list] & abi::pci::cap_ptr_mask;
  // At most (256 - 64) / 4 capabilities fit: more steps mean a loop.
  for (int step = 0; step < 48; ++step) {
    if (ptr < abi::pci::std_header_sizeof) return capability_presence::absent;
    if (static_cast<std::size_t>(ptr) + 2 > len) return capability_presence::unknown;
    if (cfg[ptr + abi::pci::cap_list_id] == abi::pci::cap::pm) return capability_presence::present;
    ptr = cfg[ptr + abi::pci::cap_list_next] & abi::pci::cap_ptr_mask;
  }
  return capability_presence::unknown;
}

/// Applies the rules documented at read_power_report.
inline void decide(power_report& r) noexcept {
  std::uint32_t found = 0;
  const auto add = [&found](power_limit l) { found |= static_cast<std::uint32_t>(l); };
  const power_node& dev = r.device;
  if (dev.control == runtime_pm_control::on) add(power_limit::runtime_pm_forbidden);
  if (dev.control == runtime_pm_control::absent || dev.status == runtime_status::unsupported)
    add(power_limit::runtime_pm_disabled);
  if (dev.d3cold == d3cold_policy::disallowed) add(power_limit::d3cold_disallowed);
  if (!dev.power_resources_d3hot) {
    std::size_t holder = r.bridge_count;
    for (std::size_t i = 0; i < r.bridge_count; ++i) {
      if (r.bridges[i].power_resources_d3hot) {
        holder = i;
        break;
      }
    }
    if (holder == r.bridge_count) {
      add(power_limit::no_platform_power_resources);
    } else {
      for (std::size_t i = 0; i <= holder; ++i)
        if (r.bridges[i].control != runtime_pm_control::automatic) add(power_limit::upstream_runtime_pm_forbidden);
    }
  }
  // pci_target_state: a device the platform manages reaches at least D3hot
  // (platform_pci_choose_state), PM capability or not.
  if (r.pm_capability == capability_presence::absent && !dev.platform_power_manageable)
    add(power_limit::no_pm_capability);

  constexpr std::uint32_t no_runtime_pm = static_cast<std::uint32_t>(power_limit::runtime_pm_forbidden) |
                                          static_cast<std::uint32_t>(power_limit::runtime_pm_disabled);
  constexpr std::uint32_t no_d3cold = static_cast<std::uint32_t>(power_limit::d3cold_disallowed) |
                                      static_cast<std::uint32_t>(power_limit::no_platform_power_resources) |
                                      static_cast<std::uint32_t>(power_limit::upstream_runtime_pm_forbidden);
  constexpr std::uint32_t no_d3hot = static_cast<std::uint32_t>(power_limit::no_pm_capability);
  const bool runtime_pm = (found & no_runtime_pm) == 0;
  if (runtime_pm && (found & no_d3cold) == 0)
    r.deepest = reachable_state::d3cold;
  else if (runtime_pm && (found & no_d3hot) == 0)
    r.deepest = reachable_state::d3hot;
  else
    r.deepest = reachable_state::d0;
  r.limits = r.deepest == reachable_state::d3cold ? 0 : found;
}

}  // namespace detail

/// Reads the power report of a PCI device (typically bound to vfio-pci).
///
/// Syscalls, in order:
///   1. readlink <root>/bus/pci/devices/<bdf>: the device's path under
///      /sys/devices (e.g. ../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0);
///      the components that parse as DDDD:BB:DD.F are the upstream bridges and,
///      last, the device itself;
///   2. for the device: power/control, power/runtime_status, power_state,
///      d3cold_allowed (each open, one read, close: see read_attribute; ENOENT =
///      absent), then access(F_OK) of firmware_node/power_resources_D3hot
///      (exists = _PR3) and of firmware_node/power_state (exists = the platform
///      manages the power); a seam without access opens and closes them instead;
///   3. when pm_capability is unknown: open <dev>/config, pread 256 bytes at
///      0, close, and walk the capability list (unknown when only 64 bytes
///      are readable, as for non-root);
///   4. step 2 for each upstream bridge, nearest first.
/// So 1 + 14 per function (+ 3 for config): 18 for a device on the root bus, 14 more
/// per bridge. Each function's directory path is built once.
///
/// Verdict (runtime PM after VFIO low-power entry; a PM_CTRL write of D3hot is
/// a separate path, see vfio::pci::power):
///   - D0 when runtime PM is forbidden (power/control=on) or disabled;
///   - otherwise D3cold when d3cold_allowed is not 0 and power resources exist
///     on the device, or on an upstream bridge whose path down to the device
///     has power/control=auto throughout;
///   - otherwise D3hot when the device has a PM capability or the platform
///     manages its power (pci_target_state asks platform_pci_power_manageable /
///     platform_pci_choose_state before looking at the PM capability);
///   - otherwise D0 (no PM capability and no platform power methods).
/// `limits` lists every reason found when the verdict is not D3cold.
/// Preconditions: sysfs_root is the sysfs mount ("/sys" unless testing).
/// Errors: readlink's errno (ENOENT: no such device); an attribute's errno
/// other than ENOENT (EACCES, EIO, ...); errc::parse_error (the link does
/// not end in the device's own address); errc::out_of_bounds (link target or
/// bridge chain too long); errc::invalid_argument (path too long).
inline result<power_report> read_power_report(const pci_address& bdf,
                                              capability_presence pm_capability = capability_presence::unknown,
                                              syscalls& sys = default_syscalls(),
                                              const char* sysfs_root = "/sys") noexcept {
  power_report report;
  const auto name = to_chars(bdf);
  auto link = detail::root_path(sysfs_root, "/bus/pci/devices/");
  link.append(name.data());
  if (!link.ok()) return detail::path_error();
  char target[512];
  const auto len = detail::read_link(link.c_str(), target, sizeof target, sys);
  if (!len) return len.error();

  // Collect BDF components root first, then reverse to nearest first.
  std::array<pci_address, max_upstream_bridges + 1> chain{};
  std::size_t count = 0;
  std::string_view rest(target, *len);
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.size() != 12) continue;  // only the full DDDD:BB:DD.F form names a PCI function
    const auto addr = parse_pci_address(part);
    if (!addr) continue;
    if (count == chain.size()) return error(errc::out_of_bounds, "readlink");
    chain[count++] = *addr;
  }
  if (count == 0 || chain[count - 1] != bdf) return error(errc::parse_error, "readlink");
  report.bridge_count = count - 1;
  for (std::size_t i = 0; i < report.bridge_count; ++i) report.bridges[i].address = chain[count - 2 - i];

  if (auto r = detail::read_node(sysfs_root, bdf, report.device, sys); !r) return r.error();
  report.pm_capability = pm_capability != capability_presence::unknown
                             ? pm_capability
                             : detail::pm_capability_from_sysfs(sysfs_root, bdf, sys);
  for (std::size_t i = 0; i < report.bridge_count; ++i) {
    const pci_address addr = report.bridges[i].address;
    if (auto r = detail::read_node(sysfs_root, addr, report.bridges[i], sys); !r) return r.error();
  }
  detail::decide(report);
  return report;
}

// ---------------------------------------------------------------------------
// Waiting for the kernel to settle

/// One reading of power/runtime_status and power_state.
struct power_sample {
  runtime_status status = runtime_status::absent;
  power_state state = power_state::absent;
  std::int64_t at_ns = 0;  ///< syscalls::monotonic_ns() when read
};

/// What wait_for_power_settle waits for.
struct settle_options {
  /// Wait until runtime_status reads this (e.g. suspended after entry, active after exit).
  std::optional<runtime_status> expect_status;
  /// Wait until power_state reads this (e.g. D3hot / D3cold after entry, D0 after exit).
  std::optional<power_state> expect_state;
  std::int64_t timeout_ns = 1'000'000'000;  ///< give up after this long
  std::int64_t interval_ns = 2'000'000;     ///< pause between readings
  /// Without expectations: return once both values have stayed the same this
  /// long and runtime_status is not suspending/resuming. Both change 10-25 ms
  /// after the ioctl returns, so keep this well above 25 ms.
  std::int64_t stable_ns = 50'000'000;
};

/// Polls <root>/bus/pci/devices/<bdf>/power/runtime_status and power_state
/// (each open, one read, close; ENOENT = absent; the paths built once) every interval_ns (sleeping
/// through syscalls::sleep_ns, deadline from syscalls::monotonic_ns) until they
/// match the expectations, or, with none given, until they stop changing.
/// Returns the final reading. On failure *last (if given) holds the last reading.
/// Errors: errc::timed_out (operation "wait_for_power_settle"); an attribute's
/// errno other than ENOENT; errc::invalid_argument (interval_ns <= 0 or path too long).
inline result<power_sample> wait_for_power_settle(const pci_address& bdf, const settle_options& options,
                                                  power_sample* last, syscalls& sys = default_syscalls(),
                                                  const char* sysfs_root = "/sys") noexcept {
  if (options.interval_ns <= 0) return error(errc::invalid_argument, "wait_for_power_settle");
  const bool expecting = options.expect_status.has_value() || options.expect_state.has_value();
  const std::int64_t deadline = vfio::detail::deadline_after(sys.monotonic_ns(), options.timeout_ns);
  detail::device_dir dir(sysfs_root, bdf);
  if (!dir.ok()) return detail::path_error();
  power_sample previous{};
  std::int64_t unchanged_since = 0;
  bool have_previous = false;
  for (;;) {
    power_node node;
    if (auto r = detail::read_status_and_state(dir, node, sys); !r) return r.error();
    power_sample s{node.status, node.state, sys.monotonic_ns()};
    if (last) *last = s;
    if (expecting) {
      const bool status_ok = !options.expect_status || *options.expect_status == s.status;
      const bool state_ok = !options.expect_state || *options.expect_state == s.state;
      if (status_ok && state_ok) return s;
    } else {
      const bool transitional = s.status == runtime_status::suspending || s.status == runtime_status::resuming;
      if (!have_previous || s.status != previous.status || s.state != previous.state) {
        unchanged_since = s.at_ns;
        have_previous = true;
      } else if (!transitional && s.at_ns - unchanged_since >= options.stable_ns) {
        return s;
      }
      previous = s;
    }
    if (s.at_ns >= deadline) return error(errc::timed_out, "wait_for_power_settle");
    const std::int64_t left = deadline - s.at_ns;
    if (const int r = sys.sleep_ns(left < options.interval_ns ? left : options.interval_ns); r < 0)
      return errno_error(-r, "nanosleep");
  }
}

/// wait_for_power_settle without the last reading on failure.
inline result<power_sample> wait_for_power_settle(const pci_address& bdf, const settle_options& options = {},
                                                  syscalls& sys = default_syscalls(),
                                                  const char* sysfs_root = "/sys") noexcept {
  return wait_for_power_settle(bdf, options, nullptr, sys, sysfs_root);
}

}  // namespace vfio::host

#endif  // VFIO_HOST_POWER_HPP_INCLUDED
