// The register-blocked float GEMM (see gemm_xsimd.hpp and docs/kernels.md).
// Loop nest of one task (a rectangle of C owned by one OpenMP thread),
// outermost first:
//
//   jc: columns in blocks of NC       B block op(B)[pc:pc+kc, jc:jc+nc] is packed
//    pc: depth in blocks of KC        into kc x NR strips in the task's buffer
//     ic: rows in blocks of MC_MAX    A rows of the block stay in L2
//      jr: NR-column strips           a packed B strip (kc x NR) is reused by
//       ir: MR-row strips             every A strip of the block
//        micro_kernel: C[MR,NR] (+)= A strip (read in place) @ B strip
//
// A is not packed: the micro-kernel reads it where it lies (each of its MR
// rows is a sequential stream, or each p a contiguous run when A is
// transposed), which measured faster than packing it, whose transposing copy
// costs as much as the product when N is small (N = 64 for the experts).
// A ragged last strip of fewer than MR rows has a micro-kernel of its own row
// count (strip_tile), so no work is spent on padding rows.
//
// Determinism: every C element sums its k terms as: KC blocks in order, and
// inside a block p = 0..kc-1 with one FMA each, then adds the block into C.
// KC is a constant, so that order depends on nothing but k; the thread count
// only decides which thread computes which rectangle of C. K is never split.
#include "autograd/backend/gemm_xsimd.hpp"

#include "autograd/backend/simd.hpp"
#include "autograd/backend/threads.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace m3oe::backend {

