#include "m3oe/baselines/run_modes.hpp"

#include "autograd/ops.hpp"
#include "layers/star.hpp"

#include <stdexcept>

namespace m3oe::baselines {

const char* to_string(RunMode mode) {
  switch (mode) {
    case RunMode::per_cell: return "per cell";
    case RunMode::per_domain: return "MTL (per domain)";
    case RunMode::per_task: return "MDL (per task)";
    case RunMode::joint: return "MDMT (joint)";
  }
  return "?";
}

namespace {
// A container for one member's two modules.
class MemberModule : public nn::Module {
 public:
  MemberModule(const BaselineConfig& c, int heads, const NetFactory& make_net, Rng& rng)
      : nn::Module("Model") {
    embedding = &register_module(
        "embedding", std::make_unique<nn::FeatureEmbedder>(c.schema, c.embedding_dim, rng));
    net = &register_module("net", make_net(c.input_dim(), heads, rng));
  }
  nn::FeatureEmbedder* embedding;
  HeadNet* net;
};
}  // namespace

MultiHeadModel::MultiHeadModel(const std::string& name, const BaselineConfig& config, RunMode mode,
                               const NetFactory& make_net, Rng& rng)
    : RecModel(name), mode_(mode), D_(config.num_domains()), T_(config.num_tasks()) {
  config.validate();
  int members = 1, heads = D_ * T_;
  switch (mode) {
    case RunMode::per_cell: members = D_ * T_, heads = 1; break;
    case RunMode::per_domain: members = D_, heads = T_; break;
    case RunMode::per_task: members = T_, heads = D_; break;
    case RunMode::joint: break;
  }
  auto& list = register_module("model", std::make_unique<nn::ModuleList>());
  for (int i = 0; i < members; ++i) {
    auto& m = list.append(std::make_unique<MemberModule>(config, heads, make_net, rng));
    members_.push_back({m.embedding, m.net});
  }
}

Var MultiHeadModel::domain_logits(int d, const data::Batch& batch, const IndexList& rows,
                                  const std::vector<Var>& shared_x) const {
  std::vector<Var> cols;  // T x [n_d,1], or one [n_d,T]
  switch (mode_) {
    case RunMode::joint: {  // heads d*T .. d*T+T-1 of the one model
      std::vector<int> heads;
      for (int t = 0; t < T_; ++t) heads.push_back(d * T_ + t);
      return members_[0].net->forward(take_rows(shared_x[0], rows), heads);
    }
    case RunMode::per_task:  // model t, head d, for each task t
      for (int t = 0; t < T_; ++t)
        cols.push_back(members_[std::size_t(t)].net->forward(take_rows(shared_x[std::size_t(t)], rows), {d}));
      break;
    case RunMode::per_domain:
    case RunMode::per_cell: {
      // These models see only domain d's rows: embed just those.
      const bool all = static_cast<Index>(rows.size()) == batch.rows;
      const data::Batch sub = all ? data::Batch{} : batch_rows(batch, rows);
      const data::Batch& b = all ? batch : sub;
      if (mode_ == RunMode::per_domain) {
        const Member& m = members_[std::size_t(d)];
        return m.net->forward(m.embedding->forward(b), iota_heads(T_));
      }
      for (int t = 0; t < T_; ++t) {
        const Member& m = members_[std::size_t(d * T_ + t)];
        cols.push_back(m.net->forward(m.embedding->forward(b), {0}));
      }
      break;
    }
  }
  return cols.size() == 1 ? cols[0] : concat_cols(cols);
}

ModelOutput MultiHeadModel::forward(const data::Batch& batch) const try {
  check_batch(batch, type_name().c_str());
  std::vector<IndexList> rows = nn::group_rows_by_domain(batch.domain, D_);
  // Models that see every row embed the whole batch once.
  std::vector<Var> shared_x;
  if (mode_ == RunMode::joint || mode_ == RunMode::per_task)
    for (const Member& m : members_) shared_x.push_back(m.embedding->forward(batch));
  std::vector<Var> logits(static_cast<std::size_t>(D_));
  for (int d = 0; d < D_; ++d)
    if (!rows[std::size_t(d)].empty())
      logits[std::size_t(d)] = domain_logits(d, batch, rows[std::size_t(d)], shared_x);
  return finish_output(logits, std::move(rows), batch.rows);
} catch (...) {
  nn::rethrow_in_module(*this);
}

}  // namespace m3oe::baselines
