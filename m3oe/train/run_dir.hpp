// run_dir.hpp: what keeps a run directory whole (docs/reliability.md).
//
//   - RunDirectory: a run directory opened for writing. It is locked for the
//     life of the object (flock on <dir>/.lock, which names the holder's pid),
//     stale temporary files of dead processes are removed, and a fresh run
//     over an existing one is built aside in <dir>/.staging-<pid> and swapped
//     in only when it is complete (commit), so a failed or interrupted command
//     leaves the old run's files as they were.
//   - The run's identity: the settings that decide the data, the split, the
//     model and the training (run_identity), and a content fingerprint of the
//     loaded data (data_fingerprint). Checkpoints record both; --resume and
//     `m3oe eval / predict --run` compare them with what they are asked to
//     use and refuse a mismatch, listing the keys.
#pragma once

#include "m3oe/data/dataset.hpp"
#include "m3oe/train/checkpoint.hpp"
#include "m3oe/train/config.hpp"

#include <map>
#include <string>
#include <vector>

namespace m3oe::train {

// Settings that may change on --resume (and between config.txt and the
// checkpoint): epochs and patience (how long training goes on), threads,
// device, eval_batch, quiet and out (how and where it runs). The data paths
// are not compared either: the data's content is, by data_fingerprint, so a
// moved copy resumes. Everything else to_text writes is compared.
const std::vector<std::string>& resume_may_change();

// The compared settings of `cfg` for one seed: key -> value as in config.txt,
// plus "seed".
std::map<std::string, std::string> run_identity(const TrainConfig& cfg, std::uint64_t seed);
// FNV-1a 64 over the schema and every array of the three splits, as hex.
std::string data_fingerprint(const data::Splits& splits);

// Writes the identity and fingerprint into a checkpoint's metadata
// ("setting.<key>", "data_fingerprint").
void record_identity(Checkpoint& ck, const std::map<std::string, std::string>& identity,
                     const std::string& fingerprint);
// Throws std::runtime_error when the checkpoint at `ckpt_path` was trained
// with other settings or data, listing each differing key as
// "key: <in the checkpoint> vs <now>". `now_source` names where the new
// values come from (the command line, config.txt).
void check_identity(const Checkpoint& ck, const std::string& ckpt_path,
                    const std::map<std::string, std::string>& identity, const std::string& fingerprint,
                    const std::string& now_source);

// data_path, schema_path and out made absolute (against the current
// directory), so that config.txt names the files from anywhere.
void make_paths_absolute(TrainConfig& cfg);
// Throws if `out` exists and is not a directory, or cannot be a directory.
void check_output_path(const std::string& out);

// The checks of `m3oe train` before it writes anything: the output path, and
// check_run (trainer.hpp) for each seed's folder `run_dirs[i]`. With
// cfg.resume, at least one of them must hold a checkpoint (the others start
// afresh: the seeds after an interrupted one); without, --resume is an error.
void check_train_command(const TrainConfig& cfg, const data::Splits& splits,
                         const std::vector<std::string>& run_dirs);

// Removes "<name>.tmp.<pid>" files and ".staging-<pid>" / ".old-<pid>"
// folders of processes that no longer run, in `dir` and its subfolders.
// Returns how many it removed.
int remove_stale_temporaries(const std::string& dir);

class RunDirectory {
 public:
  // Creates `dir` if needed, locks it (throws naming the holder's pid when
  // another process holds it) and removes stale temporaries. `resume`: the
  // run continues in place; otherwise, when `dir` already holds files, the
  // new run is written to a staging folder (write_root) until commit().
  RunDirectory(const std::string& dir, bool resume);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  // Where to write now: the directory itself, or its staging folder.
  const std::string& write_root() const { return root_; }
  bool staging() const { return root_ != dir_; }
  // Moves a staged run into place: the old entries go to .old-<pid>, the new
  // ones are renamed in, the old ones are deleted. Nothing to do in place.
  void commit();

 private:
  std::string dir_, root_;
  int lock_fd_ = -1;
};

}  // namespace m3oe::train
