// No silent wrong results, no lost runs (docs/reliability.md): a failed
// command leaves an existing run as it was, checkpoints are checksummed and
// refused when damaged or old, --resume and eval compare what they use with
// what the checkpoint was trained on, validation without AUC says how it
// ranks epochs, a NaN stops training with the last good checkpoint kept, a
// run directory has one writer, stale temporaries go, and config.txt names
// its data from anywhere.
#include <doctest/doctest.h>

#include "m3oe/cli/commands.hpp"
#include "m3oe/io/tensor_file.hpp"
#include "m3oe/train/checkpoint.hpp"
#include "m3oe/train/results.hpp"
#include "m3oe/train/run_dir.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

using namespace m3oe;
using m3oe::testing::error_of;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("m3oe-test-safety-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// The small, quick configuration of test_train.cpp.
std::vector<std::string> small_args(const std::string& out, int epochs) {
  return {"--synthetic", "--synthetic-rows", "2000", "--domain-dim", "32", "--hidden-dim", "16",
          "--expert-dim", "8", "--embedding-dim", "4", "--batch", "256", "--epochs",
          std::to_string(epochs), "--out", out, "--quiet", "--threads", "1"};
}

// `a` with the flags of `more`: a flag already in `a` gets the new value (the
// command line refuses a flag given twice), others are appended. A word after
// a flag is its value unless it is a flag itself (--resume takes none).
std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
  const std::vector<std::string> m(more);
  for (std::size_t i = 0; i < m.size(); ++i) {
    const bool has_value = i + 1 < m.size() && m[i + 1].rfind("--", 0) != 0;
    const auto it = std::find(a.begin(), a.end(), m[i]);
    if (has_value && it != a.end() && it + 1 != a.end()) {
      *(it + 1) = m[i + 1];
    } else {
      a.push_back(m[i]);
      if (has_value) a.push_back(m[i + 1]);
    }
    if (has_value) ++i;
  }
  return a;
}

// Every file under `dir` (relative path -> bytes).
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = util::read_file(e.path().string());
  return files;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Patches `bytes` at `offset` of a file.
void patch(const std::string& path, std::size_t offset, const void* bytes, std::size_t n) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(n));
}

}  // namespace

TEST_CASE("a failed train leaves an existing run's files byte-identical, and eval still scores it") {
  const std::string out = temp_dir("failed-train");
  REQUIRE(cli::train(small_args(out, 1)) == 0);
  const auto before = snapshot(out);
  REQUIRE(before.count("checkpoint.bin"));
  // The campaign's case: another data seed and a NaN learning rate (refused
  // by check_run, or by the settings parser if it is stricter).
  CHECK(has(error_of([&] { cli::train(with(small_args(out, 1), {"--data-seed", "7", "--lr", "nan"})); }),
            "lr"));
  // A learning-rate schedule that overflows in a later epoch.
  CHECK(has(error_of([&] { cli::train(with(small_args(out, 3), {"--lr-schedule", "step:1:1e308"})); }),
            "lr_schedule"));
  // An output path that is a file.
  CHECK(has(error_of([&] { cli::train(small_args(out + "/config.txt", 1)); }), "not a directory"));
  CHECK(snapshot(out) == before);
  CHECK(cli::eval({"--run", out, "--split", "valid"}) == 0);
}

TEST_CASE("a fresh run over an existing one is staged: a failure mid-run keeps the old files, a success replaces them") {
  const std::string out = temp_dir("replace");
  REQUIRE(cli::train(small_args(out, 1)) == 0);
  util::write_file_atomic(out + "/notes.txt", "mine");  // not a run file: always kept
  const auto before = snapshot(out);
  // Epoch 2's learning rate is 1e28: the loss turns NaN during epoch 2.
  const std::string err =
      error_of([&] { cli::train(with(small_args(out, 3), {"--lr-schedule", "step:1:1e30"})); });
  CHECK(has(err, "epoch 2, step"));
  auto after = snapshot(out);
  // The failed replacement sits in .staging-<pid> (with its last good checkpoint).
  const std::string staged = ".staging-" + std::to_string(::getpid());
  std::erase_if(after, [&](const auto& kv) { return kv.first.rfind(staged, 0) == 0; });
  CHECK(after == before);
  CHECK(util::file_exists(out + "/" + staged + "/checkpoint.bin"));
  // A successful replacement: the new run's files, the old ones gone, notes kept.
  REQUIRE(cli::train(with(small_args(out, 2), {"--model", "mmoe-mdmt"})) == 0);
  CHECK(has(util::read_file(out + "/config.txt"), "model = mmoe-mdmt"));
  CHECK_FALSE(util::file_exists(out + "/fusion_weights.csv"));  // M3oE's, MMoE has none
  CHECK(util::read_file(out + "/notes.txt") == "mine");
  CHECK_FALSE(util::file_exists(out + "/" + staged));
  for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().filename().string().rfind(".old-", 0) != 0);
  CHECK(cli::eval({"--run", out}) == 0);
}

