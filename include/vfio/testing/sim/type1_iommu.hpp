// The Type1 IOMMU backend of a simulated container: VFIO_IOMMU_GET_INFO,
// MAP_DMA, UNMAP_DMA and DIRTY_PAGES with the bookkeeping and errnos of
// drivers/vfio/vfio_iommu_type1.c. Pages are not pinned and vaddr is never
// dereferenced; simulated_kernel checks after a successful MAP_DMA that the
// memory is there as the pinning would (kernel_options::user_memory) and
// removes the mapping again when it is not (remove_failed_mapping).
//
// Scale: the mappings sit in a std::map keyed by iova, as the kernel keeps
// them in an rb-tree (iommu->dma_list), and every lookup is a descent
// (vfio_find_dma, vfio_find_dma_first_node), so MAP_DMA and UNMAP_DMA cost
// O(log n) plus the mappings they remove; no call walks all n mappings
// except mappings() (an inspection for tests).
#ifndef VFIO_TESTING_SIM_TYPE1_IOMMU_HPP_INCLUDED
#define VFIO_TESTING_SIM_TYPE1_IOMMU_HPP_INCLUDED

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <vector>

#include "../../abi/vfio.hpp"
#include "inspection.hpp"
#include "options.hpp"

namespace vfio::testing::sim {

class type1_iommu {
 public:
  /// vfio_iommu_type1_open: v2 for VFIO_TYPE1v2_IOMMU (and the nesting type).
  type1_iommu(bool v2, const kernel_options& options)
      : v2_(v2), options_(&options), dma_avail_(options.dma_entry_limit), pgsize_bitmap_(options.iova_pgsizes) {
    // vfio_update_pgsize_bitmap: sub-page sizes hidden behind PAGE_SIZE.
    if (pgsize_bitmap_ & 0xfffULL) pgsize_bitmap_ = (pgsize_bitmap_ & ~0xfffULL) | 0x1000ULL;
  }

  bool v2() const noexcept { return v2_; }

  /// vfio_iommu_type1_check_extension. `with_iommu` false is the probe made
  /// before SET_IOMMU (iommu == NULL). VFIO_UPDATE_VADDR answers
  /// `iommu && !vfio_iommu_has_emulated(iommu)` ("vfio/type1: disable
  /// VFIO_UPDATE_VADDR with mdevs", in Debian's 6.1 too): 0 before SET_IOMMU,
  /// 1 after (the simulation has no emulated-IOMMU groups).
  static int check_extension(unsigned long ext, const kernel_options& options, bool with_iommu) noexcept {
    switch (ext) {
      case abi::extension::type1_iommu:
      case abi::extension::type1v2_iommu:
      case abi::extension::unmap_all: return 1;
      case abi::extension::update_vaddr: return with_iommu ? 1 : 0;
      case abi::extension::type1_nesting_iommu: return options.reports_nesting() ? 1 : 0;
      case abi::extension::dma_cc_iommu: return with_iommu && options.dma_cache_coherent ? 1 : 0;
      default: return 0;
    }
  }

