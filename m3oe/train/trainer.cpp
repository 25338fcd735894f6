#include "m3oe/train/trainer.hpp"

#include "autograd/ops.hpp"
#include "m3oe/baselines/registry.hpp"

#include "autograd/rng.hpp"
#include "m3oe/data/movielens.hpp"
#include "m3oe/data/synthetic.hpp"
#include "m3oe/data/table.hpp"
#include "m3oe/infer.hpp"
#include "m3oe/loss.hpp"
#include "m3oe/train/checkpoint.hpp"
#include "m3oe/train/progress.hpp"
#include "m3oe/train/results.hpp"
#include "m3oe/train/run_dir.hpp"
#include "m3oe/util/files.hpp"
#include "optim/adam.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace m3oe::train {

// ---------------------------------------------------------------- data, model

data::Splits load_data(const TrainConfig& cfg) {
  const std::uint64_t seed = cfg.data_seed;
  if (cfg.data == "synthetic") {
    data::SyntheticOptions o;
    o.domains = cfg.synthetic_domains;
    o.tasks = cfg.synthetic_tasks;
    o.rows = cfg.synthetic_rows;
    o.seed = seed;
    return data::make_synthetic(o);
  }
  if (cfg.data_path.empty())
    throw std::invalid_argument("data = " + cfg.data + " needs data_path (--data-path)");
  if (cfg.data == "movielens") {
    data::MovieLensOptions o;
    o.split = data::parse_movielens_split(cfg.split);
    o.seed = seed;
    return data::load_movielens(cfg.data_path, o);
  }
  if (cfg.schema_path.empty())
    throw std::invalid_argument("data = table needs a schema file (--schema)");
  data::TableOptions o;
  o.seed = seed;
  return data::load_table(cfg.data_path, cfg.schema_path, o);
}

M3oEConfig model_config(const TrainConfig& cfg, const data::Schema& schema) {
  M3oEConfig m = M3oEConfig::from_schema(schema);
  m.embedding_dim = cfg.embedding_dim;
  m.fcn_dims = {cfg.domain_dim, cfg.hidden_dim, cfg.hidden_dim, cfg.expert_dim};
  m.num_shared_experts = cfg.shared_experts;
  if (cfg.automl == AutoMLMode::fixed) {
    m.fusion_mode = FusionMode::fixed;
    m.fixed_weight = static_cast<real>(cfg.fixed_value);
  }
  m.use_domain_module = !(cfg.ablation == "no_domain" || cfg.ablation == "no_both");
  m.use_task_module = !(cfg.ablation == "no_task" || cfg.ablation == "no_both");
  m.validate();
  return m;
}

baselines::BaselineConfig baseline_config(const TrainConfig& cfg, const data::Schema& schema) {
  baselines::BaselineConfig b;
  b.schema = schema;
  b.embedding_dim = cfg.embedding_dim;
  b.hidden = {cfg.domain_dim, cfg.hidden_dim};
  b.repr_dim = cfg.expert_dim;
  b.experts = cfg.shared_experts;
  b.validate();
  return b;
}

std::unique_ptr<RecModel> make_model(const TrainConfig& cfg, const data::Schema& schema, Rng& rng) {
  M3oEConfig m = model_config(cfg, schema);
  if (cfg.model == "m3oe-no-automl") m.fixed_weight = static_cast<real>(cfg.fixed_value);
  return baselines::make_model(cfg.model, m, baseline_config(cfg, schema), rng);
}

// ---------------------------------------------------------------- evaluation

std::vector<float> predict(const RecModel& model, const data::Dataset& ds, std::int64_t batch) {
  NoGradGuard no_grad;
  const int T = ds.schema.num_tasks();
  std::vector<float> probs(static_cast<std::size_t>(ds.rows * T));
  std::vector<std::int64_t> ids;
  data::Batch b;
  Predictor predictor(model);  // the parameter-only values once for all batches
  for (std::int64_t start = 0; start < ds.rows; start += batch) {
    const std::int64_t n = std::min(batch, ds.rows - start);
    ids.resize(static_cast<std::size_t>(n));
    std::iota(ids.begin(), ids.end(), start);
    data::make_batch(ds, ids, b);
    const Tensor p = predictor.probs(b);
    for (Index i = 0; i < p.rows(); ++i)
      for (int t = 0; t < T; ++t) probs[static_cast<std::size_t>((start + i) * T + t)] = float(p(i, t));
  }
  return probs;
}

