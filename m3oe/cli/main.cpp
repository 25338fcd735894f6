// m3oe: train, evaluate and use M3oE from the command line.
//
//   m3oe train   [--config FILE] [--synthetic | --movielens DIR | --table FILE --schema FILE]
//                [--KEY VALUE ...]
//   m3oe eval    --run DIR [--split valid|test|train]
//   m3oe predict --run DIR (--split valid|test|train | --input FILE) --output FILE
//   m3oe compare --models LIST [--seeds LIST] [--out DIR] [DATA] [--KEY VALUE ...]
//   m3oe report  --run DIR [--out DIR] [--split S]
//   m3oe --help
#include "autograd/backend/allocator.hpp"
#include "m3oe/cli/commands.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  m3oe::keep_freed_memory();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(m3oe::cli::usage().c_str(), stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  const bool help = !args.empty() && (args[0] == "--help" || args[0] == "-h");
  if (help && (command == "train" || command == "eval" || command == "predict")) {
    std::fputs(m3oe::cli::command_help(command).c_str(), stdout);
    return 0;
  }
  try {
    if (command == "train") return m3oe::cli::train(args);
    if (command == "eval") return m3oe::cli::eval(args);
    if (command == "predict") return m3oe::cli::predict(args);
    if (command == "report") return m3oe::cli::report(args);
    if (command == "compare") {
      if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        std::fputs(m3oe::cli::compare_usage().c_str(), stdout);
        return 0;
      }
      return m3oe::cli::compare(args);
    }
    std::fprintf(stderr, "m3oe: unknown command '%s' (train, eval, predict, compare, report; see m3oe --help)\n",
                 command.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "m3oe %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
