// fuzz_common.hpp: what the libFuzzer targets share (docs/fuzzing.md).
//
// The loaders read files, so a target writes its input into files in a
// private folder (under /dev/shm when there is one, so no disk is touched)
// and calls the public loading function. An input made of several files is
// cut at lines that hold only "%%": "schema %% csv". The loaders may throw
// std::invalid_argument or std::runtime_error (DataError is one) with a
// message; anything else -- a sanitizer report, an abort, another exception
// such as std::bad_alloc or std::out_of_range -- is a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace m3oe::fuzz {

// The private folder, made once per process and removed when it exits.
inline const std::string& work_dir() {
  static const std::string dir = [] {
    std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string templ = base + "/m3oe-fuzz-XXXXXX";
    if (!::mkdtemp(templ.data())) std::abort();
    return templ;
  }();
  static const bool cleanup = [] {
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(work_dir(), ec);
    });
    return true;
  }();
  (void)cleanup;
  return dir;
}

// Writes `bytes` to work_dir()/name and returns the path.
inline std::string put_file(const std::string& name, std::string_view bytes) {
  const std::string path = work_dir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
  return path;
}

// The input cut at "\n%%\n" into at most `parts` pieces (the last takes the rest).
inline std::vector<std::string_view> split_parts(std::string_view in, std::size_t parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < parts) {
    const std::size_t at = in.find("\n%%\n");
    if (at == std::string_view::npos) break;
    out.push_back(in.substr(0, at + 1));
    in.remove_prefix(at + 4);
  }
  out.push_back(in);
  while (out.size() < parts) out.push_back({});
  return out;
}

// Runs fn(); the errors a loader may give with a message are expected.
template <class Fn>
void expect_clean(Fn&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument&) {
  } catch (const std::runtime_error&) {
  }
}

}  // namespace m3oe::fuzz
