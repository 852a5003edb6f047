# What the project's test build (tests/CMakeLists.txt) and the sanitizer sub-build
# (tests/sanitize/) share: vfio_dev, Catch2's main, and the unit-test sources
# (VFIO_UNIT_SOURCES) with their batches. Needs vfio::vfio and Catch2::Catch2.
# Source properties are per directory: include this file in the directory that
# defines the targets.

# Warnings for the project's own code only; consumers of vfio::vfio never see them.
add_library(vfio_dev INTERFACE)
target_link_libraries(vfio_dev INTERFACE vfio::vfio)
target_compile_options(vfio_dev INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Werror>)
target_include_directories(vfio_dev INTERFACE ${CMAKE_CURRENT_LIST_DIR})

# vfio_catch_main_cxx<std>: Catch2's main as an object library, uninstrumented
# in every build (it is Catch2's code, not the project's).
function(vfio_catch_main std)
  add_library(vfio_catch_main_cxx${std} OBJECT ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/main.cpp)
  target_link_libraries(vfio_catch_main_cxx${std} PUBLIC Catch2::Catch2)
  set_target_properties(vfio_catch_main_cxx${std} PROPERTIES CXX_STANDARD ${std} CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
endfunction()

file(GLOB VFIO_UNIT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/unit/*.cpp)

# The ABI cross-checks include the system's <linux/*.h> next to the library's
# mirror; they stay in TUs of their own.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/unit/abi_crosscheck.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/abi_crosscheck_iommufd.cpp PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)

# The unit tests build in batches (CMake's unity build): every test file parses the
# same headers (Catch2, the library, the simulated kernel) and instantiates the same
# inline code, so one TU per batch instead of one per file cuts the build's CPU time
# several-fold. The batches follow what the files test, so that a change to one
# header rebuilds the batches whose files include it, not all of them: a file joins
# the first group whose pattern matches its name (a new file lands in `core` until
# it is given a group). Each test file keeps its names in a namespace of its own so
# that it can share a batch. VFIO_UNIT_BATCHES=OFF builds file by file.
option(VFIO_UNIT_BATCHES "Build the unit tests in one translation unit per group of related files" ON)
set(VFIO_UNIT_GROUPS
  # the simulated kernel on its own (<vfio/testing/simulated_kernel.hpp>, host/, its hook types)
  "sim:test_simulated_kernel_(device|dma|lifecycle|power|scale|sysfs|platform_pm)|test_testing_hooks"
  # migration, dirty tracking, and the open helpers (no PCI config access)
  "migration:test_(migration|simulated_kernel_migration|open)"
  # iommufd and device cdevs
  "iommufd:test_(cdev|iommufd|simulated_kernel_iommufd|simulated_kernel_iommufd_compat)"
  # PCI config space and power (pci/config.hpp, pci/power.hpp), with the threads
  # sharing a kernel, which run the power flows
  "pci:test_(pci_config|power|mapping_state|hostile_answers|syscall_counts|ergonomics_api|fault_defects|simulated_kernel_threads)"
  # host-side helpers, setup flows and the remaining device objects
  "host:test_(host_power|host_sysfs|reset_method|diagnose|dma_vaddr|hot_reset_groups|ioeventfd|ergonomics_setup|ergonomics_faults)"
  # container, group, device, region, IRQ, KVM, features, results
  "core:.*")
foreach(src IN LISTS VFIO_UNIT_SOURCES)
  get_filename_component(name ${src} NAME_WE)
  foreach(entry IN LISTS VFIO_UNIT_GROUPS)
    string(REGEX MATCH "^([a-z]+):(.*)$" _ "${entry}")
    set(group ${CMAKE_MATCH_1})
    if(name MATCHES "^(${CMAKE_MATCH_2})$")
      set_source_files_properties(${src} PROPERTIES UNITY_GROUP ${group})
      break()
    endif()
  endforeach()
endforeach()
function(vfio_unit_batches target)
  if(VFIO_UNIT_BATCHES)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE GROUP)
  endif()
endfunction()

# vfio_simulated_kernel_cxx<std>: the simulated kernel's model compiled once
# (VFIO_TESTING_SEPARATE_COMPILATION, see <vfio/testing/simulated_kernel.hpp>),
# for the test programs that link it: each of their files then parses the
# facade only, which saves most of the model's compile time per file (about
# 6 CPU-s with g++ 12 at -O0 -g). The ThreadSanitizer tests, built with flags of
# their own, compile simulated_kernel.cpp as one of their sources instead; the
# guest's static programs share a copy at their -O1 (tests/scenarios). The
# header-only way stays covered by the programs built without the tests: the
# README's and the package test's vfioctl.
function(vfio_simulated_kernel std)
  set(lib vfio_simulated_kernel_cxx${std})
  add_library(${lib} STATIC)
  vfio_simulated_kernel_source(${lib} PUBLIC)
  target_link_libraries(${lib} PUBLIC vfio_dev)
  set_target_properties(${lib} PROPERTIES CXX_STANDARD ${std} CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
endfunction()

# The model as one of `target`'s own sources, compiled with its flags; `scope`
# (PRIVATE or PUBLIC) is where VFIO_TESTING_SEPARATE_COMPILATION applies.
function(vfio_simulated_kernel_source target scope)
  target_sources(${target} PRIVATE ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/simulated_kernel.cpp)
  target_compile_definitions(${target} ${scope} VFIO_TESTING_SEPARATE_COMPILATION)
endfunction()
