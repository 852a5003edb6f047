// Library version. CMakeLists.txt parses the three macros below.
#ifndef VFIO_VERSION_HPP_INCLUDED
#define VFIO_VERSION_HPP_INCLUDED

#define VFIO_VERSION_MAJOR 0
#define VFIO_VERSION_MINOR 1
#define VFIO_VERSION_PATCH 0
/// major * 10000 + minor * 100 + patch.
#define VFIO_VERSION (VFIO_VERSION_MAJOR * 10000 + VFIO_VERSION_MINOR * 100 + VFIO_VERSION_PATCH)

namespace vfio {

struct version_info {
  int major;
  int minor;
  int patch;
};

/// The version of the headers in use.
constexpr version_info version() noexcept { return {VFIO_VERSION_MAJOR, VFIO_VERSION_MINOR, VFIO_VERSION_PATCH}; }

}  // namespace vfio

#endif  // VFIO_VERSION_HPP_INCLUDED
