// Host power report and settle wait against the scripted syscall mock.
#include <vfio/host/power.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "../catch.hpp"

namespace vfio_unit_test_host_power {

namespace {

using vfio::host::capability_presence;
using vfio::host::power_limit;
using vfio::host::reachable_state;
using vfio::testing::scripted_syscalls;

struct host_fixture {
  std::vector<std::string> mismatches;
  scripted_syscalls mock{[this](const std::string& m) { mismatches.push_back(m); }};

  bool done() {
    const bool ok = mock.verify_done();
    for (const auto& m : mismatches) UNSCOPED_INFO(m);
    return ok && mismatches.empty();
  }
};

const std::string devices = "/sys/bus/pci/devices/";

/// What one function's sysfs directory holds; nullopt = the attribute is absent.
struct node_spec {
  std::string bdf;
  std::optional<std::string> control = std::string("auto");
  std::optional<std::string> status = std::string("active");
  std::optional<std::string> state = std::string("D0");
  std::optional<std::string> d3cold = std::string("1");
  bool pr3 = false;  ///< _PR0/_PR3 power resources (they make the node power-manageable)
  bool ps = false;   ///< _PS0/_PS3 methods
};

void expect_attribute(scripted_syscalls& m, const std::string& path, const std::optional<std::string>& text, int fd) {
  if (!text) {
    m.expect_open(path).fails(ENOENT);
    return;
  }
  m.expect_open(path).returns(fd);
  m.expect_read(fd).fills_text(*text + "\n");  // the whole attribute in one read: no read for EOF
  m.expect_close(fd);
}

void expect_node(scripted_syscalls& m, const node_spec& n, int fd) {
  const std::string dir = devices + n.bdf + "/";
  expect_attribute(m, dir + "power/control", n.control, fd);
  expect_attribute(m, dir + "power/runtime_status", n.status, fd);
  expect_attribute(m, dir + "power_state", n.state, fd);
  expect_attribute(m, dir + "d3cold_allowed", n.d3cold, fd);
  // Existence checks: one access(F_OK) each.
  if (n.pr3)
    m.expect_access(dir + "firmware_node/power_resources_D3hot").with_value(F_OK).returns(0);
  else
    m.expect_access(dir + "firmware_node/power_resources_D3hot").with_value(F_OK).fails(ENOENT);
  if (n.pr3 || n.ps)
    m.expect_access(dir + "firmware_node/power_state").with_value(F_OK).returns(0);
  else
    m.expect_access(dir + "firmware_node/power_state").with_value(F_OK).fails(ENOENT);
}

void expect_link(scripted_syscalls& m, const std::string& bdf, const std::string& target) {
  m.expect_readlink(devices + bdf).fills_text(target);
}

/// A config space whose capability list holds the given ids at 0x40, 0x50, ...
std::vector<std::uint8_t> config_with_caps(std::initializer_list<std::uint8_t> ids) {
  std::vector<std::uint8_t> cfg(256, 0);
  cfg[0x06] = 0x10;  // status: capability list
  std::uint8_t at = 0x40;
  cfg[0x34] = ids.size() ? at : 0;
  std::size_t i = 0;
  for (std::uint8_t id : ids) {
    cfg[at] = id;
    cfg[at + 1] = ++i < ids.size() ? static_cast<std::uint8_t>(at + 0x10) : 0;
    at = static_cast<std::uint8_t>(at + 0x10);
  }
  return cfg;
}

const vfio::host::pci_address dev_03{0, 0, 3, 0};    // 0000:00:03.0, on the root bus
const vfio::host::pci_address dev_0100{0, 1, 0, 0};  // 0000:01:00.0, behind 0000:00:1c.0

}  // namespace

TEST_CASE("power report: root-bus device with _PR3 and everything allowed reaches D3cold", "[host][power]") {
  host_fixture f;
  expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
  node_spec dev{"0000:00:03.0"};
  dev.pr3 = true;
  expect_node(f.mock, dev, 10);

  auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
  REQUIRE(r);
  CHECK(r->bridge_count == 0);
  CHECK(r->device.address == dev_03);
  CHECK(r->device.control == vfio::host::runtime_pm_control::automatic);
  CHECK(r->device.status == vfio::host::runtime_status::active);
  CHECK(r->device.state == vfio::host::power_state::d0);
  CHECK(r->device.d3cold == vfio::host::d3cold_policy::allowed);
  CHECK(r->device.power_resources_d3hot);
  CHECK(r->deepest == reachable_state::d3cold);
  CHECK(r->limits == 0);
  CHECK(f.mock.open_descriptors() == 0);
  CHECK(f.done());
}

TEST_CASE("power report: d3cold_allowed=0 stops at D3hot", "[host][power]") {
  host_fixture f;
  expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
  node_spec dev{"0000:00:03.0"};
  dev.pr3 = true;
  dev.d3cold = "0";
  expect_node(f.mock, dev, 10);

  auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
  REQUIRE(r);
  CHECK(r->device.d3cold == vfio::host::d3cold_policy::disallowed);
  CHECK(r->deepest == reachable_state::d3hot);
  CHECK(r->limits == static_cast<std::uint32_t>(power_limit::d3cold_disallowed));
  CHECK(r->limited_by(power_limit::d3cold_disallowed));
  CHECK_FALSE(r->limited_by(power_limit::no_platform_power_resources));
  CHECK(f.done());
}

TEST_CASE("power report: power/control=on keeps the device in D0", "[host][power]") {
  host_fixture f;
  expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
  node_spec dev{"0000:00:03.0"};
  dev.pr3 = true;
  dev.control = "on";
  expect_node(f.mock, dev, 10);

  auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
  REQUIRE(r);
  CHECK(r->device.control == vfio::host::runtime_pm_control::on);
  CHECK(r->deepest == reachable_state::d0);
  CHECK(r->limits == static_cast<std::uint32_t>(power_limit::runtime_pm_forbidden));
  CHECK(f.done());
}

TEST_CASE("power report: no power resources anywhere stops at D3hot; bridges read nearest first", "[host][power]") {
  host_fixture f;
  expect_link(f.mock, "0000:01:00.0", "../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
  expect_node(f.mock, node_spec{"0000:01:00.0"}, 10);
  node_spec port{"0000:00:1c.0"};
  port.status = "suspended";
  port.state = "D3hot";
  port.d3cold = "0";
  expect_node(f.mock, port, 11);

  auto r = vfio::host::read_power_report(dev_0100, capability_presence::present, f.mock);
  REQUIRE(r);
  REQUIRE(r->bridge_count == 1);
  CHECK(r->upstream().size() == 1);
  CHECK(r->bridges[0].address == vfio::host::pci_address{0, 0, 0x1c, 0});
  CHECK(r->bridges[0].status == vfio::host::runtime_status::suspended);
  CHECK(r->bridges[0].state == vfio::host::power_state::d3hot);
  CHECK(r->bridges[0].d3cold == vfio::host::d3cold_policy::disallowed);
  CHECK(r->deepest == reachable_state::d3hot);
  CHECK(r->limits == static_cast<std::uint32_t>(power_limit::no_platform_power_resources));
  CHECK(f.mock.open_descriptors() == 0);
  CHECK(f.done());
}

TEST_CASE("power report: power resources on the upstream port count, if the port may suspend", "[host][power]") {
  for (const bool port_allows : {true, false}) {
    host_fixture f;
    expect_link(f.mock, "0000:01:00.0", "../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
    expect_node(f.mock, node_spec{"0000:01:00.0"}, 10);
    node_spec port{"0000:00:1c.0"};
    port.pr3 = true;
    port.control = port_allows ? "auto" : "on";
    expect_node(f.mock, port, 11);

    auto r = vfio::host::read_power_report(dev_0100, capability_presence::present, f.mock);
    REQUIRE(r);
    if (port_allows) {
      CHECK(r->deepest == reachable_state::d3cold);
      CHECK(r->limits == 0);
    } else {
      CHECK(r->deepest == reachable_state::d3hot);
      CHECK(r->limits == static_cast<std::uint32_t>(power_limit::upstream_runtime_pm_forbidden));
    }
    CHECK(f.done());
  }
}

TEST_CASE("power report: no PM capability (read from sysfs config) and no _PR3 stays in D0", "[host][power]") {
  host_fixture f;
  expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
  expect_node(f.mock, node_spec{"0000:00:03.0"}, 10);
  const auto cfg = config_with_caps({0x05, 0x10});  // MSI, PCIe: no PM
  f.mock.expect_open(devices + "0000:00:03.0/config").returns(12);
  f.mock.expect_pread(12, 0, 256).fills_bytes(cfg.data(), cfg.size());
  f.mock.expect_close(12);

  auto r = vfio::host::read_power_report(dev_03, capability_presence::unknown, f.mock);
  REQUIRE(r);
  CHECK(r->pm_capability == capability_presence::absent);
  CHECK(r->deepest == reachable_state::d0);
  CHECK(r->limited_by(power_limit::no_pm_capability));
  CHECK(r->limited_by(power_limit::no_platform_power_resources));
  CHECK(r->limits == (static_cast<std::uint32_t>(power_limit::no_pm_capability) |
                      static_cast<std::uint32_t>(power_limit::no_platform_power_resources)));
  CHECK(f.mock.open_descriptors() == 0);
  CHECK(f.done());
}

// pci_target_state (drivers/pci/pci.c) asks the platform before it looks at
// the PM capability: edu with ACPI _PS0/_PS3 runtime-suspends to D3hot on
// 6.1, 6.12 and 7.x (pci_platform_power_transition runs _PS3).
TEST_CASE("power report: no PM capability but platform power methods reaches D3hot", "[host][power]") {
  SECTION("_PS0/_PS3 only") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    node_spec dev{"0000:00:03.0"};
    dev.ps = true;
    dev.d3cold = "0";  // pci_pm_init returns before setting it without a PM capability
    expect_node(f.mock, dev, 10);
    const auto cfg = config_with_caps({0x05});  // MSI only, as QEMU's edu
    f.mock.expect_open(devices + "0000:00:03.0/config").returns(12);
    f.mock.expect_pread(12, 0, 256).fills_bytes(cfg.data(), cfg.size());
    f.mock.expect_close(12);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::unknown, f.mock);
    REQUIRE(r);
    CHECK(r->pm_capability == capability_presence::absent);
    CHECK(r->device.platform_power_manageable);
    CHECK(r->deepest == reachable_state::d3hot);
    CHECK_FALSE(r->limited_by(power_limit::no_pm_capability));
    CHECK(r->limits == (static_cast<std::uint32_t>(power_limit::d3cold_disallowed) |
                        static_cast<std::uint32_t>(power_limit::no_platform_power_resources)));
    CHECK(f.mock.open_descriptors() == 0);
    CHECK(f.done());
  }
  SECTION("power resources, d3cold_allowed 0 (no PM capability)") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    node_spec dev{"0000:00:03.0"};
    dev.pr3 = true;
    dev.d3cold = "0";
    expect_node(f.mock, dev, 10);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::absent, f.mock);
    REQUIRE(r);
    CHECK(r->device.platform_power_manageable);
    CHECK(r->deepest == reachable_state::d3hot);  // acpi_pci_choose_state caps at D3hot
    CHECK(r->limits == static_cast<std::uint32_t>(power_limit::d3cold_disallowed));
    CHECK(f.done());
  }
  SECTION("runtime PM forbidden still wins") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    node_spec dev{"0000:00:03.0"};
    dev.ps = true;
    dev.control = std::string("on");
    dev.d3cold = "0";
    expect_node(f.mock, dev, 10);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::absent, f.mock);
    REQUIRE(r);
    CHECK(r->deepest == reachable_state::d0);
    CHECK(r->limited_by(power_limit::runtime_pm_forbidden));
    CHECK_FALSE(r->limited_by(power_limit::no_pm_capability));
    CHECK(f.done());
  }
  SECTION("firmware_node/power_state cannot be checked") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    const std::string dir = devices + "0000:00:03.0/";
    expect_attribute(f.mock, dir + "power/control", std::string("auto"), 10);
    expect_attribute(f.mock, dir + "power/runtime_status", std::string("active"), 10);
    expect_attribute(f.mock, dir + "power_state", std::string("D0"), 10);
    expect_attribute(f.mock, dir + "d3cold_allowed", std::string("0"), 10);
    f.mock.expect_access(dir + "firmware_node/power_resources_D3hot").fails(ENOENT);
    f.mock.expect_access(dir + "firmware_node/power_state").fails(EACCES);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::absent, f.mock);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::permission_denied);
    CHECK(std::string(r.error().operation()) == "access");
    CHECK(f.mock.open_descriptors() == 0);
    CHECK(f.done());
  }
  SECTION("a seam without access(2) checks existence with open and close") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    const std::string dir = devices + "0000:00:03.0/";
    expect_attribute(f.mock, dir + "power/control", std::string("auto"), 10);
    expect_attribute(f.mock, dir + "power/runtime_status", std::string("active"), 10);
    expect_attribute(f.mock, dir + "power_state", std::string("D0"), 10);
    expect_attribute(f.mock, dir + "d3cold_allowed", std::string("1"), 10);
    f.mock.expect_access(dir + "firmware_node/power_resources_D3hot").fails(ENOSYS);
    f.mock.expect_open(dir + "firmware_node/power_resources_D3hot")
        .with_flags(O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        .returns(11);
    f.mock.expect_close(11);
    f.mock.expect_access(dir + "firmware_node/power_state").fails(ENOSYS);
    f.mock.expect_open(dir + "firmware_node/power_state").with_flags(O_RDONLY | O_CLOEXEC).fails(ENOENT);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
    REQUIRE(r);
    CHECK(r->device.power_resources_d3hot);
    CHECK_FALSE(r->device.platform_power_manageable);
    CHECK(r->deepest == reachable_state::d3cold);
    CHECK(f.mock.open_descriptors() == 0);
    CHECK(f.done());
  }
}