metrics::Evaluation evaluate(const RecModel& model, const data::Dataset& ds, std::int64_t batch) {
  const std::vector<float> probs = predict(model, ds, batch);
  return metrics::evaluate(probs, ds.labels, ds.domain, ds.schema);
}

// ---------------------------------------------------------------- training

namespace {

// Every epoch's shuffle draws from its own Rng, seeded from (seed, epoch) by
// the splitmix64 finaliser. So the random state at an epoch boundary is just
// the epoch number, and a resumed run continues the very same stream.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<std::int64_t> shuffled_rows(std::int64_t n, Rng& rng) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  rng.shuffle(std::span<std::int64_t>(ids));
  return ids;
}

double scheduled_lr(const TrainConfig& cfg, int epoch) {
  if (cfg.lr_schedule == "none") return cfg.lr;
  // step:<every>:<gamma>: lr * gamma^floor(epoch / every), as torch's StepLR.
  int every = 0;
  double gamma = 0;
  if (std::sscanf(cfg.lr_schedule.c_str(), "step:%d:%lf", &every, &gamma) != 2 || every <= 0)
    throw std::invalid_argument("lr_schedule '" + cfg.lr_schedule + "': expected step:<epochs>:<gamma>");
  return cfg.lr * std::pow(gamma, epoch / every);
}

Var batch_loss(const RecModel& model, const data::Batch& b) {
  const ModelOutput out = model.forward(b);
  return m3oe_loss(out.probs, b, model.num_domains(), model.num_tasks());
}

// Evaluation in eval mode (STAR's normalisation uses its moving averages),
// then back to training mode.
metrics::Evaluation evaluate_now(RecModel& model, const data::Dataset& ds, std::int64_t batch) {
  model.eval();
  metrics::Evaluation e = evaluate(model, ds, batch);
  model.train();
  return e;
}

// Rows of a dataset served as batches in a shuffled cycle (validation batches
// of the bilevel modes).
class BatchCycle {
 public:
  BatchCycle(const data::Dataset& ds, std::int64_t batch, std::uint64_t seed)
      : ds_(ds), batch_(std::min(batch, ds.rows)), rng_(seed) {}
  const data::Batch& next() {
    if (pos_ + batch_ > static_cast<std::int64_t>(order_.size())) {
      order_ = shuffled_rows(ds_.rows, rng_);
      pos_ = 0;
    }
    data::make_batch(ds_, std::span(order_).subspan(static_cast<std::size_t>(pos_),
                                                    static_cast<std::size_t>(batch_)),
                     b_);
    pos_ += batch_;
    return b_;
  }

 private:
  const data::Dataset& ds_;
  std::int64_t batch_;
  Rng rng_;
  std::vector<std::int64_t> order_;
  std::int64_t pos_ = 0;
  data::Batch b_;
};

std::vector<Tensor> values_of(const std::vector<Var>& ps) {
  std::vector<Tensor> v;
  for (const Var& p : ps) v.push_back(p.value());
  return v;
}
std::vector<Tensor> grads_of(const std::vector<Var>& ps) {
  std::vector<Tensor> g;
  for (const Var& p : ps) g.push_back(p.grad());  // zeros where there is none
  return g;
}

