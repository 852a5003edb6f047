# Runs one vfioctl command and checks its exit status and output:
#   cmake -DVFIOCTL=<exe> "-DARGS=a;b;c" -DRC=<status> [-DMATCH=<regex>...]
#         [-DNO_MATCH=<regex>] [-DSTDERR_EMPTY=ON] -P check_vfioctl.cmake
# MATCH is a list of regular expressions that stdout must each match.
execute_process(COMMAND "${VFIOCTL}" ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("$ vfioctl ${ARGS}\n${out}${err}(exit status ${rc})")
if(NOT rc STREQUAL RC)
  message(FATAL_ERROR "exit status ${rc}, expected ${RC}")
endif()
foreach(re IN LISTS MATCH)
  if(NOT out MATCHES "${re}")
    message(FATAL_ERROR "stdout does not match '${re}'")
  endif()
endforeach()
if(NOT NO_MATCH STREQUAL "" AND out MATCHES "${NO_MATCH}")
  message(FATAL_ERROR "stdout matches '${NO_MATCH}'")
endif()
if(STDERR_EMPTY AND NOT err STREQUAL "")
  message(FATAL_ERROR "stderr is not empty")
endif()
