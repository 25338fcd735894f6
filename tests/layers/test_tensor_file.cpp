// The tensor file: round trip, the q16 encoding, and every kind of bad file:
// a flipped bit anywhere in a tensor, a shape larger than the file, a cut.
#include "m3oe/io/tensor_file.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <string>

using namespace m3oe;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("m3oe_test_" + name)).string();
}

struct Bytes {
  std::string s;
  void u32(std::uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
  void f32(float v) { s.append(reinterpret_cast<const char*>(&v), 4); }
  void i16(std::int16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
  void str(const std::string& x) { s += x; }
  void save(const std::string& path) const { std::ofstream(path, std::ios::binary) << s; }
};

std::string error_of(const std::string& path) {
  try {
    io::read_tensor_file(path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("write then read gives the same names, shapes and values") {
  NamedTensors t;
  Tensor a(2, 3);
  a << 1, -2, 3.5f, 0, 1e-7f, -1e7f;
  t.emplace_back("layer.weight", a);
  t.emplace_back("scalar", Tensor::Constant(1, 1, 0.25f));
  t.emplace_back("empty", Tensor(0, 4));
  const std::string path = temp_path("roundtrip.bin");
  io::write_tensor_file(path, t);
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    CHECK(e.path().filename().string().find("roundtrip.bin.tmp") == std::string::npos);  // renamed into place
  const io::TensorFile file = io::read_tensor_file_with_meta(path);
  CHECK(file.version == io::kTensorFileVersion);
  const NamedTensors& back = file.tensors;
  REQUIRE(back.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back[i].first == t[i].first);
    CHECK(back[i].second.rows() == t[i].second.rows());
    CHECK(back[i].second.cols() == t[i].second.cols());
    CHECK(back[i].second == t[i].second);
  }
  CHECK(get_tensor(back, "scalar", path)(0, 0) == 0.25f);
  CHECK_THROWS_AS(get_tensor(back, "nope", path), std::out_of_range);
  std::filesystem::remove(path);
}

TEST_CASE("q16 and q8 tensors decode as float(q) * scale") {
  Bytes b;
  b.str("M3OETNSR");
  b.u32(1);  // version
  b.u32(2);  // two tensors
  b.u32(1);  // name length
  b.str("q");
  b.u32(1);  // q16
  b.u32(1);
  b.u32(3);
  b.f32(0.5f);
  b.i16(-32767);
  b.i16(0);
  b.i16(3);
  b.u32(2);
  b.str("r8");
  b.u32(2);  // q8
  b.u32(2);
  b.u32(1);
  b.f32(0.25f);
  b.s.push_back(static_cast<char>(-127));
  b.s.push_back(static_cast<char>(5));
  const std::string path = temp_path("q16.bin");
  b.save(path);
  const NamedTensors t = io::read_tensor_file(path);
  REQUIRE(t.size() == 2);
  CHECK(t[1].first == "r8");
  CHECK(t[1].second.rows() == 2);
  CHECK(t[1].second(0, 0) == -31.75f);
  CHECK(t[1].second(1, 0) == 1.25f);
  CHECK(t[0].second(0, 0) == -16383.5f);
  CHECK(t[0].second(0, 1) == 0.0f);
  CHECK(t[0].second(0, 2) == 1.5f);
  std::filesystem::remove(path);
}

TEST_CASE("bad files: missing, foreign, other version, truncated, trailing bytes, bad dtype") {
  const std::string path = temp_path("bad.bin");
  CHECK(error_of(temp_path("does_not_exist.bin")).find("cannot open") != std::string::npos);

  Bytes foreign;
  foreign.str("NOTMAGIC");
  foreign.u32(1);
  foreign.u32(0);
  foreign.save(path);
  CHECK(error_of(path).find("bad magic") != std::string::npos);

  Bytes v3;
  v3.str("M3OETNSR");
  v3.u32(3);
  v3.u32(0);
  v3.save(path);
  CHECK_THROWS_AS(io::read_tensor_file(path), io::TensorFileVersionError);
  CHECK(error_of(path).find("version 3") != std::string::npos);

  Bytes trunc;
  trunc.str("M3OETNSR");
  trunc.u32(1);
  trunc.u32(1);
  trunc.u32(1);
  trunc.str("w");
  trunc.u32(0);
  trunc.u32(2);
  trunc.u32(2);
  trunc.f32(1);  // 1 of 4 floats
  trunc.save(path);
  const std::string msg = error_of(path);
  CHECK(msg.find("truncated") != std::string::npos);
  CHECK(msg.find("'w'") != std::string::npos);

  Bytes trailing;
  trailing.str("M3OETNSR");
  trailing.u32(1);
  trailing.u32(0);
  trailing.str("xx");
  trailing.save(path);
  CHECK(error_of(path).find("unexpected bytes") != std::string::npos);

  Bytes dtype;
  dtype.str("M3OETNSR");
  dtype.u32(1);
  dtype.u32(1);
  dtype.u32(1);
  dtype.str("d");
  dtype.u32(7);
  dtype.u32(1);
  dtype.u32(1);
  dtype.save(path);
  CHECK(error_of(path).find("unknown dtype 7") != std::string::npos);
  std::filesystem::remove(path);
}

namespace {
std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
// A version-2 file of two tensors and some metadata.
std::string write_sample(const std::string& name) {
  NamedTensors t;
  t.emplace_back("first", Tensor::Constant(2, 2, 1.5f));
  t.emplace_back("weights.big", Tensor::Constant(3, 4, -0.25f));
  const std::string path = temp_path(name);
  io::write_tensor_file(path, t, {{"note", "two\nlines \\ here"}, {"epoch", "3"}});
  return path;
}
}  // namespace

TEST_CASE("version 2 keeps metadata, escaped values included") {
  const std::string path = write_sample("meta.bin");
  const io::TensorFile f = io::read_tensor_file_with_meta(path);
  CHECK(f.meta.at("note") == "two\nlines \\ here");
  CHECK(f.meta.at("epoch") == "3");
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[1].second(2, 3) == -0.25f);
  CHECK_THROWS_AS(io::write_tensor_file(path, {}, {{"a=b", "x"}}), std::invalid_argument);
  std::filesystem::remove(path);
}

TEST_CASE("every flipped bit of a version-2 file is an error naming the file, never a crash") {
  const std::string path = write_sample("flip.bin");
  const std::string good = file_bytes(path);
  const std::string damaged_path = temp_path("flip_damaged.bin");
  // One exponent bit of the last value of 'weights.big' (the 8 bytes before
  // the end are its checksum): the checksum names the tensor.
  {
    std::string b = good;
    b[b.size() - 8 - 1] = static_cast<char>(b[b.size() - 8 - 1] ^ 0x40);
    std::ofstream(damaged_path, std::ios::binary) << b;
    const std::string msg = error_of(damaged_path);
    CHECK(msg.find(damaged_path) != std::string::npos);
    CHECK(msg.find("'weights.big'") != std::string::npos);
    CHECK(msg.find("checksum") != std::string::npos);
  }
  // A flipped bit in every byte (bit byte % 8): an error with the file's name.
  int errors = 0;
  for (std::size_t byte = 0; byte < good.size(); ++byte) {
    std::string b = good;
    b[byte] = static_cast<char>(b[byte] ^ (1 << (byte % 8)));
    std::ofstream(damaged_path, std::ios::binary | std::ios::trunc) << b;
    const std::string msg = error_of(damaged_path);
    errors += msg.find(damaged_path) != std::string::npos;
  }
  CHECK(errors == int(good.size()));
  std::filesystem::remove(path);
  std::filesystem::remove(damaged_path);
}

TEST_CASE("a shape larger than the file, and a cut file, are refused before anything is allocated") {
  const std::string path = write_sample("shape.bin");
  const std::string good = file_bytes(path);
  const std::string bad = temp_path("shape_bad.bin");
  // The rows field of 'weights.big': after its name, then the u32 dtype.
  const std::size_t rows_at = good.find("weights.big") + std::string("weights.big").size() + 4;
  std::string b = good;
  const std::uint32_t huge = 0xFFFFFFFFu;
  std::memcpy(b.data() + rows_at, &huge, 4);
  std::memcpy(b.data() + rows_at + 4, &huge, 4);
  std::ofstream(bad, std::ios::binary) << b;
  std::string msg = error_of(bad);
  CHECK(msg.find("('weights.big') [4294967295,4294967295]") != std::string::npos);
  CHECK(msg.find("truncated or damaged") != std::string::npos);
  // A huge metadata length.
  b = good;
  const std::uint64_t big = ~0ull;
  std::memcpy(b.data() + 12, &big, 8);
  std::ofstream(bad, std::ios::binary | std::ios::trunc) << b;
  CHECK(error_of(bad).find("truncated: the metadata") != std::string::npos);
  // Every cut.
  for (std::size_t n = 0; n < good.size(); ++n) {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << good.substr(0, n);
    msg = error_of(bad);
    CHECK_MESSAGE(msg.find(bad) != std::string::npos, "cut at " << n << ": " << msg);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(bad);
}
