// libFuzzer target: the MovieLens-1M loader.
// Input: "<users.dat>\n%%\n<movies.dat>\n%%\n<ratings.dat>".
#include "fuzz_common.hpp"

#include "m3oe/data/movielens.hpp"

using namespace m3oe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto parts = fuzz::split_parts(in, 3);
  fuzz::put_file("users.dat", parts[0]);
  fuzz::put_file("movies.dat", parts[1]);
  fuzz::put_file("ratings.dat", parts[2]);
  fuzz::expect_clean([&] {
    std::vector<std::string> warnings;
    const data::Dataset ds = data::load_movielens_all(fuzz::work_dir(), &warnings);
    if (ds.rows <= 0) std::abort();
    for (std::int64_t i = 0; i < ds.rows; ++i)
      if (ds.domain[static_cast<std::size_t>(i)] < 0 || ds.domain[static_cast<std::size_t>(i)] > 2) std::abort();
  });
  return 0;
}
