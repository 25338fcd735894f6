// reduce family: sums and means over all entries, rows or columns, and
// stop_gradient. Forward functions overwrite `out`; backward functions
// ACCUMULATE (+=) into dx and skip it when it is nullptr.
#pragma once

#include "autograd/tensor.hpp"

namespace m3oe::ops {

// out[1,1] = sum of x[M,N]; `scale` multiplies it (1 for sum, 1/(M N) for mean).
void sum_forward(Tensor& out, const Tensor& x, real scale);
// dx[M,N] += scale * dout[1,1] (every entry contributed once).
void sum_backward(Tensor* dx, const Tensor& dout, real scale);

// out[1,N] = scale * sum over the rows of x[M,N] (1 for sum, 1/M for mean).
void sum_to_row_forward(Tensor& out, const Tensor& x, real scale);
// dx[M,N] += scale * dout[1,N], the row repeated down.
void sum_to_row_backward(Tensor* dx, const Tensor& dout, real scale);

// out[M,1] = scale * sum over the columns of x[M,N] (1 for sum, 1/N for mean).
void sum_to_col_forward(Tensor& out, const Tensor& x, real scale);
// dx[M,N] += scale * dout[M,1], the column repeated across.
void sum_to_col_backward(Tensor* dx, const Tensor& dout, real scale);

}  // namespace m3oe::ops
