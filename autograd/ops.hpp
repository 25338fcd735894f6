// ops.hpp: every differentiable op of m3oe.cpp, as functions on Var.
//
// Shapes are written [rows,cols]. Each op is a forward/backward pair of free
// functions in its family's file (autograd/ops/<family>.hpp); the functions
// here are the thin wrappers that run the forward and record the backward in
// the graph. The list of ops, with their families, is op_table.hpp: every
// entry there has a finite-difference gradient check in
// tests/autograd/test_gradcheck.cpp, and the test fails if one is missing.
#pragma once

#include "autograd/node.hpp"
#include "autograd/operators.hpp"  // + - * / on Var
#include "autograd/print.hpp"      // std::cout << var

#include <vector>

namespace m3oe {

// ---- matmul family (autograd/ops/matmul.hpp) -------------------------------
Var matmul(const Var& a, const Var& b);     // a[M,K] @ b[K,N]   -> [M,N]
Var matmul_nt(const Var& a, const Var& b);  // a[M,K] @ b[N,K]^T -> [M,N]
Var matmul_tn(const Var& a, const Var& b);  // a[K,M]^T @ b[K,N] -> [M,N]
// x[B,K] @ w[K,N] + b[1,N] -> [B,N]; `b` may be an undefined Var (no bias).
// Note the weight layout [in,out] (PyTorch's nn.Linear stores [out,in]).
Var linear(const Var& x, const Var& w, const Var& b);

// ---- elementwise family (autograd/ops/elementwise.hpp) ---------------------
// Broadcasting: each dimension of a and b must be equal or 1; the result has
// the larger size. So [M,N] with [M,N], [1,N] (row), [M,1] (column) or [1,1].
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var scale(const Var& x, const Var& s);  // x[M,N] * s[1,1]: the AutoML weights
Var add_scalar(const Var& x, real c);   // x + c, c a constant
Var mul_scalar(const Var& x, real c);   // x * c, c a constant
Var reciprocal(const Var& x);           // 1 / x, elementwise (c / x is c * reciprocal(x))

// ---- activation family (autograd/ops/activation.hpp) -----------------------
Var sigmoid(const Var& x);
Var relu(const Var& x);
Var tanh(const Var& x);
Var exp(const Var& x);
Var log(const Var& x);

// ---- softmax family (autograd/ops/softmax.hpp) -----------------------------
Var softmax_rows(const Var& x);  // x[B,N] -> [B,N], each row sums to 1

// ---- loss family (autograd/ops/loss.hpp) -----------------------------------
// Mean binary cross-entropy over all entries -> [1,1]. `y` holds 0/1 labels.
// On probabilities p in [0,1], log clamped at -100 as torch.nn.BCELoss does.
Var bce(const Var& p, const Tensor& y);
// On logits z (numerically stable form), as torch.nn.BCEWithLogitsLoss.
Var bce_with_logits(const Var& z, const Tensor& y);

// ---- layernorm family (autograd/ops/layernorm.hpp) -------------------------
// Normalise each row of x[B,N] to zero mean and unit variance (biased
// variance, eps inside the square root), then gamma[1,N] * xhat + beta[1,N].
Var layer_norm(const Var& x, const Var& gamma, const Var& beta, real eps = real(1e-5));

// ---- fused family (autograd/ops/fused.hpp) ---------------------------------
// ReLU(LayerNorm(x[B,in] @ w[in,G*K] + b[1,G*K])) with gamma, beta [1,G*K]:
// Linear + LayerNorm + ReLU as one op. groups = G > 1 normalises each block
// of K columns on its own (G experts reading the same x, as one GEMM).
Var linear_ln_relu(const Var& x, const Var& w, const Var& b, const Var& gamma, const Var& beta,
                   Index groups = 1, real eps = real(1e-5));
// sum_g c_g * experts[:, block g] -> [B,K] for experts[B,(R+S)*K]: the first R
// blocks weighted per row by row_coef[B,R] (gates), the other S by
// shared_coef[1,S] (fusion weights). Either coefficient may be undefined.
Var mix_experts(const Var& experts, const Var& row_coef, const Var& shared_coef);

// ---- index family (autograd/ops/index.hpp) ---------------------------------
// table[V,E] looked up at ids[B] -> [B,E]. Backward adds into the looked-up
// rows only. Every id must be in [0,V); a bad id throws naming it.
Var embedding(const Var& table, const IndexList& ids);
Var concat_cols(const std::vector<Var>& parts);           // [B,n1],[B,n2].. -> [B,n1+n2+..]
Var slice_cols(const Var& x, Index start, Index count);   // x[B,N] -> x[:, start:start+count]
Var gather_rows(const Var& x, const IndexList& rows);     // x[M,N] -> [R,N], out[i] = x[rows[i]]
// The adjoint of gather_rows: x[R,N] -> [M,N], out[rows[i]] += x[i], other rows 0.
Var scatter_rows(const Var& x, const IndexList& rows, Index m);

// ---- reduce family (autograd/ops/reduce.hpp) -------------------------------
Var sum(const Var& x);          // [M,N] -> [1,1]
Var mean(const Var& x);         // [M,N] -> [1,1]
Var sum_to_row(const Var& x);   // [M,N] -> [1,N] (sum over the rows)
Var mean_to_row(const Var& x);  // [M,N] -> [1,N]
Var sum_to_col(const Var& x);   // [M,N] -> [M,1] (sum over the columns)
Var mean_to_col(const Var& x);  // [M,N] -> [M,1]

// ---- stop-gradient (autograd/ops/reduce.hpp) -------------------------------
// Same value, no gradient flows back (the gates read a detached h this way).
Var stop_gradient(const Var& x);

}  // namespace m3oe
