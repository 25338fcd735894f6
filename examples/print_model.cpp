// print_model: prints the M3oE model like PyTorch's print(model), with every
// layer's shape and parameter count and the total.
//
//   ./build/examples/print_model                  the ML-1M configuration (N = 4): 788,146
//   ./build/examples/print_model --experts 1      the paper's N = 1: 733,792
//   ./build/examples/print_model --without-domain --without-task --fixed 0.5
//   ./build/examples/print_model --dot m3oe.dot   also writes the graph of one
//        forward + loss on a batch of 6 random rows (2 per domain) as Graphviz
//        DOT, parameters named by their path in the module tree:
//        dot -Tsvg m3oe.dot -o m3oe.svg  (docs/img/m3oe_forward.svg is one)
// For the two unablated configurations above it exits with 1 if the count is
// not the one given here (the official PyTorch model's).
#include "autograd/graph_dot.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/model.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

namespace {
using namespace m3oe;

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--experts N] [--without-domain] [--without-task] [--fixed W] [--dot FILE]\n"
               "  --experts N       shared experts (default 4, the released script's)\n"
               "  --without-domain  ablation: no domain experts\n"
               "  --without-task    ablation: no task experts\n"
               "  --fixed W         fusion weights fixed at W in [0,1] (0.5 = w/o AutoML)\n"
               "  --dot FILE        write the graph of one forward + loss as Graphviz DOT\n",
               argv0);
  return 2;
}
// A batch of 2 rows per domain with random ids, dense values and labels.
data::Batch random_batch(const data::Schema& schema, Rng& rng) {
  const int per_domain = 2;
  data::Batch b;
  b.rows = per_domain * schema.num_domains();
  for (const auto& f : schema.sparse) {
    IndexList ids(static_cast<std::size_t>(b.rows));
    for (auto& id : ids) id = static_cast<std::int32_t>(rng.below(std::uint64_t(f.vocab)));
    b.sparse_ids.push_back(ids);
  }
  b.dense = Tensor(b.rows, static_cast<Index>(schema.dense.size()));
  for (Index i = 0; i < b.dense.size(); ++i) b.dense.data()[i] = static_cast<real>(rng.uniform());
  for (std::int64_t i = 0; i < b.rows; ++i) b.domain.push_back(static_cast<std::int32_t>(i / per_domain));
  b.labels = Tensor(b.rows, schema.num_tasks());
  for (Index i = 0; i < b.labels.size(); ++i) b.labels.data()[i] = real(rng.below(2));
  return b;
}

// The graph of loss(forward(batch)): every op with its shape, every parameter
// with its name (embedding.embed_dict.user_id.weight, experts..., towers...).
void write_forward_graph(const M3oE& model, const M3oEConfig& config, const std::string& path) {
  Rng rng(1);
  const data::Batch batch = random_batch(config.schema, rng);
  const Var loss =
      m3oe_loss(model.forward(batch).probs, batch, config.num_domains(), config.num_tasks());
  std::ofstream out(path);
  write_dot(out, loss);
  if (!out) throw std::runtime_error(path + ": cannot write the graph");
  std::printf("\nwrote the graph of one forward + loss (%s) to %s\n",
              shape_str(loss.value()).c_str(), path.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  using namespace m3oe;
  M3oEConfig config = M3oEConfig::from_schema(ml1m_reference_schema());
  bool ablated = false;
  std::string dot_path;
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
    } else if (arg == "--dot" && i + 1 < argc) {
      dot_path = argv[++i];
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
    if (!dot_path.empty()) write_forward_graph(model, config, dot_path);
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
