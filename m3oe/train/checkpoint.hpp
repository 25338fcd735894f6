// checkpoint.hpp: one file that holds everything needed to resume a run.
//
// A checkpoint is a tensor file (m3oe/io/tensor_file.hpp, version 2: a
// checksum per tensor and for the metadata) whose metadata says
// `content = m3oe checkpoint`. The tensors are the model's weights
// ("model.<name>"), the best weights so far ("best.<name>") and the
// optimizers' states ("opt.<which>.<slot>"). The metadata holds the counters
// (next epoch, best epoch and score, patience), the CSV logs so far and what
// the run was trained on: the settings that decide the data, split and model
// ("setting.<key>", see run_dir.hpp) and a fingerprint of the loaded data
// ("data_fingerprint"), which --resume and eval compare. The random state is
// (seed, epoch): every epoch's shuffle draws from an Rng seeded from both
// (see trainer.cpp), so resuming at an epoch boundary needs nothing else to
// continue the same stream.
// Written atomically (temp file + fsync + rename).
#pragma once

#include "layers/named_tensors.hpp"

#include <map>
#include <string>

namespace m3oe::train {

struct Checkpoint {
  std::map<std::string, std::string> meta;
  NamedTensors tensors;
};

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Throws std::runtime_error naming the file (and the tensor) for a missing,
// truncated, damaged or foreign file, and one that says so for a checkpoint
// of an older format (the unchecked "M3OECKPT" files of earlier builds).
Checkpoint load_checkpoint(const std::string& path);

}  // namespace m3oe::train
