# One static library per module folder (engine/power, events/metrics, ...).
#
# A module's headers are included by their path from the repository root
# (#include "events/metrics/expr.h"), but the root itself is never on the include path: each module
# publishes only its own folder, through a directory under the build tree that holds one symbolic
# link (build/modules/<target>/events/metrics -> <source>/events/metrics). A module therefore sees
# the headers of the modules it links and no others, and an include against the module graph in
# docs/ARCHITECTURE.md fails to build ("No such file or directory").
#
#   pmc_module(<target> [PUBLIC <modules or libraries>...] [PRIVATE <modules or libraries>...])
#
# PUBLIC: needed by the module's headers (passed on to whoever links the module); PRIVATE: needed by
# its .cpp files only. Every *.cpp in the folder belongs to the module.
function(pmc_module target)
  cmake_parse_arguments(MOD "" "" "PUBLIC;PRIVATE" ${ARGN})
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set(include_root ${CMAKE_BINARY_DIR}/modules/${target})
  get_filename_component(parent ${include_root}/${rel} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(NOT EXISTS ${include_root}/${rel})
    file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${include_root}/${rel} SYMBOLIC)
  endif()
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(${target} STATIC ${sources})
    target_include_directories(${target} PUBLIC ${include_root})
    target_link_libraries(${target} PUBLIC ${MOD_PUBLIC} PRIVATE ${MOD_PRIVATE})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${include_root})
    target_link_libraries(${target} INTERFACE ${MOD_PUBLIC})
  endif()
  set_property(GLOBAL APPEND PROPERTY PMC_MODULES ${target})
endfunction()

# Writes build/modules/graph.txt: one line per module, "target: the pmc_ modules it links", sorted.
# tests/ compares it with the graph drawn in docs/ARCHITECTURE.md (cmake/CheckModuleGraph.cmake).
function(pmc_write_module_graph)
  get_property(modules GLOBAL PROPERTY PMC_MODULES)
  list(SORT modules)
  set(text "")
  foreach(m ${modules})
    get_target_property(type ${m} TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(libs ${m} INTERFACE_LINK_LIBRARIES)
    else()
      get_target_property(libs ${m} LINK_LIBRARIES)
    endif()
    set(deps "")
    foreach(l ${libs})
      if(l MATCHES "^pmc_[a-z_]+$")
        list(APPEND deps ${l})
      endif()
    endforeach()
    list(SORT deps)
    list(JOIN deps " " deps)
    string(APPEND text "${m}: ${deps}\n")
  endforeach()
  file(WRITE ${CMAKE_BINARY_DIR}/modules/graph.txt "${text}")
endfunction()
