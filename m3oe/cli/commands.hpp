// commands.hpp: the subcommands of the `m3oe` program, callable from tests.
// Each returns the process exit code and throws std::exception with a
// message (file and line where there is one) on bad input.
#pragma once

#include "m3oe/train/config.hpp"

#include <string>
#include <vector>

namespace m3oe::cli {

std::string usage();
// The generated (CLI11) help of `m3oe train`, `eval` or `predict`: every flag
// with one line of help.
std::string command_help(const std::string& command);
// `--key value` or `--key=value` flags, parsed with CLI11 (and the shortcuts --synthetic, --movielens DIR,
// --table FILE, --schema FILE, --config FILE, --resume, --quiet) into a
// config: the config file first, then the flags over it.
// `command` names the subcommand in errors (compare passes its own name).
train::TrainConfig parse_train_args(const std::vector<std::string>& args, const std::string& command = "train");

int train(const std::vector<std::string>& args);
int eval(const std::vector<std::string>& args);
int predict(const std::vector<std::string>& args);
// m3oe compare (m3oe/cli/compare.cpp): models x seeds, one table.
int compare(const std::vector<std::string>& args);
std::string compare_usage();
// m3oe report (m3oe/cli/report.cpp): figures and index.html via scripts/report.py.
int report(const std::vector<std::string>& args);
std::string report_usage();

}  // namespace m3oe::cli
