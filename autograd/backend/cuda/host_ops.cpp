// host_ops.cpp: the kernel entries of the C table. Each one checks its
// arguments, copies the host inputs to pooled device buffers, queues the
// kernels, and copies the results back (guarded() waits for the stream).
#include "context.hpp"
#include "kernels.hpp"

#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

namespace m3oe_cuda {

namespace {
using Floats = DeviceBuffer<float>;
using Ints = DeviceBuffer<std::int32_t>;

std::size_t count_of(std::int64_t rows, std::int64_t cols) { return std::size_t(rows * cols); }

void check_rows_cols(std::int64_t rows, std::int64_t cols) {
  if (rows < 0) throw std::runtime_error("rows = " + std::to_string(rows) + " < 0");
  as_int(cols, "cols");
}

// An acc vector of n floats: uploaded before the kernels add into it and
// downloaded after. Null host pointer = not wanted (no device buffer).
struct AccVector {
  AccVector(m3oe_cuda_context& c, float* host, std::size_t n)
      : host_(host), n_(host ? n : 0), buf_(c.pool, n_) {
    upload(c, buf_.get(), host_, n_ * sizeof(float));
  }
  float* device() const { return buf_.get(); }
  void fetch(m3oe_cuda_context& c) { download(c, host_, buf_.get(), n_ * sizeof(float)); }

