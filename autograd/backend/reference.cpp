// The reference kernels: the plainest correct code, used as the base of every
// backend and as the ground truth that faster kernels are tested against.
#include "autograd/backend/backend.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace m3oe::backend {

namespace {
using Stride = Eigen::OuterStride<>;
using MapC = Eigen::Map<const Tensor, 0, Stride>;
using Map = Eigen::Map<Tensor, 0, Stride>;
}  // namespace

void Backend::gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, real alpha,
                   const real* a, Index lda, const real* b, Index ldb, real beta, real* c,
                   Index ldc) {
  Map C(c, m, n, Stride(ldc));
  if (beta == real(0))
    C.setZero();
  else if (beta != real(1))
    C *= beta;
  if (m == 0 || n == 0 || k == 0) return;
  MapC A(a, trans_a ? k : m, trans_a ? m : k, Stride(lda));
  MapC B(b, trans_b ? n : k, trans_b ? k : n, Stride(ldb));
  if (!trans_a && !trans_b) C.noalias() += alpha * A * B;
  if (!trans_a && trans_b) C.noalias() += alpha * A * B.transpose();
  if (trans_a && !trans_b) C.noalias() += alpha * A.transpose() * B;
  if (trans_a && trans_b) C.noalias() += alpha * A.transpose() * B.transpose();
}

void Backend::layernorm_forward(const real* x, const real* gamma, const real* beta, Index rows,
                                Index cols, real eps, real* out, real* mean, real* rstd) {
  for (Index r = 0; r < rows; ++r) {
    const real* xr = x + r * cols;
    double mu = 0;  // accumulate row statistics in double for a stable reference
    for (Index j = 0; j < cols; ++j) mu += xr[j];
    mu /= double(cols);
    double var = 0;
    for (Index j = 0; j < cols; ++j) var += (xr[j] - mu) * (xr[j] - mu);
    var /= double(cols);
    const double rs = 1.0 / std::sqrt(var + double(eps));
    for (Index j = 0; j < cols; ++j)
      out[r * cols + j] = real((xr[j] - mu) * rs) * gamma[j] + beta[j];
    mean[r] = real(mu);
    rstd[r] = real(rs);
  }
}

// With xhat = (x - mean) * rstd and g = dout * gamma:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   dgamma = sum_rows(dout * xhat), dbeta = sum_rows(dout)
void Backend::layernorm_backward(const real* dout, const real* x, const real* gamma,
                                 const real* mean, const real* rstd, Index rows, Index cols,
                                 real* dx, real* dgamma, real* dbeta) {
  for (Index r = 0; r < rows; ++r) {
    const real* xr = x + r * cols;
    const real* dr = dout + r * cols;
    double g_mean = 0, gx_mean = 0;
    for (Index j = 0; j < cols; ++j) {
      const double xhat = (xr[j] - mean[r]) * rstd[r];
      const double g = double(dr[j]) * gamma[j];
      g_mean += g;
      gx_mean += g * xhat;
      if (dgamma) dgamma[j] += real(dr[j] * xhat);
      if (dbeta) dbeta[j] += dr[j];
    }
    g_mean /= double(cols);
    gx_mean /= double(cols);
    if (!dx) continue;
    for (Index j = 0; j < cols; ++j) {
      const double xhat = (xr[j] - mean[r]) * rstd[r];
      const double g = double(dr[j]) * gamma[j];
      dx[r * cols + j] += real(rstd[r] * (g - g_mean - xhat * gx_mean));
    }
  }
}

void Backend::softmax_rows_forward(const real* x, Index rows, Index cols, real* out) {
  for (Index r = 0; r < rows; ++r) {
    const real* xr = x + r * cols;
    real* o = out + r * cols;
    const real mx = cols ? *std::max_element(xr, xr + cols) : real(0);
    real s = 0;
    for (Index j = 0; j < cols; ++j) s += (o[j] = std::exp(xr[j] - mx));
    for (Index j = 0; j < cols; ++j) o[j] /= s;
  }
}

