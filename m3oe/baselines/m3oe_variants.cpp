#include "m3oe/baselines/m3oe_variants.hpp"

#include "autograd/ops.hpp"
#include "m3oe/baselines/common.hpp"

#include <stdexcept>

namespace m3oe::baselines {

M3oEVariant::M3oEVariant(const M3oEConfig& config, M3oEVariantKind kind, Rng& rng,
                         bool detach_gate_input)
    : RecModel(kind == M3oEVariantKind::concat ? "M3oE-concat" : "M3oE-gated"),
      config_(config),
      kind_(kind),
      detach_(detach_gate_input) {
  config_.validate();
  if (!config_.use_domain_module || !config_.use_task_module)
    throw std::invalid_argument(std::string(type_name()) +
                                ": the concat and gated variants combine all three modules; the "
                                "no_domain/no_task/no_both ablations apply to m3oe only");
  D_ = config_.num_domains();
  T_ = config_.num_tasks();
  N_ = config_.num_shared_experts;
  const auto& dims = config_.fcn_dims;
  const Index in = config_.input_dim(), star_out = dims[0], hidden = dims[1], out = dims.back();
  const std::vector<Index> expert_dims(dims.begin() + 2, dims.end());

  if (kind_ == M3oEVariantKind::concat && config_.fusion_mode == FusionMode::learned) {
    e_bal_d_ = register_parameter("e_bal_d", Tensor::Constant(1, 1, config_.init_bal_d));
    e_bal_t_ = register_parameter("e_bal_t", Tensor::Constant(1, 1, config_.init_bal_t));
  }
  embedding_ = &register_module(
      "embedding", std::make_unique<nn::FeatureEmbedder>(config_.schema, config_.embedding_dim, rng));
  star_ = &register_module("star", std::make_unique<nn::StarDomainLayer>(in, star_out, D_, rng));
  star_mlp_ = &register_module("star_mlp",
                               std::make_unique<nn::MLP>(std::vector<Index>{star_out, hidden}, rng));
  skip_conn_ = &register_module("skip_conn",
                                std::make_unique<nn::MLP>(std::vector<Index>{in, hidden}, rng));
  shared_experts_ = fill_experts(register_module("expert", std::make_unique<nn::ModuleList>()), N_,
                                 expert_dims, rng);
  domain_experts_ = fill_experts(register_module("domain_expert", std::make_unique<nn::ModuleList>()),
                                 D_, expert_dims, rng);
  task_experts_ = fill_experts(register_module("task_expert", std::make_unique<nn::ModuleList>()), T_,
                               expert_dims, rng);
  const int gate_width = kind_ == M3oEVariantKind::gated ? N_ + D_ + T_ : N_;
  gates_ = fill_gates(register_module("gate", std::make_unique<nn::ModuleList>()), D_ * T_, hidden,
                      gate_width, rng);
  if (kind_ == M3oEVariantKind::concat) {
    auto& list = register_module("project", std::make_unique<nn::ModuleList>());
    for (int i = 0; i < D_ * T_; ++i) project_.push_back(&list.append(std::make_unique<nn::Linear>(3 * out, out, rng)));
  }
  towers_ = fill_towers(register_module("tower", std::make_unique<nn::ModuleList>()), D_ * T_, out, rng);
}

std::vector<Var> M3oEVariant::structure_parameters() const {
  if (!e_bal_d_.defined()) return {};
  return {e_bal_d_, e_bal_t_};
}

Var M3oEVariant::beta(const Var& raw) const {
  if (config_.fusion_mode == FusionMode::fixed) return Var(Tensor::Constant(1, 1, config_.fixed_weight));
  return sigmoid(raw);
}

FusionWeights M3oEVariant::fusion_weights() const {
  if (kind_ != M3oEVariantKind::concat) return {};
  NoGradGuard no_grad;
  return {0, 0, beta(e_bal_d_).item(), beta(e_bal_t_).item()};
}

namespace {
// beta * own + (1-beta)/(n-1) * sum of the others (own alone if n = 1): M3oE's first-level fusion.
Var balance(const std::vector<Var>& experts, std::size_t own, const Var& beta) {
  if (experts.size() == 1) return experts[0];
  Var others;
  for (std::size_t j = 0; j < experts.size(); ++j)
    if (j != own) others = add_or_first(others, experts[j]);
  const real share = real(1) / static_cast<real>(experts.size() - 1);
  const Var other_weight = mul_scalar(add_scalar(mul_scalar(beta, -1), 1), share);
  return add(scale(experts[own], beta), scale(others, other_weight));
}
}  // namespace

Var M3oEVariant::domain_logits(int d, const Var& h, const Var& h_gate, const IndexList& rows) const {
  const Var hd = take_rows(h, rows), gd = take_rows(h_gate, rows);
  auto run = [&](const std::vector<nn::MLP*>& experts) {
    std::vector<Var> out;
    for (nn::MLP* e : experts) out.push_back(e->forward(hd));
    return out;
  };
  const std::vector<Var> shared = run(shared_experts_), dom = run(domain_experts_), task = run(task_experts_);
  Var all, shared_stack;  // gated: [shared | domain | task] side by side; concat: [shared]
  Var domain_mix, beta_t;
  if (kind_ == M3oEVariantKind::gated) {
    std::vector<Var> list = shared;
    list.insert(list.end(), dom.begin(), dom.end());
    list.insert(list.end(), task.begin(), task.end());
    all = stack_experts(list);
  } else {
    shared_stack = stack_experts(shared);
    domain_mix = balance(dom, std::size_t(d), beta(e_bal_d_));
    beta_t = beta(e_bal_t_);
  }
  std::vector<Var> logits;
  for (int t = 0; t < T_; ++t) {
    const std::size_t cell = static_cast<std::size_t>(t * D_ + d);
    const Var gate = gates_[cell]->forward(gd);
    Var z;
    if (kind_ == M3oEVariantKind::gated) {
      z = mix_stacked(gate, all);
    } else {
      const Var s = mix_stacked(gate, shared_stack);
      const Var task_mix = balance(task, std::size_t(t), beta_t);
      z = project_[cell]->forward(concat_cols({s, domain_mix, task_mix}));
    }
    logits.push_back(towers_[cell]->forward(z));
  }
  return logits.size() == 1 ? logits[0] : concat_cols(logits);
}

ModelOutput M3oEVariant::forward(const data::Batch& batch) const try {
  check_batch(batch, type_name().c_str());
  std::vector<IndexList> rows = nn::group_rows_by_domain(batch.domain, D_);
  const Var x = embedding_->forward(batch);
  const Var f = star_->forward(x, rows);
  const Var h = add(star_mlp_->forward(f), skip_conn_->forward(x));
  const Var h_gate = detach_ ? stop_gradient(h) : h;
  std::vector<Var> logits(static_cast<std::size_t>(D_));
  for (int d = 0; d < D_; ++d)
    if (!rows[std::size_t(d)].empty())
      logits[std::size_t(d)] = domain_logits(d, h, h_gate, rows[std::size_t(d)]);
  return finish_output(logits, std::move(rows), batch.rows);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
