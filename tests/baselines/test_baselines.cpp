// The baselines' shapes and routing, the model registry, parameter counts
// for the MovieLens-1M schema (docs/baselines.md lists the same numbers),
// STAR's normalisation, and the JSON reader that `m3oe compare` uses.
#include "autograd/ops.hpp"
#include "baseline_fixtures.hpp"
#include "m3oe/baselines/run_modes.hpp"
#include "m3oe/baselines/star.hpp"
#include "m3oe/infer.hpp"
#include "autograd/backend/threads.hpp"
#include "m3oe/train/config.hpp"
#include "m3oe/train/trainer.hpp"
#include "m3oe/util/json.hpp"
#include "m3oe/util/json_read.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>

using namespace m3oe;

TEST_CASE("every baseline maps a batch to [B,T] logits and probabilities") {
  for (int D : {1, 3})
    for (int T : {1, 2}) {
      const data::Schema s = testing::small_schema(D, T);
      for (const std::string& name : testing::baseline_names()) {
        CAPTURE(name);
        CAPTURE(D);
        CAPTURE(T);
        Rng rng(7);
        auto model = testing::tiny_model(name, s, rng);
        CHECK(model->num_domains() == D);
        CHECK(model->num_tasks() == T);
        const data::Batch b = testing::random_batch(s, 23, rng);
        const ModelOutput out = model->forward(b);
        REQUIRE(out.logits.rows() == 23);
        REQUIRE(out.logits.cols() == T);
        REQUIRE(out.probs.rows() == 23);
        REQUIRE(out.probs.cols() == T);
        CHECK(out.rows_by_domain.size() == std::size_t(D));
        CHECK(out.logits.value().allFinite());
        CHECK((out.probs.value().array() > 0).all());
        CHECK((out.probs.value().array() < 1).all());
        // The loss reaches every trainable parameter. (With one domain or one
        // task some gates choose among a single expert: softmax = 1, no gradient.)
        if (D == 3 && T == 2) {
          sum(out.probs).backward();
          for (const auto& [pname, p] : model->named_parameters())
            if (p.requires_grad()) CHECK_MESSAGE(p.has_grad(), pname << " gets no gradient");
        }
      }
    }
}

TEST_CASE("a row's prediction does not depend on the other rows of its batch (eval mode)") {
  const data::Schema s = testing::small_schema(3, 2);
  for (const std::string& name : testing::baseline_names()) {
    CAPTURE(name);
    Rng rng(8);
    auto model = testing::tiny_model(name, s, rng);
    model->eval();  // STAR's normalisation uses its moving averages, not the batch's
    NoGradGuard g;
    const data::Batch b = testing::random_batch(s, 30, rng);
    const Tensor all = model->forward(b).probs.value();
    const IndexList pick = {3, 17, 5, 29, 0};
    const Tensor part = model->forward(testing::subset(b, pick)).probs.value();
    for (std::size_t k = 0; k < pick.size(); ++k)
      for (Index t = 0; t < 2; ++t) CHECK(part(Index(k), t) == doctest::Approx(all(pick[k], t)).epsilon(1e-5));
    // A batch of one domain only.
    IndexList d1;
    for (std::size_t i = 0; i < b.domain.size(); ++i)
      if (b.domain[i] == 1) d1.push_back(std::int32_t(i));
    REQUIRE(!d1.empty());
    const Tensor only1 = model->forward(testing::subset(b, d1)).probs.value();
    for (std::size_t k = 0; k < d1.size(); ++k)
      CHECK(only1(Index(k), 1) == doctest::Approx(all(d1[k], 1)).epsilon(1e-5));
  }
}

