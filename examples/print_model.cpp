// print_model: prints the M3oE model like PyTorch's print(model), with every
// layer's shape and parameter count and the total.
//
//   ./build/examples/print_model                  the ML-1M configuration (N = 4): 788,146
//   ./build/examples/print_model --experts 1      the paper's N = 1: 733,792
//   ./build/examples/print_model --without-domain --without-task --fixed 0.5
// For the two unablated configurations above it exits with 1 if the count is
// not the one given here (the official PyTorch model's).
#include "m3oe/model.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {
int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--experts N] [--without-domain] [--without-task] [--fixed W]\n"
               "  --experts N       shared experts (default 4, the released script's)\n"
               "  --without-domain  ablation: no domain experts\n"
               "  --without-task    ablation: no task experts\n"
               "  --fixed W         fusion weights fixed at W in [0,1] (0.5 = w/o AutoML)\n",
               argv0);
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace m3oe;
  M3oEConfig config = M3oEConfig::from_schema(ml1m_reference_schema());
  bool ablated = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--experts" && i + 1 < argc) {
      config.num_shared_experts = std::atoi(argv[++i]);
    } else if (arg == "--without-domain") {
      config.use_domain_module = false;
      ablated = true;
    } else if (arg == "--without-task") {
      config.use_task_module = false;
      ablated = true;
    } else if (arg == "--fixed" && i + 1 < argc) {
      config.fusion_mode = FusionMode::fixed;
      config.fixed_weight = static_cast<real>(std::atof(argv[++i]));
      ablated = true;
    } else {
      return usage(argv[0]);
    }
  }
  try {
    Rng rng(2022);
    const M3oE model(config, rng);
    std::printf("M3oE on the MovieLens-1M schema: D = %d domains, T = %d tasks, N = %d shared "
                "experts, input x = %zu sparse x %ld + %zu dense = %ld\n\n",
                config.num_domains(), config.num_tasks(), config.num_shared_experts,
                config.schema.sparse.size(), static_cast<long>(config.embedding_dim),
                config.schema.dense.size(), static_cast<long>(config.input_dim()));
    std::fputs(model.to_string().c_str(), stdout);
    const Index expected = config.num_shared_experts == 4 ? 788146 : config.num_shared_experts == 1 ? 733792 : 0;
    if (!ablated && expected != 0 && model.num_parameters() != expected) {
      std::fprintf(stderr, "print_model: %ld parameters, expected %ld\n",
                   static_cast<long>(model.num_parameters()), static_cast<long>(expected));
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "print_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
