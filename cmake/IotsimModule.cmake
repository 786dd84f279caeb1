# iotsim_add_module(name SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates iotsim_<name> with alias iotsim::<name>; public headers live in include/ and are
# verified to be self-contained (VERIFY_INTERFACE_HEADER_SETS).
function(iotsim_add_module name)
    cmake_parse_arguments(M "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
    add_library(iotsim_${name} STATIC ${M_SOURCES})
    add_library(iotsim::${name} ALIAS iotsim_${name})
    file(GLOB_RECURSE _headers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/include/*.hpp)
    target_sources(iotsim_${name} PUBLIC FILE_SET HEADERS BASE_DIRS ${CMAKE_CURRENT_SOURCE_DIR}/include FILES ${_headers})
    set_target_properties(iotsim_${name} PROPERTIES VERIFY_INTERFACE_HEADER_SETS ON POSITION_INDEPENDENT_CODE ON)
    target_link_libraries(iotsim_${name} PUBLIC ${M_PUBLIC_DEPS} iotsim_sanitize PRIVATE ${M_PRIVATE_DEPS} iotsim_warnings)
endfunction()

# iotsim_add_test(name SOURCES ... DEPS ... LABELS ...): one Boost.Test executable, one CTest entry.
function(iotsim_add_test name)
    cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE ${T_DEPS} Boost::unit_test_framework iotsim_warnings iotsim_sanitize)
    target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
    add_test(NAME ${name} COMMAND ${name} --log_level=test_suite --report_level=short)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT 300)
endfunction()
