// The names of VFIO and iommufd ioctl requests, for test output: the tracer's lines
// and the scripted mock's mismatch reports print "VFIO_DEVICE_FEATURE", not 0x3b75.
#ifndef VFIO_TESTING_IOCTL_NAMES_HPP_INCLUDED
#define VFIO_TESTING_IOCTL_NAMES_HPP_INCLUDED

#include <cstdio>
#include <string>

#include "../abi/iommufd.hpp"
#include "../abi/vfio.hpp"

namespace vfio::testing {

/// The kind of descriptor an ioctl went to. A Type1 container's IOMMU requests
/// reuse the numbers of device requests (VFIO_IOMMU_GET_INFO is
/// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_BASE + 12), so a number alone can
/// be ambiguous.
enum class ioctl_target { container, group_or_device, unknown };

inline const char* to_string(ioctl_target t) noexcept {
  switch (t) {
    case ioctl_target::container: return "container";
    case ioctl_target::group_or_device: return "group or device";
    case ioctl_target::unknown: return "unknown";
  }
  return "?";
}

/// The name of a VFIO request sent to a descriptor of `target`, or nullptr
/// when the library does not know the number. With ioctl_target::unknown, a
/// number both kinds use gives both names ("VFIO_DEVICE_FEATURE or
/// VFIO_IOMMU_DIRTY_PAGES").
inline const char* ioctl_name(unsigned long request, ioctl_target target) noexcept {
  namespace r = abi::req;
  const auto container_name = [](unsigned long req) noexcept -> const char* {
    switch (req) {
      case r::get_api_version: return "VFIO_GET_API_VERSION";
      case r::check_extension: return "VFIO_CHECK_EXTENSION";
      case r::set_iommu: return "VFIO_SET_IOMMU";
      case r::iommu_get_info: return "VFIO_IOMMU_GET_INFO";
      case r::iommu_map_dma: return "VFIO_IOMMU_MAP_DMA";
      case r::iommu_unmap_dma: return "VFIO_IOMMU_UNMAP_DMA";
      case r::iommu_dirty_pages: return "VFIO_IOMMU_DIRTY_PAGES";
      default: return nullptr;
    }
  };
  const auto other_name = [](unsigned long req) noexcept -> const char* {
    switch (req) {
      case r::group_get_status: return "VFIO_GROUP_GET_STATUS";
      case r::group_set_container: return "VFIO_GROUP_SET_CONTAINER";
      case r::group_unset_container: return "VFIO_GROUP_UNSET_CONTAINER";
      case r::group_get_device_fd: return "VFIO_GROUP_GET_DEVICE_FD";
      case r::device_get_info: return "VFIO_DEVICE_GET_INFO";
      case r::device_get_region_info: return "VFIO_DEVICE_GET_REGION_INFO";
      case r::device_get_irq_info: return "VFIO_DEVICE_GET_IRQ_INFO";
      case r::device_set_irqs: return "VFIO_DEVICE_SET_IRQS";
      case r::device_reset: return "VFIO_DEVICE_RESET";
      case r::device_get_pci_hot_reset_info: return "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO";
      case r::device_pci_hot_reset: return "VFIO_DEVICE_PCI_HOT_RESET";
      case r::device_ioeventfd: return "VFIO_DEVICE_IOEVENTFD";
      case r::device_feature: return "VFIO_DEVICE_FEATURE";
      case r::device_bind_iommufd: return "VFIO_DEVICE_BIND_IOMMUFD";
      case r::device_attach_iommufd_pt: return "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
      case r::device_detach_iommufd_pt: return "VFIO_DEVICE_DETACH_IOMMUFD_PT";
      case r::mig_get_precopy_info: return "VFIO_MIG_GET_PRECOPY_INFO";  // on a migration data_fd
      default: return nullptr;
    }
  };
  // iommufd numbers (IOMMUFD_CMD_BASE 0x80 and up) lie above every VFIO number: no
  // descriptor kind is needed to name them.
  switch (request) {
    case abi::iommufd::req::destroy: return "IOMMU_DESTROY";
    case abi::iommufd::req::ioas_alloc: return "IOMMU_IOAS_ALLOC";
    case abi::iommufd::req::ioas_allow_iovas: return "IOMMU_IOAS_ALLOW_IOVAS";
    case abi::iommufd::req::ioas_copy: return "IOMMU_IOAS_COPY";
    case abi::iommufd::req::ioas_iova_ranges: return "IOMMU_IOAS_IOVA_RANGES";
    case abi::iommufd::req::ioas_map: return "IOMMU_IOAS_MAP";
    case abi::iommufd::req::ioas_unmap: return "IOMMU_IOAS_UNMAP";
    case abi::iommufd::req::option: return "IOMMU_OPTION";
    case abi::iommufd::req::vfio_ioas: return "IOMMU_VFIO_IOAS";
    case abi::iommufd::req::hwpt_alloc: return "IOMMU_HWPT_ALLOC";
    case abi::iommufd::req::get_hw_info: return "IOMMU_GET_HW_INFO";
    case abi::iommufd::req::hwpt_set_dirty_tracking: return "IOMMU_HWPT_SET_DIRTY_TRACKING";
    case abi::iommufd::req::hwpt_get_dirty_bitmap: return "IOMMU_HWPT_GET_DIRTY_BITMAP";
    case abi::iommufd::req::hwpt_invalidate: return "IOMMU_HWPT_INVALIDATE";
    case abi::iommufd::req::fault_queue_alloc: return "IOMMU_FAULT_QUEUE_ALLOC";
    default: break;
  }
  switch (target) {
    case ioctl_target::container: return container_name(request);
    case ioctl_target::group_or_device: return other_name(request);
    case ioctl_target::unknown: break;
  }
  const char* c = container_name(request);
  const char* o = other_name(request);
  if (!c || !o) return c ? c : o;
  // The numbers both kinds use (VFIO_BASE + 12, 13, 17), device first: far more common.
  switch (request) {
    case r::iommu_get_info: return "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO or VFIO_IOMMU_GET_INFO";
    case r::iommu_map_dma: return "VFIO_DEVICE_PCI_HOT_RESET or VFIO_IOMMU_MAP_DMA";
    case r::iommu_dirty_pages: return "VFIO_DEVICE_FEATURE or VFIO_IOMMU_DIRTY_PAGES";
    default: return o;
  }
}

/// ioctl_name, or the number in hex ("0x3b7f") when it has none.
inline std::string ioctl_text(unsigned long request, ioctl_target target) {
  if (const char* n = ioctl_name(request, target)) return n;
  char b[32];
  std::snprintf(b, sizeof b, "0x%lx", request);
  return b;
}

}  // namespace vfio::testing

#endif  // VFIO_TESTING_IOCTL_NAMES_HPP_INCLUDED
