// vfioctl: inspect a VFIO device and drive its power management.
//
//   vfioctl [--simulate] info        [BDF]   container, group, regions, IRQs, capabilities
//   vfioctl [--simulate] features    [BDF]   VFIO_DEVICE_FEATURE survey
//   vfioctl [--simulate] power       [BDF]   PM capability and the host power report
//   vfioctl [--simulate] power-cycle [BDF] [--wakeup]
//                                            D0 -> D3hot -> low-power entry -> wake-up / exit -> D0
//
// Without a BDF (or with --simulate) it runs against the simulated VFIO kernel
// shipped in <vfio/testing/simulated_kernel.hpp>, with an e1000e-like NIC at
// 0000:00:03.0 on a platform with ACPI power resources, so it works on any
// machine. Given a BDF bound to vfio-pci (and root), it drives the real device.
#include <vfio/testing/simulated_kernel.hpp>
#include <vfio/vfio.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace {

struct session {
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

int fail(const vfio::error& e) {
  std::fprintf(stderr, "vfioctl: %s\n", e.message().c_str());
  return 1;
}

// The standard open sequence: container, group of the device, IOMMU, device fd.
vfio::result<session> open_session(const vfio::host::pci_address& bdf, vfio::syscalls& sys) {
  session s;
  auto c = vfio::container::open("/dev/vfio/vfio", sys);
  if (!c) return c.error();
  s.container = std::move(*c);
  auto g = vfio::group::open_for_device(bdf, sys);
  if (!g) return g.error();
  s.group = std::move(*g);
  if (auto r = s.group.set_container(s.container); !r) return r.error();
  if (auto r = s.container.set_best_iommu(); !r) return r.error();
  auto d = s.group.open_device(vfio::host::to_chars(bdf).data());
  if (!d) return d.error();
  s.device = std::move(*d);
  return s;
}

void print_states(const char* step, const vfio::host::pci_address& bdf, vfio::syscalls& sys) {
  vfio::host::settle_options o;
  o.timeout_ns = 500'000'000;
  vfio::host::power_sample last;
  auto s = vfio::host::wait_for_power_settle(bdf, o, &last, sys, "/sys");
  const auto& v = s ? *s : last;
  std::printf("  %-34s runtime_status=%-10s power_state=%s\n", step, vfio::host::to_string(v.status),
              vfio::host::to_string(v.state));
}

int cmd_info(const vfio::host::pci_address& bdf, vfio::syscalls& sys) {
  auto s = open_session(bdf, sys);
  if (!s) return fail(s.error());
  auto info = s->device.info();
  if (!info) return fail(info.error());
  std::printf("device %s: group %u, IOMMU type %u, %u regions, %u IRQ indexes, reset %s\n",
              vfio::host::to_chars(bdf).data(), s->group.number(), s->container.iommu_type(), info->num_regions,
              info->num_irqs, info->can_reset() ? "yes" : "no");
  for (std::uint32_t i = 0; i < info->num_regions; ++i) {
    auto r = s->device.region(i);
    if (!r) {
      // vfio-pci answers EINVAL for the VGA region of a device without one.
      if (!(i == vfio::abi::pci_region::vga && r.error() == std::errc::invalid_argument))
        std::printf("  region %u: %s\n", i, r.error().message().c_str());
      continue;
    }
    const vfio::region_info& ri = **r;
    if (ri.size == 0) continue;
    std::printf("  region %u: size 0x%" PRIx64 " %s%s%s%s\n", i, ri.size, ri.readable() ? "r" : "-",
                ri.writable() ? "w" : "-", ri.mappable() ? "m" : "-", ri.msix_mappable ? " msix-mappable" : "");
  }
  for (std::uint32_t i = 0; i < info->num_irqs; ++i) {
    auto q = s->device.irq(i);
    if (q) std::printf("  irq index %u: count %u flags 0x%x\n", i, q->count, q->flags);
  }
  vfio::pci::config cfg(s->device);
  auto snap = cfg.snapshot();
  if (!snap) return fail(snap.error());
  std::printf("  vendor %04x device %04x\n", snap->u16(0), snap->u16(2));
  auto walked = snap->for_each_capability([](const vfio::pci::capability& c) {
    std::printf("  capability 0x%02x at 0x%02x\n", c.id, c.offset);
    return true;
  });
  if (!walked) return fail(walked.error());
  auto ext = snap->for_each_ext_capability([](const vfio::pci::capability& c) {
    std::printf("  extended capability 0x%04x v%u at 0x%03x\n", c.id, c.version, c.offset);
    return true;
  });
  if (!ext) return fail(ext.error());
  auto iommu = s->container.get_iommu_info();
  if (iommu)
    for (const auto& range : iommu->iova_ranges)
      std::printf("  IOVA range 0x%" PRIx64 "-0x%" PRIx64 "\n", range.start, range.end);
  return 0;
}

int cmd_features(const vfio::host::pci_address& bdf, vfio::syscalls& sys) {
  auto s = open_session(bdf, sys);
  if (!s) return fail(s.error());
  auto survey = vfio::feature::supported_features(s->device);
  if (!survey) return fail(survey.error());
  for (const auto& f : *survey)
    std::printf("  %2u %-28s %-13s get:%-3s set:%-3s (probe errno %d)\n", f.id, f.name,
                f.supported ? "supported" : "not supported", f.can_get ? "yes" : "no", f.can_set ? "yes" : "no",
                f.probe_errno);
  return 0;
}

int cmd_power(const vfio::host::pci_address& bdf, vfio::syscalls& sys) {
  auto s = open_session(bdf, sys);
  if (!s) return fail(s.error());
  vfio::pci::power pm(s->device);
  auto cap = pm.capability();
  auto presence = vfio::host::capability_presence::absent;
  if (cap) {
    presence = vfio::host::capability_presence::present;
    std::printf("PM capability at 0x%02x: version %u, D1 %s, D2 %s, NoSoftRst %s, state %s\n", cap->offset,
                cap->pmc.version, cap->pmc.d1 ? "yes" : "no", cap->pmc.d2 ? "yes" : "no",
                cap->keeps_state_across_d3hot() ? "yes (keeps state across D3hot)" : "no",
                vfio::pci::to_string(cap->pmcsr.power_state));
  } else {
    std::printf("PM capability: %s\n", cap.error().message().c_str());
  }
  auto dialect = pm.detect_dialect();
  if (dialect) std::printf("low-power dialect: %s\n", vfio::pci::to_string(*dialect));
  auto report = vfio::host::read_power_report(bdf, presence, sys);
  if (!report) return fail(report.error());
  std::printf("deepest reachable state: %s\n", vfio::host::to_string(report->deepest));
  for (auto limit : vfio::host::all_power_limits)
    if (report->limited_by(limit)) std::printf("  limited by: %s\n", vfio::host::to_string(limit));
  return 0;
}

int cmd_power_cycle(const vfio::host::pci_address& bdf, vfio::syscalls& sys, bool wakeup) {
  auto s = open_session(bdf, sys);
  if (!s) return fail(s.error());
  vfio::pci::power pm(s->device);
  auto dialect = pm.detect_dialect();
  if (!dialect) return fail(dialect.error());
  std::printf("device %s, low-power dialect %s\n", vfio::host::to_chars(bdf).data(), vfio::pci::to_string(*dialect));
  print_states("open (D0)", bdf, sys);

  if (pm.capability()) {
    if (auto r = pm.set_power_state(vfio::pci::d_state::d3hot); !r) return fail(r.error());
    print_states("PM_CTRL -> D3hot", bdf, sys);
    std::printf("  mapped BARs accessible: %s\n", s->device.mappings_accessible() ? "yes" : "no (SIGBUS)");
  }

  vfio::pci::suspend_options options;
  options.wakeup = wakeup && *dialect == vfio::pci::low_power_dialect::merged;
  if (auto r = pm.suspend(options); !r) return fail(r.error());
  print_states(options.wakeup ? "low-power entry (with wake-up)" : "low-power entry", bdf, sys);

  if (options.wakeup) {
    // Any access wakes the device: a config read here, as a guest's would.
    vfio::pci::config cfg(s->device);
    auto id = cfg.read16(0);
    if (!id) return fail(id.error());
    auto woke = pm.wait_for_wakeup(1'000'000'000);
    if (!woke) return fail(woke.error());
    std::printf("  wake-up eventfd fired (count %" PRIu64 ") after a config read\n", *woke);
    print_states("woken by the access", bdf, sys);
  }
  if (auto r = pm.resume(); !r) return fail(r.error());
  print_states("exit -> D0", bdf, sys);
  auto state = pm.power_state();
  if (state) std::printf("  PM_CTRL reads %s\n", vfio::pci::to_string(*state));
  std::printf("  mapped BARs accessible: %s\n", s->device.mappings_accessible() ? "yes" : "no");
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: vfioctl [--simulate] info|features|power|power-cycle [BDF] [--wakeup]\n"
               "  without a BDF the simulated VFIO kernel is used (e1000e-like NIC at 0000:00:03.0)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool simulate = false, wakeup = false;
  const char* command = nullptr;
  const char* bdf_text = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--simulate")
      simulate = true;
    else if (a == "--wakeup")
      wakeup = true;
    else if (a == "-h" || a == "--help")
      return usage();
    else if (!command)
      command = argv[i];
    else if (!bdf_text)
      bdf_text = argv[i];
    else
      return usage();
  }
  if (!command) command = "power-cycle";
  if (!bdf_text) simulate = true;

  std::unique_ptr<vfio::testing::simulated_kernel> sim;
  vfio::syscalls* sys = &vfio::default_syscalls();
  if (simulate) {
    sim = std::make_unique<vfio::testing::simulated_kernel>();
    auto nic = vfio::testing::sim::profiles::e1000e();
    nic.power_resources = true;  // ACPI _PR3: runtime suspend can reach D3cold
    if (auto added = sim->add_device(nic); !added) return fail(added.error());
    sys = sim.get();
    if (!bdf_text) bdf_text = "0000:00:03.0";
    std::printf("(simulated VFIO kernel)\n");
  }
  auto bdf = vfio::host::parse_pci_address(bdf_text);
  if (!bdf) return fail(bdf.error());

  const std::string c = command;
  if (c == "info") return cmd_info(*bdf, *sys);
  if (c == "features") return cmd_features(*bdf, *sys);
  if (c == "power") return cmd_power(*bdf, *sys);
  if (c == "power-cycle") return cmd_power_cycle(*bdf, *sys, wakeup);
  return usage();
}