TEST_CASE("run modes: the number of separate models, each with its own embedding") {
  const data::Schema s = testing::small_schema(3, 2);
  const std::map<std::string, std::size_t> members = {
      {"mlp", 6}, {"mmoe-mtl", 3}, {"mmoe-mdl", 2}, {"mmoe-mdmt", 1}};
  for (const auto& [name, n] : members) {
    Rng rng(9);
    auto model = testing::tiny_model(name, s, rng);
    const auto* mh = dynamic_cast<const baselines::MultiHeadModel*>(model.get());
    REQUIRE(mh != nullptr);
    CHECK(mh->num_members() == n);
    int tables = 0;
    for (const auto& [pname, p] : model->named_parameters())
      tables += pname.find("embed_dict.user.weight") != std::string::npos;
    CHECK(tables == int(n));
  }
  // Per-domain models see only their domain's rows: a batch of domain 0
  // leaves domain 1's model without gradient.
  Rng rng(10);
  auto model = testing::tiny_model("shared-bottom-mtl", s, rng);
  data::Batch b = testing::random_batch(s, 12, rng);
  for (auto& d : b.domain) d = 0;
  sum(model->forward(b).probs).backward();
  CHECK(model->parameter("model.0.net.bottom.domain_specific.0.weight").has_grad());
  CHECK_FALSE(model->parameter("model.1.net.bottom.domain_specific.0.weight").has_grad());
  CHECK_FALSE(model->parameter("model.1.embedding.embed_dict.user.weight").has_grad());
}

TEST_CASE("STAR's partitioned normalisation: per-domain batch statistics, moving averages at eval") {
  baselines::PartitionedNorm pn(3, 2, /*momentum=*/0.5);
  Tensor x(4, 3);
  x << 1, 2, 3, 3, 2, 1, 5, 0, 2, 7, 4, 0;
  const Tensor y = pn.forward(Var(x), 1).value();  // training mode: the rows' own statistics
  for (Index j = 0; j < 3; ++j) {
    CHECK(y.col(j).mean() == doctest::Approx(0).epsilon(1e-5));
    const double var = (y.col(j).array() * y.col(j).array()).mean();
    CHECK(var == doctest::Approx(1).epsilon(1e-3));
  }
  // Domain 1's moving mean moved half way from 0 to the batch mean; domain 0's did not.
  CHECK(pn.parameter("running_mean.1").value()(0, 0) == doctest::Approx(0.5 * x.col(0).mean()));
  CHECK(pn.parameter("running_mean.0").value()(0, 0) == 0);
  CHECK_FALSE(pn.parameter("running_mean.1").requires_grad());
  pn.eval();
  const Tensor z = pn.forward(Var(x), 0).value();  // mean 0, variance 1: y = x / sqrt(1 + eps)
  CHECK(z(2, 0) == doctest::Approx(5.0 / std::sqrt(1 + 1e-5)));
}

TEST_CASE("STAR's moving averages travel in the state dict (checkpoints restore eval outputs)") {
  const data::Schema s = testing::small_schema(3, 2);
  Rng rng(12);
  auto trained = testing::tiny_model("star", s, rng);
  for (int i = 0; i < 4; ++i) trained->forward(testing::random_batch(s, 16, rng));  // moves the averages
  Rng other(13);
  auto restored = testing::tiny_model("star", s, other);
  restored->load_state_dict(trained->state_dict());
  trained->eval();
  restored->eval();
  NoGradGuard g;
  const data::Batch b = testing::random_batch(s, 20, rng);
  CHECK((trained->forward(b).probs.value().array() == restored->forward(b).probs.value().array()).all());
}

TEST_CASE("the model names: the registry, the `model` key, clear errors") {
  for (const std::string& name : baselines::paper_models()) CHECK(baselines::is_model_name(name));
  CHECK_FALSE(baselines::is_model_name("mmoe"));
  const data::Schema s = testing::small_schema(2, 2);
  Rng rng(1);
  CHECK_THROWS_WITH_AS(testing::tiny_model("mmo-mdmt", s, rng),
                       doctest::Contains("unknown model 'mmo-mdmt'; known models: mlp"),
                       std::invalid_argument);
  train::TrainConfig cfg;
  train::apply_settings(cfg, {{"model", "ple-mdl"}}, "test");
  CHECK(cfg.model == "ple-mdl");
  CHECK(train::to_text(cfg).find("model = ple-mdl\n") != std::string::npos);
  CHECK_THROWS_WITH_AS(train::apply_settings(cfg, {{"model", "nope"}}, "cfg.txt"),
                       doctest::Contains("cfg.txt: unknown model 'nope'"), std::invalid_argument);
  // The variants need all three modules.
  M3oEConfig m = testing::tiny_m3oe(s);
  m.use_task_module = false;
  CHECK_THROWS_WITH_AS(baselines::make_model("m3oe-gated", m, testing::tiny_baseline(s), rng),
                       doctest::Contains("apply to m3oe only"), std::invalid_argument);
  // Structure parameters: M3oE's four, the concat variant's two betas, none elsewhere.
  CHECK(testing::tiny_model("m3oe", s, rng)->structure_parameters().size() == 4);
  CHECK(testing::tiny_model("m3oe-concat", s, rng)->structure_parameters().size() == 2);
  CHECK(testing::tiny_model("m3oe-no-automl", s, rng)->structure_parameters().empty());
  CHECK(testing::tiny_model("m3oe-gated", s, rng)->structure_parameters().empty());
  CHECK_FALSE(testing::tiny_model("m3oe-gated", s, rng)->has_fusion_weights());
  auto concat = testing::tiny_model("m3oe-concat", s, rng);
  CHECK(concat->has_fusion_weights());
  CHECK(concat->fusion_weights().beta_d == doctest::Approx(0.7310585786));  // sigmoid(1)
  CHECK(concat->fusion_weights().alpha_d == 0);
  CHECK(testing::tiny_model("mmoe-mdmt", s, rng)->structure_parameters().empty());
}

