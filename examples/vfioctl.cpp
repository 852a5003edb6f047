// vfioctl: list, diagnose, bind and inspect VFIO devices and drive their power
// management, on the real host or on the simulated VFIO kernel. Built only on
// the library's public headers. `vfioctl --help` prints the usage; the JSON
// schema is described in README.md ("vfioctl").
#include <vfio/abi/pci.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/error.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/host/power.hpp>
#include <vfio/host/sysfs.hpp>
#include <vfio/pci/config.hpp>
#include <vfio/pci/config_snapshot.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/region.hpp>
#include <vfio/syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "vfioctl/doctor.hpp"
#include "vfioctl/json.hpp"
#include "vfioctl/machine.hpp"

namespace {

using vfioctl::json;
using vfioctl::machine;

/// Exit statuses (also in the usage text and README.md).
enum exit_status : int {
  exit_ok = 0,          ///< done; doctor: the device can be used through VFIO
  exit_failed = 1,      ///< a call failed or a request was refused (the reason is printed)
  exit_usage = 2,       ///< bad command line
  exit_not_usable = 3,  ///< doctor: the device cannot be used through VFIO until the findings are fixed
};

constexpr int json_schema = 1;

const char usage_text[] =
    "usage: vfioctl [--json] [--simulate[=PROFILE[:native]]] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  list                      PCI devices bound to vfio-pci or bindable: driver, IOMMU group, power\n"
    "  doctor BDF                why BDF can or cannot be used through VFIO, and the fix for each cause\n"
    "  bind BDF [--group]        bind BDF to vfio-pci (driver_override); --group: its group's other\n"
    "                            devices too (refused without it when they hold other drivers)\n"
    "  unbind BDF                back from vfio-pci to the driver the kernel picks (the native one)\n"
    "  info BDF                  regions, IRQs, capabilities, IOMMU\n"
    "  features BDF              the VFIO_DEVICE_FEATURE survey\n"
    "  power BDF status          PM capability, low-power ABI, sysfs state, host power report\n"
    "  power BDF d0|d3hot        PM_CTRL transition (vfio-pci restores D0 when vfioctl exits)\n"
    "  power BDF enter [--wakeup]  low-power entry (ended by vfio-pci when vfioctl exits)\n"
    "  power BDF exit            low-power exit, then D0\n"
    "  power BDF cycle [--wakeup]  D0 -> D3hot -> low-power entry -> [wake-up ->] exit -> D0,\n"
    "                            each step's latency and the sysfs state it settled in\n"
    "  help                      this text\n"
    "\n"
    "options:\n"
    "  --json                    one JSON object on stdout (schema: README.md, \"vfioctl\")\n"
    "  --simulate[=PROFILE]      the simulated VFIO kernel instead of the host (no device, no root);\n"
    "                            PROFILE picks the default BDF: e1000e (0000:00:03.0, default),\n"
    "                            nvme (0000:00:05.0), virtio-net (0000:01:00.0), edu (0000:00:06.0),\n"
    "                            gpu (0000:02:00.0); PROFILE:native starts it (and its IOMMU group)\n"
    "                            on its native driver. With --simulate, BDF may be omitted.\n"
    "  -h, --help                this text\n"
    "\n"
    "BDF: DDDD:BB:DD.F or BB:DD.F (lspci -D shows them).\n"
    "exit status: 0 done (doctor: usable), 1 failed or refused, 2 bad command line,\n"
    "             3 doctor: not usable until the findings are fixed.\n";

struct options {
  bool json = false;
  bool simulate = false;
  std::string profile = "e1000e";
  bool native = false;
  bool wakeup = false;
  bool group = false;
  std::string command;
  std::vector<std::string> args;
};

int usage_error(const std::string& why) {
  std::fprintf(stderr, "vfioctl: %s\n(vfioctl --help for usage)\n", why.c_str());
  return exit_usage;
}

/// Where a command writes: human text or one JSON object.
struct output {
  bool json_mode;
  json j{stdout};
};

const char* category_name(const std::error_code& c) {
  if (c.category() == std::system_category()) return "errno";
  if (c.category() == vfio::category()) return "vfio";
  return c.category().name();
}

int fail(output& out, const vfio::error& e) {
  if (out.json_mode) {
    out.j.unwind(1);
    out.j.field("ok", false);
    out.j.begin_object("error")
        .field("operation", e.operation())
        .field("category", category_name(e.code()))
        .field("value", e.value())
        .field("message", e.code().message())
        .end_object();
  }
  std::fprintf(stderr, "vfioctl: %s\n", e.message().c_str());
  return exit_failed;
}

int refuse(output& out, const std::string& why) {
  if (out.json_mode) {
    out.j.unwind(1);
    out.j.field("ok", false);
    out.j.begin_object("error")
        .field("operation", "vfioctl")
        .field("category", "refused")
        .null("value")
        .field("message", why)
        .end_object();
  }
  std::fprintf(stderr, "vfioctl: %s\n", why.c_str());
  return exit_failed;
}

std::string hex(unsigned v, int digits) {
  char b[16];
  std::snprintf(b, sizeof b, "%0*x", digits, v);
  return b;
}

std::string size_text(std::uint64_t n) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (u < 4 && n >= 1024 && n % 1024 == 0) {
    n /= 1024;
    ++u;
  }
  return std::to_string(n) + units[u];
}

