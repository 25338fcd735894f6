#include "m3oe/baselines/registry.hpp"

#include "m3oe/baselines/adatt.hpp"
#include "m3oe/baselines/m2m.hpp"
#include "m3oe/baselines/m3oe_variants.hpp"
#include "m3oe/baselines/mmoe.hpp"
#include "m3oe/baselines/ple.hpp"
#include "m3oe/baselines/run_modes.hpp"
#include "m3oe/baselines/shared_bottom.hpp"
#include "m3oe/baselines/star.hpp"
#include "m3oe/model.hpp"

#include <algorithm>
#include <stdexcept>

namespace m3oe::baselines {

namespace {

struct Family {
  const char* name;
  const char* label;  // as the paper writes it
};
// The multi-task networks that run in the three modes.
constexpr Family kFamilies[] = {
    {"shared-bottom", "Shared-Bottom"}, {"mmoe", "MMoE"}, {"ple", "PLE"},
    {"adatt", "AdaTT"},                 {"adatt-sp", "AdaTT-sp"},
};
struct Mode {
  const char* suffix;
  const char* upper;
  RunMode mode;
  const char* label;
};
constexpr Mode kModes[] = {
    {"mtl", "MTL", RunMode::per_domain, "one model per domain over its tasks"},
    {"mdl", "MDL", RunMode::per_task, "one model per task over all domains"},
    {"mdmt", "MDMT", RunMode::joint, "one model, one head per (domain, task) cell"},
};

NetFactory net_factory(const std::string& family, const BaselineConfig& c) {
  const std::vector<Index> path = c.path_dims();
  if (family == "shared-bottom")
    return [path](Index, int heads, Rng& rng) { return std::make_unique<SharedBottomNet>(path, heads, rng); };
  if (family == "mmoe")
    return [path, k = c.experts](Index, int heads, Rng& rng) {
      return std::make_unique<MMoENet>(path, heads, k, rng);
    };
  if (family == "ple")
    return [path, s = c.specific_experts, m = c.shared_experts](Index, int heads, Rng& rng) {
      return std::make_unique<PLENet>(path, heads, s, m, rng);
    };
  const int shared = family == "adatt" ? c.shared_experts : 0;  // adatt-sp: task units only
  return [path, s = c.specific_experts, shared](Index, int heads, Rng& rng) {
    return std::make_unique<AdaTTNet>(path, heads, s, shared, rng);
  };
}

}  // namespace

const std::vector<ModelInfo>& model_catalog() {
  static const std::vector<ModelInfo> catalog = [] {
    std::vector<ModelInfo> c;
    c.push_back({"mlp", "MLP: one separate model per (domain, task) cell"});
    for (const Family& f : kFamilies)
      for (const Mode& m : kModes)
        c.push_back({std::string(f.name) + "-" + m.suffix, std::string(f.label) + ": " + m.label});
    c.push_back({"adatt", "AdaTT (= adatt-mdmt)"});
    c.push_back({"adatt-sp", "AdaTT-sp, task-specific units only (= adatt-sp-mdmt)"});
    c.push_back({"star", "STAR (Sheng et al. 2021): star topology FCN, PN, auxiliary network"});
    c.push_back({"m2m", "M2M (Zhang et al. 2022): meta attention and meta towers"});
    c.push_back({"m3oe", "M3oE (Zhang et al. 2024)"});
    c.push_back({"m3oe-no-automl", "M3oE w/o AutoML: fusion weights fixed at fixed_value (0.5)"});
    c.push_back({"m3oe-concat", "M3oE with concatenated modules"});
    c.push_back({"m3oe-gated", "M3oE with fully gated modules"});
    c.push_back({"m3oe-no-domain", "M3oE without the domain module"});
    c.push_back({"m3oe-no-task", "M3oE without the task module"});
    c.push_back({"m3oe-no-both", "M3oE without the domain and task modules"});
    return c;
  }();
  return catalog;
}

std::vector<std::string> paper_models() {
  return {"mlp",        "shared-bottom-mtl", "shared-bottom-mdl", "shared-bottom-mdmt",
          "mmoe-mtl",   "mmoe-mdl",          "mmoe-mdmt",         "ple-mtl",
          "ple-mdl",    "ple-mdmt",          "star",              "adatt",
          "adatt-sp",   "m2m",               "m3oe",              "m3oe-no-automl",
          "m3oe-concat", "m3oe-gated",       "m3oe-no-domain",    "m3oe-no-task",
          "m3oe-no-both"};
}

bool is_model_name(const std::string& name) {
  const auto& c = model_catalog();
  return std::any_of(c.begin(), c.end(), [&](const ModelInfo& m) { return m.name == name; });
}

std::string model_names_text() {
  std::string s;
  for (const ModelInfo& m : model_catalog()) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

std::unique_ptr<RecModel> make_model(const std::string& name, const M3oEConfig& m3oe,
                                     const BaselineConfig& base, Rng& rng) {
  if (!is_model_name(name))
    throw std::invalid_argument("unknown model '" + name + "'; known models: " + model_names_text());
  // The M3oE family.
  if (name.rfind("m3oe", 0) == 0) {
    M3oEConfig c = m3oe;
    if (name == "m3oe-concat") return std::make_unique<M3oEVariant>(c, M3oEVariantKind::concat, rng);
    if (name == "m3oe-gated") return std::make_unique<M3oEVariant>(c, M3oEVariantKind::gated, rng);
    if (name == "m3oe-no-automl") c.fusion_mode = FusionMode::fixed;
    if (name == "m3oe-no-domain" || name == "m3oe-no-both") c.use_domain_module = false;
    if (name == "m3oe-no-task" || name == "m3oe-no-both") c.use_task_module = false;
    return std::make_unique<M3oE>(c, rng);
  }
  if (name == "star") return std::make_unique<Star>(base, rng);
  if (name == "m2m") return std::make_unique<M2M>(base, rng);
  if (name == "mlp")
    return std::make_unique<MultiHeadModel>("MLP", base, RunMode::per_cell, net_factory("shared-bottom", base), rng);
  // <family>-<mode>, or adatt / adatt-sp alone (= -mdmt).
  for (const Mode& m : kModes) {
    const std::string suffix = std::string("-") + m.suffix;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string family = name.substr(0, name.size() - suffix.size());
      for (const Family& f : kFamilies)
        if (family == f.name)
          return std::make_unique<MultiHeadModel>(std::string(f.label) + "-" + m.upper, base, m.mode,
                                                  net_factory(family, base), rng);
    }
  }
  const char* label = name == "adatt" ? "AdaTT" : "AdaTT-sp";
  return std::make_unique<MultiHeadModel>(label, base, RunMode::joint, net_factory(name, base), rng);
}

}  // namespace m3oe::baselines
