#ifndef VFIO_ABI_IOMMUFD_HPP_INCLUDED
#define VFIO_ABI_IOMMUFD_HPP_INCLUDED

// The iommufd userspace ABI (include/uapi/linux/iommufd.h) mirrored as C++17 constants
// and structs: the IOAS, option, hardware-info and HWPT ioctls of /dev/iommu, at the
// level of the 6.12 sources (checked against linux-source-6.12, 6.12.118). Debian 12's
// 6.1 headers have no iommufd.h at all (it arrived with v6.2).
//
// Conventions (as abi/vfio.hpp):
// - No identifier here is a macro of <linux/iommufd.h>; tests/unit/abi_crosscheck_iommufd.cpp
//   includes both and compares values, sizes and offsets when the host has the header.
// - Every 64-bit field is alignas(8) (__aligned_u64 in the kernel header).
// - Reserved fields are named `reserved`, where the kernel says `__reserved`.
// - Versions are given where checked against kernel sources or patches; anything
//   else says "version unverified".
//
// How the kernel reads these structs (drivers/iommu/iommufd/main.c, iommufd_fops_ioctl):
// the first u32 is the caller's size; a size below the kernel's minimum (the end of the
// last field the ioctl had when it was introduced) is -EINVAL; the struct is read with
// copy_struct_from_user, so bytes beyond what the kernel knows must be zero (-E2BIG
// otherwise) and missing trailing fields read as zero. So the full structs below, zeroed,
// work on every kernel that has the ioctl. Replies are copied back up to
// min(size, kernel's sizeof) (iommufd_ucmd_respond). Request numbers past the table of
// the running kernel fall through to the VFIO compatibility ioctls (vfio_compat.c,
// iommufd_vfio_ioctl), which answer -ENOIOCTLCMD, i.e. ENOTTY to the caller.

#include <cstddef>
#include <cstdint>

#include "vfio.hpp"

