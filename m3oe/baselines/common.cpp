#include "m3oe/baselines/common.hpp"

#include "autograd/ops.hpp"

#include <numeric>
#include <stdexcept>

namespace m3oe::baselines {

Var take_rows(const Var& x, const IndexList& rows) {
  return static_cast<Index>(rows.size()) == x.rows() ? x : gather_rows(x, rows);
}

Var place_rows(const Var& x, const IndexList& rows, Index b) {
  return static_cast<Index>(rows.size()) == b ? x : scatter_rows(x, rows, b);
}

Var add_or_first(const Var& sum, const Var& term) { return sum.defined() ? add(sum, term) : term; }

data::Batch batch_rows(const data::Batch& batch, const IndexList& rows) {
  if (static_cast<Index>(rows.size()) == batch.rows) return batch;
  data::Batch out;
  out.rows = static_cast<Index>(rows.size());
  out.sparse_ids.resize(batch.sparse_ids.size());
  for (std::size_t f = 0; f < batch.sparse_ids.size(); ++f) {
    out.sparse_ids[f].reserve(rows.size());
    for (std::int32_t r : rows) out.sparse_ids[f].push_back(batch.sparse_ids[f][std::size_t(r)]);
  }
  out.dense = Tensor(out.rows, batch.dense.cols());
  out.labels = Tensor(out.rows, batch.labels.cols());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (out.dense.cols() > 0) out.dense.row(Index(k)) = batch.dense.row(rows[k]);
    if (out.labels.cols() > 0 && batch.labels.rows() == batch.rows)
      out.labels.row(Index(k)) = batch.labels.row(rows[k]);
    out.domain.push_back(batch.domain[std::size_t(rows[k])]);
  }
  return out;
}

std::vector<int> iota_heads(int n) {
  std::vector<int> h(static_cast<std::size_t>(n));
  std::iota(h.begin(), h.end(), 0);
  return h;
}

void check_batch(const data::Batch& batch, const char* who) {
  if (batch.rows <= 0) throw std::invalid_argument(std::string(who) + "::forward: the batch is empty");
  if (static_cast<Index>(batch.domain.size()) != batch.rows)
    throw std::invalid_argument(std::string(who) + "::forward: batch has " +
                                std::to_string(batch.domain.size()) + " domain ids for " +
                                std::to_string(batch.rows) + " rows");
}

ModelOutput finish_output(const std::vector<Var>& domain_logits,
                          std::vector<IndexList> rows_by_domain, Index batch_rows) {
  Var logits;
  for (std::size_t d = 0; d < domain_logits.size(); ++d)
    if (domain_logits[d].defined())
      logits = add_or_first(logits, place_rows(domain_logits[d], rows_by_domain[d], batch_rows));
  ModelOutput out;
  out.logits = logits;
  out.probs = sigmoid(logits);
  out.rows_by_domain = std::move(rows_by_domain);
  return out;
}

Var stack_experts(const std::vector<Var>& experts) {
  return experts.size() == 1 ? experts[0] : concat_cols(experts);
}

Var mix_stacked(const Var& gate, const Var& stacked) {
  if (gate.cols() == 1) return stacked;  // softmax over one expert is 1
  if (stacked.cols() % gate.cols() != 0)
    throw std::invalid_argument("mix: a gate over " + std::to_string(gate.cols()) + " experts for " +
                                std::to_string(stacked.cols()) + " stacked columns");
  return mix_experts(stacked, gate, Var());
}

Var mix(const Var& gate, const std::vector<Var>& experts) {
  if (gate.cols() != static_cast<Index>(experts.size()))
    throw std::invalid_argument("mix: a gate over " + std::to_string(gate.cols()) + " experts for " +
                                std::to_string(experts.size()) + " expert outputs");
  return mix_stacked(gate, stack_experts(experts));
}

void HeadNet::check_heads(const std::vector<int>& heads) const {
  if (heads.empty()) throw std::invalid_argument(type_name() + "::forward: no heads asked for");
  for (int h : heads)
    if (h < 0 || h >= heads_)
      throw std::invalid_argument(type_name() + "::forward: head " + std::to_string(h) +
                                  " is outside [0," + std::to_string(heads_) + ")");
}

std::vector<nn::Tower*> fill_towers(nn::ModuleList& list, int count, Index repr, Rng& rng) {
  std::vector<nn::Tower*> out;
  for (int i = 0; i < count; ++i) out.push_back(&list.append(std::make_unique<nn::Tower>(repr, rng)));
  return out;
}

std::vector<nn::MLP*> fill_experts(nn::ModuleList& list, int count, const std::vector<Index>& dims,
                                   Rng& rng) {
  std::vector<nn::MLP*> out;
  for (int i = 0; i < count; ++i) out.push_back(&list.append(std::make_unique<nn::MLP>(dims, rng)));
  return out;
}

std::vector<nn::Gate*> fill_gates(nn::ModuleList& list, int count, Index in, Index experts, Rng& rng) {
  std::vector<nn::Gate*> out;
  for (int i = 0; i < count; ++i) out.push_back(&list.append(std::make_unique<nn::Gate>(in, experts, rng)));
  return out;
}

}  // namespace m3oe::baselines