// DARTS' second-order architecture gradient (Liu et al. 2019, Eq. 7-8) with
// its finite-difference Hessian-vector product:
//   w'  = w - xi * dL_train/dw                         (one virtual SGD step)
//   g_a = dL_val(w', a)/da - xi * [dL_train(w+, a)/da - dL_train(w-, a)/da] / (2 eps)
//   w+- = w +- eps * dL_val(w', a)/dw',  eps = 0.01 / ||dL_val/dw'||
// Leaves g_a in the structure parameters' gradients and w unchanged.
void darts_second_order_grad(RecModel& model, const data::Batch& train_b, const data::Batch& valid_b,
                             double xi) {
  const std::vector<Var> W = model.weight_parameters();
  const std::vector<Var> A = model.structure_parameters();
  const std::vector<Tensor> w0 = values_of(W);
  auto set_weights = [&](const std::vector<Tensor>* dir, double step) {
    for (std::size_t i = 0; i < W.size(); ++i) {
      Var p = W[i];
      p.value() = w0[i];
      if (dir) p.value() += real(step) * (*dir)[i];
    }
  };
  model.zero_grad();
  batch_loss(model, train_b).backward();
  const std::vector<Tensor> g_train = grads_of(W);
  for (std::size_t i = 0; i < W.size(); ++i) {
    Var p = W[i];
    p.value() -= real(xi) * g_train[i];
  }
  model.zero_grad();
  batch_loss(model, valid_b).backward();
  const std::vector<Tensor> ga_val = grads_of(A);
  const std::vector<Tensor> gw_val = grads_of(W);
  double norm2 = 0;
  for (const Tensor& g : gw_val) norm2 += double(g.squaredNorm());
  const double eps = 0.01 / std::max(std::sqrt(norm2), 1e-12);
  auto structure_grad_at = [&](double sign) {
    set_weights(&gw_val, sign * eps);
    model.zero_grad();
    batch_loss(model, train_b).backward();
    return grads_of(A);
  };
  const std::vector<Tensor> g_plus = structure_grad_at(+1);
  const std::vector<Tensor> g_minus = structure_grad_at(-1);
  set_weights(nullptr, 0);
  model.zero_grad();
  for (std::size_t i = 0; i < A.size(); ++i)
    A[i].node()->grad_buffer() = ga_val[i] - real(xi / (2 * eps)) * (g_plus[i] - g_minus[i]);
}

}  // namespace

void bilevel_structure_grad(RecModel& model, AutoMLMode mode, const data::Batch& train_batch,
                            const data::Batch& valid_batch, double xi) {
  if (mode == AutoMLMode::bilevel1) {
    model.zero_grad();
    batch_loss(model, valid_batch).backward();
  } else if (mode == AutoMLMode::bilevel2) {
    darts_second_order_grad(model, train_batch, valid_batch, xi);
  } else {
    throw std::invalid_argument(std::string("bilevel_structure_grad: automl mode '") +
                                to_string(mode) + "' has no bilevel step");
  }
}

bool validation_has_auc(const data::Dataset& valid) {
  const int T = valid.schema.num_tasks(), D = valid.schema.num_domains();
  // seen[(d*T + t)*2 + label]
  std::vector<char> seen(static_cast<std::size_t>(D * T * 2), 0);
  for (std::int64_t i = 0; i < valid.rows; ++i)
    for (int t = 0; t < T; ++t) {
      const int d = valid.domain[static_cast<std::size_t>(i)];
      const bool pos = valid.labels[static_cast<std::size_t>(i * T + t)] > 0.5f;
      seen[static_cast<std::size_t>((d * T + t) * 2 + pos)] = 1;
    }
  for (int c = 0; c < D * T; ++c)
    if (seen[static_cast<std::size_t>(2 * c)] && seen[static_cast<std::size_t>(2 * c + 1)]) return true;
  return false;
}

