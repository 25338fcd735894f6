// activation family: elementwise nonlinearities.
// Forward functions overwrite `out`; backward functions ACCUMULATE (+=) into
// dx and skip it when it is nullptr. Each backward reads what is cheapest to
// keep: the output y where the derivative is a function of it (sigmoid, tanh,
// exp, relu), the input x for log.
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe::ops {

// y[M,N] = 1 / (1 + exp(-x[M,N])).
void sigmoid_forward(Tensor& y, const Tensor& x);
// dx[M,N] += dy[M,N] * y * (1 - y), y[M,N] the forward output.
void sigmoid_backward(Tensor* dx, const Tensor& dy, const Tensor& y);

// y[M,N] = max(x[M,N], 0).
void relu_forward(Tensor& y, const Tensor& x);
// dx[M,N] += dy[M,N] where y[M,N] > 0 (the derivative at 0 is taken as 0, as in torch).
void relu_backward(Tensor* dx, const Tensor& dy, const Tensor& y);

// y[M,N] = tanh(x[M,N]).
void tanh_forward(Tensor& y, const Tensor& x);
// dx[M,N] += dy[M,N] * (1 - y^2).
void tanh_backward(Tensor* dx, const Tensor& dy, const Tensor& y);

// y[M,N] = exp(x[M,N]).
void exp_forward(Tensor& y, const Tensor& x);
// dx[M,N] += dy[M,N] * y.
void exp_backward(Tensor* dx, const Tensor& dy, const Tensor& y);

// y[M,N] = log(x[M,N]) (natural log; -inf at 0 and NaN below, as in torch).
void log_forward(Tensor& y, const Tensor& x);
// dx[M,N] += dy[M,N] / x[M,N].
void log_backward(Tensor* dx, const Tensor& dy, const Tensor& x);

}  // namespace m3oe::ops
