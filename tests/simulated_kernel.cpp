// The simulated kernel's model, compiled once for the test programs that link
// vfio_simulated_kernel_cxx<std> (tests/common.cmake), which define
// VFIO_TESTING_SEPARATE_COMPILATION for all of their files.
#include <vfio/testing/simulated_kernel_impl.hpp>
