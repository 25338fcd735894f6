#include "m3oe/train/run_dir.hpp"

#include "m3oe/train/trainer.hpp"
#include "m3oe/util/files.hpp"
#include "m3oe/util/hash.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace m3oe::train {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- identity

const std::vector<std::string>& resume_may_change() {
  static const std::vector<std::string> keys = {"epochs", "patience", "threads", "device",
                                                "eval_batch", "out", "quiet", "data_path",
                                                "schema", "seeds"};
  return keys;
}

std::map<std::string, std::string> run_identity(const TrainConfig& cfg, std::uint64_t seed) {
  const auto& skip = resume_may_change();
  std::map<std::string, std::string> id;
  std::istringstream in(to_text(cfg));
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find(" = ");
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    if (std::find(skip.begin(), skip.end(), key) == skip.end()) id[key] = line.substr(eq + 3);
  }
  id["seed"] = std::to_string(seed);
  return id;
}

namespace {
template <class T>
std::uint64_t hash_array(const std::vector<T>& v, std::uint64_t h) {
  const std::uint64_t n = v.size();
  h = util::fnv1a64(&n, sizeof n, h);
  return util::fnv1a64(v.data(), v.size() * sizeof(T), h);
}
}  // namespace

std::string data_fingerprint(const data::Splits& splits) {
  std::uint64_t h = util::kFnvOffset;
  auto text = [&](const std::string& s) { h = util::fnv1a64(s + '\n', h); };
  const data::Schema& schema = splits.train.schema;
  for (const auto& f : schema.sparse) text("sparse " + f.name + " " + std::to_string(f.vocab));
  for (const auto& f : schema.dense) text("dense " + f);
  for (const auto& t : schema.tasks) text("task " + t);
  for (const auto& d : schema.domains) text("domain " + d);
  for (const data::Dataset* ds : {&splits.train, &splits.valid, &splits.test}) {
    text("rows " + std::to_string(ds->rows));
    h = hash_array(ds->sparse, h);
    h = hash_array(ds->dense, h);
    h = hash_array(ds->domain, h);
    h = hash_array(ds->labels, h);
  }
  return util::hex64(h);
}

void record_identity(Checkpoint& ck, const std::map<std::string, std::string>& identity,
                     const std::string& fingerprint) {
  for (const auto& [k, v] : identity) ck.meta["setting." + k] = v;
  ck.meta["data_fingerprint"] = fingerprint;
}

void check_identity(const Checkpoint& ck, const std::string& ckpt_path,
                    const std::map<std::string, std::string>& identity, const std::string& fingerprint,
                    const std::string& now_source) {
  std::map<std::string, std::string> stored;
  for (const auto& [k, v] : ck.meta)
    if (k.rfind("setting.", 0) == 0) stored[k.substr(8)] = v;
  std::string diffs;
  auto differ = [&](const std::string& key, const std::string& was, const std::string& now) {
    diffs += "\n  " + key + ": " + was + " vs " + now;
  };
  for (const auto& [k, v] : stored) {
    const auto it = identity.find(k);
    if (it == identity.end()) differ(k, v, "(not set)");
    else if (it->second != v) differ(k, v, it->second);
  }
  for (const auto& [k, v] : identity)
    if (!stored.count(k)) differ(k, "(not recorded)", v);
  const auto fp = ck.meta.find("data_fingerprint");
  const std::string was = fp == ck.meta.end() ? "(not recorded)" : fp->second;
  if (was != fingerprint)
    differ("data (content fingerprint)", was, fingerprint +
           " (another data file, schema, split or data_seed gives other rows)");
  if (!diffs.empty())
    throw std::runtime_error(ckpt_path + " was trained with other settings or data than " + now_source +
                             " gives (key: in the checkpoint vs now):" + diffs);
}

// ---------------------------------------------------------------- paths

void make_paths_absolute(TrainConfig& cfg) {
  for (std::string* p : {&cfg.data_path, &cfg.schema_path, &cfg.out})
    if (!p->empty()) *p = fs::absolute(*p).lexically_normal().string();
}

void check_output_path(const std::string& out) {
  if (out.empty()) throw std::invalid_argument("the output directory (--out) is empty");
  std::error_code ec;
  fs::path p = fs::absolute(out, ec);
  if (ec) throw std::invalid_argument(out + ": not a usable path: " + ec.message());
  // The directory itself, or the nearest folder above it that exists, must
  // be a directory we may write in.
  while (!fs::exists(p, ec)) {
    if (!p.has_parent_path() || p.parent_path() == p) break;
    p = p.parent_path();
  }
  if (!fs::is_directory(p, ec))
    throw std::invalid_argument(out + ": " + p.string() + " exists and is not a directory");
  if (::access(p.c_str(), W_OK | X_OK) != 0)
    throw std::invalid_argument(out + ": cannot write in " + p.string() + ": " + std::strerror(errno));
}

