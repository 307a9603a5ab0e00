# Builds TARGET in BUILD_DIR, expecting the build to fail with EXPECT (a literal sentence) in the
# compiler's first error: a policy that lacks a member is named in one sentence, before any cascade.
#   cmake -DBUILD_DIR=... -DTARGET=... -DEXPECT=... -P check_compile_fail.cmake
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not")
endif()
string(FIND "${out}" "error:" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TARGET}: the build failed without a compiler error:\n${out}")
endif()
string(SUBSTRING "${out}" ${at} -1 rest)
string(FIND "${rest}" "\n" eol)
string(SUBSTRING "${rest}" 0 ${eol} first)
string(FIND "${first}" "${EXPECT}" found)
if(found EQUAL -1)
  message(FATAL_ERROR "${TARGET}: the first error is not the concept's sentence.\n"
                      "expected: ${EXPECT}\nfirst error: ${first}\nwhole output:\n${out}")
endif()
message(STATUS "${TARGET}: ${first}")
