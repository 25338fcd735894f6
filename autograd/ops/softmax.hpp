// softmax family: row-wise softmax through the active backend's kernels.
// The forward overwrites `y`; the backward ACCUMULATES (+=) into dx and skips
// it when it is nullptr.
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe::ops {

// y[B,N] = exp(x - max_row) / sum_row(exp(x - max_row)), row by row of x[B,N].
void softmax_rows_forward(Tensor& y, const Tensor& x);
// dx[B,N] += y * (dy - sum_row(dy * y)); y[B,N] the forward output, dy[B,N].
void softmax_rows_backward(Tensor* dx, const Tensor& dy, const Tensor& y);

}  // namespace m3oe::ops