  /// VFIO_IOMMU_GET_INFO (vfio_iommu_type1_get_info).
  int get_info(void* arg) const noexcept {
    if (!arg) return -EFAULT;
    auto* bytes = static_cast<unsigned char*>(arg);
    abi::iommu_type1_info info{};
    constexpr std::size_t minsz = offsetof(abi::iommu_type1_info, iova_pgsizes) + 8;  // 16
    constexpr std::size_t capsz = offsetof(abi::iommu_type1_info, cap_offset) + 4;    // 20
    std::memcpy(&info, bytes, minsz);
    if (info.argsz < minsz) return -EINVAL;
    std::size_t copy = minsz;
    if (info.argsz >= capsz) {
      copy = capsz;
      info.cap_offset = 0;
    }
    info.flags = abi::iommu_info_flags::pgsizes;
    info.iova_pgsizes = pgsize_bitmap_;

    // Capabilities in the order the kernel adds them: migration, dma_avail,
    // iova ranges (vfio_info_cap_add, 8-byte padding since v6.6).
    std::vector<unsigned char> caps;
    std::vector<std::size_t> starts;
    abi::iommu_type1_info_cap_migration mig{};
    mig.header = {abi::iommu_cap::migration, 1, 0};
    mig.flags = 0;
    mig.pgsize_bitmap = lowest_pgsize();
    mig.max_dirty_bitmap_size = dirty_bitmap_size_max;
    add_raw(caps, starts, &mig, sizeof mig);
    abi::iommu_type1_info_dma_avail avail{};
    avail.header = {abi::iommu_cap::dma_avail, 1, 0};
    avail.avail = dma_avail_;
    add_raw(caps, starts, &avail, sizeof avail);
    if (!options_->iova_ranges.empty()) {
      std::vector<unsigned char> iova(sizeof(abi::iommu_type1_info_cap_iova_range) +
                                      options_->iova_ranges.size() * sizeof(abi::iova_range));
      abi::iommu_type1_info_cap_iova_range hdr{};
      hdr.header = {abi::iommu_cap::iova_range, 1, 0};
      hdr.nr_iovas = static_cast<std::uint32_t>(options_->iova_ranges.size());
      std::memcpy(iova.data(), &hdr, sizeof hdr);
      std::memcpy(iova.data() + sizeof hdr, options_->iova_ranges.data(),
                  options_->iova_ranges.size() * sizeof(abi::iova_range));
      add_raw(caps, starts, iova.data(), iova.size());
    }
    if (!caps.empty()) {
      info.flags |= abi::iommu_info_flags::caps;
      if (info.argsz < sizeof info + caps.size()) {
        info.argsz = static_cast<std::uint32_t>(sizeof info + caps.size());
      } else {
        // vfio_info_cap_shift: chain offsets from the start of the buffer.
        for (std::size_t i = 0; i < starts.size(); ++i) {
          const std::uint32_t next =
              i + 1 < starts.size() ? static_cast<std::uint32_t>(sizeof info + starts[i + 1]) : 0;
          std::memcpy(caps.data() + starts[i] + offsetof(abi::info_cap_header, next), &next, 4);
        }
        std::memcpy(bytes + sizeof info, caps.data(), caps.size());
        info.cap_offset = sizeof info;
      }
    }
    std::memcpy(bytes, &info, copy);
    return 0;
  }

  /// VFIO_IOMMU_MAP_DMA (vfio_iommu_type1_map_dma, vfio_dma_do_map).
  int map_dma(void* arg) noexcept {
    if (!arg) return -EFAULT;
    abi::iommu_type1_dma_map map{};
    constexpr std::size_t minsz = sizeof(abi::iommu_type1_dma_map);
    std::memcpy(&map, arg, minsz);
    const std::uint32_t mask = abi::dma_map_flags::read | abi::dma_map_flags::write | abi::dma_map_flags::vaddr;
    if (map.argsz < minsz || (map.flags & ~mask)) return -EINVAL;
    const bool wraps = map.iova + map.size - 1 < map.iova || map.vaddr + map.size - 1 < map.vaddr;
    if (options_->dma_wrap_eoverflow()) {
      // Since the check_*_overflow rework: zero size, then wrap-around, come
      // before the flag and alignment checks.
      if (!map.size) return -EINVAL;
      if (wraps) return -EOVERFLOW;
    }
    const bool set_vaddr = map.flags & abi::dma_map_flags::vaddr;
    const bool prot = map.flags & (abi::dma_map_flags::read | abi::dma_map_flags::write);
    if ((prot && set_vaddr) || (!prot && !set_vaddr)) return -EINVAL;
    const std::uint64_t pgsize = lowest_pgsize();
    if (!map.size || ((map.size | map.iova | map.vaddr) & (pgsize - 1))) return -EINVAL;
    if (wraps) return -EINVAL;  // "Don't allow IOVA or virtual address wrap" (6.1, 6.12)
    auto hit = find(map.iova, map.size);
    if (set_vaddr) {
      if (hit == dmas_.end()) return -ENOENT;
      if (!hit->second.vaddr_invalid || hit->second.iova != map.iova || hit->second.size != map.size) return -EINVAL;
      hit->second.vaddr = map.vaddr;
      hit->second.vaddr_invalid = false;
      --vaddr_invalid_count_;
      return 0;
    }
    if (hit != dmas_.end()) return -EEXIST;
    if (!dma_avail_) return -ENOSPC;
    if (!iova_valid(map.iova, map.iova + map.size - 1)) return -EINVAL;
    dma_mapping m;
    m.iova = map.iova;
    m.vaddr = map.vaddr;
    m.size = map.size;
    m.readable = map.flags & abi::dma_map_flags::read;
    m.writable = map.flags & abi::dma_map_flags::write;
    if (dirty_tracking_) alloc_dirty(m);  // vfio_dma_do_map: vfio_dma_bitmap_alloc
    dmas_.emplace(m.iova, m);
    --dma_avail_;
    return 0;
  }

