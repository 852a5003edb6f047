// First TU of the link check, built with exceptions: value() on an error must
// throw even though two_tus_b.cpp, linked first, instantiates the same
// templates with -fno-exceptions.
#include "all_headers.hpp"

#include <cerrno>
#include <cstdio>
#include <system_error>

#if !VFIO_USE_EXCEPTIONS
#error "two_tus_a.cpp must be built with exceptions"
#endif

int value_through_b(int x) noexcept;

int main() {
  if (value_through_b(7) != 7) return 1;
  const vfio::result<int> busy = vfio::errno_error(EBUSY, "open");
  try {
    (void)busy.value();
  } catch (const std::system_error& e) {
    std::printf("two TUs linked; value() threw: %s\n", e.what());
    return e.code() == std::errc::device_or_resource_busy ? 0 : 2;
  }
  return 3;
}
