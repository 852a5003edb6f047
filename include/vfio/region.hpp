// Region description (VFIO_DEVICE_GET_REGION_INFO with its capabilities parsed) and
// region_mapping, the RAII owner of a region's mmap()ed pieces.
#ifndef VFIO_REGION_HPP_INCLUDED
#define VFIO_REGION_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include <sys/mman.h>

#include "abi/vfio.hpp"
#include "detail/info_buffer.hpp"
#include "error.hpp"
#include "heap_array.hpp"
#include "result.hpp"
#include "span.hpp"
#include "syscalls.hpp"

namespace vfio {

/// One mmap()able window of a region, relative to the start of the region.
struct sparse_area {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

/// One VFIO_DEVICE_GET_REGION_INFO reply with its capability chain parsed.
struct region_info {
  std::uint32_t index = 0;
  std::uint32_t flags = 0;   ///< abi::region_flags
  std::uint64_t size = 0;    ///< bytes; 0 for an unimplemented BAR
  std::uint64_t offset = 0;  ///< file offset of the region on the device fd (pread/pwrite/mmap)

  /// SPARSE_MMAP capability: only these windows may be mmap()ed (the rest, e.g. an
  /// MSI-X table, must go through read/write). has_sparse_mmap with no areas means
  /// nothing is mappable.
  heap_array<sparse_area> sparse_areas;
  bool has_sparse_mmap = false;

  /// TYPE capability: a device-specific region (index >= abi::pci_region::count on PCI).
  bool has_type = false;
  std::uint32_t type = 0;     ///< abi::region_type
  std::uint32_t subtype = 0;  ///< abi::region_subtype

  /// MSIX_MAPPABLE capability: the MSI-X table in this BAR may be mmap()ed too.
  bool msix_mappable = false;

