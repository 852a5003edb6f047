// Cross-checks vfio::abi against the build host's kernel headers: every ioctl number,
// flag, index, struct size/alignment and field offset/size/signedness that both define
// must agree. It also proves the two can share a translation unit: the system headers
// come first, so any identifier of ours that is a macro there would break the build.
//
// Names newer than the host's headers are checked only when the host has them (an
// #ifdef on a macro that arrived with them, or a member-detection trait for fields that
// were added to an existing struct). Everything is checked at compile time; the test
// case at the end only makes the translation unit register with Catch2.

#if __has_include(<linux/vfio.h>)
#include <linux/vfio.h>
#define VFIO_XC_HAVE_LINUX_VFIO_H 1
#endif
#if __has_include(<linux/pci_regs.h>)
#include <linux/pci_regs.h>
#define VFIO_XC_HAVE_LINUX_PCI_REGS_H 1
#endif
#if __has_include(<linux/kvm.h>)
#include <linux/kvm.h>
#define VFIO_XC_HAVE_LINUX_KVM_H 1
#endif

#include <vfio/abi/kvm.hpp>
#include <vfio/abi/pci.hpp>
#include <vfio/abi/vfio.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#if __has_include(<catch2/catch.hpp>)
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#endif

// Values are compared as 64-bit unsigned so that int, unsigned and enum macros all work;
// the two kernel values that are negative ints meant as u32 are cast at the call site.
#define VFIO_XC_SAME(ours, theirs)                                                            \
  static_assert(static_cast<std::uint64_t>(ours) == static_cast<std::uint64_t>(theirs), #ours \
                " differs "                                                                   \
                "from " #theirs)

// Whole-struct size and alignment.
#define VFIO_XC_STRUCT(ours, theirs)                                                 \
  static_assert(sizeof(vfio::abi::ours) == sizeof(struct theirs), #ours ": sizeof"); \
  static_assert(alignof(vfio::abi::ours) == alignof(struct theirs), #ours ": alignof")

// One field: offset, size and signedness (names may differ, e.g. `pad` vs `__pad`).
#define VFIO_XC_FIELD2(ours, of, theirs, tf)                                                                \
  static_assert(offsetof(vfio::abi::ours, of) == offsetof(struct theirs, tf), #ours "::" #of ": offset");   \
  static_assert(sizeof(std::declval<vfio::abi::ours&>().of) == sizeof(std::declval<struct theirs&>().tf),   \
                #ours "::" #of ": size");                                                                   \
  static_assert(std::is_signed_v<std::remove_reference_t<decltype(std::declval<vfio::abi::ours&>().of)>> == \
                    std::is_signed_v<std::remove_reference_t<decltype(std::declval<struct theirs&>().tf)>>, \
                #ours "::" #of ": signedness")
#define VFIO_XC_FIELD(ours, theirs, f) VFIO_XC_FIELD2(ours, f, theirs, f)

// Member detection, for fields added to structs that older headers already have.
#define VFIO_XC_HAS_MEMBER(trait, member) \
  template <class T, class = void>        \
  struct trait : std::false_type {};      \
  template <class T>                      \
  struct trait<T, std::void_t<decltype(std::declval<T&>().member)>> : std::true_type {}

// A field that newer headers added to an existing struct: compared only when present.
// Needs the has_<field> trait from VFIO_XC_HAS_MEMBER.
#define VFIO_XC_OPTIONAL_FIELD(ours, theirs, f)                                          \
  template <class T>                                                                     \
  constexpr bool ours##_##f##_matches() {                                                \
    if constexpr (has_##f<T>::value) {                                                   \
      return offsetof(T, f) == offsetof(vfio::abi::ours, f) &&                           \
             sizeof(std::declval<T&>().f) == sizeof(std::declval<vfio::abi::ours&>().f); \
    } else {                                                                             \
      return true;                                                                       \
    }                                                                                    \
  }                                                                                      \
  static_assert(ours##_##f##_matches<struct theirs>(), #ours "::" #f)

namespace {

// ---------------------------------------------------------------------------------------
// <linux/vfio.h>
#ifdef VFIO_XC_HAVE_LINUX_VFIO_H

namespace abi = vfio::abi;

VFIO_XC_HAS_MEMBER(has_pad, pad);
VFIO_XC_HAS_MEMBER(has_reserved, reserved);
VFIO_XC_HAS_MEMBER(has_devid, devid);

VFIO_XC_SAME(abi::api_version, VFIO_API_VERSION);
VFIO_XC_SAME(abi::ioctl_type, VFIO_TYPE);
VFIO_XC_SAME(abi::ioctl_base, VFIO_BASE);

// ioctl numbers.
VFIO_XC_SAME(abi::req::get_api_version, VFIO_GET_API_VERSION);
VFIO_XC_SAME(abi::req::check_extension, VFIO_CHECK_EXTENSION);
VFIO_XC_SAME(abi::req::set_iommu, VFIO_SET_IOMMU);
VFIO_XC_SAME(abi::req::group_get_status, VFIO_GROUP_GET_STATUS);
VFIO_XC_SAME(abi::req::group_set_container, VFIO_GROUP_SET_CONTAINER);
VFIO_XC_SAME(abi::req::group_unset_container, VFIO_GROUP_UNSET_CONTAINER);
VFIO_XC_SAME(abi::req::group_get_device_fd, VFIO_GROUP_GET_DEVICE_FD);
VFIO_XC_SAME(abi::req::device_get_info, VFIO_DEVICE_GET_INFO);
VFIO_XC_SAME(abi::req::device_get_region_info, VFIO_DEVICE_GET_REGION_INFO);
VFIO_XC_SAME(abi::req::device_get_irq_info, VFIO_DEVICE_GET_IRQ_INFO);
VFIO_XC_SAME(abi::req::device_set_irqs, VFIO_DEVICE_SET_IRQS);
VFIO_XC_SAME(abi::req::device_reset, VFIO_DEVICE_RESET);
VFIO_XC_SAME(abi::req::device_get_pci_hot_reset_info, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO);
VFIO_XC_SAME(abi::req::device_pci_hot_reset, VFIO_DEVICE_PCI_HOT_RESET);
VFIO_XC_SAME(abi::req::device_query_gfx_plane, VFIO_DEVICE_QUERY_GFX_PLANE);
VFIO_XC_SAME(abi::req::device_get_gfx_dmabuf, VFIO_DEVICE_GET_GFX_DMABUF);
VFIO_XC_SAME(abi::req::device_ioeventfd, VFIO_DEVICE_IOEVENTFD);
VFIO_XC_SAME(abi::req::device_feature, VFIO_DEVICE_FEATURE);
#ifdef VFIO_DEVICE_BIND_IOMMUFD
VFIO_XC_SAME(abi::req::device_bind_iommufd, VFIO_DEVICE_BIND_IOMMUFD);
VFIO_XC_SAME(abi::req::device_attach_iommufd_pt, VFIO_DEVICE_ATTACH_IOMMUFD_PT);
VFIO_XC_SAME(abi::req::device_detach_iommufd_pt, VFIO_DEVICE_DETACH_IOMMUFD_PT);
#endif
#ifdef VFIO_MIG_GET_PRECOPY_INFO
VFIO_XC_SAME(abi::req::mig_get_precopy_info, VFIO_MIG_GET_PRECOPY_INFO);
#endif
VFIO_XC_SAME(abi::req::iommu_get_info, VFIO_IOMMU_GET_INFO);
VFIO_XC_SAME(abi::req::iommu_map_dma, VFIO_IOMMU_MAP_DMA);
VFIO_XC_SAME(abi::req::iommu_unmap_dma, VFIO_IOMMU_UNMAP_DMA);
VFIO_XC_SAME(abi::req::iommu_dirty_pages, VFIO_IOMMU_DIRTY_PAGES);
VFIO_XC_SAME(abi::req::iommu_spapr_tce_get_info, VFIO_IOMMU_SPAPR_TCE_GET_INFO);
VFIO_XC_SAME(abi::req::iommu_enable, VFIO_IOMMU_ENABLE);
VFIO_XC_SAME(abi::req::iommu_disable, VFIO_IOMMU_DISABLE);
VFIO_XC_SAME(abi::req::iommu_spapr_register_memory, VFIO_IOMMU_SPAPR_REGISTER_MEMORY);
VFIO_XC_SAME(abi::req::iommu_spapr_unregister_memory, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY);
VFIO_XC_SAME(abi::req::iommu_spapr_tce_create, VFIO_IOMMU_SPAPR_TCE_CREATE);
VFIO_XC_SAME(abi::req::iommu_spapr_tce_remove, VFIO_IOMMU_SPAPR_TCE_REMOVE);
VFIO_XC_SAME(abi::req::eeh_pe_op, VFIO_EEH_PE_OP);

// Extensions.
VFIO_XC_SAME(abi::extension::type1_iommu, VFIO_TYPE1_IOMMU);
VFIO_XC_SAME(abi::extension::spapr_tce_iommu, VFIO_SPAPR_TCE_IOMMU);
VFIO_XC_SAME(abi::extension::type1v2_iommu, VFIO_TYPE1v2_IOMMU);
VFIO_XC_SAME(abi::extension::dma_cc_iommu, VFIO_DMA_CC_IOMMU);
VFIO_XC_SAME(abi::extension::eeh, VFIO_EEH);
#if defined(VFIO_TYPE1_NESTING_IOMMU)
VFIO_XC_SAME(abi::extension::type1_nesting_iommu, VFIO_TYPE1_NESTING_IOMMU);
#elif defined(__VFIO_RESERVED_TYPE1_NESTING_IOMMU)
VFIO_XC_SAME(abi::extension::type1_nesting_iommu, __VFIO_RESERVED_TYPE1_NESTING_IOMMU);
#endif
VFIO_XC_SAME(abi::extension::spapr_tce_v2_iommu, VFIO_SPAPR_TCE_v2_IOMMU);
VFIO_XC_SAME(abi::extension::noiommu_iommu, VFIO_NOIOMMU_IOMMU);
VFIO_XC_SAME(abi::extension::unmap_all, VFIO_UNMAP_ALL);
VFIO_XC_SAME(abi::extension::update_vaddr, VFIO_UPDATE_VADDR);

// Group.
VFIO_XC_SAME(abi::group_flags::viable, VFIO_GROUP_FLAGS_VIABLE);
VFIO_XC_SAME(abi::group_flags::container_set, VFIO_GROUP_FLAGS_CONTAINER_SET);

// Device info.
VFIO_XC_SAME(abi::device_flags::reset, VFIO_DEVICE_FLAGS_RESET);
VFIO_XC_SAME(abi::device_flags::pci, VFIO_DEVICE_FLAGS_PCI);
VFIO_XC_SAME(abi::device_flags::platform, VFIO_DEVICE_FLAGS_PLATFORM);
VFIO_XC_SAME(abi::device_flags::amba, VFIO_DEVICE_FLAGS_AMBA);
VFIO_XC_SAME(abi::device_flags::ccw, VFIO_DEVICE_FLAGS_CCW);
VFIO_XC_SAME(abi::device_flags::ap, VFIO_DEVICE_FLAGS_AP);
VFIO_XC_SAME(abi::device_flags::fsl_mc, VFIO_DEVICE_FLAGS_FSL_MC);
VFIO_XC_SAME(abi::device_flags::caps, VFIO_DEVICE_FLAGS_CAPS);
#ifdef VFIO_DEVICE_FLAGS_CDX
VFIO_XC_SAME(abi::device_flags::cdx, VFIO_DEVICE_FLAGS_CDX);
#endif
VFIO_XC_SAME(abi::device_info_cap::zpci_base, VFIO_DEVICE_INFO_CAP_ZPCI_BASE);
VFIO_XC_SAME(abi::device_info_cap::zpci_group, VFIO_DEVICE_INFO_CAP_ZPCI_GROUP);
VFIO_XC_SAME(abi::device_info_cap::zpci_util, VFIO_DEVICE_INFO_CAP_ZPCI_UTIL);
VFIO_XC_SAME(abi::device_info_cap::zpci_pfip, VFIO_DEVICE_INFO_CAP_ZPCI_PFIP);
#ifdef VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP
VFIO_XC_SAME(abi::device_info_cap::pci_atomic_comp, VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP);
VFIO_XC_SAME(abi::atomic_comp_flags::comp32, VFIO_PCI_ATOMIC_COMP32);
VFIO_XC_SAME(abi::atomic_comp_flags::comp64, VFIO_PCI_ATOMIC_COMP64);
VFIO_XC_SAME(abi::atomic_comp_flags::comp128, VFIO_PCI_ATOMIC_COMP128);
#endif

// Regions.
VFIO_XC_SAME(abi::region_flags::read, VFIO_REGION_INFO_FLAG_READ);
VFIO_XC_SAME(abi::region_flags::write, VFIO_REGION_INFO_FLAG_WRITE);
VFIO_XC_SAME(abi::region_flags::mmap, VFIO_REGION_INFO_FLAG_MMAP);
VFIO_XC_SAME(abi::region_flags::caps, VFIO_REGION_INFO_FLAG_CAPS);
VFIO_XC_SAME(abi::region_cap::sparse_mmap, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
VFIO_XC_SAME(abi::region_cap::type, VFIO_REGION_INFO_CAP_TYPE);
VFIO_XC_SAME(abi::region_cap::msix_mappable, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
VFIO_XC_SAME(abi::region_cap::nvlink2_ssatgt, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT);
VFIO_XC_SAME(abi::region_cap::nvlink2_lnkspd, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD);
// (1 << 31) is a negative int in the kernel header; the field is a u32.
VFIO_XC_SAME(abi::region_type::pci_vendor_type, static_cast<std::uint32_t>(VFIO_REGION_TYPE_PCI_VENDOR_TYPE));
VFIO_XC_SAME(abi::region_type::pci_vendor_mask, VFIO_REGION_TYPE_PCI_VENDOR_MASK);
VFIO_XC_SAME(abi::region_type::gfx, VFIO_REGION_TYPE_GFX);
VFIO_XC_SAME(abi::region_type::ccw, VFIO_REGION_TYPE_CCW);
VFIO_XC_SAME(abi::region_type::migration_deprecated, VFIO_REGION_TYPE_MIGRATION_DEPRECATED);
VFIO_XC_SAME(abi::region_subtype::intel_igd_opregion, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
VFIO_XC_SAME(abi::region_subtype::intel_igd_host_cfg, VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG);
VFIO_XC_SAME(abi::region_subtype::intel_igd_lpc_cfg, VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG);
VFIO_XC_SAME(abi::region_subtype::nvidia_nvlink2_ram, VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM);
VFIO_XC_SAME(abi::region_subtype::ibm_nvlink2_atsd, VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD);
VFIO_XC_SAME(abi::region_subtype::gfx_edid, VFIO_REGION_SUBTYPE_GFX_EDID);
VFIO_XC_SAME(abi::region_subtype::ccw_async_cmd, VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD);
VFIO_XC_SAME(abi::region_subtype::ccw_schib, VFIO_REGION_SUBTYPE_CCW_SCHIB);
VFIO_XC_SAME(abi::region_subtype::ccw_crw, VFIO_REGION_SUBTYPE_CCW_CRW);
VFIO_XC_SAME(abi::region_subtype::migration_deprecated, VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED);
VFIO_XC_SAME(abi::gfx_link_state::up, VFIO_DEVICE_GFX_LINK_STATE_UP);
VFIO_XC_SAME(abi::gfx_link_state::down, VFIO_DEVICE_GFX_LINK_STATE_DOWN);
VFIO_XC_SAME(abi::pci_region::bar0, VFIO_PCI_BAR0_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::bar1, VFIO_PCI_BAR1_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::bar2, VFIO_PCI_BAR2_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::bar3, VFIO_PCI_BAR3_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::bar4, VFIO_PCI_BAR4_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::bar5, VFIO_PCI_BAR5_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::rom, VFIO_PCI_ROM_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::config, VFIO_PCI_CONFIG_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::vga, VFIO_PCI_VGA_REGION_INDEX);
VFIO_XC_SAME(abi::pci_region::count, VFIO_PCI_NUM_REGIONS);

// IRQs.
VFIO_XC_SAME(abi::irq_info_flags::eventfd, VFIO_IRQ_INFO_EVENTFD);
VFIO_XC_SAME(abi::irq_info_flags::maskable, VFIO_IRQ_INFO_MASKABLE);
VFIO_XC_SAME(abi::irq_info_flags::automasked, VFIO_IRQ_INFO_AUTOMASKED);
VFIO_XC_SAME(abi::irq_info_flags::noresize, VFIO_IRQ_INFO_NORESIZE);
VFIO_XC_SAME(abi::irq_set_flags::data_none, VFIO_IRQ_SET_DATA_NONE);
VFIO_XC_SAME(abi::irq_set_flags::data_bool, VFIO_IRQ_SET_DATA_BOOL);
VFIO_XC_SAME(abi::irq_set_flags::data_eventfd, VFIO_IRQ_SET_DATA_EVENTFD);
VFIO_XC_SAME(abi::irq_set_flags::action_mask, VFIO_IRQ_SET_ACTION_MASK);
VFIO_XC_SAME(abi::irq_set_flags::action_unmask, VFIO_IRQ_SET_ACTION_UNMASK);
VFIO_XC_SAME(abi::irq_set_flags::action_trigger, VFIO_IRQ_SET_ACTION_TRIGGER);
VFIO_XC_SAME(abi::irq_set_flags::data_type_mask, VFIO_IRQ_SET_DATA_TYPE_MASK);
VFIO_XC_SAME(abi::irq_set_flags::action_type_mask, VFIO_IRQ_SET_ACTION_TYPE_MASK);
VFIO_XC_SAME(abi::pci_irq::intx, VFIO_PCI_INTX_IRQ_INDEX);
VFIO_XC_SAME(abi::pci_irq::msi, VFIO_PCI_MSI_IRQ_INDEX);
VFIO_XC_SAME(abi::pci_irq::msix, VFIO_PCI_MSIX_IRQ_INDEX);
VFIO_XC_SAME(abi::pci_irq::err, VFIO_PCI_ERR_IRQ_INDEX);
VFIO_XC_SAME(abi::pci_irq::req, VFIO_PCI_REQ_IRQ_INDEX);
VFIO_XC_SAME(abi::pci_irq::count, VFIO_PCI_NUM_IRQS);

// Hot reset.
#ifdef VFIO_PCI_HOT_RESET_FLAG_DEV_ID
VFIO_XC_SAME(abi::hot_reset_flags::dev_id, VFIO_PCI_HOT_RESET_FLAG_DEV_ID);
VFIO_XC_SAME(abi::hot_reset_flags::dev_id_owned, VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED);
#endif
#ifdef VFIO_PCI_DEVID_OWNED
VFIO_XC_SAME(abi::pci_devid::owned, VFIO_PCI_DEVID_OWNED);
// -1 in the kernel header; the field is a u32.
VFIO_XC_SAME(abi::pci_devid::not_owned, static_cast<std::uint32_t>(VFIO_PCI_DEVID_NOT_OWNED));
#endif

// Graphics, ioeventfd.
VFIO_XC_SAME(abi::gfx_plane_type::probe, VFIO_GFX_PLANE_TYPE_PROBE);
VFIO_XC_SAME(abi::gfx_plane_type::dmabuf, VFIO_GFX_PLANE_TYPE_DMABUF);
VFIO_XC_SAME(abi::gfx_plane_type::region, VFIO_GFX_PLANE_TYPE_REGION);
VFIO_XC_SAME(abi::ioeventfd_flags::size_8, VFIO_DEVICE_IOEVENTFD_8);
VFIO_XC_SAME(abi::ioeventfd_flags::size_16, VFIO_DEVICE_IOEVENTFD_16);
VFIO_XC_SAME(abi::ioeventfd_flags::size_32, VFIO_DEVICE_IOEVENTFD_32);
VFIO_XC_SAME(abi::ioeventfd_flags::size_64, VFIO_DEVICE_IOEVENTFD_64);
VFIO_XC_SAME(abi::ioeventfd_flags::size_mask, VFIO_DEVICE_IOEVENTFD_SIZE_MASK);

// cdev.
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN
VFIO_XC_SAME(abi::bind_flags::token, VFIO_DEVICE_BIND_FLAG_TOKEN);
#endif
#ifdef VFIO_DEVICE_ATTACH_PASID
VFIO_XC_SAME(abi::attach_flags::pasid, VFIO_DEVICE_ATTACH_PASID);
#endif
#ifdef VFIO_DEVICE_DETACH_PASID
VFIO_XC_SAME(abi::detach_flags::pasid, VFIO_DEVICE_DETACH_PASID);
#endif

// DEVICE_FEATURE.
VFIO_XC_SAME(abi::feature_flags::mask, VFIO_DEVICE_FEATURE_MASK);
VFIO_XC_SAME(abi::feature_flags::get, VFIO_DEVICE_FEATURE_GET);
VFIO_XC_SAME(abi::feature_flags::set, VFIO_DEVICE_FEATURE_SET);
VFIO_XC_SAME(abi::feature_flags::probe, VFIO_DEVICE_FEATURE_PROBE);
VFIO_XC_SAME(abi::feature_id::pci_vf_token, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN);
VFIO_XC_SAME(abi::feature_id::migration, VFIO_DEVICE_FEATURE_MIGRATION);
VFIO_XC_SAME(abi::feature_id::mig_device_state, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
#ifdef VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY
VFIO_XC_SAME(abi::feature_id::low_power_entry, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY);
VFIO_XC_SAME(abi::feature_id::low_power_entry_with_wakeup, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP);
VFIO_XC_SAME(abi::feature_id::low_power_exit, VFIO_DEVICE_FEATURE_LOW_POWER_EXIT);
#endif
#ifdef VFIO_DEVICE_FEATURE_DMA_LOGGING_START
VFIO_XC_SAME(abi::feature_id::dma_logging_start, VFIO_DEVICE_FEATURE_DMA_LOGGING_START);
VFIO_XC_SAME(abi::feature_id::dma_logging_stop, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP);
VFIO_XC_SAME(abi::feature_id::dma_logging_report, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT);
#endif
#ifdef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
VFIO_XC_SAME(abi::feature_id::mig_data_size, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE);
#endif
#ifdef VFIO_DEVICE_FEATURE_BUS_MASTER
VFIO_XC_SAME(abi::feature_id::bus_master, VFIO_DEVICE_FEATURE_BUS_MASTER);
VFIO_XC_SAME(abi::bus_master_op::clear_master, VFIO_DEVICE_FEATURE_CLEAR_MASTER);
VFIO_XC_SAME(abi::bus_master_op::set_master, VFIO_DEVICE_FEATURE_SET_MASTER);
#endif
#ifdef VFIO_DEVICE_FEATURE_DMA_BUF
VFIO_XC_SAME(abi::feature_id::dma_buf, VFIO_DEVICE_FEATURE_DMA_BUF);
#endif
VFIO_XC_SAME(abi::migration_flags::stop_copy, VFIO_MIGRATION_STOP_COPY);
VFIO_XC_SAME(abi::migration_flags::p2p, VFIO_MIGRATION_P2P);
VFIO_XC_SAME(abi::mig_device_state::error, VFIO_DEVICE_STATE_ERROR);
VFIO_XC_SAME(abi::mig_device_state::stop, VFIO_DEVICE_STATE_STOP);
VFIO_XC_SAME(abi::mig_device_state::running, VFIO_DEVICE_STATE_RUNNING);
VFIO_XC_SAME(abi::mig_device_state::stop_copy, VFIO_DEVICE_STATE_STOP_COPY);
VFIO_XC_SAME(abi::mig_device_state::resuming, VFIO_DEVICE_STATE_RESUMING);
VFIO_XC_SAME(abi::mig_device_state::running_p2p, VFIO_DEVICE_STATE_RUNNING_P2P);
// The PRE_COPY states are enumerators, not macros: key them on the flag that came with them.
#ifdef VFIO_MIGRATION_PRE_COPY
VFIO_XC_SAME(abi::migration_flags::pre_copy, VFIO_MIGRATION_PRE_COPY);
VFIO_XC_SAME(abi::mig_device_state::pre_copy, VFIO_DEVICE_STATE_PRE_COPY);
VFIO_XC_SAME(abi::mig_device_state::pre_copy_p2p, VFIO_DEVICE_STATE_PRE_COPY_P2P);
#endif
// The seed ABI was never merged; check it only against a header that carries it.
#ifdef VFIO_DEVICE_FEATURE_POWER_MANAGEMENT
VFIO_XC_SAME(abi::seed::feature_id::power_management, VFIO_DEVICE_FEATURE_POWER_MANAGEMENT);
VFIO_XC_SAME(abi::seed::low_power_state_exit, VFIO_DEVICE_LOW_POWER_STATE_EXIT);
VFIO_XC_SAME(abi::seed::low_power_state_enter, VFIO_DEVICE_LOW_POWER_STATE_ENTER);
#if UINTPTR_MAX == UINT64_MAX
VFIO_XC_STRUCT(seed::feature_power_management, vfio_device_feature_power_management);
VFIO_XC_FIELD(seed::feature_power_management, vfio_device_feature_power_management, low_power_state);
#endif
#endif

// Type1 IOMMU.
VFIO_XC_SAME(abi::iommu_info_flags::pgsizes, VFIO_IOMMU_INFO_PGSIZES);
VFIO_XC_SAME(abi::iommu_info_flags::caps, VFIO_IOMMU_INFO_CAPS);
VFIO_XC_SAME(abi::iommu_cap::iova_range, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
VFIO_XC_SAME(abi::iommu_cap::migration, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
VFIO_XC_SAME(abi::iommu_cap::dma_avail, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
VFIO_XC_SAME(abi::dma_map_flags::read, VFIO_DMA_MAP_FLAG_READ);
VFIO_XC_SAME(abi::dma_map_flags::write, VFIO_DMA_MAP_FLAG_WRITE);
VFIO_XC_SAME(abi::dma_map_flags::vaddr, VFIO_DMA_MAP_FLAG_VADDR);
VFIO_XC_SAME(abi::dma_unmap_flags::get_dirty_bitmap, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
VFIO_XC_SAME(abi::dma_unmap_flags::all, VFIO_DMA_UNMAP_FLAG_ALL);
VFIO_XC_SAME(abi::dma_unmap_flags::vaddr, VFIO_DMA_UNMAP_FLAG_VADDR);
VFIO_XC_SAME(abi::dirty_pages_flags::start, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
VFIO_XC_SAME(abi::dirty_pages_flags::stop, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
VFIO_XC_SAME(abi::dirty_pages_flags::get_bitmap, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP);

// Struct layouts. vfio::abi keeps the 64-bit kernel's layout on every target, while a
// 32-bit host's kernel headers give plain __u64 fields 4-byte alignment, so layouts are
// compared on 64-bit hosts only.
#if UINTPTR_MAX == UINT64_MAX

VFIO_XC_STRUCT(info_cap_header, vfio_info_cap_header);
VFIO_XC_FIELD(info_cap_header, vfio_info_cap_header, id);
VFIO_XC_FIELD(info_cap_header, vfio_info_cap_header, version);
VFIO_XC_FIELD(info_cap_header, vfio_info_cap_header, next);

VFIO_XC_STRUCT(group_status, vfio_group_status);
VFIO_XC_FIELD(group_status, vfio_group_status, argsz);
VFIO_XC_FIELD(group_status, vfio_group_status, flags);

// vfio_device_info: 24 bytes once `pad` exists (v6.6), 20 before; the common prefix
// must match either way.
VFIO_XC_FIELD(device_info, vfio_device_info, argsz);
VFIO_XC_FIELD(device_info, vfio_device_info, flags);
VFIO_XC_FIELD(device_info, vfio_device_info, num_regions);
VFIO_XC_FIELD(device_info, vfio_device_info, num_irqs);
VFIO_XC_FIELD(device_info, vfio_device_info, cap_offset);
template <class T>
constexpr bool device_info_matches() {
  if constexpr (has_pad<T>::value) {
    return sizeof(T) == sizeof(abi::device_info) && alignof(T) == alignof(abi::device_info) &&
           offsetof(T, pad) == offsetof(abi::device_info, pad);
  } else {
    return sizeof(T) == 20 && alignof(T) == alignof(abi::device_info);
  }
}
static_assert(device_info_matches<struct vfio_device_info>());

#ifdef VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP
VFIO_XC_STRUCT(device_info_cap_pci_atomic_comp, vfio_device_info_cap_pci_atomic_comp);
VFIO_XC_FIELD(device_info_cap_pci_atomic_comp, vfio_device_info_cap_pci_atomic_comp, header);
VFIO_XC_FIELD(device_info_cap_pci_atomic_comp, vfio_device_info_cap_pci_atomic_comp, flags);
VFIO_XC_FIELD(device_info_cap_pci_atomic_comp, vfio_device_info_cap_pci_atomic_comp, reserved);
#endif

VFIO_XC_STRUCT(region_info, vfio_region_info);
VFIO_XC_FIELD(region_info, vfio_region_info, argsz);
VFIO_XC_FIELD(region_info, vfio_region_info, flags);
VFIO_XC_FIELD(region_info, vfio_region_info, index);
VFIO_XC_FIELD(region_info, vfio_region_info, cap_offset);
VFIO_XC_FIELD(region_info, vfio_region_info, size);
VFIO_XC_FIELD(region_info, vfio_region_info, offset);

VFIO_XC_STRUCT(sparse_mmap_area, vfio_region_sparse_mmap_area);
VFIO_XC_FIELD(sparse_mmap_area, vfio_region_sparse_mmap_area, offset);
VFIO_XC_FIELD(sparse_mmap_area, vfio_region_sparse_mmap_area, size);

VFIO_XC_STRUCT(region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap);
VFIO_XC_FIELD(region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap, header);
VFIO_XC_FIELD(region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap, nr_areas);
VFIO_XC_FIELD(region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap, reserved);
static_assert(sizeof(abi::region_info_cap_sparse_mmap) == offsetof(struct vfio_region_info_cap_sparse_mmap, areas));

VFIO_XC_STRUCT(region_info_cap_type, vfio_region_info_cap_type);
VFIO_XC_FIELD(region_info_cap_type, vfio_region_info_cap_type, header);
VFIO_XC_FIELD(region_info_cap_type, vfio_region_info_cap_type, type);
VFIO_XC_FIELD(region_info_cap_type, vfio_region_info_cap_type, subtype);

VFIO_XC_STRUCT(region_info_cap_nvlink2_ssatgt, vfio_region_info_cap_nvlink2_ssatgt);
VFIO_XC_FIELD(region_info_cap_nvlink2_ssatgt, vfio_region_info_cap_nvlink2_ssatgt, header);
VFIO_XC_FIELD(region_info_cap_nvlink2_ssatgt, vfio_region_info_cap_nvlink2_ssatgt, tgt);

VFIO_XC_STRUCT(region_info_cap_nvlink2_lnkspd, vfio_region_info_cap_nvlink2_lnkspd);
VFIO_XC_FIELD(region_info_cap_nvlink2_lnkspd, vfio_region_info_cap_nvlink2_lnkspd, header);
VFIO_XC_FIELD(region_info_cap_nvlink2_lnkspd, vfio_region_info_cap_nvlink2_lnkspd, link_speed);
VFIO_XC_FIELD2(region_info_cap_nvlink2_lnkspd, pad, vfio_region_info_cap_nvlink2_lnkspd, __pad);

VFIO_XC_STRUCT(region_gfx_edid, vfio_region_gfx_edid);
VFIO_XC_FIELD(region_gfx_edid, vfio_region_gfx_edid, edid_offset);
VFIO_XC_FIELD(region_gfx_edid, vfio_region_gfx_edid, edid_max_size);
VFIO_XC_FIELD(region_gfx_edid, vfio_region_gfx_edid, edid_size);
VFIO_XC_FIELD(region_gfx_edid, vfio_region_gfx_edid, max_xres);
VFIO_XC_FIELD(region_gfx_edid, vfio_region_gfx_edid, max_yres);
VFIO_XC_FIELD(region_gfx_edid, vfio_region_gfx_edid, link_state);

VFIO_XC_STRUCT(irq_info, vfio_irq_info);
VFIO_XC_FIELD(irq_info, vfio_irq_info, argsz);
VFIO_XC_FIELD(irq_info, vfio_irq_info, flags);
VFIO_XC_FIELD(irq_info, vfio_irq_info, index);
VFIO_XC_FIELD(irq_info, vfio_irq_info, count);

VFIO_XC_STRUCT(irq_set, vfio_irq_set);
VFIO_XC_FIELD(irq_set, vfio_irq_set, argsz);
VFIO_XC_FIELD(irq_set, vfio_irq_set, flags);
VFIO_XC_FIELD(irq_set, vfio_irq_set, index);
VFIO_XC_FIELD(irq_set, vfio_irq_set, start);
VFIO_XC_FIELD(irq_set, vfio_irq_set, count);
static_assert(sizeof(abi::irq_set) == offsetof(struct vfio_irq_set, data));

VFIO_XC_STRUCT(pci_dependent_device, vfio_pci_dependent_device);
VFIO_XC_FIELD(pci_dependent_device, vfio_pci_dependent_device, group_id);
VFIO_XC_FIELD(pci_dependent_device, vfio_pci_dependent_device, segment);
VFIO_XC_FIELD(pci_dependent_device, vfio_pci_dependent_device, bus);
VFIO_XC_FIELD(pci_dependent_device, vfio_pci_dependent_device, devfn);
// `devid` shares the slot of group_id since v6.6 (an anonymous union).
VFIO_XC_OPTIONAL_FIELD(pci_dependent_device, vfio_pci_dependent_device, devid);

VFIO_XC_STRUCT(pci_hot_reset_info, vfio_pci_hot_reset_info);
VFIO_XC_FIELD(pci_hot_reset_info, vfio_pci_hot_reset_info, argsz);
VFIO_XC_FIELD(pci_hot_reset_info, vfio_pci_hot_reset_info, flags);
VFIO_XC_FIELD(pci_hot_reset_info, vfio_pci_hot_reset_info, count);
static_assert(sizeof(abi::pci_hot_reset_info) == offsetof(struct vfio_pci_hot_reset_info, devices));

VFIO_XC_STRUCT(pci_hot_reset, vfio_pci_hot_reset);
VFIO_XC_FIELD(pci_hot_reset, vfio_pci_hot_reset, argsz);
VFIO_XC_FIELD(pci_hot_reset, vfio_pci_hot_reset, flags);
VFIO_XC_FIELD(pci_hot_reset, vfio_pci_hot_reset, count);
static_assert(sizeof(abi::pci_hot_reset) == offsetof(struct vfio_pci_hot_reset, group_fds));

VFIO_XC_STRUCT(device_gfx_plane_info, vfio_device_gfx_plane_info);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, argsz);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, flags);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, drm_plane_type);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, drm_format);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, drm_format_mod);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, width);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, height);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, stride);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, size);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, x_pos);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, y_pos);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, x_hot);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, y_hot);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, region_index);
VFIO_XC_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, dmabuf_id);
// `reserved` arrived after 6.1 (with "vfio: align capability structures", v6.6); on
// 64-bit hosts it only names what was tail padding.
VFIO_XC_OPTIONAL_FIELD(device_gfx_plane_info, vfio_device_gfx_plane_info, reserved);

VFIO_XC_STRUCT(device_ioeventfd, vfio_device_ioeventfd);
VFIO_XC_FIELD(device_ioeventfd, vfio_device_ioeventfd, argsz);
VFIO_XC_FIELD(device_ioeventfd, vfio_device_ioeventfd, flags);
VFIO_XC_FIELD(device_ioeventfd, vfio_device_ioeventfd, offset);
VFIO_XC_FIELD(device_ioeventfd, vfio_device_ioeventfd, data);
VFIO_XC_FIELD(device_ioeventfd, vfio_device_ioeventfd, fd);
VFIO_XC_OPTIONAL_FIELD(device_ioeventfd, vfio_device_ioeventfd, reserved);  // after 6.1

#ifdef VFIO_DEVICE_BIND_IOMMUFD
// The v6.6 structs; later headers grew token_uuid_ptr and the pasid fields.
VFIO_XC_FIELD(device_bind_iommufd, vfio_device_bind_iommufd, argsz);
VFIO_XC_FIELD(device_bind_iommufd, vfio_device_bind_iommufd, flags);
VFIO_XC_FIELD(device_bind_iommufd, vfio_device_bind_iommufd, iommufd);
VFIO_XC_FIELD(device_bind_iommufd, vfio_device_bind_iommufd, out_devid);
VFIO_XC_FIELD(device_attach_iommufd_pt, vfio_device_attach_iommufd_pt, argsz);
VFIO_XC_FIELD(device_attach_iommufd_pt, vfio_device_attach_iommufd_pt, flags);
VFIO_XC_FIELD(device_attach_iommufd_pt, vfio_device_attach_iommufd_pt, pt_id);
VFIO_XC_FIELD(device_detach_iommufd_pt, vfio_device_detach_iommufd_pt, argsz);
VFIO_XC_FIELD(device_detach_iommufd_pt, vfio_device_detach_iommufd_pt, flags);
#endif
#ifdef VFIO_DEVICE_BIND_FLAG_TOKEN
VFIO_XC_STRUCT(device_bind_iommufd, vfio_device_bind_iommufd);
VFIO_XC_FIELD(device_bind_iommufd, vfio_device_bind_iommufd, token_uuid_ptr);
#endif
#ifdef VFIO_DEVICE_ATTACH_PASID
VFIO_XC_STRUCT(device_attach_iommufd_pt, vfio_device_attach_iommufd_pt);
VFIO_XC_FIELD(device_attach_iommufd_pt, vfio_device_attach_iommufd_pt, pasid);
#endif
#ifdef VFIO_DEVICE_DETACH_PASID
VFIO_XC_STRUCT(device_detach_iommufd_pt, vfio_device_detach_iommufd_pt);
VFIO_XC_FIELD(device_detach_iommufd_pt, vfio_device_detach_iommufd_pt, pasid);
#endif

VFIO_XC_STRUCT(device_feature, vfio_device_feature);
VFIO_XC_FIELD(device_feature, vfio_device_feature, argsz);
VFIO_XC_FIELD(device_feature, vfio_device_feature, flags);
static_assert(sizeof(abi::device_feature) == offsetof(struct vfio_device_feature, data));

VFIO_XC_STRUCT(feature_migration, vfio_device_feature_migration);
VFIO_XC_FIELD(feature_migration, vfio_device_feature_migration, flags);

VFIO_XC_STRUCT(feature_mig_state, vfio_device_feature_mig_state);
VFIO_XC_FIELD(feature_mig_state, vfio_device_feature_mig_state, device_state);
VFIO_XC_FIELD(feature_mig_state, vfio_device_feature_mig_state, data_fd);

#ifdef VFIO_MIG_GET_PRECOPY_INFO
VFIO_XC_STRUCT(precopy_info, vfio_precopy_info);
VFIO_XC_FIELD(precopy_info, vfio_precopy_info, argsz);
VFIO_XC_FIELD(precopy_info, vfio_precopy_info, flags);
VFIO_XC_FIELD(precopy_info, vfio_precopy_info, initial_bytes);
VFIO_XC_FIELD(precopy_info, vfio_precopy_info, dirty_bytes);
#endif

#ifdef VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP
VFIO_XC_STRUCT(feature_low_power_entry_with_wakeup, vfio_device_low_power_entry_with_wakeup);
VFIO_XC_FIELD(feature_low_power_entry_with_wakeup, vfio_device_low_power_entry_with_wakeup, wakeup_eventfd);
VFIO_XC_FIELD(feature_low_power_entry_with_wakeup, vfio_device_low_power_entry_with_wakeup, reserved);
#endif

#ifdef VFIO_DEVICE_FEATURE_DMA_LOGGING_START
VFIO_XC_STRUCT(feature_dma_logging_control, vfio_device_feature_dma_logging_control);
VFIO_XC_FIELD(feature_dma_logging_control, vfio_device_feature_dma_logging_control, page_size);
VFIO_XC_FIELD(feature_dma_logging_control, vfio_device_feature_dma_logging_control, num_ranges);
VFIO_XC_FIELD2(feature_dma_logging_control, reserved, vfio_device_feature_dma_logging_control, __reserved);
VFIO_XC_FIELD(feature_dma_logging_control, vfio_device_feature_dma_logging_control, ranges);
VFIO_XC_STRUCT(feature_dma_logging_range, vfio_device_feature_dma_logging_range);
VFIO_XC_FIELD(feature_dma_logging_range, vfio_device_feature_dma_logging_range, iova);
VFIO_XC_FIELD(feature_dma_logging_range, vfio_device_feature_dma_logging_range, length);
VFIO_XC_STRUCT(feature_dma_logging_report, vfio_device_feature_dma_logging_report);
VFIO_XC_FIELD(feature_dma_logging_report, vfio_device_feature_dma_logging_report, iova);
VFIO_XC_FIELD(feature_dma_logging_report, vfio_device_feature_dma_logging_report, length);
VFIO_XC_FIELD(feature_dma_logging_report, vfio_device_feature_dma_logging_report, page_size);
VFIO_XC_FIELD(feature_dma_logging_report, vfio_device_feature_dma_logging_report, bitmap);
#endif

#ifdef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
VFIO_XC_STRUCT(feature_mig_data_size, vfio_device_feature_mig_data_size);
VFIO_XC_FIELD(feature_mig_data_size, vfio_device_feature_mig_data_size, stop_copy_length);
#endif

#ifdef VFIO_DEVICE_FEATURE_BUS_MASTER
VFIO_XC_STRUCT(feature_bus_master, vfio_device_feature_bus_master);
VFIO_XC_FIELD(feature_bus_master, vfio_device_feature_bus_master, op);
#endif

#ifdef VFIO_DEVICE_FEATURE_DMA_BUF
VFIO_XC_STRUCT(dma_range, vfio_region_dma_range);
VFIO_XC_FIELD(dma_range, vfio_region_dma_range, offset);
VFIO_XC_FIELD(dma_range, vfio_region_dma_range, length);
VFIO_XC_STRUCT(feature_dma_buf, vfio_device_feature_dma_buf);
VFIO_XC_FIELD(feature_dma_buf, vfio_device_feature_dma_buf, region_index);
VFIO_XC_FIELD(feature_dma_buf, vfio_device_feature_dma_buf, open_flags);
VFIO_XC_FIELD(feature_dma_buf, vfio_device_feature_dma_buf, flags);
VFIO_XC_FIELD(feature_dma_buf, vfio_device_feature_dma_buf, nr_ranges);
static_assert(sizeof(abi::feature_dma_buf) == offsetof(struct vfio_device_feature_dma_buf, dma_ranges));
#endif

VFIO_XC_STRUCT(iommu_type1_info, vfio_iommu_type1_info);
VFIO_XC_FIELD(iommu_type1_info, vfio_iommu_type1_info, argsz);
VFIO_XC_FIELD(iommu_type1_info, vfio_iommu_type1_info, flags);
VFIO_XC_FIELD(iommu_type1_info, vfio_iommu_type1_info, iova_pgsizes);
VFIO_XC_FIELD(iommu_type1_info, vfio_iommu_type1_info, cap_offset);
VFIO_XC_OPTIONAL_FIELD(iommu_type1_info, vfio_iommu_type1_info, pad);  // after 6.1

VFIO_XC_STRUCT(iova_range, vfio_iova_range);
VFIO_XC_FIELD(iova_range, vfio_iova_range, start);
VFIO_XC_FIELD(iova_range, vfio_iova_range, end);

VFIO_XC_STRUCT(iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range);
VFIO_XC_FIELD(iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range, header);
VFIO_XC_FIELD(iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range, nr_iovas);
VFIO_XC_FIELD(iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range, reserved);
static_assert(sizeof(abi::iommu_type1_info_cap_iova_range) ==
              offsetof(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges));

VFIO_XC_STRUCT(iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration);
VFIO_XC_FIELD(iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration, header);
VFIO_XC_FIELD(iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration, flags);
VFIO_XC_FIELD(iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration, pgsize_bitmap);
VFIO_XC_FIELD(iommu_type1_info_cap_migration, vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size);

VFIO_XC_STRUCT(iommu_type1_info_dma_avail, vfio_iommu_type1_info_dma_avail);
VFIO_XC_FIELD(iommu_type1_info_dma_avail, vfio_iommu_type1_info_dma_avail, header);
VFIO_XC_FIELD(iommu_type1_info_dma_avail, vfio_iommu_type1_info_dma_avail, avail);

VFIO_XC_STRUCT(iommu_type1_dma_map, vfio_iommu_type1_dma_map);
VFIO_XC_FIELD(iommu_type1_dma_map, vfio_iommu_type1_dma_map, argsz);
VFIO_XC_FIELD(iommu_type1_dma_map, vfio_iommu_type1_dma_map, flags);
VFIO_XC_FIELD(iommu_type1_dma_map, vfio_iommu_type1_dma_map, vaddr);
VFIO_XC_FIELD(iommu_type1_dma_map, vfio_iommu_type1_dma_map, iova);
VFIO_XC_FIELD(iommu_type1_dma_map, vfio_iommu_type1_dma_map, size);

VFIO_XC_STRUCT(iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap);
VFIO_XC_FIELD(iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap, argsz);
VFIO_XC_FIELD(iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap, flags);
VFIO_XC_FIELD(iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap, iova);
VFIO_XC_FIELD(iommu_type1_dma_unmap, vfio_iommu_type1_dma_unmap, size);
static_assert(sizeof(abi::iommu_type1_dma_unmap) == offsetof(struct vfio_iommu_type1_dma_unmap, data));

// vfio_bitmap::data is a pointer in the kernel header and an integer here: on 64-bit
// hosts they have the same size and offset, which is what the kernel reads.
VFIO_XC_STRUCT(bitmap, vfio_bitmap);
VFIO_XC_FIELD(bitmap, vfio_bitmap, pgsize);
VFIO_XC_FIELD(bitmap, vfio_bitmap, size);
VFIO_XC_FIELD(bitmap, vfio_bitmap, data);

VFIO_XC_STRUCT(iommu_type1_dirty_bitmap, vfio_iommu_type1_dirty_bitmap);
VFIO_XC_FIELD(iommu_type1_dirty_bitmap, vfio_iommu_type1_dirty_bitmap, argsz);
VFIO_XC_FIELD(iommu_type1_dirty_bitmap, vfio_iommu_type1_dirty_bitmap, flags);
static_assert(sizeof(abi::iommu_type1_dirty_bitmap) == offsetof(struct vfio_iommu_type1_dirty_bitmap, data));

VFIO_XC_STRUCT(iommu_type1_dirty_bitmap_get, vfio_iommu_type1_dirty_bitmap_get);
VFIO_XC_FIELD(iommu_type1_dirty_bitmap_get, vfio_iommu_type1_dirty_bitmap_get, iova);
VFIO_XC_FIELD(iommu_type1_dirty_bitmap_get, vfio_iommu_type1_dirty_bitmap_get, size);
VFIO_XC_FIELD(iommu_type1_dirty_bitmap_get, vfio_iommu_type1_dirty_bitmap_get, bitmap);

#endif  // UINTPTR_MAX == UINT64_MAX
#endif  // VFIO_XC_HAVE_LINUX_VFIO_H

// ---------------------------------------------------------------------------------------
// <linux/pci_regs.h>
#ifdef VFIO_XC_HAVE_LINUX_PCI_REGS_H

namespace pci = vfio::abi::pci;

VFIO_XC_SAME(pci::std_header_sizeof, PCI_STD_HEADER_SIZEOF);
VFIO_XC_SAME(pci::cfg_space_size, PCI_CFG_SPACE_SIZE);
VFIO_XC_SAME(pci::cfg_space_exp_size, PCI_CFG_SPACE_EXP_SIZE);
VFIO_XC_SAME(pci::std_num_bars, PCI_STD_NUM_BARS);

VFIO_XC_SAME(pci::vendor_id, PCI_VENDOR_ID);
VFIO_XC_SAME(pci::device_id, PCI_DEVICE_ID);
VFIO_XC_SAME(pci::command, PCI_COMMAND);
VFIO_XC_SAME(pci::status, PCI_STATUS);
VFIO_XC_SAME(pci::class_revision, PCI_CLASS_REVISION);
VFIO_XC_SAME(pci::revision_id, PCI_REVISION_ID);
VFIO_XC_SAME(pci::class_prog, PCI_CLASS_PROG);
VFIO_XC_SAME(pci::class_device, PCI_CLASS_DEVICE);
VFIO_XC_SAME(pci::cache_line_size, PCI_CACHE_LINE_SIZE);
VFIO_XC_SAME(pci::latency_timer, PCI_LATENCY_TIMER);
VFIO_XC_SAME(pci::header_type, PCI_HEADER_TYPE);
VFIO_XC_SAME(pci::bist, PCI_BIST);
VFIO_XC_SAME(pci::base_address_0, PCI_BASE_ADDRESS_0);
VFIO_XC_SAME(pci::base_address_1, PCI_BASE_ADDRESS_1);
VFIO_XC_SAME(pci::base_address_2, PCI_BASE_ADDRESS_2);
VFIO_XC_SAME(pci::base_address_3, PCI_BASE_ADDRESS_3);
VFIO_XC_SAME(pci::base_address_4, PCI_BASE_ADDRESS_4);
VFIO_XC_SAME(pci::base_address_5, PCI_BASE_ADDRESS_5);
VFIO_XC_SAME(pci::cardbus_cis, PCI_CARDBUS_CIS);
VFIO_XC_SAME(pci::subsystem_vendor_id, PCI_SUBSYSTEM_VENDOR_ID);
VFIO_XC_SAME(pci::subsystem_id, PCI_SUBSYSTEM_ID);
VFIO_XC_SAME(pci::rom_address, PCI_ROM_ADDRESS);
VFIO_XC_SAME(pci::cap_list, PCI_CAPABILITY_LIST);
VFIO_XC_SAME(pci::cb_cap_list, PCI_CB_CAPABILITY_LIST);
VFIO_XC_SAME(pci::interrupt_line, PCI_INTERRUPT_LINE);
VFIO_XC_SAME(pci::interrupt_pin, PCI_INTERRUPT_PIN);
VFIO_XC_SAME(pci::min_gnt, PCI_MIN_GNT);
VFIO_XC_SAME(pci::max_lat, PCI_MAX_LAT);

VFIO_XC_SAME(pci::command_bits::io, PCI_COMMAND_IO);
VFIO_XC_SAME(pci::command_bits::memory, PCI_COMMAND_MEMORY);
VFIO_XC_SAME(pci::command_bits::master, PCI_COMMAND_MASTER);
VFIO_XC_SAME(pci::command_bits::special, PCI_COMMAND_SPECIAL);
VFIO_XC_SAME(pci::command_bits::invalidate, PCI_COMMAND_INVALIDATE);
VFIO_XC_SAME(pci::command_bits::vga_palette, PCI_COMMAND_VGA_PALETTE);
VFIO_XC_SAME(pci::command_bits::parity, PCI_COMMAND_PARITY);
VFIO_XC_SAME(pci::command_bits::wait, PCI_COMMAND_WAIT);
VFIO_XC_SAME(pci::command_bits::serr, PCI_COMMAND_SERR);
VFIO_XC_SAME(pci::command_bits::fast_back, PCI_COMMAND_FAST_BACK);
VFIO_XC_SAME(pci::command_bits::intx_disable, PCI_COMMAND_INTX_DISABLE);

#ifdef PCI_STATUS_IMM_READY
VFIO_XC_SAME(pci::status_bits::imm_ready, PCI_STATUS_IMM_READY);
#endif
VFIO_XC_SAME(pci::status_bits::interrupt, PCI_STATUS_INTERRUPT);
VFIO_XC_SAME(pci::status_bits::cap_list, PCI_STATUS_CAP_LIST);
VFIO_XC_SAME(pci::status_bits::mhz66, PCI_STATUS_66MHZ);
VFIO_XC_SAME(pci::status_bits::udf, PCI_STATUS_UDF);
VFIO_XC_SAME(pci::status_bits::fast_back, PCI_STATUS_FAST_BACK);
VFIO_XC_SAME(pci::status_bits::parity, PCI_STATUS_PARITY);
VFIO_XC_SAME(pci::status_bits::devsel_mask, PCI_STATUS_DEVSEL_MASK);
VFIO_XC_SAME(pci::status_bits::devsel_fast, PCI_STATUS_DEVSEL_FAST);
VFIO_XC_SAME(pci::status_bits::devsel_medium, PCI_STATUS_DEVSEL_MEDIUM);
VFIO_XC_SAME(pci::status_bits::devsel_slow, PCI_STATUS_DEVSEL_SLOW);
VFIO_XC_SAME(pci::status_bits::sig_target_abort, PCI_STATUS_SIG_TARGET_ABORT);
VFIO_XC_SAME(pci::status_bits::rec_target_abort, PCI_STATUS_REC_TARGET_ABORT);
VFIO_XC_SAME(pci::status_bits::rec_master_abort, PCI_STATUS_REC_MASTER_ABORT);
VFIO_XC_SAME(pci::status_bits::sig_system_error, PCI_STATUS_SIG_SYSTEM_ERROR);
VFIO_XC_SAME(pci::status_bits::detected_parity, PCI_STATUS_DETECTED_PARITY);

VFIO_XC_SAME(pci::header_type_bits::mask, PCI_HEADER_TYPE_MASK);
VFIO_XC_SAME(pci::header_type_bits::normal, PCI_HEADER_TYPE_NORMAL);
VFIO_XC_SAME(pci::header_type_bits::bridge, PCI_HEADER_TYPE_BRIDGE);
VFIO_XC_SAME(pci::header_type_bits::cardbus, PCI_HEADER_TYPE_CARDBUS);
#ifdef PCI_HEADER_TYPE_MFD
VFIO_XC_SAME(pci::header_type_bits::multifunction, PCI_HEADER_TYPE_MFD);
#endif

VFIO_XC_SAME(pci::base_address_bits::space, PCI_BASE_ADDRESS_SPACE);
VFIO_XC_SAME(pci::base_address_bits::space_io, PCI_BASE_ADDRESS_SPACE_IO);
VFIO_XC_SAME(pci::base_address_bits::space_memory, PCI_BASE_ADDRESS_SPACE_MEMORY);
VFIO_XC_SAME(pci::base_address_bits::mem_type_mask, PCI_BASE_ADDRESS_MEM_TYPE_MASK);
VFIO_XC_SAME(pci::base_address_bits::mem_type_32, PCI_BASE_ADDRESS_MEM_TYPE_32);
VFIO_XC_SAME(pci::base_address_bits::mem_type_1m, PCI_BASE_ADDRESS_MEM_TYPE_1M);
VFIO_XC_SAME(pci::base_address_bits::mem_type_64, PCI_BASE_ADDRESS_MEM_TYPE_64);
VFIO_XC_SAME(pci::base_address_bits::mem_prefetch, PCI_BASE_ADDRESS_MEM_PREFETCH);
// The kernel's masks are unsigned long complements; a BAR register is 32 bits.
VFIO_XC_SAME(pci::base_address_bits::mem_mask, PCI_BASE_ADDRESS_MEM_MASK & 0xffffffffUL);
VFIO_XC_SAME(pci::base_address_bits::io_mask, PCI_BASE_ADDRESS_IO_MASK & 0xffffffffUL);
VFIO_XC_SAME(pci::rom_address_bits::enable, PCI_ROM_ADDRESS_ENABLE);
VFIO_XC_SAME(pci::rom_address_bits::mask, PCI_ROM_ADDRESS_MASK);

VFIO_XC_SAME(pci::cap_list_id, PCI_CAP_LIST_ID);
VFIO_XC_SAME(pci::cap_list_next, PCI_CAP_LIST_NEXT);
VFIO_XC_SAME(pci::cap_flags, PCI_CAP_FLAGS);
VFIO_XC_SAME(pci::cap_sizeof, PCI_CAP_SIZEOF);

VFIO_XC_SAME(pci::cap::pm, PCI_CAP_ID_PM);
VFIO_XC_SAME(pci::cap::agp, PCI_CAP_ID_AGP);
VFIO_XC_SAME(pci::cap::vpd, PCI_CAP_ID_VPD);
VFIO_XC_SAME(pci::cap::slotid, PCI_CAP_ID_SLOTID);
VFIO_XC_SAME(pci::cap::msi, PCI_CAP_ID_MSI);
VFIO_XC_SAME(pci::cap::chswp, PCI_CAP_ID_CHSWP);
VFIO_XC_SAME(pci::cap::pcix, PCI_CAP_ID_PCIX);
VFIO_XC_SAME(pci::cap::ht, PCI_CAP_ID_HT);
VFIO_XC_SAME(pci::cap::vndr, PCI_CAP_ID_VNDR);
VFIO_XC_SAME(pci::cap::dbg, PCI_CAP_ID_DBG);
VFIO_XC_SAME(pci::cap::ccrc, PCI_CAP_ID_CCRC);
VFIO_XC_SAME(pci::cap::shpc, PCI_CAP_ID_SHPC);
VFIO_XC_SAME(pci::cap::ssvid, PCI_CAP_ID_SSVID);
VFIO_XC_SAME(pci::cap::agp3, PCI_CAP_ID_AGP3);
VFIO_XC_SAME(pci::cap::secdev, PCI_CAP_ID_SECDEV);
VFIO_XC_SAME(pci::cap::exp, PCI_CAP_ID_EXP);
VFIO_XC_SAME(pci::cap::msix, PCI_CAP_ID_MSIX);
VFIO_XC_SAME(pci::cap::sata, PCI_CAP_ID_SATA);
VFIO_XC_SAME(pci::cap::af, PCI_CAP_ID_AF);
VFIO_XC_SAME(pci::cap::ea, PCI_CAP_ID_EA);
VFIO_XC_SAME(pci::cap::max, PCI_CAP_ID_MAX);

// The header-decoding macros against our functions, on a few sample headers.
static_assert(pci::ext_cap_id(0x1481000eU) == PCI_EXT_CAP_ID(0x1481000eU));
static_assert(pci::ext_cap_ver(0x1481000eU) == PCI_EXT_CAP_VER(0x1481000eU));
static_assert(pci::ext_cap_next(0x1481000eU) == PCI_EXT_CAP_NEXT(0x1481000eU));
static_assert(pci::ext_cap_id(0xffffffffU) == PCI_EXT_CAP_ID(0xffffffffU));
static_assert(pci::ext_cap_ver(0xffffffffU) == PCI_EXT_CAP_VER(0xffffffffU));
static_assert(pci::ext_cap_next(0xffffffffU) == PCI_EXT_CAP_NEXT(0xffffffffU));
static_assert(pci::ext_cap_next(0x00300001U) == PCI_EXT_CAP_NEXT(0x00300001U));

VFIO_XC_SAME(pci::ext_cap::err, PCI_EXT_CAP_ID_ERR);
VFIO_XC_SAME(pci::ext_cap::vc, PCI_EXT_CAP_ID_VC);
VFIO_XC_SAME(pci::ext_cap::dsn, PCI_EXT_CAP_ID_DSN);
VFIO_XC_SAME(pci::ext_cap::pwr, PCI_EXT_CAP_ID_PWR);
VFIO_XC_SAME(pci::ext_cap::rcld, PCI_EXT_CAP_ID_RCLD);
VFIO_XC_SAME(pci::ext_cap::rcilc, PCI_EXT_CAP_ID_RCILC);
VFIO_XC_SAME(pci::ext_cap::rcec, PCI_EXT_CAP_ID_RCEC);
VFIO_XC_SAME(pci::ext_cap::mfvc, PCI_EXT_CAP_ID_MFVC);
VFIO_XC_SAME(pci::ext_cap::vc9, PCI_EXT_CAP_ID_VC9);
VFIO_XC_SAME(pci::ext_cap::rcrb, PCI_EXT_CAP_ID_RCRB);
VFIO_XC_SAME(pci::ext_cap::vndr, PCI_EXT_CAP_ID_VNDR);
VFIO_XC_SAME(pci::ext_cap::cac, PCI_EXT_CAP_ID_CAC);
VFIO_XC_SAME(pci::ext_cap::acs, PCI_EXT_CAP_ID_ACS);
VFIO_XC_SAME(pci::ext_cap::ari, PCI_EXT_CAP_ID_ARI);
VFIO_XC_SAME(pci::ext_cap::ats, PCI_EXT_CAP_ID_ATS);
VFIO_XC_SAME(pci::ext_cap::sriov, PCI_EXT_CAP_ID_SRIOV);
VFIO_XC_SAME(pci::ext_cap::mriov, PCI_EXT_CAP_ID_MRIOV);
VFIO_XC_SAME(pci::ext_cap::mcast, PCI_EXT_CAP_ID_MCAST);
VFIO_XC_SAME(pci::ext_cap::pri, PCI_EXT_CAP_ID_PRI);
VFIO_XC_SAME(pci::ext_cap::amd_xxx, PCI_EXT_CAP_ID_AMD_XXX);
VFIO_XC_SAME(pci::ext_cap::rebar, PCI_EXT_CAP_ID_REBAR);
VFIO_XC_SAME(pci::ext_cap::dpa, PCI_EXT_CAP_ID_DPA);
VFIO_XC_SAME(pci::ext_cap::tph, PCI_EXT_CAP_ID_TPH);
VFIO_XC_SAME(pci::ext_cap::ltr, PCI_EXT_CAP_ID_LTR);
VFIO_XC_SAME(pci::ext_cap::secpci, PCI_EXT_CAP_ID_SECPCI);
VFIO_XC_SAME(pci::ext_cap::pmux, PCI_EXT_CAP_ID_PMUX);
VFIO_XC_SAME(pci::ext_cap::pasid, PCI_EXT_CAP_ID_PASID);
VFIO_XC_SAME(pci::ext_cap::dpc, PCI_EXT_CAP_ID_DPC);
VFIO_XC_SAME(pci::ext_cap::l1ss, PCI_EXT_CAP_ID_L1SS);
VFIO_XC_SAME(pci::ext_cap::ptm, PCI_EXT_CAP_ID_PTM);
VFIO_XC_SAME(pci::ext_cap::dvsec, PCI_EXT_CAP_ID_DVSEC);
#ifdef PCI_EXT_CAP_ID_VF_REBAR
VFIO_XC_SAME(pci::ext_cap::vf_rebar, PCI_EXT_CAP_ID_VF_REBAR);
#endif
VFIO_XC_SAME(pci::ext_cap::dlf, PCI_EXT_CAP_ID_DLF);
VFIO_XC_SAME(pci::ext_cap::pl_16gt, PCI_EXT_CAP_ID_PL_16GT);
#ifdef PCI_EXT_CAP_ID_NPEM
VFIO_XC_SAME(pci::ext_cap::npem, PCI_EXT_CAP_ID_NPEM);
#endif
#ifdef PCI_EXT_CAP_ID_PL_32GT
VFIO_XC_SAME(pci::ext_cap::pl_32gt, PCI_EXT_CAP_ID_PL_32GT);
#endif
#ifdef PCI_EXT_CAP_ID_DOE
VFIO_XC_SAME(pci::ext_cap::doe, PCI_EXT_CAP_ID_DOE);
#endif
#ifdef PCI_EXT_CAP_ID_IDE
VFIO_XC_SAME(pci::ext_cap::ide, PCI_EXT_CAP_ID_IDE);
#endif
#ifdef PCI_EXT_CAP_ID_PL_64GT
VFIO_XC_SAME(pci::ext_cap::pl_64gt, PCI_EXT_CAP_ID_PL_64GT);
#endif

VFIO_XC_SAME(pci::pm_pmc, PCI_PM_PMC);
VFIO_XC_SAME(pci::pm_ctrl, PCI_PM_CTRL);
VFIO_XC_SAME(pci::pm_ppb_extensions, PCI_PM_PPB_EXTENSIONS);
VFIO_XC_SAME(pci::pm_data_register, PCI_PM_DATA_REGISTER);
VFIO_XC_SAME(pci::pm_sizeof, PCI_PM_SIZEOF);
VFIO_XC_SAME(pci::pm::pmc_ver_mask, PCI_PM_CAP_VER_MASK);
VFIO_XC_SAME(pci::pm::pmc_pme_clock, PCI_PM_CAP_PME_CLOCK);
VFIO_XC_SAME(pci::pm::pmc_reserved, PCI_PM_CAP_RESERVED);
VFIO_XC_SAME(pci::pm::pmc_dsi, PCI_PM_CAP_DSI);
VFIO_XC_SAME(pci::pm::pmc_aux_power, PCI_PM_CAP_AUX_POWER);
VFIO_XC_SAME(pci::pm::pmc_d1, PCI_PM_CAP_D1);
VFIO_XC_SAME(pci::pm::pmc_d2, PCI_PM_CAP_D2);
VFIO_XC_SAME(pci::pm::pmc_pme, PCI_PM_CAP_PME);
VFIO_XC_SAME(pci::pm::pmc_pme_mask, PCI_PM_CAP_PME_MASK);
VFIO_XC_SAME(pci::pm::pmc_pme_d0, PCI_PM_CAP_PME_D0);
VFIO_XC_SAME(pci::pm::pmc_pme_d1, PCI_PM_CAP_PME_D1);
VFIO_XC_SAME(pci::pm::pmc_pme_d2, PCI_PM_CAP_PME_D2);
#if defined(PCI_PM_CAP_PME_D3hot)
VFIO_XC_SAME(pci::pm::pmc_pme_d3hot, PCI_PM_CAP_PME_D3hot);
#elif defined(PCI_PM_CAP_PME_D3)
VFIO_XC_SAME(pci::pm::pmc_pme_d3hot, PCI_PM_CAP_PME_D3);
#endif
VFIO_XC_SAME(pci::pm::pmc_pme_d3cold, PCI_PM_CAP_PME_D3cold);
VFIO_XC_SAME(pci::pm::pmc_pme_shift, PCI_PM_CAP_PME_SHIFT);
VFIO_XC_SAME(pci::pm::ctrl_state_mask, PCI_PM_CTRL_STATE_MASK);
VFIO_XC_SAME(pci::pm::ctrl_no_soft_reset, PCI_PM_CTRL_NO_SOFT_RESET);
VFIO_XC_SAME(pci::pm::ctrl_pme_enable, PCI_PM_CTRL_PME_ENABLE);
VFIO_XC_SAME(pci::pm::ctrl_data_sel_mask, PCI_PM_CTRL_DATA_SEL_MASK);
VFIO_XC_SAME(pci::pm::ctrl_data_scale_mask, PCI_PM_CTRL_DATA_SCALE_MASK);
VFIO_XC_SAME(pci::pm::ctrl_pme_status, PCI_PM_CTRL_PME_STATUS);
VFIO_XC_SAME(pci::pm::ppb_b2_b3, PCI_PM_PPB_B2_B3);
VFIO_XC_SAME(pci::pm::bpcc_enable, PCI_PM_BPCC_ENABLE);

VFIO_XC_SAME(pci::msi_flags, PCI_MSI_FLAGS);
VFIO_XC_SAME(pci::msi_rfu, PCI_MSI_RFU);
VFIO_XC_SAME(pci::msi_address_lo, PCI_MSI_ADDRESS_LO);
VFIO_XC_SAME(pci::msi_address_hi, PCI_MSI_ADDRESS_HI);
VFIO_XC_SAME(pci::msi_data_32, PCI_MSI_DATA_32);
VFIO_XC_SAME(pci::msi_mask_32, PCI_MSI_MASK_32);
VFIO_XC_SAME(pci::msi_pending_32, PCI_MSI_PENDING_32);
VFIO_XC_SAME(pci::msi_data_64, PCI_MSI_DATA_64);
VFIO_XC_SAME(pci::msi_mask_64, PCI_MSI_MASK_64);
VFIO_XC_SAME(pci::msi_pending_64, PCI_MSI_PENDING_64);
VFIO_XC_SAME(pci::msi::flags_enable, PCI_MSI_FLAGS_ENABLE);
VFIO_XC_SAME(pci::msi::flags_qmask, PCI_MSI_FLAGS_QMASK);
VFIO_XC_SAME(pci::msi::flags_qsize, PCI_MSI_FLAGS_QSIZE);
VFIO_XC_SAME(pci::msi::flags_64bit, PCI_MSI_FLAGS_64BIT);
VFIO_XC_SAME(pci::msi::flags_maskbit, PCI_MSI_FLAGS_MASKBIT);

VFIO_XC_SAME(pci::msix_flags, PCI_MSIX_FLAGS);
VFIO_XC_SAME(pci::msix_table, PCI_MSIX_TABLE);
VFIO_XC_SAME(pci::msix_pba, PCI_MSIX_PBA);
VFIO_XC_SAME(pci::cap_msix_sizeof, PCI_CAP_MSIX_SIZEOF);
VFIO_XC_SAME(pci::msix::flags_qsize, PCI_MSIX_FLAGS_QSIZE);
VFIO_XC_SAME(pci::msix::flags_maskall, PCI_MSIX_FLAGS_MASKALL);
VFIO_XC_SAME(pci::msix::flags_enable, PCI_MSIX_FLAGS_ENABLE);
VFIO_XC_SAME(pci::msix::table_bir, PCI_MSIX_TABLE_BIR);
VFIO_XC_SAME(pci::msix::table_offset, PCI_MSIX_TABLE_OFFSET);
VFIO_XC_SAME(pci::msix::pba_bir, PCI_MSIX_PBA_BIR);
VFIO_XC_SAME(pci::msix::pba_offset, PCI_MSIX_PBA_OFFSET);
VFIO_XC_SAME(pci::msix::entry_size, PCI_MSIX_ENTRY_SIZE);
VFIO_XC_SAME(pci::msix::entry_lower_addr, PCI_MSIX_ENTRY_LOWER_ADDR);
VFIO_XC_SAME(pci::msix::entry_upper_addr, PCI_MSIX_ENTRY_UPPER_ADDR);
VFIO_XC_SAME(pci::msix::entry_data, PCI_MSIX_ENTRY_DATA);
VFIO_XC_SAME(pci::msix::entry_vector_ctrl, PCI_MSIX_ENTRY_VECTOR_CTRL);
VFIO_XC_SAME(pci::msix::entry_ctrl_maskbit, PCI_MSIX_ENTRY_CTRL_MASKBIT);

VFIO_XC_SAME(pci::af_length, PCI_AF_LENGTH);
VFIO_XC_SAME(pci::af_cap, PCI_AF_CAP);
VFIO_XC_SAME(pci::af_ctrl, PCI_AF_CTRL);
VFIO_XC_SAME(pci::af_status, PCI_AF_STATUS);
VFIO_XC_SAME(pci::cap_af_sizeof, PCI_CAP_AF_SIZEOF);
VFIO_XC_SAME(pci::af::cap_tp, PCI_AF_CAP_TP);
VFIO_XC_SAME(pci::af::cap_flr, PCI_AF_CAP_FLR);
VFIO_XC_SAME(pci::af::ctrl_flr, PCI_AF_CTRL_FLR);
VFIO_XC_SAME(pci::af::status_tp, PCI_AF_STATUS_TP);

VFIO_XC_SAME(pci::exp_flags, PCI_EXP_FLAGS);
VFIO_XC_SAME(pci::exp_devcap, PCI_EXP_DEVCAP);
VFIO_XC_SAME(pci::exp_devctl, PCI_EXP_DEVCTL);
VFIO_XC_SAME(pci::exp_devsta, PCI_EXP_DEVSTA);
VFIO_XC_SAME(pci::exp_lnkcap, PCI_EXP_LNKCAP);
VFIO_XC_SAME(pci::exp_lnkctl, PCI_EXP_LNKCTL);
VFIO_XC_SAME(pci::exp_lnksta, PCI_EXP_LNKSTA);
VFIO_XC_SAME(pci::exp_sltcap, PCI_EXP_SLTCAP);
VFIO_XC_SAME(pci::exp_sltctl, PCI_EXP_SLTCTL);
VFIO_XC_SAME(pci::exp_sltsta, PCI_EXP_SLTSTA);
VFIO_XC_SAME(pci::exp_rtctl, PCI_EXP_RTCTL);
VFIO_XC_SAME(pci::exp_rtcap, PCI_EXP_RTCAP);
VFIO_XC_SAME(pci::exp_rtsta, PCI_EXP_RTSTA);
VFIO_XC_SAME(pci::exp_devcap2, PCI_EXP_DEVCAP2);
VFIO_XC_SAME(pci::exp_devctl2, PCI_EXP_DEVCTL2);
VFIO_XC_SAME(pci::exp_devsta2, PCI_EXP_DEVSTA2);
VFIO_XC_SAME(pci::exp_lnkcap2, PCI_EXP_LNKCAP2);
VFIO_XC_SAME(pci::exp_lnkctl2, PCI_EXP_LNKCTL2);
VFIO_XC_SAME(pci::exp_lnksta2, PCI_EXP_LNKSTA2);
VFIO_XC_SAME(pci::pcie::flags_vers, PCI_EXP_FLAGS_VERS);
VFIO_XC_SAME(pci::pcie::flags_type, PCI_EXP_FLAGS_TYPE);
VFIO_XC_SAME(pci::pcie::flags_slot, PCI_EXP_FLAGS_SLOT);
VFIO_XC_SAME(pci::pcie::flags_irq, PCI_EXP_FLAGS_IRQ);
VFIO_XC_SAME(pci::pcie::type_endpoint, PCI_EXP_TYPE_ENDPOINT);
VFIO_XC_SAME(pci::pcie::type_leg_end, PCI_EXP_TYPE_LEG_END);
VFIO_XC_SAME(pci::pcie::type_root_port, PCI_EXP_TYPE_ROOT_PORT);
VFIO_XC_SAME(pci::pcie::type_upstream, PCI_EXP_TYPE_UPSTREAM);
VFIO_XC_SAME(pci::pcie::type_downstream, PCI_EXP_TYPE_DOWNSTREAM);
VFIO_XC_SAME(pci::pcie::type_pci_bridge, PCI_EXP_TYPE_PCI_BRIDGE);
VFIO_XC_SAME(pci::pcie::type_pcie_bridge, PCI_EXP_TYPE_PCIE_BRIDGE);
VFIO_XC_SAME(pci::pcie::type_rc_end, PCI_EXP_TYPE_RC_END);
VFIO_XC_SAME(pci::pcie::type_rc_ec, PCI_EXP_TYPE_RC_EC);
VFIO_XC_SAME(pci::pcie::devcap_flr, PCI_EXP_DEVCAP_FLR);
VFIO_XC_SAME(pci::pcie::devctl_bcr_flr, PCI_EXP_DEVCTL_BCR_FLR);
VFIO_XC_SAME(pci::pcie::devsta_trpnd, PCI_EXP_DEVSTA_TRPND);
VFIO_XC_SAME(pci::pcie::lnkcap_sls, PCI_EXP_LNKCAP_SLS);
VFIO_XC_SAME(pci::pcie::lnkcap_mlw, PCI_EXP_LNKCAP_MLW);
VFIO_XC_SAME(pci::pcie::lnksta_cls, PCI_EXP_LNKSTA_CLS);
VFIO_XC_SAME(pci::pcie::lnksta_nlw, PCI_EXP_LNKSTA_NLW);

#endif  // VFIO_XC_HAVE_LINUX_PCI_REGS_H

// ---------------------------------------------------------------------------------------
// <linux/kvm.h>: the KVM-VFIO device (vfio/abi/kvm.hpp)
#ifdef VFIO_XC_HAVE_LINUX_KVM_H

VFIO_XC_SAME(vfio::abi::kvm::ioctl_type, KVMIO);
VFIO_XC_SAME(vfio::abi::kvm::req::check_extension, KVM_CHECK_EXTENSION);
VFIO_XC_SAME(vfio::abi::kvm::req::create_device, KVM_CREATE_DEVICE);
VFIO_XC_SAME(vfio::abi::kvm::req::set_device_attr, KVM_SET_DEVICE_ATTR);
VFIO_XC_SAME(vfio::abi::kvm::req::get_device_attr, KVM_GET_DEVICE_ATTR);
VFIO_XC_SAME(vfio::abi::kvm::req::has_device_attr, KVM_HAS_DEVICE_ATTR);
VFIO_XC_SAME(vfio::abi::kvm::cap_device_ctrl, KVM_CAP_DEVICE_CTRL);
VFIO_XC_SAME(vfio::abi::kvm::create_device_flags::test, KVM_CREATE_DEVICE_TEST);
VFIO_XC_SAME(vfio::abi::kvm::dev_type::fsl_mpic_20, KVM_DEV_TYPE_FSL_MPIC_20);
VFIO_XC_SAME(vfio::abi::kvm::dev_type::fsl_mpic_42, KVM_DEV_TYPE_FSL_MPIC_42);
VFIO_XC_SAME(vfio::abi::kvm::dev_type::xics, KVM_DEV_TYPE_XICS);
VFIO_XC_SAME(vfio::abi::kvm::dev_type::vfio, KVM_DEV_TYPE_VFIO);
VFIO_XC_SAME(vfio::abi::kvm::vfio_attr::group, KVM_DEV_VFIO_GROUP);
VFIO_XC_SAME(vfio::abi::kvm::vfio_attr::group_add, KVM_DEV_VFIO_GROUP_ADD);
VFIO_XC_SAME(vfio::abi::kvm::vfio_attr::group_del, KVM_DEV_VFIO_GROUP_DEL);
VFIO_XC_SAME(vfio::abi::kvm::vfio_attr::group_set_spapr_tce, KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE);
#ifdef KVM_DEV_VFIO_FILE  // v6.6 headers; Debian 12 ships 6.1's
VFIO_XC_SAME(vfio::abi::kvm::vfio_attr::file, KVM_DEV_VFIO_FILE);
VFIO_XC_SAME(vfio::abi::kvm::vfio_attr::file_add, KVM_DEV_VFIO_FILE_ADD);
VFIO_XC_SAME(vfio::abi::kvm::vfio_attr::file_del, KVM_DEV_VFIO_FILE_DEL);
#endif

VFIO_XC_STRUCT(kvm::create_device, kvm_create_device);
VFIO_XC_FIELD(kvm::create_device, kvm_create_device, type);
VFIO_XC_FIELD(kvm::create_device, kvm_create_device, fd);
VFIO_XC_FIELD(kvm::create_device, kvm_create_device, flags);
VFIO_XC_STRUCT(kvm::device_attr, kvm_device_attr);
VFIO_XC_FIELD(kvm::device_attr, kvm_device_attr, flags);
VFIO_XC_FIELD(kvm::device_attr, kvm_device_attr, group);
VFIO_XC_FIELD(kvm::device_attr, kvm_device_attr, attr);
VFIO_XC_FIELD(kvm::device_attr, kvm_device_attr, addr);

#endif  // VFIO_XC_HAVE_LINUX_KVM_H

}  // namespace

TEST_CASE("abi: cross-check against system headers", "[abi]") {
  // The real checks are the static_asserts above; these make the values visible in a
  // test report and keep the translation unit registered.
  CHECK(vfio::abi::req::device_feature == vfio::abi::io_request(17));
  CHECK(vfio::abi::pci::pm_ctrl == 4);
#ifdef VFIO_XC_HAVE_LINUX_VFIO_H
  CHECK(vfio::abi::req::device_feature == static_cast<unsigned long>(VFIO_DEVICE_FEATURE));
  CHECK(vfio::abi::pci_region::config == static_cast<std::uint32_t>(VFIO_PCI_CONFIG_REGION_INDEX));
#endif
#ifdef VFIO_XC_HAVE_LINUX_PCI_REGS_H
  CHECK(vfio::abi::pci::pm::ctrl_pme_status == static_cast<std::uint16_t>(PCI_PM_CTRL_PME_STATUS));
#endif
}
