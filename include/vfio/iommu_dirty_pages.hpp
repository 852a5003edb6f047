// The type1 IOMMU's dirty-page tracking (VFIO_IOMMU_DIRTY_PAGES, and
// VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) on a container.
//
// Type1's rules (vfio_iommu_type1_dirty_pages, vfio_iova_dirty_bitmap,
// verify_bitmap_size in drivers/vfio/vfio_iommu_type1.c):
// - Type1v2 only: a Type1 (v1) container answers EACCES;
// - exactly one of START, STOP, GET_BITMAP per call; START and STOP may repeat;
// - GET_BITMAP: tracking started (else EINVAL), the bitmap's page size the
//   IOMMU's smallest (iommu_info::iova_pgsizes' lowest bit, also in
//   iommu_migration_info::pgsize_bitmap), iova and size aligned to it, size > 0,
//   the bitmap large enough and at most iommu_migration_info::max_dirty_bitmap_size,
//   and the range must not bisect a mapping: all EINVAL;
// - a device the IOMMU cannot track (every vfio-pci device: no page pinning)
//   makes every mapped page of the range dirty, on every report;
// - update_user_bitmap shifts a mapping's own bitmap in place when the mapping
//   does not start on a 64-page boundary of the report's range, and copies
//   whole u64 words over the caller's: the shifted bits stay and move further
//   on every later report (6.1, 6.12, 7.x with QEMU's edu: a one-page mapping at
//   page 3 of the range reads 0xb the first time, 0x5b the second). Bits can
//   so appear past the mapping, in pages of other mappings or holes, and past
//   the range's last page: over-reporting, never a lost dirty page. A bitmap's
//   count()/any() ignore bits past the range; ranges that start each mapping
//   on a 64-page boundary of the report (or one report per mapping) avoid it.
// The container must have an IOMMU set (container::set_iommu).
#ifndef VFIO_IOMMU_DIRTY_PAGES_HPP_INCLUDED
#define VFIO_IOMMU_DIRTY_PAGES_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "abi/vfio.hpp"
#include "container.hpp"
#include "dirty_bitmap.hpp"
#include "error.hpp"
#include "result.hpp"

namespace vfio::iommu_dirty {

namespace detail {

inline result<void> flag_only(container& c, std::uint32_t flag) noexcept {
  constexpr const char* op = "VFIO_IOMMU_DIRTY_PAGES";
  if (!c) return errno_error(EBADF, op);
  abi::iommu_type1_dirty_bitmap arg{};
  arg.argsz = sizeof arg;
  arg.flags = flag;
  const int r = c.sys().ioctl(c.fd(), abi::req::iommu_dirty_pages, &arg);
  if (r < 0) return errno_error(-r, op);
  return {};
}

}  // namespace detail

/// VFIO_IOMMU_DIRTY_PAGES with FLAG_START: the IOMMU starts tracking every
/// mapping of the container (and mappings made later).
/// Errors: EBADF (empty container); EACCES (Type1 v1); EINVAL (no IOMMU set);
/// ENOMEM (the per-mapping bitmaps).
inline result<void> start(container& c) noexcept { return detail::flag_only(c, abi::dirty_pages_flags::start); }

/// VFIO_IOMMU_DIRTY_PAGES with FLAG_STOP. Errors: EBADF; EACCES; EINVAL (no IOMMU set).
inline result<void> stop(container& c) noexcept { return detail::flag_only(c, abi::dirty_pages_flags::stop); }

/// VFIO_IOMMU_DIRTY_PAGES with FLAG_GET_BITMAP over the bitmap's range and page
/// size, into bitmap (zeroed first). The argument (48 bytes) is on the stack.
/// Preconditions: tracking started; see the rules above.
/// Errors: errc::invalid_argument (empty bitmap: no syscall); EBADF; EACCES;
/// EINVAL (see above); EFAULT.
inline result<void> report(container& c, dirty_bitmap& bitmap) noexcept {
  constexpr const char* op = "VFIO_IOMMU_DIRTY_PAGES";
  if (!bitmap) return error(errc::invalid_argument, "dirty bitmap check");
  if (!c) return errno_error(EBADF, op);
  bitmap.clear();
  struct alignas(8) request {
    abi::iommu_type1_dirty_bitmap header;
    abi::iommu_type1_dirty_bitmap_get get;
  } arg{};
  static_assert(offsetof(request, get) == sizeof(abi::iommu_type1_dirty_bitmap), "the range follows the header");
  arg.header.argsz = sizeof arg;
  arg.header.flags = abi::dirty_pages_flags::get_bitmap;
  arg.get.iova = bitmap.iova();
  arg.get.size = bitmap.length();
  arg.get.bitmap.pgsize = bitmap.page_size();
  arg.get.bitmap.size = bitmap.size_bytes();
  arg.get.bitmap.data = reinterpret_cast<std::uintptr_t>(bitmap.data());
  const int r = c.sys().ioctl(c.fd(), abi::req::iommu_dirty_pages, &arg);
  if (r < 0) return errno_error(-r, op);
  return {};
}

/// VFIO_IOMMU_UNMAP_DMA with FLAG_GET_DIRTY_BITMAP of exactly the bitmap's range:
/// the mappings there go away and their dirty pages land in bitmap (zeroed first),
/// so the last writes to memory being unmapped during a migration are not lost.
/// Returns the bytes unmapped.
/// Preconditions: tracking started; the bitmap's page size the IOMMU's smallest.
/// Errors: errc::invalid_argument (empty bitmap: no syscall); EBADF; EINVAL
/// (tracking off, another page size, misaligned, bisecting a Type1v2 mapping,
/// bitmap too small); EFAULT.
inline result<std::uint64_t> unmap_and_report(container& c, dirty_bitmap& bitmap) noexcept {
  constexpr const char* op = "VFIO_IOMMU_UNMAP_DMA";
  if (!bitmap) return error(errc::invalid_argument, "dirty bitmap check");
  if (!c) return errno_error(EBADF, op);
  bitmap.clear();
  struct alignas(8) request {
    abi::iommu_type1_dma_unmap unmap;
    abi::bitmap bitmap;
  } arg{};
  static_assert(offsetof(request, bitmap) == sizeof(abi::iommu_type1_dma_unmap), "the bitmap follows the header");
  arg.unmap.argsz = sizeof arg;
  arg.unmap.flags = abi::dma_unmap_flags::get_dirty_bitmap;
  arg.unmap.iova = bitmap.iova();
  arg.unmap.size = bitmap.length();
  arg.bitmap.pgsize = bitmap.page_size();
  arg.bitmap.size = bitmap.size_bytes();
  arg.bitmap.data = reinterpret_cast<std::uintptr_t>(bitmap.data());
  const int r = c.sys().ioctl(c.fd(), abi::req::iommu_unmap_dma, &arg);
  if (r < 0) return errno_error(-r, op);
  return std::uint64_t{arg.unmap.size};
}

}  // namespace vfio::iommu_dirty

#endif  // VFIO_IOMMU_DIRTY_PAGES_HPP_INCLUDED
