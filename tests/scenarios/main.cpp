// scenarios: runs the library's scenarios against the real kernel (in the QEMU
// guest) or the simulated kernel (on the host) and prints their traces.
//
//   scenarios [--device NAME|--all] [--scenario NAME|--all] [--list]
//             [--path group|cdev|compat|group,cdev,compat]
//             [--simulate --kernel TAG --platform plain|d3cold]
//             [--devices "name,bdf,group ..."]
//
// In the guest the devices, kernel tag and platform come from the environment
// tests/kernel/boot.sh's /init exports (KTEST_DEVICES, KTEST_KERNEL,
// KTEST_PLATFORM; the path from KTEST_PATH when --path is not given). With
// --simulate they are those of the QEMU machine unless --devices gives them
// (the comparison passes the guest's own list, so that group numbers agree).
//
// --path says how open_stack reaches each device: group (the default:
// container and group) or cdev (iommufd, IOAS and the device's cdev). A list
// runs every selected scenario once per path, in that order, in one process
// (one backend: the guest's firmware markers keep counting, the simulated
// kernel keeps its state, as the real one does across the passes). On the cdev
// path a scenario's name is printed as <scenario>@cdev, so that the traces of
// the two passes are compared each with the same pass of the other side.
// compat is the group path with /dev/iommu opened as the container: iommufd's
// VFIO compatibility container (vfio_compat.c) answers the container ioctls;
// its scenarios are printed as <scenario>@compat.
//
// Output, one line each:
//   KTRACE <scenario> <device> <trace line>
//   KFAIL <scenario> <device> <file>:<line>: <what>
//   KSCENARIO PASS|FAIL <scenario> <device> [reason]
//   KTIME <scenario> <device> <milliseconds, on the seam's clock>
//   KSUMMARY passed=N failed=M
// Exit status 0 only if every scenario passed.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <vfio/host/pci_address.hpp>
#include <vfio/testing/tracing_syscalls.hpp>

#include "backends.hpp"
#include "common.hpp"
#include "scenario.hpp"

namespace {

struct options {
  std::string device = "all";
  std::string scenario = "all";
  bool simulate = false;
  bool list = false;
  std::string kernel;
  std::string platform;
  std::string devices;
  std::string path;
};

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "scenarios: %s\n", why);
  std::fprintf(stderr,
               "usage: scenarios [--device NAME|--all] [--scenario NAME|--all] [--list]\n"
               "                 [--path group|cdev|compat|group,cdev,compat]\n"
               "                 [--simulate --kernel 6.1|6.12|7|own --platform plain|d3cold]\n"
               "                 [--devices \"name,bdf,group ...\"]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    // "--device --all" and "--scenario --all" select everything, as does a bare "--all".
    const auto name_or_all = [](const std::string& v) { return v == "--all" ? std::string("all") : v; };
    if (a == "--device")
      o.device = name_or_all(value());
    else if (a == "--scenario")
      o.scenario = name_or_all(value());
    else if (a == "--all")
      continue;
    else if (a == "--simulate")
      o.simulate = true;
    else if (a == "--kernel")
      o.kernel = value();
    else if (a == "--platform")
      o.platform = value();
    else if (a == "--devices")
      o.devices = value();
    else if (a == "--path")
      o.path = value();
    else if (a == "--list")
      o.list = true;
    else if (a == "-h" || a == "--help")
      usage(nullptr);
    else
      usage(("unknown argument " + a).c_str());
  }
  return o;
}

// "name,bdf,group name,bdf,group ..."
bool parse_devices(const std::string& text, std::vector<ktest::device_under_test>& out, std::string& why) {
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const auto c1 = item.find(',');
    const auto c2 = item.find(',', c1 == std::string::npos ? c1 : c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) {
      why = "bad device entry '" + item + "' (want name,bdf,group)";
      return false;
    }
    ktest::device_under_test d;
    d.name = item.substr(0, c1);
    d.bdf = item.substr(c1 + 1, c2 - c1 - 1);
    const std::string group = item.substr(c2 + 1);
    auto addr = vfio::host::parse_pci_address(d.bdf);
    char* end = nullptr;
    const unsigned long g = std::strtoul(group.c_str(), &end, 10);
    if (!addr || group.empty() || *end != '\0') {
      why = "bad device entry '" + item + "'";
      return false;
    }
    d.address = *addr;
    d.group = static_cast<unsigned>(g);
    out.push_back(d);
  }
  if (out.empty()) {
    why = "no devices";
    return false;
  }
  return true;
}

// The QEMU machine of tests/kernel/boot.sh as the guest kernels number its
// groups (the comparison passes the guest's own list with --devices anyway).
const char* const default_devices =
    "e1000e,0000:00:03.0,1 nvme,0000:00:05.0,3 virtio-net,0000:01:00.0,6 edu,0000:00:06.0,4";

