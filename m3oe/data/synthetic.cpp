// synthetic.cpp: see synthetic.hpp and docs/data.md ("Synthetic data").
#include "m3oe/data/synthetic.hpp"

#include "m3oe/data/rng.hpp"
#include "m3oe/data/split.hpp"

#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>

namespace m3oe::data {

namespace {

void check_options(const SyntheticOptions& o) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("synthetic data: " + what); };
  if (o.domains < 1) bad("domains must be >= 1, got " + std::to_string(o.domains));
  if (o.tasks < 1) bad("tasks must be >= 1, got " + std::to_string(o.tasks));
  if (o.rows < 1) bad("rows must be >= 1, got " + std::to_string(o.rows));
  if (o.dense < 0) bad("dense must be >= 0, got " + std::to_string(o.dense));
  if (o.sparse_vocab.empty() && o.dense == 0) bad("need at least one sparse or dense feature");
  for (const std::int32_t v : o.sparse_vocab)
    if (v < 1) bad("every sparse vocabulary must be >= 1, got " + std::to_string(v));
  if (!o.domain_weights.empty()) {
    if (o.domain_weights.size() != static_cast<std::size_t>(o.domains))
      bad("domain_weights needs one weight per domain (" + std::to_string(o.domains) + "), got " +
          std::to_string(o.domain_weights.size()));
    for (const double w : o.domain_weights)
      if (!(w > 0) || !std::isfinite(w)) bad("domain weights must be finite and > 0");
  }
  for (const double s : {o.shared_scale, o.domain_scale, o.task_scale, o.bias_scale, o.noise})
    if (!(s >= 0) || !std::isfinite(s)) bad("scales and noise must be finite and >= 0");
  check_split_fractions(o.train_fraction, o.valid_fraction);
}

// The weights of one signal: an effect per (sparse feature, id) and a
// weight per dense feature, all N(0,1).
struct SignalWeights {
  std::vector<std::vector<double>> id_effect;  // [feature][id]
  std::vector<double> dense_weight;            // [dense]
};

SignalWeights draw_weights(Rng& rng, const std::vector<std::int32_t>& vocab, int dense) {
  SignalWeights w;
  for (const std::int32_t v : vocab) {
    std::vector<double> e(static_cast<std::size_t>(v));
    for (double& x : e) x = rng.normal();
    w.id_effect.push_back(std::move(e));
  }
  w.dense_weight.resize(static_cast<std::size_t>(dense));
  for (double& x : w.dense_weight) x = rng.normal();
  return w;
}

// sum_f effect_f[id_f] + sum_j weight_j * z_j, scaled to standard deviation
// `scale`: each of the F terms has variance 1 (N(0,1) effects, z_j with unit
// variance), so dividing by sqrt(F) gives unit variance overall.
double signal(const SignalWeights& w, const std::int32_t* ids, const double* z, double scale) {
  double sum = 0.0;
  for (std::size_t f = 0; f < w.id_effect.size(); ++f) sum += w.id_effect[f][static_cast<std::size_t>(ids[f])];
  for (std::size_t j = 0; j < w.dense_weight.size(); ++j) sum += w.dense_weight[j] * z[j];
  const double terms = static_cast<double>(w.id_effect.size() + w.dense_weight.size());
  return scale * sum / std::sqrt(terms);
}

}  // namespace

