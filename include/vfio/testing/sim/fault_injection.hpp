// Inspection and fault injection for a simulated kernel: the record of each
// seam call with its result, and rules that make chosen calls fail with a
// chosen errno before they reach the simulation.
#ifndef VFIO_TESTING_SIM_FAULT_INJECTION_HPP_INCLUDED
#define VFIO_TESTING_SIM_FAULT_INJECTION_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../call_kind.hpp"

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

/// A call to fail. Unset fields match anything.
struct fault_rule {
  std::optional<call_kind> kind;
  std::optional<unsigned long> request;  ///< ioctl / ioctl_value request number
  std::optional<int> fd;
  std::optional<std::string> path;  ///< open / readlink path, exact
  /// 0: every matching call fails. n > 0: only the n-th matching call counted
  /// from when the rule was added.
  std::uint64_t nth = 0;
  int error = EIO;  ///< positive errno; the call returns -error
};

/// The rules and their match counters.
class fault_injector {
 public:
  void add(fault_rule rule) { rules_.push_back({std::move(rule), 0}); }
  void clear() noexcept { rules_.clear(); }
  bool empty() const noexcept { return rules_.empty(); }

  /// The errno to inject for this call, if a rule fires (counts every match).
  std::optional<int> check(call_kind kind, int fd, unsigned long request, const char* path) {
    std::optional<int> hit;
    for (auto& r : rules_) {
      if (r.rule.kind && *r.rule.kind != kind) continue;
      if (r.rule.request &&
          ((kind != call_kind::ioctl && kind != call_kind::ioctl_value) || *r.rule.request != request))
        continue;
      if (r.rule.fd && *r.rule.fd != fd) continue;
      if (r.rule.path && (!path || *r.rule.path != path)) continue;
      ++r.matched;
      if (!hit && (r.rule.nth == 0 || r.rule.nth == r.matched)) hit = r.rule.error;
    }
    return hit;
  }

 private:
  struct entry {
    fault_rule rule;
    std::uint64_t matched;
  };
  std::vector<entry> rules_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_FAULT_INJECTION_HPP_INCLUDED
