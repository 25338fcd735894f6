#include "autograd/ops/elementwise.hpp"

#include "autograd/backend/threads.hpp"
#include "autograd/ops.hpp"

#include <stdexcept>
#include <string>

namespace m3oe::ops {

namespace {

// How an operand of shape [Mo,No] covers the output [M,N].
enum class Kind { full, row, col, scalar };

Kind kind_of(const Tensor& t, Index rows, Index cols) {
  if (t.rows() == rows && t.cols() == cols) return Kind::full;
  if (t.rows() == 1 && t.cols() == 1) return Kind::scalar;
  return t.rows() == 1 ? Kind::row : Kind::col;
}

// Rows per piece when a whole-matrix case runs over the threads.
constexpr Index kPieceRows = 256;

// Calls fn(r0, n, x, y) for blocks of output rows [r0, r0+n). x and y are the
// values of a and b over that block: Eigen arrays of the block's shape, or a
// plain real where the operand is one number across the block. When neither
// operand is a row or column broadcast the blocks are pieces of kPieceRows
// rows spread over the threads (run_row_pieces), which only a caller whose fn
// writes nothing but rows [r0, r0+n) may ask for (`parallel`); otherwise
// there is one block, or, with a row or column broadcast, one block per row,
// each a vectorised expression over N columns.
template <class Fn>
void visit_blocks(const Tensor& a, const Tensor& b, Index rows, Index cols, bool parallel,
                  Fn&& fn) {
  const Kind ka = kind_of(a, rows, cols);
  const Kind kb = kind_of(b, rows, cols);
  if ((ka == Kind::full || ka == Kind::scalar) && (kb == Kind::full || kb == Kind::scalar)) {
    // Both [1,1] would make the output [1,1] and both full, so one is full here.
    auto block = [&](Index r0, Index n) {
      if (ka == Kind::full && kb == Kind::full)
        fn(r0, n, a.middleRows(r0, n).array(), b.middleRows(r0, n).array());
      else if (ka == Kind::full) fn(r0, n, a.middleRows(r0, n).array(), b(0, 0));
      else fn(r0, n, a(0, 0), b.middleRows(r0, n).array());
    };
    if (parallel)
      run_row_pieces(rows, cols, kPieceRows,
                     [&](Index r0, Index r1, Index) { block(r0, r1 - r0); });
    else
      block(0, rows);
    return;
  }
  // A row of an operand is a vector when it spans the N output columns, a
  // scalar otherwise ([M,1] or [1,1] with N > 1). Since N is the larger of
  // the two column counts, at least one of them is a vector.
  const bool a_vec = a.cols() == cols;
  const bool b_vec = b.cols() == cols;
  for (Index i = 0; i < rows; ++i) {
    const Index ia = a.rows() == 1 ? 0 : i;
    const Index ib = b.rows() == 1 ? 0 : i;
    if (a_vec && b_vec) fn(i, 1, a.row(ia).array(), b.row(ib).array());
    else if (a_vec) fn(i, 1, a.row(ia).array(), b(ib, 0));
    else fn(i, 1, a(ia, 0), b.row(ib).array());
  }
}

// d (+)= g reduced to d's shape: g covers output rows [r0, r0+n) and is summed
// over every dimension along which the operand was broadcast. Only a full
// operand's gradient can be an overwrite (the caller's GradOut).
template <class G>
void accumulate(const GradOut& d, Kind kind, Index r0, Index n, const G& g) {
  switch (kind) {
    case Kind::full: d.put(d->middleRows(r0, n).array(), g); break;
    case Kind::row: d->array() += g.colwise().sum(); break;
    case Kind::col: d->middleRows(r0, n).array() += g.rowwise().sum(); break;
    case Kind::scalar: (*d)(0, 0) += g.sum(); break;
  }
}

}  // namespace

void broadcast_shape(const Tensor& a, const Tensor& b, const char* op, Index& rows, Index& cols) {
  auto dim = [&](Index x, Index y, Index& out) {
    if (x == y || y == 1) out = x;
    else if (x == 1) out = y;
    else
      throw std::invalid_argument(std::string(op) + ": shapes " + shape_str(a) + " and " +
                                  shape_str(b) +
                                  " do not broadcast (each dimension must be equal or 1)");
  };
  dim(a.rows(), b.rows(), rows);
  dim(a.cols(), b.cols(), cols);
}

void binary_forward(Tensor& out, const Tensor& a, const Tensor& b, Binary op) {
  Index rows = 0, cols = 0;
  broadcast_shape(a, b, "binary_forward", rows, cols);
  out.resize(rows, cols);
  visit_blocks(a, b, rows, cols, true, [&](Index r0, Index n, const auto& x, const auto& y) {
    auto o = out.middleRows(r0, n).array();
    switch (op) {
      case Binary::add: o = x + y; break;
      case Binary::sub: o = x - y; break;
      case Binary::mul: o = x * y; break;
      case Binary::div: o = x / y; break;
    }
  });
}

// add: da += dout,      db += dout
// sub: da += dout,      db -= dout
// mul: da += dout * b,  db += dout * a
// div: da += dout / b,  db -= dout * a / b^2 = dout * out / b
// each reduced over the dimensions its operand was broadcast along.
void binary_backward(GradOut da, GradOut db, const Tensor& dout, const Tensor& a, const Tensor& b,
                     const Tensor& out, Binary op) {
  const Index rows = dout.rows(), cols = dout.cols();
  const Kind ka = kind_of(a, rows, cols);
  const Kind kb = kind_of(b, rows, cols);
  if ((da.overwrite && ka != Kind::full) || (db.overwrite && kb != Kind::full))
    throw std::logic_error("binary_backward: only a full operand's gradient can be overwritten");
  // A broadcast operand sums over rows: pieces on several threads would race.
  const bool parallel = (!da || ka == Kind::full) && (!db || kb == Kind::full);
  visit_blocks(a, b, rows, cols, parallel, [&](Index r0, Index n, const auto& x, const auto& y) {
    const auto d = dout.middleRows(r0, n).array();
    switch (op) {
      case Binary::add:
        if (da) accumulate(da, ka, r0, n, d);
        if (db) accumulate(db, kb, r0, n, d);
        break;
      case Binary::sub:
        if (da) accumulate(da, ka, r0, n, d);
        if (db) accumulate(db, kb, r0, n, -d);
        break;
      case Binary::mul:
        if (da) accumulate(da, ka, r0, n, d * y);
        if (db) accumulate(db, kb, r0, n, d * x);
        break;
      case Binary::div:
        if (da) accumulate(da, ka, r0, n, d / y);
        if (db) accumulate(db, kb, r0, n, -(d * out.middleRows(r0, n).array()) / y);
        break;
    }
  });
}

void add_scalar_forward(Tensor& out, const Tensor& x, real c) { out = x.array() + c; }
void add_scalar_backward(Tensor* dx, const Tensor& dout) {
  if (dx) *dx += dout;
}
void mul_scalar_forward(Tensor& out, const Tensor& x, real c) { out = x * c; }
void mul_scalar_backward(Tensor* dx, const Tensor& dout, real c) {
  if (dx) *dx += c * dout;
}
void reciprocal_forward(Tensor& out, const Tensor& x) { out = x.array().inverse(); }
void reciprocal_backward(Tensor* dx, const Tensor& dout, const Tensor& out) {
  if (dx) dx->array() -= dout.array() * out.array().square();
}

}  // namespace m3oe::ops

