// run_modes.hpp: one multi-head network (HeadNet), four ways to cover the
// D x T cells of a multi-domain multi-task problem (paper Sec. 4.1.3):
//
//   per_cell    "MLP"      D*T separate models, one head each: model (d,t)
//                          sees only domain d's rows and predicts task t
//   per_domain  "-MTL"     D separate models with T heads: a multi-task model
//                          per domain
//   per_task    "-MDL"     T separate models with D heads: a multi-domain model
//                          per task (head d serves domain d's rows)
//   joint       "-MDMT"    one model with D*T heads: head d*T+t serves cell (d,t)
//
// "Separate models" are separate all the way down: each has its own
// embedding tables (an nn::FeatureEmbedder) and sees only the rows it
// predicts. Trained together, they still train independently: the loss is
// a sum over cells, their parameters are disjoint, and Adam updates each
// parameter from its own gradient. What they share is the batches and the
// early-stopping decision (mean validation AUC over all cells).
#pragma once

#include "m3oe/baselines/common.hpp"
#include "m3oe/baselines/config.hpp"
#include "m3oe/feature_embedder.hpp"

#include <functional>
#include <memory>

namespace m3oe::baselines {

enum class RunMode { per_cell, per_domain, per_task, joint };

const char* to_string(RunMode mode);

// Makes the network of one model: input width, number of heads.
using NetFactory = std::function<std::unique_ptr<HeadNet>(Index in, int heads, Rng& rng)>;

class MultiHeadModel : public RecModel {
 public:
  MultiHeadModel(const std::string& name, const BaselineConfig& config, RunMode mode,
                 const NetFactory& make_net, Rng& rng);
  ModelOutput forward(const data::Batch& batch) const override;
  int num_domains() const override { return D_; }
  int num_tasks() const override { return T_; }

  RunMode mode() const { return mode_; }
  // How many separate models (1, D, T or D*T).
  std::size_t num_members() const { return members_.size(); }

 private:
  // One separate model: its embedding and its network ("model.<i>.embedding",
  // "model.<i>.net").
  struct Member {
    nn::FeatureEmbedder* embedding;
    HeadNet* net;
  };
  // Domain d's logits [n_d,T] (rows = batch's rows of domain d).
  Var domain_logits(int d, const data::Batch& batch, const IndexList& rows,
                    const std::vector<Var>& shared_x) const;

  RunMode mode_;
  int D_, T_;
  std::vector<Member> members_;
};

}  // namespace m3oe::baselines