  bool readable() const noexcept { return (flags & abi::region_flags::read) != 0; }
  bool writable() const noexcept { return (flags & abi::region_flags::write) != 0; }
  bool mappable() const noexcept { return (flags & abi::region_flags::mmap) != 0; }
  /// True when [offset, offset + length) lies inside the region.
  bool contains(std::uint64_t off, std::uint64_t length) const noexcept { return off <= size && length <= size - off; }
};

namespace detail {

/// Parses a GET_REGION_INFO reply held in buf[0, buf_size): the 32-byte header and, when
/// CAPS is set and cap_offset is not 0, the capability chain, every step bounds- and
/// cycle-checked against buf_size (walk_info_caps). Unknown capabilities are skipped; a
/// capability too short for its own layout is malformed. When a kind repeats, the first
/// instance wins (the kernel never repeats one).
/// Errors: errc::malformed_capability_chain; ENOMEM (no memory for the sparse areas).
inline result<region_info> parse_region_info(const std::uint8_t* buf, std::uint32_t buf_size,
                                             const char* operation) noexcept {
  if (buf_size < sizeof(abi::region_info)) return error(errc::malformed_capability_chain, operation);
  abi::region_info h{};
  std::memcpy(&h, buf, sizeof h);

  region_info out;
  out.index = h.index;
  out.flags = h.flags;
  out.size = h.size;
  out.offset = h.offset;
  // With argsz too small the kernel sets CAPS but leaves cap_offset 0
  // (vfio_pci_ioctl_get_region_info in drivers/vfio/pci/vfio_pci_core.c): no chain here.
  if ((h.flags & abi::region_flags::caps) == 0 || h.cap_offset == 0) return out;

  bool chain_ok = true;
  bool no_memory = false;
  auto malformed = [&chain_ok]() noexcept {
    chain_ok = false;
    return false;  // stop the walk
  };
  auto walked = walk_info_caps(
      buf, buf_size, sizeof(abi::region_info), h.cap_offset, operation,
      [&](std::uint16_t id, std::uint16_t, std::uint32_t at, std::uint32_t available) noexcept {
        switch (id) {
          case abi::region_cap::sparse_mmap: {
            if (out.has_sparse_mmap) return true;
            if (available < sizeof(abi::region_info_cap_sparse_mmap)) return malformed();
            abi::region_info_cap_sparse_mmap cap{};
            std::memcpy(&cap, buf + at, sizeof cap);
            const std::uint64_t need = sizeof cap + std::uint64_t{cap.nr_areas} * sizeof(abi::sparse_mmap_area);
            if (need > available) return malformed();
            if (!out.sparse_areas.allocate(cap.nr_areas)) {
              no_memory = true;
              return false;
            }
            for (std::uint32_t i = 0; i < cap.nr_areas; ++i) {
              abi::sparse_mmap_area a{};
              std::memcpy(&a, buf + at + sizeof cap + std::size_t{i} * sizeof a, sizeof a);
              out.sparse_areas[i] = {a.offset, a.size};
            }
            out.has_sparse_mmap = true;
            return true;
          }
          case abi::region_cap::type: {
            if (out.has_type) return true;
            if (available < sizeof(abi::region_info_cap_type)) return malformed();
            abi::region_info_cap_type cap{};
            std::memcpy(&cap, buf + at, sizeof cap);
            out.has_type = true;
            out.type = cap.type;
            out.subtype = cap.subtype;
            return true;
          }
          case abi::region_cap::msix_mappable:
            out.msix_mappable = true;  // header only
            return true;
          default: return true;
        }
      });
  if (!walked) return walked.error();
  if (no_memory) return errno_error(ENOMEM, operation);
  if (!chain_ok) return error(errc::malformed_capability_chain, operation);
  return out;
}

}  // namespace detail

/// The mmap()ed pieces of one region: the whole region, or each sparse area when the
/// region has a SPARSE_MMAP capability. Move-only; the destructor munmap()s every piece
/// through the seam the mapping was made with.
///
/// When munmap(2) fails the kernel has unmapped nothing (do_vmi_munmap, mm/vma.c in
/// recent kernels and mm/mmap.c before, checks and splits the VMAs before it removes
/// a page; its errors are EINVAL and ENOMEM), so
/// unmap() keeps the pieces it could not unmap and a later unmap() retries them. The
/// destructor makes one attempt and then forgets what is left: those pages stay mapped
/// (and keep the device file referenced) until the process exits.
///
/// After the power-management layer puts the device into D3hot or low power, touching
/// these addresses raises SIGBUS until the device is back (see
/// device::mappings_accessible()); the mapping itself stays valid.
class region_mapping {
 public:
  /// One mapped window: region bytes [offset, offset + size) at addr.
  struct piece {
    std::uint64_t offset = 0;  ///< offset in the region
    std::uint64_t size = 0;
    void* addr = nullptr;
  };

