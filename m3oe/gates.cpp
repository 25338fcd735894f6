#include "m3oe/gates.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

namespace m3oe {

std::vector<GateCellStats> gate_stats(const RecModel& model, const data::Dataset& ds, std::int64_t batch) {
  if (batch <= 0) throw std::invalid_argument("gate_stats: batch must be positive");
  NoGradGuard no_grad;
  const int D = model.num_domains(), T = model.num_tasks();
  // Running sums per cell t * D + d and expert: sum of g, of g^2, and rows.
  std::vector<std::vector<double>> sum, sum_sq;
  std::vector<std::int64_t> rows(static_cast<std::size_t>(D * T), 0);
  Index experts = -1;  // -1: no batch seen yet, 0: the model has no gates

  const auto pre = model.precompute();  // the parameter-only values, once
  std::vector<std::int64_t> ids;
  data::Batch b;
  for (std::int64_t start = 0; start < ds.rows; start += batch) {
    const std::int64_t n = std::min(batch, ds.rows - start);
    ids.resize(static_cast<std::size_t>(n));
    std::iota(ids.begin(), ids.end(), start);
    data::make_batch(ds, ids, b);
    const ModelOutput out = model.forward_with(b, pre.get());
    if (out.gates.empty()) return {};
    if (static_cast<int>(out.gates.size()) != T)
      throw std::logic_error("gate_stats: the model gave " + std::to_string(out.gates.size()) +
                             " gate blocks for " + std::to_string(T) + " tasks");
    if (experts < 0) {
      experts = out.gates[0].cols();
      sum.assign(rows.size(), std::vector<double>(static_cast<std::size_t>(experts), 0.0));
      sum_sq = sum;
    }
    for (int t = 0; t < T; ++t) {
      const Tensor& g = out.gates[static_cast<std::size_t>(t)];  // [n, N]
      for (Index i = 0; i < g.rows(); ++i) {
        const std::size_t cell = static_cast<std::size_t>(t * D + b.domain[static_cast<std::size_t>(i)]);
        ++rows[cell];
        for (Index k = 0; k < experts; ++k) {
          const double v = double(g(i, k));
          sum[cell][static_cast<std::size_t>(k)] += v;
          sum_sq[cell][static_cast<std::size_t>(k)] += v * v;
        }
      }
    }
  }
  std::vector<GateCellStats> stats;
  if (experts <= 0) return stats;
  for (int t = 0; t < T; ++t)
    for (int d = 0; d < D; ++d) {
      const std::size_t cell = static_cast<std::size_t>(t * D + d);
      if (rows[cell] == 0) continue;
      GateCellStats s;
      s.module = "gate";
      s.domain = d;
      s.task = t;
      s.rows = rows[cell];
      for (Index k = 0; k < experts; ++k) {
        const double m = sum[cell][static_cast<std::size_t>(k)] / double(rows[cell]);
        const double var = sum_sq[cell][static_cast<std::size_t>(k)] / double(rows[cell]) - m * m;
        s.experts.push_back("shared_" + std::to_string(k));
        s.mean.push_back(m);
        s.std.push_back(std::sqrt(std::max(var, 0.0)));  // rounding can make var slightly negative
      }
      stats.push_back(std::move(s));
    }
  return stats;
}

namespace {
// A CSV field: quoted (quotes doubled) when it holds a comma, quote or newline.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

std::string gate_stats_csv(const std::vector<GateCellStats>& stats, const data::Schema& schema) {
  std::string out = "module,domain,task,expert,mean,std,rows\n";
  char buf[64];
  for (const GateCellStats& s : stats)
    for (std::size_t k = 0; k < s.experts.size(); ++k) {
      out += csv_field(s.module) + "," + csv_field(schema.domains.at(static_cast<std::size_t>(s.domain))) +
             "," + csv_field(schema.tasks.at(static_cast<std::size_t>(s.task))) + "," + csv_field(s.experts[k]);
      std::snprintf(buf, sizeof buf, ",%.6g,%.6g,%lld\n", s.mean[k], s.std[k], static_cast<long long>(s.rows));
      out += buf;
    }
  return out;
}

}  // namespace m3oe
