#include "m3oe/baselines/m2m.hpp"

#include "autograd/ops.hpp"
#include "layers/init.hpp"
#include "layers/star.hpp"

#include <cmath>

namespace m3oe::baselines {

// ---- MetaLinear -------------------------------------------------------------

// W_0 and b_0 start like nn.Linear's weight and bias; the r basis matrices
// with a bound 1/sqrt(r) smaller, so that with s ~ N(0,1) the generated part
// sum_j s_j V_j has about the variance of W_0.
MetaLinear::MetaLinear(Index in, Index out, Index cond_dim, Rng& rng) : nn::Module("MetaLinear") {
  const double bound = nn::init::linear_bound(in);
  const double basis_bound = bound / std::sqrt(double(cond_dim));
  base_weight_ = register_parameter("base_weight", nn::init::uniform(in, out, bound, rng));
  base_bias_ = register_parameter("base_bias", nn::init::uniform(1, out, bound, rng));
  bias_basis_ = register_parameter("bias_basis", nn::init::uniform(cond_dim, out, basis_bound, rng));
  basis_ = &register_module("basis", std::make_unique<nn::ParameterList>());
  for (Index j = 0; j < cond_dim; ++j) basis_->append(nn::init::uniform(in, out, basis_bound, rng));
}

std::pair<Var, Var> MetaLinear::generate(const Var& s) const {
  Var w = base_weight_;
  for (std::size_t j = 0; j < basis_->size(); ++j)
    w = add(w, scale((*basis_)[j], slice_cols(s, Index(j), 1)));  // + s_j V_j
  const Var b = linear(s, bias_basis_, base_bias_);                  // b_0 + s B
  return {w, b};
}

// ---- M2M --------------------------------------------------------------------

M2M::M2M(const BaselineConfig& config, Rng& rng)
    : RecModel("M2M"), D_(config.num_domains()), T_(config.num_tasks()) {
  config.validate();
  const std::vector<Index> path = config.path_dims();
  const Index repr = config.repr_dim, r = config.meta_dim;
  embedding_ = &register_module(
      "embedding", std::make_unique<nn::FeatureEmbedder>(config.schema, config.embedding_dim, rng));
  // Scenario and task embeddings ~ N(0,1): they scale the generated weights.
  scenario_ = &register_module("scenario", std::make_unique<nn::Embedding>(D_, r, rng, 1.0));
  task_ = &register_module("task", std::make_unique<nn::Embedding>(T_, r, rng, 1.0));
  experts_ = fill_experts(register_module("expert", std::make_unique<nn::ModuleList>()),
                          config.experts, path, rng);
  attention_ = &register_module("attention", std::make_unique<MetaLinear>(repr + r, repr, r, rng));
  attention_v_ = register_parameter("attention_v",
                                    nn::init::uniform(repr, 1, nn::init::linear_bound(repr), rng));
  auto& towers = register_module("tower", std::make_unique<nn::ModuleList>());
  auto& outputs = register_module("output", std::make_unique<nn::ModuleList>());
  for (int t = 0; t < T_; ++t) {
    auto& layers = towers.append(std::make_unique<nn::ModuleList>());
    tower_.emplace_back();
    for (int l = 0; l < config.meta_tower_layers; ++l)
      tower_.back().push_back(&layers.append(std::make_unique<MetaLinear>(repr, repr, r, rng)));
    output_.push_back(&outputs.append(std::make_unique<nn::Linear>(repr, 1, rng)));
  }
}

Var M2M::domain_logits(int d, const Var& x) const {
  const std::size_t n = static_cast<std::size_t>(x.rows());
  const Var s = scenario_->forward(IndexList{d});  // [1,r]
  std::vector<Var> e;                              // K x [n,repr]
  for (nn::MLP* expert : experts_) e.push_back(expert->forward(x));
  const Var stacked = stack_experts(e);            // [n,K*repr]
  const auto [w_att, b_att] = attention_->generate(s);

  std::vector<Var> logits;
  for (int t = 0; t < T_; ++t) {
    // Meta attention over the experts, conditioned on task t and domain d.
    const Var task_rows = task_->forward(IndexList(n, t));  // t_t on every row [n,r]
    std::vector<Var> scores;
    for (const Var& ek : e)
      scores.push_back(matmul(relu(linear(concat_cols({ek, task_rows}), w_att, b_att)), attention_v_));
    Var h = mix_stacked(softmax_rows(stack_experts(scores)), stacked);  // [n,repr]
    // Meta tower: residual meta layers, then the task's output layer.
    for (const MetaLinear* layer : tower_[std::size_t(t)]) {
      const auto [w, b] = layer->generate(s);
      h = add(relu(linear(h, w, b)), h);
    }
    logits.push_back(output_[std::size_t(t)]->forward(h));
  }
  return logits.size() == 1 ? logits[0] : concat_cols(logits);
}

ModelOutput M2M::forward(const data::Batch& batch) const try {
  check_batch(batch, "M2M");
  std::vector<IndexList> rows = nn::group_rows_by_domain(batch.domain, D_);
  const Var x = embedding_->forward(batch);
  std::vector<Var> logits(static_cast<std::size_t>(D_));
  for (int d = 0; d < D_; ++d)
    if (!rows[std::size_t(d)].empty())
      logits[std::size_t(d)] = domain_logits(d, take_rows(x, rows[std::size_t(d)]));
  return finish_output(logits, std::move(rows), batch.rows);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
