// threads.hpp: the one knob for how many threads the CPU kernels use.
//
// Every OpenMP region in the CPU backend asks num_threads() (through a
// `num_threads(...)` clause), so one call sets the whole library. The default
// is omp_get_max_threads(), which honours OMP_NUM_THREADS. Results never
// depend on this number: every kernel splits its work into pieces whose size
// is fixed by the problem shape, and reduces partial sums in a fixed order.
// Without OpenMP everything runs on the calling thread and num_threads() is 1.
#pragma once

#include <cstddef>

namespace m3oe {

// Use n >= 1 threads in the CPU kernels; n <= 0 restores the default.
void set_num_threads(int n);
// The number of threads the CPU kernels use now (>= 1); 1 when called inside
// an OpenMP parallel region, so kernels never nest thread teams.
int num_threads();
// True when the library was built with OpenMP.
bool has_openmp();

// Runs fn(piece) once for every piece in [0, pieces), on `threads` threads
// (static schedule) or, with threads <= 1, in order on the calling thread.
// The pattern of every CPU kernel: the caller fixes the pieces from the
// problem's shape, so what each piece computes never depends on the thread
// count; only who computes it does.
template <class Fn>
void run_pieces(std::ptrdiff_t pieces, int threads, Fn&& fn) {
#ifdef _OPENMP
  if (threads > 1 && pieces > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t p = 0; p < pieces; ++p) fn(p);
    return;
  }
#endif
  for (std::ptrdiff_t p = 0; p < pieces; ++p) fn(p);
}

}  // namespace m3oe