  /// VFIO_IOMMU_UNMAP_DMA (vfio_iommu_type1_unmap_dma, vfio_dma_do_unmap).
  /// On success the 24-byte header is copied back with `size` set to what
  /// was unmapped; on failure nothing is copied back.
  int unmap_dma(void* arg) noexcept {
    if (!arg) return -EFAULT;
    auto* bytes = static_cast<unsigned char*>(arg);
    abi::iommu_type1_dma_unmap unmap{};
    constexpr std::size_t minsz = sizeof(abi::iommu_type1_dma_unmap);
    std::memcpy(&unmap, bytes, minsz);
    namespace f = abi::dma_unmap_flags;
    const std::uint32_t mask = f::get_dirty_bitmap | f::vaddr | f::all;
    if (unmap.argsz < minsz || (unmap.flags & ~mask)) return -EINVAL;
    if ((unmap.flags & f::get_dirty_bitmap) && (unmap.flags & (f::all | f::vaddr))) return -EINVAL;
    abi::bitmap bitmap{};
    if (unmap.flags & f::get_dirty_bitmap) {
      if (unmap.argsz < minsz + sizeof bitmap) return -EINVAL;
      std::memcpy(&bitmap, bytes + minsz, sizeof bitmap);
      if (!bitmap.pgsize) return -EINVAL;
      if (!valid_bitmap_size(unmap.size >> ffs64(bitmap.pgsize), bitmap.size)) return -EINVAL;
    }

    const std::uint64_t pgsize = lowest_pgsize();
    std::uint64_t iova = unmap.iova;
    std::uint64_t size = unmap.size;
    const bool all = unmap.flags & f::all;
    const bool invalidate_vaddr = unmap.flags & f::vaddr;
    if (iova & (pgsize - 1)) return -EINVAL;
    if (all) {
      if (iova || size) return -EINVAL;
      size = UINT64_MAX;
    } else if (!size || (size & (pgsize - 1))) {
      return -EINVAL;
    } else if (iova + size - 1 < iova) {
      return options_->dma_wrap_eoverflow() ? -EOVERFLOW : -EINVAL;
    }
    if ((unmap.flags & f::get_dirty_bitmap) && (!dirty_tracking_ || bitmap.pgsize != pgsize)) return -EINVAL;
    if (v2_ && !all) {
      // Type1v2: an unmap must not bisect a mapping.
      auto first = find(iova, 1);
      if (first != dmas_.end() && first->second.iova != iova) return -EINVAL;
      auto last = find_point(iova + size - 1);
      if (last != dmas_.end() && last->second.iova + last->second.size != iova + size) return -EINVAL;
    }
    std::uint64_t unmapped = 0;
    int ret = 0;
    auto first_n = first_node(iova, size);
    for (auto n = first_n; n != dmas_.end();) {
      dma_mapping& d = n->second;
      if (d.iova >= iova + size) break;
      // Type1 (v1): an unmap starting inside a mapping unmaps nothing.
      if (!v2_ && iova > d.iova) break;
      if (invalidate_vaddr) {
        if (d.vaddr_invalid) {
          // Every mapping before this one was valid and invalidated by this call.
          for (auto r = first_n; r != n; ++r) {
            r->second.vaddr_invalid = false;
            --vaddr_invalid_count_;
          }
          ret = -EINVAL;
          unmapped = 0;
          break;
        }
        d.vaddr_invalid = true;
        ++vaddr_invalid_count_;
        unmapped += d.size;
        ++n;
        continue;
      }
      if (unmap.flags & f::get_dirty_bitmap) {
        if (!update_user_bitmap(bitmap.data, d, iova, pgsize)) {
          ret = -EFAULT;
          break;
        }
      }
      unmapped += d.size;
      n = remove(n);
    }
    if (ret) return ret;
    unmap.size = unmapped;
    std::memcpy(bytes, &unmap, minsz);
    return 0;
  }

