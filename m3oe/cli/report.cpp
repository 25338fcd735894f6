// m3oe report: figures and an HTML page for a run or a comparison folder.
//
// The figures are drawn by scripts/report.py with matplotlib (docs/report.md);
// this command finds the script and a Python that has matplotlib, and runs
// it with this program's path, so that the script can write the gate
// statistics (m3oe eval --gates) when the run has none yet. Training never
// needs any of this: without Python or matplotlib, the command says what to install.
#include "m3oe/cli/commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace m3oe::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kInstall =
    "apt-get install -y --no-install-recommends python3-matplotlib (Debian's package)";

// Runs argv[0] with arguments argv (its output to /dev/null when quiet),
// waits, and returns its exit code.
int run_program(const std::vector<std::string>& argv, bool quiet = false) {
  std::vector<char*> c_argv;
  for (const std::string& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, c_argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("cannot run " + argv[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) throw std::runtime_error("waiting for " + argv[0] + " failed");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// scripts/report.py: $M3OE_REPORT_SCRIPT, else next to this program (build/m3oe
// -> scripts/report.py of the source tree, <prefix>/bin/m3oe -> <prefix>/share/m3oe).
std::string find_script(const fs::path& self) {
  if (const char* s = std::getenv("M3OE_REPORT_SCRIPT")) return s;
  const fs::path bin = self.parent_path();
  for (const fs::path& p : {bin / "../scripts/report.py", bin / "../share/m3oe/report.py"})
    if (fs::exists(p)) return fs::weakly_canonical(p).string();
  throw std::runtime_error("cannot find report.py (looked in " + (bin / "../scripts").string() + " and " +
                           (bin / "../share/m3oe").string() + "); set M3OE_REPORT_SCRIPT");
}

}  // namespace

std::string report_usage() {
  return "usage: m3oe report --run DIR [--out DIR/report] [--split test|valid|train]\n"
         "  DIR: a run directory of m3oe train, or a folder of m3oe compare.\n"
         "  Writes PNG figures and a self-contained index.html (docs/report.md) with\n"
         "  scripts/report.py, run by $M3OE_PYTHON or /usr/bin/python3; needs matplotlib:\n"
         "  " + std::string(kInstall) + "\n";
}

int report(const std::vector<std::string>& args) {
  std::string run, out, split = "test";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") { std::fputs(report_usage().c_str(), stdout); return 0; }
    if (i + 1 >= args.size()) throw std::invalid_argument("flag " + a + " needs a value\n" + report_usage());
    if (a == "--run") run = args[++i];
    else if (a == "--out") out = args[++i];
    else if (a == "--split") split = args[++i];
    else throw std::invalid_argument("unexpected argument '" + a + "'\n" + report_usage());
  }
  if (run.empty()) throw std::invalid_argument("report needs --run DIR\n" + report_usage());
  const char* env_python = std::getenv("M3OE_PYTHON");
  const std::string python = env_python ? env_python : "/usr/bin/python3";
  if (!fs::exists(python))
    throw std::runtime_error(python + " not found: install Python and matplotlib with apt-get install -y "
                             "--no-install-recommends python3 python3-matplotlib, or set M3OE_PYTHON");
  const fs::path self = fs::read_symlink("/proc/self/exe");
  if (run_program({python, "-c", "import matplotlib"}, /*quiet=*/true) != 0) {
    std::fprintf(stderr, "m3oe report: %s has no matplotlib. Install it with:\n  %s\n(or set M3OE_PYTHON to a "
                 "Python that has it). Training does not need it.\n", python.c_str(), kInstall);
    return 3;
  }
  std::vector<std::string> argv = {python, find_script(self), run, "--m3oe", self.string(), "--split", split};
  if (!out.empty()) argv.insert(argv.end(), {"--out", out});
  return run_program(argv);
}

}  // namespace m3oe::cli
