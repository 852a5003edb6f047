// dirty_bitmap: one bit per page of an IOVA range, laid out as the kernel's
// dirty-page reports write it, for VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT
// (<vfio/dma_logging.hpp>) and VFIO_IOMMU_DIRTY_PAGES (<vfio/iommu_dirty_pages.hpp>).
//
// Layout (both reports use it): an array of u64 words; bit b of word w is the
// page at iova + (64 * w + b) * page_size. The kernel sizes the user bitmap in
// whole words:
// - type1: verify_bitmap_size (drivers/vfio/vfio_iommu_type1.c) needs
//   DIRTY_BITMAP_BYTES(npages), npages rounded up to 64 and divided by 8;
// - DMA logging: iova_bitmap_alloc (drivers/iommu/iommufd/iova_bitmap.c) walks
//   ((length - 1) >> pgshift) / 64 + 1 words.
// Both are words() * 8 bytes here. Neither report clears a bit: the library
// zeroes the bitmap before each report. type1 writes whole words and may leave
// bits set past the range's last page (see <vfio/iommu_dirty_pages.hpp>):
// test(), count(), any() and the walks look only at the range's pages.
#ifndef VFIO_DIRTY_BITMAP_HPP_INCLUDED
#define VFIO_DIRTY_BITMAP_HPP_INCLUDED

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "error.hpp"
#include "heap_array.hpp"
#include "result.hpp"
#include "span.hpp"

namespace vfio {

/// A dirty-page bitmap of [iova(), iova() + length()) in pages of page_size().
/// Move-only; the words are allocated once by create() and reused by every report.
class dirty_bitmap {
 public:
  /// An empty bitmap (no range, no words).
  dirty_bitmap() noexcept = default;

  /// A zeroed bitmap of ceil(length / page_size) pages in whole u64 words.
  /// Preconditions: page_size is a power of two; length > 0; iova + length does
  /// not wrap. The kernels add their own rules (type1: the IOMMU's smallest page
  /// size, iova and length aligned to it; DMA logging: page_size >= 4096).
  /// Errors: errc::invalid_argument ("dirty bitmap check", no allocation);
  /// ENOMEM.
  static result<dirty_bitmap> create(std::uint64_t iova, std::uint64_t length, std::uint64_t page_size) noexcept {
    constexpr const char* op = "dirty bitmap check";
    if (page_size == 0 || (page_size & (page_size - 1)) != 0 || length == 0 || iova + length - 1 < iova)
      return error(errc::invalid_argument, op);
    const std::uint64_t pages = length / page_size + (length % page_size != 0 ? 1 : 0);
    const std::uint64_t words = pages / 64 + (pages % 64 != 0 ? 1 : 0);
    if (words > SIZE_MAX / sizeof(std::uint64_t)) return errno_error(ENOMEM, "dirty bitmap allocation");
    dirty_bitmap b;
    if (!b.words_.allocate(static_cast<std::size_t>(words))) return errno_error(ENOMEM, "dirty bitmap allocation");
    b.iova_ = iova;
    b.length_ = length;
    b.page_size_ = page_size;
    b.pages_ = pages;
    return b;
  }

  dirty_bitmap(dirty_bitmap&& o) noexcept
      : words_(std::move(o.words_)),
        iova_(std::exchange(o.iova_, 0)),
        length_(std::exchange(o.length_, 0)),
        page_size_(std::exchange(o.page_size_, 0)),
        pages_(std::exchange(o.pages_, 0)) {}
  dirty_bitmap& operator=(dirty_bitmap&& o) noexcept {
    words_ = std::move(o.words_);
    iova_ = std::exchange(o.iova_, 0);
    length_ = std::exchange(o.length_, 0);
    page_size_ = std::exchange(o.page_size_, 0);
    pages_ = std::exchange(o.pages_, 0);
    return *this;
  }
  dirty_bitmap(const dirty_bitmap&) = delete;
  dirty_bitmap& operator=(const dirty_bitmap&) = delete;
  ~dirty_bitmap() = default;

  std::uint64_t iova() const noexcept { return iova_; }
  std::uint64_t length() const noexcept { return length_; }
  std::uint64_t page_size() const noexcept { return page_size_; }
  /// Pages covered (bits that mean something; the last word's spare bits stay 0).
  std::uint64_t pages() const noexcept { return pages_; }
  /// The u64 words, as the kernel writes them.
  std::size_t words() const noexcept { return words_.size(); }
  /// The bitmap's size in bytes (words() * 8): what the ioctls are told.
  std::uint64_t size_bytes() const noexcept { return std::uint64_t{words_.size()} * sizeof(std::uint64_t); }
  std::uint64_t* data() noexcept { return words_.data(); }
  const std::uint64_t* data() const noexcept { return words_.data(); }
  span<const std::uint64_t> bits() const noexcept { return {words_.data(), words_.size()}; }
  explicit operator bool() const noexcept { return !words_.empty(); }