TEST_CASE("a damaged checkpoint is an error naming the file and the tensor") {
  const std::string out = temp_dir("damaged");
  REQUIRE(cli::train(small_args(out, 1)) == 0);
  const std::string ckpt = out + "/checkpoint.bin";
  const std::string good = util::read_file(ckpt);
  // The first weight of the first "best." tensor: after its name, dtype, rows, cols.
  // (The name follows its u32 length, whose upper bytes are 0.)
  const std::size_t name_at = good.find(std::string("\0\0\0best.", 8)) + 3;
  REQUIRE(name_at != std::string::npos + 3);
  const std::size_t name_end = good.find('\0', name_at);  // the u32 dtype 0 (f32) follows
  const std::string name = good.substr(name_at, name_end - name_at);
  const std::size_t value_at = name_end + 12;

  SUBCASE("one flipped exponent bit of a weight") {
    char byte = good[value_at + 3];
    byte = static_cast<char>(byte ^ 0x40);
    patch(ckpt, value_at + 3, &byte, 1);
    const std::string msg = error_of([&] { train::load_checkpoint(ckpt); });
    CHECK(has(msg, ckpt));
    CHECK(has(msg, "'" + name + "'"));
    CHECK(has(msg, "checksum"));
    CHECK(has(error_of([&] { cli::eval({"--run", out}); }), "'" + name + "'"));
  }
  SUBCASE("a huge shape field: an error, no bad_alloc") {
    const std::uint32_t huge = 0x7FFFFFFFu;
    patch(ckpt, name_end + 4, &huge, 4);
    const std::string msg = error_of([&] { train::load_checkpoint(ckpt); });
    CHECK(has(msg, ckpt));
    CHECK(has(msg, "'" + name + "'"));
    CHECK_FALSE(has(msg, "bad_alloc"));
  }
  SUBCASE("a truncated file") {
    util::write_file_atomic(ckpt, good.substr(0, good.size() / 2));
    const std::string msg = error_of([&] { train::load_checkpoint(ckpt); });
    CHECK(has(msg, ckpt));
    CHECK(has(msg, "truncated"));
  }
  SUBCASE("--resume on a damaged checkpoint refuses and changes nothing") {
    char byte = static_cast<char>(good[value_at] ^ 1);
    patch(ckpt, value_at, &byte, 1);
    const auto before = snapshot(out);
    CHECK(has(error_of([&] { cli::train(with(small_args(out, 2), {"--resume"})); }), "checksum"));
    CHECK(snapshot(out) == before);
  }
}

TEST_CASE("checkpoints of an old format are refused with a message that says so") {
  const std::string dir = temp_dir("old-format");
  const std::string path = dir + "/checkpoint.bin";
  // The earlier builds' format: "M3OECKPT", version 1.
  std::string old = "M3OECKPT";
  const std::uint32_t one = 1;
  old.append(reinterpret_cast<const char*>(&one), 4);
  old.append(16, '\0');
  util::write_file_atomic(path, old);
  std::string msg = error_of([&] { train::load_checkpoint(path); });
  CHECK(has(msg, "old format"));
  CHECK(has(msg, "version 1"));
  // A tensor file of the unchecked reference version 1.
  std::string v1 = "M3OETNSR";
  v1.append(reinterpret_cast<const char*>(&one), 4);
  v1.append(4, '\0');  // no tensors
  util::write_file_atomic(path, v1);
  msg = error_of([&] { train::load_checkpoint(path); });
  CHECK(has(msg, "version 1 has no checksums"));
  // A future version.
  std::string v9 = "M3OETNSR";
  const std::uint32_t nine = 9;
  v9.append(reinterpret_cast<const char*>(&nine), 4);
  util::write_file_atomic(path, v9);
  CHECK(has(error_of([&] { train::load_checkpoint(path); }), "version 9, this build reads version 2"));
  // A tensor file that is not a checkpoint.
  io::write_tensor_file(path, {});
  CHECK(has(error_of([&] { train::load_checkpoint(path); }), "not an m3oe checkpoint"));
}

