// Strict settings: every number parsed whole with the setting's name in the
// error, the stated ranges, unknown flags refused by every subcommand, files
// that are not regular files refused by name, and warnings for legal but
// extreme settings (issue 18: `--threads 100000` used to crash in OpenMP,
// `--epochs 0` silently meant the default, `eval --splt` was ignored).
#include <doctest/doctest.h>

#include "m3oe/cli/commands.hpp"
#include "m3oe/train/config.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace m3oe;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("m3oe-test-settings-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string error_of_train_args(const std::vector<std::string>& args) {
  try {
    cli::parse_train_args(args);
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not invalid_argument) ") + e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("every number is parsed whole, with the setting's name in the error") {
  CHECK(error_of_train_args({"--epochs", "3x"}) == "command line: 'epochs' expects a number, got '3x'");
  CHECK(error_of_train_args({"--epochs", " 3"}).find("'epochs' expects a number") != std::string::npos);
  CHECK(error_of_train_args({"--epochs", ""}).find("'epochs' expects a number") != std::string::npos);
  CHECK(error_of_train_args({"--batch", "99999999999999999999"}).find("'batch' is out of range") !=
        std::string::npos);
  CHECK(error_of_train_args({"--lr", "nan"}) == "command line: 'lr' must be a finite number, got 'nan'");
  CHECK(error_of_train_args({"--lr", "inf"}).find("'lr' must be a finite number") != std::string::npos);
  CHECK(error_of_train_args({"--lr", "1e999"}).find("'lr' is out of range") != std::string::npos);
  CHECK(error_of_train_args({"--weight-decay", "-nan"}).find("'weight_decay' must be a finite") !=
        std::string::npos);
  CHECK(error_of_train_args({"--seeds", "1,,2"}).find("'seeds' expects a number") != std::string::npos);
  CHECK(error_of_train_args({"--seeds", "1,-2"}).find("'seeds' expects a number") != std::string::npos);
}

TEST_CASE("settings outside their range are refused, 0 is not a way to ask for the default") {
  CHECK(error_of_train_args({"--epochs", "0"}) == "command line: 'epochs' must be in [1, 1000000], got '0'");
  CHECK(error_of_train_args({"--batch", "0"}).find("'batch' must be in [1, ") != std::string::npos);
  CHECK(error_of_train_args({"--batch", "-5"}).find("'batch' must be in [1, ") != std::string::npos);
  CHECK(error_of_train_args({"--eval-batch", "0"}).find("'eval_batch' must be in") != std::string::npos);
  CHECK(error_of_train_args({"--patience", "0"}).find("'patience' must be in [1, ") != std::string::npos);
  CHECK(error_of_train_args({"--threads", "100000"}) ==
        "command line: 'threads' must be in [0, 1024], got '100000'");
  CHECK(error_of_train_args({"--threads", "-1"}).find("'threads' must be in [0, 1024]") != std::string::npos);
  CHECK(error_of_train_args({"--lr", "-0.1"}) == "command line: 'lr' must be >= 0, got '-0.1'");
  CHECK(error_of_train_args({"--fixed-value", "1.5"}).find("'fixed_value' must be in [0, 1]") !=
        std::string::npos);
  CHECK(error_of_train_args({"--embedding-dim", "0"}).find("'embedding_dim' must be in [1, 65536]") !=
        std::string::npos);
  CHECK(error_of_train_args({"--hidden-dim", "100000000"}).find("'hidden_dim' must be in [1, 65536]") !=
        std::string::npos);
  CHECK(error_of_train_args({"--synthetic-domains", "0"}).find("'synthetic_domains' must be in") !=
        std::string::npos);
  CHECK(error_of_train_args({"--bilevel-every", "0"}).find("'bilevel_every' must be in") != std::string::npos);
  CHECK(error_of_train_args({"--lr-schedule", "step:0:0.5"}).find("'lr_schedule epochs' must be in") !=
        std::string::npos);
  CHECK(error_of_train_args({"--lr-schedule", "step:2:nan"}).find("'lr_schedule gamma' must be a finite") !=
        std::string::npos);
  CHECK(error_of_train_args({"--lr-schedule", "step:2:-1"}).find("gamma must be > 0") != std::string::npos);
  CHECK(error_of_train_args({"--lr-schedule", "step:2"}).find("step:<epochs>:<gamma>") != std::string::npos);
  CHECK(error_of_train_args({"--out", ""}).find("'out' is empty") != std::string::npos);
  // The boundaries themselves are fine.
  const train::TrainConfig c = cli::parse_train_args({"--epochs", "1", "--batch", "1", "--threads", "1024",
                                                      "--lr", "0", "--fixed-value", "1", "--patience", "1"});
  CHECK(c.epochs == 1);
  CHECK(c.batch == 1);
  CHECK(c.threads == 1024);
  // Left out, they take the data source's defaults.
  const train::TrainConfig d = cli::parse_train_args({});
  CHECK(d.epochs == 10);
  CHECK(d.batch == 1024);
  CHECK(d.patience == 3);
}

