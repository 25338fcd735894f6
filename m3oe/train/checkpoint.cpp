#include "m3oe/train/checkpoint.hpp"

#include "m3oe/util/files.hpp"

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace m3oe::train {

namespace {
constexpr char kMagic[8] = {'M', '3', 'O', 'E', 'C', 'K', 'P', 'T'};

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

class Reader {
 public:
  Reader(const std::string& data, const std::string& path) : data_(data), path_(path) {}
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  const char* take(std::size_t n) {
    if (n > data_.size() - pos_)
      throw std::runtime_error(path_ + ": checkpoint is truncated at byte " + std::to_string(pos_));
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }

 private:
  const std::string& data_;
  const std::string& path_;
  std::size_t pos_ = 0;
};
}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  std::string meta;
  for (const auto& [k, v] : ckpt.meta) {
    if (k.find('\n') != std::string::npos || k.find('=') != std::string::npos)
      throw std::invalid_argument("checkpoint metadata key '" + k + "' has '=' or a newline");
    // Values may span lines (CSV logs): escape newlines and backslashes.
    std::string escaped;
    for (char c : v) {
      if (c == '\\') escaped += "\\\\";
      else if (c == '\n') escaped += "\\n";
      else escaped += c;
    }
    meta += k + " = " + escaped + "\n";
  }
  std::string out(kMagic, sizeof kMagic);
  put<std::uint32_t>(out, kCheckpointVersion);
  put<std::uint64_t>(out, meta.size());
  out += meta;
  put<std::uint64_t>(out, ckpt.tensors.size());
  for (const auto& [name, t] : ckpt.tensors) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(name.size()));
    out += name;
    put<std::int64_t>(out, t.rows());
    put<std::int64_t>(out, t.cols());
    for (Index i = 0; i < t.size(); ++i) put<float>(out, static_cast<float>(t.data()[i]));
  }
  util::write_file_atomic(path, out);
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::string data = util::read_file(path);
  Reader in(data, path);
  if (std::memcmp(in.take(sizeof kMagic), kMagic, sizeof kMagic) != 0)
    throw std::runtime_error(path + ": not an m3oe checkpoint (bad magic)");
  const auto version = in.get<std::uint32_t>();
  if (version != kCheckpointVersion)
    throw std::runtime_error(path + ": checkpoint version " + std::to_string(version) +
                             ", this build reads version " + std::to_string(kCheckpointVersion) +
                             ": retrain, or resume with the build that wrote it");
  Checkpoint ckpt;
  const auto meta_len = in.get<std::uint64_t>();
  std::istringstream meta(std::string(in.take(meta_len), meta_len));
  std::string line;
  while (std::getline(meta, line)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) throw std::runtime_error(path + ": malformed metadata line '" + line + "'");
    std::string value;
    for (std::size_t i = eq + 3; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        value += line[i + 1] == 'n' ? '\n' : line[i + 1];
        ++i;
      } else {
        value += line[i];
      }
    }
    ckpt.meta[line.substr(0, eq)] = value;
  }
  const auto count = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto name_len = in.get<std::uint32_t>();
    std::string name(in.take(name_len), name_len);
    const auto rows = in.get<std::int64_t>();
    const auto cols = in.get<std::int64_t>();
    if (rows < 0 || cols < 0) throw std::runtime_error(path + ": tensor '" + name + "' has a negative shape");
    Tensor t(rows, cols);
    const char* p = in.take(static_cast<std::size_t>(rows * cols) * sizeof(float));
    for (Index j = 0; j < t.size(); ++j) {
      float v;
      std::memcpy(&v, p + j * sizeof(float), sizeof v);
      t.data()[j] = static_cast<real>(v);
    }
    ckpt.tensors.emplace_back(std::move(name), std::move(t));
  }
  return ckpt;
}

}  // namespace m3oe::train