namespace {

using simd::Arch;
using Vec = simd::Vec<float>;
using simd::fmadd;
constexpr int W = simd::lanes<float>;  // floats per register: 16 AVX-512, 8 AVX2, 4 SSE

// Micro-tile: MR rows x NV registers of C. The loop over k holds MR*NV
// accumulators, NV registers of B and one broadcast of A. AVX-512 has 32
// registers: 6 x 4 (24 accumulators, a 6 x 64 tile); AVX2 and SSE have 16:
// 6 x 2 (12 accumulators, 6 x 16 on AVX2). Measured against other shapes in
// docs/kernels.md. Each constant can be overridden with -D to tune.
#ifndef M3OE_SGEMM_MR
#define M3OE_SGEMM_MR 6
#endif
#ifndef M3OE_SGEMM_NV
#define M3OE_SGEMM_NV (W >= 16 ? 4 : 2)
#endif
// Depth of one block. It fixes the order in which every C element sums its
// k terms, so it must not depend on anything but this constant.
#ifndef M3OE_SGEMM_KC
#define M3OE_SGEMM_KC 256
#endif
// Rows of A per block: the direct (unpacked) A rows of one block, MC x KC
// floats, stay in L2 while the block sweeps all B strips.
#ifndef M3OE_SGEMM_MC
#define M3OE_SGEMM_MC 144
#endif
// Columns of packed B per block (KC x NC floats, 512 KiB at 256 x 512).
#ifndef M3OE_SGEMM_NC
#define M3OE_SGEMM_NC 512
#endif
constexpr int MR = M3OE_SGEMM_MR;
constexpr int NV = M3OE_SGEMM_NV;
constexpr int NR = NV * W;
constexpr Index KC = M3OE_SGEMM_KC;
constexpr Index MC_MAX = (M3OE_SGEMM_MC + MR - 1) / MR * MR;
constexpr Index NC = (M3OE_SGEMM_NC + NR - 1) / NR * NR;
constexpr std::size_t kAlign = 64;

using Buffer = std::vector<float, xsimd::aligned_allocator<float, kAlign>>;

// Packs one NR-column strip of op(B)[p0:p0+kc, j0:j0+cols] (cols <= NR):
// for each p, NR values op(B)[p0+p, j0+j] (columns past cols are zero).
// op(B)(p,j) is b[p*ldb+j], or b[j*ldb+p] when transposed.
void pack_b_strip(const float* b, Index ldb, bool trans, Index p0, Index kc, Index j0,
                  Index cols, float* dst) {
  if (!trans && cols == NR) {
    for (Index p = 0; p < kc; ++p) {
      const float* src = b + (p0 + p) * ldb + j0;
      for (int v = 0; v < NV; ++v)
        Vec::load_unaligned(src + v * W).store_aligned(dst + p * NR + v * W);
    }
    return;
  }
  if (trans) {
    // A transpose: each column j of the strip is a contiguous run of b.
    // Done 16 p at a time, so a cache line of b is read whole and the 16
    // destination rows it scatters into stay in L1.
    constexpr Index kStep = 16;
    for (Index p = 0; p < kc; p += kStep) {
      const Index steps = std::min(kStep, kc - p);
      for (Index j = 0; j < cols; ++j) {
        const float* src = b + (j0 + j) * ldb + p0 + p;
        for (Index q = 0; q < steps; ++q) dst[(p + q) * NR + j] = src[q];
      }
      for (Index q = 0; q < steps; ++q)
        for (Index j = cols; j < NR; ++j) dst[(p + q) * NR + j] = 0.0f;
    }
    return;
  }
  for (Index p = 0; p < kc; ++p) {
    Index j = 0;
    for (; j < cols; ++j) dst[p * NR + j] = b[(p0 + p) * ldb + j0 + j];
    for (; j < NR; ++j) dst[p * NR + j] = 0.0f;
  }
}

// How one block's result enters C: c = alpha*acc + beta*c, where beta is the
// caller's beta for the first KC block and 1 for the later ones.
struct Update {
  float alpha, beta;
};

// The same arithmetic as the vector path below, one element at a time (the
// edges of C), so that an element's value does not depend on where it lies.
inline float update_scalar(float acc, float c, Update u) {
  const float r = u.alpha == 1.0f ? acc : acc * u.alpha;
  if (u.beta == 0.0f) return r;
  if (u.beta == 1.0f) return c + r;
  return std::fma(c, u.beta, r);
}

inline Vec update_vec(const Vec& acc, const float* c, Update u) {
  const Vec r = u.alpha == 1.0f ? acc : acc * Vec(u.alpha);
  if (u.beta == 0.0f) return r;
  if (u.beta == 1.0f) return Vec::load_unaligned(c) + r;
  return fmadd(Vec::load_unaligned(c), Vec(u.beta), r);
}

// Where the micro-kernel finds op(A)(i, p) of its strip: always A itself,
// read where it lies.
enum class ALayout {
  Rows,  // ap[i*lda + p]: A not transposed (each row contiguous in p)
  Cols,  // ap[p*lda + i]: A transposed (each p a contiguous run of rows)
};

// C[kRows, cols] (+)= A strip (kRows x kc) @ B strip (kc x NR, its rows ldb
// floats apart: NR when packed, B's own row stride when read in place);
// cols <= NR is the valid part at the right edge of C. kRows is MR for every
// strip but a ragged last one, which thus costs only its own rows: with
// 40-row products (inference slices) a padded 6-row tile for a last row
// alone wasted a tenth of the work.
template <ALayout kLayout, bool kPackedB, int kRows>
void micro_kernel(Index kc, const float* __restrict ap, Index lda, const float* __restrict bp,
                  Index ldb, float* c, Index ldc, Update u, Index cols) {
  Vec acc[kRows][NV];
#pragma GCC unroll 32
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = Vec(0.0f);

  for (Index p = 0; p < kc; ++p) {
    Vec bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = kPackedB ? Vec::load_aligned(bp + v * W) : Vec::load_unaligned(bp + v * W);
#pragma GCC unroll 32
    for (int i = 0; i < kRows; ++i) {
      const Vec ai(kLayout == ALayout::Rows ? ap[i * lda] : ap[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = fmadd(ai, bv[v], acc[i][v]);
    }
    ap += kLayout == ALayout::Rows ? 1 : lda;
    bp += kPackedB ? NR : ldb;
  }

  if (cols == NR) {
#pragma GCC unroll 32
    for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* ci = c + i * ldc + v * W;
        update_vec(acc[i][v], ci, u).store_unaligned(ci);
      }
    return;
  }
  alignas(kAlign) float tile[kRows][NR];
#pragma GCC unroll 32
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v].store_aligned(&tile[i][v * W]);
  for (Index i = 0; i < kRows; ++i)
    for (Index j = 0; j < cols; ++j) c[i * ldc + j] = update_scalar(tile[i][j], c[i * ldc + j], u);
}

// One MR strip (or a ragged last strip of rows < MR) of A against one B
// strip: the micro-kernel instance for that row count and layout.
template <bool kPackedB, int kRows = MR>
void strip_tile(Index rows, bool trans_a, const float* as, Index lda, const float* bs, Index ldb,
                float* ct, Index ldc, Update u, Index cols, Index kc) {
  if constexpr (kRows > 1) {
    if (rows < kRows)
      return strip_tile<kPackedB, kRows - 1>(rows, trans_a, as, lda, bs, ldb, ct, ldc, u, cols,
                                              kc);
  }
  if (trans_a) micro_kernel<ALayout::Cols, kPackedB, kRows>(kc, as, lda, bs, ldb, ct, ldc, u, cols);
  else micro_kernel<ALayout::Rows, kPackedB, kRows>(kc, as, lda, bs, ldb, ct, ldc, u, cols);
}

// Where one block's B strips are: packed (strip s at packed + s*NR*kc, rows
// NR floats apart) or, for the full strips of an untransposed B, read in
// place (strip s at direct + s*NR, rows ldb floats apart).
struct BStrips {
  const float* packed;
  const float* direct;  // null: every strip is packed
  Index ldb;
  Index direct_strips;  // strips [0, direct_strips) are read in place
};

// One B strip (kc x cols, its rows ldb floats apart) against rows [ic,
// ic+rows) of A, in MR strips and a ragged last one, all read in place.
template <bool kPackedB>
void strip_column(bool trans_a, const float* a, Index lda, Index ic, Index rows, Index pc,
                  Index kc, const float* bs, Index ldb, float* c, Index ldc, Index jr, Update u,
                  Index cols) {
  for (Index ir = 0; ir < rows; ir += MR) {
    const Index i = ic + ir;
    const float* as = trans_a ? a + pc * lda + i : a + i * lda + pc;
    strip_tile<kPackedB>(std::min<Index>(MR, rows - ir), trans_a, as, lda, bs, ldb,
                         c + i * ldc + jr, ldc, u, cols, kc);
  }
}

// One block of C: rows [ic, ic+rows) x B strips [0, strips), adding
// op(A)[ic:ic+rows, pc:pc+kc] @ B block.
void block(bool trans_a, const float* a, Index lda, Index ic, Index rows, Index pc, Index kc,
           const BStrips& b, Index strips, Index nc, float* c, Index ldc, Update u) {
  for (Index s = 0; s < strips; ++s) {
    const Index jr = s * NR;
    const Index cols = std::min<Index>(NR, nc - jr);
    if (s < b.direct_strips)
      strip_column<false>(trans_a, a, lda, ic, rows, pc, kc, b.direct + s * NR, b.ldb, c, ldc,
                          jr, u, cols);
    else
      strip_column<true>(trans_a, a, lda, ic, rows, pc, kc, b.packed + s * NR * kc, NR, c, ldc,
                         jr, u, cols);
  }
}

// The per-thread packing buffer of B, grown on demand and then reused: no
// heap traffic in steady state.
float* thread_buffer(std::size_t floats) {
  thread_local Buffer buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}

// The operands of one sgemm call.
struct Problem {
  bool trans_a, trans_b;
  Index k;
  float alpha, beta;
  const float* a;
  Index lda;
  const float* b;
  Index ldb;
  float* c;
  Index ldc;
};

// Up to this many rows of C, an untransposed B is read where it lies instead
// of being packed: with few A strips to share it, copying B (K x N floats,
// memory-bound) costs more than its strided reads. Inference on slices of a
// batch (m3oe/infer.hpp) has about 40-200 rows per domain.
#ifndef M3OE_SGEMM_DIRECT_B_ROWS
#define M3OE_SGEMM_DIRECT_B_ROWS 192
#endif
constexpr Index kDirectBRows = M3OE_SGEMM_DIRECT_B_ROWS;

// One task: C[row_begin:row_end, col_begin:col_end] (col_begin a multiple of
// NR). The task packs the B strips it needs into its own buffer, so tasks
// never wait for each other. Where B is read in place (direct_b: decided by
// the problem's shape), only a ragged last strip is packed. Both roads do
// the same FMAs in the same order.
void gemm_task(const Problem& p, Index row_begin, Index row_end, Index col_begin, Index col_end,
               bool direct_b) {
  float* bp = thread_buffer(std::size_t(KC * NC));
  for (Index jc = col_begin; jc < col_end; jc += NC) {
    const Index nc = std::min(NC, col_end - jc);
    const Index strips = (nc + NR - 1) / NR;
    const Index direct_strips = direct_b ? nc / NR : 0;
    for (Index pc = 0; pc < p.k; pc += KC) {
      const Index kc = std::min(KC, p.k - pc);
      // The first K block applies beta; the later ones add onto it.
      const Update u{p.alpha, pc == 0 ? p.beta : 1.0f};
      for (Index s = direct_strips; s < strips; ++s)
        pack_b_strip(p.b, p.ldb, p.trans_b, pc, kc, jc + s * NR, std::min<Index>(NR, nc - s * NR),
                     bp + s * NR * kc);
      const BStrips b{bp, direct_b ? p.b + pc * p.ldb + jc : nullptr, p.ldb, direct_strips};
      for (Index ic = row_begin; ic < row_end; ic += MC_MAX)
        block(p.trans_a, p.a, p.lda, ic, std::min(MC_MAX, row_end - ic), pc, kc, b, strips, nc,
              p.c + jc, p.ldc, u);
    }
  }
}

// C = beta * C for the cases with no product (k == 0 or alpha == 0).
void scale_c(Index m, Index n, float beta, float* c, Index ldc) {
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

// Below this many multiply-adds one thread is faster than waking a team.
constexpr double kParallelMinFlops = 64.0 * 64.0 * 64.0;

int threads_for(Index m, Index n, Index k) {
  return double(m) * double(n) * double(k) < kParallelMinFlops ? 1 : std::max(1, num_threads());
}

// The packed, blocked product for every shape but the skinny ones below.
void blocked_gemm(const Problem& p, Index m, Index n) {
  const int threads = threads_for(m, n, p.k);
  // Work split: C into row_parts x col_parts rectangles, one per task, cut
  // at whole MR strips / NR strips. Rows are split when there are enough of
  // them (each task then packs all of B for itself, a small duplicate of
  // work), else columns. Any split gives the same result: K is never split.
  const Index m_strips = (m + MR - 1) / MR, n_strips = (n + NR - 1) / NR;
  Index row_parts = std::min<Index>(threads, m_strips), col_parts = 1;
  if (m_strips < 4 * threads && n_strips >= threads) {
    row_parts = 1;
    col_parts = threads;
  }

  const bool direct_b = !p.trans_b && m <= kDirectBRows;
  auto run = [&](Index task) {
    const Index rp = task / col_parts, cp = task % col_parts;
    const Index row_begin = MR * (m_strips * rp / row_parts);
    const Index row_end = std::min(m, MR * (m_strips * (rp + 1) / row_parts));
    const Index col_begin = NR * (n_strips * cp / col_parts);
    const Index col_end = std::min(n, NR * (n_strips * (cp + 1) / col_parts));
    gemm_task(p, row_begin, row_end, col_begin, col_end, direct_b);
  };
  run_pieces(row_parts * col_parts, threads, run);  // one task: no OpenMP region
}

// ---- Skinny C: n <= kSkinnyN columns (gates: n = experts, towers: n = 1).
// An NR-wide tile would be mostly padding, so these shapes take other roads.
constexpr Index kSkinnyN = 8;

// Rows [0, R) of C (n = N columns) as dot products of rows of A (contiguous
// in k) with the columns of op(B), packed as rows of bt (ldbt floats apart,
// aligned). Each element sums lane l of its vector accumulator over the
// p = l (mod W), adds the lanes, then the tail p >= k - k % W one by one: an
// order fixed by k alone.
template <int N, int R>
void dot_rows(Index k, const float* a, Index lda, const float* bt, Index ldbt, float* c,
              Index ldc, Update u) {
  Vec acc[R][N];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < N; ++j) acc[r][j] = Vec(0.0f);
  const Index kv = k - k % W;
  for (Index p = 0; p < kv; p += W) {
    Vec bv[N];
#pragma GCC unroll 8
    for (int j = 0; j < N; ++j) bv[j] = Vec::load_aligned(bt + j * ldbt + p);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const Vec av = Vec::load_unaligned(a + r * lda + p);
#pragma GCC unroll 8
      for (int j = 0; j < N; ++j) acc[r][j] = fmadd(av, bv[j], acc[r][j]);
    }
  }
  // (xsimd 8.1's haddp, which would add W accumulators at once, gives wrong
  // lanes on AVX-512; one hadd per accumulator measured as fast here.)
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < N; ++j) {
      float s = xsimd::hadd(acc[r][j]);
      for (Index p = kv; p < k; ++p) s = std::fma(a[r * lda + p], bt[j * ldbt + p], s);
      c[r * ldc + j] = update_scalar(s, c[r * ldc + j], u);
    }
}

