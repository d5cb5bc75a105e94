# Cross build for 64-bit Arm Linux with Debian's cross compiler
# (gcc-aarch64-linux-gnu), used by `make test-arm64`:
#
#     cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#           -DCTRACK_LIB_ONLY=ON
#
# The target's libraries come from /usr/aarch64-linux-gnu. When qemu-user's
# qemu-aarch64 is installed, ctest runs the test executables under it
# (CMAKE_CROSSCOMPILING_EMULATOR); without it the build still works and the
# tests cannot run.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CTRACK_AARCH64_PREFIX aarch64-linux-gnu)
set(CTRACK_AARCH64_SYSROOT /usr/${CTRACK_AARCH64_PREFIX})
set(CMAKE_C_COMPILER ${CTRACK_AARCH64_PREFIX}-gcc)

set(CMAKE_FIND_ROOT_PATH ${CTRACK_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(CTRACK_QEMU_AARCH64 qemu-aarch64)
if(CTRACK_QEMU_AARCH64)
    # -L: where the emulated program's dynamic loader and libc live.
    set(CMAKE_CROSSCOMPILING_EMULATOR ${CTRACK_QEMU_AARCH64} -L ${CTRACK_AARCH64_SYSROOT})
endif()