TEST_CASE("power report: PM capability found in sysfs config; 64 readable bytes leave it unknown", "[host][power]") {
  SECTION("found") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    expect_node(f.mock, node_spec{"0000:00:03.0"}, 10);
    const auto cfg = config_with_caps({0x05, 0x01});
    f.mock.expect_open(devices + "0000:00:03.0/config").returns(12);
    f.mock.expect_pread(12, 0, 256).fills_bytes(cfg.data(), cfg.size());
    f.mock.expect_close(12);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::unknown, f.mock);
    REQUIRE(r);
    CHECK(r->pm_capability == capability_presence::present);
    CHECK(r->deepest == reachable_state::d3hot);
    CHECK(f.done());
  }
  SECTION("unprivileged: only the header") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    expect_node(f.mock, node_spec{"0000:00:03.0"}, 10);
    const auto cfg = config_with_caps({0x01});
    f.mock.expect_open(devices + "0000:00:03.0/config").returns(12);
    f.mock.expect_pread(12, 0, 256).fills_bytes(cfg.data(), 64);
    f.mock.expect_close(12);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::unknown, f.mock);
    REQUIRE(r);
    CHECK(r->pm_capability == capability_presence::unknown);
    CHECK_FALSE(r->limited_by(power_limit::no_pm_capability));
    CHECK(f.done());
  }
}