  region_mapping() noexcept = default;
  region_mapping(region_mapping&& o) noexcept
      : sys_(o.sys_),
        region_index_(o.region_index_),
        pieces_(std::move(o.pieces_)),
        count_(std::exchange(o.count_, 0)) {}
  region_mapping& operator=(region_mapping&& o) noexcept {
    if (this != &o) {
      reset();
      sys_ = o.sys_;
      region_index_ = o.region_index_;
      pieces_ = std::move(o.pieces_);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  region_mapping(const region_mapping&) = delete;
  region_mapping& operator=(const region_mapping&) = delete;
  ~region_mapping() { reset(); }

  /// Maps `info` from the device descriptor `fd`: MAP_SHARED with `prot`, one mmap(2) per
  /// piece in sparse-area order (or one for the whole region), at file offset
  /// info.offset + piece offset. Sparse areas of size 0 are skipped. If any mmap fails,
  /// the pieces already mapped are munmap()ed before returning. device::map() is the
  /// usual way in; this is the mechanism.
  /// Preconditions: info.mappable().
  /// Errors: errc::not_mappable (no MMAP flag, an empty region, or a SPARSE_MMAP
  /// capability without a non-empty area); errc::out_of_bounds (a sparse area outside the
  /// region, or a file range [info.offset + offset, + size) that does not fit in off_t /
  /// size_t); ENOMEM (no memory for the piece list); mmap errno: EINVAL (the kernel's
  /// vfio_pci_core_mmap rejects unaligned or out-of-range requests), ENOMEM, EPERM, EAGAIN.
  static result<region_mapping> map(int fd, const region_info& info, int prot,
                                    syscalls& sys = default_syscalls()) noexcept {
    return map(sys, fd, info, prot);
  }
  /// map(fd, info, prot, sys) in the seam-first order of earlier releases.
  static result<region_mapping> map(syscalls& sys, int fd, const region_info& info, int prot) noexcept {
    if (!info.mappable()) return error(errc::not_mappable, "region flags check", subject::region(info.index));
    region_mapping m;
    m.sys_ = &sys;
    m.region_index_ = info.index;

    const sparse_area whole{0, info.size};
    const sparse_area* areas = info.has_sparse_mmap ? info.sparse_areas.data() : &whole;
    const std::size_t count = info.has_sparse_mmap ? info.sparse_areas.size() : 1;

    // Validate every piece before mapping any, so a bad reply costs no syscall. The
    // whole file range must fit in a non-negative off_t: a larger offset would reach
    // mmap(2) negative.
    constexpr auto max_off = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    std::size_t nonempty = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const sparse_area& a = areas[i];
      if (a.size == 0) continue;
      if (!info.contains(a.offset, a.size) || a.size > std::numeric_limits<std::size_t>::max() ||
          info.offset > max_off || a.offset > max_off - info.offset || a.size > max_off - info.offset - a.offset)
        return error(errc::out_of_bounds, "region bounds check", subject::region(info.index));
      ++nonempty;
    }
    if (nonempty == 0) return error(errc::not_mappable, "region bounds check", subject::region(info.index));
    if (!m.pieces_.allocate(nonempty)) return errno_error(ENOMEM, "mmap", subject::region(info.index));

    for (std::size_t i = 0; i < count; ++i) {
      const sparse_area& a = areas[i];
      if (a.size == 0) continue;
      void* addr = nullptr;
      const int r = sys.mmap(&addr, static_cast<std::size_t>(a.size), prot, MAP_SHARED, fd,
                             static_cast<std::int64_t>(info.offset + a.offset));
      if (r < 0)
        return errno_error(-r, "mmap", subject::region(info.index));  // m's destructor unmaps the earlier pieces
      m.pieces_[m.count_++] = {a.offset, a.size, addr};
    }
    return result<region_mapping>(std::move(m));
  }

  /// The mapped pieces, in mapping order.
  span<const piece> pieces() const noexcept { return {pieces_.data(), count_}; }
  /// The address of region offset `offset_in_region`, or nullptr when no piece maps it.
  void* data(std::uint64_t offset_in_region) const noexcept {
    for (const piece& p : pieces())
      if (offset_in_region >= p.offset && offset_in_region - p.offset < p.size)
        return static_cast<unsigned char*>(p.addr) + (offset_in_region - p.offset);
    return nullptr;
  }
  /// The region index this mapping belongs to.
  std::uint32_t region_index() const noexcept { return region_index_; }
  bool empty() const noexcept { return count_ == 0; }
  explicit operator bool() const noexcept { return count_ != 0; }

  /// munmap(2)s every piece now, in mapping order, and reports the first failure. The
  /// pieces unmapped are forgotten; a piece whose munmap failed is still mapped (the
  /// kernel unmaps nothing on failure) and stays, so calling unmap() again retries it.
  /// Errors: munmap errno (EINVAL, ENOMEM).
  result<void> unmap() noexcept {
    int first = 0;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      const piece p = pieces_[i];
      const int r = sys_->munmap(p.addr, static_cast<std::size_t>(p.size));
      if (r < 0) {
        if (first == 0) first = -r;
        pieces_[kept++] = p;
      }
    }
    count_ = kept;
    if (first != 0) return errno_error(first, "munmap");
    return {};
  }

 private:
  // One attempt; what cannot be unmapped is forgotten (documented above).
  void reset() noexcept {
    if (count_ != 0) (void)unmap();
    count_ = 0;
  }

  syscalls* sys_ = &default_syscalls();
  std::uint32_t region_index_ = 0;
  heap_array<piece> pieces_;
  std::size_t count_ = 0;  // pieces_[0, count_) are mapped
};

}  // namespace vfio

#endif  // VFIO_REGION_HPP_INCLUDED
