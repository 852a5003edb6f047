// Variable-size ioctl argument buffers and the bounded walk of VFIO
// capability chains (vfio_info_cap_header lists).
#ifndef VFIO_DETAIL_INFO_BUFFER_HPP_INCLUDED
#define VFIO_DETAIL_INFO_BUFFER_HPP_INCLUDED

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "../abi/vfio.hpp"
#include "../error.hpp"
#include "../result.hpp"
#include "owned.hpp"

namespace vfio::detail {

/// The largest argsz the library accepts from the kernel when it asks for a
/// larger buffer. Real info structs with capabilities are a few hundred bytes;
/// anything near this bound means a broken or hostile reply.
inline constexpr std::uint32_t max_info_argsz = 64 * 1024;

/// An 8-byte aligned, zeroed heap buffer for *_INFO ioctls whose argsz the kernel may grow.
class info_buffer {
 public:
  info_buffer() noexcept = default;
  /// Allocates size bytes (rounded up to 8). Returns false on allocation failure.
  bool allocate(std::uint32_t size) noexcept {
    const std::size_t words = (static_cast<std::size_t>(size) + 7) / 8;
    words_.reset(new (std::nothrow) std::uint64_t[words]());
    size_ = words_ ? size : 0;
    return static_cast<bool>(words_);
  }
  std::uint8_t* data() noexcept { return reinterpret_cast<std::uint8_t*>(words_.get()); }
  const std::uint8_t* data() const noexcept { return reinterpret_cast<const std::uint8_t*>(words_.get()); }
  std::uint32_t size() const noexcept { return size_; }

  /// Copies a trivially copyable T out of the buffer at offset (bounds already checked).
  template <class T>
  T load(std::size_t offset) const noexcept {
    T v{};
    std::memcpy(&v, data() + offset, sizeof v);
    return v;
  }

 private:
  detail::owned<std::uint64_t[]> words_;
  std::uint32_t size_ = 0;
};

/// An 8-byte aligned, zeroed stack buffer of Size bytes for the first call of an
/// *_INFO ioctl: sized for the usual reply, so that call needs no heap buffer and
/// no second ioctl (the kernel raises argsz only when the reply does not fit).
template <std::uint32_t Size>
class stack_info_buffer {
  static_assert(Size % 8 == 0, "a whole number of 8-byte words");

 public:
  std::uint8_t* data() noexcept { return reinterpret_cast<std::uint8_t*>(words_); }
  const std::uint8_t* data() const noexcept { return reinterpret_cast<const std::uint8_t*>(words_); }
  std::uint32_t size() const noexcept { return Size; }

  /// Copies a trivially copyable T out of the buffer at offset (bounds already checked).
  template <class T>
  T load(std::size_t offset) const noexcept {
    T v{};
    std::memcpy(&v, data() + offset, sizeof v);
    return v;
  }

 private:
  std::uint64_t words_[Size / 8] = {};
};

/// Calls on_cap(id, version, offset, length_available) for each capability of
/// the chain that starts at first_offset in buf[0, size). Offsets are from the
/// start of the buffer (as the kernel writes them); 0 ends the chain.
/// Fails with errc::malformed_capability_chain when an offset points inside the
/// fixed header, past the end, is misaligned, or the chain is longer than the
/// buffer could hold (a cycle). on_cap returns false to stop early.
template <class OnCap>
result<void> walk_info_caps(const std::uint8_t* buf, std::uint32_t size, std::uint32_t header_size,
                            std::uint32_t first_offset, const char* operation, OnCap on_cap) noexcept {
  std::uint32_t offset = first_offset;
  const std::uint32_t max_steps = size / sizeof(abi::info_cap_header) + 1;
  for (std::uint32_t step = 0; offset != 0; ++step) {
    if (step >= max_steps || offset < header_size || offset % 4 != 0 || offset > size ||
        size - offset < sizeof(abi::info_cap_header))
      return error(errc::malformed_capability_chain, operation);
    abi::info_cap_header h{};
    std::memcpy(&h, buf + offset, sizeof h);
    if (!on_cap(h.id, h.version, offset, size - offset)) return {};
    offset = h.next;
  }
  return {};
}

}  // namespace vfio::detail

#endif  // VFIO_DETAIL_INFO_BUFFER_HPP_INCLUDED
