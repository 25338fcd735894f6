// moe_layer: a mixture-of-experts layer, built from modules and then fused.
//
// Teaches: how M3oE's expert layer is put together, and why the library runs
// it as two fused ops. The layer, for an input x[B,K]:
//
//   expert_g(x) = ReLU(LayerNorm(x W_g + b_g))     W_g [K,N], g = 0..G-1
//   p           = softmax(x W_gate + b_gate)        [B,G], each row sums to 1
//   out[b]      = sum_g p[b,g] * expert_g(x)[b]     [B,N]
//
// Step by step (forward_modular) this is G Sequentials of Linear, LayerNorm
// and ReLU, a Gate (Linear + Softmax) and G multiplies and adds: about 6G
// ops, each writing a [B,N] intermediate. The fused form (forward_fused) does
// the experts and the sum in two ops (besides the gate, and the concat_cols
// of the parameters, which depend on no input and M3oE does once per batch):
//
//   linear_ln_relu(x, W, b, gamma, beta, groups = G)
//       W = [W_0 | W_1 | ... | W_{G-1}] is [K, G*N]: weights are stored
//       [in,out], so putting the experts' weights side by side in columns
//       gives x W = [x W_0 | x W_1 | ...]: ONE wide matrix product instead of
//       G narrow ones (the expensive part of the layer). The LayerNorm then
//       normalises each block of N columns on its own ("groups"); b, gamma,
//       beta are the experts' [1,N] vectors side by side, [1, G*N].
//   mix_experts(experts[B, G*N], p[B,G], none)
//       the weighted sum over the G blocks, per row, in one pass.
//
// Both forwards read the SAME parameters (the fused one concatenates them,
// and concat_cols sends the gradient back to each expert's own tensors), so
// the outputs and all gradients must agree up to float rounding.
//
//   ./build/examples/moe_layer
// Exits with 1 if outputs or gradients differ by more than 1e-5.
#include "autograd/ops.hpp"
#include "layers/blocks.hpp"
#include "layers/containers.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"
#include "autograd/rng.hpp"

#include <cstdio>
#include <vector>

using namespace m3oe;

namespace {

class MoELayer : public nn::Module {
 public:
  MoELayer(Index in, Index out, int num_experts, Rng& rng) : Module("MoELayer") {
    auto& list = register_module("expert", std::make_unique<nn::ModuleList>());
    for (int g = 0; g < num_experts; ++g) {
      auto& seq = list.append(std::make_unique<nn::Sequential>());
      Expert e;
      e.layers = &seq;
      e.linear = &seq.append(std::make_unique<nn::Linear>(in, out, rng));
      e.norm = &seq.append(std::make_unique<nn::LayerNorm>(out));
      seq.append(std::make_unique<nn::ReLU>());
      experts_.push_back(e);
    }
    gate_ = &register_module("gate", std::make_unique<nn::Gate>(in, num_experts, rng));
  }

  // x[B,K] -> [B,N], one module call and one op per step.
  Var forward_modular(const Var& x) {
    const Var p = (*gate_)(x);  // [B,G]
    Var out;
    for (std::size_t g = 0; g < experts_.size(); ++g) {
      const Var e = (*experts_[g].layers)(x);                          // [B,N]
      const Var term = mul(slice_cols(p, static_cast<Index>(g), 1), e);  // [B,1] * [B,N]: broadcast
      out = out.defined() ? add(out, term) : term;
    }
    return out;
  }

  // The same through the fused ops (what m3oe/model.cpp does).
  Var forward_fused(const Var& x) {
    std::vector<Var> w, b, gamma, beta;
    for (const Expert& e : experts_) {
      w.push_back(e.linear->weight());    // [K,N]
      b.push_back(e.linear->bias());      // [1,N]
      gamma.push_back(e.norm->weight());  // [1,N]
      beta.push_back(e.norm->bias());     // [1,N]
    }
    const Index G = static_cast<Index>(experts_.size());
    const Var all = linear_ln_relu(x, concat_cols(w), concat_cols(b), concat_cols(gamma),
                                   concat_cols(beta), G);  // [B, G*N]
    const Var p = (*gate_)(x);                             // [B,G]
    return mix_experts(all, p, Var());                     // [B,N]; no shared coefficients
  }

 private:
  struct Expert {
    nn::Sequential* layers;
    nn::Linear* linear;
    nn::LayerNorm* norm;
  };
  std::vector<Expert> experts_;
  nn::Gate* gate_;
};

double max_abs_diff(const Tensor& a, const Tensor& b) { return double((a - b).cwiseAbs().maxCoeff()); }

}  // namespace

int main() {
  const Index B = 64, K = 32, N = 16;
  const int G = 4;
  Rng rng(2024);
  MoELayer layer(K, N, G, rng);
  std::fputs(layer.to_string().c_str(), stdout);

  Tensor x0(B, K), r(B, N);
  for (Index i = 0; i < x0.size(); ++i) x0.data()[i] = static_cast<real>(rng.normal());
  for (Index i = 0; i < r.size(); ++i) r.data()[i] = static_cast<real>(rng.normal());
  const Var x(x0);

  // A scalar to differentiate: L = sum(out * r) with a fixed random r, so
  // that dL/dout = r is different in every entry (a plain sum would give the
  // same gradient to every output and test less).
  auto run = [&](bool fused, std::vector<Tensor>& grads) {
    layer.zero_grad();
    const Var out = fused ? layer.forward_fused(x) : layer.forward_modular(x);
    sum(mul(out, Var(r))).backward();
    grads.clear();
    for (const auto& [name, p] : layer.named_parameters()) grads.push_back(p.grad());
    return out.value();
  };
  std::vector<Tensor> g_mod, g_fused;
  const Tensor out_mod = run(false, g_mod);
  const Tensor out_fused = run(true, g_fused);

  const double tol = 1e-5;
  const double out_diff = max_abs_diff(out_mod, out_fused);
  std::printf("\noutput %s, max |modular - fused| = %.2e\n", shape_str(out_mod).c_str(), out_diff);
  std::printf("\n%-28s %-9s %12s %12s\n", "gradient of", "shape", "max |grad|", "max diff");
  double grad_diff = 0;
  std::size_t i = 0;
  for (const auto& [name, p] : layer.named_parameters()) {
    const double d = max_abs_diff(g_mod[i], g_fused[i]);
    grad_diff = std::max(grad_diff, d);
    std::printf("%-28s %-9s %12.3e %12.2e\n", name.c_str(), shape_str(p.value()).c_str(),
                double(g_mod[i].cwiseAbs().maxCoeff()), d);
    ++i;
  }
  const bool ok = out_diff <= tol && grad_diff <= tol;
  std::printf("\nmax output difference %.2e, max gradient difference %.2e: %s (tolerance %.0e)\n",
              out_diff, grad_diff, ok ? "agree" : "DISAGREE", tol);
  return ok ? 0 : 1;
}
