// Systematic fault injection: every flow runs once cleanly against the
// simulated kernel to learn the syscalls it makes, then once per (syscall,
// errno) with exactly that call failing. After each run: no crash or hang, an
// error names the failed operation, the objects destroyed leave no descriptor
// and no mapping in the model, a failed suspend leaves neither a D3hot it
// wrote nor low power engaged, and the flow succeeds when run again without
// the fault. Also: EMFILE / ENOMEM while opening leave what is open usable.
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/feature.hpp>
#include <vfio/group.hpp>
#include <vfio/host/power.hpp>
#include <vfio/pci/power.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <sys/eventfd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "../catch.hpp"

namespace {

namespace sim = vfio::testing::sim;
using vfio::testing::call_kind;
using vfio::testing::simulated_kernel;

/// The errnos every call is failed with.
constexpr int injected_errnos[] = {EINTR, EIO, ENOMEM, EBADF, EFAULT, EINVAL, EBUSY};

struct machine {
  const char* name;
  std::string bdf;
  unsigned group;
  sim::kernel_options options;
  std::function<void(simulated_kernel&)> build;
};

machine e1000e_merged() {
  return {"e1000e/merged", "0000:00:03.0", 3, {}, [](simulated_kernel& k) {
            REQUIRE(k.add_device(sim::profiles::e1000e()));
          }};
}
machine nvme_merged() {
  return {
      "nvme/merged", "0000:00:05.0", 5, {}, [](simulated_kernel& k) { REQUIRE(k.add_device(sim::profiles::nvme())); }};
}
machine virtio_behind_port() {
  return {"virtio-net/merged", "0000:01:00.0", 7, {}, [](simulated_kernel& k) {
            REQUIRE(k.add_bridge(sim::profiles::pcie_root_port("0000:00:04.0", 2)));
            REQUIRE(k.add_device(sim::profiles::virtio_net("0000:01:00.0", 7, "0000:00:04.0")));
          }};
}
machine e1000e_seed() {
  sim::kernel_options o;
  o.dialect = sim::low_power_dialect::seed;
  return {"e1000e/seed", "0000:00:03.0", 3, o,
          [](simulated_kernel& k) { REQUIRE(k.add_device(sim::profiles::e1000e())); }};
}

/// What a flow noticed besides its result: states it must not leave behind.
struct findings {
  std::vector<std::string> violations;
};

using flow_fn = std::function<vfio::result<void>(simulated_kernel&, const machine&, findings&)>;

struct opened {
  vfio::container c;
  vfio::group g;
  vfio::device d;
};

/// Container, group, IOMMU, device, device info.
vfio::result<void> open_all(simulated_kernel& k, const machine& m, opened& o) {
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  if (!c) return c.error();
  o.c = std::move(*c);
  auto g = vfio::group::open(m.group, k);
  if (!g) return g.error();
  o.g = std::move(*g);
  if (auto r = o.g.set_container(o.c); !r) return r;
  if (auto r = o.c.set_best_iommu(); !r) return r.error();
  auto d = o.g.open_device(m.bdf);
  if (!d) return d.error();
  o.d = std::move(*d);
  if (auto i = o.d.info(); !i) return i.error();
  return {};
}

vfio::result<void> flow_open(simulated_kernel& k, const machine& m, findings&) {
  opened o;
  return open_all(k, m, o);
}

vfio::result<void> flow_regions(simulated_kernel& k, const machine& m, findings&) {
  opened o;
  if (auto r = open_all(k, m, o); !r) return r;
  for (std::uint32_t idx : {vfio::abi::pci_region::bar0, vfio::abi::pci_region::config})
    if (auto ri = o.d.region(idx); !ri) return ri.error();
  std::uint32_t id = 0;
  if (auto r = o.d.read(vfio::abi::pci_region::config, 0, &id, sizeof id); !r) return r;
  auto map = o.d.map(vfio::abi::pci_region::bar0);
  if (!map) return map.error();
  return map->unmap();  // on failure the destructor tries once more
}

vfio::result<void> flow_irqs(simulated_kernel& k, const machine& m, findings&) {
  opened o;
  if (auto r = open_all(k, m, o); !r) return r;
  auto info = o.d.irq(vfio::abi::pci_irq::msix);
  if (!info) return info.error();
  int raw[2] = {-1, -1};
  vfio::unique_fd owned[2];
  for (int i = 0; i < 2; ++i) {
    raw[i] = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (raw[i] < 0) return vfio::errno_error(-raw[i], "eventfd");
    owned[i] = vfio::unique_fd(raw[i], k);
  }
  if (auto r = o.d.set_irq_eventfds(vfio::abi::pci_irq::msix, 0, vfio::span<const int>(raw, 2)); !r) return r;
  if (auto r = o.d.trigger_irq(vfio::abi::pci_irq::msix, 0, 1); !r) return r;
  std::uint64_t count = 0;
  const long n = k.read(raw[0], &count, sizeof count);
  if (n < 0) return vfio::errno_error(static_cast<int>(-n), "read");
  return o.d.disable_irq(vfio::abi::pci_irq::msix);
}

alignas(4096) unsigned char dma_page[2 * 4096];

vfio::result<void> flow_dma(simulated_kernel& k, const machine& m, findings&) {
  opened o;
  if (auto r = open_all(k, m, o); !r) return r;
  auto info = o.c.get_iommu_info();
  if (!info) return info.error();
  const auto vaddr = reinterpret_cast<std::uint64_t>(&dma_page[0]);
  if (auto r = o.c.map_dma(vaddr, 0x100000, 4096); !r) return r;
  auto un = o.c.unmap_dma(0x100000, 4096);
  if (!un) return un.error();
  return {};
}

vfio::result<void> flow_survey(simulated_kernel& k, const machine& m, findings&) {
  opened o;
  if (auto r = open_all(k, m, o); !r) return r;
  auto s = vfio::feature::supported_features(o.d);
  if (!s) return s.error();
  return {};
}

/// A failed suspend must leave neither low power engaged nor a D3hot the
/// library wrote (the model's PMCSR, as sysfs power_state shows it).
void check_after_failed_suspend(simulated_kernel& k, const machine& m, findings& f) {
  if (k.low_power_engaged(m.bdf)) f.violations.push_back("low power left engaged after a failed suspend");
  if (k.power_state(m.bdf) == "D3hot") f.violations.push_back("PMCSR left in D3hot after a failed suspend");
}

flow_fn flow_suspend(vfio::pci::suspend_options opt) {
  return [opt](simulated_kernel& k, const machine& m, findings& f) -> vfio::result<void> {
    opened o;
    if (auto r = open_all(k, m, o); !r) return r;
    vfio::pci::power pm(o.d);
    if (auto r = pm.suspend(opt); !r) {
      check_after_failed_suspend(k, m, f);
      return r;
    }
    k.settle();
    if (opt.wakeup) {
      std::uint16_t v = 0;  // any config access wakes the device
      if (auto r = o.d.read(vfio::abi::pci_region::config, 0, &v, sizeof v); !r) return r;
      auto woke = pm.wait_for_wakeup(1'000'000'000);
      if (!woke) return woke.error();
    }
    return pm.resume();
  };
}

vfio::result<void> flow_host_report(simulated_kernel& k, const machine& m, findings&) {
  auto bdf = vfio::host::parse_pci_address(m.bdf);
  if (!bdf) return bdf.error();
  auto r = vfio::host::read_power_report(*bdf, vfio::host::capability_presence::unknown, k);
  if (!r) return r.error();
  return {};
}

/// Which call of the flow to fail: the nth call of that kind.
struct target {
  call_kind kind;
  std::uint64_t nth;
};

struct tally {
  std::size_t injected = 0;
  std::size_t failed_runs = 0;    // the flow reported the error
  std::size_t absorbed_runs = 0;  // the flow succeeded anyway (a probe, a close, a retry)
  std::vector<std::string> problems;
};

tally& totals() {
  static tally t;
  return t;
}

void report(const std::string& what, tally& t) {
  std::printf("fault injection %-34s %5zu injected failures (%zu reported, %zu absorbed)\n", what.c_str(), t.injected,
              t.failed_runs, t.absorbed_runs);
  totals().injected += t.injected;
  totals().failed_runs += t.failed_runs;
  totals().absorbed_runs += t.absorbed_runs;
}

/// Runs `flow` cleanly, then once per (call, errno) with that call failing.
tally run_matrix(const machine& m, const char* flow_name, const flow_fn& flow) {
  tally t;
  std::vector<target> targets;
  {
    simulated_kernel k(m.options);
    m.build(k);
    findings f;
    auto r = flow(k, m, f);
    INFO(m.name << " " << flow_name << " baseline: " << (r ? std::string("ok") : r.error().message()));
    REQUIRE(r);
    REQUIRE(f.violations.empty());
    REQUIRE(k.open_descriptors() == 0);
    REQUIRE(k.live_mappings() == 0);
    std::map<call_kind, std::uint64_t> seen;
    for (const auto& rec : k.trace()) targets.push_back({rec.kind, ++seen[rec.kind]});
    REQUIRE(!targets.empty());
  }
  for (const target& tg : targets) {
    for (int e : injected_errnos) {
      simulated_kernel k(m.options);
      m.build(k);
      sim::fault_rule rule;
      rule.kind = tg.kind;
      rule.nth = tg.nth;
      rule.error = e;
      k.inject(rule);
      findings f;
      const std::string where = std::string(m.name) + " " + flow_name + ": " + vfio::testing::to_string(tg.kind) +
                                " #" + std::to_string(tg.nth) + " fails with errno " + std::to_string(e);
      auto r = flow(k, m, f);
      bool fired = false;
      for (const auto& rec : k.trace()) fired = fired || rec.injected;
      ++t.injected;
      if (!fired) t.problems.push_back(where + ": the fault never fired");
      if (r) {
        ++t.absorbed_runs;
      } else {
        ++t.failed_runs;
        if (r.error().operation() == nullptr || r.error().operation()[0] == '\0')
          t.problems.push_back(where + ": error without an operation");
      }
      for (const auto& v : f.violations) t.problems.push_back(where + ": " + v);
      if (k.open_descriptors() != 0)
        t.problems.push_back(where + ": " + std::to_string(k.open_descriptors()) + " descriptors left open");
      if (k.live_mappings() != 0)
        t.problems.push_back(where + ": " + std::to_string(k.live_mappings()) + " mappings left");
      k.clear_faults();
      findings again_f;
      auto again = flow(k, m, again_f);
      if (!again) t.problems.push_back(where + ": retry without the fault failed: " + again.error().message());
      if (k.open_descriptors() != 0 || k.live_mappings() != 0)
        t.problems.push_back(where + ": retry left descriptors or mappings open");
    }
  }
  return t;
}

void check_matrix(const machine& m, const char* flow_name, const flow_fn& flow) {
  tally t = run_matrix(m, flow_name, flow);
  report(std::string(m.name) + " " + flow_name, t);
  for (const auto& p : t.problems) FAIL_CHECK(p);
  CHECK(t.injected > 0);
}

}  // namespace

TEST_CASE("fault injection: open container, group, device", "[faults]") {
  check_matrix(e1000e_merged(), "open", flow_open);
  check_matrix(nvme_merged(), "open", flow_open);
  check_matrix(virtio_behind_port(), "open", flow_open);
}

TEST_CASE("fault injection: region info, read and mmap", "[faults]") {
  check_matrix(e1000e_merged(), "regions+mmap", flow_regions);
  check_matrix(nvme_merged(), "regions+mmap", flow_regions);
}

TEST_CASE("fault injection: IRQ eventfds", "[faults]") {
  check_matrix(e1000e_merged(), "irq eventfds", flow_irqs);
  check_matrix(nvme_merged(), "irq eventfds", flow_irqs);
}

TEST_CASE("fault injection: DMA map and unmap", "[faults]") { check_matrix(e1000e_merged(), "dma", flow_dma); }

TEST_CASE("fault injection: feature survey", "[faults]") {
  check_matrix(e1000e_merged(), "feature survey", flow_survey);
  check_matrix(e1000e_seed(), "feature survey", flow_survey);
}

TEST_CASE("fault injection: suspend and resume, merged dialect", "[faults][suspend]") {
  vfio::pci::suspend_options plain;
  vfio::pci::suspend_options wakeup;
  wakeup.wakeup = true;
  vfio::pci::suspend_options d3hot;
  d3hot.d3hot = vfio::pci::d3hot_policy::if_possible;
  check_matrix(e1000e_merged(), "suspend/resume", flow_suspend(plain));
  check_matrix(e1000e_merged(), "suspend/resume wakeup", flow_suspend(wakeup));
  check_matrix(e1000e_merged(), "suspend/resume d3hot", flow_suspend(d3hot));
  check_matrix(nvme_merged(), "suspend/resume wakeup", flow_suspend(wakeup));
}

TEST_CASE("fault injection: suspend and resume, seed dialect", "[faults][suspend]") {
  check_matrix(e1000e_seed(), "suspend/resume", flow_suspend({}));
}

TEST_CASE("fault injection: host power report", "[faults]") {
  check_matrix(e1000e_merged(), "host power report", flow_host_report);
  check_matrix(virtio_behind_port(), "host power report", flow_host_report);
}

TEST_CASE("fault injection: total", "[faults][total]") {
  // Runs last in declaration order; prints the sum of the cases above that ran.
  std::printf("fault injection total: %zu injected failures (%zu reported, %zu absorbed)\n", totals().injected,
              totals().failed_runs, totals().absorbed_runs);
  SUCCEED();
}

// --- resource exhaustion ------------------------------------------------------

TEST_CASE("EMFILE and ENOMEM while opening leave what is open usable and close what was half made",
          "[faults][exhaustion]") {
  for (int e : {EMFILE, ENOMEM, ENFILE}) {
    INFO("errno " << e);
    simulated_kernel k;
    REQUIRE(k.add_device(sim::profiles::e1000e()));

    auto c = vfio::container::open("/dev/vfio/vfio", k);
    REQUIRE(c);
    sim::fault_rule open_fails;
    open_fails.kind = call_kind::open;
    open_fails.nth = 1;
    open_fails.error = e;
    k.inject(open_fails);
    auto g_fail = vfio::group::open(3, k);
    REQUIRE_FALSE(g_fail);
    CHECK(g_fail.error().code().value() == e);
    CHECK(std::string(g_fail.error().operation()) == "open");
    CHECK(k.open_descriptors() == 1);  // only the container
    k.clear_faults();
    CHECK(c->check_extension(vfio::abi::extension::type1v2_iommu));  // still usable

    auto g = vfio::group::open(3, k);
    REQUIRE(g);
    REQUIRE(g->set_container(*c));
    REQUIRE(c->set_best_iommu());
    sim::fault_rule device_fd_fails;
    device_fd_fails.kind = call_kind::ioctl;
    device_fd_fails.request = vfio::abi::req::group_get_device_fd;
    device_fd_fails.nth = 1;
    device_fd_fails.error = e;
    k.inject(device_fd_fails);
    auto d_fail = g->open_device("0000:00:03.0");
    REQUIRE_FALSE(d_fail);
    CHECK(d_fail.error().code().value() == e);
    CHECK(k.open_descriptors() == 2);
    CHECK(k.open_count("0000:00:03.0") == 0);
    k.clear_faults();
    auto st = g->status();
    REQUIRE(st);
    CHECK(st->viable);

    auto d = g->open_device("0000:00:03.0");
    REQUIRE(d);
    CHECK(k.open_descriptors() == 3);
    sim::fault_rule eventfd_fails;
    eventfd_fails.kind = call_kind::eventfd;
    eventfd_fails.error = e;
    k.inject(eventfd_fails);
    vfio::pci::power pm(*d);
    vfio::pci::suspend_options wake;
    wake.wakeup = true;
    auto s = pm.suspend(wake);
    REQUIRE_FALSE(s);
    CHECK(std::string(s.error().operation()) == "eventfd");
    CHECK_FALSE(k.low_power_engaged("0000:00:03.0"));
    CHECK(k.open_descriptors() == 3);
    k.clear_faults();
    std::uint32_t id = 0;
    CHECK(d->read(vfio::abi::pci_region::config, 0, &id, sizeof id));  // device still usable
    CHECK(id == 0x10d38086);
    REQUIRE(pm.suspend(wake));
    CHECK(k.open_descriptors() == 4);  // + the wake-up eventfd
    REQUIRE(pm.resume());
    CHECK(k.open_descriptors() == 3);
  }
}
