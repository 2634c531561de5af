# The libraries adaptgrad links that ship no CMake package of their own (or one we avoid), found
# by file and wrapped as imported targets: adaptgrad::openblas, adaptgrad::utf8proc and, when
# ADAPTGRAD_WITH_ONEDNN is true, adaptgrad::dnnl.
#
# The same file serves the build (CMakeLists.txt) and an installed adaptgrad
# (adaptgradConfig.cmake), so a program built against an install finds them on its own machine
# instead of inheriting the paths of the machine that built adaptgrad.

# OpenBLAS, the OpenMP build (libopenblas-openmp-dev), so that BLAS and our own loops share one
# OpenMP thread pool instead of oversubscribing the cores.
if(NOT TARGET adaptgrad::openblas)
  find_path(OPENBLAS_INCLUDE_DIR cblas.h
    PATHS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/openblas /usr/include
          /usr/include/x86_64-linux-gnu)
  find_library(OPENBLAS_LIBRARY NAMES openblas
    PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp NO_DEFAULT_PATH)
  if(NOT OPENBLAS_LIBRARY)
    find_library(OPENBLAS_LIBRARY NAMES openblas)
  endif()
  if(NOT OPENBLAS_LIBRARY OR NOT OPENBLAS_INCLUDE_DIR)
    message(FATAL_ERROR "adaptgrad needs OpenBLAS (apt-get install libopenblas-openmp-dev)")
  endif()
  add_library(adaptgrad::openblas UNKNOWN IMPORTED GLOBAL)
  set_target_properties(adaptgrad::openblas PROPERTIES
    IMPORTED_LOCATION "${OPENBLAS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${OPENBLAS_INCLUDE_DIR}")
endif()

if(NOT TARGET adaptgrad::utf8proc)
  find_path(UTF8PROC_INCLUDE_DIR utf8proc.h)
  find_library(UTF8PROC_LIBRARY NAMES utf8proc)
  if(NOT UTF8PROC_LIBRARY OR NOT UTF8PROC_INCLUDE_DIR)
    message(FATAL_ERROR "adaptgrad needs utf8proc (apt-get install libutf8proc-dev)")
  endif()
  add_library(adaptgrad::utf8proc UNKNOWN IMPORTED GLOBAL)
  set_target_properties(adaptgrad::utf8proc PROPERTIES
    IMPORTED_LOCATION "${UTF8PROC_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${UTF8PROC_INCLUDE_DIR}")
endif()

# oneDNN (libdnnl-dev) for bf16 products. Found by file rather than by its CMake package, whose
# Debian build also demands the OpenCL headers for a GPU runtime we never use.
if(ADAPTGRAD_WITH_ONEDNN AND NOT TARGET adaptgrad::dnnl)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
  find_library(DNNL_LIBRARY NAMES dnnl)
  if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
    add_library(adaptgrad::dnnl UNKNOWN IMPORTED GLOBAL)
    set_target_properties(adaptgrad::dnnl PROPERTIES
      IMPORTED_LOCATION "${DNNL_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
  endif()
endif()
