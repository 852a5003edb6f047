// What simulated_kernel's inspection calls return: the kinds of descriptor
// it hands out, where their numbers start, and the DMA mappings of a type1
// container or an iommufd IOAS. The model itself (sim/descriptors.hpp,
// sim/type1_iommu.hpp, sim/iommufd.hpp) keeps these records; a test reads
// them without including the model.
#ifndef VFIO_TESTING_SIM_INSPECTION_HPP_INCLUDED
#define VFIO_TESTING_SIM_INSPECTION_HPP_INCLUDED

#include <cstdint>
#include <vector>

namespace vfio::testing::sim {

/// The simulated kernel's descriptors are fake numbers from here up, so they
/// never collide with a test process's real descriptors.
inline constexpr int first_descriptor = 1000;

enum class descriptor_kind { container, group, device, eventfd, sysfs, iommufd, migration };

inline const char* to_string(descriptor_kind k) noexcept {
  switch (k) {
    case descriptor_kind::container: return "container";
    case descriptor_kind::group: return "group";
    case descriptor_kind::device: return "device";
    case descriptor_kind::eventfd: return "eventfd";
    case descriptor_kind::sysfs: return "sysfs";
    case descriptor_kind::iommufd: return "iommufd";
    case descriptor_kind::migration: return "migration";
  }
  return "?";
}

/// One DMA mapping as a type1 container records it.
struct dma_mapping {
  std::uint64_t iova = 0;
  std::uint64_t vaddr = 0;
  std::uint64_t size = 0;
  bool readable = false;  ///< device may read (VFIO_DMA_MAP_FLAG_READ)
  bool writable = false;  ///< device may write (VFIO_DMA_MAP_FLAG_WRITE)
  bool vaddr_invalid = false;
  /// vfio_dma::bitmap while dirty tracking is on: DIRTY_BITMAP_BYTES(pages) plus
  /// one u64 (vfio_dma_bitmap_alloc), in u64 words. update_user_bitmap shifts
  /// it in place, so bits past the mapping's pages survive between reports.
  std::vector<std::uint64_t> dirty;
};

/// One area of an iommufd IOAS: [iova, iova + length) maps the user memory at user_va.
struct ioas_mapping {
  std::uint64_t iova = 0;
  std::uint64_t length = 0;
  std::uint64_t user_va = 0;
  bool readable = false;        ///< IOMMU_IOAS_MAP_READABLE
  bool writable = false;        ///< IOMMU_IOAS_MAP_WRITEABLE
  bool pages_writable = false;  ///< the pages were pinned for writing (iopt_pages->writable)
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_INSPECTION_HPP_INCLUDED
