# Install rules and the CMake package: `cmake --install build --prefix P` puts
#   P/lib/libadaptgrad_*.a                    the libraries
#   P/include/core/..., nn/..., models/..., data/...   their headers, included as in this tree
#   P/lib/cmake/adaptgrad/                    adaptgradConfig.cmake, its version and targets
# and a program then links them with
#   find_package(adaptgrad REQUIRED)
#   target_link_libraries(my_app PRIVATE adaptgrad::models)   # or ::core, ::nn, ::data
# (CMAKE_PREFIX_PATH=P when P is not a standard prefix). examples/ is such a program.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ADAPTGRAD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/adaptgrad)
set(adaptgrad_install_targets)
foreach(part read_file core nn models data)
  if(TARGET adaptgrad_${part})
    set_target_properties(adaptgrad_${part} PROPERTIES EXPORT_NAME ${part})
    list(APPEND adaptgrad_install_targets adaptgrad_${part})
  endif()
endforeach()
# The library targets by their exported names inside the build as well.
foreach(target ${adaptgrad_install_targets})
  get_target_property(part ${target} EXPORT_NAME)
  add_library(adaptgrad::${part} ALIAS ${target})
endforeach()

install(TARGETS ${adaptgrad_install_targets} EXPORT adaptgradTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Every header of the library folders, whatever subfolders they gain.
foreach(dir ${ADAPTGRAD_FOLDERS})
  if(NOT dir STREQUAL "apps" AND IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${dir})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
            FILES_MATCHING PATTERN "*.h")
  endif()
endforeach()

install(EXPORT adaptgradTargets NAMESPACE adaptgrad:: DESTINATION ${ADAPTGRAD_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/adaptgradConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/adaptgradConfig.cmake
                              INSTALL_DESTINATION ${ADAPTGRAD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/adaptgradConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/adaptgradConfig.cmake
              ${PROJECT_BINARY_DIR}/adaptgradConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/adaptgradDependencies.cmake
        DESTINATION ${ADAPTGRAD_CMAKE_DIR})
