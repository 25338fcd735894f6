// star.hpp: the STAR-like domain layer, and routing rows by domain.
//
// For a row x of domain d (STAR, Sheng et al. 2021; M3oE Eq. 1-2):
//     f = x (W_d ⊙ W_sh) + b_d + b_sh                      x[in] -> f[out]
// W_sh [in,out] and b_sh [1,out] are shared by all domains ("shared_weight",
// "shared_bias"); W_d, b_d are domain d's ("slot_weight.d", "slot_bias.d").
// Weights Xavier-uniform, biases zero, as in the authors' code.
//
// The authors' code multiplies every row by all D weight products and keeps
// the one of the row's domain. Here each domain's rows are gathered, run
// through that domain's product only, and scattered back: D times less work,
// the same numbers.
#pragma once

#include "autograd/rng.hpp"
#include "layers/containers.hpp"

#include <vector>

namespace m3oe::nn {

// rows[d] = the positions i (ascending) with domain[i] == d, for d < D.
// Throws std::invalid_argument naming the row if a domain is outside [0,D).
std::vector<IndexList> group_rows_by_domain(const IndexList& domain, int num_domains);

class StarDomainLayer : public Module {
 public:
  StarDomainLayer(Index in_features, Index out_features, int num_domains, Rng& rng);
  // x[B,in], rows_by_domain from group_rows_by_domain(batch domains) -> f[B,out].
  Var forward(const Var& x, const std::vector<IndexList>& rows_by_domain) const;
  // The rows of one domain only: x_d[n_d,in] -> x_d (W_d * W_sh) + b_d + b_sh.
  Var forward_domain(const Var& x_d, int d) const;

  // Domain d's effective weights, which depend on the parameters only:
  // weight = W_d ⊙ W_sh [in,out], bias = b_d + b_sh [1,out]. A caller that
  // runs many batches (or slices of one) with unchanged parameters can
  // compute them once and use the overload below.
  struct DomainWeights {
    Var weight, bias;
  };
  DomainWeights domain_weights(int d) const;
  // x_d[n_d,in] -> x_d w.weight + w.bias, with w from domain_weights(d).
  Var forward_domain(const Var& x_d, const DomainWeights& w) const;

  int num_domains() const { return static_cast<int>(slot_weight_->size()); }
  Index in_features() const { return in_; }
  Index out_features() const { return out_; }

 private:
  Index in_, out_;
  Var shared_weight_, shared_bias_;
  ParameterList* slot_weight_;
  ParameterList* slot_bias_;
};

}  // namespace m3oe::nn
