// common.hpp: what every baseline shares.
//
//   rows of a domain    take_rows / place_rows move a domain's rows out of a
//                       [B,*] block and back (identity for a one-domain batch)
//   sub-batches         batch_rows: the batch restricted to some rows, for
//                       models that own a separate embedding per domain
//   HeadNet             a network with H output heads over x: the common shape
//                       of Shared-Bottom, MMoE, PLE and AdaTT, which the run
//                       modes (run_modes.hpp) turn into whole models
//   finish_output       logits [B,T] -> ModelOutput
#pragma once

#include "layers/blocks.hpp"
#include "m3oe/model_interface.hpp"

#include <string>
#include <vector>

namespace m3oe::baselines {

// x's rows `rows` (x itself when they are all its rows, in order).
Var take_rows(const Var& x, const IndexList& rows);
// x[n,*] placed at `rows` of a [b,*] block, zero elsewhere (x itself if n = b).
Var place_rows(const Var& x, const IndexList& rows, Index b);
// sum + term, or term when sum is still undefined.
Var add_or_first(const Var& sum, const Var& term);
// The rows `rows` of `batch` as a batch of their own (labels included).
data::Batch batch_rows(const data::Batch& batch, const IndexList& rows);
// IndexList {0, 1, ..., n-1}.
std::vector<int> iota_heads(int n);
// Throws std::invalid_argument unless the batch is non-empty and has one
// domain id per row; `who` names the model in the message.
void check_batch(const data::Batch& batch, const char* who);

// Logits [B,T] built from one [n_d,T] block per domain (undefined where a
// domain has no rows) -> the model's output.
ModelOutput finish_output(const std::vector<Var>& domain_logits,
                          std::vector<IndexList> rows_by_domain, Index batch_rows);

// The K expert outputs [n,E] side by side: [n,K*E] (the expert itself if K = 1).
Var stack_experts(const std::vector<Var>& experts);
// sum_k gate[:,k] * expert_k: the mixture of a softmax gate [n,K] over the
// stacked expert outputs [n,K*E] -> [n,E], as one mix_experts op. Stack once
// when several gates mix the same experts.
Var mix_stacked(const Var& gate, const Var& stacked);
// The same from the list of expert outputs.
Var mix(const Var& gate, const std::vector<Var>& experts);

// A network with `num_heads` heads over the input x [n,in]: each head ends
// in its own tower and gives one logit per row.
class HeadNet : public nn::Module {
 public:
  HeadNet(std::string type_name, int num_heads) : nn::Module(std::move(type_name)), heads_(num_heads) {}
  int num_heads() const { return heads_; }
  // x[n,in] -> logits [n, heads.size()]; column j is head heads[j]. Only
  // what those heads need is computed.
  virtual Var forward(const Var& x, const std::vector<int>& heads) const = 0;

 protected:
  // Throws unless every head index is in [0, num_heads).
  void check_heads(const std::vector<int>& heads) const;

 private:
  int heads_;
};

// Appends `count` towers nn::Tower(repr) to `list` and returns them.
std::vector<nn::Tower*> fill_towers(nn::ModuleList& list, int count, Index repr, Rng& rng);
// Appends `count` experts nn::MLP(dims) to `list` and returns them.
std::vector<nn::MLP*> fill_experts(nn::ModuleList& list, int count, const std::vector<Index>& dims,
                                   Rng& rng);
// Appends `count` gates nn::Gate(in, experts) to `list` and returns them.
std::vector<nn::Gate*> fill_gates(nn::ModuleList& list, int count, Index in, Index experts, Rng& rng);

}  // namespace m3oe::baselines
