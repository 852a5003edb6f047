# Configures, builds and runs the consumer project in one mode, then checks
# the compile commands: vfio's warning flags must never reach a consumer.
#   cmake -DMODE=... -DCONSUMER_SOURCE_DIR=... -DCONSUMER_BINARY_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#         -DEXPECTED_VERSION=... [-DPREFIX=...] [-DVFIO_DIR=...] [-DVFIO_SOURCE_DIR=...] -P run_consumer.cmake
cmake_minimum_required(VERSION 3.23)
include("${CMAKE_CURRENT_LIST_DIR}/package_helpers.cmake")

file(REMOVE_RECURSE "${CONSUMER_BINARY_DIR}")
set(args -S "${CONSUMER_SOURCE_DIR}" -B "${CONSUMER_BINARY_DIR}" -G "${GENERATOR}"
         "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
         "-DVFIO_CONSUMER_MODE=${MODE}" "-DVFIO_EXPECTED_VERSION=${EXPECTED_VERSION}"
         # Only what this test names: no user or system package registry.
         -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(DEFINED PREFIX)
  list(APPEND args "-DCMAKE_PREFIX_PATH=${PREFIX}")
endif()
if(DEFINED VFIO_DIR)
  list(APPEND args "-Dvfio_DIR=${VFIO_DIR}")
endif()
if(DEFINED VFIO_SOURCE_DIR)
  list(APPEND args "-DVFIO_SOURCE_DIR=${VFIO_SOURCE_DIR}")
endif()
run_step("configure the consumer (${MODE})" "${CMAKE_COMMAND}" ${args})
run_step("build the consumer (${MODE})" "${CMAKE_COMMAND}" --build "${CONSUMER_BINARY_DIR}")
run_step("run the consumer (${MODE})" "${CONSUMER_BINARY_DIR}/consumer")

# Every compile command of the consumer's own sources is free of the flags
# vfio uses for itself.
file(READ "${CONSUMER_BINARY_DIR}/compile_commands.json" commands)
string(JSON count LENGTH "${commands}")
set(checked 0)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON file GET "${commands}" ${i} file)
  string(JSON command GET "${commands}" ${i} command)
  if(NOT file MATCHES "(consumer|warning_probe)\\.cpp$")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  foreach(flag IN ITEMS -Wall -Wextra -Wpedantic -pedantic -Werror)
    if(command MATCHES "(^| )${flag}( |=|$)")
      message(FATAL_ERROR "vfio's ${flag} reached the consumer's compile command:\n${command}")
    endif()
  endforeach()
endforeach()
if(NOT checked EQUAL 2)
  message(FATAL_ERROR "expected 2 consumer compile commands in compile_commands.json, found ${checked}")
endif()
message(STATUS "consumer (${MODE}): built, ran, and no vfio warning flag in its ${checked} compile commands")
