// owned<T> / owned<T[]>: the part of std::unique_ptr the library uses (sole
// ownership, delete / delete[] on destruction, moves), without <memory>, which
// adds about 10k preprocessed lines to every file that includes the library.
#ifndef VFIO_DETAIL_OWNED_HPP_INCLUDED
#define VFIO_DETAIL_OWNED_HPP_INCLUDED

#include <cstddef>
#include <type_traits>
#include <utility>

namespace vfio::detail {

/// T: an object type (delete) or U[] (delete[]).
template <class T>
class owned {
 public:
  using element_type = std::remove_extent_t<T>;

  owned() noexcept = default;
  explicit owned(element_type* p) noexcept : p_(p) {}
  owned(owned&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  owned& operator=(owned&& o) noexcept {
    if (this != &o) reset(std::exchange(o.p_, nullptr));
    return *this;
  }
  owned(const owned&) = delete;
  owned& operator=(const owned&) = delete;
  ~owned() { destroy(p_); }

  void reset(element_type* p = nullptr) noexcept { destroy(std::exchange(p_, p)); }
  element_type* get() const noexcept { return p_; }
  element_type* operator->() const noexcept { return p_; }
  element_type& operator*() const noexcept { return *p_; }
  element_type& operator[](std::size_t i) const noexcept { return p_[i]; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  static void destroy(element_type* p) noexcept {
    if constexpr (std::is_array_v<T>)
      delete[] p;
    else
      delete p;
  }
  element_type* p_ = nullptr;
};

}  // namespace vfio::detail

#endif  // VFIO_DETAIL_OWNED_HPP_INCLUDED
