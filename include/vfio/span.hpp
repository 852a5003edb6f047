// span<T>: a non-owning view of contiguous elements (std::span is C++20).
#ifndef VFIO_SPAN_HPP_INCLUDED
#define VFIO_SPAN_HPP_INCLUDED

#include <array>
#include <cstddef>
#include <initializer_list>
#include <type_traits>

namespace vfio {

/// A pointer and a count. Converts from arrays, std::array, initializer lists
/// and any container with data() and size() (std::vector, std::span ...).
template <class T>
class span {
 public:
  constexpr span() noexcept = default;
  constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  template <std::size_t N>
  constexpr span(T (&a)[N]) noexcept : data_(a), size_(N) {}  // NOLINT: implicit
  template <class C, class = decltype(std::declval<C&>().data()),
            class = std::enable_if_t<std::is_convertible<decltype(std::declval<C&>().data()), T*>::value>>
  constexpr span(C& c) noexcept : data_(c.data()), size_(c.size()) {}  // NOLINT: implicit
  template <class U = T, class = std::enable_if_t<std::is_const<U>::value>>
  constexpr span(std::initializer_list<std::remove_const_t<U>> il) noexcept  // NOLINT: implicit
      : data_(il.begin()), size_(il.size()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace vfio

#endif  // VFIO_SPAN_HPP_INCLUDED