TEST_CASE("power report: absent attributes and runtime PM disabled", "[host][power]") {
  host_fixture f;
  expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
  node_spec dev{"0000:00:03.0"};
  dev.control = std::nullopt;  // CONFIG_PM off
  dev.status = std::nullopt;
  dev.state = std::nullopt;  // kernel before 5.11
  dev.d3cold = std::nullopt;
  expect_node(f.mock, dev, 10);

  auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
  REQUIRE(r);
  CHECK(r->device.control == vfio::host::runtime_pm_control::absent);
  CHECK(r->device.status == vfio::host::runtime_status::absent);
  CHECK(r->device.state == vfio::host::power_state::absent);
  CHECK(r->device.d3cold == vfio::host::d3cold_policy::absent);
  CHECK(r->deepest == reachable_state::d0);
  CHECK(r->limited_by(power_limit::runtime_pm_disabled));
  CHECK(r->limited_by(power_limit::no_platform_power_resources));
  CHECK_FALSE(r->limited_by(power_limit::runtime_pm_forbidden));
  CHECK(f.done());
}

TEST_CASE("power report: errors", "[host][power]") {
  SECTION("no such device") {
    host_fixture f;
    f.mock.expect_readlink(devices + "0000:00:03.0").fails(ENOENT);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::no_such_file_or_directory);
    CHECK(std::strcmp(r.error().operation(), "readlink") == 0);
    CHECK(f.done());
  }
  SECTION("link does not end in the device") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:04.0");
    auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::parse_error);
    CHECK(f.done());
  }
  SECTION("an attribute read fails: error passed on, descriptor closed") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    f.mock.expect_open(devices + "0000:00:03.0/power/control").returns(10);
    f.mock.expect_read(10).fails(EIO);
    f.mock.expect_close(10);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::io_error);
    CHECK(std::strcmp(r.error().operation(), "read") == 0);
    CHECK(f.mock.open_descriptors() == 0);
    CHECK(f.done());
  }
  SECTION("power resources directory cannot be checked") {
    host_fixture f;
    expect_link(f.mock, "0000:00:03.0", "../../../devices/pci0000:00/0000:00:03.0");
    const std::string dir = devices + "0000:00:03.0/";
    expect_attribute(f.mock, dir + "power/control", std::string("auto"), 10);
    expect_attribute(f.mock, dir + "power/runtime_status", std::string("active"), 10);
    expect_attribute(f.mock, dir + "power_state", std::string("D0"), 10);
    expect_attribute(f.mock, dir + "d3cold_allowed", std::string("1"), 10);
    f.mock.expect_access(dir + "firmware_node/power_resources_D3hot").fails(EACCES);
    auto r = vfio::host::read_power_report(dev_03, capability_presence::present, f.mock);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::permission_denied);
    CHECK(f.mock.open_descriptors() == 0);
    CHECK(f.done());
  }
}

