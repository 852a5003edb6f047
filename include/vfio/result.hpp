// result<T>: a value or a vfio::error, spelled like C++23's std::expected<T, vfio::error>
// so that code written against it ports by a change of type name:
//
//   has_value(), operator bool, value(), operator*, operator->, value_or(v),
//   error(), error_or(e),
//   and_then(f)         f(value) -> result<U>; an error passes through untouched
//   transform(f)        f(value) -> U (or void), wrapped in result<U>
//   or_else(f)          f(error) -> result<T>; a value passes through
//   transform_error(f)  f(error) -> vfio::error (the error type is fixed)
//
// Returning a failure from a function of any result<U> type: `return r.error();`
// (vfio::error converts to every result<U>), or, spelled as std::expected code
// would be, `return vfio::unexpected(r.error());`.
//
// Every member is noexcept whenever the callable and T's construction are;
// with -fno-exceptions nothing here can throw. Only value() on an error throws
// (std::system_error), and only with exceptions enabled.
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

template <class T>
class [[nodiscard]] result;

/// A failure on its way out of a function, as C++23's std::unexpected spells it:
/// converts to every result<U>. `return vfio::unexpected(r.error());` reads the
/// same as the std::expected code it ports to.
class unexpected {
 public:
  explicit unexpected(const vfio::error& e) noexcept : error_(e) {}
  const vfio::error& error() const noexcept { return error_; }

 private:
  vfio::error error_;
};

}  // namespace VFIO_MODE_NAMESPACE

namespace detail {
template <class R>
struct is_result : std::false_type {};
template <class U>
struct is_result<result<U>> : std::true_type {};
template <class T>
using remove_cvref_t = std::remove_cv_t<std::remove_reference_t<T>>;
/// What and_then's callable returns (must be a result<U>).
template <class F, class... A>
using and_then_t = remove_cvref_t<std::invoke_result_t<F, A...>>;
/// result<U> for transform's callable returning U.
template <class F, class... A>
using transform_t = result<std::remove_cv_t<std::invoke_result_t<F, A...>>>;

// std::invoke for what the members below pass (a callable with no argument or
// one, a pointer to member with its object or a pointer to it), without
// <functional>: that header preprocesses to 35k lines in libstdc++ 12 (it brings
// <unordered_map> for C++17's searchers), more than the rest of this library.
// A std::reference_wrapper as the object is not unwrapped (a compile error).
template <class M>
struct member_class;
template <class M, class C>
struct member_class<M C::*> {
  using type = C;
};
template <class M, class O>
constexpr decltype(auto) invoke_member(M m, O&& o) noexcept(std::is_nothrow_invocable<M, O&&>::value) {
  using C = typename member_class<M>::type;
  constexpr bool direct = std::is_base_of<C, remove_cvref_t<O>>::value;
  if constexpr (std::is_member_function_pointer<M>::value) {
    if constexpr (direct)
      return (std::forward<O>(o).*m)();
    else
      return ((*std::forward<O>(o)).*m)();
  } else {
    if constexpr (direct)
      return std::forward<O>(o).*m;
    else
      return (*std::forward<O>(o)).*m;
  }
}
template <class F, class... A>
constexpr decltype(auto) invoke(F&& f, A&&... a) noexcept(std::is_nothrow_invocable<F, A&&...>::value) {
  if constexpr (std::is_member_pointer<remove_cvref_t<F>>::value)
    return invoke_member(f, std::forward<A>(a)...);
  else
    return std::forward<F>(f)(std::forward<A>(a)...);
}
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
  result(const unexpected& u) noexcept : error_(u.error()), has_(false) {}                      // NOLINT: implicit
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

