# Compiles and runs the consumer program with nothing but a plain compiler
# command and `pkg-config --cflags vfio` pointed at the scratch prefix.
#   cmake -DPREFIX=... -DCXX_COMPILER=... -DSOURCE=consumer.cpp -DBINARY_DIR=... -DEXPECTED_VERSION=...
#         -DEXPECTED_INCLUDEDIR=... -P pkg_config.cmake
cmake_minimum_required(VERSION 3.23)
include("${CMAKE_CURRENT_LIST_DIR}/package_helpers.cmake")

find_program(PKG_CONFIG NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found (Debian package: pkg-config)")
endif()
# Only the scratch prefix: a vfio.pc elsewhere on the machine must not be found.
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_LIBDIR} "${PREFIX}/share/pkgconfig")

capture(version "${PKG_CONFIG}" --modversion vfio)
if(NOT version STREQUAL EXPECTED_VERSION)
  message(FATAL_ERROR "pkg-config --modversion vfio: '${version}', expected '${EXPECTED_VERSION}'")
endif()
capture(libs "${PKG_CONFIG}" --libs vfio)
if(NOT libs STREQUAL "")
  message(FATAL_ERROR "pkg-config --libs vfio: '${libs}', expected nothing (header-only)")
endif()
capture(cflags "${PKG_CONFIG}" --cflags vfio)
if(NOT cflags STREQUAL "-I${EXPECTED_INCLUDEDIR}")
  message(FATAL_ERROR "pkg-config --cflags vfio: '${cflags}', expected '-I${EXPECTED_INCLUDEDIR}'")
endif()

file(REMOVE_RECURSE "${BINARY_DIR}")
file(MAKE_DIRECTORY "${BINARY_DIR}")
separate_arguments(cflags_list UNIX_COMMAND "${cflags}")
run_step("compile with pkg-config --cflags vfio" "${CXX_COMPILER}" -std=c++17 ${cflags_list}
         "-DVFIO_EXPECTED_VERSION=\"${EXPECTED_VERSION}\"" "${SOURCE}" -o "${BINARY_DIR}/consumer")
run_step("run the pkg-config consumer" "${BINARY_DIR}/consumer")