namespace {

const std::string& meta_at(const Checkpoint& ck, const std::string& key, const std::string& path) {
  const auto it = ck.meta.find(key);
  if (it == ck.meta.end()) throw std::runtime_error(path + ": the checkpoint has no '" + key + "'");
  return it->second;
}

// The model, its optimizers and (resuming) the checkpoint they were loaded
// from: everything train_run builds before its first write.
struct RunSetup {
  TrainConfig cfg;
  std::unique_ptr<RecModel> model;
  std::vector<Var> structure;  // the AutoML parameters; empty for most models
  std::unique_ptr<optim::Adam> main_opt, structure_opt;
  std::map<std::string, std::string> identity;
  std::string fingerprint;
  std::optional<Checkpoint> resumed;
};

RunSetup setup_run(const TrainConfig& config, const data::Splits& splits, std::uint64_t seed,
                   const std::string& run_dir) {
  RunSetup s;
  s.cfg = config;
  TrainConfig& cfg = s.cfg;
  resolve_defaults(cfg);
  const data::Dataset& train = splits.train;
  if (train.rows == 0) throw std::invalid_argument("the training split is empty");
  if (splits.valid.rows == 0) throw std::invalid_argument("the validation split is empty");
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    const double lr = scheduled_lr(cfg, epoch);
    if (!std::isfinite(lr) || lr < 0)
      throw std::invalid_argument("the learning rate of epoch " + std::to_string(epoch + 1) + " is " +
                                  std::to_string(lr) + " (lr " + std::to_string(cfg.lr) + ", lr_schedule " +
                                  cfg.lr_schedule + "): it must be finite and >= 0");
  }

  Rng init_rng(seed);
  s.model = make_model(cfg, train.schema, init_rng);
  RecModel& model = *s.model;
  // The AutoML modes act on structure parameters: M3oE's fusion weights in
  // learned mode; models without any train their weights only.
  s.structure = model.structure_parameters();

  // Optimizer grouping. official: the authors' Adam holds every parameter
  // (their `~` on a bool) and a second Adam steps the fusion weights once per
  // epoch. bilevel: the fusion weights only in their own Adam. fixed: none.
  std::vector<optim::ParamGroup> main_groups{{model.weight_parameters(), cfg.lr, cfg.weight_decay, "weights"}};
  if (cfg.automl == AutoMLMode::official && !s.structure.empty())
    main_groups.push_back({s.structure, cfg.lr, cfg.weight_decay, "structure"});
  s.main_opt = std::make_unique<optim::Adam>(main_groups);
  if (!s.structure.empty()) s.structure_opt = std::make_unique<optim::Adam>(s.structure, cfg.structure_lr, 0.0);

  s.identity = run_identity(cfg, seed);
  s.fingerprint = data_fingerprint(splits);
  const std::string ckpt_path = run_dir + "/checkpoint.bin";
  if (cfg.resume && util::file_exists(ckpt_path)) {
    Checkpoint ck = load_checkpoint(ckpt_path);
    check_identity(ck, ckpt_path, s.identity, s.fingerprint, "this command");
    model.load_state_dict(select_prefixed(ck.tensors, "model."));
    s.main_opt->load_state_dict(select_prefixed(ck.tensors, "opt.main."));
    if (s.structure_opt) s.structure_opt->load_state_dict(select_prefixed(ck.tensors, "opt.structure."));
    for (const char* key : {"next_epoch", "best_epoch", "bad_epochs", "best_score", "stopped_early"})
      meta_at(ck, key, ckpt_path);
    s.resumed = std::move(ck);
  }
  return s;
}

// Throws if a tensor of `state` holds a NaN or an infinity.
void check_finite(const NamedTensors& state, const std::string& when, const std::string& kept) {
  for (const auto& [name, t] : state)
    if (!t.allFinite())
      throw std::runtime_error(when + ": '" + name + "' holds NaN or infinite values; training stopped" + kept);
}

}  // namespace

void check_run(const TrainConfig& cfg, const data::Splits& splits, std::uint64_t seed,
               const std::string& run_dir) {
  setup_run(cfg, splits, seed, run_dir);
}

