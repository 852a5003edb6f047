// owned<T> / owned<T[]>: the part of std::unique_ptr the library uses (sole
// ownership, delete / delete[] on destruction, moves), without <memory>, which
// adds about 10k preprocessed lines to every file that includes the library.
#ifndef VFIO_DETAIL_OWNED_HPP_INCLUDED
#define VFIO_DETAIL_OWNED_HPP_INCLUDED

#include <cstddef>
#include <utility>

namespace vfio::detail {

template <class T>
class owned {
 public:
  owned() noexcept = default;
  explicit owned(T* p) noexcept : p_(p) {}
  owned(owned&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  owned& operator=(owned&& o) noexcept {
    if (this != &o) reset(std::exchange(o.p_, nullptr));
    return *this;
  }
  owned(const owned&) = delete;
  owned& operator=(const owned&) = delete;
  ~owned() { delete p_; }

  void reset(T* p = nullptr) noexcept { delete std::exchange(p_, p); }
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

template <class T>
class owned<T[]> {
 public:
  owned() noexcept = default;
  explicit owned(T* p) noexcept : p_(p) {}
  owned(owned&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  owned& operator=(owned&& o) noexcept {
    if (this != &o) reset(std::exchange(o.p_, nullptr));
    return *this;
  }
  owned(const owned&) = delete;
  owned& operator=(const owned&) = delete;
  ~owned() { delete[] p_; }

  void reset(T* p = nullptr) noexcept { delete[] std::exchange(p_, p); }
  T* get() const noexcept { return p_; }
  T& operator[](std::size_t i) const noexcept { return p_[i]; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

}  // namespace vfio::detail

#endif  // VFIO_DETAIL_OWNED_HPP_INCLUDED
