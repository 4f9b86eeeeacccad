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
