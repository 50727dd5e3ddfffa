# One place for warning flags, applied per target with ember_target_warnings().
function(ember_target_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
      -Wno-missing-field-initializers
      # GCC 12 reports false -Wrestrict errors inside libstdc++ string appends (GCC bug 105329).
      $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>>)
  if(EMBER_SANITIZE)
    # Sanitizer instrumentation makes GCC 12 report false -Wmaybe-uninitialized in std::variant.
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  endif()
  if(EMBER_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()

# ember_library(NAME SOURCES... DEPS ...): a static library for one layer (src/<layer>).
function(ember_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  ember_target_warnings(${name})
endfunction()
