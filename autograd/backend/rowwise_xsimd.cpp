// Row kernels of the CPU backend; see rowwise_xsimd.hpp. Each row is walked
// in SIMD registers of W values, then a scalar tail of cols % W values.
#include "autograd/backend/rowwise_xsimd.hpp"

#include "autograd/backend/simd.hpp"
#include "autograd/backend/threads.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace m3oe::backend::rowwise {

namespace {

using V = simd::Vec<real>;
constexpr Index W = simd::lanes<real>;
using simd::fmadd;

// The largest lane of v (xsimd 8.1 has no horizontal max).
real hmax(const V& v) {
  alignas(64) real lane[W];
  v.store_aligned(lane);
  return *std::max_element(lane, lane + W);
}

// Scratch for per-piece column sums, reused across calls.
real* scratch(std::size_t n) {
  thread_local std::vector<real> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// out[j] += sum over pieces p (in order) of part[p * stride + j].
void reduce_pieces(const real* part, Index pieces, Index stride, Index cols, real* out) {
  for (Index j = 0; j < cols; ++j) {
    real s = 0;
    for (Index p = 0; p < pieces; ++p) s += part[p * stride + j];
    out[j] += s;
  }
}

// One row of y = gamma * (u - mean) * rstd + beta with u = x (+ bias),
// out = y (or ReLU(y)); optionally saves xhat. Returns {mean, rstd}.
template <bool kBias, bool kRelu>
std::pair<real, real> norm_row(const real* x, const real* bias, const real* gamma, const real* beta,
                               Index cols, real eps, real* out, real* xhat) {
  const Index vend = cols - cols % W;
  auto u_vec = [&](Index j) {
    V u = V::load_unaligned(x + j);
    if constexpr (kBias) u += V::load_unaligned(bias + j);
    return u;
  };
  auto u_one = [&](Index j) {
    if constexpr (kBias) return x[j] + bias[j];
    else return x[j];
  };

  V vsum(real(0));
  real sum = 0;
  for (Index j = 0; j < vend; j += W) vsum += u_vec(j);
  for (Index j = vend; j < cols; ++j) sum += u_one(j);
  const real mean = (xsimd::hadd(vsum) + sum) / real(cols);

  // Two passes (mean first, then squared deviations) keep the variance
  // accurate when |mean| >> std.
  const V vmean(mean);
  V vsq(real(0));
  real sq = 0;
  for (Index j = 0; j < vend; j += W) {
    const V d = u_vec(j) - vmean;
    vsq = fmadd(d, d, vsq);
  }
  for (Index j = vend; j < cols; ++j) sq += (u_one(j) - mean) * (u_one(j) - mean);
  const real rstd = real(1) / std::sqrt((xsimd::hadd(vsq) + sq) / real(cols) + eps);

  const V vrstd(rstd), zero(real(0));
  for (Index j = 0; j < vend; j += W) {
    const V xh = (u_vec(j) - vmean) * vrstd;
    if (xhat) xh.store_unaligned(xhat + j);
    V y = fmadd(V::load_unaligned(gamma + j), xh, V::load_unaligned(beta + j));
    if constexpr (kRelu) y = xsimd::max(y, zero);
    y.store_unaligned(out + j);
  }
  for (Index j = vend; j < cols; ++j) {
    const real xh = (u_one(j) - mean) * rstd;
    if (xhat) xhat[j] = xh;
    const real y = std::fma(gamma[j], xh, beta[j]);
    out[j] = kRelu ? std::max(y, real(0)) : y;
  }
  return {mean, rstd};
}

// Where the backward finds a row of xhat: saved (kSaved), or recomputed
// from x, mean and rstd.
template <bool kSaved>
struct XhatSource {
  const real* p;  // xhat (saved) or x
  real mean, rstd;
  V vec(Index j) const {
    const V v = V::load_unaligned(p + j);
    if constexpr (kSaved) return v;
    else return (v - V(mean)) * V(rstd);
  }
  real one(Index j) const {
    if constexpr (kSaved) return p[j];
    else return (p[j] - mean) * rstd;
  }
};

// One row of the LayerNorm backward, after an optional ReLU gate (kRelu: dy
// = dout where z > 0, else 0). With g = dy * gamma:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))   (+= if kAccDx, else =)
// and adds dy * xhat, dy, dx into the piece's column sums pg, pb, pbias
// (each may be nullptr, as may dx).
template <bool kRelu, bool kAccDx, bool kSaved>
void norm_row_backward(const real* dout, const real* z, XhatSource<kSaved> xs, const real* gamma,
                       Index cols, real* dx, real* pg, real* pb, real* pbias) {
  const Index vend = cols - cols % W;
  const V zero(real(0));
  auto dy_vec = [&](Index j) {
    const V d = V::load_unaligned(dout + j);
    if constexpr (kRelu) return xsimd::select(V::load_unaligned(z + j) > zero, d, zero);
    else return d;
  };
  auto dy_one = [&](Index j) {
    if constexpr (kRelu) return z[j] > real(0) ? dout[j] : real(0);
    else return dout[j];
  };

  V vg(real(0)), vgx(real(0));
  real sg = 0, sgx = 0;
  for (Index j = 0; j < vend; j += W) {
    const V dy = dy_vec(j), xh = xs.vec(j);
    const V g = dy * V::load_unaligned(gamma + j);
    vg += g;
    vgx = fmadd(g, xh, vgx);
    if (pg) fmadd(dy, xh, V::load_unaligned(pg + j)).store_unaligned(pg + j);
    if (pb) (V::load_unaligned(pb + j) + dy).store_unaligned(pb + j);
  }
  for (Index j = vend; j < cols; ++j) {
    const real dy = dy_one(j), xh = xs.one(j), g = dy * gamma[j];
    sg += g;
    sgx = std::fma(g, xh, sgx);
    if (pg) pg[j] = std::fma(dy, xh, pg[j]);
    if (pb) pb[j] += dy;
  }
  if (!dx && !pbias) return;

  const real g_mean = (xsimd::hadd(vg) + sg) / real(cols);
  const real gx_mean = (xsimd::hadd(vgx) + sgx) / real(cols);
  const V vgm(g_mean), vgxm(gx_mean), vrstd(xs.rstd);
  for (Index j = 0; j < vend; j += W) {
    const V g = dy_vec(j) * V::load_unaligned(gamma + j);
    const V d = vrstd * (g - fmadd(xs.vec(j), vgxm, vgm));
    if (dx) {
      if constexpr (kAccDx) (V::load_unaligned(dx + j) + d).store_unaligned(dx + j);
      else d.store_unaligned(dx + j);
    }
    if (pbias) (V::load_unaligned(pbias + j) + d).store_unaligned(pbias + j);
  }
  for (Index j = vend; j < cols; ++j) {
    const real g = dy_one(j) * gamma[j];
    const real d = xs.rstd * (g - std::fma(xs.one(j), gx_mean, g_mean));
    if (dx) dx[j] = kAccDx ? dx[j] + d : d;
    if (pbias) pbias[j] += d;
  }
}

// The shared driver of both LayerNorm backwards: rows in pieces, each piece
// with its own column sums, then the pieces' sums reduced in order. A row of
// cols = groups * width values holds `groups` independent LayerNorms of
// `width` values each (group g uses gamma[g*width ...]); row_xhat(r, g)
// tells where that group's xhat comes from.
template <bool kRelu, bool kAccDx, class RowXhat>
void norm_backward(const real* dout, const real* z, RowXhat row_xhat, const real* gamma,
                   Index rows, Index groups, Index width, real* dx, real* dbias, real* dgamma,
                   real* dbeta) {
  const Index cols = groups * width;
  if (rows <= 0 || cols <= 0) return;
  const Index pieces = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  const Index stride = 3 * cols;  // per piece: [dgamma | dbeta | dbias]
  const bool any_sum = dgamma || dbeta || dbias;
  real* part = any_sum ? scratch(std::size_t(pieces * stride)) : nullptr;
  run_row_pieces(rows, cols, kRowsPerChunk, [&](Index r0, Index r1, Index p) {
    real* pg = dgamma ? part + p * stride : nullptr;
    real* pb = dbeta ? part + p * stride + cols : nullptr;
    real* pbias = dbias ? part + p * stride + 2 * cols : nullptr;
    if (any_sum) std::fill(part + p * stride, part + (p + 1) * stride, real(0));
    auto at = [](real* base, Index o) { return base ? base + o : nullptr; };
    for (Index r = r0; r < r1; ++r)
      for (Index g = 0; g < groups; ++g) {
        const Index o = r * cols + g * width, c = g * width;  // the group in the row; its columns
        norm_row_backward<kRelu, kAccDx>(dout + o, kRelu ? z + o : nullptr, row_xhat(r, g),
                                         gamma + c, width, at(dx, o), at(pg, c), at(pb, c),
                                         at(pbias, c));
      }
  });
  if (dgamma) reduce_pieces(part, pieces, stride, cols, dgamma);
  if (dbeta) reduce_pieces(part + cols, pieces, stride, cols, dbeta);
  if (dbias) reduce_pieces(part + 2 * cols, pieces, stride, cols, dbias);
}

}  // namespace

void bias_layernorm_relu_forward(const real* t, const real* bias, const real* gamma,
                                 const real* beta, Index rows, Index groups, Index width, real eps,
                                 real* z, real* xhat, real* rstd) {
  const Index cols = groups * width;
  if (cols <= 0) return;
  run_row_pieces(rows, cols, kRowsPerChunk, [&](Index r0, Index r1, Index) {
    for (Index r = r0; r < r1; ++r)
      for (Index g = 0; g < groups; ++g) {
        const Index o = r * cols + g * width, c = g * width;
        rstd[r * groups + g] =
            bias ? norm_row<true, true>(t + o, bias + c, gamma + c, beta + c, width, eps, z + o,
                                        xhat + o).second
                 : norm_row<false, true>(t + o, nullptr, gamma + c, beta + c, width, eps, z + o,
                                         xhat + o).second;
      }
  });
}

void bias_layernorm_relu_backward(const real* dz, const real* z, const real* xhat,
                                  const real* rstd, const real* gamma, Index rows, Index groups,
                                  Index width, real* dt, real* dbias, real* dgamma, real* dbeta) {
  const Index cols = groups * width;
  auto row_xhat = [&](Index r, Index g) {
    return XhatSource<true>{xhat + r * cols + g * width, real(0), rstd[r * groups + g]};
  };
  norm_backward<true, false>(dz, z, row_xhat, gamma, rows, groups, width, dt, dbias, dgamma,
                             dbeta);
}

void layernorm_forward(const real* x, const real* gamma, const real* beta, Index rows, Index cols,
                       real eps, real* out, real* mean, real* rstd) {
  if (cols <= 0) return;
  run_row_pieces(rows, cols, kRowsPerChunk, [&](Index r0, Index r1, Index) {
    for (Index r = r0; r < r1; ++r) {
      const auto [mu, rs] = norm_row<false, false>(x + r * cols, nullptr, gamma, beta, cols, eps,
                                                   out + r * cols, nullptr);
      mean[r] = mu;
      rstd[r] = rs;
    }
  });
}

void layernorm_backward(const real* dout, const real* x, const real* gamma, const real* mean,
                        const real* rstd, Index rows, Index cols, real* dx, real* dgamma,
                        real* dbeta) {
  auto row_xhat = [&](Index r, Index) {
    return XhatSource<false>{x + r * cols, mean[r], rstd[r]};
  };
  norm_backward<false, true>(dout, nullptr, row_xhat, gamma, rows, 1, cols, dx, nullptr, dgamma,
                             dbeta);
}

void softmax_rows_forward(const real* x, Index rows, Index cols, real* out) {
  if (cols <= 0) return;
  const Index vend = cols - cols % W;
  run_row_pieces(rows, cols, kRowsPerChunk, [&](Index r0, Index r1, Index) {
    for (Index r = r0; r < r1; ++r) {
      const real* xr = x + r * cols;
      real* o = out + r * cols;
      real mx = xr[0];
      if (vend > 0) {
        V vmx = V::load_unaligned(xr);
        for (Index j = W; j < vend; j += W) vmx = xsimd::max(vmx, V::load_unaligned(xr + j));
        mx = hmax(vmx);
      }
      for (Index j = vend; j < cols; ++j) mx = std::max(mx, xr[j]);
      // exp(x - max) <= 1: no overflow; the sum is >= 1.
      V vs(real(0));
      real s = 0;
      for (Index j = 0; j < vend; j += W) {
        const V e = xsimd::exp(V::load_unaligned(xr + j) - V(mx));
        e.store_unaligned(o + j);
        vs += e;
      }
      for (Index j = vend; j < cols; ++j) s += (o[j] = std::exp(xr[j] - mx));
      const real total = xsimd::hadd(vs) + s;
      for (Index j = 0; j < vend; j += W)
        (V::load_unaligned(o + j) / V(total)).store_unaligned(o + j);
      for (Index j = vend; j < cols; ++j) o[j] /= total;
    }
  });
}

void softmax_rows_backward(const real* y, const real* dy, Index rows, Index cols, real* dx) {
  if (cols <= 0) return;
  const Index vend = cols - cols % W;
  run_row_pieces(rows, cols, kRowsPerChunk, [&](Index r0, Index r1, Index) {
    for (Index r = r0; r < r1; ++r) {
      const real* yr = y + r * cols;
      const real* dr = dy + r * cols;
      real* d = dx + r * cols;
      V vdot(real(0));
      real dot = 0;
      for (Index j = 0; j < vend; j += W)
        vdot = fmadd(V::load_unaligned(dr + j), V::load_unaligned(yr + j), vdot);
      for (Index j = vend; j < cols; ++j) dot += dr[j] * yr[j];
      dot += xsimd::hadd(vdot);
      for (Index j = 0; j < vend; j += W) {
        const V yv = V::load_unaligned(yr + j);
        fmadd(yv, V::load_unaligned(dr + j) - V(dot), V::load_unaligned(d + j)).store_unaligned(d + j);
      }
      for (Index j = vend; j < cols; ++j) d[j] += yr[j] * (dr[j] - dot);
    }
  });
}

}  // namespace m3oe::backend::rowwise
