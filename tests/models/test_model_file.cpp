#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "models/fit/model_file.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

Dataset synthetic_power(size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0, 0.5);
  std::vector<double> cycles, instructions, dur, watts;
  for (size_t r = 0; r < rows; ++r) {
    double d = 1 + u(rng);
    double c = 3e9 * u(rng) * d;
    double i = c * (0.5 + u(rng));
    cycles.push_back(c);
    instructions.push_back(i);
    dur.push_back(d);
    // 8 W per GHz, 6 W more per Gcycle above 4 Gcycles, 2 W per unit of IPC.
    watts.push_back(20 + 8 * c / d * 1e-9 + 6 * std::max(0.0, c * 1e-9 - 4) + 2 * i / c +
                    noise(rng));
  }
  Dataset ds("synthetic.csv");
  ds.add_column("cycles", cycles);
  ds.add_column("instructions", instructions);
  ds.add_column("duration_s", dur);
  ds.add_column("watts", watts);
  return ds;
}

std::vector<FeatureSpec> power_features() {
  return {parse_feature_spec("ghz=rate(cycles,duration_s)*1e-9"),
          parse_feature_spec("ipc=ratio(instructions,cycles)"),
          {"knee", FeatureOp::hinge, "cycles", "", 4e9, 1e-9}};
}

