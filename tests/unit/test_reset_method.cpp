// sysfs reset_method (vfio/host/reset_method.hpp): parsing and formatting, the exact
// syscalls against the scripted mock, and reset_method_show / reset_method_store
// (drivers/pci/pci.c) as the simulated kernel's sysfs models them.
#include <vfio/host/reset_method.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "../catch.hpp"
#include "mock_fixture.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_reset_method {

namespace {

namespace host = vfio::host;
namespace sim = vfio::testing::sim;
using host::reset_method;
using host::reset_methods;
using vfio::testing::simulated_kernel;

host::pci_address bdf(const char* text) {
  auto a = host::parse_pci_address(text);
  REQUIRE(a);
  return *a;
}

std::string formatted(const reset_methods& ms) {
  char buf[128];
  auto n = host::format_reset_methods(ms, buf, sizeof buf);
  REQUIRE(n);
  return std::string(buf, *n);
}

}  // namespace

TEST_CASE("reset_method: parse and format", "[reset_method]") {
  auto ms = host::parse_reset_methods("flr pm bus\n");
  REQUIRE(ms);
  CHECK(*ms == reset_methods{reset_method::flr, reset_method::pm, reset_method::bus});
  CHECK(ms->contains(reset_method::pm));
  CHECK_FALSE(ms->contains(reset_method::af_flr));
  CHECK(formatted(*ms) == "flr pm bus\n");
  ms = host::parse_reset_methods("");  // every method disabled
  REQUIRE(ms);
  CHECK(ms->empty());
  CHECK(formatted(*ms) == "\n");
  ms = host::parse_reset_methods("device_specific acpi flr af_flr pm bus cxl_bus");
  REQUIRE(ms);
  CHECK(ms->size() == 7);
  for (const char* bad : {"flr  pm", "flr ", "reset", "flr pm bus bus bus bus bus bus", " flr"}) {
    INFO(bad);
    auto r = host::parse_reset_methods(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::parse_error);
  }
  reset_methods full;
  for (int i = 0; i < 7; ++i) CHECK(full.push_back(reset_method::device_specific));
  CHECK_FALSE(full.push_back(reset_method::flr));
  CHECK(formatted(full).size() == 7 * 15 + 6 + 1);
  char tiny[4];
  auto n = host::format_reset_methods(reset_methods{reset_method::flr}, tiny, sizeof tiny);
  REQUIRE_FALSE(n);
  CHECK(n.error() == vfio::errc::out_of_bounds);
}

TEST_CASE("reset_method: the syscalls", "[reset_method]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  const char* path = "/sys/bus/pci/devices/0000:00:05.0/reset_method";
  mock.expect_open(path).with_flags(O_RDONLY | O_CLOEXEC).returns_fd(40);
  mock.expect_read(40).fills_text("flr bus\n");  // the whole attribute: no read for EOF
  mock.expect_close(40).returns(0);
  auto ms = host::read_reset_methods(bdf("0000:00:05.0"), mock);
  REQUIRE(ms);
  CHECK(*ms == reset_methods{reset_method::flr, reset_method::bus});

  mock.expect_open(path).with_flags(O_WRONLY | O_CLOEXEC).returns_fd(41);
  mock.expect_write(41).with_bytes("bus\n", 4);
  mock.expect_close(41).returns(0);
  CHECK(host::write_reset_methods(bdf("0000:00:05.0"), reset_methods{reset_method::bus}, mock));

  mock.expect_open(path).with_flags(O_WRONLY | O_CLOEXEC).returns_fd(42);
  mock.expect_write(42).with_bytes("\n", 1);  // disable all: a bare newline reaches the store
  mock.expect_close(42).returns(0);
  CHECK(host::write_reset_methods(bdf("0000:00:05.0"), reset_methods{}, mock));

  mock.expect_open(path).with_flags(O_WRONLY | O_CLOEXEC).returns_fd(43);
  mock.expect_write(43).with_bytes("default\n", 8);
  mock.expect_close(43).returns(0);
  CHECK(host::restore_default_reset_methods(bdf("0000:00:05.0"), mock));

  mock.expect_open(path).with_flags(O_WRONLY | O_CLOEXEC).returns_fd(44);
  mock.expect_write(44).with_bytes("flr\n", 4).fails(EINVAL);
  mock.expect_close(44).returns(0);
  auto r = host::write_reset_methods(bdf("0000:00:05.0"), reset_methods{reset_method::flr}, mock);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);
  CHECK(r.error().operation() == std::string("write"));
  CHECK(mock.verify_done());
  CHECK(mock.open_descriptors() == 0);
}

