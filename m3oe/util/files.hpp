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

// Empty if `path` can be read as a file; else why not ("is a directory, not a
// file", "is not a regular file (a FIFO, device or socket)"), so that a
// directory or /dev/zero is refused by name before anything is read. A path
// that does not exist gives an empty string too: opening it says so.
std::string not_a_regular_file(const std::string& path);
// Reads the whole file; throws std::runtime_error naming the path on failure
// (also for a directory or a special file, see not_a_regular_file).
std::string read_file(const std::string& path);
// Writes `content` atomically (temp file + fsync + rename + fsync of the
// directory). Throws on failure.
void write_file_atomic(const std::string& path, std::string_view content);
// mkdir -p; throws naming the path on failure.
void make_dirs(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace m3oe::util
