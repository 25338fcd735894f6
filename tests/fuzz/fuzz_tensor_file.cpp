// libFuzzer target: the tensor-file reader behind checkpoints and the
// parity fixture (m3oe/io/tensor_file.hpp). Kept in its own file so that a
// new file format only changes this target. Input: the file's bytes.
#include "fuzz_common.hpp"

#include "m3oe/io/tensor_file.hpp"

using namespace m3oe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path =
      fuzz::put_file("tensors.bin", std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean([&] {
    const NamedTensors t = io::read_tensor_file(path);
    // What was read can be written and read back to the same values.
    const std::string again = fuzz::work_dir() + "/again.bin";
    io::write_tensor_file(again, t);
    const NamedTensors u = io::read_tensor_file(again);
    if (u.size() != t.size()) std::abort();
  });
  return 0;
}