TEST_CASE("infer_probs: the forward's probabilities, the same bits for any thread count") {
  const data::Schema s = testing::small_schema(3, 2);
  std::vector<std::string> names = testing::baseline_names();
  names.push_back("m3oe");
  // 300 rows: three slices of 128, 128 and 44 rows. 100 rows: one slice.
  for (Index rows : {Index(300), Index(100)})
    for (const std::string& name : names) {
      CAPTURE(name);
      CAPTURE(rows);
      Rng rng(11);
      auto model = testing::tiny_model(name, s, rng);
      const data::Batch b = testing::random_batch(s, rows, rng);
      model->eval();
      Tensor whole;
      {
        NoGradGuard g;
        whole = model->forward(b).probs.value();
      }
      std::vector<Tensor> by_threads;
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        by_threads.push_back(infer_probs(*model, b));
      }
      set_num_threads(0);
      REQUIRE(by_threads[0].rows() == rows);
      REQUIRE(by_threads[0].cols() == 2);
      CHECK((by_threads[0] - whole).cwiseAbs().maxCoeff() <= 1e-6);
      CHECK(by_threads[1] == by_threads[0]);
      CHECK(by_threads[2] == by_threads[0]);
    }
  CHECK(grad_enabled());  // switched off inside only

  // Training mode: STAR normalises with the batch's statistics, so the batch
  // is not split and the result is the whole forward's.
  Rng rng(12);
  auto star = testing::tiny_model("star", s, rng);
  const data::Batch b = testing::random_batch(s, 300, rng);
  Tensor whole;
  {
    NoGradGuard g;
    whole = star->forward(b).probs.value();
  }
  set_num_threads(2);
  CHECK(infer_probs(*star, b) == whole);
  set_num_threads(0);
  CHECK(infer_slice_rows(100) == 128);
  CHECK(infer_slice_rows(256) == 128);
  CHECK(infer_slice_rows(4096) == 512);
  CHECK(infer_slice_rows(40960) == 640);
}

TEST_CASE("precompute: a forward reusing the parameter-only values is the plain forward, bit for bit") {
  const data::Schema s = testing::small_schema(3, 2);
  std::vector<std::string> names = testing::baseline_names();
  names.push_back("m3oe");
  for (const std::string& name : names) {
    CAPTURE(name);
    Rng rng(21);
    auto model = testing::tiny_model(name, s, rng);
    const data::Batch b = testing::random_batch(s, 50, rng);
    model->eval();
    NoGradGuard g;
    const auto pre = model->precompute();
    // Twice with the same values: nothing in them is used up by a forward.
    for (int repeat = 0; repeat < 2; ++repeat)
      CHECK(model->forward_with(b, pre.get()).probs.value() == model->forward(b).probs.value());
    CHECK(model->forward_with(b, nullptr).probs.value() == model->forward(b).probs.value());
  }

  // M3oE has such values; they are guarded against misuse.
  Rng rng(22);
  auto m3oe = testing::tiny_model("m3oe", s, rng);
  auto other = testing::tiny_model("m3oe", s, rng);
  const data::Batch b = testing::random_batch(s, 50, rng);
  std::unique_ptr<const RecModel::Precomputed> constants;
  {
    NoGradGuard g;
    constants = m3oe->precompute();
  }
  REQUIRE(constants != nullptr);
  CHECK(constants->model == m3oe.get());
  CHECK_FALSE(constants->with_grad);
  // With gradients on, constants would train nothing: refused.
  CHECK_THROWS_WITH(m3oe->forward_with(b, constants.get()), doctest::Contains("without gradients"));
  {
    NoGradGuard g;
    CHECK_THROWS_WITH(other->forward_with(b, constants.get()), doctest::Contains("another model's"));
  }
  // Precomputed with gradients: part of the graph, the same gradients as a
  // plain forward's.
  const auto graph_pre = m3oe->precompute();
  CHECK(graph_pre->with_grad);
  auto grads_of = [&](const ModelOutput& out) {
    m3oe->zero_grad();
    sum(out.logits).backward();
    std::vector<Tensor> grads;
    for (const Var& p : m3oe->parameters())
      grads.push_back(p.has_grad() ? p.grad() : Tensor(Tensor::Zero(p.rows(), p.cols())));
    return grads;
  };
  const std::vector<Tensor> plain = grads_of(m3oe->forward(b));
  const std::vector<Tensor> reused = grads_of(m3oe->forward_with(b, graph_pre.get()));
  REQUIRE(plain.size() == reused.size());
  for (std::size_t i = 0; i < plain.size(); ++i) CHECK((plain[i] - reused[i]).cwiseAbs().maxCoeff() <= 1e-6);
}

