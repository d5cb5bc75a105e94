# Compiles one file with clang's thread-safety analysis (warnings as errors)
# and checks the outcome (tests/tsa/CMakeLists.txt).
#   CC      the compiler            FLAGS  its flags, space-separated
#   SRC     the file                CASE   a macro to define, or empty
#   EXPECT  empty: the file must compile. Otherwise the compile must fail
#           with a -Wthread-safety diagnostic that contains EXPECT.
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
if(CASE)
    list(APPEND flags -D${CASE})
endif()
execute_process(COMMAND ${CC} ${flags} -fsyntax-only ${SRC}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT EXPECT)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${SRC} must compile cleanly, but:\n${out}")
    endif()
    return()
endif()
if(rc EQUAL 0)
    message(FATAL_ERROR "${SRC} (${CASE}) compiled; the analysis let this through:\n${out}")
endif()
string(FIND "${out}" "-Wthread-safety" tsa_at)
string(FIND "${out}" "${EXPECT}" expect_at)
if(tsa_at EQUAL -1 OR expect_at EQUAL -1)
    message(FATAL_ERROR
            "${SRC} (${CASE}) failed, but not with the thread-safety diagnostic "
            "\"${EXPECT}\":\n${out}")
endif()
message(STATUS "rejected as expected: ${EXPECT}")
