// A downstream program: includes the library, prints its version and checks it
// against the project version of the checkout under test.
#if __has_include(<vfio/vfio.hpp>)
#include <vfio/vfio.hpp>
#else
#include <vfio/result.hpp>
#include <vfio/syscalls.hpp>
#include <vfio/version.hpp>
#endif

#include <cerrno>
#include <cstdio>
#include <cstring>

#ifndef VFIO_EXPECTED_VERSION
#error "build with -DVFIO_EXPECTED_VERSION=\"MAJOR.MINOR.PATCH\""
#endif

namespace {
vfio::result<int> refuse() noexcept { return vfio::errno_error(EBUSY, "open"); }
}  // namespace

int main() {
  constexpr vfio::version_info v = vfio::version();
  static_assert(VFIO_VERSION == v.major * 10000 + v.minor * 100 + v.patch, "VFIO_VERSION and version() disagree");
  char text[32];
  std::snprintf(text, sizeof text, "%d.%d.%d", v.major, v.minor, v.patch);
  std::printf("vfio %s (expected %s)\n", text, VFIO_EXPECTED_VERSION);
  if (std::strcmp(text, VFIO_EXPECTED_VERSION) != 0) return 1;

  // Something from the library beyond the version: an error value and the seam.
  const vfio::result<int> r = refuse();
  if (r.has_value() || r.error().value() != EBUSY || std::strcmp(r.error().operation(), "open") != 0) return 2;
  vfio::syscalls& sys = vfio::default_syscalls();
  (void)sys;
  return 0;
}
