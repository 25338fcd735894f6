#include "m3oe/train/checkpoint.hpp"

#include "m3oe/io/tensor_file.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace m3oe::train {

namespace {
constexpr const char* kContent = "m3oe checkpoint";
// The checkpoint format of earlier builds: magic "M3OECKPT", u32 version 1,
// no checksums. Recognised only to say so.
constexpr char kOldMagic[8] = {'M', '3', 'O', 'E', 'C', 'K', 'P', 'T'};

void reject_old_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[12] = {};
  if (!in.read(head, sizeof head) || std::memcmp(head, kOldMagic, 8) != 0) return;
  std::uint32_t version;
  std::memcpy(&version, head + 8, 4);
  throw std::runtime_error(path + ": a checkpoint of the old format (M3OECKPT version " +
                           std::to_string(version) + ", no checksums); this build reads checkpoints in "
                           "tensor file version " + std::to_string(io::kTensorFileVersion) +
                           ": retrain, or use the build that wrote it");
}
}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  std::map<std::string, std::string> meta = ckpt.meta;
  meta["content"] = kContent;
  io::write_tensor_file(path, ckpt.tensors, meta);
}

Checkpoint load_checkpoint(const std::string& path) {
  reject_old_format(path);
  io::TensorFile f = io::read_tensor_file_with_meta(path);
  if (f.version != io::kTensorFileVersion)
    throw std::runtime_error(path + ": tensor file version " + std::to_string(f.version) +
                             " has no checksums and no metadata; checkpoints are version " +
                             std::to_string(io::kTensorFileVersion));
  const auto it = f.meta.find("content");
  if (it == f.meta.end() || it->second != kContent)
    throw std::runtime_error(path + ": a tensor file, but not an m3oe checkpoint (no 'content = " +
                             std::string(kContent) + "' in its metadata)");
  Checkpoint ckpt;
  f.meta.erase("content");
  ckpt.meta = std::move(f.meta);
  ckpt.tensors = std::move(f.tensors);
  return ckpt;
}

}  // namespace m3oe::train