namespace vfio::abi::iommufd {

// IOMMUFD_TYPE is ';' like VFIO_TYPE; the command numbers start at 0x80, above VFIO's
// 100..121, so one descriptor can answer both sets (the compat container does).
inline constexpr unsigned long cmd_base = 0x80;

// _IO(IOMMUFD_TYPE, nr).
constexpr unsigned long io_request(unsigned long nr) noexcept {
  return abi::ioctl_dir_none | (abi::ioctl_type << 8) | nr;
}

// ioctl request numbers (IOMMU_*), by IOMMUFD_CMD_* number.
namespace req {
inline constexpr unsigned long destroy = io_request(cmd_base + 0x0);                  // v6.2
inline constexpr unsigned long ioas_alloc = io_request(cmd_base + 0x1);               // v6.2
inline constexpr unsigned long ioas_allow_iovas = io_request(cmd_base + 0x2);         // v6.2
inline constexpr unsigned long ioas_copy = io_request(cmd_base + 0x3);                // v6.2
inline constexpr unsigned long ioas_iova_ranges = io_request(cmd_base + 0x4);         // v6.2
inline constexpr unsigned long ioas_map = io_request(cmd_base + 0x5);                 // v6.2
inline constexpr unsigned long ioas_unmap = io_request(cmd_base + 0x6);               // v6.2
inline constexpr unsigned long option = io_request(cmd_base + 0x7);                   // v6.2
inline constexpr unsigned long vfio_ioas = io_request(cmd_base + 0x8);                // v6.2
inline constexpr unsigned long hwpt_alloc = io_request(cmd_base + 0x9);               // v6.6 (version unverified)
inline constexpr unsigned long get_hw_info = io_request(cmd_base + 0xa);              // v6.6 (version unverified)
inline constexpr unsigned long hwpt_set_dirty_tracking = io_request(cmd_base + 0xb);  // v6.7 (unverified)
inline constexpr unsigned long hwpt_get_dirty_bitmap = io_request(cmd_base + 0xc);    // v6.7 (unverified)
// Numbers only: nested translation and fault queues (in 6.12; structs not mirrored).
inline constexpr unsigned long hwpt_invalidate = io_request(cmd_base + 0xd);
inline constexpr unsigned long fault_queue_alloc = io_request(cmd_base + 0xe);
}  // namespace req

static_assert(req::destroy == (abi::ioctl_dir_none | 0x3B80UL));
static_assert(req::hwpt_get_dirty_bitmap == (abi::ioctl_dir_none | 0x3B8CUL));
static_assert(req::destroy > abi::req::mig_get_precopy_info, "iommufd numbers lie above every VFIO number");
#if !(defined(__powerpc__) || defined(__mips__) || defined(__sparc__) || defined(__alpha__))
static_assert(req::destroy == 0x3B80UL);
static_assert(req::ioas_alloc == 0x3B81UL);
static_assert(req::ioas_map == 0x3B85UL);
static_assert(req::option == 0x3B87UL);
static_assert(req::hwpt_alloc == 0x3B89UL);
static_assert(req::get_hw_info == 0x3B8AUL);
static_assert(req::hwpt_get_dirty_bitmap == 0x3B8CUL);
static_assert(req::fault_queue_alloc == 0x3B8EUL);
#endif

// iommu_destroy: DESTROY argument; `id` is any destroyable object (IOAS, HWPT, ...).
struct destroy {
  std::uint32_t size;
  std::uint32_t id;
};

// iommu_ioas_alloc: IOAS_ALLOC argument; flags must be 0.
struct ioas_alloc {
  std::uint32_t size;
  std::uint32_t flags;
  std::uint32_t out_ioas_id;
};

// iommu_iova_range: an IOVA interval, inclusive of `last`.
struct iova_range {
  alignas(8) std::uint64_t start;
  alignas(8) std::uint64_t last;
};

// iommu_ioas_iova_ranges: IOAS_IOVA_RANGES argument. `allowed_iovas` is the user address of
// num_iovas iova_range; on return num_iovas is the total (-EMSGSIZE when it exceeds the
// array given, which is filled as far as it goes).
struct ioas_iova_ranges {
  std::uint32_t size;
  std::uint32_t ioas_id;
  std::uint32_t num_iovas;
  std::uint32_t reserved;
  alignas(8) std::uint64_t allowed_iovas;
  alignas(8) std::uint64_t out_iova_alignment;
};

// iommu_ioas_allow_iovas: IOAS_ALLOW_IOVAS argument; replaces the IOAS's allowed list.
struct ioas_allow_iovas {
  std::uint32_t size;
  std::uint32_t ioas_id;
  std::uint32_t num_iovas;
  std::uint32_t reserved;
  alignas(8) std::uint64_t allowed_iovas;
};

// enum iommufd_ioas_map_flags: IOAS_MAP and IOAS_COPY flags.
namespace map_flags {
inline constexpr std::uint32_t fixed_iova = 1U << 0;  // place at `iova`; else the kernel picks
inline constexpr std::uint32_t writeable = 1U << 1;   // DMA may write
inline constexpr std::uint32_t readable = 1U << 2;    // DMA may read
}  // namespace map_flags

// iommu_ioas_map: IOAS_MAP argument; `iova` is written back.
struct ioas_map {
  std::uint32_t size;
  std::uint32_t flags;
  std::uint32_t ioas_id;
  std::uint32_t reserved;
  alignas(8) std::uint64_t user_va;
  alignas(8) std::uint64_t length;
  alignas(8) std::uint64_t iova;
};

// iommu_ioas_copy: IOAS_COPY argument; `dst_iova` is written back.
struct ioas_copy {
  std::uint32_t size;
  std::uint32_t flags;
  std::uint32_t dst_ioas_id;
  std::uint32_t src_ioas_id;
  alignas(8) std::uint64_t length;
  alignas(8) std::uint64_t dst_iova;
  alignas(8) std::uint64_t src_iova;
};

// iommu_ioas_unmap: IOAS_UNMAP argument; `length` is written back with the bytes unmapped.
// iova 0 with length UINT64_MAX unmaps everything.
struct ioas_unmap {
  std::uint32_t size;
  std::uint32_t ioas_id;
  alignas(8) std::uint64_t iova;
  alignas(8) std::uint64_t length;
};

// enum iommufd_option: option::option_id values.
namespace option_id {
inline constexpr std::uint32_t rlimit_mode = 0;  // global (object_id 0): 0 per-user, 1 per-process accounting
inline constexpr std::uint32_t huge_pages = 1;   // per IOAS (object_id = IOAS): 1 combine pages (default), 0 not
}  // namespace option_id

// enum iommufd_option_ops: option::op values.
namespace option_op {
inline constexpr std::uint16_t set = 0;
inline constexpr std::uint16_t get = 1;
}  // namespace option_op

// iommu_option: OPTION argument; val64 is written back on GET.
struct option {
  std::uint32_t size;
  std::uint32_t option_id;
  std::uint16_t op;
  std::uint16_t reserved;
  std::uint32_t object_id;
  alignas(8) std::uint64_t val64;
};

// enum iommufd_vfio_ioas_op: vfio_ioas::op values.
namespace vfio_ioas_op {
inline constexpr std::uint16_t get = 0;
inline constexpr std::uint16_t set = 1;
inline constexpr std::uint16_t clear = 2;
}  // namespace vfio_ioas_op

// iommu_vfio_ioas: VFIO_IOAS argument (the IOAS the VFIO compatibility container uses).
struct vfio_ioas {
  std::uint32_t size;
  std::uint32_t ioas_id;
  std::uint16_t op;
  std::uint16_t reserved;
};

// enum iommufd_hwpt_alloc_flags.
namespace hwpt_alloc_flags {
inline constexpr std::uint32_t nest_parent = 1U << 0;
inline constexpr std::uint32_t dirty_tracking = 1U << 1;  // attach fails unless the IOMMU tracks dirty pages
inline constexpr std::uint32_t fault_id_valid = 1U << 2;  // hwpt_alloc::fault_id is valid (in 6.12)
inline constexpr std::uint32_t pasid = 1U << 3;           // after 6.12 (version unverified)
}  // namespace hwpt_alloc_flags

// enum iommu_hwpt_data_type: hwpt_alloc::data_type values.
namespace hwpt_data_type {
inline constexpr std::uint32_t none = 0;        // a kernel-managed (paging) HWPT
inline constexpr std::uint32_t vtd_s1 = 1;      // Intel VT-d stage-1 (nested)
inline constexpr std::uint32_t arm_smmuv3 = 2;  // after 6.12 (version unverified)
}  // namespace hwpt_data_type

// iommu_hwpt_alloc: HWPT_ALLOC argument. fault_id and reserved2 are in 6.12 (not in the
// first version of the ioctl, whose size ended at data_uptr); the kernel's minimum size
// ends at `reserved` (24).
struct hwpt_alloc {
  std::uint32_t size;
  std::uint32_t flags;
  std::uint32_t dev_id;
  std::uint32_t pt_id;
  std::uint32_t out_hwpt_id;
  std::uint32_t reserved;
  std::uint32_t data_type;
  std::uint32_t data_len;
  alignas(8) std::uint64_t data_uptr;
  std::uint32_t fault_id;
  std::uint32_t reserved2;
};

// enum iommu_hw_info_vtd_flags.
namespace hw_info_vtd_flags {
inline constexpr std::uint32_t errata_772415_spr17 = 1U << 0;  // no read-only mappings on a nest parent
}  // namespace hw_info_vtd_flags

// iommu_hw_info_vtd: GET_HW_INFO data of hw_info_type::intel_vtd.
struct hw_info_vtd {
  std::uint32_t flags;
  std::uint32_t reserved;
  alignas(8) std::uint64_t cap_reg;
  alignas(8) std::uint64_t ecap_reg;
};

// enum iommu_hw_info_type: hw_info::out_data_type values.
namespace hw_info_type {
inline constexpr std::uint32_t none = 0;  // also IOMMU_HW_INFO_TYPE_DEFAULT after 6.12
inline constexpr std::uint32_t intel_vtd = 1;
inline constexpr std::uint32_t arm_smmuv3 = 2;  // after 6.12 (version unverified)
}  // namespace hw_info_type

// enum iommufd_hw_capabilities: hw_info::out_capabilities bits.
namespace hw_cap {
inline constexpr std::uint64_t dirty_tracking = 1U << 0;  // SET_DIRTY_TRACKING / GET_DIRTY_BITMAP work
inline constexpr std::uint64_t pci_pasid_exec = 1U << 1;  // in 6.12; meaningful when out_max_pasid_log2 != 0
inline constexpr std::uint64_t pci_pasid_priv = 1U << 2;  // in 6.12
}  // namespace hw_cap

// enum iommufd_hw_info_flags. After 6.12 (about v6.17, "iommufd: Allow userspace to
// request a specific hw_info type"; version unverified): with input_type the data-type
// field is read as an input. 6.12 answers any flag with -EOPNOTSUPP.
namespace hw_info_flags {
inline constexpr std::uint32_t input_type = 1U << 0;
}  // namespace hw_info_flags

// iommu_hw_info: GET_HW_INFO argument. data_len is the caller's buffer size on input and
// the kernel's data size on output. out_max_pasid_log2 is in 6.12; earlier kernels had a
// u32 `__reserved` at 28 (the layout is the same). After 6.12 out_data_type is a union
// with in_data_type (see hw_info_flags).
struct hw_info {
  std::uint32_t size;
  std::uint32_t flags;
  std::uint32_t dev_id;
  std::uint32_t data_len;
  alignas(8) std::uint64_t data_uptr;
  std::uint32_t out_data_type;
  std::uint8_t out_max_pasid_log2;
  std::uint8_t reserved[3];
  alignas(8) std::uint64_t out_capabilities;
};

// enum iommufd_hwpt_set_dirty_tracking_flags.
namespace dirty_tracking_flags {
inline constexpr std::uint32_t enable = 1U << 0;
}  // namespace dirty_tracking_flags

// iommu_hwpt_set_dirty_tracking: HWPT_SET_DIRTY_TRACKING argument.
struct hwpt_set_dirty_tracking {
  std::uint32_t size;
  std::uint32_t flags;
  std::uint32_t hwpt_id;
  std::uint32_t reserved;
};

// enum iommufd_hwpt_get_dirty_bitmap_flags.
namespace dirty_bitmap_flags {
inline constexpr std::uint32_t no_clear = 1U << 0;  // read the dirty bits without clearing them
}  // namespace dirty_bitmap_flags

// iommu_hwpt_get_dirty_bitmap: HWPT_GET_DIRTY_BITMAP argument. `data` is the user address
// of a u64 bitmap; bit i stands for [iova + i * page_size, iova + (i + 1) * page_size).
struct hwpt_get_dirty_bitmap {
  std::uint32_t size;
  std::uint32_t hwpt_id;
  std::uint32_t flags;
  std::uint32_t reserved;
  alignas(8) std::uint64_t iova;
  alignas(8) std::uint64_t length;
  alignas(8) std::uint64_t page_size;
  alignas(8) std::uint64_t data;
};

// The kernel's minimum sizes (IOCTL_OP's offsetofend in main.c): a size below is -EINVAL.
namespace min_size {
inline constexpr std::uint32_t destroy = 8;
inline constexpr std::uint32_t ioas_alloc = 12;
inline constexpr std::uint32_t ioas_allow_iovas = 24;
inline constexpr std::uint32_t ioas_copy = 40;
inline constexpr std::uint32_t ioas_iova_ranges = 32;
inline constexpr std::uint32_t ioas_map = 40;
inline constexpr std::uint32_t ioas_unmap = 24;
inline constexpr std::uint32_t option = 24;
inline constexpr std::uint32_t vfio_ioas = 12;
inline constexpr std::uint32_t hwpt_alloc = 24;
inline constexpr std::uint32_t get_hw_info = 32;
inline constexpr std::uint32_t hwpt_set_dirty_tracking = 16;
inline constexpr std::uint32_t hwpt_get_dirty_bitmap = 48;
}  // namespace min_size

// ---------------------------------------------------------------------------------------
// Layout checks: the kernel's sizes and offsets on 64-bit targets.

static_assert(sizeof(destroy) == 8);
static_assert(alignof(destroy) == 4);
static_assert(offsetof(destroy, size) == 0);
static_assert(offsetof(destroy, id) == 4);

static_assert(sizeof(ioas_alloc) == 12);
static_assert(alignof(ioas_alloc) == 4);
static_assert(offsetof(ioas_alloc, size) == 0);
static_assert(offsetof(ioas_alloc, flags) == 4);
static_assert(offsetof(ioas_alloc, out_ioas_id) == 8);

static_assert(sizeof(iova_range) == 16);
static_assert(alignof(iova_range) == 8);
static_assert(offsetof(iova_range, start) == 0);
static_assert(offsetof(iova_range, last) == 8);

static_assert(sizeof(ioas_iova_ranges) == 32);
static_assert(alignof(ioas_iova_ranges) == 8);
static_assert(offsetof(ioas_iova_ranges, size) == 0);
static_assert(offsetof(ioas_iova_ranges, ioas_id) == 4);
static_assert(offsetof(ioas_iova_ranges, num_iovas) == 8);
static_assert(offsetof(ioas_iova_ranges, reserved) == 12);
static_assert(offsetof(ioas_iova_ranges, allowed_iovas) == 16);
static_assert(offsetof(ioas_iova_ranges, out_iova_alignment) == 24);

static_assert(sizeof(ioas_allow_iovas) == 24);
static_assert(alignof(ioas_allow_iovas) == 8);
static_assert(offsetof(ioas_allow_iovas, size) == 0);
static_assert(offsetof(ioas_allow_iovas, ioas_id) == 4);
static_assert(offsetof(ioas_allow_iovas, num_iovas) == 8);
static_assert(offsetof(ioas_allow_iovas, reserved) == 12);
static_assert(offsetof(ioas_allow_iovas, allowed_iovas) == 16);

static_assert(sizeof(ioas_map) == 40);
static_assert(alignof(ioas_map) == 8);
static_assert(offsetof(ioas_map, size) == 0);
static_assert(offsetof(ioas_map, flags) == 4);
static_assert(offsetof(ioas_map, ioas_id) == 8);
static_assert(offsetof(ioas_map, reserved) == 12);
static_assert(offsetof(ioas_map, user_va) == 16);
static_assert(offsetof(ioas_map, length) == 24);
static_assert(offsetof(ioas_map, iova) == 32);

static_assert(sizeof(ioas_copy) == 40);
static_assert(alignof(ioas_copy) == 8);
static_assert(offsetof(ioas_copy, size) == 0);
static_assert(offsetof(ioas_copy, flags) == 4);
static_assert(offsetof(ioas_copy, dst_ioas_id) == 8);
static_assert(offsetof(ioas_copy, src_ioas_id) == 12);
static_assert(offsetof(ioas_copy, length) == 16);
static_assert(offsetof(ioas_copy, dst_iova) == 24);
static_assert(offsetof(ioas_copy, src_iova) == 32);

static_assert(sizeof(ioas_unmap) == 24);
static_assert(alignof(ioas_unmap) == 8);
static_assert(offsetof(ioas_unmap, size) == 0);
static_assert(offsetof(ioas_unmap, ioas_id) == 4);
static_assert(offsetof(ioas_unmap, iova) == 8);
static_assert(offsetof(ioas_unmap, length) == 16);

static_assert(sizeof(option) == 24);
static_assert(alignof(option) == 8);
static_assert(offsetof(option, size) == 0);
static_assert(offsetof(option, option_id) == 4);
static_assert(offsetof(option, op) == 8);
static_assert(offsetof(option, reserved) == 10);
static_assert(offsetof(option, object_id) == 12);
static_assert(offsetof(option, val64) == 16);

static_assert(sizeof(vfio_ioas) == 12);
static_assert(alignof(vfio_ioas) == 4);
static_assert(offsetof(vfio_ioas, size) == 0);
static_assert(offsetof(vfio_ioas, ioas_id) == 4);
static_assert(offsetof(vfio_ioas, op) == 8);
static_assert(offsetof(vfio_ioas, reserved) == 10);

static_assert(sizeof(hwpt_alloc) == 48);
static_assert(alignof(hwpt_alloc) == 8);
static_assert(offsetof(hwpt_alloc, size) == 0);
static_assert(offsetof(hwpt_alloc, flags) == 4);
static_assert(offsetof(hwpt_alloc, dev_id) == 8);
static_assert(offsetof(hwpt_alloc, pt_id) == 12);
static_assert(offsetof(hwpt_alloc, out_hwpt_id) == 16);
static_assert(offsetof(hwpt_alloc, reserved) == 20);
static_assert(offsetof(hwpt_alloc, data_type) == 24);
static_assert(offsetof(hwpt_alloc, data_len) == 28);
static_assert(offsetof(hwpt_alloc, data_uptr) == 32);
static_assert(offsetof(hwpt_alloc, fault_id) == 40);
static_assert(offsetof(hwpt_alloc, reserved2) == 44);

static_assert(sizeof(hw_info_vtd) == 24);
static_assert(alignof(hw_info_vtd) == 8);
static_assert(offsetof(hw_info_vtd, flags) == 0);
static_assert(offsetof(hw_info_vtd, reserved) == 4);
static_assert(offsetof(hw_info_vtd, cap_reg) == 8);
static_assert(offsetof(hw_info_vtd, ecap_reg) == 16);

static_assert(sizeof(hw_info) == 40);
static_assert(alignof(hw_info) == 8);
static_assert(offsetof(hw_info, size) == 0);
static_assert(offsetof(hw_info, flags) == 4);
static_assert(offsetof(hw_info, dev_id) == 8);
static_assert(offsetof(hw_info, data_len) == 12);
static_assert(offsetof(hw_info, data_uptr) == 16);
static_assert(offsetof(hw_info, out_data_type) == 24);
static_assert(offsetof(hw_info, out_max_pasid_log2) == 28);
static_assert(offsetof(hw_info, reserved) == 29);
static_assert(offsetof(hw_info, out_capabilities) == 32);

static_assert(sizeof(hwpt_set_dirty_tracking) == 16);
static_assert(alignof(hwpt_set_dirty_tracking) == 4);
static_assert(offsetof(hwpt_set_dirty_tracking, size) == 0);
static_assert(offsetof(hwpt_set_dirty_tracking, flags) == 4);
static_assert(offsetof(hwpt_set_dirty_tracking, hwpt_id) == 8);
static_assert(offsetof(hwpt_set_dirty_tracking, reserved) == 12);

static_assert(sizeof(hwpt_get_dirty_bitmap) == 48);
static_assert(alignof(hwpt_get_dirty_bitmap) == 8);
static_assert(offsetof(hwpt_get_dirty_bitmap, size) == 0);
static_assert(offsetof(hwpt_get_dirty_bitmap, hwpt_id) == 4);
static_assert(offsetof(hwpt_get_dirty_bitmap, flags) == 8);
static_assert(offsetof(hwpt_get_dirty_bitmap, reserved) == 12);
static_assert(offsetof(hwpt_get_dirty_bitmap, iova) == 16);
static_assert(offsetof(hwpt_get_dirty_bitmap, length) == 24);
static_assert(offsetof(hwpt_get_dirty_bitmap, page_size) == 32);
static_assert(offsetof(hwpt_get_dirty_bitmap, data) == 40);

// Each minimum size is the end of a field, and never more than the struct.
static_assert(min_size::destroy == offsetof(destroy, id) + 4);
static_assert(min_size::ioas_alloc == offsetof(ioas_alloc, out_ioas_id) + 4);
static_assert(min_size::ioas_allow_iovas == offsetof(ioas_allow_iovas, allowed_iovas) + 8);
static_assert(min_size::ioas_copy == offsetof(ioas_copy, src_iova) + 8);
static_assert(min_size::ioas_iova_ranges == offsetof(ioas_iova_ranges, out_iova_alignment) + 8);
static_assert(min_size::ioas_map == offsetof(ioas_map, iova) + 8);
static_assert(min_size::ioas_unmap == offsetof(ioas_unmap, length) + 8);
static_assert(min_size::option == offsetof(option, val64) + 8);
static_assert(min_size::vfio_ioas == offsetof(vfio_ioas, reserved) + 2);
static_assert(min_size::hwpt_alloc == offsetof(hwpt_alloc, reserved) + 4);
static_assert(min_size::get_hw_info == offsetof(hw_info, reserved) + 3);
static_assert(min_size::hwpt_set_dirty_tracking == offsetof(hwpt_set_dirty_tracking, reserved) + 4);
static_assert(min_size::hwpt_get_dirty_bitmap == offsetof(hwpt_get_dirty_bitmap, data) + 8);

}  // namespace vfio::abi::iommufd

#endif  // VFIO_ABI_IOMMUFD_HPP_INCLUDED