void Backend::softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols,
                                    real* dx) {
  for (Index r = 0; r < rows; ++r) {
    const real* yr = y + r * cols;
    const real* dr = dy + r * cols;
    real dot = 0;
    for (Index j = 0; j < cols; ++j) dot += dr[j] * yr[j];
    for (Index j = 0; j < cols; ++j) dx[r * cols + j] += yr[j] * (dr[j] - dot);
  }
}

void Backend::bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                          const real* beta, Index rows, Index cols, real eps,
                                          real* z, real* xhat, real* rstd) {
  Backend::grouped_bias_layernorm_relu_forward(t, bias, gamma, beta, rows, 1, cols, eps, z, xhat,
                                               rstd);
}

void Backend::bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                           const real* rstd, const real* gamma, Index rows,
                                           Index cols, real* dt, real* dbias, real* dgamma,
                                           real* dbeta) {
  Backend::grouped_bias_layernorm_relu_backward(dz, z, xhat, rstd, gamma, rows, 1, cols, dt,
                                                dbias, dgamma, dbeta);
}

// Group g of row r: the `width` values at o = r*cols + g*width, with the
// parameters at c = g*width and its statistics at rstd[r*groups + g].
void Backend::grouped_bias_layernorm_relu_forward(const real* t, const real* bias,
                                                  const real* gamma, const real* beta, Index rows,
                                                  Index groups, Index width, real eps, real* z,
                                                  real* xhat, real* rstd) {
  const Index cols = groups * width;
  for (Index r = 0; r < rows; ++r)
    for (Index g = 0; g < groups; ++g) {
      const Index o = r * cols + g * width, c = g * width;
      auto u = [&](Index j) { return double(t[o + j]) + (bias ? double(bias[c + j]) : 0.0); };
      double mu = 0;  // statistics in double, as in layernorm_forward
      for (Index j = 0; j < width; ++j) mu += u(j);
      mu /= double(width);
      double var = 0;
      for (Index j = 0; j < width; ++j) var += (u(j) - mu) * (u(j) - mu);
      var /= double(width);
      const double rs = 1.0 / std::sqrt(var + double(eps));
      for (Index j = 0; j < width; ++j) {
        const real xh = real((u(j) - mu) * rs);  // u(j) is read before xhat (maybe t) is written
        xhat[o + j] = xh;
        z[o + j] = std::max(real(0), gamma[c + j] * xh + beta[c + j]);
      }
      rstd[r * groups + g] = real(rs);
    }
}

// The LayerNorm backward of layernorm_backward, written with the saved xhat,
// after the ReLU gate; the bias gradient is the column sum of dt.
void Backend::grouped_bias_layernorm_relu_backward(const real* dz, const real* z,
                                                   const real* xhat, const real* rstd,
                                                   const real* gamma, Index rows, Index groups,
                                                   Index width, real* dt, real* dbias,
                                                   real* dgamma, real* dbeta) {
  const Index cols = groups * width;
  for (Index r = 0; r < rows; ++r)
    for (Index g = 0; g < groups; ++g) {
      const Index o = r * cols + g * width, c = g * width;
      auto dy = [&](Index j) { return z[o + j] > real(0) ? double(dz[o + j]) : 0.0; };
      double g_mean = 0, gx_mean = 0;
      for (Index j = 0; j < width; ++j) {
        g_mean += dy(j) * gamma[c + j];
        gx_mean += dy(j) * gamma[c + j] * xhat[o + j];
        if (dgamma) dgamma[c + j] += real(dy(j) * xhat[o + j]);
        if (dbeta) dbeta[c + j] += real(dy(j));
      }
      g_mean /= double(width);
      gx_mean /= double(width);
      const double rs = rstd[r * groups + g];
      for (Index j = 0; j < width; ++j) {
        const real d = real(rs * (dy(j) * gamma[c + j] - g_mean - xhat[o + j] * gx_mean));
        if (dt) dt[o + j] = d;
        if (dbias) dbias[c + j] += d;
      }
    }
}

namespace {
Backend g_reference;
Backend* g_active = nullptr;
}  // namespace

Backend& reference() { return g_reference; }
Backend& active() { return g_active ? *g_active : default_cpu(); }
void set_active(Backend* b) { g_active = b; }

}  // namespace m3oe::backend
