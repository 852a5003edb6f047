// Cross-checks vfio::abi::iommufd against the build host's <linux/iommufd.h>: every ioctl
// number, flag, struct size/alignment and field offset/size/signedness that both define
// must agree, and the two must share a translation unit (the system header comes first,
// so any identifier of ours that is a macro there would break the build).
//
// The header arrived with v6.2 (Debian 12's 6.1 headers have none: then only the test case
// at the end runs). Its enum constants are not macros, so what a release added is checked
// only when a macro of that release is there: IOMMU_GET_HW_INFO (v6.6),
// IOMMU_HWPT_GET_DIRTY_BITMAP (v6.7), IOMMU_FAULT_QUEUE_ALLOC (v6.11); fields added to a
// struct are checked when a member-detection trait finds them.

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#define VFIO_XCI_HAVE_LINUX_IOMMUFD_H 1
#endif

#include <vfio/abi/iommufd.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../catch.hpp"

#define VFIO_XCI_SAME(ours, theirs)                                                           \
  static_assert(static_cast<std::uint64_t>(ours) == static_cast<std::uint64_t>(theirs), #ours \
                " differs "                                                                   \
                "from " #theirs)

#define VFIO_XCI_STRUCT(ours, theirs)                                                         \
  static_assert(sizeof(vfio::abi::iommufd::ours) == sizeof(struct theirs), #ours ": sizeof"); \
  static_assert(alignof(vfio::abi::iommufd::ours) == alignof(struct theirs), #ours ": alignof")

// One field: offset, size and signedness (names may differ: `reserved` vs `__reserved`).
#define VFIO_XCI_FIELD2(ours, of, theirs, tf)                                                                        \
  static_assert(offsetof(vfio::abi::iommufd::ours, of) == offsetof(struct theirs, tf), #ours "::" #of ": offset");   \
  static_assert(sizeof(std::declval<vfio::abi::iommufd::ours&>().of) == sizeof(std::declval<struct theirs&>().tf),   \
                #ours "::" #of ": size");                                                                            \
  static_assert(std::is_signed_v<std::remove_reference_t<decltype(std::declval<vfio::abi::iommufd::ours&>().of)>> == \
                    std::is_signed_v<std::remove_reference_t<decltype(std::declval<struct theirs&>().tf)>>,          \
                #ours "::" #of ": signedness")
#define VFIO_XCI_FIELD(ours, theirs, f) VFIO_XCI_FIELD2(ours, f, theirs, f)

#define VFIO_XCI_HAS_MEMBER(trait, member) \
  template <class T, class = void>         \
  struct trait : std::false_type {};       \
  template <class T>                       \
  struct trait<T, std::void_t<decltype(std::declval<T&>().member)>> : std::true_type {}

namespace {

#ifdef VFIO_XCI_HAVE_LINUX_IOMMUFD_H

namespace ia = vfio::abi::iommufd;

VFIO_XCI_HAS_MEMBER(has_fault_id, fault_id);
VFIO_XCI_HAS_MEMBER(has_data_uptr, data_uptr);
VFIO_XCI_HAS_MEMBER(has_out_capabilities, out_capabilities);
VFIO_XCI_HAS_MEMBER(has_out_max_pasid_log2, out_max_pasid_log2);

VFIO_XCI_SAME(vfio::abi::ioctl_type, IOMMUFD_TYPE);
VFIO_XCI_SAME(ia::cmd_base, IOMMUFD_CMD_BASE);

// ioctl numbers.
VFIO_XCI_SAME(ia::req::destroy, IOMMU_DESTROY);
VFIO_XCI_SAME(ia::req::ioas_alloc, IOMMU_IOAS_ALLOC);
VFIO_XCI_SAME(ia::req::ioas_allow_iovas, IOMMU_IOAS_ALLOW_IOVAS);
VFIO_XCI_SAME(ia::req::ioas_copy, IOMMU_IOAS_COPY);
VFIO_XCI_SAME(ia::req::ioas_iova_ranges, IOMMU_IOAS_IOVA_RANGES);
VFIO_XCI_SAME(ia::req::ioas_map, IOMMU_IOAS_MAP);
VFIO_XCI_SAME(ia::req::ioas_unmap, IOMMU_IOAS_UNMAP);
VFIO_XCI_SAME(ia::req::option, IOMMU_OPTION);
VFIO_XCI_SAME(ia::req::vfio_ioas, IOMMU_VFIO_IOAS);

// Flags and enumerations of v6.2.
VFIO_XCI_SAME(ia::map_flags::fixed_iova, IOMMU_IOAS_MAP_FIXED_IOVA);
VFIO_XCI_SAME(ia::map_flags::writeable, IOMMU_IOAS_MAP_WRITEABLE);
VFIO_XCI_SAME(ia::map_flags::readable, IOMMU_IOAS_MAP_READABLE);
VFIO_XCI_SAME(ia::option_id::rlimit_mode, IOMMU_OPTION_RLIMIT_MODE);
VFIO_XCI_SAME(ia::option_id::huge_pages, IOMMU_OPTION_HUGE_PAGES);
VFIO_XCI_SAME(ia::option_op::set, IOMMU_OPTION_OP_SET);
VFIO_XCI_SAME(ia::option_op::get, IOMMU_OPTION_OP_GET);
VFIO_XCI_SAME(ia::vfio_ioas_op::get, IOMMU_VFIO_IOAS_GET);
VFIO_XCI_SAME(ia::vfio_ioas_op::set, IOMMU_VFIO_IOAS_SET);
VFIO_XCI_SAME(ia::vfio_ioas_op::clear, IOMMU_VFIO_IOAS_CLEAR);

// Structs of v6.2.
VFIO_XCI_STRUCT(destroy, iommu_destroy);
VFIO_XCI_FIELD(destroy, iommu_destroy, size);
VFIO_XCI_FIELD(destroy, iommu_destroy, id);
VFIO_XCI_STRUCT(ioas_alloc, iommu_ioas_alloc);
VFIO_XCI_FIELD(ioas_alloc, iommu_ioas_alloc, size);
VFIO_XCI_FIELD(ioas_alloc, iommu_ioas_alloc, flags);
VFIO_XCI_FIELD(ioas_alloc, iommu_ioas_alloc, out_ioas_id);
VFIO_XCI_STRUCT(iova_range, iommu_iova_range);
VFIO_XCI_FIELD(iova_range, iommu_iova_range, start);
VFIO_XCI_FIELD(iova_range, iommu_iova_range, last);
VFIO_XCI_STRUCT(ioas_iova_ranges, iommu_ioas_iova_ranges);
VFIO_XCI_FIELD(ioas_iova_ranges, iommu_ioas_iova_ranges, size);
VFIO_XCI_FIELD(ioas_iova_ranges, iommu_ioas_iova_ranges, ioas_id);
VFIO_XCI_FIELD(ioas_iova_ranges, iommu_ioas_iova_ranges, num_iovas);
VFIO_XCI_FIELD2(ioas_iova_ranges, reserved, iommu_ioas_iova_ranges, __reserved);
VFIO_XCI_FIELD(ioas_iova_ranges, iommu_ioas_iova_ranges, allowed_iovas);
VFIO_XCI_FIELD(ioas_iova_ranges, iommu_ioas_iova_ranges, out_iova_alignment);
VFIO_XCI_STRUCT(ioas_allow_iovas, iommu_ioas_allow_iovas);
VFIO_XCI_FIELD(ioas_allow_iovas, iommu_ioas_allow_iovas, size);
VFIO_XCI_FIELD(ioas_allow_iovas, iommu_ioas_allow_iovas, ioas_id);
VFIO_XCI_FIELD(ioas_allow_iovas, iommu_ioas_allow_iovas, num_iovas);
VFIO_XCI_FIELD2(ioas_allow_iovas, reserved, iommu_ioas_allow_iovas, __reserved);
VFIO_XCI_FIELD(ioas_allow_iovas, iommu_ioas_allow_iovas, allowed_iovas);
VFIO_XCI_STRUCT(ioas_map, iommu_ioas_map);
VFIO_XCI_FIELD(ioas_map, iommu_ioas_map, size);
VFIO_XCI_FIELD(ioas_map, iommu_ioas_map, flags);
VFIO_XCI_FIELD(ioas_map, iommu_ioas_map, ioas_id);
VFIO_XCI_FIELD2(ioas_map, reserved, iommu_ioas_map, __reserved);
VFIO_XCI_FIELD(ioas_map, iommu_ioas_map, user_va);
VFIO_XCI_FIELD(ioas_map, iommu_ioas_map, length);
VFIO_XCI_FIELD(ioas_map, iommu_ioas_map, iova);
VFIO_XCI_STRUCT(ioas_copy, iommu_ioas_copy);
VFIO_XCI_FIELD(ioas_copy, iommu_ioas_copy, size);
VFIO_XCI_FIELD(ioas_copy, iommu_ioas_copy, flags);
VFIO_XCI_FIELD(ioas_copy, iommu_ioas_copy, dst_ioas_id);
VFIO_XCI_FIELD(ioas_copy, iommu_ioas_copy, src_ioas_id);
VFIO_XCI_FIELD(ioas_copy, iommu_ioas_copy, length);
VFIO_XCI_FIELD(ioas_copy, iommu_ioas_copy, dst_iova);
VFIO_XCI_FIELD(ioas_copy, iommu_ioas_copy, src_iova);
VFIO_XCI_STRUCT(ioas_unmap, iommu_ioas_unmap);
VFIO_XCI_FIELD(ioas_unmap, iommu_ioas_unmap, size);
VFIO_XCI_FIELD(ioas_unmap, iommu_ioas_unmap, ioas_id);
VFIO_XCI_FIELD(ioas_unmap, iommu_ioas_unmap, iova);
VFIO_XCI_FIELD(ioas_unmap, iommu_ioas_unmap, length);
VFIO_XCI_STRUCT(option, iommu_option);
VFIO_XCI_FIELD(option, iommu_option, size);
VFIO_XCI_FIELD(option, iommu_option, option_id);
VFIO_XCI_FIELD(option, iommu_option, op);
VFIO_XCI_FIELD2(option, reserved, iommu_option, __reserved);
VFIO_XCI_FIELD(option, iommu_option, object_id);
VFIO_XCI_FIELD(option, iommu_option, val64);
VFIO_XCI_STRUCT(vfio_ioas, iommu_vfio_ioas);
VFIO_XCI_FIELD(vfio_ioas, iommu_vfio_ioas, size);
VFIO_XCI_FIELD(vfio_ioas, iommu_vfio_ioas, ioas_id);
VFIO_XCI_FIELD(vfio_ioas, iommu_vfio_ioas, op);
VFIO_XCI_FIELD2(vfio_ioas, reserved, iommu_vfio_ioas, __reserved);

// v6.6: HWPT_ALLOC and GET_HW_INFO, in their first form.
#ifdef IOMMU_GET_HW_INFO
VFIO_XCI_SAME(ia::req::hwpt_alloc, IOMMU_HWPT_ALLOC);
VFIO_XCI_SAME(ia::req::get_hw_info, IOMMU_GET_HW_INFO);
VFIO_XCI_SAME(ia::hw_info_type::none, IOMMU_HW_INFO_TYPE_NONE);
VFIO_XCI_SAME(ia::hw_info_type::intel_vtd, IOMMU_HW_INFO_TYPE_INTEL_VTD);
VFIO_XCI_FIELD(hwpt_alloc, iommu_hwpt_alloc, size);
VFIO_XCI_FIELD(hwpt_alloc, iommu_hwpt_alloc, flags);
VFIO_XCI_FIELD(hwpt_alloc, iommu_hwpt_alloc, dev_id);
VFIO_XCI_FIELD(hwpt_alloc, iommu_hwpt_alloc, pt_id);
VFIO_XCI_FIELD(hwpt_alloc, iommu_hwpt_alloc, out_hwpt_id);
VFIO_XCI_FIELD2(hwpt_alloc, reserved, iommu_hwpt_alloc, __reserved);
VFIO_XCI_STRUCT(hw_info_vtd, iommu_hw_info_vtd);
VFIO_XCI_FIELD(hw_info_vtd, iommu_hw_info_vtd, flags);
VFIO_XCI_FIELD2(hw_info_vtd, reserved, iommu_hw_info_vtd, __reserved);
VFIO_XCI_FIELD(hw_info_vtd, iommu_hw_info_vtd, cap_reg);
VFIO_XCI_FIELD(hw_info_vtd, iommu_hw_info_vtd, ecap_reg);
VFIO_XCI_FIELD(hw_info, iommu_hw_info, size);
VFIO_XCI_FIELD(hw_info, iommu_hw_info, flags);
VFIO_XCI_FIELD(hw_info, iommu_hw_info, dev_id);
VFIO_XCI_FIELD(hw_info, iommu_hw_info, data_len);
VFIO_XCI_FIELD(hw_info, iommu_hw_info, data_uptr);
VFIO_XCI_FIELD(hw_info, iommu_hw_info, out_data_type);

// Fields that later releases added: compared wherever the host's struct has them; the
// whole struct once its last field is there.
template <class T>
constexpr bool hwpt_alloc_data_matches() {
  if constexpr (has_data_uptr<T>::value) {
    return offsetof(T, data_type) == offsetof(ia::hwpt_alloc, data_type) &&
           offsetof(T, data_len) == offsetof(ia::hwpt_alloc, data_len) &&
           offsetof(T, data_uptr) == offsetof(ia::hwpt_alloc, data_uptr) &&
           sizeof(std::declval<T&>().data_uptr) == sizeof(std::declval<ia::hwpt_alloc&>().data_uptr);
  } else {
    return true;
  }
}
static_assert(hwpt_alloc_data_matches<struct iommu_hwpt_alloc>(), "hwpt_alloc: data_type, data_len, data_uptr");
template <class T>
constexpr bool hwpt_alloc_fault_id_matches() {
  if constexpr (has_fault_id<T>::value) {
    return offsetof(T, fault_id) == offsetof(ia::hwpt_alloc, fault_id) &&
           offsetof(T, __reserved2) == offsetof(ia::hwpt_alloc, reserved2) && sizeof(T) == sizeof(ia::hwpt_alloc) &&
           alignof(T) == alignof(ia::hwpt_alloc);
  } else {
    return true;
  }
}
static_assert(hwpt_alloc_fault_id_matches<struct iommu_hwpt_alloc>(), "hwpt_alloc: fault_id, reserved2, sizeof");
template <class T>
constexpr bool hw_info_capabilities_match() {
  if constexpr (has_out_capabilities<T>::value) {
    return offsetof(T, out_capabilities) == offsetof(ia::hw_info, out_capabilities) &&
           sizeof(std::declval<T&>().out_capabilities) == sizeof(std::declval<ia::hw_info&>().out_capabilities) &&
           sizeof(T) == sizeof(ia::hw_info) && alignof(T) == alignof(ia::hw_info);
  } else {
    return true;
  }
}
static_assert(hw_info_capabilities_match<struct iommu_hw_info>(), "hw_info: out_capabilities, sizeof");
template <class T>
constexpr bool hw_info_pasid_matches() {
  if constexpr (has_out_max_pasid_log2<T>::value) {
    return offsetof(T, out_max_pasid_log2) == offsetof(ia::hw_info, out_max_pasid_log2) &&
           sizeof(std::declval<T&>().out_max_pasid_log2) == 1 &&
           offsetof(T, __reserved) == offsetof(ia::hw_info, reserved) &&
           sizeof(std::declval<T&>().__reserved) == sizeof(std::declval<ia::hw_info&>().reserved);
  } else {
    return true;
  }
}
static_assert(hw_info_pasid_matches<struct iommu_hw_info>(), "hw_info: out_max_pasid_log2, reserved");
#endif

// v6.7: dirty tracking.
#ifdef IOMMU_HWPT_GET_DIRTY_BITMAP
VFIO_XCI_SAME(ia::req::hwpt_set_dirty_tracking, IOMMU_HWPT_SET_DIRTY_TRACKING);
VFIO_XCI_SAME(ia::req::hwpt_get_dirty_bitmap, IOMMU_HWPT_GET_DIRTY_BITMAP);
VFIO_XCI_SAME(ia::hwpt_alloc_flags::nest_parent, IOMMU_HWPT_ALLOC_NEST_PARENT);
VFIO_XCI_SAME(ia::hwpt_alloc_flags::dirty_tracking, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
VFIO_XCI_SAME(ia::hw_cap::dirty_tracking, IOMMU_HW_CAP_DIRTY_TRACKING);
VFIO_XCI_SAME(ia::dirty_tracking_flags::enable, IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
VFIO_XCI_SAME(ia::dirty_bitmap_flags::no_clear, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
VFIO_XCI_STRUCT(hwpt_set_dirty_tracking, iommu_hwpt_set_dirty_tracking);
VFIO_XCI_FIELD(hwpt_set_dirty_tracking, iommu_hwpt_set_dirty_tracking, size);
VFIO_XCI_FIELD(hwpt_set_dirty_tracking, iommu_hwpt_set_dirty_tracking, flags);
VFIO_XCI_FIELD(hwpt_set_dirty_tracking, iommu_hwpt_set_dirty_tracking, hwpt_id);
VFIO_XCI_FIELD2(hwpt_set_dirty_tracking, reserved, iommu_hwpt_set_dirty_tracking, __reserved);
VFIO_XCI_STRUCT(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap);
VFIO_XCI_FIELD(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, size);
VFIO_XCI_FIELD(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, hwpt_id);
VFIO_XCI_FIELD(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, flags);
VFIO_XCI_FIELD2(hwpt_get_dirty_bitmap, reserved, iommu_hwpt_get_dirty_bitmap, __reserved);
VFIO_XCI_FIELD(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, iova);
VFIO_XCI_FIELD(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, length);
VFIO_XCI_FIELD(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, page_size);
VFIO_XCI_FIELD(hwpt_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, data);
#endif

// v6.8 and v6.11: nested invalidation and fault queues (numbers only), the fault id flag.
#ifdef IOMMU_HWPT_INVALIDATE
VFIO_XCI_SAME(ia::req::hwpt_invalidate, IOMMU_HWPT_INVALIDATE);
VFIO_XCI_SAME(ia::hwpt_data_type::none, IOMMU_HWPT_DATA_NONE);
VFIO_XCI_SAME(ia::hwpt_data_type::vtd_s1, IOMMU_HWPT_DATA_VTD_S1);
#endif
#ifdef IOMMU_FAULT_QUEUE_ALLOC
VFIO_XCI_SAME(ia::req::fault_queue_alloc, IOMMU_FAULT_QUEUE_ALLOC);
VFIO_XCI_SAME(ia::hwpt_alloc_flags::fault_id_valid, IOMMU_HWPT_FAULT_ID_VALID);
VFIO_XCI_SAME(ia::hw_info_vtd_flags::errata_772415_spr17, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17);
#endif

#endif  // VFIO_XCI_HAVE_LINUX_IOMMUFD_H

}  // namespace

TEST_CASE("abi: iommufd cross-check against system headers", "[abi][iommufd]") {
  // The real checks are the static_asserts above (when the host has the header); these
  // keep the translation unit registered and pin the numbers the library sends.
  CHECK(vfio::abi::iommufd::req::ioas_map == vfio::abi::iommufd::io_request(0x85));
  CHECK((vfio::abi::iommufd::req::destroy & 0xffffU) == 0x3b80U);
#ifdef VFIO_XCI_HAVE_LINUX_IOMMUFD_H
  CHECK(vfio::abi::iommufd::req::ioas_map == static_cast<unsigned long>(IOMMU_IOAS_MAP));
  CHECK(sizeof(vfio::abi::iommufd::ioas_map) == sizeof(struct iommu_ioas_map));
#endif
}
