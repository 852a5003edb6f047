// heap_array: a fixed-size owned array whose allocation reports failure
// instead of throwing, for the variable-length parts of kernel replies.
#ifndef VFIO_HEAP_ARRAY_HPP_INCLUDED
#define VFIO_HEAP_ARRAY_HPP_INCLUDED

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "detail/owned.hpp"

namespace vfio {

/// A move-only array of trivially copyable T, sized once with allocate().
/// Every library call is noexcept and reports allocation failure as ENOMEM; a
/// std::vector cannot (its growth throws, and under -fno-exceptions aborts),
/// hence this type in replies whose length the kernel decides.
template <class T>
class heap_array {
  static_assert(std::is_trivially_copyable_v<T>, "heap_array holds kernel ABI records");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  heap_array() noexcept = default;
  heap_array(heap_array&& o) noexcept : data_(std::move(o.data_)), size_(std::exchange(o.size_, 0)) {}
  heap_array& operator=(heap_array&& o) noexcept {
    data_ = std::move(o.data_);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }
  heap_array(const heap_array&) = delete;
  heap_array& operator=(const heap_array&) = delete;
  ~heap_array() = default;

  /// Replaces the contents with n value-initialized elements (nothrow new).
  /// Returns false, leaving the array empty, when the allocation fails.
  bool allocate(std::size_t n) noexcept {
    data_.reset();
    size_ = 0;
    if (n == 0) return true;
    data_.reset(new (std::nothrow) T[n]());
    if (!data_) return false;
    size_ = n;
    return true;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T* data() noexcept { return data_.get(); }
  const T* data() const noexcept { return data_.get(); }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_.get(); }
  T* end() noexcept { return data_.get() + size_; }
  const T* begin() const noexcept { return data_.get(); }
  const T* end() const noexcept { return data_.get() + size_; }

 private:
  detail::owned<T[]> data_;
  std::size_t size_ = 0;
};

}  // namespace vfio

#endif  // VFIO_HEAP_ARRAY_HPP_INCLUDED
