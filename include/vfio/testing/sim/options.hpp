// Settings of the simulated VFIO kernel: which kernel release it imitates
// (errnos and layouts that changed between releases), which low-power ABI
// vfio-pci offers, and the timings of runtime power management.
#ifndef VFIO_TESTING_SIM_OPTIONS_HPP_INCLUDED
#define VFIO_TESTING_SIM_OPTIONS_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../../abi/vfio.hpp"
#include "../callback.hpp"
#include "host_environment.hpp"

namespace vfio::testing::sim {

/// The kernel release whose behaviour the simulation reproduces. Only the
/// differences listed on each accessor below depend on it.
enum class kernel_version {
  v6_1,   ///< Debian 12's 6.1
  v6_12,  ///< Debian 12 backports' 6.12
  v7,     ///< 7.x (Debian 13 backports)
};

/// Which VFIO_DEVICE_FEATURE low-power ABI vfio-pci implements.
enum class low_power_dialect {
  merged,  ///< v6.1+: LOW_POWER_ENTRY (3), ENTRY_WITH_WAKEUP (4), EXIT (5)
  seed,    ///< "[PATCH v3 8/8] vfio/pci: Add the support for PCI D3cold state": POWER_MANAGEMENT (3)
};

inline const char* to_string(kernel_version v) noexcept {
  switch (v) {
    case kernel_version::v6_1: return "6.1";
    case kernel_version::v6_12: return "6.12";
    case kernel_version::v7: return "7.x";
  }
  return "?";
}

inline const char* to_string(low_power_dialect d) noexcept {
  switch (d) {
    case low_power_dialect::merged: return "merged";
    case low_power_dialect::seed: return "seed";
  }
  return "?";
}

struct kernel_options {
  kernel_version version = kernel_version::v6_12;
  low_power_dialect dialect = low_power_dialect::merged;

  /// Time from the runtime-PM put that lets a device idle to runtime_status
  /// "suspended" / power_state D3hot or D3cold. The real kernel queues the idle
  /// work (pm_runtime_put -> rpm_idle, RPM_ASYNC) and the PCI core's D0->D3hot
  /// write then sleeps PCI_PM_D3HOT_WAIT (10 ms, drivers/pci/pci.h); QEMU guests
  /// settle after about 14 ms. runtime_status reads "suspending" meanwhile.
  std::int64_t suspend_delay_ns = 14'000'000;
  /// Time a runtime resume takes. Resume is synchronous in the kernel
  /// (pm_runtime_resume_and_get waits in rpm_resume), so the call that wakes
  /// the device returns with runtime_status "active" and power_state D0; the
  /// virtual clock advances by this much during that call (QEMU: about 15 ms).
  std::int64_t resume_delay_ns = 15'000'000;
  /// PCI_PM_D3HOT_WAIT (drivers/pci/pci.h): the sleep pci_set_power_state makes
  /// when entering or leaving D3hot; charged to PM_CTRL writes and resets.
  std::int64_t d3hot_delay_ns = 10'000'000;
  /// Virtual time at construction (monotonic_ns starts here).
  std::int64_t start_ns = 1'000'000'000;
  /// What a sleep (syscalls::sleep_ns) does. true: it blocks the calling thread
  /// for that much real time without holding the simulated kernel, so that other
  /// threads' calls run meanwhile; the virtual clock then reads `ns` later.
  /// false: it moves the virtual clock `ns` ahead at once (firing the runtime-PM
  /// work that comes due on the way) and returns. A single-threaded test sees the
  /// same virtual times and makes the same calls either way, without the real
  /// wait: a settle loop polling sysfs every millisecond through a 14 ms runtime
  /// suspend then costs microseconds. Keep true where another thread must act
  /// while one sleeps. A poll with a timeout blocks for real either way (another
  /// thread may signal its eventfd).
  bool real_time_sleeps = true;

  /// Modules, IOMMU, the caller's permissions and RLIMIT_MEMLOCK.
  host_environment host;

  /// VFIO_IOMMU_GET_INFO iova_pgsizes. Intel VT-d under QEMU with second-level
  /// 2M/1G pages: 4K|2M|1G (unverified for every QEMU version; adjust to taste).
  std::uint64_t iova_pgsizes = 0x40201000ULL;
  /// Usable IOVA ranges (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE): the VT-d
  /// aperture (39 bits, QEMU's default aw-bits before 9.x) minus the x86 MSI
  /// window 0xfee00000-0xfeefffff (a reserved region of every IOMMU group).
  std::vector<abi::iova_range> iova_ranges = {{0x0ULL, 0xfedfffffULL}, {0xfef00000ULL, 0x7fffffffffULL}};
  /// vfio_iommu_type1.c dma_entry_limit module parameter (U16_MAX).
  unsigned dma_entry_limit = 65535;
  /// What VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) reports once an IOMMU is set
  /// (vfio_domains_have_iommu_cache); 0 before SET_IOMMU.
  bool dma_cache_coherent = true;