  /// Clears every bit.
  void clear() noexcept {
    if (!words_.empty()) std::memset(words_.data(), 0, words_.size() * sizeof(std::uint64_t));
  }
  /// Whether page `index` (0 = the page at iova()) is dirty; false beyond pages().
  bool test(std::uint64_t index) const noexcept {
    return index < pages_ && (words_[static_cast<std::size_t>(index / 64)] >> (index % 64) & 1U) != 0;
  }
  /// Whether the page holding `address` is dirty; false outside the range.
  bool is_dirty(std::uint64_t address) const noexcept {
    return address >= iova_ && address - iova_ < length_ && test((address - iova_) / page_size_);
  }
  /// Marks page `index` dirty (ignored beyond pages()).
  void set(std::uint64_t index) noexcept {
    if (index < pages_) words_[static_cast<std::size_t>(index / 64)] |= std::uint64_t{1} << (index % 64);
  }
  /// Marks dirty every page that overlaps [address, address + size), clipped to the range.
  void set_range(std::uint64_t address, std::uint64_t size) noexcept {
    if (size == 0 || pages_ == 0) return;
    const std::uint64_t end = address + size - 1 < address ? UINT64_MAX : address + size - 1;  // last byte
    const std::uint64_t last = iova_ + length_ - 1;
    if (end < iova_ || address > last) return;
    const std::uint64_t first_page = (address < iova_ ? 0 : address - iova_) / page_size_;
    const std::uint64_t last_page = ((end > last ? last : end) - iova_) / page_size_;
    for (std::uint64_t p = first_page; p <= last_page; ++p) set(p);
  }
  /// Number of dirty pages (bits past pages() in the last word are not pages).
  std::uint64_t count() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < words_.size(); ++i)
      n += static_cast<std::uint64_t>(__builtin_popcountll(word_in_range(i)));
    return n;
  }
  /// Whether any page of the range is dirty.
  bool any() const noexcept {
    for (std::size_t i = 0; i < words_.size(); ++i)
      if (word_in_range(i)) return true;
    return false;
  }

  /// Word i with the bits past pages() cleared.
  std::uint64_t word_in_range(std::size_t i) const noexcept {
    const std::uint64_t first = std::uint64_t{i} * 64;
    if (first + 64 <= pages_) return words_[i];
    if (first >= pages_) return 0;
    return words_[i] & ((std::uint64_t{1} << (pages_ - first)) - 1);
  }

  /// Calls f(address) for the first byte of every dirty page, in address order.
  /// Skips clean words 64 pages at a time.
  template <class F>
  void for_each_dirty_page(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      for (std::uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        const std::uint64_t index = std::uint64_t{w} * 64 + static_cast<std::uint64_t>(__builtin_ctzll(bits));
        if (index >= pages_) return;
        f(iova_ + index * page_size_);
      }
    }
  }
  /// Calls f(address, size) for every run of adjacent dirty pages, in address
  /// order; the last run is clipped to the end of the range.
  template <class F>
  void for_each_dirty_range(F&& f) const {
    std::uint64_t run_start = 0, run_pages = 0;
    const auto flush = [&] {
      if (run_pages == 0) return;
      std::uint64_t size = run_pages * page_size_;
      const std::uint64_t offset = run_start * page_size_;
      if (size > length_ - offset) size = length_ - offset;
      f(iova_ + offset, size);
      run_pages = 0;
    };
    for_each_dirty_page([&](std::uint64_t address) {
      const std::uint64_t index = (address - iova_) / page_size_;
      if (run_pages != 0 && index == run_start + run_pages) {
        ++run_pages;
        return;
      }
      flush();
      run_start = index;
      run_pages = 1;
    });
    flush();
  }

  /// ORs `other` into this bitmap: every page here that overlaps a dirty page of
  /// `other` becomes dirty. Page sizes and ranges may differ: a dirty page of a
  /// coarser bitmap marks every page it covers, a dirty page of a finer one the
  /// page that holds it; what lies outside this range is ignored (merging a
  /// device's DMA log and the IOMMU's report, or the rounds of a pre-copy loop).
  void merge(const dirty_bitmap& other) noexcept {
    if (&other == this) return;
    if (other.page_size_ == page_size_ && other.iova_ == iova_ && other.words_.size() == words_.size()) {
      for (std::size_t w = 0; w < words_.size(); ++w) words_[w] |= other.words_[w];
      return;
    }
    other.for_each_dirty_range([this](std::uint64_t address, std::uint64_t size) { set_range(address, size); });
  }

 private:
  heap_array<std::uint64_t> words_;
  std::uint64_t iova_ = 0;
  std::uint64_t length_ = 0;
  std::uint64_t page_size_ = 0;
  std::uint64_t pages_ = 0;
};

}  // namespace vfio

#endif  // VFIO_DIRTY_BITMAP_HPP_INCLUDED