TEST_CASE("--resume refuses other settings or data, listing the keys, and needs a checkpoint") {
  const std::string out = temp_dir("resume-check");
  REQUIRE(cli::train(small_args(out, 1)) == 0);
  const auto before = snapshot(out);
  const std::string msg = error_of(
      [&] { cli::train(with(small_args(out, 2), {"--resume", "--data-seed", "7", "--lr", "0.02"})); });
  CHECK(has(msg, "data_seed: 2022 vs 7"));
  CHECK(has(msg, "lr: 0.01 vs 0.02"));
  CHECK(has(msg, "data (content fingerprint)"));
  CHECK_FALSE(has(msg, "epochs"));  // may change
  CHECK(snapshot(out) == before);
  // Another data file with the same settings: only the fingerprint differs.
  CHECK(has(error_of([&] { cli::train(with(small_args(out, 2), {"--resume", "--synthetic-rows", "2001"})); }),
            "synthetic_rows: 2000 vs 2001"));
  // What may change: epochs, patience, threads.
  CHECK(cli::train(with(small_args(out, 2), {"--resume", "--patience", "5", "--threads", "2"})) == 0);
  CHECK(train::load_checkpoint(out + "/checkpoint.bin").meta.at("next_epoch") == "2");
  // No checkpoint: an error, and no directory made.
  const std::string none = temp_dir("resume-none") + "/run";
  CHECK(has(error_of([&] { cli::train(with(small_args(none, 1), {"--resume"})); }), "nothing to resume"));
  CHECK_FALSE(fs::exists(none));
}

TEST_CASE("eval refuses a run whose config.txt and checkpoint disagree") {
  const std::string out = temp_dir("eval-mismatch");
  REQUIRE(cli::train(small_args(out, 1)) == 0);
  std::string cfg = util::read_file(out + "/config.txt");
  cfg.replace(cfg.find("data_seed = 2022"), 16, "data_seed = 7");
  util::write_file_atomic(out + "/config.txt", cfg);
  const std::string msg = error_of([&] { cli::eval({"--run", out}); });
  CHECK(has(msg, "data_seed: 2022 vs 7"));
  CHECK(has(msg, "config.txt"));
  CHECK(has(error_of([&] { cli::predict({"--run", out, "--output", out + "/p.csv"}); }), "data_seed"));
}

TEST_CASE("validation without a defined AUC ranks epochs by log loss and says so") {
  const std::string out = temp_dir("no-auc");
  const train::TrainConfig cfg = cli::parse_train_args(small_args(out, 3));
  data::Splits splits = train::load_data(cfg);
  REQUIRE(train::validation_has_auc(splits.valid));
  std::fill(splits.valid.labels.begin(), splits.valid.labels.end(), 0.0f);  // no positives
  CHECK_FALSE(train::validation_has_auc(splits.valid));
  const train::RunResult r = train::train_run(cfg, splits, cfg.seeds.front(), out);
  CHECK(r.selection == "valid_mean_logloss");
  REQUIRE(r.history.size() == 3);
  int lowest = 0;
  for (int e = 1; e < 3; ++e)
    if (*r.history[std::size_t(e)].valid_logloss < *r.history[std::size_t(lowest)].valid_logloss) lowest = e;
  CHECK(r.best_epoch == lowest);
  CHECK(has(util::read_file(out + "/results.json"), "\"selection\":\"valid_mean_logloss\""));
}

TEST_CASE("a NaN loss stops training naming epoch and step; the last good checkpoint stays loadable") {
  const std::string out = temp_dir("nan") + "/run";
  const std::string msg =
      error_of([&] { cli::train(with(small_args(out, 3), {"--lr-schedule", "step:1:1e30"})); });
  CHECK(has(msg, "epoch 2, step"));
  CHECK(has(msg, "the last good epoch (1)"));
  const train::Checkpoint ck = train::load_checkpoint(out + "/checkpoint.bin");
  CHECK(ck.meta.at("next_epoch") == "1");
  for (const auto& [name, t] : ck.tensors) CHECK_MESSAGE(t.allFinite(), name);
  CHECK(cli::eval({"--run", out}) == 0);
}

