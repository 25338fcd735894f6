// bench_step: the whole M3oE training step and inference, as a user runs them
// (docs/performance.md has the numbers, and scripts/compare_torch.py puts
// them next to PyTorch's).
//
//   train_step/batch:B/threads:P   zero_grad, forward, m3oe_loss, backward,
//                                  Adam step (lr 1e-2, weight decay 1e-5)
//   inference/batch:B/threads:P    Predictor::probs: the forward without a
//                                  graph, the batch's rows split across the
//                                  threads, the parameter-only values computed
//                                  once for all batches (m3oe/infer.hpp), as
//                                  `m3oe eval` and `predict` run a data set
//
// Model: the ML-1M configuration (ml1m_reference_schema(), N = 4 shared
// experts, every other setting the default, as `m3oe train` builds it).
// Batch: B random rows, ids uniform within each feature's vocabulary, the
// domain uniform over the D domains (the domain_indicator feature holds it),
// dense values uniform in [0,1), labels Bernoulli(0.5); one fixed seed.
//
// Counters:
//   rows/s          rows of the batch per second of wall-clock time
//   GFLOP/s         useful work per second, by the formula at flops_per_row()
//   MFLOP/row       that formula's value for one row (forward, or 3x for training)
//   faults/step     minor page faults per timed step (getrusage ru_minflt);
//                   0 once the heap reuses its memory (keep_freed_memory)
//   peak_RSS_MiB    the process's peak resident memory so far (ru_maxrss);
//                   cases run in ascending batch order, so the training case
//                   of a batch shows the peak of training at that batch (run
//                   one case alone with --benchmark_filter for its own peak)
//
//   fma_peak/threads:P             the machine's fused-multiply-add peak at
//                                  the SIMD width the library is compiled for
//                                  (GFLOP/s), the 100% of "% of peak"
#include "autograd/backend/allocator.hpp"
#include "autograd/backend/threads.hpp"
#include "autograd/rng.hpp"
#include "benchmarks/fma_peak.hpp"
#include "m3oe/config.hpp"
#include "m3oe/infer.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/model.hpp"
#include "optim/adam.hpp"

#include <benchmark/benchmark.h>

#include <xsimd/xsimd.hpp>

#include <sys/resource.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using namespace m3oe;

namespace {

constexpr std::uint64_t kSeed = 2024;
constexpr double kLr = 1e-2, kWeightDecay = 1e-5;

M3oEConfig ml1m_config() {
  M3oEConfig c = M3oEConfig::from_schema(ml1m_reference_schema());
  c.num_shared_experts = 4;
  c.validate();
  return c;
}

// The work one row needs, in FLOPs, counting only the Linear layers (a
// Linear in->out costs 2*in*out per row: one multiply and one add per
// weight). A row of domain d goes through
//   its own domain's STAR product   2 * in * F          (in = n_sparse*E + n_dense)
//   star_mlp                        2 * F * H
//   skip_conn                       2 * in * H
//   all N + D + T experts           (N + D + T) * 2 * H * O
//   its T gates                     T * 2 * H * N
//   its T towers                    T * (2 * O * O + 2 * O)
// with F, H, O = fcn_dims[0], fcn_dims[1], fcn_dims.back(). LayerNorm,
// softmax, the fusion, the embedding look-ups and the per-step W_d * W_sh
// product are left out (they are not GEMM work). The ML-1M configuration:
// in = 113, F = 512, H = 256, O = 64, N = 4, D = 3, T = 2 gives 751,360 per
// row. Training counts 3x forward: the backward of a Linear is two GEMMs of
// the forward's size (input gradient and weight gradient).
double forward_flops_per_row(const M3oEConfig& c) {
  const double in = double(c.input_dim()), F = double(c.fcn_dims[0]), H = double(c.fcn_dims[1]),
               O = double(c.fcn_dims.back());
  const double N = c.num_shared_experts, D = c.num_domains(), T = c.num_tasks();
  const double experts = N + (c.use_domain_module ? D : 0) + (c.use_task_module ? T : 0);
  return 2 * in * F + 2 * F * H + 2 * in * H + experts * 2 * H * O + T * 2 * H * N +
         T * (2 * O * O + 2 * O);
}

data::Batch random_batch(const data::Schema& s, Index rows, std::uint64_t seed) {
  Rng rng(seed);
  data::Batch b;
  b.rows = rows;
  b.domain.resize(static_cast<std::size_t>(rows));
  for (auto& d : b.domain) d = static_cast<std::int32_t>(rng.below(std::uint64_t(s.num_domains())));
  for (const auto& f : s.sparse) {
    IndexList ids(static_cast<std::size_t>(rows));
    if (f.name == s.domain_column)
      ids = b.domain;
    else
      for (auto& id : ids) id = static_cast<std::int32_t>(rng.below(std::uint64_t(f.vocab)));
    b.sparse_ids.push_back(std::move(ids));
  }
  b.dense = Tensor(rows, static_cast<Index>(s.dense.size()));
  for (Index i = 0; i < b.dense.size(); ++i) b.dense.data()[i] = static_cast<real>(rng.uniform());
  b.labels = Tensor(rows, s.num_tasks());
  for (Index i = 0; i < b.labels.size(); ++i) b.labels.data()[i] = real(rng.below(2));
  return b;
}

struct Usage {
  long minor_faults;
  long max_rss_kib;  // Linux reports ru_maxrss in KiB
};
Usage usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {ru.ru_minflt, ru.ru_maxrss};
}

