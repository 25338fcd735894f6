// The trainer end to end on small synthetic data: learning beyond chance,
// the run directory files, the AutoML modes, early stopping, --resume ending
// exactly where an uninterrupted run ends, eval/predict, and bad input.
#include <doctest/doctest.h>

#include "m3oe/cli/commands.hpp"
#include "m3oe/data/synthetic.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/train/checkpoint.hpp"
#include "m3oe/train/results.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

using namespace m3oe;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("m3oe-test-train-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// A small, quick configuration: 4,000 synthetic rows, narrow layers.
std::vector<std::string> small_args(const std::string& out, int epochs) {
  return {"--synthetic", "--synthetic-rows", "4000", "--domain-dim", "32", "--hidden-dim", "16",
          "--expert-dim", "8", "--embedding-dim", "4", "--batch", "256", "--epochs",
          std::to_string(epochs), "--out", out, "--quiet", "--threads", "1"};
}

std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::string read(const std::string& p) { return util::read_file(p); }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

train::RunResult run(const std::vector<std::string>& args) {
  const train::TrainConfig cfg = cli::parse_train_args(args);
  const data::Splits splits = train::load_data(cfg);
  util::make_dirs(cfg.out);
  return train::train_run(cfg, splits, cfg.seeds.front(), cfg.out);
}

}  // namespace