TEST_CASE("a flag given twice, a bare '--' and a stray word are errors") {
  CHECK(error_of_train_args({"--epochs", "1", "--epochs", "2"}) == "--epochs: At Most 1 required but received 2");
  CHECK(error_of_train_args({"--"}).find("unexpected argument '--'") != std::string::npos);
  CHECK(error_of_train_args({"epochs", "2"}).find("unexpected argument 'epochs'") != std::string::npos);
  CHECK(error_of_train_args({"--epochs"}) == "--epochs: 1 required TEXT missing");
  CHECK(error_of_train_args({"--no-such-key", "1"}) ==
        "unknown flag --no-such-key (m3oe train takes the flags `m3oe train --help` lists)");
  // --key=value works, and the underscore spelling of a flag too.
  CHECK(cli::parse_train_args({"--epochs=4", "--data_seed", "7"}).epochs == 4);
  CHECK(cli::parse_train_args({"--epochs=4", "--data_seed", "7"}).data_seed == 7);
}

TEST_CASE("config files: a key set twice, an empty key, a directory or a device are refused by name") {
  const std::string dir = temp_dir("config");
  std::ofstream(dir + "/twice.cfg") << "epochs = 3\n# comment\nbatch = 8\nepochs = 4\n";
  CHECK(error_of_train_args({"--config", dir + "/twice.cfg"}) ==
        dir + "/twice.cfg:4: 'epochs' is set twice (first on line 1)");
  std::ofstream(dir + "/nokey.cfg") << " = 3\n";
  CHECK(error_of_train_args({"--config", dir + "/nokey.cfg"}).find("nokey.cfg:1: no key before '='") !=
        std::string::npos);
  std::ofstream(dir + "/range.cfg") << "batch = 0\n";
  CHECK(error_of_train_args({"--config", dir + "/range.cfg"}) ==
        dir + "/range.cfg: 'batch' must be in [1, 16777216], got '0'");
  // --config DIR used to train with the defaults (reading a directory gives no text).
  CHECK(error_of_train_args({"--config", dir}).find(dir + ": is a directory, not a file") != std::string::npos);
  CHECK(error_of_train_args({"--config", "/dev/zero"}).find("/dev/zero: is not a regular file") !=
        std::string::npos);
  CHECK(util::not_a_regular_file(dir + "/twice.cfg").empty());
  CHECK(util::not_a_regular_file(dir + "/does-not-exist").empty());  // opening it says so
}

TEST_CASE("the config.txt a run writes is read back with every value in range") {
  const train::TrainConfig a = cli::parse_train_args({"--movielens", "/data/ml-1m", "--lr", "0.003",
                                                      "--threads", "2", "--seeds", "1,2,3"});
  const std::string dir = temp_dir("roundtrip");
  util::write_file_atomic(dir + "/config.txt", train::to_text(a));
  train::TrainConfig b;
  train::apply_settings(b, train::read_config_file(dir + "/config.txt"), "config.txt");
  CHECK(train::to_text(b) == train::to_text(a));
}

TEST_CASE("legal but extreme settings give a warning naming the setting") {
  const train::TrainConfig normal = cli::parse_train_args({});
  CHECK(train::setting_warnings(normal).empty());
  const auto w = train::setting_warnings(cli::parse_train_args({"--lr", "1e6"}));
  REQUIRE(w.size() == 1);
  CHECK(w[0].find("lr 1e+06 is far above") != std::string::npos);
  CHECK(train::setting_warnings(cli::parse_train_args({"--weight-decay", "5"})).size() == 1);
}

