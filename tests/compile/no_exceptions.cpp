// Every header together, built with -fno-exceptions -fno-rtti. At run time it
// checks that value() on an error reaches the installed bad-access handler.
#include "all_headers.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#if VFIO_USE_EXCEPTIONS
#error "this translation unit must be built with -fno-exceptions"
#endif

namespace {
void on_bad_access(const vfio::error& e) noexcept {
  // The handler sees the failing operation; exit with success before the abort.
  std::exit(std::string_view(e.operation()) == "VFIO_GET_API_VERSION" ? 0 : 3);
}
vfio::result<int> failing() noexcept { return vfio::errno_error(ENOTTY, "VFIO_GET_API_VERSION"); }
}  // namespace

int main() {
  vfio::set_bad_access_handler(&on_bad_access);
  auto r = failing();
  if (r.has_value()) return 1;
  (void)r.value();  // must call on_bad_access
  return 2;
}
