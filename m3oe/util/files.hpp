// files.hpp: whole-file I/O with atomic writes.
//
// Every result, metrics file and checkpoint is written to "<path>.tmp.<pid>"
// and then renamed over <path>: rename() within one directory is atomic on
// POSIX, so a reader (or a crash) sees either the old file or the new one,
// never half of one.
#pragma once

#include <string>
#include <string_view>

namespace m3oe::util {

// Reads the whole file; throws std::runtime_error naming the path on failure.
std::string read_file(const std::string& path);
// Writes `content` atomically (temp file + fsync + rename + fsync of the
// directory). Throws on failure.
void write_file_atomic(const std::string& path, std::string_view content);
// mkdir -p; throws naming the path on failure.
void make_dirs(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace m3oe::util