// Untimed steps before the timed ones: the first step allocates the
// optimizer's moments and grows the heap to its steady-state size.
int warmup_steps(Index batch) { return batch >= 16384 ? 1 : 2; }

void run_case(benchmark::State& state, bool train, Index batch, int threads) {
  set_num_threads(threads);
  const M3oEConfig config = ml1m_config();
  Rng init_rng(kSeed);
  M3oE model(config, init_rng);
  optim::Adam opt(model.parameters(), kLr, kWeightDecay);
  if (!train) model.eval();  // as `m3oe eval` / `predict` run it
  const data::Batch b = random_batch(config.schema, batch, kSeed + 1);
  const int D = config.num_domains(), T = config.num_tasks();
  Predictor predictor(model);

  // One step; returns a number computed from its result (the loss, or the
  // first probability) so nothing can be optimised away.
  auto step = [&]() -> real {
    if (train) {
      model.zero_grad();
      const M3oEOutput out = model.forward(b);
      Var loss = m3oe_loss(out.probs, b, D, T);
      loss.backward();
      opt.step();
      return loss.item();
    }
    return predictor.probs(b)(0, 0);
  };

  for (int i = 0; i < warmup_steps(batch); ++i)
    if (!std::isfinite(double(step()))) {
      state.SkipWithError("the step's result is not finite");
      return;
    }
  const Usage before = usage();
  for (auto _ : state) benchmark::DoNotOptimize(step());
  const Usage after = usage();

  const double flops_per_row = forward_flops_per_row(config) * (train ? 3 : 1);
  using benchmark::Counter;
  state.counters["rows/s"] = Counter(double(batch), Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      Counter(double(batch) * flops_per_row * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["MFLOP/row"] = flops_per_row * 1e-6;
  state.counters["faults/step"] =
      double(after.minor_faults - before.minor_faults) / double(state.iterations());
  state.counters["peak_RSS_MiB"] = double(after.max_rss_kib) / 1024.0;
  set_num_threads(0);
}

// ---------------------------------------------------------------- FMA peak

// The chains of fma_peak.hpp on `threads` threads at once.
void fma_peak(benchmark::State& state, int threads) {
  constexpr std::int64_t kLoops = 2'000'000;  // 1 GFLOP per thread (AVX-512): ~7 ms
  std::vector<float> sink;
  for (auto _ : state) {
    bench::run_fma_chains(threads, kLoops, sink);
    benchmark::DoNotOptimize(sink.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(bench::fma_flops(threads, kLoops) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void register_cases() {
  for (int threads : {1, 2})
    benchmark::RegisterBenchmark(("fma_peak/threads:" + std::to_string(threads)).c_str(),
                                 [threads](benchmark::State& s) { fma_peak(s, threads); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);

  for (Index batch : {Index(256), Index(4096), Index(40960)})
    for (bool train : {true, false})
      for (int threads : {1, 2}) {
        const std::string name = std::string(train ? "train_step" : "inference") +
                                 "/batch:" + std::to_string(batch) +
                                 "/threads:" + std::to_string(threads);
        auto* bm = benchmark::RegisterBenchmark(
            name.c_str(),
            [train, batch, threads](benchmark::State& s) { run_case(s, train, batch, threads); });
        bm->UseRealTime()->Unit(benchmark::kMillisecond);
        // A 40,960-row training step is ~92 GFLOP: a fixed, small number of
        // steps instead of growing the count until 0.5 s have passed.
        if (batch >= 16384) bm->Iterations(train ? 2 : 3);
      }
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const M3oEConfig config = ml1m_config();
  benchmark::AddCustomContext("model", "M3oE ML-1M, N = " +
                                           std::to_string(config.num_shared_experts) +
                                           ", forward " +
                                           std::to_string(static_cast<long long>(forward_flops_per_row(config))) +
                                           " FLOP/row");
  benchmark::AddCustomContext("m3oe_openmp", has_openmp() ? "yes" : "no");
  benchmark::AddCustomContext("simd", std::string(xsimd::default_arch::name()) + ", " +
                                          std::to_string(xsimd::batch<float>::size) +
                                          " floats per register");
  register_cases();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
