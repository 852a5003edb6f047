// The scripted mock's mismatch reports name ioctl requests as the tracer does.
#include <string>
#include <vector>

#include <fcntl.h>

#include <vfio/abi/vfio.hpp>
#include <vfio/testing/ioctl_names.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include "catch.hpp"

namespace vfio_unit_test_ergonomics_mock {

namespace abi = vfio::abi;
using vfio::testing::ioctl_name;
using vfio::testing::ioctl_target;
using vfio::testing::scripted_syscalls;

namespace {
bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("ioctl names tell container and device requests apart", "[testing][names]") {
  CHECK(std::string(ioctl_name(abi::req::device_feature, ioctl_target::group_or_device)) == "VFIO_DEVICE_FEATURE");
  CHECK(std::string(ioctl_name(abi::req::iommu_dirty_pages, ioctl_target::container)) == "VFIO_IOMMU_DIRTY_PAGES");
  CHECK(std::string(ioctl_name(abi::req::iommu_map_dma, ioctl_target::container)) == "VFIO_IOMMU_MAP_DMA");
  CHECK(std::string(ioctl_name(abi::req::device_pci_hot_reset, ioctl_target::group_or_device)) ==
        "VFIO_DEVICE_PCI_HOT_RESET");
  // Unknown target: one name where the number is unambiguous, both where not.
  CHECK(std::string(ioctl_name(abi::req::device_set_irqs, ioctl_target::unknown)) == "VFIO_DEVICE_SET_IRQS");
  CHECK(std::string(ioctl_name(abi::req::check_extension, ioctl_target::unknown)) == "VFIO_CHECK_EXTENSION");
  CHECK(std::string(ioctl_name(abi::req::device_feature, ioctl_target::unknown)) ==
        "VFIO_DEVICE_FEATURE or VFIO_IOMMU_DIRTY_PAGES");
  CHECK(ioctl_name(0x3b7f, ioctl_target::unknown) == nullptr);
  CHECK(vfio::testing::ioctl_text(0x3b7f, ioctl_target::unknown) == "0x3b7f");
  CHECK(ioctl_name(abi::req::group_get_status, ioctl_target::container) == nullptr);  // not a container request
}

TEST_CASE("scripted mock mismatches print request names", "[testing][names]") {
  std::vector<std::string> reports;
  scripted_syscalls mock([&reports](const std::string& m) { reports.push_back(m); });
  mock.expect_open("/dev/vfio/vfio").returns(10);
  mock.expect_open("/dev/vfio/3").returns(11);
  mock.expect_ioctl(11, abi::req::group_get_device_fd).returns_fd(12);
  mock.expect_ioctl(10, abi::req::iommu_map_dma).returns(0);
  mock.expect_ioctl(12, abi::req::device_feature).returns(0);

  CHECK(mock.open("/dev/vfio/vfio", O_RDWR, 0) == 10);
  CHECK(mock.open("/dev/vfio/3", O_RDWR, 0) == 11);
  CHECK(mock.ioctl(11, abi::req::group_get_device_fd, const_cast<char*>("0000:00:03.0")) == 12);
  // The container's MAP_DMA expected, the device's hot reset (the same number) sent.
  CHECK(mock.ioctl(12, abi::req::device_pci_hot_reset, nullptr) == -EPROTO);
  REQUIRE(reports.size() == 1);
  CHECK(contains(reports[0], "expected ioctl(fd 10, request VFIO_IOMMU_MAP_DMA)"));
  CHECK(contains(reports[0], "got ioctl(fd 12, request VFIO_DEVICE_PCI_HOT_RESET)"));
  CHECK_FALSE(contains(reports[0], "0x3b"));

  CHECK(mock.ioctl(10, abi::req::iommu_map_dma, nullptr) == 0);
  CHECK(mock.ioctl(12, abi::req::device_feature, nullptr) == 0);
  CHECK(mock.ioctl(12, abi::req::device_reset, nullptr) == -EPROTO);  // past the end of the script
  REQUIRE(reports.size() == 2);
  CHECK(contains(reports[1], "unexpected call ioctl(fd 12, request VFIO_DEVICE_RESET) after the script ended"));
}

TEST_CASE("scripted mock: unmet expectations and unknown descriptors", "[testing][names]") {
  std::vector<std::string> reports;
  scripted_syscalls mock([&reports](const std::string& m) { reports.push_back(m); });
  mock.expect_ioctl(7, abi::req::device_feature).returns(0);  // fd 7 never opened in the script
  mock.expect_ioctl(7, 0x3b7f).returns(0);
  CHECK_FALSE(mock.verify_done());
  REQUIRE(reports.size() == 2);
  CHECK(contains(reports[0], "never made: ioctl(fd 7, request VFIO_DEVICE_FEATURE or VFIO_IOMMU_DIRTY_PAGES)"));
  CHECK(contains(reports[1], "request 0x3b7f"));
}

}  // namespace vfio_unit_test_ergonomics_mock