  /// VFIO_IOMMU_DIRTY_PAGES (vfio_iommu_type1_dirty_pages). Every mapped page
  /// is dirty (the kernel cannot track IOMMU-backed devices' writes).
  int dirty_pages(void* arg) noexcept {
    if (!v2_) return -EACCES;
    if (!arg) return -EFAULT;
    auto* bytes = static_cast<unsigned char*>(arg);
    abi::iommu_type1_dirty_bitmap dirty{};
    constexpr std::size_t minsz = sizeof dirty;
    std::memcpy(&dirty, bytes, minsz);
    namespace f = abi::dirty_pages_flags;
    const std::uint32_t mask = f::start | f::stop | f::get_bitmap;
    if (dirty.argsz < minsz || (dirty.flags & ~mask)) return -EINVAL;
    if (dirty.flags == 0 || (dirty.flags & (dirty.flags - 1))) return -EINVAL;  // exactly one flag
    if (dirty.flags & f::start) {
      // vfio_dma_bitmap_alloc_all, once: a START while tracking keeps the bitmaps.
      if (!dirty_tracking_)
        for (auto& kv : dmas_) alloc_dirty(kv.second);
      dirty_tracking_ = true;
      return 0;
    }
    if (dirty.flags & f::stop) {
      dirty_tracking_ = false;  // vfio_dma_bitmap_free_all
      for (auto& kv : dmas_) kv.second.dirty = std::vector<std::uint64_t>();
      return 0;
    }
    const std::size_t data_size = dirty.argsz - minsz;
    abi::iommu_type1_dirty_bitmap_get range{};
    if (data_size < sizeof range) return -EINVAL;
    std::memcpy(&range, bytes + minsz, sizeof range);
    if (options_->dma_wrap_eoverflow()) {
      if (!range.size) return -EINVAL;
      if (range.iova + range.size - 1 < range.iova) return -EOVERFLOW;
    } else if (range.iova + range.size < range.iova) {
      return -EINVAL;
    }
    if (!range.bitmap.pgsize) return -EINVAL;
    if (!valid_bitmap_size(range.size >> ffs64(range.bitmap.pgsize), range.bitmap.size)) return -EINVAL;
    const std::uint64_t pgsize = lowest_pgsize();
    if (range.bitmap.pgsize != pgsize) return -EINVAL;
    if (range.iova & (pgsize - 1)) return -EINVAL;
    if (!range.size || (range.size & (pgsize - 1))) return -EINVAL;
    if (!dirty_tracking_) return -EINVAL;
    // vfio_iova_dirty_bitmap: the range must not bisect a mapping.
    auto first = find(range.iova, 1);
    if (first != dmas_.end() && first->second.iova != range.iova) return -EINVAL;
    auto last = find_point(range.iova + range.size - 1);
    if (last != dmas_.end() && last->second.iova + last->second.size != range.iova + range.size) return -EINVAL;
    for (auto it = dmas_.lower_bound(range.iova); it != dmas_.end(); ++it) {
      dma_mapping& d = it->second;
      if (d.iova > range.iova + range.size - 1) break;
      if (!update_user_bitmap(range.bitmap.data, d, range.iova, pgsize)) return -EFAULT;
      // bitmap_clear of the mapping's own pages, then vfio_dma_populate_bitmap
      // (no pinned pages here): bits the shift moved past them stay.
      bitmap_range(d.dirty, 0, d.size / pgsize, false);
    }
    return 0;
  }

  /// vfio_remove_dma after a failed vfio_pin_map_dma: the mapping at `iova`
  /// that MAP_DMA just created goes away, its entry returns to dma_avail.
  void remove_failed_mapping(std::uint64_t iova) noexcept {
    auto it = dmas_.find(iova);
    if (it != dmas_.end()) remove(it);
  }

  std::size_t mapping_count() const noexcept { return dmas_.size(); }
  std::vector<dma_mapping> mappings() const {
    std::vector<dma_mapping> out;
    for (const auto& kv : dmas_) out.push_back(kv.second);
    return out;
  }
  unsigned dma_avail() const noexcept { return dma_avail_; }
  bool dirty_tracking() const noexcept { return dirty_tracking_; }

