#include "m3oe/model.hpp"

#include "autograd/ops.hpp"

#include <stdexcept>

namespace m3oe {

namespace {
// The rows `rows` of x; x itself when they are all of its rows (a batch of
// one domain), which group_rows_by_domain lists in order.
Var take_rows(const Var& x, const IndexList& rows) {
  return static_cast<Index>(rows.size()) == x.rows() ? x : gather_rows(x, rows);
}
// The inverse: x[n_d,*] placed at `rows` of a [b,*] result, zero elsewhere.
Var place_rows(const Var& x, const IndexList& rows, Index b) {
  return static_cast<Index>(rows.size()) == b ? x : scatter_rows(x, rows, b);
}
Var add_or_first(const Var& sum, const Var& term) { return sum.defined() ? add(sum, term) : term; }
}  // namespace

M3oE::M3oE(const M3oEConfig& config, Rng& rng) : RecModel("M3oE"), config_(config) {
  config_.validate();
  D_ = config_.num_domains();
  T_ = config_.num_tasks();
  N_ = config_.num_shared_experts;
  const auto& dims = config_.fcn_dims;
  const Index in = config_.input_dim(), star_out = dims[0], hidden = dims[1], out = dims.back();
  const std::vector<Index> expert_dims(dims.begin() + 2, dims.end());  // {256, 64}

  // The structure weights (learned mode only, and only for modules present).
  auto raw = [&](const char* name, real init, bool present) {
    if (config_.fusion_mode != FusionMode::learned || !present) return Var();
    return register_parameter(name, Tensor::Constant(1, 1, init));
  };
  e_exp_d_ = raw("e_exp_d", config_.init_exp_d, config_.use_domain_module);
  e_exp_t_ = raw("e_exp_t", config_.init_exp_t, config_.use_task_module);
  e_bal_d_ = raw("e_bal_d", config_.init_bal_d, config_.use_domain_module);
  e_bal_t_ = raw("e_bal_t", config_.init_bal_t, config_.use_task_module);

  embedding_ = &register_module(
      "embedding", std::make_unique<nn::FeatureEmbedder>(config_.schema, config_.embedding_dim, rng));
  star_ = &register_module("star", std::make_unique<nn::StarDomainLayer>(in, star_out, D_, rng));
  star_mlp_ = &register_module("star_mlp",
                               std::make_unique<nn::MLP>(std::vector<Index>{star_out, hidden}, rng));
  skip_conn_ = &register_module("skip_conn",
                                std::make_unique<nn::MLP>(std::vector<Index>{in, hidden}, rng));

  auto experts = [&](const char* name, int count, std::vector<nn::MLP*>& into) {
    auto& list = register_module(name, std::make_unique<nn::ModuleList>());
    for (int i = 0; i < count; ++i) into.push_back(&list.append(std::make_unique<nn::MLP>(expert_dims, rng)));
  };
  experts("expert", N_, shared_experts_);
  if (config_.use_domain_module) experts("domain_expert", D_, domain_experts_);
  if (config_.use_task_module) experts("task_expert", T_, task_experts_);

  auto& gate_list = register_module("gate", std::make_unique<nn::ModuleList>());
  for (int i = 0; i < D_ * T_; ++i)
    gates_.push_back(&gate_list.append(std::make_unique<nn::Gate>(hidden, N_, rng)));
  auto& tower_list = register_module("tower", std::make_unique<nn::ModuleList>());
  for (int i = 0; i < D_ * T_; ++i)
    towers_.push_back(&tower_list.append(std::make_unique<nn::Tower>(out, rng)));
}

// ---- fusion weights ---------------------------------------------------------

Var M3oE::fusion_weight(const Var& raw) const {
  if (config_.fusion_mode == FusionMode::fixed)
    return Var(Tensor::Constant(1, 1, config_.fixed_weight));
  return raw.defined() ? sigmoid(raw) : Var();
}

M3oE::Weights M3oE::weights() const {
  Weights w;
  if (config_.use_domain_module) {
    w.alpha_d = fusion_weight(e_exp_d_);
    w.beta_d = fusion_weight(e_bal_d_);
  }
  if (config_.use_task_module) {
    w.alpha_t = fusion_weight(e_exp_t_);
    w.beta_t = fusion_weight(e_bal_t_);
  }
  return w;
}

FusionWeights M3oE::fusion_weights() const {
  NoGradGuard no_grad;
  const Weights w = weights();
  auto value = [](const Var& v) { return v.defined() ? v.item() : real(0); };
  return {value(w.alpha_d), value(w.alpha_t), value(w.beta_d), value(w.beta_t)};
}

bool M3oE::is_structure_name(const std::string& name) {
  return name == "e_exp_d" || name == "e_exp_t" || name == "e_bal_d" || name == "e_bal_t";
}

std::vector<Var> M3oE::structure_parameters() const {
  std::vector<Var> out;
  for (const auto& [name, p] : named_parameters())
    if (is_structure_name(name)) out.push_back(p);
  return out;
}

std::vector<Var> M3oE::weight_parameters() const {
  std::vector<Var> out;
  for (const auto& [name, p] : named_parameters())
    if (!is_structure_name(name)) out.push_back(p);
  return out;
}

// ---- forward ----------------------------------------------------------------

// First-level fusion (paper Eq. 5-6) as mixing coefficients: the own expert
// weighted by beta, the n-1 others sharing 1-beta equally, all times alpha
// (the second level, Eq. 7). With a single expert there are no others and
// the formula's (1-beta)/(n-1) is undefined: the own expert is used alone
// (the authors' loop over j != d adds nothing either).
Var M3oE::balance_coefficients(int n, int own, const Var& alpha, const Var& beta) {
  if (n == 1) return alpha;
  const Var own_coef = mul(alpha, beta);  // alpha * beta
  const Var other_coef =
      mul(alpha, mul_scalar(add_scalar(mul_scalar(beta, -1), 1), real(1) / real(n - 1)));
  std::vector<Var> coefs;
  for (int j = 0; j < n; ++j) coefs.push_back(j == own ? own_coef : other_coef);
  return concat_cols(coefs);  // [1,n]
}

M3oE::ExpertBank M3oE::expert_bank() const {
  std::vector<nn::MLP*> all(shared_experts_);
  all.insert(all.end(), domain_experts_.begin(), domain_experts_.end());
  all.insert(all.end(), task_experts_.begin(), task_experts_.end());
  ExpertBank bank;
  bank.groups = static_cast<int>(all.size());
  // One Linear-LayerNorm-ReLU block per expert (the reference configuration):
  // the blocks' parameters side by side make one grouped op. Deeper experts
  // run one by one (experts_forward).
  bool single_block = true;
  for (nn::MLP* e : all) single_block = single_block && e->num_blocks() == 1;
  if (!single_block) return bank;
  std::vector<Var> w, b, g, be;
  for (nn::MLP* e : all) {
    w.push_back(e->linear(0).weight());
    b.push_back(e->linear(0).bias());
    g.push_back(e->norm(0).weight());
    be.push_back(e->norm(0).bias());
  }
  bank.weight = concat_cols(w);  // [256, G*64]
  bank.bias = concat_cols(b);    // [1, G*64]
  bank.gamma = concat_cols(g);
  bank.beta = concat_cols(be);
  return bank;
}

Var M3oE::experts_forward(const ExpertBank& bank, const Var& h) const {
  if (bank.weight.defined())
    return linear_ln_relu(h, bank.weight, bank.bias, bank.gamma, bank.beta, bank.groups,
                          real(shared_experts_[0]->norm(0).eps()));
  std::vector<Var> outs;
  for (nn::MLP* e : shared_experts_) outs.push_back(e->forward(h));
  for (nn::MLP* e : domain_experts_) outs.push_back(e->forward(h));
  for (nn::MLP* e : task_experts_) outs.push_back(e->forward(h));
  return outs.size() == 1 ? outs[0] : concat_cols(outs);
}

M3oE::Derived M3oE::derive() const {
  Derived derived;
  derived.model = this;
  derived.with_grad = grad_enabled();
  derived.bank = expert_bank();
  for (int d = 0; d < D_; ++d) derived.star.push_back(star_->domain_weights(d));
  // The fusion weights as mixing coefficients of the domain and task
  // experts, per cell (Eq. 5-7): [domain part | task part].
  const Weights w = weights();
  std::vector<Var> task_coef;  // T x [1,T]
  if (config_.use_task_module)
    for (int t = 0; t < T_; ++t) task_coef.push_back(balance_coefficients(T_, t, w.alpha_t, w.beta_t));
  derived.coefficients.resize(static_cast<std::size_t>(D_ * T_));
  for (int d = 0; d < D_; ++d) {
    const Var domain_coef =
        config_.use_domain_module ? balance_coefficients(D_, d, w.alpha_d, w.beta_d) : Var();
    for (int t = 0; t < T_; ++t) {
      std::vector<Var> parts;
      if (domain_coef.defined()) parts.push_back(domain_coef);
      if (!task_coef.empty()) parts.push_back(task_coef[static_cast<std::size_t>(t)]);
      derived.coefficients[static_cast<std::size_t>(t * D_ + d)] =
          parts.empty() ? Var() : parts.size() == 1 ? parts[0] : concat_cols(parts);
    }
  }
  return derived;
}

Var M3oE::domain_logits(int d, const Var& x_d, const Derived& derived, M3oEOutput& out) const {
  const IndexList& rows = out.rows_by_domain[static_cast<std::size_t>(d)];
  const Var f = star_->forward_domain(x_d, derived.star[static_cast<std::size_t>(d)]);  // [n_d,512]
  const Var h = add(star_mlp_->forward(f), skip_conn_->forward(x_d));   // [n_d,256]
  const Var h_gate = stop_gradient(h);        // the gates send no gradient into h
  const Var experts = experts_forward(derived.bank, h);  // [n_d, G*64]: shared | domain | task

  std::vector<Var> logits;  // T x [n_d,1]
  for (int t = 0; t < T_; ++t) {
    const std::size_t cell = static_cast<std::size_t>(t * D_ + d);
    const Var gate = gates_[cell]->forward(h_gate);  // [n_d,N]
    Tensor& gate_out = out.gates[static_cast<std::size_t>(t)];
    for (std::size_t r = 0; r < rows.size(); ++r) gate_out.row(rows[r]) = gate.value().row(Index(r));

    // z = sum_k gate_k shared_k + alpha_d Dm + alpha_t Tm (Eq. 8-10).
    const Var z = mix_experts(experts, gate, derived.coefficients[cell]);  // [n_d,64]
    logits.push_back(towers_[cell]->forward(z));
  }
  return logits.size() == 1 ? logits[0] : concat_cols(logits);
}

M3oEOutput M3oE::forward(const data::Batch& batch) const { return forward_derived(batch, derive()); }

std::unique_ptr<const RecModel::Precomputed> M3oE::precompute() const {
  return std::make_unique<const Derived>(derive());
}

M3oEOutput M3oE::forward_with(const data::Batch& batch, const Precomputed* pre) const {
  if (pre == nullptr) return forward(batch);
  const auto* derived = dynamic_cast<const Derived*>(pre);
  if (derived == nullptr || derived->model != this)
    throw std::invalid_argument("M3oE::forward_with: the precomputed values are another model's");
  if (grad_enabled() && !derived->with_grad)
    throw std::logic_error(
        "M3oE::forward_with: values precomputed without gradients used in a forward with "
        "gradients (they would train nothing); precompute under the same grad mode");
  return forward_derived(batch, *derived);
}

M3oEOutput M3oE::forward_derived(const data::Batch& batch, const Derived& derived) const try {
  const Index b = batch.rows;
  if (b <= 0) throw std::invalid_argument("M3oE::forward: the batch is empty");
  if (static_cast<Index>(batch.domain.size()) != b)
    throw std::invalid_argument("M3oE::forward: batch has " + std::to_string(batch.domain.size()) +
                                " domain ids for " + std::to_string(b) + " rows");
  M3oEOutput out;
  out.rows_by_domain = nn::group_rows_by_domain(batch.domain, D_);
  out.gates.assign(static_cast<std::size_t>(T_), Tensor::Zero(b, N_));

  const Var x = embedding_->forward(batch);  // [B,in]
  Var logits;
  for (int d = 0; d < D_; ++d) {
    const IndexList& rows = out.rows_by_domain[static_cast<std::size_t>(d)];
    if (rows.empty()) continue;
    const Var x_d = take_rows(x, rows);  // [n_d,in]
    logits = add_or_first(logits, place_rows(domain_logits(d, x_d, derived, out), rows, b));
  }
  out.logits = logits;
  out.probs = sigmoid(logits);
  return out;
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe
