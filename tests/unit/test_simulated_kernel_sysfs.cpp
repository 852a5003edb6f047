// The simulated kernel's virtual sysfs (links, attributes, driver binding)
// and eventfds, through raw seam calls and through the library's host
// helpers, which must work against it unchanged.
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

#include <vfio/host/power.hpp>
#include <vfio/host/sysfs.hpp>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_sysfs {

namespace {

using namespace sim_test;

TEST_CASE("simulated sysfs: links", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  CHECK(read_link(k, "/sys/bus/pci/devices/0000:00:03.0") == "../../../devices/pci0000:00/0000:00:03.0");
  CHECK(read_link(k, "/sys/bus/pci/devices/0000:01:00.0") == "../../../devices/pci0000:00/0000:00:04.0/0000:01:00.0");
  CHECK(read_link(k, dev_attr(e1000e_bdf, "iommu_group")) == "../../../kernel/iommu_groups/3");
  CHECK(read_link(k, dev_attr(virtio_bdf, "iommu_group")) == "../../../../kernel/iommu_groups/7");
  CHECK(read_link(k, dev_attr(port_bdf, "iommu_group")) == "../../../kernel/iommu_groups/4");
  CHECK(read_link(k, dev_attr(e1000e_bdf, "driver")) == "../../../bus/pci/drivers/vfio-pci");
  CHECK(read_link(k, dev_attr(virtio_bdf, "driver")) == "../../../../bus/pci/drivers/vfio-pci");
  CHECK(read_link(k, dev_attr(port_bdf, "driver")) == "../../../bus/pci/drivers/pcieport");
  CHECK(read_link(k, dev_attr(e1000e_bdf, "firmware_node")).rfind("../../LNXSYSTM:00/", 0) == 0);
  // The canonical path answers the same.
  CHECK(read_link(k, "/sys/devices/pci0000:00/0000:00:04.0/0000:01:00.0/iommu_group") ==
        "../../../../kernel/iommu_groups/7");
  CHECK(read_link(k, dev_attr(e1000e_bdf, "power_state")) == "error -22");  // not a link
  CHECK(read_link(k, dev_attr(e1000e_bdf, "nonsense")) == "error -2");
  CHECK(read_link(k, "/sys/bus/pci/devices/0000:00:1f.0") == "error -2");
  char small[8];
  CHECK(k.readlink(dev_attr(e1000e_bdf, "iommu_group").c_str(), small, sizeof small) == 8);  // truncated
  CHECK(k.readlink(dev_attr(e1000e_bdf, "iommu_group").c_str(), small, 0) == -EINVAL);
  // The library's lookups.
  auto group = vfio::host::iommu_group_of(*vfio::host::parse_pci_address(virtio_bdf), k);
  REQUIRE(group);
  CHECK(*group == 7);
}

TEST_CASE("simulated sysfs: attributes of functions and bridges", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "vendor")) == "0x8086");
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "device")) == "0x10d3");
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "class")) == "0x020000");
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "driver_override")) == "(null)");
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "d3cold_allowed")) == "1");
  CHECK(read_sysfs(k, dev_attr(edu_bdf, "d3cold_allowed")) == "0");  // no PM capability: pci_pm_init
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power/runtime_status")) == "suspended");
  CHECK(read_sysfs(k, "/sys/devices/pci0000:00/0000:00:03.0/power_state") == "D3hot");
  CHECK(read_sysfs(k, dev_attr(port_bdf, "power/control")) == "on");
  CHECK(read_sysfs(k, dev_attr(port_bdf, "d3cold_allowed")) == "0");
  CHECK(read_sysfs(k, dev_attr(port_bdf, "power/runtime_status")) == "active");
  CHECK(read_sysfs(k, dev_attr(port_bdf, "power_state")) == "D0");
  long err = 0;
  read_sysfs(k, dev_attr(port_bdf, "config"), &err);
  CHECK(err == -ENOENT);

  // Open modes (kernfs_fop_open) and directories.
  CHECK(k.open(dev_attr(e1000e_bdf, "power_state").c_str(), O_WRONLY | O_CLOEXEC, 0) == -EACCES);
  CHECK(k.open(dev_attr(e1000e_bdf, "power_state").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) == -ENOTDIR);
  CHECK(k.open("/sys/bus/pci/drivers_probe", O_RDONLY | O_CLOEXEC, 0) == -EACCES);
  CHECK(k.open(dev_attr(e1000e_bdf, "power").c_str(), O_WRONLY | O_CLOEXEC, 0) == -EISDIR);
  const int dir = k.open(dev_attr(e1000e_bdf, "power").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  REQUIRE(dir >= 1000);
  char c;
  CHECK(k.read(dir, &c, 1) == -EISDIR);
  CHECK(k.ioctl(dir, abi::req::get_api_version, nullptr) == -ENOTTY);
  k.close(dir);
  // firmware_node/power_resources_D3hot exists only with _PR3.
  const std::string pr3 = "firmware_node/power_resources_D3hot";
  CHECK(k.open(dev_attr(e1000e_bdf, pr3).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) == -ENOENT);
  auto gpu = sim::profiles::gpu();
  REQUIRE(k.add_device(gpu));
  const int pr = k.open(dev_attr(gpu.bdf, pr3).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  CHECK(pr >= 1000);
  k.close(pr);
  auto noacpi = sim::profiles::edu("0000:00:08.0", 9);
  noacpi.acpi_node = false;
  REQUIRE(k.add_device(noacpi));
  CHECK(read_link(k, dev_attr(noacpi.bdf, "firmware_node")) == "error -2");

  // The config file is the hardware's (PME support unhidden), whole for root.
  const int cfgfd = k.open(dev_attr(e1000e_bdf, "config").c_str(), O_RDONLY | O_CLOEXEC, 0);
  REQUIRE(cfgfd >= 1000);
  unsigned char bytes[4096];
  CHECK(k.pread(cfgfd, bytes, sizeof bytes, 0) == 4096);
  CHECK(bytes[0] == 0x86);
  CHECK(bytes[abi::pci::cap_list] == 0xc8);
  CHECK(k.pread(cfgfd, bytes, 16, 4096) == 0);
  k.close(cfgfd);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated sysfs: driver binding through driver_override and drivers_probe", "[simulated_kernel]") {
  simulated_kernel k;
  auto e = sim::profiles::e1000e();
  e.driver = "e1000e";
  REQUIRE(k.add_device(e));
  CHECK(k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0) == -ENOENT);  // no vfio device yet
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power/control")) == "on");
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power_state")) == "D0");

  // The library's bind helper: override, unbind, drivers_probe.
  const auto addr = *vfio::host::parse_pci_address(e1000e_bdf);
  REQUIRE(vfio::host::bind_to_driver(addr, "vfio-pci", k));
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "driver_override")) == "vfio-pci");
  CHECK(read_link(k, dev_attr(e1000e_bdf, "driver")) == "../../../bus/pci/drivers/vfio-pci");
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power/control")) == "auto");
  k.settle();
  CHECK(k.runtime_status(e1000e_bdf) == "suspended");

  {
    stack s(k, 3, e1000e_bdf);
    REQUIRE(s.ok());
    const int req = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    unsigned char buf[sizeof(abi::irq_set) + 4];
    const abi::irq_set hdr{sizeof buf, abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_trigger,
                           abi::pci_irq::req, 0, 1};
    std::memcpy(buf, &hdr, sizeof hdr);
    std::memcpy(buf + sizeof hdr, &req, 4);
    REQUIRE(k.ioctl(s.device, abi::req::device_set_irqs, buf) == 0);
    // vfio_unregister_group_dev would block for the user; the model refuses
    // and relays the request through the REQ eventfd.
    CHECK(write_sysfs(k, "/sys/bus/pci/drivers/vfio-pci/unbind", e1000e_bdf) == -EBUSY);
    std::uint64_t n = 0;
    CHECK(k.read(req, &n, 8) == 8);
    CHECK(n == 1);
    k.close(req);
  }
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers/e1000e/unbind", e1000e_bdf) == -ENODEV);  // not its driver
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers/vfio-pci/unbind", e1000e_bdf) == 12);
  CHECK(k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0) == -ENOENT);
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power_state")) == "unknown");  // pci_device_remove
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "power/control")) == "on");
  CHECK(read_link(k, dev_attr(e1000e_bdf, "driver")) == "error -2");

  // Clearing the override lets drivers_probe pick the native driver.
  CHECK(write_sysfs(k, dev_attr(e1000e_bdf, "driver_override"), "\n") == 1);
  CHECK(read_sysfs(k, dev_attr(e1000e_bdf, "driver_override")) == "(null)");
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers/vfio-pci/bind", e1000e_bdf) == -ENODEV);  // no match
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers_probe", e1000e_bdf) == 12);
  CHECK(read_link(k, dev_attr(e1000e_bdf, "driver")) == "../../../bus/pci/drivers/e1000e");
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers/e1000e/bind", e1000e_bdf) == -EBUSY);
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers_probe", "0000:00:1f.0") == -ENODEV);
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers/nonexistent/bind", e1000e_bdf) == -ENOENT);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated sysfs: the library's power report reads the model", "[simulated_kernel]") {
  for (bool d3cold : {false, true}) {
    simulated_kernel k;
    add_qemu_machine(k, d3cold);
    const auto e = *vfio::host::parse_pci_address(e1000e_bdf);
    auto r = vfio::host::read_power_report(e, vfio::host::capability_presence::unknown, k);
    REQUIRE(r);
    CHECK(r->pm_capability == vfio::host::capability_presence::present);
    CHECK(r->deepest == (d3cold ? vfio::host::reachable_state::d3cold : vfio::host::reachable_state::d3hot));
    CHECK(r->device.status == vfio::host::runtime_status::suspended);
    const auto v = *vfio::host::parse_pci_address(virtio_bdf);
    auto rv = vfio::host::read_power_report(v, vfio::host::capability_presence::unknown, k);
    REQUIRE(rv);
    CHECK(rv->bridge_count == 1);
    CHECK(rv->bridges[0].control == vfio::host::runtime_pm_control::on);
    CHECK(rv->deepest == vfio::host::reachable_state::d3hot);
    const auto edu = *vfio::host::parse_pci_address(edu_bdf);
    auto re = vfio::host::read_power_report(edu, vfio::host::capability_presence::unknown, k);
    REQUIRE(re);
    CHECK(re->pm_capability == vfio::host::capability_presence::absent);
    CHECK(re->deepest == vfio::host::reachable_state::d0);
    CHECK(k.open_descriptors() == 0);
  }
}