  /// iommu->vaddr_invalid_count != 0: vfio_iommu_type1_attach_group refuses a
  /// new group with -EBUSY ("Attach could require pinning").
  bool any_vaddr_invalid() const noexcept { return vaddr_invalid_count_ != 0; }

  /// DIRTY_BITMAP_SIZE_MAX: DIRTY_BITMAP_BYTES((u64)INT_MAX).
  static constexpr std::uint64_t dirty_bitmap_size_max = ((static_cast<std::uint64_t>(INT_MAX) + 63) & ~63ULL) / 8;

 private:
  using map_type = std::map<std::uint64_t, dma_mapping>;

  static void add_raw(std::vector<unsigned char>& caps, std::vector<std::size_t>& starts, const void* data,
                      std::size_t size, bool align) {
    const std::size_t padded = align ? ((size + 7) & ~std::size_t{7}) : size;
    starts.push_back(caps.size());
    caps.resize(caps.size() + padded, 0);
    std::memcpy(caps.data() + starts.back(), data, size);
  }
  void add_raw(std::vector<unsigned char>& caps, std::vector<std::size_t>& starts, const void* data,
               std::size_t size) const {
    add_raw(caps, starts, data, size, options_->aligned_caps());
  }

  std::uint64_t lowest_pgsize() const noexcept { return pgsize_bitmap_ & (~pgsize_bitmap_ + 1); }
  static unsigned ffs64(std::uint64_t v) noexcept {
    unsigned n = 0;
    while (!(v & 1) && n < 63) {
      v >>= 1;
      ++n;
    }
    return n;
  }
  static bool valid_bitmap_size(std::uint64_t npages, std::uint64_t bitmap_size) noexcept {
    // verify_bitmap_size
    const std::uint64_t needed = ((npages + 63) & ~63ULL) / 8;
    return npages && bitmap_size && bitmap_size <= dirty_bitmap_size_max && bitmap_size >= needed;
  }
  /// DIRTY_BITMAP_BYTES(n) in u64 words.
  static std::size_t bitmap_words(std::uint64_t nbits) noexcept { return static_cast<std::size_t>((nbits + 63) / 64); }
  /// bitmap_set / bitmap_clear of [first, first + n): exactly those bits.
  static void bitmap_range(std::vector<std::uint64_t>& w, std::uint64_t first, std::uint64_t n, bool set) noexcept {
    for (std::uint64_t b = first; b < first + n && b / 64 < w.size(); ++b) {
      if (set)
        w[b / 64] |= 1ULL << (b % 64);
      else
        w[b / 64] &= ~(1ULL << (b % 64));
    }
  }
  /// vfio_dma_bitmap_alloc (zeroed), then vfio_dma_populate_bitmap (no pinned pages).
  void alloc_dirty(dma_mapping& d) const { d.dirty.assign(bitmap_words(d.size / lowest_pgsize()) + 1, 0); }
  /// update_user_bitmap (drivers/vfio/vfio_iommu_type1.c) as the kernel does it:
  /// the mapping's pages are set in its own bitmap (every page: the devices are
  /// IOMMU-backed, num_non_pinned_groups != 0); when the mapping does not start
  /// on a word of the user bitmap, the bitmap is shifted in place
  /// (__bitmap_shift_left over nbits + shift bits moves whole words, nothing
  /// masked) and the user's word is ORed in (__bitmap_or over whole words);
  /// then DIRTY_BITMAP_BYTES(nbits + shift) bytes, whole words, are copied over
  /// the user's. The shifted bits stay in the mapping's bitmap, and the next
  /// report shifts them again: on a real kernel a second report of a mapping
  /// that starts inside a word shows bits past the mapping. False for a null
  /// user bitmap (EFAULT).
  bool update_user_bitmap(std::uint64_t user_bitmap, dma_mapping& d, std::uint64_t base_iova,
                          std::uint64_t pgsize) const {
    if (!user_bitmap) return false;
    // The bitmap is a user pointer carried in a __u64, as in the ABI.
    auto* user = reinterpret_cast<std::uint64_t*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(user_bitmap));
    const std::uint64_t nbits = d.size / pgsize;
    const std::uint64_t bit_offset = (d.iova - base_iova) / pgsize;
    const std::size_t copy_offset = static_cast<std::size_t>(bit_offset / 64);
    const unsigned shift = static_cast<unsigned>(bit_offset % 64);
    if (d.dirty.empty()) alloc_dirty(d);
    std::vector<std::uint64_t>& w = d.dirty;
    bitmap_range(w, 0, nbits, true);
    const std::size_t lim = bitmap_words(nbits + shift);
    if (shift) {
      for (std::size_t k = lim; k-- > 0;) {  // __bitmap_shift_left, shift < 64
        const std::uint64_t lower = k > 0 ? w[k - 1] >> (64 - shift) : 0;
        w[k] = (w[k] << shift) | lower;
      }
      w[0] |= user[copy_offset];  // bitmap_or over BITS_TO_LONGS(shift) = 1 word
    }
    std::memcpy(user + copy_offset, w.data(), lim * sizeof(std::uint64_t));
    return true;
  }

