// gemm_xsimd.hpp: the float matrix product of the CPU backend.
//
// A cache-blocked GEMM in the style of GotoBLAS/BLIS, written with xsimd so
// the same source compiles to SSE, AVX2+FMA or AVX-512 (whatever -march
// allows). docs/kernels.md explains the design; in short:
//   - op(B) is copied into kc x nr strips (zero-padded at the edge) that the
//     inner loop reads sequentially from aligned memory; A is read in place;
//   - a micro-kernel keeps an mr x nr tile of C in registers and adds kc
//     rank-1 updates to it (mr broadcasts of A, nr/width loads of B, FMAs);
//   - C with at most 8 columns (gates, towers) takes a dot-product kernel
//     or, when A is transposed, the transposed product C^T = op(B)^T op(A)^T;
//   - OpenMP splits C into rectangles; K is never split across threads, and
//     the order in which each C element sums its k terms depends only on the
//     shape, so the result is bitwise the same for any thread count.
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe::backend {

// The tile and block sizes this build uses (for the docs and benchmarks).
struct SgemmBlocking {
  const char* arch;  // xsimd architecture, e.g. "avx512bw" or "fma3+avx2"
  int simd_width;    // floats per SIMD register
  int mr, nr;        // micro-tile: mr rows x nr columns of C held in registers
  int kc;            // depth of one packed block (fixed: decides the summation order)
  int mc_max, nc;    // rows of A / columns of packed B per cache block
};
SgemmBlocking sgemm_blocking();

// C[m,n] = alpha * op(A)[m,k] @ op(B)[k,n] + beta * C with row-major A, B, C
// and leading dimensions; exactly the contract of Backend::gemm
// (beta = 0 overwrites C without reading it). Uses num_threads() threads.
void sgemm(bool trans_a, bool trans_b, Index m, Index n, Index k, float alpha, const float* a,
           Index lda, const float* b, Index ldb, float beta, float* c, Index ldc);

}  // namespace m3oe::backend