namespace {
void expect_sample(scripted_syscalls& m, const std::string& status, const std::string& state) {
  expect_attribute(m, devices + "0000:00:03.0/power/runtime_status", status, 20);
  expect_attribute(m, devices + "0000:00:03.0/power_state", state, 20);
}
}  // namespace

TEST_CASE("wait_for_power_settle: reaches the expected values", "[host][power]") {
  host_fixture f;
  expect_sample(f.mock, "active", "D0");
  expect_sample(f.mock, "suspending", "D0");
  expect_sample(f.mock, "suspended", "D3hot");

  vfio::host::settle_options o;
  o.expect_status = vfio::host::runtime_status::suspended;
  o.expect_state = vfio::host::power_state::d3hot;
  o.interval_ns = 5'000'000;
  auto r = vfio::host::wait_for_power_settle(dev_03, o, f.mock);
  REQUIRE(r);
  CHECK(r->status == vfio::host::runtime_status::suspended);
  CHECK(r->state == vfio::host::power_state::d3hot);
  CHECK(r->at_ns == 10'000'000);  // two sleeps of 5 ms on the virtual clock
  CHECK(f.mock.now_ns() == 10'000'000);
  CHECK(f.mock.open_descriptors() == 0);
  CHECK(f.done());
}

TEST_CASE("wait_for_power_settle: without expectations, returns once the values stop changing", "[host][power]") {
  host_fixture f;
  expect_sample(f.mock, "active", "D0");         // t=0
  expect_sample(f.mock, "suspended", "D3cold");  // t=2: changed
  expect_sample(f.mock, "suspended", "D3cold");  // t=4
  expect_sample(f.mock, "suspended", "D3cold");  // t=6
  expect_sample(f.mock, "suspended", "D3cold");  // t=8: unchanged for 6 ms

  vfio::host::settle_options o;
  o.interval_ns = 2'000'000;
  o.stable_ns = 6'000'000;
  auto r = vfio::host::wait_for_power_settle(dev_03, o, f.mock);
  REQUIRE(r);
  CHECK(r->state == vfio::host::power_state::d3cold);
  CHECK(r->at_ns == 8'000'000);
  CHECK(f.done());
}