  /// vfio_remove_dma: the entry goes back to dma_avail, and an invalid vaddr
  /// no longer counts (iommu->vaddr_invalid_count).
  map_type::iterator remove(map_type::iterator it) {
    if (it->second.vaddr_invalid) --vaddr_invalid_count_;
    ++dma_avail_;
    return dmas_.erase(it);
  }

  /// A mapping whose last page is the last page of the address space: its
  /// end, iova + size, wraps to 0, so the kernel's comparisons `start >=
  /// dma->iova + dma->size` never let a lookup find it (possible only without
  /// an IOVA aperture below 2^64). Such mappings may overlap others; all the
  /// rest are disjoint, MAP_DMA having checked each against them.
  static bool ends_at_top(map_type::const_iterator it) noexcept { return it->second.iova + it->second.size == 0; }

  /// The lowest-iova mapping with start < iova + size (wrapping mappings
  /// excepted, as above). The others are disjoint, so their ends rise with
  /// their iova: the answer is the nearest one at or below `start` when it
  /// reaches past `start`, else the next one above. O(log n) plus the
  /// wrapping mappings stepped over.
  map_type::iterator first_ending_after(std::uint64_t start) {
    auto above = dmas_.upper_bound(start);
    for (auto below = above; below != dmas_.begin();) {
      --below;
      if (ends_at_top(below)) continue;
      if (start < below->second.iova + below->second.size) return below;
      break;
    }
    while (above != dmas_.end() && ends_at_top(above)) ++above;
    return above;
  }

  /// vfio_find_dma: the lowest mapping overlapping [start, start + size)
  /// (start + size <= dma->iova and start >= dma->iova + dma->size both
  /// false); with size 0, one that strictly contains `start` after its first
  /// byte. A later mapping begins later still, so only the first one ending
  /// after `start` can qualify.
  map_type::iterator find(std::uint64_t start, std::uint64_t size) {
    auto it = first_ending_after(start);
    if (it != dmas_.end() && start + size > it->second.iova) return it;
    return dmas_.end();
  }
  map_type::iterator find_point(std::uint64_t at) { return find(at, 0); }
  /// vfio_find_dma_first_node: the lowest mapping ending after `start`, unless
  /// it begins at or after start + size.
  map_type::iterator first_node(std::uint64_t start, std::uint64_t size) {
    auto it = first_ending_after(start);
    if (it != dmas_.end() && size && it->second.iova >= start + size) return dmas_.end();
    return it;
  }
  bool iova_valid(std::uint64_t start, std::uint64_t end) const noexcept {
    // vfio_iommu_iova_dma_valid
    if (options_->iova_ranges.empty()) return true;
    for (const auto& r : options_->iova_ranges)
      if (start >= r.start && end <= r.end) return true;
    return false;
  }

  bool v2_;
  const kernel_options* options_;
  unsigned dma_avail_;
  std::uint64_t pgsize_bitmap_;
  bool dirty_tracking_ = false;
  std::size_t vaddr_invalid_count_ = 0;  ///< iommu->vaddr_invalid_count
  map_type dmas_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_TYPE1_IOMMU_HPP_INCLUDED
