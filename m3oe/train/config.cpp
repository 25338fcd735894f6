#include "m3oe/train/config.hpp"

#include "m3oe/baselines/registry.hpp"
#include "m3oe/data/parse.hpp"
#include "m3oe/util/files.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace m3oe::train {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The whole text must be the number: "3x", " 3", "", "1e999" and, for
// floating-point settings, nan and inf are refused, naming the setting.
template <class T>
T parse_number(const std::string& key, const std::string& v, const std::string& source) {
  T out{};
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec == std::errc::result_out_of_range)
    throw std::invalid_argument(source + ": '" + key + "' is out of range, got '" + v + "'");
  if (ec != std::errc() || p != v.data() + v.size())
    throw std::invalid_argument(source + ": '" + key + "' expects a number, got '" + v + "'");
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(out))
      throw std::invalid_argument(source + ": '" + key + "' must be a finite number, got '" + v + "'");
  }
  return out;
}

bool parse_bool(const std::string& key, const std::string& v, const std::string& source) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw std::invalid_argument(source + ": '" + key + "' expects true/false, got '" + v + "'");
}

AutoMLMode parse_automl(const std::string& v, const std::string& source) {
  if (v == "official") return AutoMLMode::official;
  if (v == "bilevel1" || v == "bilevel") return AutoMLMode::bilevel1;
  if (v == "bilevel2") return AutoMLMode::bilevel2;
  if (v == "fixed") return AutoMLMode::fixed;
  throw std::invalid_argument(source + ": automl must be official, bilevel1, bilevel2 or fixed, got '" +
                              v + "'");
}

std::vector<std::uint64_t> parse_seeds(const std::string& v, const std::string& source) {
  std::vector<std::uint64_t> seeds;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ','))
    seeds.push_back(parse_number<std::uint64_t>("seeds", trim(item), source));
  if (seeds.empty()) throw std::invalid_argument(source + ": 'seeds' is empty");
  return seeds;
}

void one_of(const std::string& key, const std::string& v, std::initializer_list<const char*> allowed,
            const std::string& source) {
  for (const char* a : allowed)
    if (v == a) return;
  std::string list;
  for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
  throw std::invalid_argument(source + ": '" + key + "' must be one of " + list + ", got '" + v + "'");
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& config_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys = {
      {"data", "synthetic | movielens | table (default synthetic)"},
      {"data_path", "the ml-1m folder, or the CSV/TSV file of a table"},
      {"schema", "schema file of a table (see docs/data.md)"},
      {"split", "movielens split: authors (the authors' row order) | shuffled"},
      {"data_seed", "seed of the synthetic data and of shuffled splits (default 2022)"},
      {"synthetic_rows", "rows of the synthetic data (default 60000)"},
      {"synthetic_domains", "domains of the synthetic data (default 3)"},
      {"synthetic_tasks", "tasks of the synthetic data (default 2)"},
      {"model", "m3oe (default), a baseline or an ablation: see m3oe compare --list"},
      {"shared_experts", "N, the number of shared experts (default 4; MMoE and M2M experts too)"},
      {"embedding_dim", "embedding size per sparse feature (default 16)"},
      {"domain_dim", "output of the STAR domain layer (default 512)"},
      {"hidden_dim", "h, the input of experts and gates (default 256)"},
      {"expert_dim", "expert output (default 64)"},
      {"ablation", "none | no_domain | no_task | no_both"},
      {"epochs", "maximum epochs, >= 1 (default 50; synthetic 10)"},
      {"batch", "training batch rows, 1 .. 16777216 (default 40960; synthetic 1024)"},
      {"eval_batch", "evaluation batch rows, 1 .. 16777216 (default 40960)"},
      {"lr", "Adam learning rate, finite >= 0 (default 1e-2; above 1 warns)"},
      {"weight_decay", "Adam L2 weight decay, finite >= 0 (default 1e-5)"},
      {"structure_lr", "learning rate of the fusion weights' own Adam (default 1e-3)"},
      {"lr_schedule", "none | step:<every epochs>:<gamma>"},
      {"patience", "early stopping patience in epochs on mean validation AUC, >= 1 (default 10; synthetic 3)"},
      {"automl", "official | bilevel1 | bilevel2 | fixed (default official)"},
      {"fixed_value", "fusion weight value of automl=fixed, in [0, 1] (default 0.5)"},
      {"bilevel_every", "bilevel: update the fusion weights every K steps (default 1)"},
      {"seeds", "comma-separated seeds, e.g. 2022,2023,2024,2025,2026"},
      {"seed", "a single seed"},
      {"threads", "threads, 0 .. 1024 (0 = OMP_NUM_THREADS or all cores)"},
      {"device", "cpu | cuda"},
      {"out", "run directory (default runs/latest)"},
      {"quiet", "no progress output (true/false)"},
  };
  return keys;
}

