# find_package for Loom's dependencies, with a configure error that names the
# Debian package to install instead of CMake's list of missing variables.
# tools/setup.sh installs every package named here.
#
#   loom_find_package(<Name> DEBIAN <package> [<find_package arguments>...])
function(loom_find_package name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DEBIAN" "")
  if(NOT arg_DEBIAN)
    message(FATAL_ERROR "loom_find_package(${name}): DEBIAN <package> is required")
  endif()
  find_package(${name} ${arg_UNPARSED_ARGUMENTS} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR
      "Loom needs ${name}, which CMake could not find.\n"
      "Install the Debian package '${arg_DEBIAN}' (apt-get install --no-install-recommends ${arg_DEBIAN}),\n"
      "or run 'bash tools/setup.sh', which installs everything Loom builds with.")
  endif()
  # Targets imported by a config file are directory-scoped: hand them upwards.
  set(${name}_FOUND TRUE PARENT_SCOPE)
endfunction()

# MPI is optional: with LOOM_MPI (the default) and Open MPI installed,
# LOOM_WITH_MPI is set and `mpirun -np N loom train` trains on N ranks;
# without it Loom still builds and trains in one process.
function(loom_find_optional_mpi)
  set(LOOM_WITH_MPI OFF PARENT_SCOPE)
  if(NOT LOOM_MPI)
    message(STATUS "MPI: off (LOOM_MPI=OFF); loom train runs in one process")
    return()
  endif()
  # Only the C API is used; Open MPI's deprecated C++ bindings stay out.
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX QUIET)
  if(NOT MPI_CXX_FOUND)
    message(STATUS "MPI: not found (Debian: libopenmpi-dev openmpi-bin); loom train runs in one process")
    return()
  endif()
  message(STATUS "MPI ${MPI_CXX_VERSION}: mpirun -np N loom train trains on N ranks")
  set(LOOM_WITH_MPI ON PARENT_SCOPE)
endfunction()
