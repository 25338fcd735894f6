// gates.hpp: how each (domain, task) cell mixes its experts, read off the
// model's softmax gates over a data set.
//
// M3oE routes each row of domain d, for each task t, through the gate of
// cell (d, t): g = softmax(Linear(stopgrad(h))) over its N shared experts
// (m3oe/model.hpp). gate_stats runs the model over a data set and reports,
// per cell and per expert, the mean and the standard deviation of g[k] over
// the cell's rows (the rows of domain d; every task of a row is a cell).
// Since each row's gate sums to 1, each cell's means do too.
//
// The gates come from ModelOutput::gates, which a model fills when it has
// per-cell gates over shared experts: M3oE does (module "gate", experts
// "shared_0".."shared_{N-1}"); models without such gates give no cells.
//
// gate_stats_csv writes one row per (module, domain, task, expert):
//
//   module,domain,task,expert,mean,std,rows
//   gate,0,click,shared_0,0.312,0.041,12034
//
// domain is the domain's name (the schema's), task the task's name, mean and
// std (population, over `rows` rows) with 6 significant digits.
#pragma once

#include "m3oe/model_interface.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace m3oe {

// One gate of one cell over a data set.
struct GateCellStats {
  std::string module;                // the gated module ("gate" for M3oE's shared-expert gates)
  int domain = 0, task = 0;          // the cell (d, t)
  std::int64_t rows = 0;             // rows of domain d in the data set
  std::vector<std::string> experts;  // the experts the gate weights
  std::vector<double> mean, std;     // per expert: mean and population std of its weight
};

// The gates of `model` (in eval mode) over `ds`, computed `batch` rows at a
// time without a graph; cells in the order module, task, domain. Empty when
// the model has no gates. Cells of a domain with no rows are left out.
std::vector<GateCellStats> gate_stats(const RecModel& model, const data::Dataset& ds,
                                      std::int64_t batch = 4096);

// The CSV above; `schema` names the domains and tasks.
std::string gate_stats_csv(const std::vector<GateCellStats>& stats, const data::Schema& schema);

}  // namespace m3oe