std::map<std::string, std::string> read_config_file(const std::string& path) {
  std::map<std::string, std::string> kv;
  std::map<std::string, int> first_line;
  std::stringstream in(std::string(data::strip_utf8_bom(util::read_file(path))));
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument(path + ":" + std::to_string(lineno) + ": expected 'key = value', got '" +
                                  line + "'");
    const std::string key = trim(line.substr(0, eq));
    if (key.empty())
      throw std::invalid_argument(path + ":" + std::to_string(lineno) + ": no key before '=' in '" + line + "'");
    if (const auto [it, fresh] = first_line.try_emplace(key, lineno); !fresh)
      throw std::invalid_argument(path + ":" + std::to_string(lineno) + ": '" + key +
                                  "' is set twice (first on line " + std::to_string(it->second) + ")");
    kv[key] = trim(line.substr(eq + 1));
  }
  return kv;
}

namespace {

// A number within [lo, hi], else an error naming the setting and the range.
template <class T>
T in_range(const std::string& key, const std::string& v, const std::string& source, T lo, T hi) {
  const T x = parse_number<T>(key, v, source);
  if (x < lo || x > hi) {
    std::ostringstream o;
    o << source << ": '" << key << "' must be ";
    if (hi == std::numeric_limits<T>::max()) o << ">= " << lo;
    else o << "in [" << lo << ", " << hi << "]";
    o << ", got '" << v << "'";
    throw std::invalid_argument(o.str());
  }
  return x;
}

// A path setting as config.txt can hold it: the file is `key = value` lines
// with '#' comments and trimmed values, so a '#', a line break or spaces at
// either end would read back as another path (found by fuzz_settings).
const std::string& storable(const std::string& key, const std::string& v, const std::string& source) {
  const bool bad = v.find_first_of("#\n\r") != std::string::npos ||
                   (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t'));
  if (bad)
    throw std::invalid_argument(source + ": '" + key + "' cannot hold '#', a line break or spaces at its ends "
                                "(config.txt could not store it), got '" + data::visible(v) + "'");
  return v;
}

// step:<every epochs>:<gamma>, with every >= 1 and a finite gamma > 0.
void check_lr_schedule(const std::string& v, const std::string& source) {
  if (v == "none") return;
  const std::string form = source + ": 'lr_schedule' must be none or step:<epochs>:<gamma>";
  if (v.rfind("step:", 0) != 0) throw std::invalid_argument(form + ", got '" + v + "'");
  const std::string rest = v.substr(5);
  const auto colon = rest.find(':');
  if (colon == std::string::npos) throw std::invalid_argument(form + ", got '" + v + "'");
  in_range<int>("lr_schedule epochs", rest.substr(0, colon), source, 1, 1'000'000);
  const double gamma = parse_number<double>("lr_schedule gamma", rest.substr(colon + 1), source);
  if (!(gamma > 0)) throw std::invalid_argument(source + ": 'lr_schedule' gamma must be > 0, got '" + v + "'");
}

}  // namespace

void apply_settings(TrainConfig& c, const std::map<std::string, std::string>& kv,
                    const std::string& source) {
  // The ranges say what a run can mean; 0 for epochs / batch / patience is
  // not a way to ask for the default (leave the setting out for that).
  constexpr int kMaxWidth = 1 << 16;       // embedding, layer and expert widths
  constexpr int kMaxCount = 1024;          // experts, domains, tasks
  constexpr std::int64_t kMaxRows = std::int64_t(1) << 24;  // rows of one batch
  constexpr double kNoLimit = std::numeric_limits<double>::max();  // any finite value
  for (const auto& [key, v] : kv) {
    const std::string& where = source;
    if (key == "data") { one_of(key, v, {"synthetic", "movielens", "table"}, where); c.data = v; }
    else if (key == "data_path") c.data_path = storable(key, v, where);
    else if (key == "schema") c.schema_path = storable(key, v, where);
    else if (key == "split") { one_of(key, v, {"authors", "shuffled"}, where); c.split = v; }
    else if (key == "data_seed") c.data_seed = parse_number<std::uint64_t>(key, v, where);
    else if (key == "synthetic_rows") c.synthetic_rows = in_range<std::int64_t>(key, v, where, 1, std::int64_t(1) << 31);
    else if (key == "synthetic_domains") c.synthetic_domains = in_range<int>(key, v, where, 1, kMaxCount);
    else if (key == "synthetic_tasks") c.synthetic_tasks = in_range<int>(key, v, where, 1, kMaxCount);
    else if (key == "model") {
      if (!baselines::is_model_name(v))
        throw std::invalid_argument(where + ": unknown model '" + v + "'; known models: " +
                                    baselines::model_names_text());
      c.model = v;
    }
    else if (key == "shared_experts") c.shared_experts = in_range<int>(key, v, where, 1, kMaxCount);
    else if (key == "embedding_dim") c.embedding_dim = in_range<int>(key, v, where, 1, kMaxWidth);
    else if (key == "domain_dim") c.domain_dim = in_range<int>(key, v, where, 1, kMaxWidth);
    else if (key == "hidden_dim") c.hidden_dim = in_range<int>(key, v, where, 1, kMaxWidth);
    else if (key == "expert_dim") c.expert_dim = in_range<int>(key, v, where, 1, kMaxWidth);
    else if (key == "ablation") { one_of(key, v, {"none", "no_domain", "no_task", "no_both"}, where); c.ablation = v; }
    else if (key == "epochs") c.epochs = in_range<int>(key, v, where, 1, 1'000'000);
    else if (key == "batch") c.batch = in_range<std::int64_t>(key, v, where, 1, kMaxRows);
    else if (key == "eval_batch") c.eval_batch = in_range<std::int64_t>(key, v, where, 1, kMaxRows);
    else if (key == "lr") c.lr = in_range<double>(key, v, where, 0, kNoLimit);
    else if (key == "weight_decay") c.weight_decay = in_range<double>(key, v, where, 0, kNoLimit);
    else if (key == "structure_lr") c.structure_lr = in_range<double>(key, v, where, 0, kNoLimit);
    else if (key == "lr_schedule") { check_lr_schedule(v, where); c.lr_schedule = v; }
    else if (key == "patience") c.patience = in_range<int>(key, v, where, 1, 1'000'000);
    else if (key == "automl") c.automl = parse_automl(v, where);
    else if (key == "fixed_value") c.fixed_value = in_range<double>(key, v, where, 0, 1);
    else if (key == "bilevel_every") c.bilevel_every = in_range<int>(key, v, where, 1, 1'000'000);
    else if (key == "seeds") c.seeds = parse_seeds(v, where);
    else if (key == "seed") c.seeds = {parse_number<std::uint64_t>(key, v, where)};
    else if (key == "threads") c.threads = in_range<int>(key, v, where, 0, kMaxThreads);
    else if (key == "device") { one_of(key, v, {"cpu", "cuda"}, where); c.device = v; }
    else if (key == "out") {
      if (v.empty()) throw std::invalid_argument(where + ": 'out' is empty");
      c.out = storable(key, v, where);
    }
    else if (key == "quiet") c.quiet = parse_bool(key, v, where);
    else throw std::invalid_argument(where + ": unknown setting '" + data::visible(key) + "' (see m3oe --help)");
  }
}

std::vector<std::string> setting_warnings(const TrainConfig& c) {
  std::vector<std::string> w;
  auto note = [&](const std::string& s) { w.push_back(s); };
  std::ostringstream o;
  if (c.lr > 1) {
    o << "lr " << c.lr << " is far above Adam's usual 1e-4 .. 1e-1: training is likely to diverge";
    note(o.str());
    o.str("");
  }
  if (c.structure_lr > 1) {
    o << "structure_lr " << c.structure_lr << " is far above the usual 1e-4 .. 1e-2";
    note(o.str());
    o.str("");
  }
  if (c.weight_decay > 0.1) {
    o << "weight_decay " << c.weight_decay << " is far above the usual 0 .. 1e-3: the weights will shrink to 0";
    note(o.str());
    o.str("");
  }
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores > 0 && c.threads > static_cast<int>(4 * cores))
    note("threads " + std::to_string(c.threads) + " is more than 4x the " + std::to_string(cores) +
         " hardware threads of this machine: it will run slower, not faster");
  return w;
}

