// Parity with PyTorch: the committed tests/data/parity_m3oe.bin holds a
// PyTorch run of the same model (scripts/parity_reference.py): weights, a
// 512-row batch, outputs, loss, every gradient, and the weights after 5 Adam
// steps. This test loads the weights into the C++ model by name, repeats the
// run and compares tensor by tensor, printing each tensor's differences:
//   max_abs = max |ours - torch|,  rel = max_abs / max |torch|
// Needs no torch: it only reads the file.
#include "m3oe/io/tensor_file.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/model.hpp"
#include "optim/adam.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

using namespace m3oe;

namespace {

constexpr int kParityVersion = 1;  // scripts/parity_reference.py PARITY_VERSION
const char* const kRegenerate =
    "regenerate it with: /usr/bin/python3 scripts/parity_reference.py (needs torch)";
const char* const kFeatures[] = {"user_id", "movie_id", "gender", "occupation",
                                 "zip", "cate_id", "domain_indicator"};

std::string fixture_path() { return std::string(M3OE_SOURCE_DIR) + "/tests/data/parity_m3oe.bin"; }

// The fixture's tensors; a file of another format or parity version throws
// a message that says how to regenerate it.
NamedTensors load_fixture(const std::string& path) {
  NamedTensors t;
  try {
    t = io::read_tensor_file(path);
  } catch (const io::TensorFileVersionError& e) {
    throw std::runtime_error(std::string(e.what()) + "; " + kRegenerate);
  }
  const Tensor* v = find_tensor(t, "meta.parity_version");
  if (!v || (*v)(0, 0) != kParityVersion)
    throw std::runtime_error(path + " has parity version " +
                             (v ? std::to_string(int((*v)(0, 0))) : std::string("(none)")) +
                             ", this test expects " + std::to_string(kParityVersion) + "; " +
                             kRegenerate);
  return t;
}

struct Diff {
  double max_abs = 0, rel = 0;
};

Diff compare(const Tensor& ours, const Tensor& ref) {
  REQUIRE(ours.rows() == ref.rows());
  REQUIRE(ours.cols() == ref.cols());
  Diff d;
  if (ref.size() == 0) return d;
  d.max_abs = (ours - ref).cwiseAbs().maxCoeff();
  const double scale = ref.cwiseAbs().maxCoeff();
  d.rel = scale > 0 ? d.max_abs / scale : d.max_abs;
  return d;
}

// Compares, prints a table line per tensor, checks the tolerance.
// Mode `per_tensor`: every tensor within `tolerance`. Mode `float32_band`:
// the group's worst tensor within max(tolerance, 2 x the worst PyTorch
// float32 error of the group): used for the weights after 5 Adam steps in
// the float build, where float32 rounding itself moves some weights by up to
// a few 1e-2 (see docs/model.md, "Parity with PyTorch").
struct Report {
  enum Mode { per_tensor, float32_band };
  Report(std::string title_, double tolerance_, Mode mode_, const NamedTensors& fixture_)
      : title(std::move(title_)), tolerance(tolerance_), mode(mode_), fixture(&fixture_) {}
  std::string title;
  double tolerance;
  Mode mode;
  const NamedTensors* fixture;
  std::string table;
  Diff worst;
  std::string worst_name;
  double worst_torch = 0;

  void add(const std::string& name, const Tensor& ours, const Tensor& ref) {
    const Diff d = compare(ours, ref);
    const double torch_rel = get_tensor(*fixture, "torch_f32." + name, "fixture")(0, 0);
    char line[200];
    std::snprintf(line, sizeof line, "  %-50s max_abs %.3e  rel %.3e  (torch f32 %.3e)\n",
                  name.c_str(), d.max_abs, d.rel, torch_rel);
    table += line;
    if (mode == per_tensor)
      CHECK_MESSAGE(d.rel <= tolerance, name << ": rel " << d.rel << " > " << tolerance);
    worst_torch = std::max(worst_torch, torch_rel);
    if (d.rel >= worst.rel) {
      worst = d;
      worst_name = name;
    }
  }
  void finish() const {
    MESSAGE(title << ", ours (" << (sizeof(real) == 4 ? "float" : "double")
                  << ") and PyTorch float32 against PyTorch float64:\n"
                  << table << "  worst: " << worst_name << " rel " << worst.rel
                  << "; worst PyTorch float32 rel " << worst_torch);
    if (mode == float32_band) {
      const double band = std::max(tolerance, 2 * worst_torch);
      CHECK_MESSAGE(worst.rel <= band, title << ": worst rel " << worst.rel << " (" << worst_name
                                              << ") outside the float32 band " << band);
    }
  }
};

data::Batch batch_from(const NamedTensors& t, int T) {
  const Tensor& sparse = get_tensor(t, "batch.sparse", "fixture");
  data::Batch b;
  b.rows = sparse.rows();
  for (Index f = 0; f < sparse.cols(); ++f) {
    IndexList ids(static_cast<std::size_t>(b.rows));
    for (Index i = 0; i < b.rows; ++i) ids[std::size_t(i)] = static_cast<std::int32_t>(sparse(i, f));
    b.sparse_ids.push_back(ids);
  }
  b.dense = get_tensor(t, "batch.dense", "fixture");
  const Tensor& domain = get_tensor(t, "batch.domain", "fixture");
  for (Index i = 0; i < b.rows; ++i) b.domain.push_back(static_cast<std::int32_t>(domain(i, 0)));
  b.labels = get_tensor(t, "batch.labels", "fixture");
  REQUIRE(b.labels.cols() == T);
  return b;
}

}  // namespace