TEST_CASE("Predictor: infer_probs' bits, the parameter-only values computed once until a parameter changes") {
  const data::Schema s = testing::small_schema(3, 2);
  Rng rng(31);
  auto model = testing::tiny_model("m3oe", s, rng);
  model->eval();
  const data::Batch b1 = testing::random_batch(s, 300, rng), b2 = testing::random_batch(s, 90, rng);
  Predictor predictor(*model);
  set_num_threads(2);
  for (int repeat = 0; repeat < 2; ++repeat) {
    CHECK(predictor.probs(b1) == infer_probs(*model, b1));  // three slices
    CHECK(predictor.probs(b2) == infer_probs(*model, b2));  // one slice
  }
  CHECK(predictor.refreshes() == 1);

  // A parameter written in place (as an optimizer step writes it): the next
  // batch recomputes, and sees the new weights.
  const Tensor before = predictor.probs(b1);
  Var w = model->parameter("domain_expert.1.domain_specific.0.weight");
  w.value().array() += 0.5;
  const Tensor after = predictor.probs(b1);
  CHECK(predictor.refreshes() == 2);
  CHECK(after != before);
  CHECK(after == infer_probs(*model, b1));
  CHECK(predictor.probs(b2) == infer_probs(*model, b2));
  CHECK(predictor.refreshes() == 2);
  // Reading a parameter through a const Var leaves its version alone.
  const Var& read = w;
  const std::uint64_t v = w.version();
  CHECK(read.value()(0, 0) == w.cvalue()(0, 0));
  CHECK(w.version() == v);
  set_num_threads(0);
}

TEST_CASE("parameter counts on the MovieLens-1M schema at the default sizes (docs/baselines.md)") {
  train::TrainConfig cfg;  // the defaults: embedding 16, 512/256/64, 4 experts
  // Trainable parameters (STAR also keeps 2 x 3 x 113 moving averages).
  const data::Schema s = ml1m_reference_schema();
  // Kept in step with the table in docs/baselines.md.
  const std::map<std::string, Index> expected = {
      {"mlp", 2542950},          {"shared-bottom-mtl", 1284534}, {"shared-bottom-mdl", 865062},
      {"shared-bottom-mdmt", 445590}, {"mmoe-mtl", 3157542},      {"mmoe-mdl", 2114646},
      {"mmoe-mdmt", 1071750},    {"ple-mtl", 2536860},           {"ple-mdl", 2117274},
      {"ple-mdmt", 1697688},     {"star", 1047826},              {"adatt", 1708818},
      {"adatt-sp", 1497986},     {"m2m", 1414178},               {"m3oe", 788146},
      {"m3oe-no-automl", 788142}, {"m3oe-concat", 862256},       {"m3oe-gated", 795852},
      {"m3oe-no-domain", 738416}, {"m3oe-no-task", 754992},      {"m3oe-no-both", 705262}};
  for (const auto& [name, count] : expected) {
    cfg.model = name;
    Rng rng(1);
    const auto model = train::make_model(cfg, s, rng);
    CHECK_MESSAGE(model->num_parameters(/*trainable_only=*/true) == count, name);
  }
}

