// op_table.hpp: the single list of ops. An op is done when it has a forward,
// a backward, and an entry in the gradient-check test; that test walks this
// table and fails for any op it has no finite-difference case for.
#pragma once

#include <array>
#include <string_view>

namespace m3oe {

struct OpInfo {
  std::string_view name;       // the function in ops.hpp
  std::string_view family;     // autograd/ops/<family>.{hpp,cpp}
  std::string_view signature;  // shapes in, shape out
};

inline constexpr std::array kOpTable = {
    OpInfo{"matmul", "matmul", "a[M,K] @ b[K,N] -> [M,N]"},
    OpInfo{"matmul_nt", "matmul", "a[M,K] @ b[N,K]^T -> [M,N]"},
    OpInfo{"matmul_tn", "matmul", "a[K,M]^T @ b[K,N] -> [M,N]"},
    OpInfo{"linear", "matmul", "x[B,K] @ w[K,N] + b[1,N] -> [B,N]"},
    OpInfo{"add", "elementwise", "a + b, broadcast rows/cols/scalar"},
    OpInfo{"sub", "elementwise", "a - b, broadcast rows/cols/scalar"},
    OpInfo{"mul", "elementwise", "a * b, broadcast rows/cols/scalar"},
    OpInfo{"div", "elementwise", "a / b, broadcast rows/cols/scalar"},
    OpInfo{"scale", "elementwise", "x[M,N] * s[1,1] -> [M,N]"},
    OpInfo{"add_scalar", "elementwise", "x[M,N] + c -> [M,N]"},
    OpInfo{"mul_scalar", "elementwise", "x[M,N] * c -> [M,N]"},
    OpInfo{"reciprocal", "elementwise", "1 / x[M,N] -> [M,N]"},
    OpInfo{"sigmoid", "activation", "[M,N] -> [M,N]"},
    OpInfo{"relu", "activation", "[M,N] -> [M,N]"},
    OpInfo{"tanh", "activation", "[M,N] -> [M,N]"},
    OpInfo{"exp", "activation", "[M,N] -> [M,N]"},
    OpInfo{"log", "activation", "[M,N] -> [M,N]"},
    OpInfo{"softmax_rows", "softmax", "x[B,N] -> [B,N]"},
    OpInfo{"bce", "loss", "p[B,T], y[B,T] -> [1,1]"},
    OpInfo{"bce_with_logits", "loss", "z[B,T], y[B,T] -> [1,1]"},
    OpInfo{"layer_norm", "layernorm", "x[B,N], gamma[1,N], beta[1,N] -> [B,N]"},
    OpInfo{"linear_ln_relu", "fused", "relu(LN_groups(x[B,K] @ w[K,N] + b[1,N])) -> [B,N]"},
    OpInfo{"mix_experts", "fused", "x[B,G*K], row_coef[B,R], shared_coef[1,G-R] -> [B,K]"},
    OpInfo{"embedding", "index", "table[V,E], ids[B] -> [B,E]"},
    OpInfo{"concat_cols", "index", "[B,n1], [B,n2], ... -> [B,n1+n2+...]"},
    OpInfo{"slice_cols", "index", "x[B,N] -> [B,count]"},
    OpInfo{"gather_rows", "index", "x[M,N], rows[R] -> [R,N]"},
    OpInfo{"scatter_rows", "index", "x[R,N], rows[R] -> [M,N]"},
    OpInfo{"sum", "reduce", "[M,N] -> [1,1]"},
    OpInfo{"mean", "reduce", "[M,N] -> [1,1]"},
    OpInfo{"sum_to_row", "reduce", "[M,N] -> [1,N]"},
    OpInfo{"mean_to_row", "reduce", "[M,N] -> [1,N]"},
    OpInfo{"sum_to_col", "reduce", "[M,N] -> [M,1]"},
    OpInfo{"mean_to_col", "reduce", "[M,N] -> [M,1]"},
    OpInfo{"stop_gradient", "reduce", "[M,N] -> [M,N], no gradient"},
};

}  // namespace m3oe
