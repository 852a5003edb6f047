// The simulated kernel's VFIO object lifecycle through raw seam calls:
// containers, groups and device files with the errnos of container.c,
// group.c and vfio_main.c; closing order; fake descriptors; fault injection
// and the call trace.
#include <cerrno>
#include <cstdint>
#include <string>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_lifecycle {

namespace {

using namespace sim_test;

TEST_CASE("simulated kernel: container and group nodes", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  const int c = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  CHECK(c >= 1000);
  CHECK(k.ioctl(c, abi::req::get_api_version, nullptr) == 0);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::type1_iommu) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::type1v2_iommu) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::dma_cc_iommu) == 0);  // no IOMMU yet
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::noiommu_iommu) == 0);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::spapr_tce_iommu) == 0);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::type1_nesting_iommu) == 1);  // 6.12
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::unmap_all) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::update_vaddr) == 0);  // needs an iommu
  // Without an IOMMU driver, unknown container ioctls are -EINVAL.
  CHECK(k.ioctl(c, abi::req::iommu_get_info, nullptr) == -EINVAL);

  const int g = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
  CHECK(g >= 1000);
  CHECK(k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0) == -EBUSY);  // one open per group
  CHECK(k.open("/dev/vfio/99", O_RDWR | O_CLOEXEC, 0) == -ENOENT);
  CHECK(k.open("/dev/vfio/3x", O_RDWR | O_CLOEXEC, 0) == -ENOENT);
  CHECK(k.open("/dev/vfio/3", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) == -ENOTDIR);
  CHECK(k.open("/nonexistent", O_RDONLY, 0) == -ENOENT);
  CHECK(k.ioctl(g, abi::req::device_get_info, nullptr) == -ENOTTY);  // unknown group ioctl
  CHECK(k.ioctl(g, 0x1234, nullptr) == -ENOTTY);
  CHECK(k.ioctl(3, abi::req::get_api_version, nullptr) == -EBADF);  // not a simulated descriptor

  CHECK(k.close(g) == 0);
  CHECK(k.close(g) == -EBADF);
  const int again = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
  CHECK(again >= 1000);
  CHECK(k.close(again) == 0);
  CHECK(k.close(c) == 0);
  CHECK(k.close(4242) == -EBADF);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: nesting extension follows the release", "[simulated_kernel]") {
  sim::kernel_options o;
  o.version = sim::kernel_version::v7;
  simulated_kernel k(o);
  const int c = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::type1_nesting_iommu) == 0);
  CHECK(k.close(c) == 0);
}