TEST_CASE("simulated eventfd: counter semantics", "[simulated_kernel]") {
  simulated_kernel k;
  const int e = k.eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK);
  std::uint64_t v = 0;
  CHECK(k.read(e, &v, 8) == 8);
  CHECK(v == 3);
  CHECK(k.read(e, &v, 8) == -EAGAIN);
  CHECK(k.read(e, &v, 4) == -EINVAL);
  const std::uint64_t two = 2;
  CHECK(k.write(e, &two, 8) == 8);
  CHECK(k.write(e, &two, 8) == 8);
  CHECK(k.pread(e, &v, 8, 0) == -ESPIPE);
  pollfd p{e, POLLIN | POLLOUT, 0};
  CHECK(k.poll(&p, 1, 0) == 1);
  CHECK(p.revents == (POLLIN | POLLOUT));
  CHECK(k.read(e, &v, 8) == 8);
  CHECK(v == 4);
  const int sem = k.eventfd(2, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
  CHECK(k.read(sem, &v, 8) == 8);
  CHECK(v == 1);
  CHECK(k.read(sem, &v, 8) == 8);
  CHECK(k.read(sem, &v, 8) == -EAGAIN);
  k.close(sem);
  k.close(e);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated eventfd: a blocking poll waits for another thread", "[simulated_kernel]") {
  simulated_kernel k;
  const int e = k.eventfd(0, EFD_CLOEXEC);
  std::atomic<bool> started{false};
  std::thread writer([&] {
    while (!started.load()) std::this_thread::yield();
    const std::uint64_t one = 1;
    (void)k.write(e, &one, 8);
  });
  pollfd p{e, POLLIN, 0};
  started = true;
  CHECK(k.poll(&p, 1, -1) == 1);
  std::uint64_t v = 0;
  CHECK(k.read(e, &v, 8) == 8);  // blocking descriptor, counter already set
  CHECK(v == 1);
  writer.join();
  k.close(e);
}

}  // namespace

}  // namespace vfio_unit_test_simulated_kernel_sysfs