TEST_CASE("M3oE forward, backward and 5 Adam steps match PyTorch") {
  NamedTensors fx;
  REQUIRE_NOTHROW(fx = load_fixture(fixture_path()));
  const Tensor& cfg = get_tensor(fx, "meta.config", "fixture");  // D, T, N, emb, rows, steps
  const int D = int(cfg(0, 0)), T = int(cfg(0, 1)), steps = int(cfg(0, 5));
  const Tensor& vocab = get_tensor(fx, "meta.vocab", "fixture");

  M3oEConfig c = M3oEConfig::from_schema(ml1m_reference_schema());
  REQUIRE(vocab.cols() == Index(c.schema.sparse.size()));
  for (std::size_t f = 0; f < c.schema.sparse.size(); ++f) {
    CHECK(c.schema.sparse[f].name == kFeatures[f]);
    c.schema.sparse[f].vocab = static_cast<std::int32_t>(vocab(0, Index(f)));
  }
  REQUIRE(c.num_domains() == D);
  REQUIRE(c.num_tasks() == T);
  c.num_shared_experts = int(cfg(0, 2));
  c.embedding_dim = Index(cfg(0, 3));
  Rng rng(0);
  M3oE model(c, rng);

  // 1. Same names in the same order, then the weights by name.
  NamedTensors init;
  for (const auto& [name, t] : fx)
    if (name.rfind("init.", 0) == 0) init.emplace_back(name.substr(5), t);
  const auto params = model.named_parameters();
  REQUIRE(init.size() == params.size());
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(init[i].first == params[i].first);
  model.load_state_dict(init);
  MESSAGE("loaded " << params.size() << " tensors, " << model.num_parameters() << " parameters");

  // 2. Forward and loss.
  const data::Batch batch = batch_from(fx, T);
  M3oEOutput out = model.forward(batch);
  Var loss = m3oe_loss(out.probs, batch, D, T);
  // The reference is stored as float32 (q16 for the large gradients and
  // deltas: at most 1/65,534 of a tensor's largest entry off), which bounds
  // what the double build can show.
  constexpr bool is_float = sizeof(real) == 4;
  Report outputs{"outputs", is_float ? 1e-5 : 1e-6, Report::per_tensor, fx};
  outputs.add("out.logits", out.logits.value(), get_tensor(fx, "out.logits", "fixture"));
  outputs.add("out.probs", out.probs.value(), get_tensor(fx, "out.probs", "fixture"));
  outputs.add("out.loss", loss.value(), get_tensor(fx, "out.loss", "fixture"));
  for (int t = 0; t < T; ++t) {
    const std::string name = "out.gate." + std::to_string(t);
    outputs.add(name, out.gates[std::size_t(t)], get_tensor(fx, name, "fixture"));
  }

  // 3. Gradients.
  loss.backward();
  Report grads{"gradients", is_float ? 1e-4 : 3e-5, Report::per_tensor, fx};
  for (const auto& [name, p] : params) grads.add("grad." + name, p.grad(), get_tensor(fx, "grad." + name, "fixture"));

  // 4. Five Adam steps on the same batch, all parameters in one group (the
  // authors' grouping: fusion weights included), lr 1e-2, weight decay 1e-5.
  const Tensor& adam = get_tensor(fx, "meta.adam", "fixture");
  CHECK(adam(0, 0) == real(1e-2f));  // stored as float32
  CHECK(adam(0, 1) == real(1e-5f));
  optim::Adam opt(model.parameters(), 1e-2, 1e-5);
  const Tensor& losses = get_tensor(fx, "train.losses", "fixture");
  REQUIRE(losses.cols() == steps);
  Report losses_report{"losses during training", is_float ? 1e-5 : 1e-6, Report::per_tensor, fx};
  Report weights{"weights after the Adam steps", is_float ? 1e-4 : 3e-5,
                 is_float ? Report::float32_band : Report::per_tensor, fx};
  for (int s = 0; s < steps; ++s) {
    if (s > 0) {
      opt.zero_grad();
      loss = m3oe_loss(model.forward(batch).probs, batch, D, T);
      loss.backward();
    }
    losses_report.add("train.losses[" + std::to_string(s) + "]", loss.value(), losses.block(0, s, 1, 1));
    opt.step();
  }
  {
    NoGradGuard no_grad;
    const Var final_loss = m3oe_loss(model.forward(batch).probs, batch, D, T);
    losses_report.add("train.final_loss", final_loss.value(), get_tensor(fx, "train.final_loss", "fixture"));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].first;
    const Tensor expected = init[i].second + get_tensor(fx, "delta5." + name, "fixture");
    weights.add("step5." + name, params[i].second.value(), expected);
  }

  outputs.finish();
  grads.finish();
  losses_report.finish();
  weights.finish();
}

TEST_CASE("a fixture of another version says how to regenerate it") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "m3oe_test_parity_version.bin").string();
  io::write_tensor_file(path, {{"meta.parity_version", Tensor::Constant(1, 1, kParityVersion + 1)}});
  CHECK_THROWS_WITH(load_fixture(path), doctest::Contains("/usr/bin/python3 scripts/parity_reference.py"));
  // A tensor file of another format version: patch the version field.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const std::uint32_t other = io::kTensorFileVersion + 1;
    f.seekp(8);
    f.write(reinterpret_cast<const char*>(&other), 4);
  }
  CHECK_THROWS_WITH(load_fixture(path), doctest::Contains("regenerate it with"));
  std::filesystem::remove(path);
}
