// `m3oe compare` on tiny synthetic data: the table, running in parts,
// skipping finished runs, continuing an interrupted one, --merge, errors.
#include "m3oe/cli/commands.hpp"
#include "m3oe/train/comparison.hpp"
#include "m3oe/util/files.hpp"
#include "m3oe/util/json_read.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace m3oe;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("m3oe-test-compare-" + name);
  fs::remove_all(p);
  return p.string();
}

std::vector<std::string> args(const std::string& out, const std::string& models, const std::string& seeds,
                              int epochs) {
  return {"--models", models, "--seeds", seeds, "--out", out, "--synthetic", "--synthetic-rows", "2000",
          "--domain-dim", "16", "--hidden-dim", "8", "--expert-dim", "4", "--embedding-dim", "4",
          "--batch", "256", "--epochs", std::to_string(epochs), "--threads", "1", "--quiet"};
}

fs::file_time_type mtime(const std::string& p) { return fs::last_write_time(p); }

// The table row of `model` ("| model | ... |").
std::string row_of(const std::string& md, const std::string& model) {
  const auto at = md.find("| " + model + " |");
  if (at == std::string::npos) return "";
  return md.substr(at, md.find('\n', at) - at);
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("m3oe compare: two models x two seeds, a table, skipping and resuming") {
  const std::string out = temp_dir("parts");
  REQUIRE(cli::compare(args(out, "mlp,m3oe-gated", "1,2", 1)) == 0);
  for (const char* m : {"mlp", "m3oe-gated"})
    for (int seed : {1, 2})
      CHECK(util::file_exists(train::comparison_run_dir(out, m, std::uint64_t(seed)) + "/results.json"));

  const std::string md = util::read_file(out + "/comparison.md");
  for (const char* m : {"mlp", "m3oe-gated"}) {
    const std::string row = row_of(md, m);
    REQUIRE(!row.empty());
    CHECK(count(row, " ± ") == 8);   // 6 cells, mean AUC, logloss
    CHECK(row.find("| 2 |") != std::string::npos);  // seeds
  }
  CHECK(md.find("| d1t1 | d1t2 | d2t1 | d2t2 | d3t1 | d3t2 | mean AUC | logloss | seeds |") != std::string::npos);
  CHECK(md.find("paper") == std::string::npos);  // synthetic data: no paper numbers
  const util::JsonValue j = util::parse_json(util::read_file(out + "/comparison.json"), "comparison.json");
  REQUIRE(j.at("models").as_array().size() == 2);
  const util::JsonValue& mlp = j.at("models").as_array()[0];
  CHECK(mlp.at("model").as_string() == "mlp");
  CHECK(mlp.at("seeds").as_array().size() == 2);
  const double auc = mlp.at("mean_auc").at("mean").as_number();
  CHECK(auc > 0.3);
  CHECK(auc < 1.0);
  CHECK(mlp.at("cell_auc").as_array().size() == 6);

  // The same command again trains nothing: every run is done.
  const std::string r11 = train::comparison_run_dir(out, "mlp", 1) + "/results.json";
  const std::string r22 = train::comparison_run_dir(out, "m3oe-gated", 2);
  const auto t11 = mtime(r11), t22 = mtime(r22 + "/checkpoint.bin");
  REQUIRE(cli::compare(args(out, "mlp,m3oe-gated", "1,2", 1)) == 0);
  CHECK(mtime(r11) == t11);
  CHECK(mtime(r22 + "/checkpoint.bin") == t22);

  // An interrupted run (checkpoint, no results.json) continues from its
  // checkpoint: asked for 2 epochs, it trains only the second one.
  fs::remove(r22 + "/results.json");
  REQUIRE(cli::compare(args(out, "m3oe-gated", "2", 2)) == 0);
  CHECK(mtime(r11) == t11);
  const std::string metrics = util::read_file(r22 + "/metrics.csv");
  CHECK(count(metrics, "\n") == 3);  // header + epochs 1 and 2
  CHECK(train::read_run_summary(r22 + "/results.json").epochs_run == 2);

  // A second part with another model, then --merge of everything found.
  REQUIRE(cli::compare(args(out, "star", "1", 1)) == 0);
  REQUIRE(cli::compare({"--merge", "--out", out}) == 0);
  const std::string merged = util::read_file(out + "/comparison.md");
  CHECK(!row_of(merged, "mlp").empty());
  CHECK(!row_of(merged, "star").empty());
  CHECK(!row_of(merged, "m3oe-gated").empty());
  CHECK(row_of(merged, "star").find("| 1 |") != std::string::npos);
  // The paper's order: mlp, star, then the M3oE ablation.
  CHECK(merged.find("| mlp |") < merged.find("| star |"));
  CHECK(merged.find("| star |") < merged.find("| m3oe-gated |"));
  for (const auto& e : fs::directory_iterator(out))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("the comparison table of MovieLens-1M runs shows the paper's numbers") {
  train::Comparison c;
  c.models = {"m3oe", "mmoe-mdl"};
  train::RunSummary r;
  r.model = "m3oe";
  r.data = "movielens";
  r.split = "ml-1m, authors' order 80/10/10";
  r.parameters = 788146;
  r.epochs_run = 4;
  r.train_seconds = 100;
  for (const char* d : {"age 1-18", "age 25", "age 35+"})
    for (const char* t : {"click", "like"}) {
      r.domains.push_back(d);
      r.tasks.push_back(t);
      r.cell_auc.push_back(0.75);
      r.cell_logloss.push_back(0.5);
    }
  r.mean_auc = 0.75;
  r.mean_logloss = 0.5;
  c.runs["m3oe"] = {r};
  const std::string md = train::format_comparison(c, "m3oe compare ...");
  CHECK(row_of(md, "m3oe").find("| 75.00 | 75.00 |") != std::string::npos);
  CHECK(row_of(md, "m3oe").find("| 1 | 788146 | 25.0 | 100 | 77.02 |") != std::string::npos);
  CHECK(row_of(md, "mmoe-mdl").find("| n/a |") != std::string::npos);
  CHECK(md.find("| m3oe | 76.61 | 78.13 | 77.51 | 79.33 | 74.47 | 76.09 | 77.02 | 50.71 |") != std::string::npos);
  CHECK(md.find("d1 = age 1-18") != std::string::npos);
}

TEST_CASE("m3oe compare: bad input gives clear errors") {
  const std::string out = temp_dir("errors");
  CHECK_THROWS_WITH(cli::compare(args(out, "mlp,mmo", "1", 1)), doctest::Contains("unknown model 'mmo'"));
  CHECK_THROWS_WITH(cli::compare({"--out", out}), doctest::Contains("needs --models"));
  CHECK_THROWS_WITH(cli::compare({"--models"}), doctest::Contains("--models needs a value"));
  CHECK_THROWS_WITH(cli::compare({"--model", "mlp", "--out", out}), doctest::Contains("not --model"));
  CHECK_FALSE(fs::exists(out + "/mlp"));  // nothing ran
  // A results.json that is not one.
  const std::string dir = train::comparison_run_dir(out, "mlp", 1);
  util::make_dirs(dir);
  util::write_file_atomic(dir + "/results.json", "{\"model\": \"mlp\", ");
  CHECK_THROWS_WITH(cli::compare({"--merge", "--out", out}), doctest::Contains("results.json:1:"));
}