TEST_CASE("the JSON writer (nlohmann-json): key order kept, 9 significant digits, null for non-finite") {
  util::JsonWriter w;
  w.begin_object();
  w.key("z").value(1);
  w.key("a").value(0.73105857863000487);
  w.key("auc").value(std::nan(""));
  w.key("cells").begin_array();
  w.begin_object().key("d").value("x\x01\"").key("n").value(1234567890123LL).end_object();
  w.value(true).null().value(-2.5e-7);
  w.end_array();
  w.key("latin1").value("caf\xE9");
  w.key("empty").begin_object().end_object();
  w.end_object();
  CHECK(w.str() == "{\"z\":1,\"a\":0.731058579,\"auc\":null,\"cells\":[{\"d\":\"x\\u0001\\\"\",\"n\":1234567890123},true,"
                   "null,-2.5e-07],\"latin1\":\"caf\xEF\xBF\xBD\",\"empty\":{}}");
  const util::JsonValue back = util::parse_json(w.str(), "w");
  CHECK(back.members()[0].first == "z");
  CHECK(back.at("a").as_number() == 0.731058579);
  CHECK_FALSE(back.at("auc").as_optional_number().has_value());
}

TEST_CASE("the JSON reader reads what the JSON writer writes, and names bad input") {
  const util::JsonValue j = util::parse_json(
      R"({"a": [1, -2.5e3, null, true], "s": "x\"\u00e9\ud83d\ude00", "o": {"k": false}, "e": {}})", "t");
  CHECK(j.at("a").as_array().size() == 4);
  CHECK(j.at("a").as_array()[1].as_number() == -2500);
  CHECK_FALSE(j.at("a").as_array()[2].as_optional_number().has_value());
  CHECK(j.at("a").as_array()[3].as_bool());
  CHECK(j.at("s").as_string() == "x\"\xC3\xA9\xF0\x9F\x98\x80");
  CHECK_FALSE(j.at("o").at("k").as_bool());
  CHECK(j.at("e").members().empty());
  CHECK(j.find("missing") == nullptr);
  CHECK_THROWS_WITH(j.at("missing"), doctest::Contains("no member \"missing\""));
  CHECK_THROWS_WITH(j.at("s").as_number(), doctest::Contains("expected a number, found a string"));
  CHECK_THROWS_WITH(util::parse_json("{\n  \"a\": [1, 2,]\n}", "f.json"),
                    doctest::Contains("f.json:2:14: syntax error while parsing value - unexpected ']'"));
  CHECK_THROWS_WITH(util::parse_json("{\"a\": 1} x", "f.json"), doctest::Contains("f.json:1:10: syntax error"));
  CHECK_THROWS_WITH(util::parse_json("{\"a\": 1} x", "f.json"), doctest::Contains("expected end of input"));
  CHECK_THROWS_WITH(util::parse_json("\"abc", "f.json"), doctest::Contains("missing closing quote"));
  CHECK_THROWS_WITH(util::parse_json("tru", "f.json"), doctest::Contains("invalid literal"));
}

TEST_CASE("a shape error inside any baseline names the module it happened in") {
  // The last non-embedding weight matrix of each model gets one row too
  // many: the forward fails inside that weight's module, and the message
  // gives the module's path, a prefix of the parameter's dotted name.
  const data::Schema s = testing::small_schema(3, 2);
  for (const std::string& name : testing::baseline_names()) {
    CAPTURE(name);
    Rng rng(41);
    auto model = testing::tiny_model(name, s, rng);
    const data::Batch b = testing::random_batch(s, 14, rng);
    std::string pick;
    for (const auto& [n, p] : model->named_parameters())
      if (n.size() > 7 && n.compare(n.size() - 7, 7, ".weight") == 0 && p.rows() > 1 &&
          p.cols() > 1 && n.find("embedding") == std::string::npos)
        pick = n;
    REQUIRE(!pick.empty());
    Var w = model->parameter(pick);
    w.value() = Tensor::Zero(w.rows() + 1, w.cols());
    try {
      model->forward(b);
      FAIL("no error for " << pick);
    } catch (const nn::ModuleError& e) {
      CAPTURE(e.what());
      CHECK(!e.path().empty());
      CHECK(pick.rfind(e.path() + ".", 0) == 0);
      CHECK(std::string(e.what()).rfind("in module '" + e.path() + "' (" + e.module_type() + "): ", 0) == 0);
    }
  }
}