// C (n = N columns) for A not transposed: R rows at a time, as many as keep
// the accumulators in registers, the last m % R rows one at a time.
template <int N>
void skinny_rows(const Problem& p, Index m, const float* bt, Index ldbt) {
  constexpr int kAcc = W >= 16 ? 16 : 8;  // accumulators: half the registers
  constexpr int R = std::max(1, kAcc / N);
  const Update u{p.alpha, p.beta};
  const Index pieces = (m + 255) / 256;
  auto run = [&](Index piece) {
    const Index end = std::min(m, (piece + 1) * 256);
    Index i = piece * 256;
    for (; i + R <= end; i += R)
      dot_rows<N, R>(p.k, p.a + i * p.lda, p.lda, bt, ldbt, p.c + i * p.ldc, p.ldc, u);
    for (; i < end; ++i)
      dot_rows<N, 1>(p.k, p.a + i * p.lda, p.lda, bt, ldbt, p.c + i * p.ldc, p.ldc, u);
  };
  run_pieces(pieces, threads_for(m, N, p.k), run);
}

// Skinny C with A not transposed: op(B) packed as n rows of k, then dot products.
void skinny_gemm(const Problem& p, Index m, Index n) {
  const Index ldbt = (p.k + W - 1) / W * W;
  float* bt = thread_buffer(std::size_t(n * ldbt));
  for (Index j = 0; j < n; ++j)
    for (Index q = 0; q < p.k; ++q)
      bt[j * ldbt + q] = p.trans_b ? p.b[j * p.ldb + q] : p.b[q * p.ldb + j];
  switch (n) {
    case 1: return skinny_rows<1>(p, m, bt, ldbt);
    case 2: return skinny_rows<2>(p, m, bt, ldbt);
    case 3: return skinny_rows<3>(p, m, bt, ldbt);
    case 4: return skinny_rows<4>(p, m, bt, ldbt);
    case 5: return skinny_rows<5>(p, m, bt, ldbt);
    case 6: return skinny_rows<6>(p, m, bt, ldbt);
    case 7: return skinny_rows<7>(p, m, bt, ldbt);
    default: return skinny_rows<8>(p, m, bt, ldbt);
  }
}