  /// What MAP_DMA's page pinning finds in the test process at [vaddr, vaddr +
  /// size) (vfio_pin_map_dma -> vfio_pin_pages_remote -> vaddr_get_pfns:
  /// pin_user_pages_remote with FOLL_WRITE when the device may write).
  /// Return 0 when every page is mapped readable, and writable too when
  /// `write`; otherwise the errno to fail with, negative (-EFAULT, as the
  /// kernel answers for an unmapped page or a write mapping of read-only
  /// memory on 6.1, 6.12 and 7.x). Empty (the default): the real process's
  /// mappings, read from /proc/self/maps at each MAP_DMA. Either way the
  /// simulated kernel's own mmaps (BAR mappings) are judged by the model
  /// itself: mapped with the prot given to mmap, and -EFAULT where the
  /// kernel would fault them (vfio_pci_mmap_fault: follow_fault_pfn fails).
  /// Reading /proc/self/maps costs tens of microseconds per MAP_DMA; a test
  /// that maps tens of thousands of ranges spends most of its time there
  /// unless it gives a predicate.
  callback<int(std::uint64_t vaddr, std::uint64_t size, bool write)> user_memory;

  /// How many calls simulated_kernel::trace() keeps: the most recent ones;
  /// older records are dropped (oldest first) and counted in trace_dropped().
  /// The default keeps every call of an ordinary test while bounding the
  /// memory of a long one (tests that map tens of thousands of DMA ranges) to
  /// about 7 MiB: a record is 104 bytes, plus its path when longer than 15. 0 records nothing (the sequence numbers
  /// still count every call); SIZE_MAX keeps every call. The kernel differential run does not use this trace (it
  /// records through tracing_syscalls).
  std::size_t trace_capacity = 65536;

  /// CONFIG_IOMMUFD: /dev/iommu (drivers/iommu/iommufd/, v6.2+). Debian's
  /// packaged 6.1, 6.12 and 7.x kernels are built without it, so it is off by
  /// default and the model answers as they do (ENOENT for the node). The
  /// project's own 6.12 build has it (see project_kernel()). Below v6.2 (the
  /// 6.1 setting) it has no effect: has_iommufd() stays false.
  bool iommufd = false;
  /// CONFIG_VFIO_DEVICE_CDEV (v6.6+, depends on CONFIG_IOMMUFD): the device
  /// nodes /dev/vfio/devices/vfioN, VFIO_DEVICE_BIND_IOMMUFD and
  /// ATTACH/DETACH_IOMMUFD_PT (drivers/vfio/device_cdev.c). Off by default as
  /// in Debian's kernels; no effect below v6.6 or without `iommufd`.
  /// The model also shows /sys/bus/pci/devices/<bdf>/vfio-dev/vfioN only with
  /// it. (The real kernel registers that class device for every VFIO device
  /// since v6.1, cdev or not: vfio_main.c vfio_device_add; the model keeps it
  /// behind this switch so that the traces recorded without it stay as they
  /// are. Finding the cdev therefore needs the node too, not only sysfs.)
  bool device_cdev = false;
  /// CONFIG_IOMMUFD_VFIO_CONTAINER (with CONFIG_VFIO_CONTAINER off): iommufd
  /// provides /dev/vfio/vfio, so every container is an iommufd context that
  /// answers the VFIO ioctls through its compatibility IOAS
  /// (drivers/iommu/iommufd/vfio_compat.c). No effect without `iommufd`.
  /// Independently of this switch, a /dev/iommu descriptor passed to
  /// VFIO_GROUP_SET_CONTAINER works the same way on every kernel with iommufd.
  bool iommufd_vfio_container = false;
  /// Whether the simulated IOMMU tracks dirty pages (IOMMU_CAP_DIRTY_TRACKING:
  /// intel_iommu_capable -> ssads_supported, second-stage A/D bits of
  /// scalable mode). QEMU's intel-iommu offers neither scalable-mode A/D nor
  /// the capability by default, so the default is false: HWPT_ALLOC with
  /// IOMMU_HWPT_ALLOC_DIRTY_TRACKING is EOPNOTSUPP and GET_HW_INFO reports no
  /// IOMMU_HW_CAP_DIRTY_TRACKING (the QEMU default inferred from its sources,
  /// not observed on every QEMU version).
  bool iommu_dirty_tracking = false;
  /// struct iommu_hw_info_vtd cap_reg / ecap_reg that IOMMU_GET_HW_INFO
  /// reports (intel_iommu_hw_info). The model does not derive them from the
  /// other settings; 0 unless a test sets them.
  std::uint64_t vtd_cap_reg = 0;
  std::uint64_t vtd_ecap_reg = 0;

