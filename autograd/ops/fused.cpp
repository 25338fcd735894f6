#include "autograd/ops/fused.hpp"

#include "autograd/backend/backend.hpp"
#include "autograd/backend/simd.hpp"
#include "autograd/backend/threads.hpp"
#include "autograd/ops.hpp"
#include "autograd/ops/gemm_call.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace m3oe::ops {

namespace {
// Rows per piece of the mixing loops (run_row_pieces): pieces are fixed by the
// shape, so the shared coefficient's sums never depend on the thread count.
constexpr Index kMixRows = 64;

// The coefficient of block g in row b.
struct Coefs {
  const Tensor* row;     // [B,R] or nullptr
  const Tensor* shared;  // [1,S] or nullptr
  Index R() const { return row ? row->cols() : 0; }
  Index S() const { return shared ? shared->cols() : 0; }
  real at(Index b, Index g) const { return g < R() ? (*row)(b, g) : (*shared)(0, g - R()); }
};
}  // namespace

void linear_ln_relu_forward(Tensor& z, Tensor& xhat, Tensor& rstd, const Tensor& x,
                            const Tensor& w, const Tensor* bias, const Tensor& gamma,
                            const Tensor& beta, Index groups, real eps) {
  const Index rows = x.rows(), cols = w.cols(), width = cols / groups;
  z.resize(rows, cols);
  xhat.resize(rows, cols);
  rstd.resize(rows, groups);
  gemm(xhat, x, false, w, false, real(0));  // t = x @ w, computed in xhat's memory
  const real* b = bias ? bias->data() : nullptr;
  backend::Backend& be = backend::active();
  if (groups == 1)
    be.bias_layernorm_relu_forward(xhat.data(), b, gamma.data(), beta.data(), rows, cols, eps,
                                   z.data(), xhat.data(), rstd.data());
  else
    be.grouped_bias_layernorm_relu_forward(xhat.data(), b, gamma.data(), beta.data(), rows,
                                           groups, width, eps, z.data(), xhat.data(), rstd.data());
}

void linear_ln_relu_backward(GradOut dx, GradOut dw, Tensor* dbias, Tensor* dgamma, Tensor* dbeta,
                             Tensor& dt, const Tensor& dz, const Tensor& z, const Tensor& xhat,
                             const Tensor& rstd, const Tensor& x, const Tensor& w,
                             const Tensor& gamma, Index groups) {
  const Index rows = z.rows(), cols = z.cols(), width = cols / groups;
  const bool need_dt = dx || dw;
  if (need_dt) dt.resize(rows, cols);
  auto p = [](Tensor* t) { return t ? t->data() : nullptr; };
  backend::Backend& be = backend::active();
  if (groups == 1)
    be.bias_layernorm_relu_backward(dz.data(), z.data(), xhat.data(), rstd.data(), gamma.data(),
                                    rows, cols, need_dt ? dt.data() : nullptr, p(dbias),
                                    p(dgamma), p(dbeta));
  else
    be.grouped_bias_layernorm_relu_backward(dz.data(), z.data(), xhat.data(), rstd.data(),
                                            gamma.data(), rows, groups, width,
                                            need_dt ? dt.data() : nullptr, p(dbias), p(dgamma),
                                            p(dbeta));
  // dx (+)= dt @ w^T and dw (+)= x^T @ dt, side by side (gemm_both).
  const backend::GemmCall dx_call =
      dx ? gemm_call(*dx, dt, false, w, true, dx.beta()) : backend::GemmCall{};
  const backend::GemmCall dw_call =
      dw ? gemm_call(*dw, x, true, dt, false, dw.beta()) : backend::GemmCall{};
  gemm_both(dx, dx_call, dw, dw_call);
}

void mix_experts_forward(Tensor& out, const Tensor& x, const Tensor* row_coef,
                         const Tensor* shared_coef) {
  const Coefs c{row_coef, shared_coef};
  const Index G = c.R() + c.S(), K = x.cols() / G, B = x.rows();
  out.resize(B, K);
  run_row_pieces(B, x.cols(), kMixRows, [&](Index begin, Index end, Index) {
    for (Index b = begin; b < end; ++b) {
      real* o = out.data() + b * K;
      std::fill(o, o + K, real(0));
      for (Index g = 0; g < G; ++g) {
        const real cg = c.at(b, g);
        const real* xg = x.data() + b * x.cols() + g * K;
        for (Index j = 0; j < K; ++j) o[j] += cg * xg[j];
      }
    }
  });
}

// d x[b, block g] = c_g(b) * dout[b];  d c_g(b) = <dout[b], x[b, block g]>,
// summed over the rows for a shared coefficient (per piece, then in order).
void mix_experts_backward(GradOut dx, GradOut drow_coef, Tensor* dshared_coef, const Tensor& dout,
                          const Tensor& x, const Tensor* row_coef, const Tensor* shared_coef) {
  const Coefs c{row_coef, shared_coef};
  const Index R = c.R(), S = c.S(), G = R + S, K = x.cols() / G, B = x.rows();
  const Index pieces = (B + kMixRows - 1) / kMixRows;
  std::vector<double> shared_part(dshared_coef ? std::size_t(pieces * S) : 0, 0.0);
  run_row_pieces(B, x.cols(), kMixRows, [&](Index begin, Index end, Index piece) {
    for (Index b = begin; b < end; ++b) {
      const real* d = dout.data() + b * K;
      for (Index g = 0; g < G; ++g) {
        const real* xg = x.data() + b * x.cols() + g * K;
        if (dx) {
          const real cg = c.at(b, g);
          real* dxg = dx->data() + b * x.cols() + g * K;
          if (dx.overwrite)
            for (Index j = 0; j < K; ++j) dxg[j] = cg * d[j];
          else
            for (Index j = 0; j < K; ++j) dxg[j] += cg * d[j];
        }
        const bool want = g < R ? bool(drow_coef) : dshared_coef != nullptr;
        if (!want) continue;
        const real dot = backend::simd::dot(d, xg, K);
        if (g < R) drow_coef.put((*drow_coef)(b, g), dot);
        else shared_part[std::size_t(piece * S + g - R)] += double(dot);
      }
    }
  });
  if (dshared_coef)
    for (Index s = 0; s < S; ++s) {
      double sum = 0;
      for (Index piece = 0; piece < pieces; ++piece) sum += shared_part[std::size_t(piece * S + s)];
      (*dshared_coef)(0, s) += real(sum);
    }
}

}  // namespace m3oe::ops

