// fma_peak.hpp: the machine's fused-multiply-add peak, the 100 % of every
// "% of FMA peak" the benchmarks print (bench_step, bench_expert;
// docs/performance.md, "The FMA peak").
//
// `loops` rounds of kFmaChains independent FMA chains acc = acc * a + c on
// SIMD registers of the compiled width (xsimd's default architecture:
// AVX-512 under -march=native on an AVX-512 machine). The chains must cover
// the FMA latency (4 cycles) times the FMA ports (2), 8 at least, and they
// must all stay in registers with a and c: AVX-512 has 32 registers, room
// for 16 chains; AVX2 and SSE have 16, where 16 chains would spill one to
// memory each round and read the peak about 20 % low, so they run 12.
// acc converges to c / (1 - a) = 0.1: no denormals, no overflow.
#pragma once

#include <xsimd/xsimd.hpp>

#include <time.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace m3oe::bench {

inline constexpr int kFmaChains = xsimd::batch<float>::size >= 16 ? 16 : 12;

// Runs the chains `loops` rounds on the calling thread; returns their sum so
// the loop is kept.
inline float fma_chains(std::int64_t loops) {
  using B = xsimd::batch<float>;
  B acc[kFmaChains];
  for (int k = 0; k < kFmaChains; ++k) acc[k] = B(0.01f * float(k));
  const B a(0.999f), c(1e-4f);
  for (std::int64_t i = 0; i < loops; ++i)
    for (int k = 0; k < kFmaChains; ++k) acc[k] = xsimd::fma(acc[k], a, c);
  B sum = acc[0];
  for (int k = 1; k < kFmaChains; ++k) sum += acc[k];
  return xsimd::hadd(sum);
}

// The FLOPs of fma_chains(loops) on each of `threads` threads (an FMA is 2).
inline double fma_flops(int threads, std::int64_t loops) {
  return double(threads) * double(loops) * kFmaChains * double(xsimd::batch<float>::size) * 2;
}

// The CPU time the calling thread has run, in seconds: unlike wall time it
// does not grow while other processes have the core.
inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// fma_chains(loops) on `threads` std::threads at once, their sums in sink;
// with cpu_seconds, each thread's CPU time for its chains goes there.
inline void run_fma_chains(int threads, std::int64_t loops, std::vector<float>& sink,
                           std::vector<double>* cpu_seconds = nullptr) {
  sink.assign(static_cast<std::size_t>(threads), 0.0f);
  if (cpu_seconds) cpu_seconds->assign(static_cast<std::size_t>(threads), 0.0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&sink, cpu_seconds, t, loops] {
      const double start = thread_cpu_seconds();
      sink[std::size_t(t)] = fma_chains(loops);
      if (cpu_seconds) (*cpu_seconds)[std::size_t(t)] = thread_cpu_seconds() - start;
    });
  for (auto& th : pool) th.join();
}

}  // namespace m3oe::bench