TEST_CASE("a run directory has one writer at a time") {
  const std::string out = temp_dir("lock");
  train::RunDirectory first(out, false);
  const std::string msg = error_of([&] { train::RunDirectory second(out, false); });
  CHECK(has(msg, "is being written by another process (pid " + std::to_string(::getpid()) + ")"));
  CHECK(has(error_of([&] { cli::train(small_args(out, 1)); }), "is being written"));
}

TEST_CASE("stale temporary files of dead processes are removed when a run directory is opened") {
  const std::string out = temp_dir("stale");
  // pid 999999999 is above every Linux pid_max (at most 2^22): never alive.
  util::write_file_atomic(out + "/checkpoint.bin.tmp.999999999", "half a checkpoint");
  util::make_dirs(out + "/seed-1");
  util::write_file_atomic(out + "/seed-1/metrics.csv.tmp.999999999", "x");
  util::make_dirs(out + "/.staging-999999999/seed-1");
  const std::string live = out + "/results.json.tmp." + std::to_string(::getpid());
  util::write_file_atomic(live, "in flight");
  REQUIRE(cli::train(small_args(out, 1)) == 0);
  CHECK_FALSE(util::file_exists(out + "/checkpoint.bin.tmp.999999999"));
  CHECK_FALSE(util::file_exists(out + "/seed-1/metrics.csv.tmp.999999999"));
  CHECK_FALSE(util::file_exists(out + "/.staging-999999999"));
  CHECK(util::file_exists(live));  // a running process's file stays
  fs::remove(live);
}

TEST_CASE("config.txt stores absolute data paths: eval and predict work from any directory") {
  const std::string dir = temp_dir("cwd");
  const fs::path cwd = fs::current_path();
  {
    std::ofstream schema(dir + "/clicks.schema");
    schema << "separator ,\nheader yes\nsparse user item\ndense price\ndomain region\ntask click\n";
    std::ofstream csv(dir + "/clicks.csv");
    csv << "user,item,price,region,click\n";
    for (int i = 0; i < 600; ++i)
      csv << "u" << i % 23 << ",i" << i % 7 << "," << (i % 10) << "," << (i % 3 ? "north" : "south") << ","
          << ((i * 7 + i / 5) % 3 == 0) << "\n";
  }
  fs::current_path(dir);
  const int rc = cli::train({"--table", "clicks.csv", "--schema", "clicks.schema", "--domain-dim", "16",
                             "--hidden-dim", "8", "--expert-dim", "4", "--embedding-dim", "4", "--batch",
                             "128", "--epochs", "1", "--out", "run", "--quiet", "--threads", "1"});
  fs::current_path(fs::temp_directory_path());
  REQUIRE(rc == 0);
  const std::string config = util::read_file(dir + "/run/config.txt");
  CHECK(has(config, "data_path = " + (fs::path(dir) / "clicks.csv").string()));
  CHECK(has(config, "schema = " + (fs::path(dir) / "clicks.schema").string()));
  CHECK(cli::eval({"--run", dir + "/run"}) == 0);
  CHECK(cli::predict({"--run", dir + "/run", "--input", dir + "/clicks.csv", "--output", dir + "/p.csv"}) == 0);
  fs::current_path(cwd);
}

TEST_CASE("m3oe compare checks an interrupted run before writing over its config.txt") {
  const std::string out = temp_dir("compare");
  auto args = [&](std::initializer_list<std::string> more) {
    return with({"--models", "mlp", "--seeds", "1", "--out", out, "--synthetic", "--synthetic-rows", "2000",
                 "--domain-dim", "16", "--hidden-dim", "8", "--expert-dim", "4", "--embedding-dim", "4",
                 "--batch", "256", "--epochs", "1", "--threads", "1", "--quiet"},
                more);
  };
  REQUIRE(cli::compare(args({})) == 0);
  // "Interrupted": the run has its checkpoint but no results.json yet.
  for (const auto& e : fs::recursive_directory_iterator(out))
    if (e.path().filename() == "results.json") fs::remove(e.path());
  const auto before = snapshot(out);
  CHECK(has(error_of([&] { cli::compare(args({"--lr", "nan"})); }), "lr"));
  CHECK(has(error_of([&] { cli::compare(args({"--data-seed", "7"})); }), "data_seed: 2022 vs 7"));
  CHECK(snapshot(out) == before);
}
