// checkpoint.hpp: one file that holds everything needed to resume a run.
//
// Layout (little-endian):
//   "M3OECKPT"  uint32 version (kCheckpointVersion)
//   uint64 n    n bytes of metadata text: `key = value` lines
//   uint64 k    k tensors: uint32 name length, name, int64 rows, int64 cols,
//               rows*cols float32 values (row-major)
// The tensors are the model's weights ("model.<name>"), the best weights so
// far ("best.<name>") and the optimizers' states ("opt.<which>.<slot>").
// The metadata holds the counters (next epoch, best epoch and AUC, patience)
// and the CSV logs so far. The random state is (seed, epoch): every epoch's
// shuffle draws from an Rng seeded from both (see trainer.cpp), so resuming
// at an epoch boundary needs nothing else to continue the same stream.
// Written atomically (util::write_file_atomic).
#pragma once

#include "layers/named_tensors.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace m3oe::train {

inline constexpr std::uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::map<std::string, std::string> meta;
  NamedTensors tensors;
};

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Throws std::runtime_error naming the file for a missing, truncated or
// foreign file, or one of another version.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace m3oe::train