// Skinny C with A transposed (a weight gradient X^T dY, k = batch rows):
// compute T = C^T = op(B)^T @ op(A)^T, whose long side m is now the vector
// side and whose op(A)^T is A as stored (contiguous rows), with the blocked
// kernel; then C = alpha * T^T + beta * C.
void skinny_transposed_gemm(const Problem& p, Index m, Index n) {
  thread_local Buffer t_buf;
  if (t_buf.size() < std::size_t(n * m)) t_buf.resize(std::size_t(n * m));
  float* t = t_buf.data();
  // op(B)^T: B stored [k,n] is read transposed; B stored [n,k] (trans_b) as is.
  const Problem tp{!p.trans_b, false, p.k, 1.0f, 0.0f, p.b, p.ldb, p.a, p.lda, t, m};
  blocked_gemm(tp, n, m);
  const Update u{p.alpha, p.beta};
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j)
      p.c[i * p.ldc + j] = update_scalar(t[j * m + i], p.c[i * p.ldc + j], u);
}

}  // namespace

SgemmBlocking sgemm_blocking() {
  return {Arch::name(), W, MR, NR, int(KC), int(MC_MAX), int(NC)};
}

void sgemm(bool trans_a, bool trans_b, Index m, Index n, Index k, float alpha, const float* a,
           Index lda, const float* b, Index ldb, float beta, float* c, Index ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    if (beta != 1.0f) scale_c(m, n, beta, c, ldc);
    return;
  }
  const Problem p{trans_a, trans_b, k, alpha, beta, a, lda, b, ldb, c, ldc};
  // The road taken depends on the shape only, never on the thread count.
  if (n <= kSkinnyN && m > kSkinnyN) {
    if (trans_a) skinny_transposed_gemm(p, m, n);
    else skinny_gemm(p, m, n);
    return;
  }
  blocked_gemm(p, m, n);
}

}  // namespace m3oe::backend
