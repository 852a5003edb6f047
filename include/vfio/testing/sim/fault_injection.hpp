// Inspection and fault injection for a simulated kernel: the record of each
// seam call with its result, and rules that make chosen calls fail with a
// chosen errno before they reach the simulation. A rule can look into an
// ioctl's argument: the feature id of VFIO_DEVICE_FEATURE, the region or IRQ
// index of GET_REGION_INFO / GET_IRQ_INFO / SET_IRQS, or any test of the
// caller's own.
#ifndef VFIO_TESTING_SIM_FAULT_INJECTION_HPP_INCLUDED
#define VFIO_TESTING_SIM_FAULT_INJECTION_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "../call_kind.hpp"
#include "../callback.hpp"

namespace vfio::testing::sim {

/// One call as the simulated kernel saw it. monotonic_ns and sleep_ns are
/// not recorded.
struct call_record {
  std::uint64_t sequence = 0;  ///< 1-based, in arrival order
  std::int64_t time_ns = 0;    ///< virtual time when the call returned
  call_kind kind = call_kind::open;
  int fd = -1;                ///< descriptor argument (-1: none)
  unsigned long request = 0;  ///< ioctl/ioctl_value request
  unsigned long value = 0;    ///< ioctl_value argument, open/eventfd flags, poll nfds
  std::string path;           ///< open/readlink path
  std::int64_t offset = 0;    ///< pread/pwrite/mmap offset
  std::size_t length = 0;     ///< byte count / mapping length
  long result = 0;            ///< >= 0 or -errno, as returned
  bool injected = false;      ///< the result came from a fault rule
};

/// A call to fail. Unset fields match anything; the argument fields match only
/// ioctl(2) calls (not ioctl_value) whose argument holds them, e.g.
///   {.request = VFIO_DEVICE_FEATURE, .feature = LOW_POWER_ENTRY_WITH_WAKEUP, .feature_op = SET}
///   {.request = VFIO_DEVICE_SET_IRQS, .index = 4}
/// A field is read from the argument only when its argsz covers it (the kernel
/// would refuse a shorter one with EINVAL anyway: vfio_set_irqs_validate_and_prepare,
/// vfio_ioctl_device_feature).
struct fault_rule {
  std::optional<call_kind> kind;
  std::optional<unsigned long> request;  ///< ioctl / ioctl_value request number
  std::optional<int> fd;
  std::optional<std::string> path;  ///< open / readlink path, exact
  /// VFIO_DEVICE_FEATURE: the feature id, flags & abi::feature_flags::mask.
  std::optional<std::uint32_t> feature;
  /// VFIO_DEVICE_FEATURE: the GET / SET / PROBE bits of flags, exactly
  /// (abi::feature_flags::set, or probe | set, ...).
  std::optional<std::uint32_t> feature_op;
  /// VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS: the index field.
  std::optional<std::uint32_t> index;
  /// Any other test of an ioctl's argument: called with the request and the
  /// argument as passed (possibly null); the rule matches when it returns true.
  callback<bool(unsigned long request, const void* arg)> argument;
  /// 0: every matching call fails. n > 0: only the n-th matching call counted
  /// from when the rule was added.
  std::uint64_t nth = 0;
  int error = EIO;  ///< positive errno; the call returns -error
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_FAULT_INJECTION_HPP_INCLUDED