  /// The seed patch returns a positive EINVAL (a bug in the patch: `ret =
  /// EINVAL;`) for a refused ENTER/EXIT, so ioctl(2) returns 22. false (the
  /// default) returns -EINVAL, the patch's evident intent; true reproduces the
  /// patch byte for byte.
  bool seed_positive_einval = false;

  // --- release-dependent behaviour ---

  /// VFIO_DEVICE_FEATURE for a driver without a device_feature op: -EINVAL
  /// before v6.18, -ENOTTY since ("vfio: return -ENOTTY for unsupported device
  /// feature", v6.18 pull). vfio_main.c: vfio_ioctl_device_feature.
  int feature_without_handler_errno() const noexcept { return version == kernel_version::v7 ? -ENOTTY : -EINVAL; }
  /// sizeof(struct vfio_device_info): 20 before v6.6, 24 since ("vfio: align
  /// capability structures" added `pad`).
  std::uint32_t device_info_size() const noexcept { return version == kernel_version::v6_1 ? 20U : 24U; }
  /// vfio_info_cap_add pads every capability to 8 bytes since v6.6.
  bool aligned_caps() const noexcept { return version != kernel_version::v6_1; }
  /// VFIO_GROUP_SET_CONTAINER with a descriptor that is not a container:
  /// -EINVAL in 6.1, -EBADFD since the iommufd support (v6.2; see the review
  /// "this changes the errno from -EINVAL to -EBADF ... EBADFD is the right error
  /// code", Oct 2022). group.c: vfio_group_ioctl_set_container.
  int set_container_foreign_fd_errno() const noexcept { return version == kernel_version::v6_1 ? -EINVAL : -EBADFD; }
  /// VFIO_TYPE1_NESTING_IOMMU is reported by CHECK_EXTENSION until "vfio:
  /// Remove VFIO_TYPE1_NESTING_IOMMU" (35890f85573c, posted as v4 on
  /// 2024-10-30, so v6.13; inferred from the posting date, unverified).
  bool reports_nesting() const noexcept { return version != kernel_version::v7; }
  /// MSI-X without VFIO_IRQ_INFO_NORESIZE: dynamic MSI-X (vfio-pci v6.5) when
  /// the platform's MSI domain can allocate at runtime (x86: assumed yes for
  /// 6.12 and later; unverified under QEMU's VT-d).
  bool dynamic_msix() const noexcept { return version != kernel_version::v6_1; }
  /// MAP_DMA / UNMAP_DMA / DIRTY_PAGES ranges whose end wraps around 2^64:
  /// -EINVAL until "vfio/type1: sanitize for overflow using
  /// check_*_overflow" (Alex Mastro, posted as v4 on 2025-10-12, so v6.19;
  /// inferred from the posting date) and -EOVERFLOW since. The same patch
  /// moves vfio_dma_do_map's wrap check ahead of the flag and alignment
  /// checks. vfio_iommu_type1.c: vfio_dma_do_map, vfio_dma_do_unmap,
  /// vfio_iommu_type1_dirty_pages. 6.1 and 6.12 answer EINVAL, 7.x EOVERFLOW
  /// (checked on Debian's kernels).
  bool dma_wrap_eoverflow() const noexcept { return version == kernel_version::v7; }
  /// /dev/iommu exists: `iommufd` asked for and the release has it (v6.2+:
  /// every release but 6.1).
  bool has_iommufd() const noexcept { return iommufd && version != kernel_version::v6_1; }
  /// Device cdevs exist: `device_cdev` asked for, iommufd present (Kconfig:
  /// VFIO_DEVICE_CDEV depends on IOMMUFD) and the release has them (v6.6+).
  bool has_device_cdev() const noexcept { return device_cdev && has_iommufd(); }
  /// /dev/vfio/vfio is iommufd's: `iommufd_vfio_container` asked for and iommufd present.
  bool has_iommufd_vfio_container() const noexcept { return iommufd_vfio_container && has_iommufd(); }

  /// The project's own 6.12 kernel: Debian's 6.12 sources built with
  /// CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV beside the legacy container
  /// (/dev/vfio/vfio stays vfio's own: CONFIG_IOMMUFD_VFIO_CONTAINER off).
  static kernel_options project_kernel() {
    kernel_options o;
    o.version = kernel_version::v6_12;
    o.iommufd = true;
    o.device_cdev = true;
    return o;
  }
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_OPTIONS_HPP_INCLUDED
