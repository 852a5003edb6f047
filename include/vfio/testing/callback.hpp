// vfio::testing::callback<R(Args...)>: an owning, copyable, type-erased function
// object, for the testing headers' hooks (sim::kernel_options::user_memory,
// sim::fault_rule::argument, scripted_syscalls::mismatch_handler). It holds what
// std::function would (a lambda, with or without captures, a function pointer, any
// copyable function object) without <functional>, which in libstdc++ 12 brings
// <unordered_map> for C++17's searchers and was a sixth of the cost of compiling
// <vfio/testing/simulated_kernel.hpp>'s declarations (tests/bench/BENCHMARKS.md,
// "Header cost").
#ifndef VFIO_TESTING_CALLBACK_HPP_INCLUDED
#define VFIO_TESTING_CALLBACK_HPP_INCLUDED

#include <cstddef>
#include <type_traits>
#include <utility>

namespace vfio::testing {

template <class Signature>
class callback;

/// An owning, copyable function object of signature R(Args...), empty by default.
/// Assign a lambda to set it and `nullptr` (or `{}`) to empty it; copies copy the
/// held object, a move empties the source. Holding an object is one heap
/// allocation (operator new; std::bad_alloc propagates as from std::function,
/// and aborts under -fno-exceptions). Not thread-safe to assign while another
/// thread calls it, like std::function.
template <class R, class... Args>
class callback<R(Args...)> {
  template <class F>
  using accepted =
      std::enable_if_t<!std::is_same_v<std::decay_t<F>, callback> && !std::is_same_v<std::decay_t<F>, std::nullptr_t> &&
                       std::is_copy_constructible_v<std::decay_t<F>> &&
                       std::is_invocable_r_v<R, std::decay_t<F>&, Args...>>;

 public:
  callback() noexcept = default;
  callback(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): as std::function

  /// Holds a copy (or the moved value) of `f`: any copyable object callable as
  /// R(Args...). A null function pointer gives an empty callback, as it does
  /// std::function.
  template <class F, class = accepted<F>>
  callback(F&& f) {  // NOLINT(google-explicit-constructor): `hook = [](...) {...};` as with std::function
    using D = std::decay_t<F>;
    if constexpr (std::is_pointer_v<std::remove_reference_t<F>>) {  // not for a function's name
      if (f == nullptr) return;
    }
    target_ = new D(std::forward<F>(f));
    ops_ = &ops_for<D>;
  }

  callback(const callback& other)
      : target_(other.ops_ ? other.ops_->clone(other.target_) : nullptr), ops_(other.ops_) {}
  callback(callback&& other) noexcept
      : target_(std::exchange(other.target_, nullptr)), ops_(std::exchange(other.ops_, nullptr)) {}
  callback& operator=(const callback& other) {
    if (this != &other) {
      callback copy(other);
      swap(copy);
    }
    return *this;
  }
  // Also what `hook = lambda;` and `hook = nullptr;` use, through a temporary.
  callback& operator=(callback&& other) noexcept {
    callback moved(std::move(other));
    swap(moved);
    return *this;
  }
  ~callback() {
    if (ops_) ops_->destroy(target_);
  }

  void swap(callback& other) noexcept {
    std::swap(target_, other.target_);
    std::swap(ops_, other.ops_);
  }

  /// Whether it holds a function object.
  explicit operator bool() const noexcept { return ops_ != nullptr; }

  /// Calls the held object. Precondition: not empty (test with operator bool;
  /// std::function would throw std::bad_function_call, this one cannot).
  R operator()(Args... args) const { return ops_->invoke(target_, std::forward<Args>(args)...); }

  friend bool operator==(const callback& c, std::nullptr_t) noexcept { return !c; }
  friend bool operator!=(const callback& c, std::nullptr_t) noexcept { return static_cast<bool>(c); }

 private:
  struct operations {
    R (*invoke)(void*, Args&&...);
    void* (*clone)(const void*);
    void (*destroy)(void*) noexcept;
  };
  template <class D>
  static R invoke_as(void* target, Args&&... args) {
    return static_cast<R>((*static_cast<D*>(target))(std::forward<Args>(args)...));
  }
  template <class D>
  static void* clone_as(const void* target) {
    return new D(*static_cast<const D*>(target));
  }
  template <class D>
  static void destroy_as(void* target) noexcept {
    delete static_cast<D*>(target);
  }
  template <class D>
  static constexpr operations ops_for{&invoke_as<D>, &clone_as<D>, &destroy_as<D>};

  void* target_ = nullptr;
  const operations* ops_ = nullptr;
};

}  // namespace vfio::testing

#endif  // VFIO_TESTING_CALLBACK_HPP_INCLUDED
