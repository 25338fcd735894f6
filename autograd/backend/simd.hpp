// simd.hpp: the SIMD vocabulary shared by the CPU kernels (internal header).
//
// xsimd picks the widest instruction set -march allows (AVX-512, AVX2+FMA,
// SSE, NEON); Vec<T> is one register of T and lanes<T> its width.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace m3oe::backend::simd {

using Arch = xsimd::default_arch;
template <class T>
using Vec = xsimd::batch<T, Arch>;
template <class T>
inline constexpr int lanes = int(Vec<T>::size);

// a * b + c in one rounding. xsimd 8.1 implements fma for AVX-512 as a
// multiply and an add, which is one FMA instruction only if the compiler
// happens to fuse them, so AVX-512 gets the intrinsic; every other
// architecture gets xsimd's own fma. (GCC does fuse plain `x += a * b` in
// scalar and auto-vectorised loops, -std=c++20 included: the order in which
// such terms are added shows in the last bit.)
template <class T>
inline Vec<T> fmadd(const Vec<T>& a, const Vec<T>& b, const Vec<T>& c) {
#if defined(__AVX512F__)
  if constexpr (lanes<T> * sizeof(T) == 64) {
    if constexpr (sizeof(T) == 4) return Vec<T>(_mm512_fmadd_ps(a, b, c));
    else return Vec<T>(_mm512_fmadd_pd(a, b, c));
  }
#endif
  return xsimd::fma(a, b, c);
}

// sum_j a[j] * b[j] over n values, in a fixed order: lane l of one register
// sums the j = l (mod lanes) of the whole registers, the lanes are added,
// then the tail j >= n - n % lanes one by one. The order depends on n only.
template <class T>
inline T dot(const T* a, const T* b, std::ptrdiff_t n) {
  constexpr std::ptrdiff_t w = lanes<T>;
  const std::ptrdiff_t vend = n - n % w;
  Vec<T> acc(T(0));
  for (std::ptrdiff_t j = 0; j < vend; j += w)
    acc = fmadd(Vec<T>::load_unaligned(a + j), Vec<T>::load_unaligned(b + j), acc);
  T s = xsimd::hadd(acc);
  for (std::ptrdiff_t j = vend; j < n; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace m3oe::backend::simd
