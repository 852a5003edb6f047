// Device DMA logging (VFIO_DEVICE_FEATURE DMA_LOGGING_START / STOP / REPORT,
// Linux 6.1+): the device itself records which pages of the given IOVA ranges it
// wrote, for the dirty-page passes of a live migration. Drivers with log_ops
// offer it (mlx5, pds, the mtty sample; vfio_ioctl_device_feature_logging_* in
// drivers/vfio/vfio_main.c); others answer ENOTTY.
//
// A report reads and clears the device's log for the bitmap's range
// (log_read_and_clear): each page is reported dirty once per write. The IOMMU's
// own tracking (type1's VFIO_IOMMU_DIRTY_PAGES) is <vfio/iommu_dirty_pages.hpp>;
// dirty_bitmap::merge combines the two.
#ifndef VFIO_DMA_LOGGING_HPP_INCLUDED
#define VFIO_DMA_LOGGING_HPP_INCLUDED

#include <cstdint>

#include "abi/vfio.hpp"
#include "device.hpp"
#include "dirty_bitmap.hpp"
#include "error.hpp"
#include "feature.hpp"
#include "result.hpp"
#include "span.hpp"

namespace vfio::dma_logging {

/// One IOVA range to track (vfio_device_feature_dma_logging_range).
using range = abi::feature_dma_logging_range;

/// VFIO_DEVICE_FEATURE SET DMA_LOGGING_START with `ranges` (passed by address,
/// not copied) and the page size wanted. Returns the page size the device tracks
/// with: the driver may change it (log_start writes page_size back; mlx5 picks one
/// its hardware supports), and reports must then use it.
/// Preconditions: ranges non-empty, each iova and length aligned to page_size and
/// no two overlapping; logging not started yet.
/// Errors: errc::invalid_argument (no range, or more than 2^32 - 1: no syscall);
/// errc::feature_unsupported (ENOTTY: no log_ops); EINVAL (no range, misaligned
/// or overlapping ranges; mlx5: already started); E2BIG (more ranges than fit a
/// kernel page: 256 on 4 KiB pages); EOVERFLOW (a range wraps); EFAULT; ENOMEM;
/// the driver's errnos. Operation "VFIO_DEVICE_FEATURE", subject feature 6.
inline result<std::uint64_t> start(const device& dev, span<const range> ranges, std::uint64_t page_size) noexcept {
  if (ranges.empty() || ranges.size() > UINT32_MAX)
    return error(errc::invalid_argument, "DMA logging range check", subject::feature(feature::dma_logging_start::id));
  abi::feature_dma_logging_control control{};
  control.page_size = page_size;
  control.num_ranges = static_cast<std::uint32_t>(ranges.size());
  control.ranges = reinterpret_cast<std::uintptr_t>(ranges.data());
  auto r = feature::set_inout<feature::dma_logging_start>(dev, control);
  if (!r) return r.error();
  return std::uint64_t{control.page_size};
}

/// VFIO_DEVICE_FEATURE SET DMA_LOGGING_STOP (no payload). Stopping a device that
/// does not log is not an error for the drivers in tree.
/// Errors: errc::feature_unsupported (ENOTTY); EIO; the driver's errnos.
inline result<void> stop(const device& dev) noexcept { return feature::set<feature::dma_logging_stop>(dev); }

/// VFIO_DEVICE_FEATURE GET DMA_LOGGING_REPORT of bitmap's range in bitmap's
/// page size, into bitmap (zeroed first: the kernel only sets bits). Reading
/// clears the device's log for that range.
/// Preconditions: logging started; bitmap created with the page size start()
/// returned (at least 4096), covering tracked ranges.
/// Errors: errc::invalid_argument (empty bitmap: no syscall); errc::feature_unsupported
/// (ENOTTY); EINVAL (page size below 4096 or not a power of two; mlx5: logging not
/// started); EOVERFLOW (iova + length wraps); EFAULT (the bitmap could not be
/// pinned); ENOMEM; the driver's errnos.
inline result<void> report(const device& dev, dirty_bitmap& bitmap) noexcept {
  if (!bitmap)
    return error(errc::invalid_argument, "dirty bitmap check", subject::feature(feature::dma_logging_report::id));
  bitmap.clear();
  abi::feature_dma_logging_report rep{};
  rep.iova = bitmap.iova();
  rep.length = bitmap.length();
  rep.page_size = bitmap.page_size();
  rep.bitmap = reinterpret_cast<std::uintptr_t>(bitmap.data());
  auto r = feature::get_inout<feature::dma_logging_report>(dev, rep);
  if (!r) return r.error();
  return {};
}

}  // namespace vfio::dma_logging

#endif  // VFIO_DMA_LOGGING_HPP_INCLUDED
