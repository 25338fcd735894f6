#include "autograd/print.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <vector>

namespace m3oe {

namespace {

// Which entries are shown along one dimension of size n: all, or the
// first and last `edge` with a gap (-1) between.
std::vector<Index> shown_indices(Index n, bool summarise, Index edge) {
  std::vector<Index> idx;
  if (!summarise || n <= 2 * edge) {
    for (Index i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (Index i = 0; i < edge; ++i) idx.push_back(i);
  idx.push_back(-1);
  for (Index i = n - edge; i < n; ++i) idx.push_back(i);
  return idx;
}

enum class Style { whole, fixed, scientific };

std::string format_value(double v, Style style, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  switch (style) {
    case Style::whole: std::snprintf(buf, sizeof buf, "%.0f.", v); break;
    case Style::fixed: std::snprintf(buf, sizeof buf, "%.*f", precision, v); break;
    case Style::scientific: std::snprintf(buf, sizeof buf, "%.*e", precision, v); break;
  }
  return buf;
}

// The tensor's values and its shape: "tensor([[...]], shape=[M,N]" (no
// closing parenthesis: a Var adds its fields first).
std::string values_and_shape(const Tensor& t, const PrintOptions& o) {
  const bool summarise = t.size() > o.threshold;
  const std::vector<Index> rows = shown_indices(t.rows(), summarise, o.edge_items);
  const std::vector<Index> cols = shown_indices(t.cols(), summarise, o.edge_items);

  // The style follows the shown finite values, as in PyTorch.
  bool all_whole = true;
  double max_abs = 0, min_abs = 0;
  bool any = false;
  for (Index i : rows)
    for (Index j : cols) {
      if (i < 0 || j < 0) continue;
      const double v = t(i, j);
      if (!std::isfinite(v)) continue;
      all_whole = all_whole && v == std::nearbyint(v);
      const double a = std::abs(v);
      if (a == 0) continue;
      min_abs = any ? std::min(min_abs, a) : a;
      max_abs = any ? std::max(max_abs, a) : a;
      any = true;
    }
  Style style = Style::fixed;
  if (all_whole && max_abs < 1e8) style = Style::whole;
  else if (any && (max_abs / min_abs > 1000 || max_abs > 1e8 || min_abs < 1e-4))
    style = Style::scientific;

  std::vector<std::vector<std::string>> text;
  std::size_t width = 0;
  for (Index i : rows) {
    text.emplace_back();
    if (i < 0) continue;
    for (Index j : cols) {
      text.back().push_back(j < 0 ? "..." : format_value(t(i, j), style, o.precision));
      if (j >= 0) width = std::max(width, text.back().back().size());
    }
  }

  std::string s = "tensor([";
  const std::string indent(8, ' ');  // under the first '[' of the rows
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r > 0) s += ",\n" + indent;
    if (rows[r] < 0) {
      s += "...";
      continue;
    }
    s += '[';
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (c > 0) s += ", ";
      const std::string& v = text[r][c];
      if (v != "...") s += std::string(width - v.size(), ' ');
      s += v;
    }
    s += ']';
  }
  s += "], shape=" + shape_str(t);
  return s;
}

}  // namespace

std::string to_string(const Tensor& t, const PrintOptions& options) {
  return values_and_shape(t, options) + ")";
}

std::string to_string(const Var& v, const PrintOptions& options) {
  if (!v.defined()) return "Var(undefined)";
  std::string s = values_and_shape(v.value(), options);
  const Node& n = *v.node();
  if (n.backward_fn || n.released) s += std::string(", grad_fn=") + n.op;
  else if (n.requires_grad) s += ", requires_grad=True";
  if (!n.name.empty()) s += ", name='" + n.name + "'";
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Var& v) { return os << to_string(v); }

}  // namespace m3oe