TEST_CASE("reset_method: show and store on the simulated sysfs", "[reset_method][simulated_kernel]") {
  simulated_kernel k;
  sim_test::add_qemu_machine(k);
  // nvme: FLR and a PM reset is refused (NoSoftRst=1); on the root bus: no bus reset.
  const auto nvme = bdf(sim_test::nvme_bdf);
  auto ms = host::read_reset_methods(nvme, k);
  REQUIRE(ms);
  CHECK(*ms == reset_methods{reset_method::flr});
  // virtio-net behind its own root port: FLR, PM and a bus reset.
  const auto virtio = bdf(sim_test::virtio_bdf);
  ms = host::read_reset_methods(virtio, k);
  REQUIRE(ms);
  CHECK(ms->contains(reset_method::bus));
  const reset_methods virtio_default = *ms;

  // Narrow to the bus reset, then reorder: the list is kept as written.
  REQUIRE(host::write_reset_methods(virtio, reset_methods{reset_method::bus}, k));
  ms = host::read_reset_methods(virtio, k);
  REQUIRE(ms);
  CHECK(*ms == reset_methods{reset_method::bus});
  // A method the function does not support, or one the kernel does not know: EINVAL,
  // and the previous list stays.
  for (const reset_methods bad :
       {reset_methods{reset_method::acpi}, reset_methods{reset_method::bus, reset_method::af_flr},
        reset_methods{reset_method::device_specific}}) {
    auto r = host::write_reset_methods(virtio, bad, k);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::invalid_argument);
  }
  CHECK(sim_test::write_sysfs(k, sim_test::dev_attr(sim_test::virtio_bdf, "reset_method"), "nonsense\n") == -EINVAL);
  ms = host::read_reset_methods(virtio, k);
  REQUIRE(ms);
  CHECK(*ms == reset_methods{reset_method::bus});
  // Disabled entirely: the attribute reads empty.
  REQUIRE(host::write_reset_methods(virtio, reset_methods{}, k));
  CHECK(sim_test::read_sysfs(k, sim_test::dev_attr(sim_test::virtio_bdf, "reset_method")).empty());
  ms = host::read_reset_methods(virtio, k);
  REQUIRE(ms);
  CHECK(ms->empty());
  // "default" probes again.
  REQUIRE(host::restore_default_reset_methods(virtio, k));
  ms = host::read_reset_methods(virtio, k);
  REQUIRE(ms);
  CHECK(*ms == virtio_default);
  // Extra spaces between names are skipped by the store (strsep + sysfs_streq).
  CHECK(sim_test::write_sysfs(k, sim_test::dev_attr(sim_test::virtio_bdf, "reset_method"), "bus  \n") == 6);
  ms = host::read_reset_methods(virtio, k);
  REQUIRE(ms);
  CHECK(*ms == reset_methods{reset_method::bus});
  REQUIRE(host::restore_default_reset_methods(virtio, k));

  // No such device: ENOENT.
  auto none = host::read_reset_methods(bdf("0000:00:1f.0"), k);
  REQUIRE_FALSE(none);
  CHECK(none.error() == std::errc::no_such_file_or_directory);
}

TEST_CASE("reset_method: cxl_bus is unknown to 6.1, too many names are refused", "[reset_method][simulated_kernel]") {
  for (const auto v : {sim::kernel_version::v6_1, sim::kernel_version::v6_12}) {
    sim::kernel_options o;
    o.version = v;
    simulated_kernel k(o);
    sim_test::add_qemu_machine(k);
    const std::string path = sim_test::dev_attr(sim_test::virtio_bdf, "reset_method");
    // Both refuse cxl_bus (6.1: unknown; 6.12: not a CXL device), with EINVAL.
    CHECK(sim_test::write_sysfs(k, path, "cxl_bus\n") == -EINVAL);
    // PCI_NUM_RESET_METHODS - 1 names at most: 6 on 6.1, 7 on 6.12.
    CHECK(sim_test::write_sysfs(k, path, "bus bus bus bus bus bus\n") == 24);
    CHECK(sim_test::write_sysfs(k, path, "bus bus bus bus bus bus bus\n") ==
          (v == sim::kernel_version::v6_1 ? -EINVAL : 28));
    CHECK(sim_test::write_sysfs(k, path, "bus bus bus bus bus bus bus bus\n") == -EINVAL);
  }
}

}  // namespace vfio_unit_test_reset_method
