// The VFIO_DEVICE_FEATURE survey and the framing's edge cases, with each
// kernel's real errnos in the trace.
#include <cerrno>
#include <cstdint>

#include <vfio/abi/vfio.hpp>
#include <vfio/feature.hpp>

#include "common.hpp"
#include "scenario.hpp"

using ktest::failed_with;

KSCENARIO("features",
          "PROBE of every known feature, PROBE|GET and PROBE|SET of those not ENOTTY; the low-power framing") {
  ktest::stack s;
  if (!ktest::open_stack(ctx, s)) return;
  auto survey = vfio::feature::supported_features(s.device);
  KREQUIRE_MSG(survey, "%s", ktest::outcome(survey).c_str());
  const auto name = [](int e) { return e == 0 ? std::string("0") : vfio::testing::errno_name(-e).substr(1); };
  for (const auto& f : *survey)
    ctx.note("feature %u %s: probe=%s get=%s set=%s", f.id, f.name, name(f.probe_errno).c_str(),
             name(f.get_errno).c_str(), name(f.set_errno).c_str());

  // What every vfio-pci of 6.1 and later answers: the three low-power
  // features are SET-only; no migration, no dirty logging, no VF token on a
  // device that is not an SR-IOV PF (vfio_pci_core_ioctl_feature).
  using vfio::abi::feature_id::low_power_entry;
  using vfio::abi::feature_id::low_power_entry_with_wakeup;
  using vfio::abi::feature_id::low_power_exit;
  for (std::uint32_t id : {low_power_entry, low_power_entry_with_wakeup, low_power_exit}) {
    const auto& f = (*survey)[id];
    KCHECK_MSG(f.supported && f.can_set && !f.can_get && f.get_errno == EINVAL, "feature %u", id);
  }
  for (std::uint32_t id : {vfio::abi::feature_id::pci_vf_token, vfio::abi::feature_id::migration,
                           vfio::abi::feature_id::mig_device_state, vfio::abi::feature_id::dma_logging_start,
                           vfio::abi::feature_id::dma_logging_stop, vfio::abi::feature_id::dma_logging_report}) {
    const auto& f = (*survey)[id];
    KCHECK_MSG(!f.supported && f.probe_errno == ENOTTY, "feature %u: probe errno %d", id, f.probe_errno);
  }

  KCHECK(vfio::feature::probe<vfio::feature::low_power_entry>(s.device));
  KCHECK(vfio::feature::probe<vfio::feature::low_power_entry_with_wakeup>(s.device));
  KCHECK(vfio::feature::probe<vfio::feature::low_power_exit>(s.device));
  auto get_entry = vfio::feature::probe(s.device, low_power_entry, vfio::feature::direction::get);
  KCHECK(failed_with(get_entry, vfio::errc::feature_direction_invalid));
  auto unknown = vfio::feature::probe(s.device, 0x7ff);
  KCHECK(failed_with(unknown, vfio::errc::feature_unsupported));

  // EXIT while not engaged is 0; a negative wake-up eventfd is EINVAL.
  KCHECK(vfio::feature::set<vfio::feature::low_power_exit>(s.device));
  const vfio::abi::feature_low_power_entry_with_wakeup bad{-1, 0};
  KCHECK(failed_with(vfio::feature::set<vfio::feature::low_power_entry_with_wakeup>(s.device, bad), EINVAL));
  std::uint64_t payload = 0;
  auto untyped = vfio::feature::call(s.device, low_power_entry, vfio::feature::direction::get, &payload, 0);
  KCHECK_MSG(failed_with(untyped, EINVAL), "GET of LOW_POWER_ENTRY: %s", ktest::outcome(untyped).c_str());
}
