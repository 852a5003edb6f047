// Second translation unit of the link check: odr-uses inline functions from the headers.
#include "all_headers.hpp"

int value_from_b() noexcept {
  (void)vfio::default_syscalls();
  (void)vfio::category();
  return VFIO_VERSION;
}
