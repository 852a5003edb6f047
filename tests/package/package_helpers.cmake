# Helpers for the package test scripts (cmake -P).

# run_step(<description> <command> <args>...): runs the command, echoes its
# output, and fails the test with the description when it exits non-zero.
function(run_step description)
  list(JOIN ARGN " " command_line)
  message(STATUS "${description}: ${command_line}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${description} failed (${rc})")
  endif()
endfunction()

# capture(<var> <command> <args>...): runs the command and stores its
# stripped standard output in <var>; fails the test when it exits non-zero.
function(capture var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ARGN} failed (${rc}):\n${out}\n${err}")
  endif()
  set(${var} "${out}" PARENT_SCOPE)
endfunction()