TEST_CASE("simulated kernel: SET_CONTAINER, SET_IOMMU and GET_DEVICE_FD in order", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  const int c = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  const int g = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
  REQUIRE(c >= 1000);
  REQUIRE(g >= 1000);
  // vfio_ioctl_set_iommu: no group yet.
  CHECK(k.ioctl_value(c, abi::req::set_iommu, abi::extension::type1v2_iommu) == -EINVAL);
  CHECK(group_flags(k, g) == static_cast<int>(abi::group_flags::viable));
  abi::group_status small{4, 0};
  CHECK(k.ioctl(g, abi::req::group_get_status, &small) == -EINVAL);
  // vfio_df_group_open: no container.
  CHECK(get_device_fd(k, g, e1000e_bdf) == -EINVAL);
  CHECK(k.ioctl(g, abi::req::group_set_container, nullptr) == -EFAULT);
  const int stranger = 4242;
  CHECK(set_container(k, g, stranger) == -EBADF);
  const int efd = k.eventfd(0, EFD_CLOEXEC);
  CHECK(set_container(k, g, efd) == -EBADFD);  // 6.12: not a container, not an iommufd
  CHECK(set_container(k, g, c) == 0);
  CHECK(group_flags(k, g) == static_cast<int>(abi::group_flags::viable | abi::group_flags::container_set));
  CHECK(set_container(k, g, c) == -EINVAL);  // already attached
  // vfio_group_use_container: SET_IOMMU first.
  CHECK(get_device_fd(k, g, e1000e_bdf) == -EINVAL);
  CHECK(k.ioctl_value(c, abi::req::set_iommu, abi::extension::spapr_tce_iommu) == -ENODEV);
  CHECK(k.ioctl_value(c, abi::req::set_iommu, abi::extension::unmap_all) == -EINVAL);  // type1 cannot open it
  CHECK(k.ioctl_value(c, abi::req::set_iommu, abi::extension::type1v2_iommu) == 0);
  CHECK(k.ioctl_value(c, abi::req::set_iommu, abi::extension::type1v2_iommu) == -EINVAL);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::dma_cc_iommu) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::update_vaddr) == 1);
  CHECK(k.ioctl(c, 0x3b7f, nullptr) == -ENOTTY);  // type1 driver: unknown ioctl

  // vfio_device_get_from_name / vfio_pci_core_match.
  CHECK(get_device_fd(k, g, "0000:00:05.0") == -ENODEV);  // in another group
  CHECK(get_device_fd(k, g, "0000:00:03.00") == -ENODEV);
  CHECK(get_device_fd(k, g, "0000:00:03.0 bogus=1") == -EINVAL);
  CHECK(get_device_fd(k, g, "0000:00:03.0 vf_token=2ab74924-c335-45f4-9b16-8569e5b08258") == -EINVAL);
  CHECK(k.ioctl(g, abi::req::group_get_device_fd, nullptr) == -EFAULT);
  const int d = get_device_fd(k, g, e1000e_bdf);
  CHECK(d >= 1000);
  CHECK(k.open_count(e1000e_bdf) == 1);
  const int d2 = get_device_fd(k, g, e1000e_bdf);  // the group path allows a second file
  CHECK(d2 >= 1000);
  CHECK(k.open_count(e1000e_bdf) == 2);

  CHECK(k.close(d2) == 0);
  CHECK(k.close(d) == 0);
  CHECK(k.close(efd) == 0);
  CHECK(k.close(g) == 0);
  CHECK(k.close(c) == 0);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: 6.1 refuses a foreign descriptor with EINVAL", "[simulated_kernel]") {
  sim::kernel_options o;
  o.version = sim::kernel_version::v6_1;
  simulated_kernel k(o);
  add_qemu_machine(k);
  const int g = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
  const int efd = k.eventfd(0, EFD_CLOEXEC);
  CHECK(set_container(k, g, efd) == -EINVAL);
  k.close(efd);
  k.close(g);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: UNSET_CONTAINER and closing order", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  // vfio_group_ioctl_unset_container: the open device is a container user.
  CHECK(k.ioctl(s.group, abi::req::group_unset_container, nullptr) == -EBUSY);

  // The device file holds the group file: closing the group descriptor does
  // not release the node while the device is open.
  CHECK(k.close(s.group) == 0);
  s.group = -1;
  CHECK(k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0) == -EBUSY);
  abi::device_info info{sizeof info, 0, 0, 0, 0, 0};
  CHECK(k.ioctl(s.device, abi::req::device_get_info, &info) == 0);
  // The container descriptor may go too: the group keeps the container.
  CHECK(k.close(s.container) == 0);
  s.container = -1;
  CHECK(k.ioctl(s.device, abi::req::device_get_info, &info) == 0);
  CHECK(k.close(s.device) == 0);
  s.device = -1;
  CHECK(k.open_count(e1000e_bdf) == 0);

  // Released: the node opens again, with no container attached.
  const int g = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
  REQUIRE(g >= 1000);
  CHECK(group_flags(k, g) == static_cast<int>(abi::group_flags::viable));
  CHECK(k.ioctl(g, abi::req::group_unset_container, nullptr) == -EINVAL);  // nothing to unset
  k.close(g);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: the last group to leave deprivileges the container", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  const int c = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  const int g3 = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
  const int g5 = k.open("/dev/vfio/5", O_RDWR | O_CLOEXEC, 0);
  REQUIRE(set_container(k, g3, c) == 0);
  REQUIRE(k.ioctl_value(c, abi::req::set_iommu, abi::extension::type1v2_iommu) == 0);
  CHECK(set_container(k, g5, c) == 0);  // a second group joins a container with an IOMMU
  const int d5 = get_device_fd(k, g5, nvme_bdf);
  CHECK(d5 >= 1000);
  CHECK(k.ioctl(g3, abi::req::group_unset_container, nullptr) == 0);
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::dma_cc_iommu) == 1);  // still set
  CHECK(k.close(d5) == 0);
  CHECK(k.ioctl(g5, abi::req::group_unset_container, nullptr) == 0);
  // No group left: no IOMMU, and SET_IOMMU needs a group again.
  CHECK(k.ioctl_value(c, abi::req::check_extension, abi::extension::dma_cc_iommu) == 0);
  CHECK(k.ioctl_value(c, abi::req::set_iommu, abi::extension::type1v2_iommu) == -EINVAL);
  CHECK(set_container(k, g3, c) == 0);
  CHECK(k.ioctl_value(c, abi::req::set_iommu, abi::extension::type1_iommu) == 0);
  k.close(g3);
  k.close(g5);
  k.close(c);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: a group with a device on a DMA-API driver is not viable", "[simulated_kernel]") {
  simulated_kernel k;
  auto a = sim::profiles::e1000e("0000:00:03.0", 10);
  auto b = sim::profiles::e1000e("0000:00:03.1", 10);
  b.driver = "e1000e";
  REQUIRE(k.add_device(a));
  REQUIRE(k.add_device(b));
  const int c = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  const int g = k.open("/dev/vfio/10", O_RDWR | O_CLOEXEC, 0);
  REQUIRE(g >= 1000);
  CHECK(group_flags(k, g) == 0);
  CHECK(set_container(k, g, c) == -EPERM);  // iommu_group_claim_dma_owner
  // Unbinding the native driver makes the group viable.
  CHECK(write_sysfs(k, "/sys/bus/pci/drivers/e1000e/unbind", "0000:00:03.1") == 12);
  CHECK(group_flags(k, g) == static_cast<int>(abi::group_flags::viable));
  CHECK(set_container(k, g, c) == 0);
  k.close(g);
  k.close(c);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: descriptors are fake numbers from 1000, lowest free first", "[simulated_kernel]") {
  simulated_kernel k;
  const int a = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  const int b = k.eventfd(0, EFD_CLOEXEC);
  CHECK(a == 1000);
  CHECK(b == 1001);
  CHECK(k.close(a) == 0);
  const int c = k.eventfd(0, EFD_CLOEXEC);
  CHECK(c == 1000);
  CHECK(k.open_descriptors(sim::descriptor_kind::eventfd) == 2);
  CHECK(k.eventfd(0, 0x12345) == -EINVAL);  // eventfd2 flag check
  k.close(b);
  k.close(c);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: fault injection by position and by request", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  sim::fault_rule second_open;
  second_open.kind = vfio::testing::call_kind::open;
  second_open.nth = 2;
  second_open.error = EMFILE;
  k.inject(second_open);
  const int a = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  CHECK(a >= 1000);
  CHECK(k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0) == -EMFILE);
  const int b = k.open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC, 0);
  CHECK(b >= 1000);

  sim::fault_rule every_device_fd;
  every_device_fd.request = abi::req::group_get_device_fd;
  every_device_fd.error = ENOSPC;
  k.inject(every_device_fd);
  const int g = k.open("/dev/vfio/3", O_RDWR | O_CLOEXEC, 0);
  REQUIRE(set_container(k, g, a) == 0);
  REQUIRE(k.ioctl_value(a, abi::req::set_iommu, abi::extension::type1v2_iommu) == 0);
  CHECK(get_device_fd(k, g, e1000e_bdf) == -ENOSPC);
  CHECK(get_device_fd(k, g, e1000e_bdf) == -ENOSPC);
  CHECK(k.open_count(e1000e_bdf) == 0);  // the injected call never reached the model
  k.clear_faults();
  const int d = get_device_fd(k, g, e1000e_bdf);
  CHECK(d >= 1000);

  // An injected close error still releases the descriptor, as close(2) does.
  sim::fault_rule close_fails;
  close_fails.kind = vfio::testing::call_kind::close;
  close_fails.fd = d;
  close_fails.error = EIO;
  k.inject(close_fails);
  CHECK(k.close(d) == -EIO);
  CHECK(k.open_count(e1000e_bdf) == 0);
  k.clear_faults();

  const auto trace = k.trace();
  REQUIRE(trace.size() >= 3);
  CHECK(trace[0].kind == vfio::testing::call_kind::open);
  CHECK(trace[0].path == "/dev/vfio/vfio");
  CHECK(trace[0].result == a);
  CHECK(trace[1].result == -EMFILE);
  CHECK(trace[1].injected);
  CHECK_FALSE(trace[2].injected);
  CHECK(trace[1].sequence == trace[0].sequence + 1);
  std::size_t injected = 0;
  for (const auto& r : trace) injected += r.injected ? 1 : 0;
  CHECK(injected == 4);
  CHECK(trace.back().kind == vfio::testing::call_kind::close);
  CHECK(trace.back().result == -EIO);
  k.clear_trace();
  CHECK(k.trace().empty());

  k.close(g);
  k.close(a);
  k.close(b);
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated kernel: add_device validates the address", "[simulated_kernel]") {
  simulated_kernel k;
  auto bad = sim::profiles::edu("0000:00:6.0");
  auto r = k.add_device(bad);
  REQUIRE_FALSE(r);
  CHECK(r.error() == vfio::errc::invalid_bdf);
  REQUIRE(k.add_device(sim::profiles::edu()));
  auto dup = k.add_device(sim::profiles::edu());
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code() == std::error_code(EEXIST, std::system_category()));
}

}  // namespace

}  // namespace vfio_unit_test_simulated_kernel_lifecycle