TEST_CASE("wait_for_power_settle: times out on the virtual clock and reports the last reading", "[host][power]") {
  host_fixture f;
  expect_sample(f.mock, "active", "D0");  // t=0
  expect_sample(f.mock, "active", "D0");  // t=2
  expect_sample(f.mock, "active", "D0");  // t=4
  expect_sample(f.mock, "active", "D0");  // t=5: the deadline

  vfio::host::settle_options o;
  o.expect_state = vfio::host::power_state::d3cold;
  o.interval_ns = 2'000'000;
  o.timeout_ns = 5'000'000;
  vfio::host::power_sample last{};
  auto r = vfio::host::wait_for_power_settle(dev_03, o, &last, f.mock, "/sys");
  REQUIRE_FALSE(r);
  CHECK(r.error() == vfio::errc::timed_out);
  CHECK(std::strcmp(r.error().operation(), "wait_for_power_settle") == 0);
  CHECK(last.state == vfio::host::power_state::d0);
  CHECK(last.at_ns == 5'000'000);
  CHECK(f.mock.open_descriptors() == 0);
  CHECK(f.done());
}

TEST_CASE("wait_for_power_settle: rejects a zero interval before any syscall", "[host][power]") {
  host_fixture f;
  vfio::host::settle_options o;
  o.interval_ns = 0;
  auto r = vfio::host::wait_for_power_settle(dev_03, o, f.mock);
  REQUIRE_FALSE(r);
  CHECK(r.error() == vfio::errc::invalid_argument);
  CHECK(f.done());
}

TEST_CASE("sysfs power texts parse", "[host][power]") {
  using namespace vfio::host;
  CHECK(parse_runtime_status("suspended") == runtime_status::suspended);
  CHECK(parse_runtime_status("resuming") == runtime_status::resuming);
  CHECK(parse_runtime_status("bogus") == runtime_status::other);
  CHECK(parse_power_state("D3cold") == power_state::d3cold);
  CHECK(parse_power_state("D3hot") == power_state::d3hot);
  CHECK(parse_power_state("d3hot") == power_state::other);
  CHECK(std::strcmp(to_string(reachable_state::d3hot), "D3hot") == 0);
  for (power_limit l : all_power_limits) CHECK(std::strlen(to_string(l)) > 0);
}

}  // namespace vfio_unit_test_host_power
