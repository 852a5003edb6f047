#ifndef VFIO_ABI_VFIO_HPP_INCLUDED
#define VFIO_ABI_VFIO_HPP_INCLUDED

// The VFIO userspace ABI (include/uapi/linux/vfio.h) mirrored as C++17 constants and
// structs, so that the library builds the same whatever kernel headers the build host
// ships (Debian 12 has 6.1's, which lack the cdev ioctls, PRE_COPY, MIG_DATA_SIZE,
// BUS_MASTER, DMA_BUF and the 24-byte vfio_device_info).
//
// Conventions:
// - No identifier here is a macro of <linux/vfio.h>, so both can be included in one
//   translation unit; tests/unit/abi_crosscheck.cpp does exactly that and compares values.
// - Flexible array members are left out: a trailing array starts at sizeof(header), and
//   a struct whose array has 8-byte elements keeps the kernel's alignof via alignas(8).
// - Every 64-bit field is alignas(8). For __aligned_u64 this is the kernel's own rule;
//   for plain __u64 it changes nothing on 64-bit targets and gives 32-bit processes the
//   layout a 64-bit kernel reads.
// - Versions are given only where checked against kernel sources or pull requests;
//   anything else says "version unverified".

#include <cstddef>
#include <cstdint>

namespace vfio::abi {

// VFIO_API_VERSION: what GET_API_VERSION returns; it has never changed.
inline constexpr int api_version = 0;

// ioctl number encoding: _IO(';', 100 + n). VFIO never encodes size or direction (the
// structs carry argsz), so only _IOC_NONE differs between architectures.
inline constexpr unsigned long ioctl_type = 0x3B;  // ';'
inline constexpr unsigned long ioctl_base = 100;
#if defined(__powerpc__) || defined(__mips__) || defined(__sparc__) || defined(__alpha__)
inline constexpr unsigned long ioctl_dir_none = 1UL << 29;  // _IOC_NONE is 1 at bit 29 here
#else
inline constexpr unsigned long ioctl_dir_none = 0;  // asm-generic: _IOC_NONE is 0
#endif

// _IO(VFIO_TYPE, VFIO_BASE + n).
constexpr unsigned long io_request(unsigned long n) noexcept {
  return ioctl_dir_none | (ioctl_type << 8) | (ioctl_base + n);
}

// ioctl request numbers. 12..21 are reused across fd kinds: dispatch by fd type.
namespace req {
// Container fd (/dev/vfio/vfio).
inline constexpr unsigned long get_api_version = io_request(0);
inline constexpr unsigned long check_extension = io_request(1);  // extension passed by value
inline constexpr unsigned long set_iommu = io_request(2);        // IOMMU type passed by value
// Group fd (/dev/vfio/$GROUP).
inline constexpr unsigned long group_get_status = io_request(3);
inline constexpr unsigned long group_set_container = io_request(4);  // takes int* to the fd
inline constexpr unsigned long group_unset_container = io_request(5);
inline constexpr unsigned long group_get_device_fd = io_request(6);  // takes a NUL-terminated name
// Device fd.
inline constexpr unsigned long device_get_info = io_request(7);
inline constexpr unsigned long device_get_region_info = io_request(8);
inline constexpr unsigned long device_get_irq_info = io_request(9);
inline constexpr unsigned long device_set_irqs = io_request(10);
inline constexpr unsigned long device_reset = io_request(11);
inline constexpr unsigned long device_get_pci_hot_reset_info = io_request(12);
inline constexpr unsigned long device_pci_hot_reset = io_request(13);
inline constexpr unsigned long device_query_gfx_plane = io_request(14);
inline constexpr unsigned long device_get_gfx_dmabuf = io_request(15);
inline constexpr unsigned long device_ioeventfd = io_request(16);
inline constexpr unsigned long device_feature = io_request(17);
// cdev device fd (/dev/vfio/devices/vfioN), v6.6.
inline constexpr unsigned long device_bind_iommufd = io_request(18);
inline constexpr unsigned long device_attach_iommufd_pt = io_request(19);
inline constexpr unsigned long device_detach_iommufd_pt = io_request(20);
// Migration data fd (PRE_COPY states only); version unverified, arrived with PRE_COPY.
inline constexpr unsigned long mig_get_precopy_info = io_request(21);
// Container fd with a Type1 IOMMU.
inline constexpr unsigned long iommu_get_info = io_request(12);
inline constexpr unsigned long iommu_map_dma = io_request(13);
inline constexpr unsigned long iommu_unmap_dma = io_request(14);
inline constexpr unsigned long iommu_dirty_pages = io_request(17);
// Container fd with an SPAPR TCE IOMMU (numbers only; the structs are not mirrored).
inline constexpr unsigned long iommu_spapr_tce_get_info = io_request(12);
inline constexpr unsigned long iommu_enable = io_request(15);
inline constexpr unsigned long iommu_disable = io_request(16);
inline constexpr unsigned long iommu_spapr_register_memory = io_request(17);
inline constexpr unsigned long iommu_spapr_unregister_memory = io_request(18);
inline constexpr unsigned long iommu_spapr_tce_create = io_request(19);
inline constexpr unsigned long iommu_spapr_tce_remove = io_request(20);
inline constexpr unsigned long eeh_pe_op = io_request(21);
}  // namespace req

static_assert(req::get_api_version == (ioctl_dir_none | 0x3B64UL));
static_assert(req::device_feature == (ioctl_dir_none | 0x3B75UL));
static_assert(req::iommu_map_dma == req::device_pci_hot_reset);
#if !(defined(__powerpc__) || defined(__mips__) || defined(__sparc__) || defined(__alpha__))
static_assert(req::get_api_version == 0x3B64UL);
static_assert(req::check_extension == 0x3B65UL);
static_assert(req::group_get_device_fd == 0x3B6AUL);
static_assert(req::device_get_info == 0x3B6BUL);
static_assert(req::device_set_irqs == 0x3B6EUL);
static_assert(req::iommu_get_info == 0x3B70UL);
static_assert(req::device_feature == 0x3B75UL);
static_assert(req::device_detach_iommufd_pt == 0x3B78UL);
static_assert(req::mig_get_precopy_info == 0x3B79UL);
#endif

// CHECK_EXTENSION / SET_IOMMU arguments.
namespace extension {
inline constexpr std::uint32_t type1_iommu = 1;
inline constexpr std::uint32_t spapr_tce_iommu = 2;
inline constexpr std::uint32_t type1v2_iommu = 3;
inline constexpr std::uint32_t dma_cc_iommu = 4;  // IOMMU enforces cache coherence
inline constexpr std::uint32_t eeh = 5;
// Renamed __VFIO_RESERVED_TYPE1_NESTING_IOMMU upstream (version unverified): no longer
// reported by CHECK_EXTENSION, still accepted by SET_IOMMU as type1v2.
inline constexpr std::uint32_t type1_nesting_iommu = 6;
inline constexpr std::uint32_t spapr_tce_v2_iommu = 7;
inline constexpr std::uint32_t noiommu_iommu = 8;
inline constexpr std::uint32_t unmap_all = 9;      // dma_unmap_flags::all (version unverified)
inline constexpr std::uint32_t update_vaddr = 10;  // *_flags::vaddr (version unverified); 0 from iommufd compat
}  // namespace extension

// Header of every capability in an INFO capability chain. `next` and the info struct's
// `cap_offset` are offsets from the start of the info buffer; 0 ends the chain.
struct info_cap_header {
  std::uint16_t id;
  std::uint16_t version;
  std::uint32_t next;
};

// ---------------------------------------------------------------------------------------
// Group

// vfio_group_status flags.
namespace group_flags {
inline constexpr std::uint32_t viable = 1U << 0;
inline constexpr std::uint32_t container_set = 1U << 1;
}  // namespace group_flags

// vfio_group_status: GROUP_GET_STATUS argument.
struct group_status {
  std::uint32_t argsz;
  std::uint32_t flags;
};

// ---------------------------------------------------------------------------------------
// Device info

// vfio_device_info flags.
namespace device_flags {
inline constexpr std::uint32_t reset = 1U << 0;
inline constexpr std::uint32_t pci = 1U << 1;
inline constexpr std::uint32_t platform = 1U << 2;
inline constexpr std::uint32_t amba = 1U << 3;
inline constexpr std::uint32_t ccw = 1U << 4;
inline constexpr std::uint32_t ap = 1U << 5;
inline constexpr std::uint32_t fsl_mc = 1U << 6;
inline constexpr std::uint32_t caps = 1U << 7;
inline constexpr std::uint32_t cdx = 1U << 8;  // not in 6.1 headers (version unverified)
}  // namespace device_flags

// vfio_device_info: DEVICE_GET_INFO argument. The upstream 24-byte layout (`pad` added in
// v6.6 with "vfio: align capability structures"); 6.1 headers stop at 20. The kernel's
// minsz is 16 (through num_irqs) and cap_offset is filled once argsz >= 20; since v6.6 it
// copies min(argsz, 24). Passing 24 is safe on every kernel.
struct device_info {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t num_regions;
  std::uint32_t num_irqs;
  std::uint32_t cap_offset;
  std::uint32_t pad;
};

// vfio_device_info capability ids.
namespace device_info_cap {
inline constexpr std::uint16_t zpci_base = 1;  // s390 zPCI (see vfio_zdev.h)
inline constexpr std::uint16_t zpci_group = 2;
inline constexpr std::uint16_t zpci_util = 3;
inline constexpr std::uint16_t zpci_pfip = 4;
inline constexpr std::uint16_t pci_atomic_comp = 5;  // not in 6.1 headers (version unverified)
}  // namespace device_info_cap

// device_info_cap_pci_atomic_comp flags: AtomicOp completion widths supported to the root.
namespace atomic_comp_flags {
inline constexpr std::uint32_t comp32 = 1U << 0;
inline constexpr std::uint32_t comp64 = 1U << 1;
inline constexpr std::uint32_t comp128 = 1U << 2;
}  // namespace atomic_comp_flags

// vfio_device_info_cap_pci_atomic_comp (version unverified).
struct device_info_cap_pci_atomic_comp {
  info_cap_header header;
  std::uint32_t flags;
  std::uint32_t reserved;
};

// ---------------------------------------------------------------------------------------
// Regions

// vfio_region_info flags.
namespace region_flags {
inline constexpr std::uint32_t read = 1U << 0;
inline constexpr std::uint32_t write = 1U << 1;
inline constexpr std::uint32_t mmap = 1U << 2;
inline constexpr std::uint32_t caps = 1U << 3;
}  // namespace region_flags

// vfio_region_info: DEVICE_GET_REGION_INFO argument. Always use `offset` as the pread/
// pwrite/mmap offset; the kernel's index << 40 encoding is internal.
struct region_info {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t index;
  std::uint32_t cap_offset;
  alignas(8) std::uint64_t size;
  alignas(8) std::uint64_t offset;
};

// vfio_region_info capability ids.
namespace region_cap {
inline constexpr std::uint16_t sparse_mmap = 1;
inline constexpr std::uint16_t type = 2;
inline constexpr std::uint16_t msix_mappable = 3;   // header only
inline constexpr std::uint16_t nvlink2_ssatgt = 4;  // deprecated, no longer provided
inline constexpr std::uint16_t nvlink2_lnkspd = 5;  // deprecated, no longer provided
}  // namespace region_cap

// vfio_region_sparse_mmap_area: one mmap-able window of a region.
struct sparse_mmap_area {
  alignas(8) std::uint64_t offset;
  alignas(8) std::uint64_t size;
};

// vfio_region_info_cap_sparse_mmap header; nr_areas sparse_mmap_area follow at +16.
struct alignas(8) region_info_cap_sparse_mmap {
  info_cap_header header;
  std::uint32_t nr_areas;
  std::uint32_t reserved;
};

// vfio_region_info_cap_type: type/subtype of a device-specific region (index >= 9 on PCI).
struct region_info_cap_type {
  info_cap_header header;
  std::uint32_t type;
  std::uint32_t subtype;
};

// vfio_region_info_cap_nvlink2_ssatgt (deprecated).
struct region_info_cap_nvlink2_ssatgt {
  info_cap_header header;
  alignas(8) std::uint64_t tgt;
};

// vfio_region_info_cap_nvlink2_lnkspd (deprecated; the kernel names the pad `__pad`).
struct region_info_cap_nvlink2_lnkspd {
  info_cap_header header;
  std::uint32_t link_speed;
  std::uint32_t pad;
};

// region_info_cap_type::type values.
namespace region_type {
inline constexpr std::uint32_t pci_vendor_type = 1U << 31;  // | PCI vendor id
inline constexpr std::uint32_t pci_vendor_mask = 0xffff;
inline constexpr std::uint32_t gfx = 1;
inline constexpr std::uint32_t ccw = 2;
inline constexpr std::uint32_t migration_deprecated = 3;
// The type of a vendor-specific PCI region, e.g. pci_vendor(0x8086) for Intel IGD.
constexpr std::uint32_t pci_vendor(std::uint16_t vendor_id) noexcept { return pci_vendor_type | vendor_id; }
}  // namespace region_type

// region_info_cap_type::subtype values, per type.
namespace region_subtype {
inline constexpr std::uint32_t intel_igd_opregion = 1;  // pci_vendor(0x8086)
inline constexpr std::uint32_t intel_igd_host_cfg = 2;
inline constexpr std::uint32_t intel_igd_lpc_cfg = 3;
inline constexpr std::uint32_t nvidia_nvlink2_ram = 1;  // pci_vendor(0x10de), deprecated
inline constexpr std::uint32_t ibm_nvlink2_atsd = 1;    // pci_vendor(0x1014), deprecated
inline constexpr std::uint32_t gfx_edid = 1;            // region_type::gfx
inline constexpr std::uint32_t ccw_async_cmd = 1;       // region_type::ccw
inline constexpr std::uint32_t ccw_schib = 2;
inline constexpr std::uint32_t ccw_crw = 3;
inline constexpr std::uint32_t migration_deprecated = 1;  // region_type::migration_deprecated
}  // namespace region_subtype

// vfio_region_gfx_edid: layout of the GFX_EDID region.
struct region_gfx_edid {
  std::uint32_t edid_offset;
  std::uint32_t edid_max_size;
  std::uint32_t edid_size;
  std::uint32_t max_xres;
  std::uint32_t max_yres;
  std::uint32_t link_state;
};

// region_gfx_edid::link_state values.
namespace gfx_link_state {
inline constexpr std::uint32_t up = 1;
inline constexpr std::uint32_t down = 2;
}  // namespace gfx_link_state

// Fixed vfio-pci region indexes; indexes >= count are device-specific (see region_cap::type).
namespace pci_region {
inline constexpr std::uint32_t bar0 = 0;
inline constexpr std::uint32_t bar1 = 1;
inline constexpr std::uint32_t bar2 = 2;
inline constexpr std::uint32_t bar3 = 3;
inline constexpr std::uint32_t bar4 = 4;
inline constexpr std::uint32_t bar5 = 5;
inline constexpr std::uint32_t rom = 6;
inline constexpr std::uint32_t config = 7;
inline constexpr std::uint32_t vga = 8;
inline constexpr std::uint32_t count = 9;
}  // namespace pci_region

// ---------------------------------------------------------------------------------------
// IRQs

// vfio_irq_info flags.
namespace irq_info_flags {
inline constexpr std::uint32_t eventfd = 1U << 0;
inline constexpr std::uint32_t maskable = 1U << 1;
inline constexpr std::uint32_t automasked = 1U << 2;  // level-triggered: unmask after each
inline constexpr std::uint32_t noresize = 1U << 3;    // vectors enabled as a set
}  // namespace irq_info_flags

// vfio_irq_info: DEVICE_GET_IRQ_INFO argument.
struct irq_info {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t index;
  std::uint32_t count;
};

// vfio_irq_set flags: one DATA_* and one ACTION_*.
namespace irq_set_flags {
inline constexpr std::uint32_t data_none = 1U << 0;
inline constexpr std::uint32_t data_bool = 1U << 1;     // data is u8[count]
inline constexpr std::uint32_t data_eventfd = 1U << 2;  // data is s32[count], -1 to unset
inline constexpr std::uint32_t action_mask = 1U << 3;
inline constexpr std::uint32_t action_unmask = 1U << 4;
inline constexpr std::uint32_t action_trigger = 1U << 5;
inline constexpr std::uint32_t data_type_mask = data_none | data_bool | data_eventfd;
inline constexpr std::uint32_t action_type_mask = action_mask | action_unmask | action_trigger;
}  // namespace irq_set_flags

// vfio_irq_set header: DEVICE_SET_IRQS argument; the data array follows at +20.
struct irq_set {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t index;
  std::uint32_t start;
  std::uint32_t count;
};

// Fixed vfio-pci IRQ indexes.
namespace pci_irq {
inline constexpr std::uint32_t intx = 0;
inline constexpr std::uint32_t msi = 1;
inline constexpr std::uint32_t msix = 2;
inline constexpr std::uint32_t err = 3;  // PCIe AER only
inline constexpr std::uint32_t req = 4;  // device release request
inline constexpr std::uint32_t count = 5;
}  // namespace pci_irq

// ---------------------------------------------------------------------------------------
// PCI hot reset

// vfio_pci_hot_reset_info flags, for cdev-opened devices (v6.6).
namespace hot_reset_flags {
inline constexpr std::uint32_t dev_id = 1U << 0;        // entries carry devid, not group_id
inline constexpr std::uint32_t dev_id_owned = 1U << 1;  // caller owns every affected device
}  // namespace hot_reset_flags

// pci_dependent_device::devid special values (v6.6). The kernel spells not_owned as -1.
namespace pci_devid {
inline constexpr std::uint32_t owned = 0;
inline constexpr std::uint32_t not_owned = 0xffffffffU;
}  // namespace pci_devid

// vfio_pci_dependent_device: one device affected by a hot reset (6.1 headers have no union).
struct pci_dependent_device {
  union {
    std::uint32_t group_id;
    std::uint32_t devid;
  };
  std::uint16_t segment;
  std::uint8_t bus;
  std::uint8_t devfn;
};

// vfio_pci_hot_reset_info header; `count` pci_dependent_device follow at +12.
// -ENOSPC when too small, with count filled in.
struct pci_hot_reset_info {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t count;
};

// vfio_pci_hot_reset header; `count` s32 group fds follow at +12 (none for cdev).
struct pci_hot_reset {
  std::uint32_t argsz;
  std::uint32_t flags;  // must be 0
  std::uint32_t count;
};

// ---------------------------------------------------------------------------------------
// Mediated graphics

// vfio_device_gfx_plane_info flags.
namespace gfx_plane_type {
inline constexpr std::uint32_t probe = 1U << 0;
inline constexpr std::uint32_t dmabuf = 1U << 1;
inline constexpr std::uint32_t region = 1U << 2;
}  // namespace gfx_plane_type

// vfio_device_gfx_plane_info: DEVICE_QUERY_GFX_PLANE argument.
struct device_gfx_plane_info {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t drm_plane_type;
  std::uint32_t drm_format;
  alignas(8) std::uint64_t drm_format_mod;
  std::uint32_t width;
  std::uint32_t height;
  std::uint32_t stride;
  std::uint32_t size;
  std::uint32_t x_pos;
  std::uint32_t y_pos;
  std::uint32_t x_hot;
  std::uint32_t y_hot;
  union {
    std::uint32_t region_index;
    std::uint32_t dmabuf_id;
  };
  std::uint32_t reserved;
};

// ---------------------------------------------------------------------------------------
// IOEVENTFD

// vfio_device_ioeventfd flags: the width of the write.
namespace ioeventfd_flags {
inline constexpr std::uint32_t size_8 = 1U << 0;
inline constexpr std::uint32_t size_16 = 1U << 1;
inline constexpr std::uint32_t size_32 = 1U << 2;
inline constexpr std::uint32_t size_64 = 1U << 3;  // -EINVAL only without iowrite64 (not x86)
inline constexpr std::uint32_t size_mask = 0xf;
}  // namespace ioeventfd_flags

// vfio_device_ioeventfd: DEVICE_IOEVENTFD argument; fd -1 de-assigns.
struct device_ioeventfd {
  std::uint32_t argsz;
  std::uint32_t flags;
  alignas(8) std::uint64_t offset;
  alignas(8) std::uint64_t data;
  std::int32_t fd;
  std::uint32_t reserved;
};

// ---------------------------------------------------------------------------------------
// cdev / iommufd (v6.6)

// vfio_device_bind_iommufd flags.
namespace bind_flags {
inline constexpr std::uint32_t token = 1U << 0;  // token_uuid_ptr valid; not in 6.12 (about v6.17)
}  // namespace bind_flags

// vfio_device_bind_iommufd: DEVICE_BIND_IOMMUFD argument. token_uuid_ptr and the token
// flag are not in 6.12; they came with "vfio/pci: Do vf_token checks for
// VFIO_DEVICE_BIND_IOMMUFD" (commit 86624ba3b522, July 2025, so about v6.17; version
// inferred). The kernel's minsz ends at out_devid (16): 6.12 reads 16 bytes and ignores
// the rest; the token kernels read argsz bytes with copy_struct_from_user, and until the
// fix 2f03f21fe751 (backported to 6.18 stable) they read only 16 of them and answer a
// non-zero token_uuid_ptr with -E2BIG.
struct device_bind_iommufd {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::int32_t iommufd;
  std::uint32_t out_devid;
  alignas(8) std::uint64_t token_uuid_ptr;
};

// vfio_device_attach_iommufd_pt flags.
namespace attach_flags {
inline constexpr std::uint32_t pasid = 1U << 0;  // not in 6.12 (v6.15, version unverified)
}  // namespace attach_flags

// vfio_device_attach_iommufd_pt: DEVICE_ATTACH_IOMMUFD_PT argument; `pasid` is not in 6.12
// (v6.15, commit ad744ed5dd8b; version unverified) and is read only with
// attach_flags::pasid. 6.12 reads the first 12 bytes and ignores the rest.
struct device_attach_iommufd_pt {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t pt_id;
  std::uint32_t pasid;
};

// vfio_device_detach_iommufd_pt flags.
namespace detach_flags {
inline constexpr std::uint32_t pasid = 1U << 0;  // not in 6.12 (v6.15, version unverified)
}  // namespace detach_flags

// vfio_device_detach_iommufd_pt: DEVICE_DETACH_IOMMUFD_PT argument; `pasid` is not in 6.12
// (v6.15, version unverified) and is read only with detach_flags::pasid. 6.12 reads the
// first 8 bytes and ignores the rest.
struct device_detach_iommufd_pt {
  std::uint32_t argsz;
  std::uint32_t flags;
  std::uint32_t pasid;
};

// ---------------------------------------------------------------------------------------
// DEVICE_FEATURE

// vfio_device_feature flags: the low 16 bits select the feature.
namespace feature_flags {
inline constexpr std::uint32_t mask = 0xffff;
inline constexpr std::uint32_t get = 1U << 16;
inline constexpr std::uint32_t set = 1U << 17;
inline constexpr std::uint32_t probe = 1U << 18;
}  // namespace feature_flags

// vfio_device_feature header: DEVICE_FEATURE argument; the payload follows at +8.
struct device_feature {
  std::uint32_t argsz;
  std::uint32_t flags;
};

// Feature numbers (the feature_flags::mask part). Numbers >= 12 are not in a release:
// probe for them.
namespace feature_id {
inline constexpr std::uint32_t pci_vf_token = 0;                 // SET, 16-byte UUID; SR-IOV PFs only
inline constexpr std::uint32_t migration = 1;                    // GET, feature_migration
inline constexpr std::uint32_t mig_device_state = 2;             // GET/SET, feature_mig_state
inline constexpr std::uint32_t low_power_entry = 3;              // SET, no payload; v6.1
inline constexpr std::uint32_t low_power_entry_with_wakeup = 4;  // SET; v6.1
inline constexpr std::uint32_t low_power_exit = 5;               // SET, no payload; v6.1
inline constexpr std::uint32_t dma_logging_start = 6;            // SET; v6.1
inline constexpr std::uint32_t dma_logging_stop = 7;             // SET, no payload; v6.1
inline constexpr std::uint32_t dma_logging_report = 8;           // GET; v6.1
inline constexpr std::uint32_t mig_data_size = 9;                // GET; v6.2
inline constexpr std::uint32_t bus_master = 10;                  // SET, CDX only; about v6.7 (inferred)
inline constexpr std::uint32_t dma_buf = 11;                     // GET, returns a new fd; v6.19
}  // namespace feature_id

// feature_migration::flags. Type is the field's (__aligned_u64).
namespace migration_flags {
inline constexpr std::uint64_t stop_copy = 1U << 0;
inline constexpr std::uint64_t p2p = 1U << 1;
inline constexpr std::uint64_t pre_copy = 1U << 2;  // v6.2
}  // namespace migration_flags

// vfio_device_feature_migration: MIGRATION payload.
struct feature_migration {
  alignas(8) std::uint64_t flags;
};

// enum vfio_device_mig_state: feature_mig_state::device_state values.
namespace mig_device_state {
inline constexpr std::uint32_t error = 0;
inline constexpr std::uint32_t stop = 1;
inline constexpr std::uint32_t running = 2;
inline constexpr std::uint32_t stop_copy = 3;
inline constexpr std::uint32_t resuming = 4;
inline constexpr std::uint32_t running_p2p = 5;
inline constexpr std::uint32_t pre_copy = 6;      // v6.2
inline constexpr std::uint32_t pre_copy_p2p = 7;  // v6.2
}  // namespace mig_device_state

// vfio_device_feature_mig_state: MIG_DEVICE_STATE payload; data_fd is -1 on GET.
struct feature_mig_state {
  std::uint32_t device_state;
  std::int32_t data_fd;
};

// vfio_precopy_info: MIG_GET_PRECOPY_INFO argument (version unverified).
struct precopy_info {
  std::uint32_t argsz;
  std::uint32_t flags;
  alignas(8) std::uint64_t initial_bytes;
  alignas(8) std::uint64_t dirty_bytes;
};

// vfio_device_low_power_entry_with_wakeup: LOW_POWER_ENTRY_WITH_WAKEUP payload (v6.1).
struct feature_low_power_entry_with_wakeup {
  std::int32_t wakeup_eventfd;
  std::uint32_t reserved;
};

// vfio_device_feature_dma_logging_control: DMA_LOGGING_START payload (v6.1). `ranges` is
// the user address of num_ranges feature_dma_logging_range; the kernel names the
// reserved field `__reserved`.
struct feature_dma_logging_control {
  alignas(8) std::uint64_t page_size;
  std::uint32_t num_ranges;
  std::uint32_t reserved;
  alignas(8) std::uint64_t ranges;
};

// vfio_device_feature_dma_logging_range: one IOVA range to track (v6.1).
struct feature_dma_logging_range {
  alignas(8) std::uint64_t iova;
  alignas(8) std::uint64_t length;
};

// vfio_device_feature_dma_logging_report: DMA_LOGGING_REPORT payload (v6.1); `bitmap` is
// the user address of the u64 bitmap.
struct feature_dma_logging_report {
  alignas(8) std::uint64_t iova;
  alignas(8) std::uint64_t length;
  alignas(8) std::uint64_t page_size;
  alignas(8) std::uint64_t bitmap;
};

// vfio_device_feature_mig_data_size: MIG_DATA_SIZE payload (v6.2).
struct feature_mig_data_size {
  alignas(8) std::uint64_t stop_copy_length;
};

// feature_bus_master::op values.
namespace bus_master_op {
inline constexpr std::uint32_t clear_master = 0;
inline constexpr std::uint32_t set_master = 1;
}  // namespace bus_master_op

// vfio_device_feature_bus_master: BUS_MASTER payload (CDX devices).
struct feature_bus_master {
  std::uint32_t op;
};

// vfio_region_dma_range: one slice of a region exported as a dma-buf (v6.19).
struct dma_range {
  alignas(8) std::uint64_t offset;
  alignas(8) std::uint64_t length;
};

// vfio_device_feature_dma_buf header: DMA_BUF payload (v6.19); nr_ranges dma_range
// follow at +16. open_flags are open(2) flags; flags must be 0.
struct alignas(8) feature_dma_buf {
  std::uint32_t region_index;
  std::uint32_t open_flags;
  std::uint32_t flags;
  std::uint32_t nr_ranges;
};

// ---------------------------------------------------------------------------------------
// Type1 IOMMU (container fd)

// vfio_iommu_type1_info flags.
namespace iommu_info_flags {
inline constexpr std::uint32_t pgsizes = 1U << 0;
inline constexpr std::uint32_t caps = 1U << 1;
}  // namespace iommu_info_flags

// vfio_iommu_type1_info: IOMMU_GET_INFO argument.
struct iommu_type1_info {
  std::uint32_t argsz;
  std::uint32_t flags;
  alignas(8) std::uint64_t iova_pgsizes;
  std::uint32_t cap_offset;
  std::uint32_t pad;
};

// vfio_iommu_type1_info capability ids.
namespace iommu_cap {
inline constexpr std::uint16_t iova_range = 1;
inline constexpr std::uint16_t migration = 2;
inline constexpr std::uint16_t dma_avail = 3;
}  // namespace iommu_cap

// vfio_iova_range: one usable IOVA range, inclusive of `end`.
struct iova_range {
  alignas(8) std::uint64_t start;
  alignas(8) std::uint64_t end;
};

// vfio_iommu_type1_info_cap_iova_range header; nr_iovas iova_range follow at +16.
struct alignas(8) iommu_type1_info_cap_iova_range {
  info_cap_header header;
  std::uint32_t nr_iovas;
  std::uint32_t reserved;
};

// vfio_iommu_type1_info_cap_migration: dirty-page tracking support of the IOMMU.
struct iommu_type1_info_cap_migration {
  info_cap_header header;
  std::uint32_t flags;
  alignas(8) std::uint64_t pgsize_bitmap;
  alignas(8) std::uint64_t max_dirty_bitmap_size;  // bytes
};

// vfio_iommu_type1_info_dma_avail: how many more DMA mappings are allowed.
struct iommu_type1_info_dma_avail {
  info_cap_header header;
  std::uint32_t avail;
};

// vfio_iommu_type1_dma_map flags.
namespace dma_map_flags {
inline constexpr std::uint32_t read = 1U << 0;   // device may read
inline constexpr std::uint32_t write = 1U << 1;  // device may write
inline constexpr std::uint32_t vaddr = 1U << 2;  // update the vaddr of an existing mapping
}  // namespace dma_map_flags

// vfio_iommu_type1_dma_map: IOMMU_MAP_DMA argument.
struct iommu_type1_dma_map {
  std::uint32_t argsz;
  std::uint32_t flags;
  alignas(8) std::uint64_t vaddr;
  alignas(8) std::uint64_t iova;
  alignas(8) std::uint64_t size;
};

// vfio_iommu_type1_dma_unmap flags.
namespace dma_unmap_flags {
inline constexpr std::uint32_t get_dirty_bitmap = 1U << 0;  // a bitmap follows the header
inline constexpr std::uint32_t all = 1U << 1;               // iova and size must be 0
inline constexpr std::uint32_t vaddr = 1U << 2;             // invalidate vaddr only, keep the mapping
}  // namespace dma_unmap_flags

// vfio_iommu_type1_dma_unmap header: IOMMU_UNMAP_DMA argument; `size` is written back with
// the amount unmapped. With get_dirty_bitmap a `bitmap` follows at +24.
struct iommu_type1_dma_unmap {
  std::uint32_t argsz;
  std::uint32_t flags;
  alignas(8) std::uint64_t iova;
  alignas(8) std::uint64_t size;
};

// vfio_bitmap: a user dirty bitmap. `data` is its user address (a `__u64 *` in the kernel
// header; an integer here, like dma_map.vaddr, so the layout is the same on every target).
struct bitmap {
  alignas(8) std::uint64_t pgsize;
  alignas(8) std::uint64_t size;  // bytes
  alignas(8) std::uint64_t data;
};

// vfio_iommu_type1_dirty_bitmap flags: exactly one per call.
namespace dirty_pages_flags {
inline constexpr std::uint32_t start = 1U << 0;
inline constexpr std::uint32_t stop = 1U << 1;
inline constexpr std::uint32_t get_bitmap = 1U << 2;  // an iommu_type1_dirty_bitmap_get follows
}  // namespace dirty_pages_flags

// vfio_iommu_type1_dirty_bitmap header: IOMMU_DIRTY_PAGES argument; data follows at +8.
struct iommu_type1_dirty_bitmap {
  std::uint32_t argsz;
  std::uint32_t flags;
};

// vfio_iommu_type1_dirty_bitmap_get: the dirty_pages_flags::get_bitmap payload.
struct iommu_type1_dirty_bitmap_get {
  alignas(8) std::uint64_t iova;
  alignas(8) std::uint64_t size;
  abi::bitmap bitmap;
};

// ---------------------------------------------------------------------------------------
// The seed series' power-management ABI ("[PATCH v3 8/8] vfio/pci: Add the support for PCI
// D3cold state", 2022-04). Never merged: v6.1 merged LOW_POWER_ENTRY/_WITH_WAKEUP/EXIT
// (feature_id 3..5) instead. On a merged kernel PROBE|GET of feature 3 is -EINVAL; on a
// kernel carrying the seed patch it succeeds.
namespace seed {

// Feature numbers of the seed ABI.
namespace feature_id {
inline constexpr std::uint32_t power_management = 3;  // GET and SET
}  // namespace feature_id

// feature_power_management::low_power_state values.
inline constexpr std::uint64_t low_power_state_exit = 0;
inline constexpr std::uint64_t low_power_state_enter = 1;  // needed D3hot in PM_CTRL first

// vfio_device_feature_power_management: the seed's POWER_MANAGEMENT payload.
struct feature_power_management {
  alignas(8) std::uint64_t low_power_state;
};

}  // namespace seed

// ---------------------------------------------------------------------------------------
// Layout checks: the kernel's sizes and offsets on 64-bit targets.

static_assert(sizeof(info_cap_header) == 8);
static_assert(alignof(info_cap_header) == 4);
static_assert(offsetof(info_cap_header, id) == 0);
static_assert(offsetof(info_cap_header, version) == 2);
static_assert(offsetof(info_cap_header, next) == 4);

static_assert(sizeof(group_status) == 8);
static_assert(alignof(group_status) == 4);
static_assert(offsetof(group_status, argsz) == 0);
static_assert(offsetof(group_status, flags) == 4);

static_assert(sizeof(device_info) == 24);
static_assert(alignof(device_info) == 4);
static_assert(offsetof(device_info, argsz) == 0);
static_assert(offsetof(device_info, flags) == 4);
static_assert(offsetof(device_info, num_regions) == 8);
static_assert(offsetof(device_info, num_irqs) == 12);
static_assert(offsetof(device_info, cap_offset) == 16);
static_assert(offsetof(device_info, pad) == 20);

static_assert(sizeof(device_info_cap_pci_atomic_comp) == 16);
static_assert(alignof(device_info_cap_pci_atomic_comp) == 4);
static_assert(offsetof(device_info_cap_pci_atomic_comp, header) == 0);
static_assert(offsetof(device_info_cap_pci_atomic_comp, flags) == 8);
static_assert(offsetof(device_info_cap_pci_atomic_comp, reserved) == 12);

static_assert(sizeof(region_info) == 32);
static_assert(alignof(region_info) == 8);
static_assert(offsetof(region_info, argsz) == 0);
static_assert(offsetof(region_info, flags) == 4);
static_assert(offsetof(region_info, index) == 8);
static_assert(offsetof(region_info, cap_offset) == 12);
static_assert(offsetof(region_info, size) == 16);
static_assert(offsetof(region_info, offset) == 24);

static_assert(sizeof(sparse_mmap_area) == 16);
static_assert(alignof(sparse_mmap_area) == 8);
static_assert(offsetof(sparse_mmap_area, offset) == 0);
static_assert(offsetof(sparse_mmap_area, size) == 8);

static_assert(sizeof(region_info_cap_sparse_mmap) == 16);
static_assert(alignof(region_info_cap_sparse_mmap) == 8);
static_assert(offsetof(region_info_cap_sparse_mmap, header) == 0);
static_assert(offsetof(region_info_cap_sparse_mmap, nr_areas) == 8);
static_assert(offsetof(region_info_cap_sparse_mmap, reserved) == 12);

static_assert(sizeof(region_info_cap_type) == 16);
static_assert(alignof(region_info_cap_type) == 4);
static_assert(offsetof(region_info_cap_type, header) == 0);
static_assert(offsetof(region_info_cap_type, type) == 8);
static_assert(offsetof(region_info_cap_type, subtype) == 12);

static_assert(sizeof(region_info_cap_nvlink2_ssatgt) == 16);
static_assert(alignof(region_info_cap_nvlink2_ssatgt) == 8);
static_assert(offsetof(region_info_cap_nvlink2_ssatgt, header) == 0);
static_assert(offsetof(region_info_cap_nvlink2_ssatgt, tgt) == 8);

static_assert(sizeof(region_info_cap_nvlink2_lnkspd) == 16);
static_assert(alignof(region_info_cap_nvlink2_lnkspd) == 4);
static_assert(offsetof(region_info_cap_nvlink2_lnkspd, header) == 0);
static_assert(offsetof(region_info_cap_nvlink2_lnkspd, link_speed) == 8);
static_assert(offsetof(region_info_cap_nvlink2_lnkspd, pad) == 12);

static_assert(sizeof(region_gfx_edid) == 24);
static_assert(alignof(region_gfx_edid) == 4);
static_assert(offsetof(region_gfx_edid, edid_offset) == 0);
static_assert(offsetof(region_gfx_edid, edid_max_size) == 4);
static_assert(offsetof(region_gfx_edid, edid_size) == 8);
static_assert(offsetof(region_gfx_edid, max_xres) == 12);
static_assert(offsetof(region_gfx_edid, max_yres) == 16);
static_assert(offsetof(region_gfx_edid, link_state) == 20);

static_assert(sizeof(irq_info) == 16);
static_assert(alignof(irq_info) == 4);
static_assert(offsetof(irq_info, argsz) == 0);
static_assert(offsetof(irq_info, flags) == 4);
static_assert(offsetof(irq_info, index) == 8);
static_assert(offsetof(irq_info, count) == 12);

static_assert(sizeof(irq_set) == 20);
static_assert(alignof(irq_set) == 4);
static_assert(offsetof(irq_set, argsz) == 0);
static_assert(offsetof(irq_set, flags) == 4);
static_assert(offsetof(irq_set, index) == 8);
static_assert(offsetof(irq_set, start) == 12);
static_assert(offsetof(irq_set, count) == 16);

static_assert(sizeof(pci_dependent_device) == 8);
static_assert(alignof(pci_dependent_device) == 4);
static_assert(offsetof(pci_dependent_device, group_id) == 0);
static_assert(offsetof(pci_dependent_device, devid) == 0);
static_assert(offsetof(pci_dependent_device, segment) == 4);
static_assert(offsetof(pci_dependent_device, bus) == 6);
static_assert(offsetof(pci_dependent_device, devfn) == 7);

static_assert(sizeof(pci_hot_reset_info) == 12);
static_assert(alignof(pci_hot_reset_info) == 4);
static_assert(offsetof(pci_hot_reset_info, argsz) == 0);
static_assert(offsetof(pci_hot_reset_info, flags) == 4);
static_assert(offsetof(pci_hot_reset_info, count) == 8);

static_assert(sizeof(pci_hot_reset) == 12);
static_assert(alignof(pci_hot_reset) == 4);
static_assert(offsetof(pci_hot_reset, argsz) == 0);
static_assert(offsetof(pci_hot_reset, flags) == 4);
static_assert(offsetof(pci_hot_reset, count) == 8);

static_assert(sizeof(device_gfx_plane_info) == 64);
static_assert(alignof(device_gfx_plane_info) == 8);
static_assert(offsetof(device_gfx_plane_info, argsz) == 0);
static_assert(offsetof(device_gfx_plane_info, flags) == 4);
static_assert(offsetof(device_gfx_plane_info, drm_plane_type) == 8);
static_assert(offsetof(device_gfx_plane_info, drm_format) == 12);
static_assert(offsetof(device_gfx_plane_info, drm_format_mod) == 16);
static_assert(offsetof(device_gfx_plane_info, width) == 24);
static_assert(offsetof(device_gfx_plane_info, height) == 28);
static_assert(offsetof(device_gfx_plane_info, stride) == 32);
static_assert(offsetof(device_gfx_plane_info, size) == 36);
static_assert(offsetof(device_gfx_plane_info, x_pos) == 40);
static_assert(offsetof(device_gfx_plane_info, y_pos) == 44);
static_assert(offsetof(device_gfx_plane_info, x_hot) == 48);
static_assert(offsetof(device_gfx_plane_info, y_hot) == 52);
static_assert(offsetof(device_gfx_plane_info, region_index) == 56);
static_assert(offsetof(device_gfx_plane_info, dmabuf_id) == 56);
static_assert(offsetof(device_gfx_plane_info, reserved) == 60);

static_assert(sizeof(device_ioeventfd) == 32);
static_assert(alignof(device_ioeventfd) == 8);
static_assert(offsetof(device_ioeventfd, argsz) == 0);
static_assert(offsetof(device_ioeventfd, flags) == 4);
static_assert(offsetof(device_ioeventfd, offset) == 8);
static_assert(offsetof(device_ioeventfd, data) == 16);
static_assert(offsetof(device_ioeventfd, fd) == 24);
static_assert(offsetof(device_ioeventfd, reserved) == 28);

static_assert(sizeof(device_bind_iommufd) == 24);
static_assert(alignof(device_bind_iommufd) == 8);
static_assert(offsetof(device_bind_iommufd, argsz) == 0);
static_assert(offsetof(device_bind_iommufd, flags) == 4);
static_assert(offsetof(device_bind_iommufd, iommufd) == 8);
static_assert(offsetof(device_bind_iommufd, out_devid) == 12);
static_assert(offsetof(device_bind_iommufd, token_uuid_ptr) == 16);

static_assert(sizeof(device_attach_iommufd_pt) == 16);
static_assert(alignof(device_attach_iommufd_pt) == 4);
static_assert(offsetof(device_attach_iommufd_pt, argsz) == 0);
static_assert(offsetof(device_attach_iommufd_pt, flags) == 4);
static_assert(offsetof(device_attach_iommufd_pt, pt_id) == 8);
static_assert(offsetof(device_attach_iommufd_pt, pasid) == 12);

static_assert(sizeof(device_detach_iommufd_pt) == 12);
static_assert(alignof(device_detach_iommufd_pt) == 4);
static_assert(offsetof(device_detach_iommufd_pt, argsz) == 0);
static_assert(offsetof(device_detach_iommufd_pt, flags) == 4);
static_assert(offsetof(device_detach_iommufd_pt, pasid) == 8);

static_assert(sizeof(device_feature) == 8);
static_assert(alignof(device_feature) == 4);
static_assert(offsetof(device_feature, argsz) == 0);
static_assert(offsetof(device_feature, flags) == 4);

static_assert(sizeof(feature_migration) == 8);
static_assert(alignof(feature_migration) == 8);
static_assert(offsetof(feature_migration, flags) == 0);

static_assert(sizeof(feature_mig_state) == 8);
static_assert(alignof(feature_mig_state) == 4);
static_assert(offsetof(feature_mig_state, device_state) == 0);
static_assert(offsetof(feature_mig_state, data_fd) == 4);

static_assert(sizeof(precopy_info) == 24);
static_assert(alignof(precopy_info) == 8);
static_assert(offsetof(precopy_info, argsz) == 0);
static_assert(offsetof(precopy_info, flags) == 4);
static_assert(offsetof(precopy_info, initial_bytes) == 8);
static_assert(offsetof(precopy_info, dirty_bytes) == 16);

static_assert(sizeof(feature_low_power_entry_with_wakeup) == 8);
static_assert(alignof(feature_low_power_entry_with_wakeup) == 4);
static_assert(offsetof(feature_low_power_entry_with_wakeup, wakeup_eventfd) == 0);
static_assert(offsetof(feature_low_power_entry_with_wakeup, reserved) == 4);

static_assert(sizeof(feature_dma_logging_control) == 24);
static_assert(alignof(feature_dma_logging_control) == 8);
static_assert(offsetof(feature_dma_logging_control, page_size) == 0);
static_assert(offsetof(feature_dma_logging_control, num_ranges) == 8);
static_assert(offsetof(feature_dma_logging_control, reserved) == 12);
static_assert(offsetof(feature_dma_logging_control, ranges) == 16);

static_assert(sizeof(feature_dma_logging_range) == 16);
static_assert(alignof(feature_dma_logging_range) == 8);
static_assert(offsetof(feature_dma_logging_range, iova) == 0);
static_assert(offsetof(feature_dma_logging_range, length) == 8);

static_assert(sizeof(feature_dma_logging_report) == 32);
static_assert(alignof(feature_dma_logging_report) == 8);
static_assert(offsetof(feature_dma_logging_report, iova) == 0);
static_assert(offsetof(feature_dma_logging_report, length) == 8);
static_assert(offsetof(feature_dma_logging_report, page_size) == 16);
static_assert(offsetof(feature_dma_logging_report, bitmap) == 24);

static_assert(sizeof(feature_mig_data_size) == 8);
static_assert(alignof(feature_mig_data_size) == 8);
static_assert(offsetof(feature_mig_data_size, stop_copy_length) == 0);

static_assert(sizeof(feature_bus_master) == 4);
static_assert(alignof(feature_bus_master) == 4);
static_assert(offsetof(feature_bus_master, op) == 0);

static_assert(sizeof(dma_range) == 16);
static_assert(alignof(dma_range) == 8);
static_assert(offsetof(dma_range, offset) == 0);
static_assert(offsetof(dma_range, length) == 8);

static_assert(sizeof(feature_dma_buf) == 16);
static_assert(alignof(feature_dma_buf) == 8);
static_assert(offsetof(feature_dma_buf, region_index) == 0);
static_assert(offsetof(feature_dma_buf, open_flags) == 4);
static_assert(offsetof(feature_dma_buf, flags) == 8);
static_assert(offsetof(feature_dma_buf, nr_ranges) == 12);

static_assert(sizeof(iommu_type1_info) == 24);
static_assert(alignof(iommu_type1_info) == 8);
static_assert(offsetof(iommu_type1_info, argsz) == 0);
static_assert(offsetof(iommu_type1_info, flags) == 4);
static_assert(offsetof(iommu_type1_info, iova_pgsizes) == 8);
static_assert(offsetof(iommu_type1_info, cap_offset) == 16);
static_assert(offsetof(iommu_type1_info, pad) == 20);

static_assert(sizeof(iova_range) == 16);
static_assert(alignof(iova_range) == 8);
static_assert(offsetof(iova_range, start) == 0);
static_assert(offsetof(iova_range, end) == 8);

static_assert(sizeof(iommu_type1_info_cap_iova_range) == 16);
static_assert(alignof(iommu_type1_info_cap_iova_range) == 8);
static_assert(offsetof(iommu_type1_info_cap_iova_range, header) == 0);
static_assert(offsetof(iommu_type1_info_cap_iova_range, nr_iovas) == 8);
static_assert(offsetof(iommu_type1_info_cap_iova_range, reserved) == 12);

static_assert(sizeof(iommu_type1_info_cap_migration) == 32);
static_assert(alignof(iommu_type1_info_cap_migration) == 8);
static_assert(offsetof(iommu_type1_info_cap_migration, header) == 0);
static_assert(offsetof(iommu_type1_info_cap_migration, flags) == 8);
static_assert(offsetof(iommu_type1_info_cap_migration, pgsize_bitmap) == 16);
static_assert(offsetof(iommu_type1_info_cap_migration, max_dirty_bitmap_size) == 24);

static_assert(sizeof(iommu_type1_info_dma_avail) == 12);
static_assert(alignof(iommu_type1_info_dma_avail) == 4);
static_assert(offsetof(iommu_type1_info_dma_avail, header) == 0);
static_assert(offsetof(iommu_type1_info_dma_avail, avail) == 8);

static_assert(sizeof(iommu_type1_dma_map) == 32);
static_assert(alignof(iommu_type1_dma_map) == 8);
static_assert(offsetof(iommu_type1_dma_map, argsz) == 0);
static_assert(offsetof(iommu_type1_dma_map, flags) == 4);
static_assert(offsetof(iommu_type1_dma_map, vaddr) == 8);
static_assert(offsetof(iommu_type1_dma_map, iova) == 16);
static_assert(offsetof(iommu_type1_dma_map, size) == 24);

static_assert(sizeof(iommu_type1_dma_unmap) == 24);
static_assert(alignof(iommu_type1_dma_unmap) == 8);
static_assert(offsetof(iommu_type1_dma_unmap, argsz) == 0);
static_assert(offsetof(iommu_type1_dma_unmap, flags) == 4);
static_assert(offsetof(iommu_type1_dma_unmap, iova) == 8);
static_assert(offsetof(iommu_type1_dma_unmap, size) == 16);

static_assert(sizeof(bitmap) == 24);
static_assert(alignof(bitmap) == 8);
static_assert(offsetof(bitmap, pgsize) == 0);
static_assert(offsetof(bitmap, size) == 8);
static_assert(offsetof(bitmap, data) == 16);

static_assert(sizeof(iommu_type1_dirty_bitmap) == 8);
static_assert(alignof(iommu_type1_dirty_bitmap) == 4);
static_assert(offsetof(iommu_type1_dirty_bitmap, argsz) == 0);
static_assert(offsetof(iommu_type1_dirty_bitmap, flags) == 4);

static_assert(sizeof(iommu_type1_dirty_bitmap_get) == 40);
static_assert(alignof(iommu_type1_dirty_bitmap_get) == 8);
static_assert(offsetof(iommu_type1_dirty_bitmap_get, iova) == 0);
static_assert(offsetof(iommu_type1_dirty_bitmap_get, size) == 8);
static_assert(offsetof(iommu_type1_dirty_bitmap_get, bitmap) == 16);

static_assert(sizeof(seed::feature_power_management) == 8);
static_assert(alignof(seed::feature_power_management) == 8);
static_assert(offsetof(seed::feature_power_management, low_power_state) == 0);

}  // namespace vfio::abi

#endif  // VFIO_ABI_VFIO_HPP_INCLUDED