// One pass of the run: how open_stack reaches the devices.
struct pass {
  vfio::open_path path = vfio::open_path::group;
  bool iommufd_container = false;  ///< compat: the group path with /dev/iommu as the container
  bool operator==(const pass& o) const { return path == o.path && iommufd_container == o.iommufd_container; }
};

// "group", "cdev", "compat" or a comma-separated list of them, each at most once.
bool parse_paths(const std::string& text, std::vector<pass>& out) {
  std::string rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string word = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    pass p;
    if (word == "group")
      p.path = vfio::open_path::group;
    else if (word == "cdev")
      p.path = vfio::open_path::cdev;
    else if (word == "compat")
      p.iommufd_container = true;
    else
      return false;
    for (auto q : out)
      if (q == p) return false;
    out.push_back(p);
  }
  return !out.empty();
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  static char out_buffer[1 << 16];
  std::setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
  options o = parse(argc, argv);

  if (o.list) {
    for (const auto& s : ktest::registry()) std::printf("%-24s %s\n", s.name, s.summary);
    return 0;
  }

  std::string device_text = o.devices;
  if (!o.simulate) {
    if (device_text.empty()) device_text = env("KTEST_DEVICES");
    if (o.kernel.empty()) o.kernel = env("KTEST_KERNEL");
    if (o.platform.empty()) o.platform = env("KTEST_PLATFORM");
    if (o.path.empty()) o.path = env("KTEST_PATH");
    if (device_text.empty()) usage("no devices: KTEST_DEVICES is not set (not in the test guest?) and no --devices");
  } else if (device_text.empty()) {
    device_text = default_devices;
  }
  if (o.kernel.empty()) usage("no kernel tag (--kernel, or KTEST_KERNEL in the guest)");
  if (o.platform != "plain" && o.platform != "d3cold") usage("--platform must be plain or d3cold");
  std::vector<pass> paths;
  if (!parse_paths(o.path.empty() ? "group" : o.path, paths))
    usage("--path must be group, cdev, compat or a list of them (group,cdev)");

  std::vector<ktest::device_under_test> devices;
  std::string why;
  if (!parse_devices(device_text, devices, why)) usage(why.c_str());

  std::unique_ptr<ktest::backend> be;
  if (o.simulate) {
    be = ktest::make_simulated_backend(o.kernel, o.platform, devices, &why);
    if (!be) usage(why.c_str());
  } else {
    be = ktest::make_guest_backend();
  }

  bool device_found = o.device == "all", scenario_found = o.scenario == "all";
  int passed = 0, failed = 0;
  for (const pass& p : paths) {
    const std::string suffix = p.iommufd_container ? "@compat" : p.path == vfio::open_path::cdev ? "@cdev" : "";
    for (const auto& dut : devices) {
      if (o.device != "all" && o.device != dut.name) continue;
      device_found = true;
      for (const auto& sc : ktest::registry()) {
        if (o.scenario != "all" && o.scenario != sc.name) continue;
        scenario_found = true;
        const std::string name = sc.name + suffix;
        vfio::testing::tracing_syscalls tracer(be->seam());
        ktest::context ctx(tracer, dut, o.kernel, o.platform, *be, p.path, p.iommufd_container);
        // Every scenario starts from the idle state of a bound, unused device
        // (runtime suspended: D3cold or D3hot, D0 without a PM capability), so
        // that no scenario sees what the previous one left in flight.
        if (!ktest::settle(ctx, vfio::host::runtime_status::suspended,
                           ktest::to_power_state(ktest::expected_deepest(ctx))))
          ctx.fail(__FILE__, __LINE__, "the device did not reach its idle state before the scenario");
        be->firmware_start(dut);
        const std::int64_t started = be->seam().monotonic_ns();
        sc.run(ctx);
        const std::int64_t took_ms = (be->seam().monotonic_ns() - started) / 1000000;
        const char* n = name.c_str();
        const char* dn = dut.name.c_str();
        for (const auto& line : tracer.lines()) std::printf("KTRACE %s %s %s\n", n, dn, line.c_str());
        for (const auto& f : ctx.failures()) {
          const char* file = std::strrchr(f.file, '/');
          std::printf("KFAIL %s %s %s:%d: %s\n", n, dn, file ? file + 1 : f.file, f.line, f.what.c_str());
        }
        if (ctx.failures().empty()) {
          ++passed;
          std::printf("KSCENARIO PASS %s %s\n", n, dn);
        } else {
          ++failed;
          std::printf("KSCENARIO FAIL %s %s %zu failed check(s)\n", n, dn, ctx.failures().size());
        }
        std::printf("KTIME %s %s %lld ms\n", n, dn, static_cast<long long>(took_ms));
        std::fflush(stdout);
      }
    }
  }
  if (!device_found) usage(("no device " + o.device).c_str());
  if (!scenario_found) usage(("no scenario " + o.scenario).c_str());
  std::printf("KSUMMARY passed=%d failed=%d\n", passed, failed);
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}
