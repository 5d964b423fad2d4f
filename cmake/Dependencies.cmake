# Every dependency comes from Debian; a missing one stops the configure step with the package to install.
find_package(PkgConfig QUIET)

macro(pmc_require found pkg what)
  if(NOT ${found})
    message(FATAL_ERROR "${what} not found: install the Debian package '${pkg}' (scripts/install-deps does it)")
  endif()
endmacro()

find_path(PFM_INCLUDE_DIR perfmon/pfmlib_perf_event.h)
find_library(PFM_LIBRARY pfm)
if(PFM_INCLUDE_DIR AND PFM_LIBRARY)
  set(PFM_FOUND TRUE)
endif()
pmc_require(PFM_FOUND libpfm4-dev "libpfm4")
# libpfm4 is loaded with dlopen on first use (events/libpfm_loader.cpp): only its headers are
# needed at build time, and libpfm.so.4 at run time.
add_library(pmc::pfm INTERFACE IMPORTED)
set_target_properties(pmc::pfm PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${PFM_INCLUDE_DIR})

find_path(PAPI_INCLUDE_DIR papi.h)
find_library(PAPI_LIBRARY papi)
if(PAPI_INCLUDE_DIR AND PAPI_LIBRARY)
  set(PAPI_FOUND TRUE)
endif()
pmc_require(PAPI_FOUND libpapi-dev "PAPI")
# PAPI is loaded with dlopen too (engine/counting/papi_library.cpp): its headers only.
add_library(pmc::papi_headers INTERFACE IMPORTED)
set_target_properties(pmc::papi_headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${PAPI_INCLUDE_DIR})

find_package(Eigen3 3.3 QUIET NO_MODULE)
pmc_require(Eigen3_FOUND libeigen3-dev "Eigen3")
find_package(CLI11 QUIET CONFIG)
pmc_require(CLI11_FOUND libcli11-dev "CLI11")
find_package(nlohmann_json 3 QUIET)
pmc_require(nlohmann_json_FOUND nlohmann-json3-dev "nlohmann-json")
find_package(fmt QUIET)
pmc_require(fmt_FOUND libfmt-dev "fmt")
find_path(FAST_FLOAT_INCLUDE_DIR fast_float/fast_float.h)
pmc_require(FAST_FLOAT_INCLUDE_DIR libfast-float-dev "fast_float")
add_library(pmc::fast_float INTERFACE IMPORTED)
set_target_properties(pmc::fast_float PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${FAST_FLOAT_INCLUDE_DIR})
if(PMCMODEL_TESTS)
  find_package(doctest QUIET)
  pmc_require(doctest_FOUND doctest-dev "doctest")
endif()
find_package(Threads REQUIRED)
# cpp-httplib serves `pmcmodel serve`'s /metrics; Debian builds it as a shared library.
pkg_check_modules(HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
pmc_require(HTTPLIB_FOUND libcpp-httplib-dev "cpp-httplib")

# mimalloc replaces malloc in the pmcmodel executable and in import_bench: importing a long -I
# recording is allocation-bound (1.4 M events, each with its strings, per 100 MB), and with
# mimalloc the import runs 1.4x faster than with glibc's malloc (docs/PERFORMANCE.md). Not in
# sanitizer builds, which bring their own allocator. Without the package the build still works.
option(PMCMODEL_MIMALLOC "Link the pmcmodel executable with mimalloc (libmimalloc-dev)" ON)
set(PMC_MALLOC_LIBRARY "")
if(PMCMODEL_MIMALLOC AND NOT PMCMODEL_SANITIZE)
  find_package(mimalloc 2.0 QUIET CONFIG)
  if(mimalloc_FOUND)
    set(PMC_MALLOC_LIBRARY mimalloc)
  else()
    message(STATUS "mimalloc not found (libmimalloc-dev): pmcmodel uses glibc's malloc")
  endif()
endif()
