// sim::function_ref<R(Args...)>: a non-owning reference to a callable, for the
// model's call-scoped hooks (the eventfd lookup of SET_IRQS, the descriptor
// install of a migration feature, the sysfs path resolver). Two pointers, no
// allocation, and no <functional>, which in libstdc++ 12 brings <unordered_map>.
#ifndef VFIO_TESTING_SIM_FUNCTION_REF_HPP_INCLUDED
#define VFIO_TESTING_SIM_FUNCTION_REF_HPP_INCLUDED

#include <type_traits>
#include <utility>

namespace vfio::testing::sim {

template <class Signature>
class function_ref;

/// Refers to a callable of signature R(Args...) without owning it. Precondition:
/// the callable outlives every call through the reference, so bind it to a named
/// object, or pass a lambda straight to a function that takes a function_ref
/// (the temporary lives until that call returns).
template <class R, class... Args>
class function_ref<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, function_ref> &&
                                              std::is_invocable_r_v<R, std::remove_reference_t<F>&, Args...>>>
  function_ref(F&& f) noexcept  // NOLINT(google-explicit-constructor): a lambda converts, as to std::function
      : object_(const_cast<void*>(static_cast<const void*>(__builtin_addressof(f)))),
        invoke_(&invoke_as<std::remove_reference_t<F>>) {}

  R operator()(Args... args) const { return invoke_(object_, std::forward<Args>(args)...); }

 private:
  template <class T>
  static R invoke_as(void* object, Args&&... args) {
    return static_cast<R>((*static_cast<T*>(object))(std::forward<Args>(args)...));
  }

  void* object_;
  R (*invoke_)(void*, Args&&...);
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_FUNCTION_REF_HPP_INCLUDED
