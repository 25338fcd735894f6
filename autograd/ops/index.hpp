// index family: row lookups, column slices and their adjoints.
// Forward functions overwrite `out`; backward functions ACCUMULATE (+=) into
// the gradients they are given, skip any that is nullptr, and write instead of
// adding where a GradOut says overwrite (grad_out.hpp). Row indices are
// checked by the forward (a bad one throws std::invalid_argument naming it);
// the backward trusts the list its forward accepted.
#pragma once

#include "autograd/grad_out.hpp"
#include "autograd/tensor.hpp"

#include <vector>

namespace m3oe::ops {

// Throws unless every rows[i] is in [0, m). The message names the op, the bad
// index (`what`, e.g. "id") and its position, and `holder`'s row count.
void check_rows(const IndexList& rows, Index m, const char* op, const char* what,
                const char* holder);

// out[R,N] = x[M,N] at rows[R]: out[i] = x[rows[i]]. Embedding is this with
// x the table [V,E] and rows the ids.
void gather_rows_forward(Tensor& out, const Tensor& x, const IndexList& rows);
// dx[M,N] row rows[i] += dout[R,N] row i; a repeated row gets the sum.
void gather_rows_backward(Tensor* dx, const Tensor& dout, const IndexList& rows);

// out[M,N] = 0, then out[rows[i]] += x[R,N] row i (duplicates add up).
void scatter_rows_forward(Tensor& out, const Tensor& x, const IndexList& rows, Index m);
// dx[R,N] row i += dout[M,N] row rows[i].
void scatter_rows_backward(GradOut dx, const Tensor& dout, const IndexList& rows);

// out[B, n1+n2+...] = [parts[0] | parts[1] | ...], each part [B,nk].
void concat_cols_forward(Tensor& out, const std::vector<const Tensor*>& parts);
// dparts[k][B,nk] += dout[B, sum nk] columns of part k, widths[k] = nk;
// nullptr entries (parts that need no gradient) are skipped.
void concat_cols_backward(const std::vector<GradOut>& dparts, const std::vector<Index>& widths,
                          const Tensor& dout);

// out[B,count] = x[B,N] columns [start, start+count).
void slice_cols_forward(Tensor& out, const Tensor& x, Index start, Index count);
// dx[B,N] columns [start, start+count) += dout[B,count].
void slice_cols_backward(Tensor* dx, const Tensor& dout, Index start);

}  // namespace m3oe::ops
