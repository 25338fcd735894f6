// The per-cell gate statistics (m3oe/gates.hpp): each cell's means sum to 1
// over its experts, the rows are the domain's rows, the numbers do not depend
// on the batch size and equal a direct forward's, and `m3oe eval --gates`
// writes the API's numbers in the documented CSV layout.
#include <doctest/doctest.h>

#include "m3oe/cli/commands.hpp"
#include "m3oe/gates.hpp"
#include "m3oe/train/checkpoint.hpp"
#include "m3oe/train/results.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace m3oe;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> small_args(const std::string& out, const std::string& model) {
  return {"--synthetic", "--synthetic-rows", "3000", "--domain-dim", "32", "--hidden-dim", "16",
          "--expert-dim", "8", "--embedding-dim", "4", "--batch", "256", "--epochs", "2",
          "--model", model, "--out", out, "--quiet", "--threads", "1"};
}

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("m3oe-test-gates-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

struct Setup {
  train::TrainConfig cfg;
  data::Splits splits;
  std::unique_ptr<RecModel> model;
};

Setup make_setup(const std::string& model) {
  Setup s;
  s.cfg = cli::parse_train_args(small_args(temp_dir("unused"), model));
  s.splits = train::load_data(s.cfg);
  Rng rng(s.cfg.seeds.front());
  s.model = train::make_model(s.cfg, s.splits.train.schema, rng);
  s.model->eval();
  return s;
}

}  // namespace

TEST_CASE("M3oE's gate statistics: every cell, means summing to 1, the domain's rows") {
  const Setup s = make_setup("m3oe");
  const data::Dataset& ds = s.splits.valid;
  const int D = ds.schema.num_domains(), T = ds.schema.num_tasks();
  const auto stats = gate_stats(*s.model, ds, 500);
  REQUIRE(stats.size() == std::size_t(D * T));
  std::vector<std::int64_t> domain_rows(std::size_t(D), 0);
  for (std::int64_t i = 0; i < ds.rows; ++i) ++domain_rows[std::size_t(ds.domain[std::size_t(i)])];
  for (const GateCellStats& c : stats) {
    CHECK(c.module == "gate");
    CHECK(c.rows == domain_rows[std::size_t(c.domain)]);
    REQUIRE(c.experts.size() == std::size_t(s.cfg.shared_experts));
    CHECK(std::accumulate(c.mean.begin(), c.mean.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-5));
    for (std::size_t k = 0; k < c.mean.size(); ++k) {
      CHECK(c.mean[k] > 0.0);
      CHECK(c.mean[k] < 1.0);
      CHECK(c.std[k] >= 0.0);
    }
  }
  // Cells differ: the gates are not all the same function.
  CHECK(stats[0].mean != stats[1].mean);

  SUBCASE("the batch size does not change the numbers") {
    const auto whole = gate_stats(*s.model, ds, ds.rows);
    REQUIRE(whole.size() == stats.size());
    for (std::size_t c = 0; c < stats.size(); ++c)
      for (std::size_t k = 0; k < stats[c].mean.size(); ++k) {
        CHECK(whole[c].mean[k] == doctest::Approx(stats[c].mean[k]).epsilon(1e-5));
        CHECK(whole[c].std[k] == doctest::Approx(stats[c].std[k]).epsilon(1e-3));
      }
  }

  SUBCASE("they are the mean and std of one forward's gates") {
    std::vector<std::int64_t> ids(std::size_t(ds.rows));
    std::iota(ids.begin(), ids.end(), 0);
    NoGradGuard no_grad;
    const ModelOutput out = s.model->forward(data::make_batch(ds, ids));
    for (const GateCellStats& c : stats)
      for (std::size_t k = 0; k < c.mean.size(); ++k) {
        double sum = 0, sum_sq = 0;
        for (std::int64_t i : out.rows_by_domain[std::size_t(c.domain)]) {
          const double g = out.gates[std::size_t(c.task)](i, Index(k));
          sum += g;
          sum_sq += g * g;
        }
        const double m = sum / double(c.rows);
        CHECK(c.mean[k] == doctest::Approx(m).epsilon(1e-5));
        CHECK(c.std[k] == doctest::Approx(std::sqrt(std::max(sum_sq / double(c.rows) - m * m, 0.0))).epsilon(1e-3));
      }
  }
}

TEST_CASE("a model without gates gives no cells, and no CSV rows") {
  const Setup s = make_setup("shared-bottom-mdmt");
  const auto stats = gate_stats(*s.model, s.splits.valid);
  CHECK(stats.empty());
  CHECK(gate_stats_csv(stats, s.splits.valid.schema) == "module,domain,task,expert,mean,std,rows\n");
  CHECK_THROWS_AS(gate_stats(*s.model, s.splits.valid, 0), std::invalid_argument);
}

TEST_CASE("m3oe eval --gates writes the API's numbers, one row per (module, domain, task, expert)") {
  const std::string out = temp_dir("run");
  REQUIRE(cli::train(small_args(out, "m3oe")) == 0);
  const std::string csv = out + "/gates-valid.csv";
  REQUIRE(cli::eval({"--run", out, "--split", "valid", "--gates", csv}) == 0);

  // The API on the same model: the run's settings and best weights, as eval loads them.
  train::TrainConfig cfg;
  train::apply_settings(cfg, train::read_config_file(out + "/config.txt"), out + "/config.txt");
  train::resolve_defaults(cfg);
  const data::Splits splits = train::load_data(cfg);
  Rng rng(cfg.seeds.front());
  auto model = train::make_model(cfg, splits.train.schema, rng);
  model->load_state_dict(train::select_prefixed(train::load_checkpoint(out + "/checkpoint.bin").tensors, "best."));
  model->eval();
  CHECK(util::read_file(csv) == gate_stats_csv(gate_stats(*model, splits.valid, cfg.eval_batch), splits.train.schema));

  std::istringstream in(util::read_file(csv));
  std::string line;
  std::getline(in, line);
  CHECK(line == "module,domain,task,expert,mean,std,rows");
  std::map<std::tuple<std::string, std::string>, double> sum_by_cell;
  int n = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
    REQUIRE(f.size() == 7);
    CHECK(f[0] == "gate");
    CHECK(f[3].rfind("shared_", 0) == 0);
    sum_by_cell[{f[1], f[2]}] += std::stod(f[4]);
    ++n;
  }
  const data::Schema& schema = splits.valid.schema;
  CHECK(n == schema.num_domains() * schema.num_tasks() * cfg.shared_experts);
  CHECK(sum_by_cell.size() == std::size_t(schema.num_domains() * schema.num_tasks()));
  for (const auto& [cell, sum] : sum_by_cell) CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));
}