TEST_CASE("eval and predict refuse unknown flags, a bad --split and a bad --threads before any work") {
  const std::string dir = temp_dir("eval");  // not a run: every check below comes first
  auto error_of = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(error_of([&] { cli::eval({"--run", dir, "--splt", "valid"}); }).find(
            "unknown flag --splt (m3oe eval takes --run, --split, --data-path, --threads, --eval-batch, --gates)") !=
        std::string::npos);
  CHECK(error_of([&] { cli::eval({"--run", dir, "--split", "vaild"}); }) ==
        "--split must be train, valid or test, got 'vaild'");
  CHECK(error_of([&] { cli::predict({"--run", dir, "--output", dir + "/p.csv", "--epochs", "3"}); })
            .find("unknown flag --epochs (m3oe predict takes") != std::string::npos);
  CHECK(error_of([&] { cli::predict({"--run", dir, "--output", "p", "--split", "test", "--input", "x"}); })
            .find("--split or --input, not both") != std::string::npos);
  CHECK(error_of([&] { cli::compare({"--models", "mlp", "--epohcs", "3"}); })
            .find("unknown flag --epohcs (m3oe compare takes") != std::string::npos);
  // --threads is checked like the train setting, after the run's config.txt is read.
  const std::string run = temp_dir("eval-run");
  util::write_file_atomic(run + "/config.txt", train::to_text(cli::parse_train_args({})));
  CHECK(error_of([&] { cli::eval({"--run", run, "--threads", "abc"}); }) ==
        "command line: 'threads' expects a number, got 'abc'");
  CHECK(error_of([&] { cli::eval({"--run", run, "--threads", "100000"}); })
            .find("'threads' must be in [0, 1024]") != std::string::npos);
}

TEST_CASE("a table path that is a directory or a device is refused by name") {
  const std::string dir = temp_dir("table");
  std::ofstream(dir + "/s.schema") << "sparse a\ntask y\n";
  train::TrainConfig cfg = cli::parse_train_args({"--table", dir, "--schema", dir + "/s.schema"});
  CHECK_THROWS_WITH(train::load_data(cfg), doctest::Contains((dir + ": is a directory, not a file").c_str()));
  cfg = cli::parse_train_args({"--table", "/dev/zero", "--schema", dir + "/s.schema"});
  CHECK_THROWS_WITH(train::load_data(cfg), doctest::Contains("/dev/zero: is not a regular file"));
}

TEST_CASE("string settings that config.txt could not hold are refused") {
  // Found by fuzz_settings: --data-path 'a#b' was accepted, written to
  // config.txt as "data_path = a#b" and read back as "a".
  CHECK(error_of_train_args({"--table", "data#1.csv"}) ==
        "command line: 'data_path' cannot hold '#', a line break or spaces at its ends (config.txt could not "
        "store it), got 'data#1.csv'");
  CHECK(error_of_train_args({"--out", "runs/x\n"}).find("'out' cannot hold") != std::string::npos);
  CHECK(error_of_train_args({"--schema", " s.schema"}).find("'schema' cannot hold") != std::string::npos);
  CHECK(cli::parse_train_args({"--out", "runs/with space/x"}).out == "runs/with space/x");
}

TEST_CASE("config.txt keeps every number exactly") {
  // It used to write 10 significant digits: a repeated run got another lr.
  const train::TrainConfig a = cli::parse_train_args({"--lr", "0.1234567890123", "--weight-decay", "3e-7",
                                                      "--fixed-value", "0.30000000000000004"});
  const std::string dir = temp_dir("exact");
  util::write_file_atomic(dir + "/config.txt", train::to_text(a));
  train::TrainConfig b;
  train::apply_settings(b, train::read_config_file(dir + "/config.txt"), "config.txt");
  CHECK(b.lr == a.lr);
  CHECK(b.weight_decay == a.weight_decay);
  CHECK(b.fixed_value == a.fixed_value);
  CHECK(train::to_text(cli::parse_train_args({})).find("lr = 0.01\nweight_decay = 1e-05\n") != std::string::npos);
}