namespace m3oe {

namespace {
Var binary_op(const Var& a, const Var& b, ops::Binary op, const char* name) {
  Index rows = 0, cols = 0;
  ops::broadcast_shape(a.value(), b.value(), name, rows, cols);
  Tensor out;
  ops::binary_forward(out, a.value(), b.value(), op);
  return make_result(std::move(out), name, {a, b}, [op](Node& self) {
    Node& A = *self.inputs[0];
    Node& B = *self.inputs[1];
    // An operand of the output's shape gets its gradient written whole; a
    // broadcast one sums into its gradient.
    auto grad = [&self](std::size_t i) {
      const Tensor& v = self.inputs[i]->value;
      return v.rows() == self.value.rows() && v.cols() == self.value.cols()
                 ? self.input_grad_out(i)
                 : GradOut(self.inputs[i]->grad_or_null());
    };
    ops::binary_backward(grad(0), grad(1), self.grad, A.value, B.value, self.value, op);
  });
}
}  // namespace

Var add(const Var& a, const Var& b) { return binary_op(a, b, ops::Binary::add, "add"); }
Var sub(const Var& a, const Var& b) { return binary_op(a, b, ops::Binary::sub, "sub"); }
Var mul(const Var& a, const Var& b) { return binary_op(a, b, ops::Binary::mul, "mul"); }
Var div(const Var& a, const Var& b) { return binary_op(a, b, ops::Binary::div, "div"); }

Var scale(const Var& x, const Var& s) {
  if (s.rows() != 1 || s.cols() != 1)
    throw std::invalid_argument("scale: the factor must be [1,1], got " + shape_str(s.value()) +
                                " (x is " + shape_str(x.value()) + ")");
  return binary_op(x, s, ops::Binary::mul, "scale");
}

Var add_scalar(const Var& x, real c) {
  Tensor out;
  ops::add_scalar_forward(out, x.value(), c);
  return make_result(std::move(out), "add_scalar", {x}, [](Node& self) {
    ops::add_scalar_backward(self.inputs[0]->grad_or_null(), self.grad);
  });
}

Var mul_scalar(const Var& x, real c) {
  Tensor out;
  ops::mul_scalar_forward(out, x.value(), c);
  return make_result(std::move(out), "mul_scalar", {x}, [c](Node& self) {
    ops::mul_scalar_backward(self.inputs[0]->grad_or_null(), self.grad, c);
  });
}

Var reciprocal(const Var& x) {
  Tensor out;
  ops::reciprocal_forward(out, x.value());
  return make_result(std::move(out), "reciprocal", {x}, [](Node& self) {
    ops::reciprocal_backward(self.inputs[0]->grad_or_null(), self.grad, self.value);
  });
}

}  // namespace m3oe