std::string ms(std::int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f ms", static_cast<double>(ns) / 1e6);
  return b;
}

/// "Ethernet controller: Intel Corporation 82574L ... [8086:10d3]", pci.ids names when present.
std::string title(const vfioctl::function_info& f) {
  const auto names = vfioctl::lookup_names(f.vendor, f.device);
  std::string cls = vfioctl::class_name(f.class_code);
  if (cls.empty()) cls = "Class " + hex(f.class_code >> 8, 4);
  std::string t = cls;
  if (!names.vendor.empty()) t += ": " + names.vendor;
  if (!names.device.empty()) t += " " + names.device;
  return t + " [" + hex(f.vendor, 4) + ":" + hex(f.device, 4) + "]";
}

void identity_json(json& j, const vfioctl::function_info& f) {
  const auto names = vfioctl::lookup_names(f.vendor, f.device);
  j.field("vendor_id", hex(f.vendor, 4)).field("device_id", hex(f.device, 4)).field("class_id", hex(f.class_code, 6));
  const char* cls = vfioctl::class_name(f.class_code);
  if (*cls)
    j.field("class", cls);
  else
    j.null("class");
  if (!names.vendor.empty())
    j.field("vendor", names.vendor);
  else
    j.null("vendor");
  if (!names.device.empty())
    j.field("device", names.device);
  else
    j.null("device");
  if (!f.driver.empty())
    j.field("driver", f.driver);
  else
    j.null("driver");
  if (f.group)
    j.field("iommu_group", *f.group);
  else
    j.null("iommu_group");
}

// --- sysfs power state ------------------------------------------------------

struct power_seen {
  vfio::host::runtime_status status = vfio::host::runtime_status::absent;
  vfio::host::power_state state = vfio::host::power_state::absent;
  std::int64_t settled_after_ns = 0;  ///< from the start of the step to the last change seen
};

power_seen read_power(machine& m, const std::string& bdf) {
  power_seen p;
  if (auto s = m.attribute(bdf, "power/runtime_status")) p.status = vfio::host::parse_runtime_status(*s);
  if (auto s = m.attribute(bdf, "power_state")) p.state = vfio::host::parse_power_state(*s);
  return p;
}

/// Polls runtime_status and power_state every millisecond until both have
/// stayed the same for 50 ms (they change 10-25 ms after the call that causes
/// them) and runtime_status is not suspending/resuming, or 2 s have passed.
power_seen settle(machine& m, const std::string& bdf, std::int64_t step_start_ns) {
  vfio::syscalls& sys = m.sys();
  const std::int64_t deadline = sys.monotonic_ns() + 2'000'000'000;
  power_seen last = read_power(m, bdf);
  std::int64_t changed = step_start_ns;
  for (;;) {
    const std::int64_t now = sys.monotonic_ns();
    const bool moving =
        last.status == vfio::host::runtime_status::suspending || last.status == vfio::host::runtime_status::resuming;
    if ((!moving && now - changed >= 50'000'000) || now >= deadline) break;
    sys.sleep_ns(1'000'000);
    const power_seen p = read_power(m, bdf);
    if (p.status != last.status || p.state != last.state) changed = sys.monotonic_ns();
    last = p;
  }
  last.settled_after_ns = changed - step_start_ns;
  return last;
}

// --- the VFIO session ------------------------------------------------------------

struct session {
  vfio::container container;
  vfio::group group;
  vfio::device device;
};

/// The standard open sequence: container, group of the device, IOMMU, device fd.
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

const char* iommu_name(std::uint32_t type) {
  switch (type) {
    case vfio::abi::extension::type1_iommu: return "Type1 IOMMU";
    case vfio::abi::extension::type1v2_iommu: return "Type1v2 IOMMU";
    case vfio::abi::extension::spapr_tce_iommu: return "sPAPR TCE IOMMU";
    case vfio::abi::extension::spapr_tce_v2_iommu: return "sPAPR TCE v2 IOMMU";
    case vfio::abi::extension::noiommu_iommu: return "no-IOMMU (unsafe)";
    default: return "unknown IOMMU";
  }
}

const char* limit_id(vfio::host::power_limit l) {
  using vfio::host::power_limit;
  switch (l) {
    case power_limit::runtime_pm_forbidden: return "runtime_pm_forbidden";
    case power_limit::runtime_pm_disabled: return "runtime_pm_disabled";
    case power_limit::d3cold_disallowed: return "d3cold_disallowed";
    case power_limit::no_platform_power_resources: return "no_platform_power_resources";
    case power_limit::upstream_runtime_pm_forbidden: return "upstream_runtime_pm_forbidden";
    case power_limit::no_pm_capability: return "no_pm_capability";
  }
  return "?";
}

void power_report_out(output& out, const vfio::host::power_report& r) {
  if (out.json_mode) {
    out.j.begin_object("power_report").field("deepest", vfio::host::to_string(r.deepest));
    out.j.begin_array("limits");
    for (auto l : vfio::host::all_power_limits)
      if (r.limited_by(l)) out.j.value(limit_id(l));
    out.j.end_array().end_object();
    return;
  }
  std::printf("\tPower: low-power entry can reach %s\n", vfio::host::to_string(r.deepest));
  for (auto l : vfio::host::all_power_limits)
    if (r.limited_by(l)) std::printf("\t\tlimited by: %s\n", vfio::host::to_string(l));
}

