# One step of the build matrix, run by CTest:
#   -DACTION=configure -DCOMPILER=... -DBINARY_DIR=... -DPROJECT_DIR=... -DGENERATOR=...
#                      -DVFIO_SOURCE_DIR=... -DEXPECTED_VERSION=... -DALONE_STANDARD=...
#   -DACTION=build     -DBINARY_DIR=... -DTARGET=... [-DRUN=<executable>]
cmake_minimum_required(VERSION 3.23)

function(run_step description)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${description} failed (${rc})")
  endif()
endfunction()

if(ACTION STREQUAL "configure")
  if(NOT COMPILER)
    message(FATAL_ERROR "compiler for this matrix row not found (Debian packages: g++, clang)")
  endif()
  run_step("configure the matrix with ${COMPILER}" "${CMAKE_COMMAND}" -S "${PROJECT_DIR}" -B "${BINARY_DIR}"
           -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${COMPILER}"
           "-DVFIO_SOURCE_DIR=${VFIO_SOURCE_DIR}" "-DVFIO_EXPECTED_VERSION=${EXPECTED_VERSION}"
           "-DVFIO_ALONE_STANDARD=${ALONE_STANDARD}")
elseif(ACTION STREQUAL "build")
  run_step("build ${TARGET}" "${CMAKE_COMMAND}" --build "${BINARY_DIR}" --target "${TARGET}")
  if(RUN)
    run_step("run ${TARGET}" "${RUN}")
  endif()
else()
  message(FATAL_ERROR "unknown ACTION '${ACTION}'")
endif()