TEST_CASE("training on synthetic data learns every cell beyond chance and writes the run files") {
  const std::string out = temp_dir("basic");
  const train::RunResult r = run(small_args(out, 3));
  REQUIRE(r.history.size() == 3);
  REQUIRE(r.test.mean_auc.has_value());
  MESSAGE("test mean AUC after 3 epochs: " << *r.test.mean_auc);
  CHECK(*r.test.mean_auc > 0.6);
  for (const auto& c : r.test.cells) {
    REQUIRE(c.auc.has_value());
    CHECK(*c.auc > 0.55);
  }
  CHECK(r.history[2].train_loss < r.history[0].train_loss);
  // metrics.csv: header + one row per epoch; fusion_weights.csv likewise.
  CHECK(count_lines(read(out + "/metrics.csv")) == 4);
  CHECK(count_lines(read(out + "/fusion_weights.csv")) == 4);
  const std::string json = read(out + "/results.json");
  CHECK(json.find("\"test\"") != std::string::npos);
  CHECK(json.find("\"best_epoch\"") != std::string::npos);
  CHECK(util::file_exists(out + "/checkpoint.bin"));
  // No temp files left behind by the atomic writes.
  for (const auto& e : fs::directory_iterator(out))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("--resume continues a run and ends exactly where the uninterrupted run ends") {
  const std::string full = temp_dir("resume-full"), part = temp_dir("resume-part");
  const train::RunResult a = run(small_args(full, 4));
  run(small_args(part, 2));  // "interrupted" after two epochs
  const train::RunResult b = run(with(small_args(part, 4), {"--resume"}));
  REQUIRE(b.history.size() == 4);
  CHECK(b.best_epoch == a.best_epoch);
  REQUIRE(a.test.mean_auc.has_value());
  REQUIRE(b.test.mean_auc.has_value());
  CHECK(*b.test.mean_auc == *a.test.mean_auc);  // bitwise
  const train::Checkpoint ca = train::load_checkpoint(full + "/checkpoint.bin");
  const train::Checkpoint cb = train::load_checkpoint(part + "/checkpoint.bin");
  REQUIRE(ca.tensors.size() == cb.tensors.size());
  for (std::size_t i = 0; i < ca.tensors.size(); ++i) {
    CHECK(ca.tensors[i].first == cb.tensors[i].first);
    CHECK((ca.tensors[i].second.array() == cb.tensors[i].second.array()).all());
  }
  CHECK(read(full + "/metrics.csv").substr(0, 100) == read(part + "/metrics.csv").substr(0, 100));
}

TEST_CASE("training gives the same bits on 1 and 2 threads") {
  // The default layer widths and 512-row batches: large enough that the row
  // loops, the bias sums and the products all run on both threads (the
  // small configuration above stays under every parallel threshold).
  auto args = [](const std::string& out, const std::string& threads) {
    return std::vector<std::string>{"--synthetic", "--synthetic-rows", "3000", "--batch", "512",
                                    "--epochs", "1", "--out", out, "--quiet", "--threads",
                                    threads};
  };
  const std::string one = temp_dir("threads-1"), two = temp_dir("threads-2");
  const train::RunResult a = run(args(one, "1"));
  const train::RunResult b = run(args(two, "2"));
  REQUIRE(a.history.size() == 1);
  REQUIRE(b.history.size() == 1);
  CHECK(a.history[0].train_loss == b.history[0].train_loss);  // bitwise
  const train::Checkpoint ca = train::load_checkpoint(one + "/checkpoint.bin");
  const train::Checkpoint cb = train::load_checkpoint(two + "/checkpoint.bin");
  REQUIRE(ca.tensors.size() == cb.tensors.size());
  for (std::size_t i = 0; i < ca.tensors.size(); ++i) {
    INFO(ca.tensors[i].first);
    CHECK((ca.tensors[i].second.array() == cb.tensors[i].second.array()).all());
  }
}

TEST_CASE("AutoML modes: fixed keeps the fusion weights, the others learn them") {
  SUBCASE("fixed at 0.5 (the paper's w/o AutoML)") {
    const train::RunResult r = run(with(small_args(temp_dir("fixed"), 2), {"--automl", "fixed"}));
    for (const auto& e : r.history) {
      CHECK(e.fusion.alpha_d == doctest::Approx(0.5));
      CHECK(e.fusion.beta_t == doctest::Approx(0.5));
    }
  }
  for (const char* mode : {"official", "bilevel1", "bilevel2"}) {
    SUBCASE(mode) {
      const train::RunResult r =
          run(with(small_args(temp_dir(mode), 2), {"--automl", mode, "--bilevel-every", "4"}));
      const double start = 0.7310585786;  // sigmoid(1)
      const auto& w = r.history.back().fusion;
      MESSAGE(mode << ": alpha_d " << w.alpha_d << " alpha_t " << w.alpha_t << " beta_d " << w.beta_d
                   << " beta_t " << w.beta_t);
      CHECK(std::abs(double(w.alpha_d) - start) > 1e-4);
      CHECK(std::abs(double(w.beta_t) - start) > 1e-4);
      REQUIRE(r.test.mean_auc.has_value());
      CHECK(*r.test.mean_auc > 0.55);
    }
  }
}

TEST_CASE("early stopping stops after `patience` epochs without improvement") {
  // lr 0 and fixed fusion weights: the model never changes, so the validation
  // AUC never improves on epoch 1 and patience 2 stops after epoch 3.
  const train::RunResult r = run(with(small_args(temp_dir("early"), 10),
                                      {"--lr", "0", "--automl", "fixed", "--patience", "2"}));
  CHECK(r.stopped_early);
  CHECK(r.history.size() == 3);
  CHECK(r.best_epoch == 0);
}

TEST_CASE("a learning-rate schedule steps the learning rate like StepLR") {
  const train::RunResult r =
      run(with(small_args(temp_dir("steplr"), 3), {"--lr-schedule", "step:1:0.5", "--lr", "0.01"}));
  CHECK(r.history[0].lr == doctest::Approx(0.01));
  CHECK(r.history[1].lr == doctest::Approx(0.005));
  CHECK(r.history[2].lr == doctest::Approx(0.0025));
}

TEST_CASE("one domain and one task train too") {
  const train::RunResult r = run(with(small_args(temp_dir("d1t1"), 2),
                                      {"--synthetic-domains", "1", "--synthetic-tasks", "1"}));
  REQUIRE(r.test.cells.size() == 1);
  REQUIRE(r.test.mean_auc.has_value());
  CHECK(*r.test.mean_auc > 0.55);
}

TEST_CASE("m3oe train / eval / predict through the command functions") {
  const std::string out = temp_dir("cli");
  CHECK(cli::train(with(small_args(out, 1), {"--seeds", "7,8"})) == 0);
  CHECK(util::file_exists(out + "/seed-7/results.json"));
  CHECK(util::file_exists(out + "/seed-8/results.json"));
  const std::string summary = read(out + "/summary.md");
  CHECK(summary.find("mean AUC") != std::string::npos);
  CHECK(summary.find("2 seeds") != std::string::npos);
  CHECK(cli::eval({"--run", out + "/seed-7", "--split", "valid"}) == 0);
  const std::string pred = out + "/pred.csv";
  CHECK(cli::predict({"--run", out + "/seed-7", "--split", "test", "--output", pred}) == 0);
  // 4,000 rows, 10% test: a header and 400 lines of two probabilities.
  const std::string p = read(pred);
  CHECK(count_lines(p) == 401);
  CHECK(p.substr(0, p.find('\n')) == "task0,task1");
}

TEST_CASE("--device cuda trains on the GPU when there is one, else falls back to the CPU") {
  // Without a GPU (or without the plugin) select_device says why and the run
  // goes on with the CPU backend; with a GPU it runs on the CUDA plugin.
  const std::string out = temp_dir("device");
  CHECK(cli::train(with(small_args(out, 1), {"--device", "cuda"})) == 0);
  CHECK(util::file_exists(out + "/results.json"));
}

TEST_CASE("bad settings and files give clear errors") {
  const std::string dir = temp_dir("bad");
  CHECK_THROWS_WITH_AS(cli::parse_train_args({"--epochs", "ten"}), doctest::Contains("'epochs' expects a number"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(cli::parse_train_args({"--no-such-key", "1"}),
                       doctest::Contains("unknown flag --no-such-key"), std::invalid_argument);
  {
    std::ofstream(dir + "/bad.cfg") << "epochs = 3\nthis line has no equals sign\n";
  }
  CHECK_THROWS_WITH_AS(cli::parse_train_args({"--config", dir + "/bad.cfg"}), doctest::Contains("bad.cfg:2"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(cli::parse_train_args({"--automl", "magic"}), doctest::Contains("automl must be"),
                       std::invalid_argument);
  // A missing MovieLens folder names the file.
  const train::TrainConfig cfg = cli::parse_train_args({"--movielens", dir + "/nowhere"});
  CHECK_THROWS_WITH(train::load_data(cfg), doctest::Contains("nowhere"));
  // A truncated checkpoint.
  util::write_file_atomic(dir + "/checkpoint.bin", "M3OETNSR");
  CHECK_THROWS_WITH(train::load_checkpoint(dir + "/checkpoint.bin"), doctest::Contains("truncated"));
}

TEST_CASE("bilevel_structure_grad: first order is dL_val/da, second order differs and keeps the weights") {
  data::SyntheticOptions o;
  o.rows = 2000;
  const data::Splits s = data::make_synthetic(o);
  M3oEConfig c = M3oEConfig::from_schema(s.train.schema);
  c.embedding_dim = 4;
  c.fcn_dims = {16, 8, 8, 4};
  Rng rng(3);
  M3oE model(c, rng);
  std::vector<std::int64_t> ids(128);  // the validation split has 200 rows
  std::iota(ids.begin(), ids.end(), 0);
  const data::Batch tb = data::make_batch(s.train, ids), vb = data::make_batch(s.valid, ids);
  const std::vector<Var> A = model.structure_parameters();
  REQUIRE(A.size() == 4);
  auto structure_grads = [&] {
    std::vector<Tensor> g;
    for (const Var& a : A) g.push_back(a.grad());
    return g;
  };

  model.zero_grad();
  m3oe_loss(model.forward(vb).probs, vb, model.num_domains(), model.num_tasks()).backward();
  const std::vector<Tensor> by_hand = structure_grads();

  train::bilevel_structure_grad(model, train::AutoMLMode::bilevel1, tb, vb, 0.01);
  const std::vector<Tensor> first = structure_grads();
  // xi = 0: no virtual step and no Hessian term, so second order = first order.
  train::bilevel_structure_grad(model, train::AutoMLMode::bilevel2, tb, vb, 0.0);
  const std::vector<Tensor> second_xi0 = structure_grads();
  const NamedTensors before = model.state_dict();
  train::bilevel_structure_grad(model, train::AutoMLMode::bilevel2, tb, vb, 0.05);
  const std::vector<Tensor> second = structure_grads();
  double differ = 0;
  for (std::size_t i = 0; i < A.size(); ++i) {
    CHECK(first[i](0, 0) == by_hand[i](0, 0));
    CHECK(second_xi0[i](0, 0) == doctest::Approx(first[i](0, 0)).epsilon(1e-6));
    differ = std::max(differ, std::abs(double(second[i](0, 0) - first[i](0, 0))));
  }
  CHECK(differ > 1e-7);
  const NamedTensors after = model.state_dict();
  for (std::size_t i = 0; i < before.size(); ++i) {
    INFO(before[i].first);
    CHECK((before[i].second.array() == after[i].second.array()).all());
  }
  CHECK_THROWS_AS(train::bilevel_structure_grad(model, train::AutoMLMode::official, tb, vb, 0.01),
                  std::invalid_argument);
}
