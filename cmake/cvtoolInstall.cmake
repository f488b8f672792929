# Install rules, the CMake package (find_package(cvtool) -> cvtool::cvtool), the
# pkg-config file, the man page, shell completions and the Debian package (CPack).
# Included from the top-level CMakeLists.txt after the targets exist.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(CVTOOL_INSTALL_MODELS "Install the fetched models (models/*.pt) next to the configs" ON)

# The CLI finds libcvtool next to itself in any prefix.
set_target_properties(cvtool_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")

install(TARGETS cvtool EXPORT cvtoolTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS cvtool_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/cvtool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)

# config_dir() looks in <exe>/../share/cvtool/configs; the configs name their models as
# ../models/<file>, so the models go to share/cvtool/models.
set(CVTOOL_DATADIR ${CMAKE_INSTALL_DATADIR}/cvtool)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CVTOOL_DATADIR}/configs COMPONENT runtime)
# Evaluated at install time: whatever scripts/fetch-models.sh has fetched by then.
set(_cvtool_model_patterns PATTERN "*.txt" PATTERN "README.md")
if(CVTOOL_INSTALL_MODELS)
  list(APPEND _cvtool_model_patterns PATTERN "*.pt")
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/ DESTINATION ${CVTOOL_DATADIR}/models COMPONENT runtime
        FILES_MATCHING ${_cvtool_model_patterns})

# CMake package.
set(CVTOOL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/cvtool)
install(EXPORT cvtoolTargets NAMESPACE cvtool:: DESTINATION ${CVTOOL_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cvtoolConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/cvtoolConfig.cmake
                              INSTALL_DESTINATION ${CVTOOL_CMAKE_DIR}
                              PATH_VARS CVTOOL_DATADIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cvtoolConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cvtoolConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/cvtoolConfigVersion.cmake
        DESTINATION ${CVTOOL_CMAKE_DIR} COMPONENT dev)

# pkg-config. LibTorch ships no .pc file: its flags come from TorchConfig.cmake, and
# are only needed by code that includes core/model.hpp, tensor.hpp or runtime.hpp.
set(CVTOOL_PC_TORCH_CFLAGS "")
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(NOT dir STREQUAL "/usr/include")  # a system dir: -I would reorder the compiler's own
    string(APPEND CVTOOL_PC_TORCH_CFLAGS " -I${dir}")
  endif()
endforeach()
# Relocatable: the prefix is found from where the .pc file is (cmake --install --prefix X).
file(RELATIVE_PATH CVTOOL_PC_PREFIX_FROM_PCDIR /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" CVTOOL_PC_PREFIX_FROM_PCDIR "${CVTOOL_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/cvtool.pc.in ${CMAKE_CURRENT_BINARY_DIR}/cvtool.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cvtool.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# Shell completions.
install(FILES ${PROJECT_SOURCE_DIR}/scripts/completion/cvtool.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME cvtool COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/scripts/completion/_cvtool
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions COMPONENT runtime)

# Man page from --help (Debian package help2man). Optional: `cmake --build . --target man`;
# installed when it was built.
find_program(HELP2MAN help2man)
set(CVTOOL_MAN_PAGE ${CMAKE_CURRENT_BINARY_DIR}/man/cvtool.1)
if(HELP2MAN)
  add_custom_command(OUTPUT ${CVTOOL_MAN_PAGE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -E env CVTOOL_CONFIG_DIR=${PROJECT_SOURCE_DIR}/configs
            ${PROJECT_SOURCE_DIR}/scripts/man/make-man.sh $<TARGET_FILE:cvtool_cli> ${CVTOOL_MAN_PAGE}
    DEPENDS cvtool_cli ${PROJECT_SOURCE_DIR}/scripts/man/cvtool.h2m ${PROJECT_SOURCE_DIR}/scripts/man/make-man.sh
    COMMENT "help2man: cvtool.1")
  add_custom_target(man DEPENDS ${CVTOOL_MAN_PAGE})
endif()
install(FILES ${CVTOOL_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime OPTIONAL)

# Debian package: cpack -G DEB (from the build dir, after building `all` and `man`).
set(CPACK_PACKAGE_NAME cvtool)
set(CPACK_PACKAGE_VENDOR "cvtool")
set(CPACK_PACKAGE_CONTACT "cvtool maintainers <cvtool@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Computer vision from the command line (LibTorch + OpenCV)")
set(CPACK_PACKAGE_DESCRIPTION "Object detection, OCR, segmentation and tracking on pretrained TorchScript models,\
 with a C++ library (libcvtool), its headers, CMake package and pkg-config file.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # and the ldconfig trigger for libcvtool
# libcvtool is in the package itself: dpkg-shlibdeps must look for it there.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_CURRENT_BINARY_DIR})
# Not linked, but what makes LibTorch fast: Debian's LibTorch calls whichever libblas.so.3
# is selected, and the reference BLAS is many times slower. The -dev packages are what
# find_package(cvtool) needs for the headers and CMake package.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-openmp | libopenblas0")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libtorch-dev, libopencv-dev, nlohmann-json3-dev")
set(CPACK_GENERATOR DEB)
include(CPack)
