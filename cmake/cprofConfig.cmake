# cprof's CMake package (installed by `make install` and by CMake's install): find_package(cprof) gives
# the interface target cprof::cprof, the header's directory plus the threads and math libraries that
# the file defining CPROF_IMPLEMENTATION needs, and CPROF_EXECUTABLE, the cprof tool.
# Installed as PREFIX/lib/cmake/cprof/cprofConfig.cmake: the prefix is found from here (relocatable).
get_filename_component(_cprof_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
include(CMakeFindDependencyMacro)
find_dependency(Threads)
if(NOT TARGET cprof::cprof)
  add_library(cprof::cprof INTERFACE IMPORTED)
  set_target_properties(cprof::cprof PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_cprof_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;m")
endif()
set(CPROF_EXECUTABLE "${_cprof_prefix}/bin/cprof")
unset(_cprof_prefix)
