# Include boundaries between the layers (docs/architecture.md, "Layers and include boundaries").
#
# Every header is included by its repository path ("query/query.h"), but no target sees the
# repository root. Instead, for a layer in folder F the build tree holds two include roots made of
# symbolic links:
#   include/public/F/F/<header>   one link per public header F declares;
#   include/private/F/F           a link to the whole folder.
# A layer's own target gets its private root (its sources see all of F) and exports its public
# root to whatever links it, so `#include "query/ast.h"` from outside query/ fails to compile
# unless the target was granted access to query/'s internals by name with pathwise_internals().
# A public header may include only public headers (of its own layer or of layers below).

# pathwise_layer(TARGET [DIR subfolder] HEADERS h1.h h2.h ...): declares the library target of the
# current folder (or of its DIR subfolder) and the headers other layers may include.
function(pathwise_layer target)
  cmake_parse_arguments(ARG "" "DIR" "HEADERS" ${ARGN})
  set(source_dir ${CMAKE_CURRENT_SOURCE_DIR})
  if(ARG_DIR)
    set(source_dir ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR})
  endif()
  file(RELATIVE_PATH layer ${PROJECT_SOURCE_DIR} ${source_dir})
  set(public_root ${CMAKE_BINARY_DIR}/include/public/${layer})
  set(private_root ${CMAKE_BINARY_DIR}/include/private/${layer})
  file(REMOVE_RECURSE ${public_root})
  file(MAKE_DIRECTORY ${public_root}/${layer})
  foreach(header ${ARG_HEADERS})
    if(NOT EXISTS ${source_dir}/${header})
      message(FATAL_ERROR "${layer}: public header ${header} does not exist")
    endif()
    file(CREATE_LINK ${source_dir}/${header} ${public_root}/${layer}/${header} SYMBOLIC)
  endforeach()
  pathwise_private_root(${layer} ${source_dir})
  target_include_directories(${target} PUBLIC ${public_root} PRIVATE ${private_root})
endfunction()

# pathwise_own_headers(TARGET): for executables (cli/, tests/): TARGET includes the headers of its
# own folder by their repository path and exports nothing.
function(pathwise_own_headers target)
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  pathwise_private_root(${folder} ${CMAKE_CURRENT_SOURCE_DIR})
  target_include_directories(${target} PRIVATE ${CMAKE_BINARY_DIR}/include/private/${folder})
endfunction()

# include/private/LAYER/LAYER -> the layer's source folder.
function(pathwise_private_root layer source_dir)
  set(link ${CMAKE_BINARY_DIR}/include/private/${layer}/${layer})
  if(NOT IS_SYMLINK ${link})
    get_filename_component(parent ${link} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${source_dir} ${link} SYMBOLIC)
  endif()
endfunction()

# pathwise_internals(TARGET FOLDER...): lets TARGET (a white-box test, a fuzzer, a benchmark)
# include every header of the named layer folders, not only their public ones.
function(pathwise_internals target)
  foreach(folder ${ARGN})
    if(NOT EXISTS ${CMAKE_BINARY_DIR}/include/private/${folder})
      message(FATAL_ERROR "pathwise_internals: ${folder} is not a layer declared before ${target}")
    endif()
    target_include_directories(${target} BEFORE PRIVATE ${CMAKE_BINARY_DIR}/include/private/${folder})
  endforeach()
endfunction()
