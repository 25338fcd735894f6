// elementwise family: + - * / with broadcasting, and the scalar variants.
// Forward functions overwrite `out`; backward functions ACCUMULATE (+=) into
// the gradients they are given (or write them, for an overwriting GradOut)
// and skip any that is null.
//
// Broadcasting: out has shape [M,N] = [max(rows), max(cols)] of a and b, and
// each operand's dimension must be equal to it or 1. So an operand is [M,N]
// (full), [1,N] (a row, repeated down), [M,1] (a column, repeated across) or
// [1,1] (a scalar). In the backward, the gradient of a broadcast operand is
// the output gradient summed over the dimensions it was repeated along.
#pragma once

#include "autograd/grad_out.hpp"
#include "autograd/tensor.hpp"

namespace m3oe::ops {

enum class Binary { add, sub, mul, div };

// The broadcast result shape of a[Ma,Na] and b[Mb,Nb]; throws
// std::invalid_argument naming `op` and both shapes if they do not broadcast.
void broadcast_shape(const Tensor& a, const Tensor& b, const char* op, Index& rows, Index& cols);

// out[M,N] = a (op) b, a and b broadcast to [M,N].
void binary_forward(Tensor& out, const Tensor& a, const Tensor& b, Binary op);
// da: like a, db: like b, dout[M,N]; out[M,N] is the forward result (div uses it).
// An overwriting GradOut is allowed only for an operand of the output's shape.
void binary_backward(GradOut da, GradOut db, const Tensor& dout, const Tensor& a, const Tensor& b,
                     const Tensor& out, Binary op);

// out[M,N] = x[M,N] + c.
void add_scalar_forward(Tensor& out, const Tensor& x, real c);
// dx[M,N] += dout[M,N].
void add_scalar_backward(Tensor* dx, const Tensor& dout);
// out[M,N] = x[M,N] * c.
void mul_scalar_forward(Tensor& out, const Tensor& x, real c);
// dx[M,N] += c * dout[M,N].
void mul_scalar_backward(Tensor* dx, const Tensor& dout, real c);
// out[M,N] = 1 / x[M,N] (+-inf at 0, as a division).
void reciprocal_forward(Tensor& out, const Tensor& x);
// dx[M,N] += -dout[M,N] * out^2, out[M,N] = 1/x the forward result (d(1/x)/dx = -1/x^2).
void reciprocal_backward(Tensor* dx, const Tensor& dout, const Tensor& out);

}  // namespace m3oe::ops
