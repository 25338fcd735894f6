#include "autograd/ops/index.hpp"

#include "autograd/backend/threads.hpp"
#include "autograd/ops.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace m3oe::ops {

void check_rows(const IndexList& rows, Index m, const char* op, const char* what,
                const char* holder) {
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i] < 0 || rows[i] >= m)
      throw std::invalid_argument(std::string(op) + ": " + what + " " + std::to_string(rows[i]) +
                                  " at position " + std::to_string(i) + " is out of range: " +
                                  holder + " has " + std::to_string(m) + " rows (valid " + what +
                                  "s are 0.." + std::to_string(m - 1) + ")");
}

namespace {
// Row copies go over the threads in pieces of kCopyRows rows (run_row_pieces).
// A copy is exact, so which thread copies which piece cannot change a bit.
constexpr Index kCopyRows = 256;
}  // namespace

void gather_rows_forward(Tensor& out, const Tensor& x, const IndexList& rows) {
  out.resize(Index(rows.size()), x.cols());
  run_row_pieces(out.rows(), out.cols(), kCopyRows, [&](Index begin, Index end, Index) {
    for (Index i = begin; i < end; ++i) out.row(i) = x.row(rows[std::size_t(i)]);
  });
}

void gather_rows_backward(Tensor* dx, const Tensor& dout, const IndexList& rows) {
  if (!dx) return;
  for (std::size_t i = 0; i < rows.size(); ++i) dx->row(rows[i]) += dout.row(Index(i));
}

void scatter_rows_forward(Tensor& out, const Tensor& x, const IndexList& rows, Index m) {
  out.setZero(m, x.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) out.row(rows[i]) += x.row(Index(i));
}

void scatter_rows_backward(GradOut dx, const Tensor& dout, const IndexList& rows) {
  if (!dx) return;
  run_row_pieces(dx->rows(), dx->cols(), kCopyRows, [&](Index begin, Index end, Index) {
    for (Index i = begin; i < end; ++i) dx.put(dx->row(i), dout.row(rows[std::size_t(i)]));
  });
}

void concat_cols_forward(Tensor& out, const std::vector<const Tensor*>& parts) {
  Index cols = 0;
  for (const Tensor* p : parts) cols += p->cols();
  out.resize(parts.empty() ? 0 : parts[0]->rows(), cols);
  run_row_pieces(out.rows(), out.cols(), kCopyRows, [&](Index begin, Index end, Index) {
    Index at = 0;
    for (const Tensor* p : parts) {
      out.block(begin, at, end - begin, p->cols()) = p->middleRows(begin, end - begin);
      at += p->cols();
    }
  });
}

void concat_cols_backward(const std::vector<GradOut>& dparts, const std::vector<Index>& widths,
                          const Tensor& dout) {
  run_row_pieces(dout.rows(), dout.cols(), kCopyRows, [&](Index begin, Index end, Index) {
    Index at = 0;
    for (std::size_t k = 0; k < dparts.size(); ++k) {
      const GradOut& d = dparts[k];
      const Index n = end - begin;
      if (d) d.put(d->middleRows(begin, n), dout.block(begin, at, n, widths[k]));
      at += widths[k];
    }
  });
}

void slice_cols_forward(Tensor& out, const Tensor& x, Index start, Index count) {
  out = x.middleCols(start, count);
}

void slice_cols_backward(Tensor* dx, const Tensor& dout, Index start) {
  if (dx) dx->middleCols(start, dout.cols()) += dout;
}

}  // namespace m3oe::ops

namespace m3oe {

namespace {
// The row list kept by a backward closure: copied only when a graph is recorded.
IndexList rows_for_backward(const Var& x, const IndexList& rows) {
  return grad_enabled() && x.requires_grad() ? rows : IndexList();
}
}  // namespace

Var embedding(const Var& table, const IndexList& ids) {
  ops::check_rows(ids, table.rows(), "embedding", "id", "the table");
  Tensor out;
  ops::gather_rows_forward(out, table.value(), ids);
  return make_result(std::move(out), "embedding", {table},
                     [ids = rows_for_backward(table, ids)](Node& self) {
                       ops::gather_rows_backward(self.inputs[0]->grad_or_null(), self.grad, ids);
                     });
}

Var gather_rows(const Var& x, const IndexList& rows) {
  ops::check_rows(rows, x.rows(), "gather_rows", "row", "x");
  Tensor out;
  ops::gather_rows_forward(out, x.value(), rows);
  return make_result(std::move(out), "gather_rows", {x},
                     [rows = rows_for_backward(x, rows)](Node& self) {
                       ops::gather_rows_backward(self.inputs[0]->grad_or_null(), self.grad, rows);
                     });
}

Var scatter_rows(const Var& x, const IndexList& rows, Index m) {
  if (Index(rows.size()) != x.rows())
    throw std::invalid_argument("scatter_rows: " + std::to_string(rows.size()) +
                                " row indices for x " + shape_str(x.value()) +
                                " (need one per row of x)");
  if (m < 0) throw std::invalid_argument("scatter_rows: negative output rows " + std::to_string(m));
  ops::check_rows(rows, m, "scatter_rows", "row", "the output");
  Tensor out;
  ops::scatter_rows_forward(out, x.value(), rows, m);
  return make_result(std::move(out), "scatter_rows", {x},
                     [rows = rows_for_backward(x, rows)](Node& self) {
                       ops::scatter_rows_backward(self.input_grad_out(0), self.grad, rows);
                     });
}

Var concat_cols(const std::vector<Var>& parts) {
  if (parts.empty()) throw std::invalid_argument("concat_cols: no parts");
  std::vector<const Tensor*> values;
  std::vector<Index> widths;
  values.reserve(parts.size());
  widths.reserve(parts.size());
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (parts[k].rows() != parts[0].rows())
      throw std::invalid_argument("concat_cols: part " + std::to_string(k) + " is " +
                                  shape_str(parts[k].value()) + " but part 0 is " +
                                  shape_str(parts[0].value()) + " (rows must match)");
    values.push_back(&parts[k].value());
    widths.push_back(parts[k].cols());
  }
  Tensor out;
  ops::concat_cols_forward(out, values);
  return make_result(std::move(out), "concat_cols", parts,
                     [widths = std::move(widths)](Node& self) {
                       // Each part's gradient is one block of self.grad, written
                       // in full: new ones are overwritten, unless a node is
                       // several parts (then every block adds into it).
                       std::vector<GradOut> grads;
                       grads.reserve(self.inputs.size());
                       for (std::size_t i = 0; i < self.inputs.size(); ++i)
                         grads.push_back(self.input_grad_out(i));
                       ops::concat_cols_backward(grads, widths, self.grad);
                     });
}

Var slice_cols(const Var& x, Index start, Index count) {
  if (start < 0 || count < 0 || start + count > x.cols())
    throw std::invalid_argument("slice_cols: columns [" + std::to_string(start) + "," +
                                std::to_string(start + count) + ") out of range for x " +
                                shape_str(x.value()));
  Tensor out;
  ops::slice_cols_forward(out, x.value(), start, count);
  return make_result(std::move(out), "slice_cols", {x}, [start](Node& self) {
    ops::slice_cols_backward(self.inputs[0]->grad_or_null(), self.grad, start);
  });
}

}  // namespace m3oe
