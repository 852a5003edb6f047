// The library's three power-state vocabularies and the conversions between
// them:
//   pci::d_state          what PMCSR's PowerState field holds (D0..D3hot): what
//                         the device says, read through its config space;
//   host::power_state     the PCI core's current_state in sysfs power_state
//                         (D0..D3cold, plus unknown / error / absent): what the
//                         host kernel believes;
//   host::reachable_state the power report's verdict on the deepest state
//                         runtime PM can reach (D0, D3hot, D3cold).
// Each conversion that always exists returns the state; one that does not
// (D3cold has no PowerState encoding: PMCSR is unreadable then and reads as
// all ones, which drivers/pci/pci.c pci_update_current_state takes for D3cold)
// returns std::optional.
// Also the names of pci/power.hpp's option enums.
#ifndef VFIO_POWER_STATES_HPP_INCLUDED
#define VFIO_POWER_STATES_HPP_INCLUDED

#include <optional>

#include "host/power.hpp"
#include "pci/power.hpp"

namespace vfio {

namespace host {

/// The sysfs power_state of a PowerState value: always defined.
constexpr power_state to_power_state(pci::d_state s) noexcept {
  switch (s) {
    case pci::d_state::d0: return power_state::d0;
    case pci::d_state::d1: return power_state::d1;
    case pci::d_state::d2: return power_state::d2;
    case pci::d_state::d3hot: return power_state::d3hot;
  }
  return power_state::unknown;
}

/// The sysfs power_state of a power report verdict: always defined.
constexpr power_state to_power_state(reachable_state s) noexcept {
  switch (s) {
    case reachable_state::d0: return power_state::d0;
    case reachable_state::d3hot: return power_state::d3hot;
    case reachable_state::d3cold: return power_state::d3cold;
  }
  return power_state::unknown;
}

/// The verdict vocabulary for a sysfs power_state: D0, D3hot and D3cold only
/// (runtime PM of a vfio-pci device never targets D1/D2 on the platforms the
/// report models; none for absent, unknown, error and other).
constexpr std::optional<reachable_state> to_reachable_state(power_state s) noexcept {
  switch (s) {
    case power_state::d0: return reachable_state::d0;
    case power_state::d3hot: return reachable_state::d3hot;
    case power_state::d3cold: return reachable_state::d3cold;
    default: return std::nullopt;
  }
}

/// The verdict vocabulary for a PowerState value: D0 and D3hot only.
constexpr std::optional<reachable_state> to_reachable_state(pci::d_state s) noexcept {
  return to_reachable_state(to_power_state(s));
}

}  // namespace host

namespace pci {

/// The PowerState value of a sysfs power_state: D0..D3hot; none for D3cold
/// (no encoding) and for absent, unknown, error and other.
constexpr std::optional<d_state> to_d_state(host::power_state s) noexcept {
  switch (s) {
    case host::power_state::d0: return d_state::d0;
    case host::power_state::d1: return d_state::d1;
    case host::power_state::d2: return d_state::d2;
    case host::power_state::d3hot: return d_state::d3hot;
    default: return std::nullopt;
  }
}

/// The PowerState value of a verdict: none for D3cold.
constexpr std::optional<d_state> to_d_state(host::reachable_state s) noexcept {
  return to_d_state(host::to_power_state(s));
}

inline const char* to_string(low_power_request r) noexcept {
  switch (r) {
    case low_power_request::exit: return "exit";
    case low_power_request::enter: return "enter";
    case low_power_request::enter_with_wakeup: return "enter with wake-up";
  }
  return "?";
}

inline const char* to_string(d3hot_policy p) noexcept {
  switch (p) {
    case d3hot_policy::if_required: return "if required";
    case d3hot_policy::if_possible: return "if possible";
    case d3hot_policy::never: return "never";
  }
  return "?";
}

}  // namespace pci

}  // namespace vfio

#endif  // VFIO_POWER_STATES_HPP_INCLUDED
