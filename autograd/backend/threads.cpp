#include "autograd/backend/threads.hpp"

#include <atomic>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace m3oe {

namespace {
// 0 = not set: follow omp_get_max_threads() (OMP_NUM_THREADS).
std::atomic<int> g_threads{0};
}  // namespace

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

int num_threads() {
#ifdef _OPENMP
  // Inside a parallel region (slices of a batch running side by side, see
  // m3oe/infer.hpp) each kernel stays on its calling thread.
  if (omp_in_parallel()) return 1;
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace m3oe
