# Configures vfio as a top-level project, installs it into a scratch prefix
# with `cmake --install --prefix`, and checks the installed layout.
#   cmake -DVFIO_SOURCE_DIR=... -DLIB_BINARY_DIR=... -DPREFIX=... -DGENERATOR=... -DCXX_COMPILER=...
#         -DEXPECTED_VERSION=... [-DINCLUDEDIR=<absolute include dir>] [-DTOOLS=ON|OFF] -P install.cmake
# TOOLS=ON: configured with no options and Catch2 hidden (the tests must turn
# themselves off), built (vfioctl and the examples), installed with vfioctl,
# which is run. TOOLS=OFF: tests, examples and tools off, installed without a build.
cmake_minimum_required(VERSION 3.23)
include("${CMAKE_CURRENT_LIST_DIR}/package_helpers.cmake")

file(REMOVE_RECURSE "${LIB_BINARY_DIR}" "${PREFIX}")
set(args -S "${VFIO_SOURCE_DIR}" -B "${LIB_BINARY_DIR}" -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
         # A prefix different from the one given to --install below: the
         # installed files must not depend on the configure-time prefix.
         "-DCMAKE_INSTALL_PREFIX=${LIB_BINARY_DIR}/configure-time-prefix")
if(DEFINED INCLUDEDIR)
  list(APPEND args "-DCMAKE_INSTALL_INCLUDEDIR=${INCLUDEDIR}")
  file(REMOVE_RECURSE "${INCLUDEDIR}")
  set(installed_includedir "${INCLUDEDIR}")
else()
  set(installed_includedir "${PREFIX}/include")
endif()
if(NOT DEFINED TOOLS)
  set(TOOLS ON)
endif()
if(TOOLS)
  # What a new user types on a machine without Catch2: no options at all. The
  # tests must turn themselves off, and the build must still work.
  list(APPEND args -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON)
  capture(configured "${CMAKE_COMMAND}" ${args})
  if(NOT configured MATCHES "Catch2 not found, tests off")
    message(FATAL_ERROR "configuring without Catch2 did not say that the tests are off:\n${configured}")
  endif()
else()
  list(APPEND args -DVFIO_BUILD_TESTS=OFF -DVFIO_BUILD_EXAMPLES=OFF -DVFIO_INSTALL_TOOLS=OFF)
  run_step("configure vfio" "${CMAKE_COMMAND}" ${args})
endif()
if(TOOLS)
  run_step("build vfio" "${CMAKE_COMMAND}" --build "${LIB_BINARY_DIR}")
endif()
run_step("install vfio" "${CMAKE_COMMAND}" --install "${LIB_BINARY_DIR}" --prefix "${PREFIX}")

# vfioctl is installed (and runs) exactly when the tools are.
if(TOOLS)
  if(NOT EXISTS "${PREFIX}/bin/vfioctl")
    message(FATAL_ERROR "not installed: bin/vfioctl")
  endif()
  execute_process(COMMAND "${PREFIX}/bin/vfioctl" --simulate list RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "0000:00:03.0 +8086:10d3")
    message(FATAL_ERROR "installed vfioctl --simulate list: exit status ${rc}\n${out}")
  endif()
elseif(EXISTS "${PREFIX}/bin")
  message(FATAL_ERROR "VFIO_INSTALL_TOOLS=OFF installed bin/")
endif()

# Every header of the checkout is installed, and nothing else under include/.
file(GLOB_RECURSE source_headers RELATIVE "${VFIO_SOURCE_DIR}/include" "${VFIO_SOURCE_DIR}/include/vfio/*.hpp")
file(GLOB_RECURSE installed_headers RELATIVE "${installed_includedir}" "${installed_includedir}/*")
list(SORT source_headers)
list(SORT installed_headers)
if(NOT source_headers STREQUAL installed_headers)
  set(missing ${source_headers})
  list(REMOVE_ITEM missing ${installed_headers})
  set(extra ${installed_headers})
  list(REMOVE_ITEM extra ${source_headers})
  message(FATAL_ERROR "installed headers differ from include/: missing [${missing}], extra [${extra}]")
endif()
list(LENGTH installed_headers header_count)

# Architecture-independent files only, in share/.
foreach(f IN ITEMS share/cmake/vfio/vfio-config.cmake share/cmake/vfio/vfio-config-version.cmake
                   share/cmake/vfio/vfio-targets.cmake share/pkgconfig/vfio.pc)
  if(NOT EXISTS "${PREFIX}/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB_RECURSE lib_files "${PREFIX}/lib*/*")
if(lib_files)
  message(FATAL_ERROR "a header-only package installed files under lib: ${lib_files}")
endif()

# vfio.pc: the install-time prefix, the version, Cflags only.
file(STRINGS "${PREFIX}/share/pkgconfig/vfio.pc" pc)
foreach(expected IN ITEMS "prefix=${PREFIX}" "Version: ${EXPECTED_VERSION}" "Cflags: -I\${includedir}")
  if(NOT expected IN_LIST pc)
    message(FATAL_ERROR "vfio.pc lacks the line '${expected}':\n${pc}")
  endif()
endforeach()
if(DEFINED INCLUDEDIR)
  set(expected_includedir "includedir=${INCLUDEDIR}")
else()
  set(expected_includedir "includedir=\${prefix}/include")
endif()
if(NOT expected_includedir IN_LIST pc)
  message(FATAL_ERROR "vfio.pc lacks the line '${expected_includedir}':\n${pc}")
endif()
foreach(line IN LISTS pc)
  if(line MATCHES "^(Libs|Libs.private|Requires)")
    message(FATAL_ERROR "vfio.pc of a header-only library has '${line}'")
  endif()
endforeach()
message(STATUS "installed ${header_count} headers, the CMake package and vfio.pc into ${PREFIX}")