std::string error_of(const std::string& text) {
  try {
    model_from_json(text, "m.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("expected the model file to be refused");
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("model file: write, read, and the same predictions") {
    auto ds = synthetic_power(400, 1);
    for (auto kind :
         {SolverKind::ols, SolverKind::ridge, SolverKind::nnls, SolverKind::elastic_net}) {
      CAPTURE(to_string(kind));
      SolverOptions so;
      so.kind = kind;
      so.alpha = 0.5;
      auto model = fit_model(ds, "watts", power_features(), so, kfold_plan(400, 5),
                             {{{"hostname", "box"}, {"cpus", 8}}, "2026-01-02T03:04:05Z"});
      auto text = model_to_json(model);
      auto back = model_from_json(text, "m.json");
      CHECK(back.target == "watts");
      CHECK(back.machine["hostname"] == "box");
      CHECK(back.created_at == "2026-01-02T03:04:05Z");
      CHECK(back.pmcmodel_version == PMCMODEL_VERSION);
      CHECK(back.solver == to_string(kind));
      CHECK(back.terms.size() == 3);
      CHECK(back.terms[0].spec == model.terms[0].spec);
      CHECK(back.terms[2].spec.knot == 4e9);
      CHECK(back.cv.method == "kfold");
      CHECK(back.cv.folds == 5);
      CHECK(back.cv.errors.mape_percent == doctest::Approx(model.cv.errors.mape_percent));
      auto fresh = synthetic_power(50, 2);
      auto p1 = predict(model, fresh), p2 = predict(back, fresh);
      for (size_t r = 0; r < 50; ++r) {
        CHECK(p1.value[r] == doctest::Approx(p2.value[r]).epsilon(1e-12));
        CHECK(p1.lower[r] < p1.value[r]);
        CHECK(p1.upper[r] > p1.value[r]);
        CHECK(p1.out_of_range[r] == p2.out_of_range[r]);
      }
      CHECK(model_to_json(back) == text);
    }
  }

  TEST_CASE(
      "model file: a fitted watts model is accurate and flags inputs outside its training range") {
    auto ds = synthetic_power(600, 3);
    auto model = fit_model(ds, "watts", power_features(), {}, kfold_plan(600, 10), {});
    CHECK(model.terms[0].coefficient == doctest::Approx(8).epsilon(0.05));
    CHECK(model.terms[2].coefficient == doctest::Approx(6).epsilon(0.1));
    CHECK(model.cv.errors.rmse == doctest::Approx(0.5).epsilon(0.15));
    CHECK(model.interval.upper - model.interval.lower ==
          doctest::Approx(2 * 1.645 * 0.5).epsilon(0.15));
    Dataset odd("odd.csv");
    odd.add_column("cycles", {3e9, 12e9});
    odd.add_column("instructions", {3e9, 12e9});
    odd.add_column("duration_s", {1.5, 1});
    auto p = predict(model, odd);
    CHECK(p.out_of_range[0] == 0);
    CHECK(p.out_of_range[1] == 1);  // 12 GHz and a 12e9-cycle knee: never seen in training
    CHECK(p.out_of_range_by_term[0] == 1);
    Dataset missing("missing.csv");
    missing.add_column("cycles", {1e9});
    CHECK_THROWS_AS(predict(model, missing), std::runtime_error);
  }

  TEST_CASE("model file: a relative interval is kept as such and scales with the prediction") {
    auto ds = synthetic_power(100, 5);
    Model model = fit_model(ds, "watts", power_features(), {}, kfold_plan(100, 5), {});
    model.interval = ResidualInterval{0.9, -0.05, 0.1, true};
    auto text = model_to_json(model);
    CHECK(contains(text, "\"method\": \"cv_relative_residual_quantiles\""));
    auto back = model_from_json(text, "m.json");
    CHECK(back.interval.relative);
    CHECK(back.interval.lower == -0.05);
    CHECK(back.interval.upper == 0.1);
    auto p = predict(back, synthetic_power(20, 6));
    for (size_t r = 0; r < 20; ++r) {
      CHECK(p.lower[r] == doctest::Approx(p.value[r] * 0.95));
      CHECK(p.upper[r] == doctest::Approx(p.value[r] * 1.1));
    }
  }

  TEST_CASE(
      "model file: a row with an input outside its training range is flagged, though every "
      "feature stays inside") {
    // y = 5 + 3·a/b + 2·max(0, c − 4) exactly, a and b in [1, 10], c in [0, 10]. A ratio of two
    // inputs that both grew, or a hinge below its knot, stays in its training range.
    std::vector<double> a, b, c, y;
    for (size_t i = 0; i < 60; ++i) {
      a.push_back(1 + 9 * std::fmod(double(i) * 0.6180339887498949, 1.0));
      b.push_back(1 + 9 * std::fmod(double(i) * 0.7548776662466927, 1.0));
      c.push_back(10 * std::fmod(double(i) * 0.5698402909980532, 1.0));
      y.push_back(5 + 3 * a.back() / b.back() + 2 * std::max(0.0, c.back() - 4));
    }
    Dataset ds("train.csv");
    ds.add_column("a", a);
    ds.add_column("b", b);
    ds.add_column("c", c);
    ds.add_column("y", y);
    std::vector<FeatureSpec> features = {parse_feature_spec("ratio(a,b)"),
                                         parse_feature_spec("hinge(c,4)")};
    Model model = fit_model(ds, "y", features, {}, kfold_plan(60, 5), {});
    REQUIRE(model.terms.size() == 2);
    CHECK(model.terms[0].coefficient == doctest::Approx(3).epsilon(1e-7));
    CHECK(model.terms[1].coefficient == doctest::Approx(2).epsilon(1e-7));
    // Each column the features read, once, with its range over the training rows.
    REQUIRE(model.inputs.size() == 3);
    CHECK(model.inputs[0].column == "a");
    CHECK(model.inputs[1].column == "b");
    CHECK(model.inputs[2].column == "c");
    CHECK(model.inputs[0].train_min == *std::min_element(a.begin(), a.end()));
    CHECK(model.inputs[0].train_max == *std::max_element(a.begin(), a.end()));
    CHECK(model.inputs[2].train_min == *std::min_element(c.begin(), c.end()));
    double a_max = model.inputs[0].train_max, b_max = model.inputs[1].train_max;
    REQUIRE(b_max > 8);
    REQUIRE(a_max > 9);
    model.interval = ResidualInterval{0.9, -1, 2, false};

    // Row 0: a = 2·a_max, b = 2·b_max: the ratio a_max/b_max is inside its training range, a and
    // b are not. Row 1: c = −3, below every training c: the hinge is 0, as at any c ≤ 4. Row 2:
    // a = 20, b = 8: the ratio 2.5 is inside, a is not. Row 3: all inside.
    Dataset fresh("later.csv");
    fresh.add_column("a", {2 * a_max, 5, 20, 5});
    fresh.add_column("b", {2 * b_max, 5, 8, 5});
    fresh.add_column("c", {5, -3, 5, 5});
    for (bool clip : {false, true}) {
      CAPTURE(clip);
      model.clip_out_of_range = clip;
      for (const Model& m : {model, model_from_json(model_to_json(model), "m.json")}) {
        Prediction p = predict(m, fresh);
        CHECK(p.out_of_range == std::vector<char>{1, 1, 1, 0});
        CHECK(p.out_of_range_by_term == std::vector<size_t>{0, 0});
        CHECK(p.out_of_range_by_input == std::vector<size_t>{2, 1, 1});
        // Every feature is inside, so the prediction is the model's value on them.
        CHECK(p.value[0] == doctest::Approx(5 + 3 * a_max / b_max + 2));
        CHECK(p.value[1] == doctest::Approx(5 + 3 * 1.0));
        CHECK(p.value[2] == doctest::Approx(5 + 3 * 2.5 + 2));
        double width = p.upper[3] - p.lower[3];
        CHECK(width == doctest::Approx(3));
        // The hinge is flat below its knot: clipping c moves nothing, the interval stays.
        CHECK(p.upper[1] - p.lower[1] == doctest::Approx(width));
        if (!clip) {
          CHECK(p.upper[2] - p.lower[2] == doctest::Approx(width));
          continue;
        }
        // Clipping a to a_max moves the prediction by 3·(20 − a_max)/8, on both sides; clipping
        // a and b of row 0 to their maxima moves it by 3·(2·a_max/(2·b_max) − a_max/b_max) = 0.
        double moved = 3 * (20 - a_max) / 8;
        REQUIRE(moved > 1);
        CHECK(p.lower[2] == doctest::Approx(p.value[2] + m.interval.lower - moved));
        CHECK(p.upper[2] == doctest::Approx(p.value[2] + m.interval.upper + moved));
        CHECK(p.upper[0] - p.lower[0] == doctest::Approx(width));
      }
    }

    SUBCASE("a model file without inputs, written before they were recorded, still loads") {
      auto text = model_to_json(model);
      auto from = text.find("  \"inputs\": [");
      REQUIRE(from != std::string::npos);
      auto to = text.find("],\n", from);
      REQUIRE(to != std::string::npos);
      text.erase(from, to + 3 - from);
      Model old = model_from_json(text, "old.json");
      CHECK(old.inputs.empty());
      CHECK(old.terms.size() == 2);
      Prediction p = predict(old, fresh);
      CHECK(p.out_of_range == std::vector<char>{0, 0, 0, 0});  // only the features are checked
      CHECK(p.out_of_range_by_input.empty());
    }
    SUBCASE("an input range that is not a range is refused") {
      auto text = model_to_json(model);
      const std::string named = "\"column\": \"a\"";
      auto at = text.find(named);
      REQUIRE(at != std::string::npos);
      text.replace(at, named.size(), "\"column\": \"\"");
      CHECK(contains(error_of(text), "expected a column name in 'column' of inputs[0]"));
    }
  }

  TEST_CASE("model file: malformed files are refused with FILE:LINE") {
    auto ds = synthetic_power(100, 4);
    auto good = model_to_json(fit_model(ds, "watts", power_features(), {}, kfold_plan(100, 5), {}));
    auto replace = [&](const std::string& from, const std::string& to) {
      auto text = good;
      auto at = text.find(from);
      REQUIRE(at != std::string::npos);
      return text.replace(at, from.size(), to);
    };
    CHECK(contains(error_of("{\n  \"schema\": \n"), "m.json:3: expected valid JSON"));
    CHECK(contains(error_of("[]"), "m.json:1: expected a JSON object"));
    CHECK(contains(error_of(replace("pmcmodel.model/1", "pmcmodel.model/9")),
                   "m.json:2: expected schema"));
    CHECK(contains(error_of(replace("\"op\": \"rate\"", "\"op\": \"cube\"")),
                   "expected 'op' in features[0]"));
    auto no_b = replace("\"b\": \"duration_s\",", "");
    CHECK(contains(error_of(no_b), "expected field 'b' in features[0]"));
    auto bad_coef = replace("\"coefficient\":", "\"coefficient\": \"x\", \"was\":");
    CHECK(contains(error_of(bad_coef), "expected 'coefficient' in features[0] to be a number"));
    CHECK(contains(error_of(replace("\"target\": \"watts\"", "\"target\": \"\"")),
                   "expected a non-empty 'target'"));
    CHECK(contains(error_of(replace("\"level\": 0.9", "\"level\": 1.5")), "interval.level"));
    auto method = error_of(replace("cv_residual_quantiles", "cv_guess"));
    CHECK(contains(method,
                   "expected interval method 'cv_residual_quantiles' or "
                   "'cv_relative_residual_quantiles', found 'cv_guess'"));
    CHECK(!contains(method, "m.json:1:"));
    // The line number points into the document, not always at line 1.
    auto e = error_of(replace("\"op\": \"ratio\"", "\"op\": 3"));
    CHECK(!contains(e, "m.json:1:"));
    CHECK_THROWS_AS(read_model("/nonexistent/model.json"), std::runtime_error);
  }
}
