// progress.hpp: a one-line progress bar on a terminal, silence elsewhere.
//
// On a terminal (stderr is a tty) the bar redraws in place at most ~10 times
// a second: epoch, a bar, rows done, rows/s and the running mean loss. When
// stderr is a file or a pipe (CI, logs) nothing is drawn; the trainer prints
// one plain line per epoch instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace m3oe::train {

class Progress {
 public:
  Progress(std::string label, std::int64_t total_rows, bool enabled);
  void update(std::int64_t rows_done, double mean_loss);
  void finish();  // clears the line

 private:
  std::string label_;
  std::int64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

bool stderr_is_terminal();

}  // namespace m3oe::train
