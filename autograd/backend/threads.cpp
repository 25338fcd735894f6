#include "autograd/backend/threads.hpp"

#include <atomic>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace m3oe {

namespace {
// 0 = not set: follow omp_get_max_threads() (OMP_NUM_THREADS).
std::atomic<int> g_threads{0};
// > 0: this thread's share, set by a ThreadShare (run_side_by_side).
thread_local int t_share = 0;
}  // namespace

ThreadShare::ThreadShare(int n) : previous_(t_share) { t_share = n > 0 ? n : 1; }
ThreadShare::~ThreadShare() { t_share = previous_; }

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

int num_threads() {
  if (t_share > 0) return has_openmp() ? t_share : 1;
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

void run_side_by_side(int threads, void (*first)(void*), void* first_arg, void (*second)(void*),
                      void* second_arg) {
#ifdef _OPENMP
  if (threads >= 2) {
    const int first_share = threads / 2, second_share = threads - threads / 2;
    // A share of more than one thread runs its kernels in a team of their
    // own inside this region: OpenMP must allow two active levels.
    if (second_share > 1 && omp_get_max_active_levels() < 2) omp_set_max_active_levels(2);
    bool second_done = false;
#pragma omp parallel num_threads(2)
    {
      if (omp_get_thread_num() == 0) {
        ThreadShare share(first_share);
        first(first_arg);
      } else {
        ThreadShare share(second_share);
        second(second_arg);
        second_done = true;
      }
    }
    // The runtime may give the region one thread (a thread limit): then the
    // second function has not run yet.
    if (!second_done) {
      ThreadShare share(threads);
      second(second_arg);
    }
    return;
  }
#endif
  first(first_arg);
  second(second_arg);
}

}  // namespace m3oe
