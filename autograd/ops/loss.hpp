// loss family: mean binary cross-entropy, on probabilities and on logits.
// Forward functions return the [1,1] loss in `out`; backward functions
// ACCUMULATE (+=) into the gradient they are given and skip it when nullptr.
// `dout` is the [1,1] gradient of the loss (1 when the loss is the root).
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe::ops {

// out[1,1] = mean(-(y log p + (1 - y) log(1 - p))) over p[B,T], y[B,T], each
// log clamped at -100 as torch.nn.BCELoss does, so p = 0 or 1 stays finite.
// Throws std::invalid_argument naming the cell if some p is outside [0,1].
void bce_forward(Tensor& out, const Tensor& p, const Tensor& y);
// dp[B,T] += dout * (p - y) / max(p (1 - p), 1e-12) / (B T), torch's formula
// (the exact derivative wherever the clamp is inactive).
void bce_backward(Tensor* dp, const Tensor& dout, const Tensor& p, const Tensor& y);

// out[1,1] = mean(max(z, 0) - z y + log1p(exp(-|z|))) over z[B,T], y[B,T]:
// the same loss as bce(sigmoid(z), y) without overflow for large |z|.
void bce_with_logits_forward(Tensor& out, const Tensor& z, const Tensor& y);
// dz[B,T] += dout * (sigmoid(z) - y) / (B T).
void bce_with_logits_backward(Tensor* dz, const Tensor& dout, const Tensor& z, const Tensor& y);

}  // namespace m3oe::ops