// --- list ----------------------------------------------------------------------

int cmd_list(output& out, machine& m) {
  std::vector<vfioctl::function_info> all;
  for (const auto& bdf : m.addresses()) all.push_back(m.describe(bdf));
  std::map<unsigned, bool> viable;
  for (const auto& f : all)
    if (f.group) {
      auto it = viable.emplace(*f.group, true).first;
      it->second = it->second && vfioctl::keeps_group_viable(f.driver);
    }
  struct row {
    std::string cells[7];
  };
  std::vector<row> rows;
  rows.push_back({{"BDF", "ID", "CLASS", "DRIVER", "GROUP", "POWER", "NAME"}});
  if (out.json_mode) out.j.begin_array("devices");
  for (const auto& f : all) {
    if (f.bridge) continue;
    const power_seen p = read_power(m, f.bdf);
    const auto names = vfioctl::lookup_names(f.vendor, f.device);
    if (out.json_mode) {
      out.j.begin_object().field("bdf", f.bdf);
      identity_json(out.j, f);
      if (f.group)
        out.j.field("group_viable", viable[*f.group]);
      else
        out.j.null("group_viable");
      out.j.field("runtime_status", vfio::host::to_string(p.status))
          .field("power_state", vfio::host::to_string(p.state));
      out.j.end_object();
      continue;
    }
    std::string cls = vfioctl::class_name(f.class_code);
    if (cls.empty()) cls = hex(f.class_code >> 8, 4);
    std::string group = "-";
    if (f.group) group = std::to_string(*f.group) + (viable[*f.group] ? " viable" : " not viable");
    std::string name = names.vendor;
    if (!names.device.empty()) name += " " + names.device;
    rows.push_back({{f.bdf, hex(f.vendor, 4) + ":" + hex(f.device, 4), cls, f.driver.empty() ? "-" : f.driver, group,
                     std::string(vfio::host::to_string(p.state)) + " " + vfio::host::to_string(p.status), name}});
  }
  if (out.json_mode) {
    out.j.end_array().field("ok", true);
    return exit_ok;
  }
  std::size_t width[7] = {};
  for (const auto& r : rows)
    for (int i = 0; i < 7; ++i) width[i] = std::max(width[i], r.cells[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (int i = 0; i < 7; ++i) {
      line += r.cells[i];
      if (i < 6) line += std::string(width[i] - r.cells[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
  return exit_ok;
}

// --- doctor --------------------------------------------------------------------

int cmd_doctor(output& out, machine& m, const vfio::host::pci_address& addr, const std::string& bdf) {
  auto diagnosis = vfioctl::diagnose(m, addr);
  if (!diagnosis) return fail(out, diagnosis.error());
  const auto& findings = *diagnosis;
  const bool usable = std::none_of(findings.begin(), findings.end(), [](const auto& f) { return f.blocking; });
  const bool exists =
      std::none_of(findings.begin(), findings.end(), [](const auto& f) { return f.cause == "device_absent"; });
  const vfioctl::function_info f = m.describe(bdf);
  if (out.json_mode) {
    out.j.field("bdf", bdf).field("usable", usable);
    out.j.begin_array("findings");
    for (const auto& x : findings)
      out.j.begin_object()
          .field("cause", x.cause)
          .field("subject", x.subject)
          .field("message", x.sentence)
          .field("fix", x.fix)
          .field("blocking", x.blocking)
          .end_object();
    out.j.end_array();
  } else {
    std::printf("%s %s\n", bdf.c_str(), exists ? title(f).c_str() : "");
    if (usable)
      std::printf("\tUsable through VFIO: driver %s, IOMMU group %u viable\n", f.driver.c_str(),
                  f.group ? *f.group : 0U);
    else
      std::printf("\tNot usable through VFIO yet:\n");
    for (const auto& x : findings) {
      std::printf("\t%-23s %s\n", x.cause.c_str(), x.sentence.c_str());
      if (!x.fix.empty()) std::printf("\t%-23s fix: %s\n", "", x.fix.c_str());
    }
  }
  if (exists) {
    auto report = vfio::host::read_power_report(addr, vfio::host::capability_presence::unknown, m.sys());
    if (report)
      power_report_out(out, *report);
    else if (out.json_mode)
      out.j.null("power_report");
    else
      std::printf("\tPower: no report (%s)\n", report.error().message().c_str());
  } else if (out.json_mode) {
    out.j.null("power_report");
  }
  if (out.json_mode) out.j.field("ok", true);
  return usable ? exit_ok : exit_not_usable;
}

// --- bind / unbind ------------------------------------------------------------------

int cmd_bind(output& out, machine& m, const vfio::host::pci_address& addr, const std::string& bdf, bool whole_group) {
  auto group = vfio::host::iommu_group_of(addr, m.sys());
  if (!group) return fail(out, group.error());
  std::vector<std::string> targets = {bdf};
  std::string others;
  for (const auto& f : m.group_members(*group)) {
    if (f.bdf == bdf || vfioctl::keeps_group_viable(f.driver)) continue;
    targets.push_back(f.bdf);
    others += (others.empty() ? "" : ", ") + f.bdf + " (" + f.driver + ")";
  }
  if (targets.size() > 1 && !whole_group)
    return refuse(out, "IOMMU group " + std::to_string(*group) + " also holds " + others +
                           ": pass --group to bind them to vfio-pci too");
  if (out.json_mode) out.j.begin_array("devices");
  for (const auto& t : targets) {
    const auto a = vfio::host::parse_pci_address(t);
    const std::string from = m.describe(t).driver;
    if (auto r = vfio::host::bind_to_driver(*a, "vfio-pci", m.sys()); !r) return fail(out, r.error());
    const std::string to = m.describe(t).driver;
    if (out.json_mode)
      out.j.begin_object().field("bdf", t).field("from", from).field("to", to).end_object();
    else
      std::printf("%s  %s -> %s\n", t.c_str(), from.empty() ? "(none)" : from.c_str(), to.c_str());
  }
  if (out.json_mode) out.j.end_array().field("ok", true);
  return exit_ok;
}

int cmd_unbind(output& out, machine& m, const std::string& bdf) {
  const std::string from = m.describe(bdf).driver;
  if (from != "vfio-pci")
    return refuse(out, bdf + " is bound to " + (from.empty() ? std::string("no driver") : from) + ", not vfio-pci");
  const std::string dev = "/sys/bus/pci/devices/" + bdf;
  // Clear the override so that the native driver may match again, release the
  // device from vfio-pci and let the PCI core probe it (drivers/base/bus.c).
  if (auto r = vfio::host::write_attribute((dev + "/driver_override").c_str(), "\n", m.sys()); !r)
    return fail(out, r.error());
  if (auto r = vfio::host::write_attribute("/sys/bus/pci/drivers/vfio-pci/unbind", bdf, m.sys()); !r)
    return fail(out, r.error());
  if (auto r = vfio::host::write_attribute("/sys/bus/pci/drivers_probe", bdf, m.sys()); !r) return fail(out, r.error());
  const std::string to = m.describe(bdf).driver;
  if (out.json_mode) {
    out.j.begin_array("devices").begin_object().field("bdf", bdf).field("from", from).field("to", to);
    out.j.end_object().end_array().field("ok", true);
  } else {
    std::printf("%s  %s -> %s\n", bdf.c_str(), from.c_str(), to.empty() ? "(none)" : to.c_str());
  }
  return exit_ok;
}

// --- info ---------------------------------------------------------------------------

std::string pm_text(const vfio::pci::pm_capability& c) {
  char b[160];
  std::snprintf(b, sizeof b, "Power Management version %u: D1%c D2%c NoSoftRst%c PME-Support=%02x, state %s",
                c.pmc.version, c.pmc.d1 ? '+' : '-', c.pmc.d2 ? '+' : '-', c.pmcsr.no_soft_reset ? '+' : '-',
                c.pmc.pme_support, vfio::pci::to_string(c.pmcsr.power_state));
  return b;
}

std::string express_type(unsigned type) {
  namespace e = vfio::abi::pci::pcie;
  switch (type) {
    case e::type_endpoint: return "Endpoint";
    case e::type_leg_end: return "Legacy Endpoint";
    case e::type_root_port: return "Root Port";
    case e::type_upstream: return "Upstream Port";
    case e::type_downstream: return "Downstream Port";
    case e::type_pci_bridge: return "PCI-PCIe Bridge";
    case 0x9: return "Root Complex Integrated Endpoint";
    case 0xa: return "Root Complex Event Collector";
    default: return "type " + std::to_string(type);
  }
}

std::string capability_text(const vfio::pci::config_snapshot& s, const vfio::pci::capability& c) {
  namespace pci = vfio::abi::pci;
  const auto at = [&](unsigned off) { return static_cast<std::uint16_t>(c.offset + off); };
  char b[160];
  switch (c.id) {
    case pci::cap::pm: {
      const auto pmc = vfio::pci::decode_pmc(s.u16(at(pci::pm_pmc)));
      const auto csr = vfio::pci::decode_pmcsr(s.u16(at(pci::pm_ctrl)));
      std::snprintf(b, sizeof b, "Power Management version %u: D1%c D2%c NoSoftRst%c, state %s", pmc.version,
                    pmc.d1 ? '+' : '-', pmc.d2 ? '+' : '-', csr.no_soft_reset ? '+' : '-',
                    vfio::pci::to_string(csr.power_state));
      return b;
    }
    case pci::cap::msi: {
      const std::uint16_t fl = s.u16(at(pci::msi_flags));
      std::snprintf(b, sizeof b, "MSI: Enable%c Count=%u/%u Maskable%c 64bit%c",
                    (fl & pci::msi::flags_enable) ? '+' : '-', 1U << ((fl & pci::msi::flags_qsize) >> 4),
                    1U << ((fl & pci::msi::flags_qmask) >> 1), (fl & pci::msi::flags_maskbit) ? '+' : '-',
                    (fl & pci::msi::flags_64bit) ? '+' : '-');
      return b;
    }
    case pci::cap::msix: {
      const std::uint16_t fl = s.u16(at(pci::msix_flags));
      std::snprintf(b, sizeof b, "MSI-X: Enable%c Count=%u Masked%c", (fl & pci::msix::flags_enable) ? '+' : '-',
                    (fl & pci::msix::flags_qsize) + 1U, (fl & pci::msix::flags_maskall) ? '+' : '-');
      return b;
    }
    case pci::cap::exp: {
      const std::uint16_t fl = s.u16(at(pci::exp_flags));
      return "Express (v" + std::to_string(fl & pci::pcie::flags_vers) + ") " +
             express_type((fl & pci::pcie::flags_type) >> 4);
    }
    case pci::cap::vndr: std::snprintf(b, sizeof b, "Vendor Specific Information: Len=%02x", s.u8(at(2))); return b;
    case pci::cap::agp: return "AGP";
    case pci::cap::vpd: return "Vital Product Data";
    case pci::cap::pcix: return "PCI-X";
    default: std::snprintf(b, sizeof b, "Capability %02x", c.id); return b;
  }
}

std::string ext_capability_text(const vfio::pci::capability& c) {
  namespace x = vfio::abi::pci::ext_cap;
  switch (c.id) {
    case x::err: return "Advanced Error Reporting";
    case x::vc:
    case x::vc9: return "Virtual Channel";
    case x::dsn: return "Device Serial Number";
    case x::pwr: return "Power Budgeting";
    case x::vndr: return "Vendor Specific Information";
    case x::acs: return "Access Control Services";
    case x::ari: return "Alternative Routing-ID Interpretation (ARI)";
    case x::ats: return "Address Translation Service (ATS)";
    case x::sriov: return "Single Root I/O Virtualization (SR-IOV)";
    case x::pri: return "Page Request Interface (PRI)";
    case x::rebar: return "Physical Resizable BAR";
    case x::tph: return "Transaction Processing Hints";
    case x::ltr: return "Latency Tolerance Reporting";
    case x::secpci: return "Secondary PCI Express";
    case x::pasid: return "Process Address Space ID (PASID)";
    case x::dpc: return "Downstream Port Containment";
    case x::l1ss: return "L1 PM Substates";
    case x::ptm: return "Precision Time Measurement";
    default: return "Extended Capability " + hex(c.id, 4);
  }
}

std::string region_name(std::uint32_t i, const vfio::pci::config_snapshot& s) {
  namespace r = vfio::abi::pci_region;
  if (i <= r::bar5) {
    const std::uint32_t bar = s.u32(static_cast<std::uint16_t>(vfio::abi::pci::base_address_0 + 4 * i));
    if (bar & vfio::abi::pci::base_address_bits::space_io) return "I/O ports";
    std::string t =
        (bar & vfio::abi::pci::base_address_bits::mem_type_mask) == vfio::abi::pci::base_address_bits::mem_type_64
            ? "Memory (64-bit"
            : "Memory (32-bit";
    return t + ((bar & vfio::abi::pci::base_address_bits::mem_prefetch) ? ", prefetchable)" : ", non-prefetchable)");
  }
  if (i == r::rom) return "Expansion ROM";
  if (i == r::config) return "Config space";
  if (i == r::vga) return "VGA";
  return "Device-specific";
}

const char* irq_name(std::uint32_t i) {
  static const char* names[] = {"INTx", "MSI", "MSI-X", "ERR", "REQ"};
  return i < 5 ? names[i] : "other";
}

int cmd_info(output& out, machine& m, const vfio::host::pci_address& addr, const std::string& bdf) {
  const vfioctl::function_info f = m.describe(bdf);
  auto s = open_session(addr, m.sys());
  if (!s) return fail(out, s.error());
  auto info = s->device.info();
  if (!info) return fail(out, info.error());
  vfio::pci::config cfg(s->device);
  auto snap = cfg.snapshot();
  if (!snap) return fail(out, snap.error());

  if (out.json_mode) {
    out.j.field("bdf", bdf);
    identity_json(out.j, f);
    out.j.field("iommu", iommu_name(s->container.iommu_type()));
    out.j.field("reset", info->can_reset()).field("pci", info->is_pci());
    out.j.begin_array("regions");
  } else {
    std::printf("%s %s\n", bdf.c_str(), title(f).c_str());
    std::printf("\tDriver: %s, IOMMU group %u, %s, reset%c\n", f.driver.c_str(), s->group.number(),
                iommu_name(s->container.iommu_type()), info->can_reset() ? '+' : '-');
  }
  for (std::uint32_t i = 0; i < info->num_regions; ++i) {
    auto r = s->device.region(i);
    if (!r) {
      // vfio-pci answers EINVAL for the VGA region of a device without one.
      if (i == vfio::abi::pci_region::vga && r.error() == std::errc::invalid_argument) continue;
      return fail(out, r.error());
    }
    const vfio::region_info& ri = **r;
    if (ri.size == 0) continue;
    const std::string name = region_name(i, *snap);
    if (out.json_mode) {
      out.j.begin_object()
          .field("index", i)
          .field("name", name)
          .field("size", ri.size)
          .field("read", ri.readable())
          .field("write", ri.writable())
          .field("mmap", ri.mappable())
          .end_object();
    } else {
      std::string access = std::string(ri.readable() ? "read" : "") + (ri.writable() ? ", write" : "") +
                           (ri.mappable() ? ", mmap" : "") + (ri.msix_mappable ? ", MSI-X mmap" : "");
      std::printf("\tRegion %u: %s, size=%s [%s]\n", i, name.c_str(), size_text(ri.size).c_str(), access.c_str());
    }
  }
  if (out.json_mode) out.j.end_array().begin_array("irqs");
  for (std::uint32_t i = 0; i < info->num_irqs; ++i) {
    auto q = s->device.irq(i);
    if (!q || q->count == 0) continue;
    if (out.json_mode) {
      out.j.begin_object().field("index", i).field("name", irq_name(i)).field("count", q->count);
      out.j.field("maskable", q->maskable()).field("automasked", q->automasked()).field("noresize", q->noresize());
      out.j.end_object();
    } else {
      std::printf("\tIRQ %s: count=%u%s%s%s\n", irq_name(i), q->count, q->maskable() ? ", maskable" : "",
                  q->automasked() ? ", automasked" : "", q->noresize() ? ", noresize" : "");
    }
  }
  if (out.json_mode) out.j.end_array().begin_array("capabilities");
  auto walked = snap->for_each_capability([&](const vfio::pci::capability& c) {
    const std::string text = capability_text(*snap, c);
    if (out.json_mode)
      out.j.begin_object().field("offset", c.offset).field("id", c.id).field("name", text).end_object();
    else
      std::printf("\tCapabilities: [%02x] %s\n", c.offset, text.c_str());
    return true;
  });
  if (!walked) return fail(out, walked.error());
  if (out.json_mode) out.j.end_array().begin_array("extended_capabilities");
  auto ext = snap->for_each_ext_capability([&](const vfio::pci::capability& c) {
    const std::string text = ext_capability_text(c);
    if (out.json_mode)
      out.j.begin_object()
          .field("offset", c.offset)
          .field("id", c.id)
          .field("version", c.version)
          .field("name", text)
          .end_object();
    else
      std::printf("\tCapabilities: [%03x v%u] %s\n", c.offset, c.version, text.c_str());
    return true;
  });
  if (!ext) return fail(out, ext.error());
  if (out.json_mode) out.j.end_array().begin_array("iova_ranges");
  if (auto iommu = s->container.get_iommu_info()) {
    std::string ranges;
    for (const auto& r : iommu->iova_ranges) {
      char b[64];
      std::snprintf(b, sizeof b, "0x%" PRIx64 "-0x%" PRIx64, r.start, r.end);
      if (out.json_mode)
        out.j.begin_object().field("start", r.start).field("end", r.end).end_object();
      else
        ranges += (ranges.empty() ? "" : ", ") + std::string(b);
    }
    if (!out.json_mode && !ranges.empty()) std::printf("\tIOVA ranges: %s\n", ranges.c_str());
  }
  if (out.json_mode) out.j.end_array().field("ok", true);
  return exit_ok;
}

// --- features -----------------------------------------------------------------------

int cmd_features(output& out, machine& m, const vfio::host::pci_address& addr, const std::string& bdf) {
  auto s = open_session(addr, m.sys());
  if (!s) return fail(out, s.error());
  auto survey = vfio::feature::supported_features(s->device);
  if (!survey) return fail(out, survey.error());
  if (out.json_mode) {
    out.j.field("bdf", bdf).begin_array("features");
  } else {
    std::printf("%s VFIO device features\n", bdf.c_str());
  }
  for (const auto& f : *survey) {
    if (out.json_mode) {
      out.j.begin_object()
          .field("id", f.id)
          .field("name", f.name)
          .field("supported", f.supported)
          .field("get", f.can_get)
          .field("set", f.can_set)
          .field("probe_errno", f.probe_errno)
          .end_object();
      continue;
    }
    const char* how = !f.supported             ? "not supported"
                      : f.can_get && f.can_set ? "get, set"
                      : f.can_get              ? "get"
                      : f.can_set              ? "set"
                                               : "probe only";
    const std::string label = std::string(f.name) + ":";
    std::printf("\t%-29s %s\n", label.c_str(), how);
  }
  if (out.json_mode) out.j.end_array().field("ok", true);
  return exit_ok;
}

// --- power --------------------------------------------------------------------------

vfio::result<std::uint16_t> cfg_read_vendor(vfio::device& d) { return vfio::pci::config(d).read16(0); }

struct step_log {
  output& out;
  machine& m;
  std::string bdf;
  bool header_printed = false;

  /// Prints (or adds to the JSON "steps" array) one transition: the call's
  /// duration and the state sysfs settled in.
  void record(const char* id, const char* label, std::int64_t call_ns, const power_seen& p) {
    if (out.json_mode) {
      out.j.begin_object().field("step", id);
      if (call_ns < 0)
        out.j.null("call_ns");
      else
        out.j.field("call_ns", call_ns);
      out.j.field("settled_ns", p.settled_after_ns);
      out.j.field("runtime_status", vfio::host::to_string(p.status))
          .field("power_state", vfio::host::to_string(p.state));
      out.j.end_object();
      return;
    }
    if (!header_printed) {
      std::printf("\t%-32s %10s %10s  %-15s %s\n", "step", "call", "settled", "runtime_status", "power_state");
      header_printed = true;
    }
    std::printf("\t%-32s %10s %10s  %-15s %s\n", label, call_ns < 0 ? "-" : ms(call_ns).c_str(),
                ms(p.settled_after_ns).c_str(), vfio::host::to_string(p.status), vfio::host::to_string(p.state));
  }
};

int cmd_power(output& out, machine& m, const vfio::host::pci_address& addr, const std::string& bdf,
              const std::string& action, bool wakeup) {
  vfio::syscalls& sys = m.sys();
  const power_seen idle = read_power(m, bdf);  // before the open wakes the device
  auto s = open_session(addr, sys);
  if (!s) return fail(out, s.error());
  vfio::pci::power pm(s->device);
  auto dialect = pm.detect_dialect();
  if (!dialect) return fail(out, dialect.error());
  auto cap = pm.capability();
  if (!cap && cap.error() != vfio::errc::no_pm_capability) return fail(out, cap.error());
  if (out.json_mode)
    out.j.field("bdf", bdf).field("action", action).field("dialect", vfio::pci::to_string(*dialect));
  else
    std::printf("%s power %s (low-power ABI: %s)\n", bdf.c_str(), action.c_str(), vfio::pci::to_string(*dialect));

  if (action == "status") {
    auto report = vfio::host::read_power_report(
        addr, cap ? vfio::host::capability_presence::present : vfio::host::capability_presence::absent, sys);
    if (!report) return fail(out, report.error());
    if (out.json_mode) {
      if (cap)
        out.j.begin_object("pm_capability")
            .field("offset", cap->offset)
            .field("version", cap->pmc.version)
            .field("d1", cap->pmc.d1)
            .field("d2", cap->pmc.d2)
            .field("no_soft_reset", cap->pmcsr.no_soft_reset)
            .field("state", vfio::pci::to_string(cap->pmcsr.power_state))
            .end_object();
      else
        out.j.null("pm_capability");
      out.j.begin_object("idle")
          .field("runtime_status", vfio::host::to_string(idle.status))
          .field("power_state", vfio::host::to_string(idle.state))
          .end_object();
      power_report_out(out, *report);
      out.j.field("ok", true);
      return exit_ok;
    }
    if (cap)
      std::printf("\t%s\n", pm_text(*cap).c_str());
    else
      std::printf("\tNo Power Management capability (no D3hot)\n");
    std::printf("\tIdle (before this open): runtime_status=%s power_state=%s\n", vfio::host::to_string(idle.status),
                vfio::host::to_string(idle.state));
    power_report_out(out, *report);
    return exit_ok;
  }

  step_log log{out, m, bdf};
  if (out.json_mode) out.j.begin_array("steps");
  const auto timed = [&](auto&& call, std::int64_t& took) {
    const std::int64_t t0 = sys.monotonic_ns();
    auto r = call();
    took = sys.monotonic_ns() - t0;
    return r;
  };
  std::int64_t took = 0;

  if (action == "d0" || action == "d3hot") {
    const auto target = action == "d0" ? vfio::pci::d_state::d0 : vfio::pci::d_state::d3hot;
    const std::int64_t t0 = sys.monotonic_ns();
    auto r = timed([&] { return pm.set_power_state(target); }, took);
    if (!r) return fail(out, r.error());
    log.record(action.c_str(), action == "d0" ? "PM_CTRL -> D0" : "PM_CTRL -> D3hot", took, settle(m, bdf, t0));
  } else if (action == "enter") {
    vfio::pci::suspend_options o;
    o.wakeup = wakeup;
    const std::int64_t t0 = sys.monotonic_ns();
    auto r = timed([&] { return pm.suspend(o); }, took);
    if (!r) return fail(out, r.error());
    log.record(wakeup ? "enter_with_wakeup" : "enter", wakeup ? "low-power entry (with wake-up)" : "low-power entry",
               took, settle(m, bdf, t0));
  } else if (action == "exit") {
    const std::int64_t t0 = sys.monotonic_ns();
    auto r = timed([&] { return pm.resume(); }, took);
    if (!r) return fail(out, r.error());
    log.record("exit", "low-power exit -> D0", took, settle(m, bdf, t0));
  } else {  // cycle
    power_seen opened = settle(m, bdf, sys.monotonic_ns());
    log.record("open", "open (D0)", -1, opened);
    if (cap) {
      const std::int64_t t0 = sys.monotonic_ns();
      auto r = timed([&] { return pm.set_power_state(vfio::pci::d_state::d3hot); }, took);
      if (!r) return fail(out, r.error());
      log.record("d3hot", "PM_CTRL -> D3hot", took, settle(m, bdf, t0));
    }
    vfio::pci::suspend_options o;
    o.wakeup = wakeup;
    std::int64_t t0 = sys.monotonic_ns();
    auto entered = timed([&] { return pm.suspend(o); }, took);
    if (!entered) return fail(out, entered.error());
    log.record(wakeup ? "enter_with_wakeup" : "enter", wakeup ? "low-power entry (with wake-up)" : "low-power entry",
               took, settle(m, bdf, t0));
    if (wakeup) {
      // Any access wakes the device: a config read here, as a guest's would.
      t0 = sys.monotonic_ns();
      auto id = timed([&] { return cfg_read_vendor(s->device); }, took);
      if (!id) return fail(out, id.error());
      auto woke = pm.wait_for_wakeup(1'000'000'000);
      if (!woke) return fail(out, woke.error());
      log.record("wakeup", "wake-up (config read, eventfd)", took, settle(m, bdf, t0));
    }
    t0 = sys.monotonic_ns();
    auto r = timed([&] { return pm.resume(); }, took);
    if (!r) return fail(out, r.error());
    log.record("exit", "low-power exit -> D0", took, settle(m, bdf, t0));
  }
  if (out.json_mode) {
    out.j.end_array().field("mappings_accessible", s->device.mappings_accessible()).field("ok", true);
  } else {
    std::printf("\tmapped BARs accessible: %s\n", s->device.mappings_accessible() ? "yes" : "no (SIGBUS until exit)");
    if (action == "d3hot" || action == "enter")
      std::printf("\t(vfio-pci ends this state when vfioctl closes the device)\n");
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      o.json = true;
    } else if (a == "--simulate" || a.rfind("--simulate=", 0) == 0) {
      o.simulate = true;
      if (a.size() > 10) {
        std::string p = a.substr(11);
        const auto colon = p.find(':');
        if (colon != std::string::npos) {
          if (p.substr(colon + 1) != "native") return usage_error("unknown simulation variant in '" + a + "'");
          o.native = true;
          p = p.substr(0, colon);
        }
        const auto& names = vfioctl::profile_names();
        if (std::find(names.begin(), names.end(), p) == names.end())
          return usage_error("unknown profile '" + p + "' (e1000e, nvme, virtio-net, edu, gpu)");
        o.profile = p;
      }
    } else if (a == "--wakeup") {
      o.wakeup = true;
    } else if (a == "--group") {
      o.group = true;
    } else if (a == "-h" || a == "--help") {
      help = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("unknown option '" + a + "'");
    } else if (o.command.empty()) {
      o.command = a;
    } else {
      o.args.push_back(a);
    }
  }
  if (help || o.command == "help") {
    std::fputs(usage_text, stdout);
    return exit_ok;
  }
  if (o.command.empty()) {
    std::fputs(usage_text, stderr);
    return exit_usage;
  }

  // The command's arguments: BDF first (optional with --simulate), then the power action.
  static const std::vector<std::string> commands = {"list", "doctor", "bind", "unbind", "info", "features", "power"};
  if (std::find(commands.begin(), commands.end(), o.command) == commands.end())
    return usage_error("unknown command '" + o.command + "'");
  std::vector<std::string> rest = o.args;
  std::string bdf_text;
  if (o.command != "list") {
    if (!rest.empty() && vfio::host::parse_pci_address(rest.front())) {
      bdf_text = rest.front();
      rest.erase(rest.begin());
    } else if (!rest.empty() && o.command != "power") {
      return usage_error("'" + rest.front() + "' is not a PCI address (DDDD:BB:DD.F)");
    } else if (!o.simulate) {
      return usage_error(o.command + " needs a PCI address (DDDD:BB:DD.F)");
    }
  }
  std::string action;
  if (o.command == "power") {
    static const std::vector<std::string> actions = {"status", "d0", "d3hot", "enter", "exit", "cycle"};
    if (rest.empty()) return usage_error("power needs an action: status, d0, d3hot, enter, exit or cycle");
    action = rest.front();
    rest.erase(rest.begin());
    if (std::find(actions.begin(), actions.end(), action) == actions.end())
      return usage_error("unknown power action '" + action + "'");
  }
  if (!rest.empty()) return usage_error("unexpected argument '" + rest.front() + "' for " + o.command);
  if (o.wakeup && !(o.command == "power" && (action == "enter" || action == "cycle")))
    return usage_error("--wakeup applies only to 'power enter' and 'power cycle'");
  if (o.group && o.command != "bind") return usage_error("--group applies only to 'bind'");

  machine m;
  if (o.simulate) {
    const std::string why = m.simulate(o.profile, o.native);
    if (!why.empty()) {
      std::fprintf(stderr, "vfioctl: simulated kernel: %s\n", why.c_str());
      return exit_failed;
    }
    if (bdf_text.empty()) bdf_text = m.default_bdf();
  }
  vfio::host::pci_address addr{};
  std::string bdf;
  if (!bdf_text.empty()) {
    addr = *vfio::host::parse_pci_address(bdf_text);
    bdf = vfio::host::to_chars(addr).data();
  }

  output out{o.json};
  if (o.json) {
    out.j.begin_object().field("schema", json_schema).field("command", o.command).field("simulated", o.simulate);
  } else if (o.simulate) {
    std::printf("(simulated VFIO kernel, profile %s%s)\n", o.profile.c_str(), o.native ? ":native" : "");
  }
  int rc = exit_usage;
  if (o.command == "list") rc = cmd_list(out, m);
  if (o.command == "doctor") rc = cmd_doctor(out, m, addr, bdf);
  if (o.command == "bind") rc = cmd_bind(out, m, addr, bdf, o.group);
  if (o.command == "unbind") rc = cmd_unbind(out, m, bdf);
  if (o.command == "info") rc = cmd_info(out, m, addr, bdf);
  if (o.command == "features") rc = cmd_features(out, m, addr, bdf);
  if (o.command == "power") rc = cmd_power(out, m, addr, bdf, action, o.wakeup);
  if (o.json) out.j.finish();
  std::fflush(stdout);
  return rc;
}
