#include "m3oe/io/tensor_file.hpp"

#include "m3oe/util/files.hpp"
#include "m3oe/util/hash.hpp"

#include <bit>
#include <cstring>
#include <sstream>
#include <vector>

namespace m3oe::io {

static_assert(std::endian::native == std::endian::little,
              "tensor files are little-endian; this reader assumes a little-endian host");

namespace {

constexpr char kMagic[8] = {'M', '3', 'O', 'E', 'T', 'N', 'S', 'R'};
enum : std::uint32_t { kF32 = 0, kQ16 = 1, kQ8 = 2 };

// A bounds-checked cursor over the file's bytes.
class Reader {
 public:
  Reader(const std::string& path, const std::string& bytes) : path_(path), bytes_(bytes) {}
  // The next n bytes, after checking that the file has them.
  const char* take(std::size_t n, const std::string& what) {
    if (n > remaining())
      throw std::runtime_error(path_ + ": truncated: " + what + " needs " + std::to_string(n) +
                               " bytes at offset " + std::to_string(pos_) + ", the file has " +
                               std::to_string(bytes_.size()) + " bytes");
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <class T>
  T get(const std::string& what) {
    T v;
    std::memcpy(&v, take(sizeof v, what), sizeof v);
    return v;
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t pos() const { return pos_; }
  const char* at(std::size_t pos) const { return bytes_.data() + pos; }

 private:
  const std::string& path_;
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// value = float(q) * scale: the product in float, so that the value is
// bit-identical to the float32 the writer (numpy) computed.
template <class Code>
void decode(Tensor& t, const char* p) {
  for (Index i = 0; i < t.size(); ++i) {
    Code q;
    std::memcpy(&q, p + i * Index(sizeof q), sizeof q);
    t.data()[i] = static_cast<real>(static_cast<float>(q));
  }
}

std::string encode_meta(const std::map<std::string, std::string>& meta) {
  std::string out;
  for (const auto& [k, v] : meta) {
    if (k.empty() || k.find('\n') != std::string::npos || k.find('=') != std::string::npos)
      throw std::invalid_argument("tensor file metadata key '" + k + "' is empty or has '=' or a newline");
    out += k + " = ";
    for (char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '\n';
  }
  return out;
}

std::map<std::string, std::string> decode_meta(const std::string& text, const std::string& path) {
  std::map<std::string, std::string> meta;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
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
    meta[line.substr(0, eq)] = value;
  }
  return meta;
}

void check_sum(std::uint64_t stored, std::uint64_t computed, const std::string& path,
               const std::string& what) {
  if (stored != computed)
    throw std::runtime_error(path + ": " + what + " is damaged: its checksum is " + util::hex64(stored) +
                             " in the file but " + util::hex64(computed) +
                             " over its bytes (FNV-1a 64); the file was changed or corrupted after it was written");
}

}  // namespace

TensorFile read_tensor_file_with_meta(const std::string& path) {
  const std::string bytes = util::read_file(path);
  Reader r(path, bytes);

  if (std::memcmp(r.take(8, "the magic"), kMagic, 8) != 0)
    throw std::runtime_error(path + ": not an m3oe tensor file (bad magic)");
  TensorFile file;
  file.version = r.get<std::uint32_t>("the version");
  const bool checked = file.version == kTensorFileVersion;
  if (!checked && file.version != kReferenceFileVersion)
    throw TensorFileVersionError(path + ": tensor file version " + std::to_string(file.version) +
                                     ", this build reads version " + std::to_string(kTensorFileVersion) +
                                     " (and version " + std::to_string(kReferenceFileVersion) +
                                     ", the unchecked reference format)",
                                 file.version);
  if (checked) {
    const auto meta_len = r.get<std::uint64_t>("the metadata length");
    const char* meta = r.take(meta_len, "the metadata");
    check_sum(r.get<std::uint64_t>("the metadata checksum"), util::fnv1a64(meta, meta_len), path,
              "the metadata");
    file.meta = decode_meta(std::string(meta, meta_len), path);
  }
  const std::uint32_t count = r.get<std::uint32_t>("the tensor count");

  for (std::uint32_t k = 0; k < count; ++k) {
    const std::size_t start = r.pos();
    const std::string which = "tensor " + std::to_string(k);
    const std::uint32_t name_len = r.get<std::uint32_t>(which + " name length");
    std::string name(r.take(name_len, which + " name"), name_len);
    const std::string what = which + " ('" + name + "')";
    const std::uint32_t dtype = r.get<std::uint32_t>(what + " dtype");
    const std::uint32_t rows = r.get<std::uint32_t>(what + " rows");
    const std::uint32_t cols = r.get<std::uint32_t>(what + " cols");
    const std::uint64_t elem = dtype == kF32 ? 4 : dtype == kQ16 ? 2 : dtype == kQ8 ? 1 : 0;
    if (elem == 0)
      throw std::runtime_error(path + ": " + what + " has unknown dtype " + std::to_string(dtype));
    float scale = 1.0f;
    if (dtype != kF32) scale = r.get<float>(what + " scale");
    // The shape is checked against the bytes left before Tensor allocates:
    // n < 2^64 always (u32 x u32), and dividing avoids n * elem overflowing.
    const std::uint64_t n = std::uint64_t(rows) * cols;
    if (n > r.remaining() / elem)
      throw std::runtime_error(path + ": truncated or damaged: " + what + " [" + std::to_string(rows) + "," +
                               std::to_string(cols) + "] needs " + std::to_string(n) + " x " +
                               std::to_string(elem) + " bytes at offset " + std::to_string(r.pos()) +
                               ", " + std::to_string(r.remaining()) + " left");
    const char* data = r.take(n * elem, what);
    if (checked)
      check_sum(r.get<std::uint64_t>(what + " checksum"),
                util::fnv1a64(r.at(start), std::size_t(data + n * elem - r.at(start))), path, what);
    Tensor t(rows, cols);
    if (dtype == kF32) {
      decode<float>(t, data);
    } else {
      if (dtype == kQ16) decode<std::int16_t>(t, data);
      else decode<std::int8_t>(t, data);
      for (Index i = 0; i < t.size(); ++i)
        t.data()[i] = static_cast<real>(static_cast<float>(t.data()[i]) * scale);
    }
    file.tensors.emplace_back(std::move(name), std::move(t));
  }
  if (r.remaining() != 0)
    throw std::runtime_error(path + ": " + std::to_string(r.remaining()) +
                             " unexpected bytes after the last tensor");
  return file;
}

NamedTensors read_tensor_file(const std::string& path) {
  return read_tensor_file_with_meta(path).tensors;
}

void write_tensor_file(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& meta) {
  std::string out(kMagic, 8);
  put<std::uint32_t>(out, kTensorFileVersion);
  const std::string meta_text = encode_meta(meta);
  put<std::uint64_t>(out, meta_text.size());
  out += meta_text;
  put<std::uint64_t>(out, util::fnv1a64(meta_text));
  put<std::uint32_t>(out, static_cast<std::uint32_t>(tensors.size()));
  for (const auto& [name, t] : tensors) {
    if (t.rows() > Index(UINT32_MAX) || t.cols() > Index(UINT32_MAX))
      throw std::invalid_argument(path + ": tensor '" + name + "' is too large for a tensor file");
    const std::size_t start = out.size();
    put<std::uint32_t>(out, static_cast<std::uint32_t>(name.size()));
    out += name;
    put<std::uint32_t>(out, kF32);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.rows()));
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.cols()));
    for (Index i = 0; i < t.size(); ++i) put<float>(out, static_cast<float>(t.data()[i]));
    put<std::uint64_t>(out, util::fnv1a64(out.data() + start, out.size() - start));
  }
  util::write_file_atomic(path, out);
}

}  // namespace m3oe::io