Splits make_synthetic(const SyntheticOptions& o, SyntheticTruth* truth) {
  check_options(o);
  const std::size_t D = static_cast<std::size_t>(o.domains), T = static_cast<std::size_t>(o.tasks);
  const std::size_t n_ids = o.sparse_vocab.size(), nd = static_cast<std::size_t>(o.dense);
  const std::size_t ns = n_ids + (o.domain_feature ? 1 : 0);
  Rng rng(o.seed);

  // 1. The model: shared, per-domain and per-task weights, cell biases.
  const SignalWeights shared = draw_weights(rng, o.sparse_vocab, o.dense);
  std::vector<SignalWeights> per_domain, per_task;
  for (std::size_t d = 0; d < D; ++d) per_domain.push_back(draw_weights(rng, o.sparse_vocab, o.dense));
  for (std::size_t t = 0; t < T; ++t) per_task.push_back(draw_weights(rng, o.sparse_vocab, o.dense));
  std::vector<double> bias(D * T);
  for (double& b : bias) b = o.bias_scale * rng.normal();
  std::vector<double> domain_cdf(D);
  {
    std::vector<double> w = o.domain_weights.empty() ? std::vector<double>(D, 1.0) : o.domain_weights;
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    double run = 0.0;
    for (std::size_t d = 0; d < D; ++d) domain_cdf[d] = (run += w[d] / total);
  }

  // 2. The rows, i.i.d.
  Dataset all;
  for (std::size_t f = 0; f < n_ids; ++f) all.schema.sparse.push_back({"sparse" + std::to_string(f), o.sparse_vocab[f]});
  if (o.domain_feature) all.schema.sparse.push_back({"domain_indicator", o.domains});
  for (std::size_t j = 0; j < nd; ++j) all.schema.dense.push_back("dense" + std::to_string(j));
  for (std::size_t t = 0; t < T; ++t) all.schema.tasks.push_back("task" + std::to_string(t));
  for (std::size_t d = 0; d < D; ++d) all.schema.domains.push_back("domain" + std::to_string(d));
  all.schema.domain_column = "domain";
  const std::size_t n = static_cast<std::size_t>(o.rows);
  all.rows = o.rows;
  all.sparse.resize(n * ns);
  all.dense.resize(n * nd);
  all.domain.resize(n);
  all.labels.resize(n * T);
  SyntheticTruth tr;
  tr.bias.assign(bias.begin(), bias.end());
  tr.shared.resize(n);
  tr.domain_part.resize(n);
  tr.task_part.resize(n * T);
  tr.logit.resize(n * T);

  std::vector<double> z(nd);
  for (std::size_t r = 0; r < n; ++r) {
    const double u = rng.uniform();
    std::size_t d = 0;
    while (d + 1 < D && u >= domain_cdf[d]) ++d;
    std::int32_t* ids = &all.sparse[r * ns];
    for (std::size_t f = 0; f < n_ids; ++f)
      ids[f] = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(o.sparse_vocab[f])));
    if (o.domain_feature) ids[n_ids] = static_cast<std::int32_t>(d);
    for (std::size_t j = 0; j < nd; ++j) {
      const double x = rng.uniform();
      all.dense[r * nd + j] = static_cast<float>(x);
      z[j] = (x - 0.5) * std::sqrt(12.0);  // U(0,1) centred to unit variance
    }
    all.domain[r] = static_cast<std::int32_t>(d);
    const double s = signal(shared, ids, z.data(), o.shared_scale);
    const double g = signal(per_domain[d], ids, z.data(), o.domain_scale);
    tr.shared[r] = static_cast<float>(s);
    tr.domain_part[r] = static_cast<float>(g);
    for (std::size_t t = 0; t < T; ++t) {
      const double h = signal(per_task[t], ids, z.data(), o.task_scale);
      const double logit = bias[d * T + t] + s + g + h;
      const double noisy = logit + o.noise * rng.normal();
      const double p = 1.0 / (1.0 + std::exp(-noisy));
      all.labels[r * T + t] = rng.uniform() < p ? 1.0f : 0.0f;
      tr.task_part[r * T + t] = static_cast<float>(h);
      tr.logit[r * T + t] = static_cast<float>(logit);
    }
  }
  if (truth) *truth = std::move(tr);

  char cut[160];
  std::snprintf(cut, sizeof cut, "synthetic D=%d T=%d rows=%lld seed=%llu, %s", o.domains, o.tasks,
                static_cast<long long>(o.rows), static_cast<unsigned long long>(o.seed),
                fractions_label(o.train_fraction, o.valid_fraction).c_str());
  return split_rows(all, identity_order(o.rows), o.train_fraction, o.valid_fraction, cut);
}

}  // namespace m3oe::data
