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
#include <type_traits>

namespace m3oe {

// Use n >= 1 threads in the CPU kernels; n <= 0 restores the default.
void set_num_threads(int n);
// The number of threads the CPU kernels use now (>= 1); 1 when called inside
// an OpenMP parallel region, so kernels never nest thread teams.
int num_threads();
// True when the library was built with OpenMP.
bool has_openmp();

// Inside its scope, num_threads() on this thread returns n (>= 1), also
// inside a parallel region: the two halves of run_side_by_side each give
// their kernels their share of the threads this way.
class ThreadShare {
 public:
  explicit ThreadShare(int n);
  ~ThreadShare();
  ThreadShare(const ThreadShare&) = delete;
  ThreadShare& operator=(const ThreadShare&) = delete;

 private:
  int previous_;
};

// Runs first() and second() at the same time, first on the calling thread
// with threads/2 threads for its kernels, second on another with the rest
// (threads - threads/2); with threads <= 1, or when no second thread can be
// had, one after the other on the calling thread with all of them. Neither
// may throw, nor touch what the other writes. Results equal the sequential
// ones whenever each function's result is independent of its thread count,
// as every kernel's is.
void run_side_by_side(int threads, void (*first)(void*), void* first_arg, void (*second)(void*),
                      void* second_arg);

template <class F1, class F2>
void run_side_by_side(int threads, F1&& first, F2&& second) {
  run_side_by_side(
      threads, [](void* f) { (*static_cast<std::remove_reference_t<F1>*>(f))(); }, &first,
      [](void* f) { (*static_cast<std::remove_reference_t<F2>*>(f))(); }, &second);
}

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

// Below this many values a row loop runs on the calling thread: waking the
// other threads costs more than they would save.
inline constexpr std::ptrdiff_t kParallelMinValues = std::ptrdiff_t(1) << 15;

// The row loops of the CPU kernels (copies, mixing, row-wise LayerNorm):
// fn(begin, end, piece) for the rows [begin, end) of piece number `piece`,
// where the pieces cut [0, rows) every piece_rows rows. A rows x cols loop of
// fewer than kParallelMinValues values stays on the calling thread.
template <class Fn>
void run_row_pieces(std::ptrdiff_t rows, std::ptrdiff_t cols, std::ptrdiff_t piece_rows, Fn&& fn) {
  const int threads = rows * cols < kParallelMinValues ? 1 : num_threads();
  run_pieces((rows + piece_rows - 1) / piece_rows, threads, [&](std::ptrdiff_t piece) {
    const std::ptrdiff_t begin = piece * piece_rows;
    fn(begin, begin + piece_rows < rows ? begin + piece_rows : rows, piece);
  });
}

}  // namespace m3oe
