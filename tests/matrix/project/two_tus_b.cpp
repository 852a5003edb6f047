// Second TU of the link check, built with -fno-exceptions: odr-uses the same
// inline functions and templates as two_tus_a.cpp.
#include "all_headers.hpp"

#if VFIO_USE_EXCEPTIONS
#error "two_tus_b.cpp must be built with -fno-exceptions"
#endif

int value_through_b(int x) noexcept {
  const vfio::result<int> r(x);
  (void)vfio::default_syscalls();
  (void)vfio::category();
  return r.value();
}
