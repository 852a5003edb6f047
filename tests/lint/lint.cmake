# Runs one lint tool (CTest label `lint`).
#   -DACTION=tidy   -DTOOL=<clang-tidy> -DSOURCE_DIR=<checkout> -DTU=<generated TU>
#   -DACTION=format -DTOOL=<clang-format> -DSOURCE_DIR=<checkout>
cmake_minimum_required(VERSION 3.23)

if(NOT TOOL)
  if(ACTION STREQUAL "tidy")
    message(FATAL_ERROR "clang-tidy-14 not found (Debian package: clang-tidy)")
  else()
    message(FATAL_ERROR "clang-format-14 not found (Debian package: clang-format)")
  endif()
endif()

if(ACTION STREQUAL "tidy")
  set(command "${TOOL}" --quiet "--config-file=${SOURCE_DIR}/.clang-tidy" "--warnings-as-errors=*" "${TU}"
              -- -std=c++17 "-I${SOURCE_DIR}/include")
elseif(ACTION STREQUAL "format")
  # Globbed when the test runs, so files added since the configure are checked too.
  set(files "")
  foreach(dir IN ITEMS include tests examples)
    file(GLOB_RECURSE found "${SOURCE_DIR}/${dir}/*.hpp" "${SOURCE_DIR}/${dir}/*.cpp" "${SOURCE_DIR}/${dir}/*.h")
    list(APPEND files ${found})
  endforeach()
  list(SORT files)
  list(LENGTH files count)
  message(STATUS "checking the format of ${count} files")
  set(command "${TOOL}" --dry-run --Werror "--style=file:${SOURCE_DIR}/.clang-format" ${files})
else()
  message(FATAL_ERROR "unknown ACTION '${ACTION}'")
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${ACTION} found problems (exit ${rc}); see above")
endif()