void check_train_command(const TrainConfig& cfg, const data::Splits& splits,
                         const std::vector<std::string>& run_dirs) {
  check_output_path(cfg.out);
  int checkpoints = 0;
  for (std::size_t i = 0; i < run_dirs.size(); ++i) {
    TrainConfig one = cfg;
    one.seeds = {cfg.seeds[i]};
    one.out = run_dirs[i];
    check_run(one, splits, cfg.seeds[i], run_dirs[i]);
    checkpoints += util::file_exists(run_dirs[i] + "/checkpoint.bin");
  }
  if (cfg.resume && checkpoints == 0)
    throw std::invalid_argument("--resume: " + run_dirs.front() + "/checkpoint.bin does not exist" +
                                (run_dirs.size() > 1 ? " (nor does any other seed's)" : "") +
                                ": there is nothing to resume; train without --resume to start afresh");
}

// ---------------------------------------------------------------- temporaries

namespace {

// The pid in "<anything>.tmp.<pid>", ".staging-<pid>" or ".old-<pid>"; 0 if none.
long temporary_pid(const std::string& name) {
  std::string digits;
  if (const auto t = name.rfind(".tmp."); t != std::string::npos) digits = name.substr(t + 5);
  else if (name.rfind(".staging-", 0) == 0) digits = name.substr(9);
  else if (name.rfind(".old-", 0) == 0) digits = name.substr(5);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  return std::stol(digits);
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

// The entries a run writes: what a replacement run moves aside. Other files
// a user put in the folder (predictions, notes) stay.
bool is_run_entry(const std::string& name) {
  static const char* const files[] = {"config.txt", "metrics.csv", "fusion_weights.csv", "checkpoint.bin",
                                      "results.json", "summary.md", "summary.json"};
  for (const char* f : files)
    if (name == f) return true;
  return name.rfind("seed-", 0) == 0;
}

}  // namespace

int remove_stale_temporaries(const std::string& dir) {
  std::vector<fs::path> stale;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const long pid = temporary_pid(it->path().filename().string());
    if (pid <= 0 || process_alive(pid)) continue;
    stale.push_back(it->path());
    if (it->is_directory()) it.disable_recursion_pending();
  }
  int removed = 0;
  for (const fs::path& p : stale) {
    fs::remove_all(p, ec);
    removed += !ec;
  }
  return removed;
}

// ---------------------------------------------------------------- RunDirectory

RunDirectory::RunDirectory(const std::string& dir, bool resume) : dir_(dir), root_(dir) {
  util::make_dirs(dir_);
  const std::string lock_path = dir_ + "/.lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw std::runtime_error(lock_path + ": cannot open the lock file: " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    char holder[32] = {};
    const ssize_t n = ::pread(lock_fd_, holder, sizeof holder - 1, 0);
    std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (why == EWOULDBLOCK)
      throw std::runtime_error(dir_ + " is being written by another process" +
                               (pid.empty() ? std::string() : " (pid " + pid + ")") + ", which holds " +
                               lock_path + "; wait for it to finish, or choose another --out");
    throw std::runtime_error(lock_path + ": cannot lock: " + std::strerror(why));
  }
  // Ours now: say who holds it.
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, me.data(), me.size(), 0) < 0) {
    // The lock holds anyway; only the message of a second writer is poorer.
  }
  try {
    remove_stale_temporaries(dir_);
    if (resume) return;
    bool holds_run = false;
    for (const auto& e : fs::directory_iterator(dir_)) holds_run = holds_run || is_run_entry(e.path().filename());
    if (!holds_run) return;
    root_ = dir_ + "/.staging-" + std::to_string(::getpid());
    fs::remove_all(root_);  // an earlier failed attempt of this very process
    util::make_dirs(root_);
  } catch (...) {
    ::close(lock_fd_);  // no destructor runs for a throwing constructor
    throw;
  }
}

RunDirectory::~RunDirectory() {
  // A staged run that was never committed stays in .staging-<pid> (its last
  // checkpoint may be of use) until the next writer removes it as stale.
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void RunDirectory::commit() {
  if (!staging()) return;
  const std::string old = dir_ + "/.old-" + std::to_string(::getpid());
  fs::remove_all(old);
  util::make_dirs(old);
  std::vector<std::string> incoming;
  for (const auto& e : fs::directory_iterator(root_)) incoming.push_back(e.path().filename());
  std::vector<std::string> outgoing;
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string name = e.path().filename();
    if (is_run_entry(name) || std::find(incoming.begin(), incoming.end(), name) != incoming.end())
      outgoing.push_back(name);
  }
  for (const std::string& name : outgoing) fs::rename(fs::path(dir_) / name, fs::path(old) / name);
  for (const std::string& name : incoming) fs::rename(fs::path(root_) / name, fs::path(dir_) / name);
  fs::remove_all(root_);
  fs::remove_all(old);
  root_ = dir_;
}

}  // namespace m3oe::train
