#include "m3oe/loss.hpp"

#include "autograd/ops.hpp"
#include "layers/star.hpp"

#include <stdexcept>

namespace m3oe {

namespace {
Var cell_loss_sum(const Var& pred, const data::Batch& batch, int num_domains, int num_tasks,
                  bool logits, const char* name) {
  const Index b = batch.rows, t = num_tasks;
  if (pred.rows() != b || pred.cols() != t)
    throw std::invalid_argument(std::string(name) + ": predictions are " + shape_str(pred.value()) +
                                ", expected [" + std::to_string(b) + "," + std::to_string(t) + "]");
  if (batch.labels.rows() != b || batch.labels.cols() != t)
    throw std::invalid_argument(std::string(name) + ": labels are " + shape_str(batch.labels) +
                                ", expected [" + std::to_string(b) + "," + std::to_string(t) + "]");
  const auto rows_by_domain = nn::group_rows_by_domain(batch.domain, num_domains);
  Var total;
  for (const IndexList& rows : rows_by_domain) {
    if (rows.empty()) continue;
    Tensor y(static_cast<Index>(rows.size()), t);
    for (std::size_t r = 0; r < rows.size(); ++r) y.row(Index(r)) = batch.labels.row(rows[r]);
    const Var p = static_cast<Index>(rows.size()) == b ? pred : gather_rows(pred, rows);
    const Var block = logits ? bce_with_logits(p, y) : bce(p, y);  // mean over n_d x T
    const Var cells = mul_scalar(block, static_cast<real>(t));      // = sum_t mean over rows
    total = total.defined() ? add(total, cells) : cells;
  }
  if (!total.defined()) throw std::invalid_argument(std::string(name) + ": the batch is empty");
  return total;
}
}  // namespace

Var m3oe_loss(const Var& probs, const data::Batch& batch, int num_domains, int num_tasks) {
  return cell_loss_sum(probs, batch, num_domains, num_tasks, false, "m3oe_loss");
}

Var m3oe_loss_with_logits(const Var& logits, const data::Batch& batch, int num_domains,
                          int num_tasks) {
  return cell_loss_sum(logits, batch, num_domains, num_tasks, true, "m3oe_loss_with_logits");
}

}  // namespace m3oe