  /// The value, or `fallback` converted to T.
  template <class U>
  T value_or(U&& fallback) const& noexcept(
      std::is_nothrow_copy_constructible<T>::value&& std::is_nothrow_constructible<T, U&&>::value) {
    return has_ ? value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && noexcept(std::is_nothrow_constructible<T, U&&>::value) {
    return has_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback));
  }
  /// The error; precondition !has_value() (returns an empty error otherwise).
  const vfio::error& error() const noexcept {
    static const class error none;
    return has_ ? none : error_;
  }
  /// The error, or `fallback` when there is a value.
  vfio::error error_or(const vfio::error& fallback) const noexcept { return has_ ? fallback : error_; }

  // The monadic members deduce their return types (stated in each comment) instead
  // of spelling them as trailing return types: GCC substitutes T into a trailing
  // return type for every result<T> the program names: 11.8 million compiler
  // instructions per result<T> with them, 2.8 million without, and 11% of
  // <vfio/vfio.hpp>'s compile cost (tests/bench/header_cost.sh).

  /// f(value), which returns some result<U>; on an error, that error as result<U>
  /// without calling f.
  template <class F>
  auto and_then(F&& f) & noexcept(std::is_nothrow_invocable<F, T&>::value) {
    using R = detail::and_then_t<F, T&>;
    static_assert(detail::is_result<R>::value, "and_then: the callable must return a vfio::result");
    if (has_) return detail::invoke(std::forward<F>(f), value_);
    return R{error_};
  }
  template <class F>
  auto and_then(F&& f) const& noexcept(std::is_nothrow_invocable<F, const T&>::value) {
    using R = detail::and_then_t<F, const T&>;
    static_assert(detail::is_result<R>::value, "and_then: the callable must return a vfio::result");
    if (has_) return detail::invoke(std::forward<F>(f), value_);
    return R{error_};
  }
  template <class F>
  auto and_then(F&& f) && noexcept(std::is_nothrow_invocable<F, T&&>::value) {
    using R = detail::and_then_t<F, T&&>;
    static_assert(detail::is_result<R>::value, "and_then: the callable must return a vfio::result");
    if (has_) return detail::invoke(std::forward<F>(f), std::move(value_));
    return R{error_};
  }

  /// result<U> holding f(value) (result<void> when f returns void); on an
  /// error, that error without calling f.
  template <class F>
  auto transform(F&& f) & noexcept(std::is_nothrow_invocable<F, T&>::value) {
    return transform_impl<detail::transform_t<F, T&>>(std::forward<F>(f), value_);
  }
  template <class F>
  auto transform(F&& f) const& noexcept(std::is_nothrow_invocable<F, const T&>::value) {
    return transform_impl<detail::transform_t<F, const T&>>(std::forward<F>(f), value_);
  }
  template <class F>
  auto transform(F&& f) && noexcept(std::is_nothrow_invocable<F, T&&>::value) {
    return transform_impl<detail::transform_t<F, T&&>>(std::forward<F>(f), std::move(value_));
  }

  /// On an error, f(error), which returns result<T> (a recovery or another
  /// error); a value passes through without calling f.
  template <class F>
  result or_else(F&& f) const& noexcept(
      std::is_nothrow_invocable<F, const vfio::error&>::value&& std::is_nothrow_copy_constructible<T>::value) {
    static_assert(std::is_same<detail::and_then_t<F, const vfio::error&>, result>::value,
                  "or_else: the callable must return the same result<T>");
    if (has_) return *this;
    return detail::invoke(std::forward<F>(f), error_);
  }
  template <class F>
  result or_else(F&& f) && noexcept(std::is_nothrow_invocable<F, const vfio::error&>::value) {
    static_assert(std::is_same<detail::and_then_t<F, const vfio::error&>, result>::value,
                  "or_else: the callable must return the same result<T>");
    if (has_) return std::move(*this);
    return detail::invoke(std::forward<F>(f), error_);
  }

  /// On an error, the error f(error) returns (e.g. a more specific operation);
  /// a value passes through without calling f.
  template <class F>
  result transform_error(F&& f) const& noexcept(
      std::is_nothrow_invocable<F, const vfio::error&>::value&& std::is_nothrow_copy_constructible<T>::value) {
    static_assert(std::is_convertible<std::invoke_result_t<F, const vfio::error&>, vfio::error>::value,
                  "transform_error: the callable must return a vfio::error");
    if (has_) return *this;
    const vfio::error changed = detail::invoke(std::forward<F>(f), error_);
    return changed;
  }
  template <class F>
  result transform_error(F&& f) && noexcept(std::is_nothrow_invocable<F, const vfio::error&>::value) {
    static_assert(std::is_convertible<std::invoke_result_t<F, const vfio::error&>, vfio::error>::value,
                  "transform_error: the callable must return a vfio::error");
    if (has_) return std::move(*this);
    const vfio::error changed = detail::invoke(std::forward<F>(f), error_);
    return changed;
  }

 private:
  template <class R, class F, class V>
  R transform_impl(F&& f, V&& v) const noexcept(std::is_nothrow_invocable<F, V&&>::value) {
    if (!has_) return R{error_};
    if constexpr (std::is_void<typename R::value_type>::value) {
      detail::invoke(std::forward<F>(f), std::forward<V>(v));
      return R{};
    } else {
      return R{detail::invoke(std::forward<F>(f), std::forward<V>(v))};
    }
  }
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
  // Success constructs no error: the error lives in a union beside an empty
  // member, so the common path costs one byte store (a defaulted member would
  // build a std::error_code, an out-of-line call to std::system_category()).
  result() noexcept : has_(true) {}
  explicit result(std::in_place_t) noexcept : has_(true) {}
  result(vfio::error e) noexcept : error_(e), has_(false) {}                // NOLINT: implicit
  result(const unexpected& u) noexcept : error_(u.error()), has_(false) {}  // NOLINT: implicit
  result(const result& o) noexcept : has_(o.has_) {
    if (!has_) ::new (static_cast<void*>(&error_)) vfio::error(o.error_);
  }
  result& operator=(const result& o) noexcept {
    has_ = o.has_;
    if (!has_) ::new (static_cast<void*>(&error_)) vfio::error(o.error_);
    return *this;
  }
  // Moving is copying (both members are trivially copyable). Spelled out rather
  // than implicit: the implicit copy moves the whole 40-byte union even on success,
  // 20 more instructions a config access (tests/bench/instructions.cpp).
  result(result&& o) noexcept : has_(o.has_) {
    if (!has_) ::new (static_cast<void*>(&error_)) vfio::error(o.error_);
  }
  result& operator=(result&& o) noexcept { return *this = static_cast<const result&>(o); }
  ~result() = default;

  bool has_value() const noexcept { return has_; }
  explicit operator bool() const noexcept { return has_; }
  void value() const {
    if (!has_) detail::bad_result_access(error_);
  }
  /// Unchecked: precondition has_value().
  void operator*() const noexcept {}
  /// The error; precondition !has_value() (returns an empty error otherwise).
  const vfio::error& error() const noexcept { return has_ ? empty_error() : error_; }
  vfio::error error_or(const vfio::error& fallback) const noexcept { return has_ ? fallback : error_; }

  /// f(), which returns some result<U>; on an error, that error as result<U>.
  template <class F>
  auto and_then(F&& f) const noexcept(std::is_nothrow_invocable<F>::value) {
    using R = detail::and_then_t<F>;
    static_assert(detail::is_result<R>::value, "and_then: the callable must return a vfio::result");
    if (has_) return detail::invoke(std::forward<F>(f));
    return R{error_};
  }
  /// result<U> holding f() (result<void> when f returns void); on an error, that error.
  template <class F>
  auto transform(F&& f) const noexcept(std::is_nothrow_invocable<F>::value) {
    using R = detail::transform_t<F>;
    if (!has_) return R{error_};
    if constexpr (std::is_void<typename R::value_type>::value) {
      detail::invoke(std::forward<F>(f));
      return R{};
    } else {
      return R{detail::invoke(std::forward<F>(f))};
    }
  }
  /// On an error, f(error), which returns result<void>; success passes through.
  template <class F>
  result or_else(F&& f) const noexcept(std::is_nothrow_invocable<F, const vfio::error&>::value) {
    static_assert(std::is_same<detail::and_then_t<F, const vfio::error&>, result>::value,
                  "or_else: the callable must return result<void>");
    if (has_) return *this;
    return detail::invoke(std::forward<F>(f), error_);
  }
  /// On an error, the error f(error) returns; success passes through.
  template <class F>
  result transform_error(F&& f) const noexcept(std::is_nothrow_invocable<F, const vfio::error&>::value) {
    static_assert(std::is_convertible<std::invoke_result_t<F, const vfio::error&>, vfio::error>::value,
                  "transform_error: the callable must return a vfio::error");
    if (has_) return *this;
    const vfio::error changed = detail::invoke(std::forward<F>(f), error_);
    return changed;
  }

 private:
  static const vfio::error& empty_error() noexcept {
    static const vfio::error none;
    return none;
  }
  union {
    char none_ = 0;
    class error error_;
  };
  bool has_;
};

}  // namespace VFIO_MODE_NAMESPACE

}  // namespace vfio

#endif  // VFIO_RESULT_HPP_INCLUDED
