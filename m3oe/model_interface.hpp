// model_interface.hpp: what the trainer, the metrics and the `m3oe` command
// need from a recommender, so that M3oE, its baselines and its ablations all
// run through the same code.
//
// A RecModel maps a batch (rows of D domains, each row with T binary labels)
// to one probability per row and task:
//
//   forward(batch) -> logits [B,T], probs [B,T] = sigmoid(logits)
//
// where row i, column t is the prediction of cell (domain(i), t). The loss
// (m3oe_loss, paper Eq. 12) and the per-cell metrics then treat every model
// alike. Models with AutoML ("structure") parameters list them in
// structure_parameters(); the trainer's AutoML modes apply only to those.
// Models with M3oE's four fusion weights report them in fusion_weights().
#pragma once

#include "layers/module.hpp"
#include "m3oe/data/dataset.hpp"

#include <memory>
#include <vector>

namespace m3oe {

// The four fusion weights' current values (after the sigmoid, or the fixed
// value). A weight of an ablated module reads 0.
struct FusionWeights {
  real alpha_d = 0, alpha_t = 0, beta_d = 0, beta_t = 0;
};

struct ModelOutput {
  Var logits;  // [B,T]: row i, task t = the prediction of cell (domain(i), t) before the sigmoid
  Var probs;   // [B,T] = sigmoid(logits)
  // Models with gates over shared experts (M3oE): gates[t] is [B,N], row i
  // holding the softmax gate of cell (domain(i), t), for inspection (values
  // only, no graph). Empty for models without such gates.
  std::vector<Tensor> gates;
  std::vector<IndexList> rows_by_domain;  // D lists: the rows of each domain
};

class RecModel : public nn::Module {
 public:
  using nn::Module::Module;

  // One forward pass. With gradients on (the default) the result is part of
  // a graph reaching every parameter; call under NoGradGuard (and after
  // eval(), for models whose layers differ in training) for inference.
  virtual ModelOutput forward(const data::Batch& batch) const = 0;

  // Values that depend on the parameters alone, the same for every batch
  // while the parameters do not change: M3oE's experts' weights side by
  // side, its STAR weights W_d ⊙ W_sh and its fusion coefficients.
  // infer_probs computes them once per call and shares them between the
  // slices of the batch, which would otherwise each recompute them. Models
  // without such values return nullptr from precompute().
  struct Precomputed {
    virtual ~Precomputed() = default;
    const RecModel* model = nullptr;  // the model that made them
    bool with_grad = false;           // made with gradient recording on (part of a graph)
  };
  virtual std::unique_ptr<const Precomputed> precompute() const { return nullptr; }
  // forward(batch) reusing `pre`, made by this model's precompute() with the
  // parameters unchanged since; nullptr computes them afresh, like
  // forward(batch). Another model's values, or values precomputed without
  // gradients in a forward with gradients (they would be constants), throw.
  virtual ModelOutput forward_with(const data::Batch& batch, const Precomputed* pre) const {
    (void)pre;
    return forward(batch);
  }

  virtual int num_domains() const = 0;
  virtual int num_tasks() const = 0;

  // The AutoML ("structure") parameters; none by default.
  virtual std::vector<Var> structure_parameters() const { return {}; }
  // Everything the optimizer trains: the parameters that need a gradient
  // and are not structure parameters (running statistics and other
  // non-trainable state are left out).
  virtual std::vector<Var> weight_parameters() const;

  // Whether the model has M3oE's fusion weights, and their values (zeros
  // for models that have none).
  virtual bool has_fusion_weights() const { return false; }
  virtual FusionWeights fusion_weights() const { return {}; }
};

}  // namespace m3oe
