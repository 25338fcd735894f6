// libFuzzer target: the training settings, from a config file and flags.
// Input: "<config file text>[\n%%\n<one command-line argument per line>]".
// Beyond not crashing, a configuration that is accepted must survive the
// trip through config.txt: to_text, read back, gives the same text (this is
// what `m3oe train --config runs/x/config.txt` relies on).
#include "fuzz_common.hpp"

#include "m3oe/cli/commands.hpp"
#include "m3oe/train/config.hpp"

using namespace m3oe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto parts = fuzz::split_parts(in, 2);
  const std::string config = fuzz::put_file("fuzz.cfg", parts[0]);
  std::vector<std::string> args = {"--config", config};
  std::string_view flags = parts[1];
  while (!flags.empty()) {
    const std::size_t nl = flags.find('\n');
    args.emplace_back(flags.substr(0, nl));
    flags.remove_prefix(nl == std::string_view::npos ? flags.size() : nl + 1);
  }
  fuzz::expect_clean([&] {
    const train::TrainConfig cfg = cli::parse_train_args(args);
    train::setting_warnings(cfg);
    const std::string text = train::to_text(cfg);
    const std::string again = fuzz::put_file("again.cfg", text);
    train::TrainConfig back;
    try {
      train::apply_settings(back, train::read_config_file(again), again);
    } catch (const std::exception&) {
      std::abort();  // an accepted configuration whose config.txt cannot be read back
    }
    if (train::to_text(back) != text) std::abort();
  });
  return 0;
}
