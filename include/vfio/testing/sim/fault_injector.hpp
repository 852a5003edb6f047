// The simulated kernel's fault injector: the rules a test added
// (simulated_kernel::add_fault, sim::fault_rule in fault_injection.hpp) with their
// match counters, checked before each call reaches the simulation. Part of the
// model: the facade (<vfio/testing/simulated_kernel.hpp>) does not include it.
#ifndef VFIO_TESTING_SIM_FAULT_INJECTOR_HPP_INCLUDED
#define VFIO_TESTING_SIM_FAULT_INJECTOR_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "../../abi/vfio.hpp"
#include "../call_kind.hpp"
#include "fault_injection.hpp"

namespace vfio::testing::sim {

/// The rules and their match counters.
class fault_injector {
 public:
  void add(fault_rule rule) { rules_.push_back({std::move(rule), 0}); }
  void clear() noexcept { rules_.clear(); }
  bool empty() const noexcept { return rules_.empty(); }

  /// The errno to inject for this call, if a rule fires (counts every match).
  /// `arg` is an ioctl(2) call's argument, null for every other call.
  std::optional<int> check(call_kind kind, int fd, unsigned long request, const char* path, const void* arg = nullptr) {
    std::optional<int> hit;
    for (auto& r : rules_) {
      if (r.rule.kind && *r.rule.kind != kind) continue;
      if (r.rule.request &&
          ((kind != call_kind::ioctl && kind != call_kind::ioctl_value) || *r.rule.request != request))
        continue;
      if (r.rule.fd && *r.rule.fd != fd) continue;
      if (r.rule.path && (!path || *r.rule.path != path)) continue;
      if (!argument_matches(r.rule, kind, request, arg)) continue;
      ++r.matched;
      if (!hit && (r.rule.nth == 0 || r.rule.nth == r.matched)) hit = r.rule.error;
    }
    return hit;
  }

 private:
  /// The u32 at `offset` of an ioctl argument that starts with argsz, when argsz covers it.
  static std::optional<std::uint32_t> field(const void* arg, std::size_t offset) {
    if (!arg) return std::nullopt;
    std::uint32_t argsz = 0;
    std::memcpy(&argsz, arg, sizeof argsz);
    if (argsz < offset + sizeof(std::uint32_t)) return std::nullopt;
    std::uint32_t v = 0;
    std::memcpy(&v, static_cast<const unsigned char*>(arg) + offset, sizeof v);
    return v;
  }
  static bool argument_matches(const fault_rule& rule, call_kind kind, unsigned long request, const void* arg) {
    const bool wants_field = rule.feature || rule.feature_op || rule.index;
    if (!wants_field && !rule.argument) return true;
    if (kind != call_kind::ioctl) return false;
    if (rule.feature || rule.feature_op) {
      if (request != abi::req::device_feature) return false;
      const auto flags = field(arg, offsetof(abi::device_feature, flags));
      if (!flags) return false;
      constexpr std::uint32_t op_bits = abi::feature_flags::get | abi::feature_flags::set | abi::feature_flags::probe;
      if (rule.feature && (*flags & abi::feature_flags::mask) != *rule.feature) return false;
      if (rule.feature_op && (*flags & op_bits) != *rule.feature_op) return false;
    }
    if (rule.index) {
      std::optional<std::uint32_t> index;
      if (request == abi::req::device_get_region_info)
        index = field(arg, offsetof(abi::region_info, index));
      else if (request == abi::req::device_get_irq_info)
        index = field(arg, offsetof(abi::irq_info, index));
      else if (request == abi::req::device_set_irqs)
        index = field(arg, offsetof(abi::irq_set, index));
      if (!index || *index != *rule.index) return false;
    }
    return !rule.argument || rule.argument(request, arg);
  }

  struct entry {
    fault_rule rule;
    std::uint64_t matched;
  };
  std::vector<entry> rules_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_FAULT_INJECTOR_HPP_INCLUDED
