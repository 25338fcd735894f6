// Helpers shared by the doctest suites.
#pragma once

#include "autograd/tensor.hpp"

#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include <unistd.h>

namespace m3oe::testing {

// The message of the std::exception that f() throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// A [r,c] tensor from its values in row-major order.
inline Tensor mat(Index r, Index c, std::initializer_list<real> values) {
  Tensor t(r, c);
  Index i = 0;
  for (real v : values) t.data()[i++] = v;
  return t;
}

// A fresh folder under the system's temporary directory, removed with
// everything in it when the object goes out of scope.
struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() /
          ("m3oe-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `text` to the file `name` in the folder and returns its path.
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
  std::string path() const { return dir.string(); }
};

}  // namespace m3oe::testing
