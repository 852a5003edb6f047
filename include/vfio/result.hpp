// result<T>: a value or a vfio::error, spelled like std::expected.
#ifndef VFIO_RESULT_HPP_INCLUDED
#define VFIO_RESULT_HPP_INCLUDED

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

#include "config.hpp"
#include "error.hpp"

#if VFIO_USE_EXCEPTIONS
#include <system_error>
#endif

namespace vfio {

/// Called by result<T>::value() on an error when exceptions are off. It may log;
/// if it returns, std::abort() follows. The default prints error::message() to stderr.
using bad_access_handler = void (*)(const error&) noexcept;

namespace detail {
inline void default_bad_access(const error& e) noexcept {
  std::fprintf(stderr, "vfio: value() called on an error: %s: %s\n", e.operation(), e.code().message().c_str());
}
inline std::atomic<bad_access_handler>& bad_access_slot() noexcept {
  static std::atomic<bad_access_handler> slot{&default_bad_access};
  return slot;
}
}  // namespace detail

/// Installs the handler result<T>::value() calls on an error in -fno-exceptions
/// builds; returns the previous one. Thread-safe.
inline bad_access_handler set_bad_access_handler(bad_access_handler h) noexcept {
  return detail::bad_access_slot().exchange(h ? h : &detail::default_bad_access);
}

namespace detail {
inline namespace VFIO_MODE_NAMESPACE {
[[noreturn]] inline void bad_result_access(const vfio::error& e) {
#if VFIO_USE_EXCEPTIONS
  throw std::system_error(e.code(), e.operation());
#else
  bad_access_slot().load()(e);
  std::abort();
#endif
}
}  // namespace VFIO_MODE_NAMESPACE
}  // namespace detail

inline namespace VFIO_MODE_NAMESPACE {

/// Either a T or an error. Every fallible library call returns one.
/// value() on an error throws std::system_error (exceptions on) or calls the
/// bad-access handler and aborts (exceptions off); check has_value() first.
template <class T>
class [[nodiscard]] result {
  static_assert(std::is_nothrow_move_constructible<T>::value, "result<T> needs a noexcept move");
  static_assert(!std::is_reference<T>::value, "result<T&> is not supported");

 public:
  using value_type = T;

  result(const T& v) noexcept(std::is_nothrow_copy_constructible<T>::value)  // NOLINT: implicit
      : has_(true) {
    ::new (static_cast<void*>(&value_)) T(v);
  }
  result(T&& v) noexcept : has_(true) { ::new (static_cast<void*>(&value_)) T(std::move(v)); }  // NOLINT
  result(vfio::error e) noexcept : error_(e), has_(false) {}                                    // NOLINT: implicit
  /// Builds the value in place.
  template <class... Args>
  explicit result(std::in_place_t, Args&&... args) noexcept : has_(true) {
    ::new (static_cast<void*>(&value_)) T(std::forward<Args>(args)...);
  }

  result(const result& o) noexcept(std::is_nothrow_copy_constructible<T>::value) : has_(o.has_) {
    if (has_)
      ::new (static_cast<void*>(&value_)) T(o.value_);
    else
      error_ = o.error_;
  }
  result(result&& o) noexcept : has_(o.has_) {
    if (has_)
      ::new (static_cast<void*>(&value_)) T(std::move(o.value_));
    else
      error_ = o.error_;
  }
  result& operator=(const result& o) noexcept(std::is_nothrow_copy_constructible<T>::value) {
    if (this != &o) {
      destroy();
      has_ = o.has_;
      if (has_)
        ::new (static_cast<void*>(&value_)) T(o.value_);
      else
        ::new (static_cast<void*>(&error_)) vfio::error(o.error_);
    }
    return *this;
  }
  result& operator=(result&& o) noexcept {
    if (this != &o) {
      destroy();
      has_ = o.has_;
      if (has_)
        ::new (static_cast<void*>(&value_)) T(std::move(o.value_));
      else
        ::new (static_cast<void*>(&error_)) vfio::error(o.error_);
    }
    return *this;
  }
  ~result() { destroy(); }

  bool has_value() const noexcept { return has_; }
  explicit operator bool() const noexcept { return has_; }

  T& value() & {
    if (!has_) detail::bad_result_access(error_);
    return value_;
  }
  const T& value() const& {
    if (!has_) detail::bad_result_access(error_);
    return value_;
  }
  T&& value() && {
    if (!has_) detail::bad_result_access(error_);
    return std::move(value_);
  }
  /// Unchecked access: precondition has_value().
  T& operator*() & noexcept { return value_; }
  const T& operator*() const& noexcept { return value_; }
  T&& operator*() && noexcept { return std::move(value_); }
  T* operator->() noexcept { return &value_; }
  const T* operator->() const noexcept { return &value_; }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_ ? value_ : static_cast<T>(std::forward<U>(fallback));
  }
  /// The error; precondition !has_value() (returns an empty error otherwise).
  const vfio::error& error() const noexcept {
    static const class error none;
    return has_ ? none : error_;
  }

 private:
  void destroy() noexcept {
    if (has_) value_.~T();
  }
  union {
    T value_;
    class error error_;
  };
  bool has_;
};

/// Success or an error, for calls with nothing to return.
template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  result() noexcept = default;
  result(vfio::error e) noexcept : error_(e), has_(false) {}  // NOLINT: implicit

  bool has_value() const noexcept { return has_; }
  explicit operator bool() const noexcept { return has_; }
  void value() const {
    if (!has_) detail::bad_result_access(error_);
  }
  const vfio::error& error() const noexcept { return error_; }

 private:
  class error error_;
  bool has_ = true;
};

}  // namespace VFIO_MODE_NAMESPACE

}  // namespace vfio

#endif  // VFIO_RESULT_HPP_INCLUDED
