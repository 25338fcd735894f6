#include "m3oe/io/tensor_file.hpp"

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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
  Reader(const std::string& path, std::vector<char> bytes) : path_(path), bytes_(std::move(bytes)) {}
  void read(void* out, std::size_t n, const std::string& what) {
    if (n > bytes_.size() - pos_)
      throw std::runtime_error(path_ + ": truncated: " + what + " needs " + std::to_string(n) +
                               " bytes at offset " + std::to_string(pos_) + ", the file has " +
                               std::to_string(bytes_.size()) + " bytes");
    if (n == 0) return;  // an empty tensor: `out` may be null
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
  }
  std::uint32_t u32(const std::string& what) {
    std::uint32_t v;
    read(&v, 4, what);
    return v;
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t pos() const { return pos_; }

 private:
  std::string path_;
  std::vector<char> bytes_;
  std::size_t pos_ = 0;
};

// value = float(q) * scale: the product in float, so that the value is
// bit-identical to the float32 the writer (numpy) computed.
template <class Code>
void decode(Tensor& t, const std::vector<Code>& q, float scale) {
  for (std::size_t i = 0; i < q.size(); ++i)
    t.data()[i] = static_cast<real>(static_cast<float>(q[i]) * scale);
}

}  // namespace

NamedTensors read_tensor_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open for reading");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r(path, std::move(bytes));

  char magic[8];
  r.read(magic, 8, "the magic");
  if (std::memcmp(magic, kMagic, 8) != 0)
    throw std::runtime_error(path + ": not an m3oe tensor file (bad magic)");
  const std::uint32_t version = r.u32("the version");
  if (version != kTensorFileVersion)
    throw TensorFileVersionError(path + ": tensor file version " + std::to_string(version) +
                                     ", this build reads version " +
                                     std::to_string(kTensorFileVersion),
                                 version);
  const std::uint32_t count = r.u32("the tensor count");

  NamedTensors out;
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::string which = "tensor " + std::to_string(k);
    const std::uint32_t name_len = r.u32(which + " name length");
    if (name_len > r.remaining())
      throw std::runtime_error(path + ": truncated: " + which + " name of " +
                               std::to_string(name_len) + " bytes at offset " +
                               std::to_string(r.pos()));
    std::string name(name_len, '\0');
    r.read(name.data(), name_len, which + " name");
    const std::string what = which + " ('" + name + "')";
    const std::uint32_t dtype = r.u32(what + " dtype");
    const std::uint32_t rows = r.u32(what + " rows"), cols = r.u32(what + " cols");
    const std::uint64_t n = std::uint64_t(rows) * cols;
    const std::uint64_t elem = dtype == kF32 ? 4 : dtype == kQ16 ? 2 : dtype == kQ8 ? 1 : 0;
    if (elem == 0)
      throw std::runtime_error(path + ": " + what + " has unknown dtype " + std::to_string(dtype));
    float scale = 1.0f;
    if (dtype != kF32) r.read(&scale, 4, what + " scale");
    if (n * elem > r.remaining())
      throw std::runtime_error(path + ": truncated: " + what + " [" + std::to_string(rows) + "," +
                               std::to_string(cols) + "] needs " + std::to_string(n * elem) +
                               " bytes at offset " + std::to_string(r.pos()) + ", " +
                               std::to_string(r.remaining()) + " left");
    Tensor t(rows, cols);
    if (dtype == kF32) {
      std::vector<float> buf(n);
      r.read(buf.data(), n * 4, what);
      for (std::uint64_t i = 0; i < n; ++i) t.data()[i] = static_cast<real>(buf[i]);
    } else if (dtype == kQ16) {
      std::vector<std::int16_t> buf(n);
      r.read(buf.data(), n * 2, what);
      decode(t, buf, scale);
    } else {
      std::vector<std::int8_t> buf(n);
      r.read(buf.data(), n, what);
      decode(t, buf, scale);
    }
    out.emplace_back(std::move(name), std::move(t));
  }
  if (r.remaining() != 0)
    throw std::runtime_error(path + ": " + std::to_string(r.remaining()) +
                             " unexpected bytes after the last tensor");
  return out;
}

void write_tensor_file(const std::string& path, const NamedTensors& tensors) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp + ": cannot open for writing");
    auto u32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    out.write(kMagic, 8);
    u32(kTensorFileVersion);
    u32(static_cast<std::uint32_t>(tensors.size()));
    std::vector<float> buf;
    for (const auto& [name, t] : tensors) {
      u32(static_cast<std::uint32_t>(name.size()));
      out.write(name.data(), static_cast<std::streamsize>(name.size()));
      u32(kF32);
      u32(static_cast<std::uint32_t>(t.rows()));
      u32(static_cast<std::uint32_t>(t.cols()));
      buf.resize(static_cast<std::size_t>(t.size()));
      for (Index i = 0; i < t.size(); ++i) buf[std::size_t(i)] = static_cast<float>(t.data()[i]);
      out.write(reinterpret_cast<const char*>(buf.data()),
                static_cast<std::streamsize>(buf.size() * 4));
    }
    out.flush();
    if (!out) throw std::runtime_error(tmp + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

}  // namespace m3oe::io
