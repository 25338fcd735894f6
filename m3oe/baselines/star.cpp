#include "m3oe/baselines/star.hpp"

#include "autograd/ops.hpp"
#include "layers/init.hpp"
#include "layers/star.hpp"

namespace m3oe::baselines {

// ---- StarLinear -------------------------------------------------------------

StarLinear::StarLinear(Index in, Index out, int domains, Rng& rng) : nn::Module("StarLinear") {
  const double bound = nn::init::linear_bound(in);  // nn.Linear's default
  shared_weight_ = register_parameter("shared_weight", nn::init::uniform(in, out, bound, rng));
  shared_bias_ = register_parameter("shared_bias", nn::init::uniform(1, out, bound, rng));
  domain_weight_ = &register_module("domain_weight", std::make_unique<nn::ParameterList>());
  domain_bias_ = &register_module("domain_bias", std::make_unique<nn::ParameterList>());
  for (int d = 0; d < domains; ++d) {
    domain_weight_->append(Tensor::Ones(in, out));
    domain_bias_->append(Tensor::Zero(1, out));
  }
}

Var StarLinear::forward(const Var& x, int d) const try {
  const Var w = mul(shared_weight_, (*domain_weight_)[std::size_t(d)]);  // W ⊙ W_d
  const Var b = add(shared_bias_, (*domain_bias_)[std::size_t(d)]);      // b + b_d
  return linear(x, w, b);
} catch (...) {
  nn::rethrow_in_module(*this);
}

// ---- PartitionedNorm --------------------------------------------------------

PartitionedNorm::PartitionedNorm(Index features, int domains, double momentum, double eps)
    : nn::Module("PartitionedNorm"), momentum_(momentum), eps_(eps) {
  gamma_ = register_parameter("gamma", Tensor::Ones(1, features));
  beta_ = register_parameter("beta", Tensor::Zero(1, features));
  domain_gamma_ = &register_module("domain_gamma", std::make_unique<nn::ParameterList>());
  domain_beta_ = &register_module("domain_beta", std::make_unique<nn::ParameterList>());
  running_mean_ = &register_module("running_mean", std::make_unique<nn::ParameterList>());
  running_var_ = &register_module("running_var", std::make_unique<nn::ParameterList>());
  for (int d = 0; d < domains; ++d) {
    domain_gamma_->append(Tensor::Ones(1, features));
    domain_beta_->append(Tensor::Zero(1, features));
    running_mean_->append(Tensor::Zero(1, features)).set_requires_grad(false);
    running_var_->append(Tensor::Ones(1, features)).set_requires_grad(false);
  }
}

Var PartitionedNorm::forward(const Var& x, int d) const try {
  const std::size_t i = std::size_t(d);
  Var mean, var;
  if (is_training()) {
    mean = mean_to_row(x);                       // [1,in]
    const Var centered = sub(x, mean);
    var = mean_to_row(mul(centered, centered));  // biased variance [1,in]
    // Moving averages (values only, outside the graph).
    Var rm = (*running_mean_)[i], rv = (*running_var_)[i];
    const real m = real(momentum_);
    rm.value() = (1 - m) * rm.value() + m * mean.value();
    rv.value() = (1 - m) * rv.value() + m * var.value();
  } else {
    mean = Var((*running_mean_)[i].value());
    var = Var((*running_var_)[i].value());
  }
  // 1/sqrt(var + eps) = exp(-log(var + eps) / 2)
  const Var inv_std = exp(mul_scalar(log(add_scalar(var, real(eps_))), real(-0.5)));
  const Var xhat = mul(sub(x, mean), inv_std);
  const Var scale_d = mul(gamma_, (*domain_gamma_)[i]);
  const Var shift_d = add(beta_, (*domain_beta_)[i]);
  return add(mul(xhat, scale_d), shift_d);
} catch (...) {
  nn::rethrow_in_module(*this);
}

// ---- Star -------------------------------------------------------------------

Star::Star(const BaselineConfig& config, Rng& rng)
    : RecModel("STAR"), D_(config.num_domains()), T_(config.num_tasks()) {
  config.validate();
  const std::vector<Index> path = config.path_dims();  // in, hidden..., repr
  const Index in = path.front();
  embedding_ = &register_module(
      "embedding", std::make_unique<nn::FeatureEmbedder>(config.schema, config.embedding_dim, rng));
  if (config.star_partitioned_norm)
    norm_ = &register_module("pn", std::make_unique<PartitionedNorm>(in, D_));
  auto& fcn = register_module("fcn", std::make_unique<nn::ModuleList>());
  auto& norms = register_module("fcn_norm", std::make_unique<nn::ModuleList>());
  for (std::size_t l = 0; l + 1 < path.size(); ++l) {
    layers_.push_back(&fcn.append(std::make_unique<StarLinear>(path[l], path[l + 1], D_, rng)));
    layer_norms_.push_back(&norms.append(std::make_unique<nn::LayerNorm>(path[l + 1])));
  }
  layers_.push_back(&fcn.append(std::make_unique<StarLinear>(path.back(), T_, D_, rng)));
  if (config.star_auxiliary) {
    aux_domain_ = &register_module("aux_domain",
                                   std::make_unique<nn::Embedding>(D_, config.embedding_dim, rng));
    aux_hidden_ = &register_module(
        "aux_hidden", std::make_unique<nn::Linear>(in + config.embedding_dim, config.star_aux_hidden, rng));
    aux_out_ = &register_module("aux_out", std::make_unique<nn::Linear>(config.star_aux_hidden, T_, rng));
  }
}

Var Star::domain_logits(int d, const Var& x) const {
  Var h = norm_ ? norm_->forward(x, d) : x;
  for (std::size_t l = 0; l + 1 < layers_.size(); ++l)
    h = relu(layer_norms_[l]->forward(layers_[l]->forward(h, d)));
  Var logits = layers_.back()->forward(h, d);  // [n_d,T]
  if (aux_domain_) {
    const IndexList ids(static_cast<std::size_t>(x.rows()), d);
    const Var aux_in = concat_cols({x, aux_domain_->forward(ids)});  // [x | e_d]
    logits = add(logits, aux_out_->forward(relu(aux_hidden_->forward(aux_in))));
  }
  return logits;
}

ModelOutput Star::forward(const data::Batch& batch) const try {
  check_batch(batch, "STAR");
  std::vector<IndexList> rows = nn::group_rows_by_domain(batch.domain, D_);
  const Var x = embedding_->forward(batch);  // [B,in]
  std::vector<Var> logits(static_cast<std::size_t>(D_));
  for (int d = 0; d < D_; ++d)
    if (!rows[std::size_t(d)].empty())
      logits[std::size_t(d)] = domain_logits(d, take_rows(x, rows[std::size_t(d)]));
  return finish_output(logits, std::move(rows), batch.rows);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
