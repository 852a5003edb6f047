// Two translation units that include every header, linked into one program.
#include "all_headers.hpp"

int value_from_b() noexcept;

int main() {
  const vfio::version_info v = vfio::version();
  return value_from_b() == v.major * 10000 + v.minor * 100 + v.patch ? 0 : 1;
}
