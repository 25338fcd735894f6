#include "layers/star.hpp"

#include "autograd/ops.hpp"
#include "layers/init.hpp"

#include <stdexcept>

namespace m3oe::nn {

std::vector<IndexList> group_rows_by_domain(const IndexList& domain, int num_domains) {
  std::vector<IndexList> rows(static_cast<std::size_t>(num_domains));
  for (std::size_t i = 0; i < domain.size(); ++i) {
    const std::int32_t d = domain[i];
    if (d < 0 || d >= num_domains)
      throw std::invalid_argument("row " + std::to_string(i) + ": domain " + std::to_string(d) +
                                  " is outside [0," + std::to_string(num_domains) + ")");
    rows[static_cast<std::size_t>(d)].push_back(static_cast<std::int32_t>(i));
  }
  return rows;
}

StarDomainLayer::StarDomainLayer(Index in_features, Index out_features, int num_domains, Rng& rng)
    : Module("StarDomainLayer"), in_(in_features), out_(out_features) {
  if (num_domains < 1) throw std::invalid_argument("StarDomainLayer: needs at least one domain");
  shared_weight_ = register_parameter("shared_weight", init::xavier_uniform(in_, out_, rng));
  shared_bias_ = register_parameter("shared_bias", Tensor::Zero(1, out_));
  slot_weight_ = &register_module("slot_weight", std::make_unique<ParameterList>());
  slot_bias_ = &register_module("slot_bias", std::make_unique<ParameterList>());
  for (int d = 0; d < num_domains; ++d) slot_weight_->append(init::xavier_uniform(in_, out_, rng));
  for (int d = 0; d < num_domains; ++d) slot_bias_->append(Tensor::Zero(1, out_));
}

Var StarDomainLayer::forward(const Var& x, const std::vector<IndexList>& rows_by_domain) const try {
  if (x.cols() != in_)
    throw std::invalid_argument("StarDomainLayer: input is " + shape_str(x.value()) +
                                ", expected [B," + std::to_string(in_) + "]");
  if (static_cast<int>(rows_by_domain.size()) != num_domains())
    throw std::invalid_argument("StarDomainLayer: " + std::to_string(rows_by_domain.size()) +
                                " row groups for " + std::to_string(num_domains()) + " domains");
  Var f;
  for (int d = 0; d < num_domains(); ++d) {
    const IndexList& rows = rows_by_domain[static_cast<std::size_t>(d)];
    if (rows.empty()) continue;  // no row of this domain: nothing to compute
    const Var f_d = forward_domain(gather_rows(x, rows), d);  // [n_d,out]
    const Var placed = scatter_rows(f_d, rows, x.rows());      // [B,out], zero elsewhere
    f = f.defined() ? add(f, placed) : placed;
  }
  if (!f.defined())  // an empty batch
    return Var(Tensor::Zero(0, out_));
  return f;
} catch (...) {
  rethrow_in_module(*this);
}

Var StarDomainLayer::forward_domain(const Var& x_d, int d) const {
  return forward_domain(x_d, domain_weights(d));
}

StarDomainLayer::DomainWeights StarDomainLayer::domain_weights(int d) const {
  if (d < 0 || d >= num_domains())
    throw std::invalid_argument("StarDomainLayer: domain " + std::to_string(d) + " is outside [0," +
                                std::to_string(num_domains()) + ")");
  return {mul((*slot_weight_)[std::size_t(d)], shared_weight_),  // W_d ⊙ W_sh  [in,out]
          add((*slot_bias_)[std::size_t(d)], shared_bias_)};     // b_d + b_sh  [1,out]
}

Var StarDomainLayer::forward_domain(const Var& x_d, const DomainWeights& w) const try {
  if (x_d.cols() != in_)
    throw std::invalid_argument("StarDomainLayer: input is " + shape_str(x_d.value()) +
                                ", expected [n," + std::to_string(in_) + "]");
  return linear(x_d, w.weight, w.bias);
} catch (...) {
  rethrow_in_module(*this);
}

}  // namespace m3oe::nn