RunResult train_run(const TrainConfig& config, const data::Splits& splits, std::uint64_t seed,
                    const std::string& run_dir) {
  RunSetup setup = setup_run(config, splits, seed, run_dir);
  const TrainConfig& cfg = setup.cfg;
  RecModel& model = *setup.model;
  optim::Adam& main_opt = *setup.main_opt;
  optim::Adam* structure_opt = setup.structure_opt.get();
  const data::Dataset& train = splits.train;
  util::make_dirs(run_dir);
  const std::string ckpt_path = run_dir + "/checkpoint.bin";

  // Epochs are ranked by mean validation AUC; when no validation cell has
  // both classes there is no AUC, and the lowest mean validation log loss
  // ranks them instead (said here, and in results.json's "selection").
  const bool by_auc = validation_has_auc(splits.valid);
  if (!by_auc)
    std::fprintf(stderr,
                 "warning: no (domain, task) cell of the validation split has both a positive and a "
                 "negative label, so no validation AUC can rank the epochs: the best epoch is the one "
                 "with the lowest mean validation log loss\n");
  auto score_of = [&](const metrics::Evaluation& v) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    return by_auc ? v.mean_auc.value_or(-inf) : -v.mean_logloss.value_or(inf);
  };

  RunLog log(train.schema, model.has_fusion_weights());
  int start_epoch = 0, best_epoch = -1, bad_epochs = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  NamedTensors best_state = model.state_dict();
  bool stopped_early = false;

  if (setup.resumed) {
    const Checkpoint& ck = *setup.resumed;
    best_state = select_prefixed(ck.tensors, "best.");
    start_epoch = std::stoi(ck.meta.at("next_epoch"));
    best_epoch = std::stoi(ck.meta.at("best_epoch"));
    bad_epochs = std::stoi(ck.meta.at("bad_epochs"));
    best_score = std::stod(ck.meta.at("best_score"));
    stopped_early = ck.meta.at("stopped_early") == "1";
    log.restore(ck.meta);
    if (!cfg.quiet) std::printf("resumed %s at epoch %d\n", run_dir.c_str(), start_epoch);
  }
  // What an error says about the checkpoint left behind.
  auto kept = [&]() -> std::string {
    return util::file_exists(ckpt_path) ? "; " + ckpt_path + " holds the last good epoch (" +
                                              std::to_string(log.history().size()) + ")"
                                        : "; no checkpoint was written";
  };

  BatchCycle valid_cycle(splits.valid, cfg.batch, mix_seed(seed, 1'000'000));
  data::Batch b;
  const bool bar = !cfg.quiet && stderr_is_terminal();
  for (int epoch = start_epoch; epoch < cfg.epochs && !stopped_early; ++epoch) {
    const double lr = scheduled_lr(cfg, epoch);
    for (auto& g : main_opt.param_groups()) g.lr = lr;
    Rng epoch_rng(mix_seed(seed, static_cast<std::uint64_t>(epoch)));
    const std::vector<std::int64_t> order = shuffled_rows(train.rows, epoch_rng);

    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs),
                      train.rows, bar);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t steps = 0;
    const std::int64_t steps_per_epoch = (train.rows + cfg.batch - 1) / cfg.batch;
    for (std::int64_t start = 0; start < train.rows; start += cfg.batch, ++steps) {
      const std::int64_t n = std::min(cfg.batch, train.rows - start);
      data::make_batch(train, std::span(order).subspan(static_cast<std::size_t>(start),
                                                       static_cast<std::size_t>(n)),
                       b);
      // A step that fails (a NaN loss, a NaN probability the loss refuses)
      // stops the run, naming where; the last checkpoint stays as it was.
      try {
        // AutoML step first (DARTS order), on a validation batch.
        if (structure_opt && steps % cfg.bilevel_every == 0 &&
            (cfg.automl == AutoMLMode::bilevel1 || cfg.automl == AutoMLMode::bilevel2)) {
          bilevel_structure_grad(model, cfg.automl, b, valid_cycle.next(), lr);
          structure_opt->step();
        }
        model.zero_grad();
        Var loss = batch_loss(model, b);
        const double loss_value = double(loss.item());
        if (!std::isfinite(loss_value))
          throw std::runtime_error("the training loss is " + std::to_string(loss_value) + " (a smaller lr?)");
        loss.backward();
        main_opt.step();
        loss_sum += loss_value;
      } catch (const std::exception& err) {
        throw std::runtime_error(run_dir + ": epoch " + std::to_string(epoch + 1) + ", step " +
                                 std::to_string(steps + 1) + " of " + std::to_string(steps_per_epoch) +
                                 ": " + err.what() + "; training stopped" + kept());
      }
      progress.update(start + n, loss_sum / double(steps + 1));
    }
    // official: one extra Adam step on the fusion weights after the epoch,
    // on one training batch, with a plain mean BCE over its [B,T] labels.
    if (structure_opt && cfg.automl == AutoMLMode::official) {
      const std::int64_t n = std::min(cfg.batch, train.rows);
      data::make_batch(train, std::span(order).first(static_cast<std::size_t>(n)), b);
      model.zero_grad();
      bce(model.forward(b).probs, b.labels).backward();
      structure_opt->step();
    }
    model.zero_grad();
    progress.finish();
    // No checkpoint with a NaN in it: the last one stays the last good one.
    const std::string after = run_dir + ": after epoch " + std::to_string(epoch + 1);
    const NamedTensors state = model.state_dict();
    check_finite(state, after, kept());
    check_finite(main_opt.state_dict(), after + ", optimizer state", kept());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    EpochLog e;
    e.epoch = epoch;
    e.train_loss = loss_sum / double(std::max<std::int64_t>(steps, 1));
    e.seconds = secs;
    e.rows_per_second = double(train.rows) / secs;
    e.lr = lr;
    e.fusion = model.fusion_weights();
    const metrics::Evaluation valid = evaluate_now(model, splits.valid, cfg.eval_batch);
    e.valid_auc = valid.mean_auc;
    e.valid_logloss = valid.mean_logloss;
    for (const auto& c : valid.cells) e.cell_auc.push_back(c.auc);
    const double score = score_of(valid);
    if (score > best_score) {
      best_score = score;
      best_epoch = epoch;
      bad_epochs = 0;
      best_state = model.state_dict();
    } else if (++bad_epochs >= cfg.patience) {
      stopped_early = true;
    }
    log.add_epoch(e, best_epoch == epoch);
    if (!cfg.quiet) std::printf("%s\n", log.epoch_line(e).c_str()), std::fflush(stdout);

    Checkpoint ck;
    ck.meta = log.to_meta();
    record_identity(ck, setup.identity, setup.fingerprint);
    ck.meta["seed"] = std::to_string(seed);
    ck.meta["next_epoch"] = std::to_string(epoch + 1);
    ck.meta["best_epoch"] = std::to_string(best_epoch);
    ck.meta["bad_epochs"] = std::to_string(bad_epochs);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", best_score);
    ck.meta["best_score"] = buf;
    ck.meta["selection"] = by_auc ? "valid_mean_auc" : "valid_mean_logloss";
    ck.meta["stopped_early"] = stopped_early ? "1" : "0";
    append_prefixed(ck.tensors, "model.", state);
    append_prefixed(ck.tensors, "best.", best_state);
    append_prefixed(ck.tensors, "opt.main.", main_opt.state_dict());
    if (structure_opt) append_prefixed(ck.tensors, "opt.structure.", structure_opt->state_dict());
    save_checkpoint(ckpt_path, ck);
    log.write_files(run_dir);
  }

  // Restore the best weights and measure them on the test split.
  model.load_state_dict(best_state);
  model.eval();
  RunResult r;
  r.seed = seed;
  r.split = splits.description;
  r.best_epoch = best_epoch;
  r.selection = by_auc ? "valid_mean_auc" : "valid_mean_logloss";
  r.stopped_early = stopped_early;
  r.history = log.history();
  r.train_seconds = log.train_seconds();
  r.best_valid = evaluate(model, splits.valid, cfg.eval_batch);
  r.test = evaluate(model, splits.test, cfg.eval_batch);
  write_results_json(run_dir + "/results.json", cfg, r, model);
  return r;
}

}  // namespace m3oe::train
