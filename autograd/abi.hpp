// abi.hpp: what a program and the library it links must agree on, fixed here
// so that it never depends on the program's compiler flags.
//
// 1. Eigen's alignment. Eigen picks EIGEN_MAX_ALIGN_BYTES from -march: 64 with
//    AVX-512, 32 with AVX, 16 without. It decides how Eigen allocates and frees
//    every Tensor, so a library built with -march=native (64) and a program
//    built without -march (16) free each other's memory the wrong way: a
//    "double free or corruption" at exit, or worse. We fix it at 64 for every
//    build. 64 is legal on any x86 CPU (Eigen only aligns more than it needs),
//    and it is what the AVX-512 kernels want. The build (meson's dependency,
//    pkg-config's Cflags) passes -DEIGEN_MAX_ALIGN_BYTES=64; this header
//    defines it when this is the first thing that includes Eigen, and stops
//    the compile when Eigen was already configured otherwise.
// 2. The scalar type: float, or double with -DM3OE_DOUBLE=1 (libm3oe_f64,
//    pkg-config m3oe-f64). Mixing a double program with the float library is
//    caught at link time: every file that includes this header references the
//    symbol m3oe_abi_v<version>_<precision>_align64, which only the matching
//    library defines ("undefined reference to m3oe_abi_v1_f64_align64" means
//    the program was compiled for the double library and linked the float one).
// 3. OpenMP: the library's kernels are compiled with it; a program links
//    libgomp (-fopenmp, in pkg-config's Libs and the meson dependency).
#pragma once

#define M3OE_EIGEN_MAX_ALIGN_BYTES 64

#if defined(EIGEN_MAX_ALIGN_BYTES)
#if EIGEN_MAX_ALIGN_BYTES != M3OE_EIGEN_MAX_ALIGN_BYTES
#error "m3oe.cpp needs EIGEN_MAX_ALIGN_BYTES=64: compile with the flags of `pkg-config --cflags m3oe` (or include the m3oe headers before Eigen)"
#endif
#else
#define EIGEN_MAX_ALIGN_BYTES 64
#endif

// ABI version: bumped whenever a change makes old objects incompatible.
#define M3OE_ABI_VERSION 1

#if defined(M3OE_DOUBLE) && M3OE_DOUBLE
#define M3OE_ABI_SYMBOL m3oe_abi_v1_f64_align64
#else
#define M3OE_ABI_SYMBOL m3oe_abi_v1_f32_align64
#endif

extern "C" const int M3OE_ABI_SYMBOL;

namespace m3oe::detail {
// One reference per translation unit, kept by [[gnu::used]] even when nothing
// reads it, so that a mismatched library fails to link instead of crashing.
[[gnu::used]] static const int* const abi_check = &M3OE_ABI_SYMBOL;
}  // namespace m3oe::detail
