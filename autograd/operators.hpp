// operators.hpp: + - * / on Var, as in PyTorch, mapped onto the named ops.
//
//   Var y = 2.0 * x + b;          // add(mul_scalar(x, 2), b)
//   Var z = 1.0 - sigmoid(y) / 3; // add_scalar(mul_scalar(...), 1)
//
// Var with Var broadcasts like add/sub/mul/div (ops.hpp). A number on either
// side is a constant (real; no gradient flows into it). Each operator is one
// or two of the ops of autograd/op_table.hpp, so the graph dump shows those
// names (c - x is add_scalar(mul_scalar(x, -1), c); c / x is
// mul_scalar(reciprocal(x), c)). Included by autograd/ops.hpp.
#pragma once

#include "autograd/node.hpp"

namespace m3oe {

Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var add_scalar(const Var& x, real c);
Var mul_scalar(const Var& x, real c);
Var reciprocal(const Var& x);

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator-(const Var& x) { return mul_scalar(x, real(-1)); }

inline Var operator+(const Var& x, real c) { return add_scalar(x, c); }
inline Var operator+(real c, const Var& x) { return add_scalar(x, c); }
inline Var operator-(const Var& x, real c) { return add_scalar(x, -c); }
inline Var operator-(real c, const Var& x) { return add_scalar(mul_scalar(x, real(-1)), c); }
inline Var operator*(const Var& x, real c) { return mul_scalar(x, c); }
inline Var operator*(real c, const Var& x) { return mul_scalar(x, c); }
// x / c is x * (1/c); for c = 0 that gives +-inf (and NaN at x = 0), as x / 0 does.
inline Var operator/(const Var& x, real c) { return mul_scalar(x, real(1) / c); }
inline Var operator/(real c, const Var& x) { return mul_scalar(reciprocal(x), c); }

}  // namespace m3oe
