#include "m3oe/train/progress.hpp"

#include <cstdio>

#include <unistd.h>

namespace m3oe::train {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, std::int64_t total_rows, bool enabled)
    : label_(std::move(label)), total_(total_rows), enabled_(enabled),
      start_(std::chrono::steady_clock::now()), last_draw_() {}

void Progress::update(std::int64_t rows_done, double mean_loss) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (rows_done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ > 0 ? double(rows_done) / double(total_) : 1.0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(frac * kWidth);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %lld/%lld rows  %.0f rows/s  loss %.4f ", label_.c_str(), bar,
               100.0 * frac, static_cast<long long>(rows_done), static_cast<long long>(total_),
               secs > 0 ? double(rows_done) / secs : 0.0, mean_loss);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace m3oe::train
