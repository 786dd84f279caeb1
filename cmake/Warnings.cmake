# Warnings apply to iotsim's own targets only, through one INTERFACE target.
add_library(iotsim_warnings INTERFACE)
target_compile_options(iotsim_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wconversion -Wsign-conversion -Wno-sign-conversion)
# GCC 12's -Wrestrict misfires on `"literal" + std::string` at -O2 (GCC bug 105329, fixed in 13).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(iotsim_warnings INTERFACE -Wno-restrict)
endif()
if(IOTSIM_WERROR)
    target_compile_options(iotsim_warnings INTERFACE -Werror)
endif()

add_library(iotsim_sanitize INTERFACE)
if(IOTSIM_SANITIZE)
    string(REPLACE ";" "," _iotsim_san "${IOTSIM_SANITIZE}")
    target_compile_options(iotsim_sanitize INTERFACE -fsanitize=${_iotsim_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(iotsim_sanitize INTERFACE -fsanitize=${_iotsim_san})
endif()
