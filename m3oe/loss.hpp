// loss.hpp: the M3oE training loss (paper Eq. 12).
//
//   L = sum over domains d and tasks t of the mean BCE over the batch rows of
//       domain d, on task t's label.
// A domain with no rows in the batch contributes nothing. Since every cell of
// one domain averages over the same n_d rows, sum_t mean_rows = T * (mean
// over the n_d x T block), which is how it is computed.
#pragma once

#include "autograd/node.hpp"
#include "m3oe/data/dataset.hpp"

namespace m3oe {

// On probabilities p[B,T] (torch.nn.BCELoss: logs clamped at -100), as the
// authors' code computes it.
Var m3oe_loss(const Var& probs, const data::Batch& batch, int num_domains, int num_tasks);
// The same loss on logits z[B,T] (the numerically stable form).
Var m3oe_loss_with_logits(const Var& logits, const data::Batch& batch, int num_domains,
                          int num_tasks);

}  // namespace m3oe
