# Header cost as preprocessed lines, a deterministic stand-in for compile time:
# each header below, preprocessed with the build's compiler, against
# <vector> + <string> preprocessed the same way. Fails when a header's ratio
# exceeds its budget (tests/bench/BENCHMARKS.md, "Header cost").
#   cmake -DCXX=<compiler> -DINCLUDE=<include dir> -DWORK=<dir> -P header_lines.cmake
cmake_minimum_required(VERSION 3.16)
foreach(v CXX INCLUDE WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "header_lines.cmake: -D${v}= is required")
  endif()
endforeach()
file(MAKE_DIRECTORY ${WORK})

function(preprocessed_lines name content out)
  file(WRITE ${WORK}/${name}.cpp "${content}")
  execute_process(COMMAND ${CXX} -std=c++17 -I${INCLUDE} -E ${WORK}/${name}.cpp -o ${WORK}/${name}.ii
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "preprocessing ${name} failed: ${err}")
  endif()
  # Count newlines (the text holds semicolons: never treat it as a list).
  file(READ ${WORK}/${name}.ii text)
  string(REGEX REPLACE "[^\n]" "" newlines "${text}")
  string(LENGTH "${newlines}" n)
  set(${out} ${n} PARENT_SCOPE)
endfunction()

preprocessed_lines(reference "#include <vector>\n#include <string>\n" reference)
# header | budget in hundredths of the reference [| macro defined before it]
set(budgets
  "vfio/vfio.hpp|200"
  "vfio/device.hpp|175"
  "vfio/testing/simulated_kernel.hpp|350"
  "vfio/testing/scripted_syscalls.hpp|175"
  # the facade alone, as the files of a suite that compiles the model once see it
  "vfio/testing/simulated_kernel.hpp|165|VFIO_TESTING_SEPARATE_COMPILATION")
set(failed FALSE)
foreach(entry IN LISTS budgets)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 header)
  list(GET parts 1 budget)
  set(define "")
  set(label "<${header}>")
  list(LENGTH parts fields)
  if(fields EQUAL 3)
    list(GET parts 2 macro)
    set(define "#define ${macro}\n")
    set(label "<${header}> with ${macro}")
  endif()
  string(MAKE_C_IDENTIFIER "${entry}" id)
  preprocessed_lines(${id} "${define}#include <${header}>\n" n)
  math(EXPR ratio "${n} * 100 / ${reference}")
  if(ratio GREATER budget)
    set(verdict "OVER BUDGET")
    set(failed TRUE)
  else()
    set(verdict "ok")
  endif()
  message(STATUS "${label}: ${n} lines, ${ratio}% of <vector>+<string> (${reference}); budget ${budget}%: ${verdict}")
endforeach()
if(failed)
  message(FATAL_ERROR "a header outgrew its preprocessed-lines budget")
endif()