 private:
  float* host_;
  std::size_t n_;
  Floats buf_;
};

void check_ids(const std::int32_t* ids, std::int64_t count, std::int64_t vocab) {
  for (std::int64_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw std::runtime_error("ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                               " is outside [0, " + std::to_string(vocab) + ")");
}
}  // namespace

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a
// row-major matrix read as column-major is its transpose: so cuBLAS gets B
// first, A second, and the sizes n, m, k. Device copies are dense (ld = cols).
int gemm(m3oe_cuda_context* ctx, int trans_a, int trans_b, std::int64_t m, std::int64_t n,
         std::int64_t k, float alpha, const float* a, std::int64_t lda, const float* b,
         std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  return guarded(ctx, "gemm", [&](m3oe_cuda_context& cx) {
    const int M = as_int(m, "m"), N = as_int(n, "n"), K = as_int(k, "k");
    const std::int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
    const std::int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
    if (M == 0 || N == 0) return;
    require(c, "c");
    if (ldc < n) throw std::runtime_error("ldc < n");
    if (K == 0) {  // no product: C = beta * C, on the host
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j)
          c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
      return;
    }
    require(a, "a");
    require(b, "b");
    if (lda < a_cols) throw std::runtime_error("lda < columns of a");
    if (ldb < b_cols) throw std::runtime_error("ldb < columns of b");
    Floats da(cx.pool, count_of(a_rows, a_cols)), db(cx.pool, count_of(b_rows, b_cols)),
        dc(cx.pool, count_of(m, n));
    upload_2d(cx, da.get(), a, a_rows, a_cols, lda);
    upload_2d(cx, db.get(), b, b_rows, b_cols, ldb);
    if (beta != 0.f) upload_2d(cx, dc.get(), c, m, n, ldc);  // beta == 0 never reads C
    check(cublasSgemm(cx.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                      trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, db.get(), int(b_cols),
                      da.get(), int(a_cols), &beta, dc.get(), N),
          "cublasSgemm");
    download_2d(cx, c, dc.get(), m, n, ldc);
  });
}

int layernorm_forward(m3oe_cuda_context* ctx, const float* x, const float* gamma,
                      const float* beta, std::int64_t rows, std::int64_t cols, float eps,
                      float* out, float* mean, float* rstd) {
  return guarded(ctx, "layernorm_forward", [&](m3oe_cuda_context& cx) {
    check_rows_cols(rows, cols);
    if (rows == 0) return;
    for (const void* p : {(const void*)x, (const void*)gamma, (const void*)beta, (const void*)out,
                          (const void*)mean, (const void*)rstd})
      require(p, "an argument of layernorm_forward");
    const std::size_t n = count_of(rows, cols);
    Floats dx(cx.pool, n), dg(cx.pool, cols), db(cx.pool, cols), dout(cx.pool, n),
        dmean(cx.pool, rows), drstd(cx.pool, rows);
    upload(cx, dx.get(), x, n * sizeof(float));
    upload(cx, dg.get(), gamma, cols * sizeof(float));
    upload(cx, db.get(), beta, cols * sizeof(float));
    check(m3oe_cuda::layernorm_forward(cx.stream, dx.get(), dg.get(), db.get(), rows, int(cols),
                                       eps, dout.get(), dmean.get(), drstd.get()),
          "layernorm_forward kernel");
    download(cx, out, dout.get(), n * sizeof(float));
    download(cx, mean, dmean.get(), rows * sizeof(float));
    download(cx, rstd, drstd.get(), rows * sizeof(float));
  });
}

int layernorm_backward(m3oe_cuda_context* ctx, const float* dout, const float* x,
                       const float* gamma, const float* mean, const float* rstd,
                       std::int64_t rows, std::int64_t cols, float* dx, float* dgamma,
                       float* dbeta) {
  return guarded(ctx, "layernorm_backward", [&](m3oe_cuda_context& cx) {
    check_rows_cols(rows, cols);
    if (rows == 0 || cols == 0) return;
    for (const void* p : {(const void*)dout, (const void*)x, (const void*)gamma,
                          (const void*)mean, (const void*)rstd})
      require(p, "an input of layernorm_backward");
    const std::size_t n = count_of(rows, cols);
    Floats d_dout(cx.pool, n), d_x(cx.pool, n), d_gamma(cx.pool, cols), d_mean(cx.pool, rows),
        d_rstd(cx.pool, rows);
    upload(cx, d_dout.get(), dout, n * sizeof(float));
    upload(cx, d_x.get(), x, n * sizeof(float));
    upload(cx, d_gamma.get(), gamma, cols * sizeof(float));
    upload(cx, d_mean.get(), mean, rows * sizeof(float));
    upload(cx, d_rstd.get(), rstd, rows * sizeof(float));
    AccVector acc_dx(cx, dx, n), acc_dgamma(cx, dgamma, cols), acc_dbeta(cx, dbeta, cols);
    Floats xhat(cx.pool, dgamma ? n : 0);
    Floats partial(cx.pool, (dgamma || dbeta) ? column_sum_scratch(rows, int(cols)) : 0);
    check(layernorm_backward_rows(cx.stream, d_dout.get(), d_x.get(), d_gamma.get(), d_mean.get(),
                                  d_rstd.get(), rows, int(cols), acc_dx.device(), xhat.get()),
          "layernorm_backward kernel");
    // Both column sums share `partial`: the stream runs them one after the other.
    if (dgamma)
      check(column_sums_acc(cx.stream, d_dout.get(), xhat.get(), rows, int(cols), partial.get(),
                            acc_dgamma.device()),
            "dgamma column sums");
    if (dbeta)
      check(column_sums_acc(cx.stream, d_dout.get(), nullptr, rows, int(cols), partial.get(),
                            acc_dbeta.device()),
            "dbeta column sums");
    acc_dx.fetch(cx);
    acc_dgamma.fetch(cx);
    acc_dbeta.fetch(cx);
  });
}

int softmax_rows_forward(m3oe_cuda_context* ctx, const float* x, std::int64_t rows,
                         std::int64_t cols, float* out) {
  return guarded(ctx, "softmax_rows_forward", [&](m3oe_cuda_context& cx) {
    check_rows_cols(rows, cols);
    const std::size_t n = count_of(rows, cols);
    if (n == 0) return;
    require(x, "x");
    require(out, "out");
    Floats d_x(cx.pool, n), d_out(cx.pool, n);
    upload(cx, d_x.get(), x, n * sizeof(float));
    check(m3oe_cuda::softmax_rows_forward(cx.stream, d_x.get(), rows, int(cols), d_out.get()),
          "softmax kernel");
    download(cx, out, d_out.get(), n * sizeof(float));
  });
}

int softmax_rows_backward(m3oe_cuda_context* ctx, const float* y, const float* dy,
                          std::int64_t rows, std::int64_t cols, float* dx) {
  return guarded(ctx, "softmax_rows_backward", [&](m3oe_cuda_context& cx) {
    check_rows_cols(rows, cols);
    const std::size_t n = count_of(rows, cols);
    if (n == 0 || !dx) return;
    require(y, "y");
    require(dy, "dy");
    Floats d_y(cx.pool, n), d_dy(cx.pool, n);
    upload(cx, d_y.get(), y, n * sizeof(float));
    upload(cx, d_dy.get(), dy, n * sizeof(float));
    AccVector acc_dx(cx, dx, n);
    check(m3oe_cuda::softmax_rows_backward(cx.stream, d_y.get(), d_dy.get(), rows, int(cols),
                                           acc_dx.device()),
          "softmax backward kernel");
    acc_dx.fetch(cx);
  });
}

int bias_layernorm_relu_forward(m3oe_cuda_context* ctx, const float* t, const float* bias,
                                const float* gamma, const float* beta, std::int64_t rows,
                                std::int64_t cols, float eps, float* z, float* xhat, float* rstd) {
  return guarded(ctx, "bias_layernorm_relu_forward", [&](m3oe_cuda_context& cx) {
    check_rows_cols(rows, cols);
    if (rows == 0) return;
    for (const void* p : {(const void*)t, (const void*)gamma, (const void*)beta, (const void*)z,
                          (const void*)xhat, (const void*)rstd})
      require(p, "an argument of bias_layernorm_relu_forward");
    const std::size_t n = count_of(rows, cols);
    Floats d_t(cx.pool, n), d_bias(cx.pool, bias ? cols : 0), d_gamma(cx.pool, cols),
        d_beta(cx.pool, cols), d_z(cx.pool, n), d_xhat(cx.pool, n), d_rstd(cx.pool, rows);
    upload(cx, d_t.get(), t, n * sizeof(float));
    if (bias) upload(cx, d_bias.get(), bias, cols * sizeof(float));
    upload(cx, d_gamma.get(), gamma, cols * sizeof(float));
    upload(cx, d_beta.get(), beta, cols * sizeof(float));
    check(m3oe_cuda::bias_layernorm_relu_forward(cx.stream, d_t.get(), d_bias.get(),
                                                 d_gamma.get(), d_beta.get(), rows, int(cols),
                                                 eps, d_z.get(), d_xhat.get(), d_rstd.get()),
          "bias_layernorm_relu kernel");
    download(cx, z, d_z.get(), n * sizeof(float));
    download(cx, xhat, d_xhat.get(), n * sizeof(float));
    download(cx, rstd, d_rstd.get(), rows * sizeof(float));
  });
}

int bias_layernorm_relu_backward(m3oe_cuda_context* ctx, const float* dz, const float* z,
                                 const float* xhat, const float* rstd, const float* gamma,
                                 std::int64_t rows, std::int64_t cols, float* dt, float* dbias,
                                 float* dgamma, float* dbeta) {
  return guarded(ctx, "bias_layernorm_relu_backward", [&](m3oe_cuda_context& cx) {
    check_rows_cols(rows, cols);
    if (rows == 0 || cols == 0) return;
    for (const void* p : {(const void*)dz, (const void*)z, (const void*)xhat, (const void*)rstd,
                          (const void*)gamma})
      require(p, "an input of bias_layernorm_relu_backward");
    const std::size_t n = count_of(rows, cols);
    Floats d_dz(cx.pool, n), d_z(cx.pool, n), d_xhat(cx.pool, n), d_rstd(cx.pool, rows),
        d_gamma(cx.pool, cols), dy(cx.pool, n), d_dt(cx.pool, n),
        partial(cx.pool, column_sum_scratch(rows, int(cols)));
    upload(cx, d_dz.get(), dz, n * sizeof(float));
    upload(cx, d_z.get(), z, n * sizeof(float));
    upload(cx, d_xhat.get(), xhat, n * sizeof(float));
    upload(cx, d_rstd.get(), rstd, rows * sizeof(float));
    upload(cx, d_gamma.get(), gamma, cols * sizeof(float));
    AccVector acc_dbias(cx, dbias, cols), acc_dgamma(cx, dgamma, cols), acc_dbeta(cx, dbeta, cols);
    check(bias_layernorm_relu_backward_rows(cx.stream, d_dz.get(), d_z.get(), d_xhat.get(),
                                            d_rstd.get(), d_gamma.get(), rows, int(cols),
                                            dy.get(), d_dt.get()),
          "bias_layernorm_relu backward kernel");
    if (dbias)
      check(column_sums_acc(cx.stream, d_dt.get(), nullptr, rows, int(cols), partial.get(),
                            acc_dbias.device()),
            "dbias column sums");
    if (dgamma)
      check(column_sums_acc(cx.stream, dy.get(), d_xhat.get(), rows, int(cols), partial.get(),
                            acc_dgamma.device()),
            "dgamma column sums");
    if (dbeta)
      check(column_sums_acc(cx.stream, dy.get(), nullptr, rows, int(cols), partial.get(),
                            acc_dbeta.device()),
            "dbeta column sums");
    if (dt) download(cx, dt, d_dt.get(), n * sizeof(float));
    acc_dbias.fetch(cx);
    acc_dgamma.fetch(cx);
    acc_dbeta.fetch(cx);
  });
}

namespace {
// The shared body of the elementwise entries: upload `inputs` (n floats
// each), run `launch` on their device copies and `out`, download `out`.
// `out_is_acc`: out is read first (y += ..., dx += ...).
template <class Launch>
int elementwise(m3oe_cuda_context* ctx, const char* op, std::int64_t n,
                std::initializer_list<const float*> inputs, float* out, bool out_is_acc,
                Launch launch) {
  return guarded(ctx, op, [&](m3oe_cuda_context& cx) {
    if (n < 0) throw std::runtime_error("n = " + std::to_string(n) + " < 0");
    if (n == 0) return;
    require(out, "out");
    std::vector<const float*> device_inputs;
    std::vector<std::unique_ptr<Floats>> buffers;
    for (const float* in : inputs) {
      require(in, "an input");
      buffers.push_back(std::make_unique<Floats>(cx.pool, std::size_t(n)));
      upload(cx, buffers.back()->get(), in, n * sizeof(float));
      device_inputs.push_back(buffers.back()->get());
    }
    Floats d_out(cx.pool, std::size_t(n));
    if (out_is_acc) upload(cx, d_out.get(), out, n * sizeof(float));
    check(launch(cx.stream, device_inputs.data(), d_out.get()), op);
    download(cx, out, d_out.get(), n * sizeof(float));
  });
}
}  // namespace

int axpy(m3oe_cuda_context* ctx, std::int64_t n, float alpha, const float* x, float* y) {
  return elementwise(ctx, "axpy", n, {x}, y, true, [&](cudaStream_t s, const float* const* in,
                                                        float* out) {
    return m3oe_cuda::axpy(s, n, alpha, in[0], out);
  });
}

int add(m3oe_cuda_context* ctx, std::int64_t n, const float* a, const float* b, float* out) {
  return elementwise(ctx, "add", n, {a, b}, out, false,
                     [&](cudaStream_t s, const float* const* in, float* o) {
                       return m3oe_cuda::add(s, n, in[0], in[1], o);
                     });
}

int mul(m3oe_cuda_context* ctx, std::int64_t n, const float* a, const float* b, float* out) {
  return elementwise(ctx, "mul", n, {a, b}, out, false,
                     [&](cudaStream_t s, const float* const* in, float* o) {
                       return m3oe_cuda::mul(s, n, in[0], in[1], o);
                     });
}

int relu_forward(m3oe_cuda_context* ctx, std::int64_t n, const float* x, float* out) {
  return elementwise(ctx, "relu_forward", n, {x}, out, false,
                     [&](cudaStream_t s, const float* const* in, float* o) {
                       return m3oe_cuda::relu_forward(s, n, in[0], o);
                     });
}

int relu_backward(m3oe_cuda_context* ctx, std::int64_t n, const float* y, const float* dy,
                  float* dx) {
  return elementwise(ctx, "relu_backward", n, {y, dy}, dx, true,
                     [&](cudaStream_t s, const float* const* in, float* o) {
                       return m3oe_cuda::relu_backward(s, n, in[0], in[1], o);
                     });
}

int embedding_gather(m3oe_cuda_context* ctx, const float* table, std::int64_t vocab,
                     std::int64_t dim, const std::int32_t* ids, std::int64_t count, float* out) {
  return guarded(ctx, "embedding_gather", [&](m3oe_cuda_context& cx) {
    check_rows_cols(vocab, dim);
    if (count < 0) throw std::runtime_error("count < 0");
    if (count == 0 || dim == 0) return;
    require(table, "table");
    require(ids, "ids");
    require(out, "out");
    check_ids(ids, count, vocab);
    Floats d_table(cx.pool, count_of(vocab, dim)), d_out(cx.pool, count_of(count, dim));
    Ints d_ids(cx.pool, std::size_t(count));
    upload(cx, d_table.get(), table, count_of(vocab, dim) * sizeof(float));
    upload(cx, d_ids.get(), ids, count * sizeof(std::int32_t));
    check(m3oe_cuda::embedding_gather(cx.stream, d_table.get(), int(dim), d_ids.get(), count,
                                      d_out.get()),
          "gather kernel");
    download(cx, out, d_out.get(), count_of(count, dim) * sizeof(float));
  });
}

// Deterministic scatter-add without atomics: the host sorts the positions by
// id (stably, so each row keeps the order i = 0, 1, ...), and one GPU thread
// per (touched row, column) adds that row's contributions in that order, as
// the sequential CPU loop does. Only the touched rows travel to the GPU.
int embedding_scatter_add(m3oe_cuda_context* ctx, const float* dout, const std::int32_t* ids,
                          std::int64_t count, std::int64_t dim, float* table_grad,
                          std::int64_t vocab) {
  return guarded(ctx, "embedding_scatter_add", [&](m3oe_cuda_context& cx) {
    check_rows_cols(vocab, dim);
    if (count < 0 || count > INT_MAX)
      throw std::runtime_error("count = " + std::to_string(count) + " is outside [0, INT_MAX]");
    if (count == 0 || dim == 0) return;
    require(dout, "dout");
    require(ids, "ids");
    require(table_grad, "table_grad");
    check_ids(ids, count, vocab);
    std::vector<std::int32_t> order(static_cast<std::size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [ids](std::int32_t p, std::int32_t q) { return ids[p] < ids[q]; });
    std::vector<std::int32_t> rows, offsets;  // touched rows, and where each starts in `order`
    for (std::int32_t p = 0; p < std::int32_t(count); ++p)
      if (p == 0 || ids[order[p]] != ids[order[p - 1]]) {
        rows.push_back(ids[order[p]]);
        offsets.push_back(p);
      }
    offsets.push_back(std::int32_t(count));
    const std::int64_t unique = std::int64_t(rows.size());
    std::vector<float> touched(count_of(unique, dim));
    for (std::int64_t u = 0; u < unique; ++u)
      std::copy_n(table_grad + std::int64_t(rows[u]) * dim, dim, touched.data() + u * dim);
    Floats d_dout(cx.pool, count_of(count, dim)), d_rows(cx.pool, touched.size());
    Ints d_order(cx.pool, order.size()), d_offsets(cx.pool, offsets.size());
    upload(cx, d_dout.get(), dout, count_of(count, dim) * sizeof(float));
    upload(cx, d_rows.get(), touched.data(), touched.size() * sizeof(float));
    upload(cx, d_order.get(), order.data(), order.size() * sizeof(std::int32_t));
    upload(cx, d_offsets.get(), offsets.data(), offsets.size() * sizeof(std::int32_t));
    check(embedding_accumulate_rows(cx.stream, d_dout.get(), int(dim), d_order.get(),
                                    d_offsets.get(), unique, d_rows.get()),
          "scatter-add kernel");
    download(cx, touched.data(), d_rows.get(), touched.size() * sizeof(float));
    check(cudaStreamSynchronize(cx.stream), "cudaStreamSynchronize");
    for (std::int64_t u = 0; u < unique; ++u)
      std::copy_n(touched.data() + u * dim, dim, table_grad + std::int64_t(rows[u]) * dim);
  });
}

}  // namespace m3oe_cuda