void resolve_defaults(TrainConfig& c) {
  const bool synthetic = c.data == "synthetic";
  if (c.epochs == 0) c.epochs = synthetic ? 10 : 50;
  if (c.batch == 0) c.batch = synthetic ? 1024 : 40960;
  if (c.patience == 0) c.patience = synthetic ? 3 : 10;
}

namespace {
// The shortest text that reads back as the same double (0.01, 1e-05,
// 0.30000000000000004), so that a repeated run uses the very same value.
std::string exact(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}
}  // namespace

std::string to_text(const TrainConfig& c) {
  std::ostringstream o;
  o << "# m3oe train configuration (m3oe train --config <this file> repeats the run)\n";
  o << "data = " << c.data << "\n";
  if (!c.data_path.empty()) o << "data_path = " << c.data_path << "\n";
  if (!c.schema_path.empty()) o << "schema = " << c.schema_path << "\n";
  o << "split = " << c.split << "\n";
  o << "data_seed = " << c.data_seed << "\n";
  o << "synthetic_rows = " << c.synthetic_rows << "\n";
  o << "synthetic_domains = " << c.synthetic_domains << "\n";
  o << "synthetic_tasks = " << c.synthetic_tasks << "\n";
  o << "model = " << c.model << "\n";
  o << "shared_experts = " << c.shared_experts << "\n";
  o << "embedding_dim = " << c.embedding_dim << "\n";
  o << "domain_dim = " << c.domain_dim << "\n";
  o << "hidden_dim = " << c.hidden_dim << "\n";
  o << "expert_dim = " << c.expert_dim << "\n";
  o << "ablation = " << c.ablation << "\n";
  o << "epochs = " << c.epochs << "\n";
  o << "batch = " << c.batch << "\n";
  o << "eval_batch = " << c.eval_batch << "\n";
  o << "lr = " << exact(c.lr) << "\n";
  o << "weight_decay = " << exact(c.weight_decay) << "\n";
  o << "structure_lr = " << exact(c.structure_lr) << "\n";
  o << "lr_schedule = " << c.lr_schedule << "\n";
  o << "patience = " << c.patience << "\n";
  o << "automl = " << to_string(c.automl) << "\n";
  o << "fixed_value = " << exact(c.fixed_value) << "\n";
  o << "bilevel_every = " << c.bilevel_every << "\n";
  o << "seeds = ";
  for (std::size_t i = 0; i < c.seeds.size(); ++i) o << (i ? "," : "") << c.seeds[i];
  o << "\n";
  o << "threads = " << c.threads << "\n";
  o << "device = " << c.device << "\n";
  o << "out = " << c.out << "\n";
  return o.str();
}

const char* to_string(AutoMLMode m) {
  switch (m) {
    case AutoMLMode::official: return "official";
    case AutoMLMode::bilevel1: return "bilevel1";
    case AutoMLMode::bilevel2: return "bilevel2";
    case AutoMLMode::fixed: return "fixed";
  }
  return "?";
}

}  // namespace m3oe::train
