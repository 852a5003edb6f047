// Compiles cleanly with the consumer's own (default) flags, and would fail if
// vfio's warning options (-Wall -Wextra -Wpedantic -Werror) reached consumers:
// an unused parameter (-Wextra), an unused variable (-Wall) and a flexible array
// member (-Wpedantic), all turned into errors by -Werror.
#include <vfio/version.hpp>

struct probe_with_flexible_array {
  int count;
  int items[];
};

int probe_unused(int unused_parameter) {
  int unused_variable;
  return vfio::version().major;
}
