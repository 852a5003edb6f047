// The version in the headers is the CMake project version: CMakeLists.txt
// parses version.hpp, and this TU gets PROJECT_VERSION back as definitions.
#include <vfio/version.hpp>

#include <cstdio>
#include <cstring>

static_assert(VFIO_VERSION_MAJOR == VFIO_PROJECT_VERSION_MAJOR, "VFIO_VERSION_MAJOR is not the CMake project version");
static_assert(VFIO_VERSION_MINOR == VFIO_PROJECT_VERSION_MINOR, "VFIO_VERSION_MINOR is not the CMake project version");
static_assert(VFIO_VERSION_PATCH == VFIO_PROJECT_VERSION_PATCH, "VFIO_VERSION_PATCH is not the CMake project version");
static_assert(VFIO_VERSION ==
                  VFIO_PROJECT_VERSION_MAJOR * 10000 + VFIO_PROJECT_VERSION_MINOR * 100 + VFIO_PROJECT_VERSION_PATCH,
              "VFIO_VERSION does not encode the CMake project version");
static_assert(vfio::version().major == VFIO_PROJECT_VERSION_MAJOR &&
                  vfio::version().minor == VFIO_PROJECT_VERSION_MINOR &&
                  vfio::version().patch == VFIO_PROJECT_VERSION_PATCH,
              "vfio::version() is not the CMake project version");

int main() {
  const vfio::version_info v = vfio::version();
  char text[32];
  std::snprintf(text, sizeof text, "%d.%d.%d", v.major, v.minor, v.patch);
  std::printf("vfio::version() %s, CMake PROJECT_VERSION %s\n", text, VFIO_PROJECT_VERSION);
  return std::strcmp(text, VFIO_PROJECT_VERSION) == 0 ? 0 : 1;
}