namespace m3oe {

namespace {
std::string shape_of(const Var& v) { return v.defined() ? shape_str(v.value()) : "undefined"; }
}  // namespace

Var linear_ln_relu(const Var& x, const Var& w, const Var& b, const Var& gamma, const Var& beta,
                   Index groups, real eps) {
  const Index cols = w.cols();
  auto is_row = [cols](const Var& v) { return v.defined() && v.rows() == 1 && v.cols() == cols; };
  if (x.cols() != w.rows())
    throw std::invalid_argument("linear_ln_relu: x " + shape_of(x) + " does not match w " +
                                shape_of(w));
  if ((b.defined() && !is_row(b)) || !is_row(gamma) || !is_row(beta))
    throw std::invalid_argument("linear_ln_relu: bias, gamma and beta must be [1," +
                                std::to_string(cols) + "], got " + shape_of(b) + ", " +
                                shape_of(gamma) + ", " + shape_of(beta));
  if (groups < 1 || cols % groups != 0 || cols == 0)
    throw std::invalid_argument("linear_ln_relu: " + std::to_string(cols) +
                                " output columns do not split into " + std::to_string(groups) +
                                " groups");
  if (!(eps > real(0)))
    throw std::invalid_argument("linear_ln_relu: eps must be > 0, got " + std::to_string(eps));
  Tensor z, xhat, rstd;
  ops::linear_ln_relu_forward(z, xhat, rstd, x.value(), w.value(), b.defined() ? &b.value() : nullptr,
                              gamma.value(), beta.value(), groups, eps);
  const bool has_bias = b.defined();
  std::vector<Var> inputs{x, w, gamma, beta};
  if (has_bias) inputs.push_back(b);
  return make_result(std::move(z), "linear_ln_relu", std::move(inputs),
                     [xhat = std::move(xhat), rstd = std::move(rstd), groups,
                      has_bias](Node& self) {
                       Node& X = *self.inputs[0];
                       Node& W = *self.inputs[1];
                       Node& G = *self.inputs[2];
                       // The row kernel adds into dbias, dgamma and dbeta; the
                       // GEMMs write dx and dw whole.
                       Tensor* dbias = has_bias ? self.inputs[4]->grad_or_null() : nullptr;
                       Tensor* dgamma = G.grad_or_null();
                       Tensor* dbeta = self.inputs[3]->grad_or_null();
                       const GradOut dx = self.input_grad_out(0);
                       const GradOut dw = self.input_grad_out(1);
                       Tensor dt;
                       ops::linear_ln_relu_backward(dx, dw, dbias, dgamma, dbeta, dt, self.grad,
                                                    self.value, xhat, rstd, X.value, W.value,
                                                    G.value, groups);
                     });
}

Var mix_experts(const Var& experts, const Var& row_coef, const Var& shared_coef) {
  const Index R = row_coef.defined() ? row_coef.cols() : 0;
  const Index S = shared_coef.defined() ? shared_coef.cols() : 0;
  const Index G = R + S;
  if (G == 0) throw std::invalid_argument("mix_experts: no coefficients");
  if (experts.cols() % G != 0)
    throw std::invalid_argument("mix_experts: experts " + shape_of(experts) +
                                " do not split into " + std::to_string(G) + " blocks");
  if (row_coef.defined() && row_coef.rows() != experts.rows())
    throw std::invalid_argument("mix_experts: row_coef " + shape_of(row_coef) +
                                " needs one row per row of experts " + shape_of(experts));
  if (shared_coef.defined() && shared_coef.rows() != 1)
    throw std::invalid_argument("mix_experts: shared_coef " + shape_of(shared_coef) +
                                " must be one row");
  Tensor out;
  ops::mix_experts_forward(out, experts.value(), row_coef.defined() ? &row_coef.value() : nullptr,
                           shared_coef.defined() ? &shared_coef.value() : nullptr);
  // Inputs in a fixed order; an absent coefficient is an empty leaf.
  std::vector<Var> inputs{experts, row_coef.defined() ? row_coef : Var(Tensor()),
                          shared_coef.defined() ? shared_coef : Var(Tensor())};
  return make_result(std::move(out), "mix_experts", std::move(inputs),
                     [R, S](Node& self) {
                       Node& X = *self.inputs[0];
                       Node& RC = *self.inputs[1];
                       Node& SC = *self.inputs[2];
                       // dx and drow_coef are written row by row, each element
                       // once, so both may be overwritten when they are new.
                       const GradOut dx = self.input_grad_out(0);
                       const GradOut drow = R ? self.input_grad_out(1) : GradOut();
                       ops::mix_experts_backward(dx, drow, S ? SC.grad_or_null() : nullptr, self.grad,
                                                 X.value, R ? &RC.value : nullptr,
                                                 S ? &SC.value : nullptr);
                     });
}

}  // namespace m3oe
