#include "autograd/ops/matmul.hpp"

#include "autograd/backend/backend.hpp"
#include "autograd/backend/threads.hpp"
#include "autograd/ops.hpp"
#include "autograd/ops/gemm_call.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace m3oe::ops {

namespace {
// Rows per piece of the bias loops (run_row_pieces).
constexpr Index kBiasRows = 256;

// out[B,N] += bias[1,N] in every row.
void add_bias_rows(Tensor& out, const Tensor& bias) {
  run_row_pieces(out.rows(), out.cols(), kBiasRows, [&](Index r0, Index r1, Index) {
    out.middleRows(r0, r1 - r0).rowwise() += bias.row(0);
  });
}

// d[1,N] (+)= the column sums of g[B,N]: each piece of kBiasRows rows sums
// its columns, row after row, then the pieces are added in order, so the
// result does not depend on the number of threads. (Not Eigen's
// colwise().sum(): how it orders a column's terms depends on where the
// destination lies in memory, and this buffer's alignment changes from run
// to run.)
void column_sums(const GradOut& d, const Tensor& g) {
  const Index cols = g.cols();
  const Index pieces = (g.rows() + kBiasRows - 1) / kBiasRows;
  thread_local std::vector<real> part;
  part.resize(std::size_t(pieces * cols));
  real* parts = part.data();
  run_row_pieces(g.rows(), cols, kBiasRows, [&](Index r0, Index r1, Index piece) {
    real* sum = parts + piece * cols;
    std::fill(sum, sum + cols, real(0));
    for (Index r = r0; r < r1; ++r) {
      const real* row = g.data() + r * cols;
      for (Index j = 0; j < cols; ++j) sum[j] += row[j];
    }
  });
  if (d.overwrite) d->setZero();
  for (Index p = 0; p < pieces; ++p) d->row(0) += Eigen::Map<const Tensor>(parts + p * cols, 1, cols);
}

void check_inner(const Tensor& a, const Tensor& b, bool ta, bool tb, const char* op) {
  const Index ka = ta ? a.rows() : a.cols();
  const Index kb = tb ? b.cols() : b.rows();
  if (ka != kb)
    throw std::invalid_argument(std::string(op) + ": inner dimensions differ, " + shape_str(a) +
                                (ta ? "^T" : "") + " @ " + shape_str(b) + (tb ? "^T" : ""));
}
}  // namespace

void matmul_forward(Tensor& out, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  out.resize(trans_a ? a.cols() : a.rows(), trans_b ? b.rows() : b.cols());
  gemm(out, a, trans_a, b, trans_b, real(0));
}

// For C = op(A) op(B):  dop(A) = dC op(B)^T  and  dop(B) = op(A)^T dC.
// When A itself is stored transposed, dA = dop(A)^T, which swaps the factors:
//   C = A B      : dA = dC B^T,      dB = A^T dC
//   C = A^T B    : dA = B dC^T,      dB = A dC
//   C = A B^T    : dA = dC B,        dB = dC^T A
//   C = A^T B^T  : dA = B^T dC^T,    dB = dC^T A^T
void matmul_backward(GradOut da, GradOut db, const Tensor& dout, const Tensor& a, const Tensor& b,
                     bool trans_a, bool trans_b) {
  backend::GemmCall da_call{}, db_call{};
  if (da)
    da_call = !trans_a ? gemm_call(*da, dout, false, b, !trans_b, da.beta())
                       : gemm_call(*da, b, trans_b, dout, true, da.beta());
  if (db)
    db_call = !trans_b ? gemm_call(*db, a, !trans_a, dout, false, db.beta())
                       : gemm_call(*db, dout, true, a, trans_a, db.beta());
  gemm_both(da, da_call, db, db_call);  // side by side when both are wanted
}

void linear_forward(Tensor& out, const Tensor& x, const Tensor& w, const Tensor* bias) {
  out.resize(x.rows(), w.cols());
  gemm(out, x, false, w, false, real(0));
  if (bias) add_bias_rows(out, *bias);
}

void linear_backward(GradOut dx, GradOut dw, GradOut dbias, const Tensor& dout, const Tensor& x,
                     const Tensor& w) {
  matmul_backward(dx, dw, dout, x, w, false, false);
  if (dbias) column_sums(dbias, dout);
}

}  // namespace m3oe::ops

namespace m3oe {

namespace {
Var matmul_op(const Var& a, const Var& b, bool ta, bool tb, const char* name) {
  ops::check_inner(a.value(), b.value(), ta, tb, name);
  Tensor out;
  ops::matmul_forward(out, a.value(), b.value(), ta, tb);
  return make_result(std::move(out), name, {a, b}, [ta, tb](Node& self) {
    Node& A = *self.inputs[0];
    Node& B = *self.inputs[1];
    ops::matmul_backward(self.input_grad_out(0), self.input_grad_out(1), self.grad, A.value,
                         B.value, ta, tb);
  });
}
}  // namespace

Var matmul(const Var& a, const Var& b) { return matmul_op(a, b, false, false, "matmul"); }
Var matmul_nt(const Var& a, const Var& b) { return matmul_op(a, b, false, true, "matmul_nt"); }
Var matmul_tn(const Var& a, const Var& b) { return matmul_op(a, b, true, false, "matmul_tn"); }

Var linear(const Var& x, const Var& w, const Var& b) {
  ops::check_inner(x.value(), w.value(), false, false, "linear");
  if (b.defined() && (b.rows() != 1 || b.cols() != w.cols()))
    throw std::invalid_argument("linear: bias is " + shape_str(b.value()) + ", expected [1," +
                                std::to_string(w.cols()) + "]");
  Tensor out;
  ops::linear_forward(out, x.value(), w.value(), b.defined() ? &b.value() : nullptr);
  std::vector<Var> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  return make_result(std::move(out), "linear", std::move(inputs), [](Node& self) {
    Node& X = *self.inputs[0];
    Node& W = *self.inputs[1];
    const GradOut db = self.inputs.size() > 2 ? self.input_grad_out(2) : GradOut();
    ops::linear_backward(self.input_grad_out(0), self.input_grad_out(1), db, self.grad, X.value,
                         W.value);
  });
}

}  // namespace m3oe
