// fit_dataset and fit_csv_options (models/fit/fit_dataset.h): `pmcmodel fit` without the process,
// on tables generated here from laws written in each test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/fit/fit_dataset.h"

using namespace pmc;

namespace {

Dataset table(const std::string& csv) {
  return Dataset::parse_csv(csv, "t.csv");
}

// A deterministic spread of values in [0, 1): the fractional parts of i × the golden ratio.
double spread(size_t i) {
  double v = double(i) * 0.6180339887498949;
  return v - std::floor(v);
}

std::vector<std::string> term_names(const Model& m) {
  std::vector<std::string> out;
  for (const auto& t : m.terms) out.push_back(t.spec.name);
  return out;
}

const ModelTerm* term(const Model& m, const std::string& name) {
  for (const auto& t : m.terms)
    if (t.spec.name == name) return &t;
  return nullptr;
}

CsvPreview preview(std::vector<std::string> names, std::vector<bool> numeric) {
  CsvPreview p;
  p.names = std::move(names);
  p.numeric_in_first_row = std::move(numeric);
  return p;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("fit_dataset: the auto pool never returns a model worse than the linear baseline") {
    SUBCASE("a linear law: the baseline is kept, with the law's coefficients") {
      // y = 3 + 2a + 0.5b exactly: no candidate can beat OLS on the raw columns.
      std::string csv = "a,b,y\n";
      for (size_t i = 0; i < 40; ++i) {
        double a = 10 * spread(i), b = 4 * spread(i + 100);
        csv += fmt::format("{},{},{}\n", a, b, 3 + 2 * a + 0.5 * b);
      }
      FitRequest request;
      request.target = "y";
      REQUIRE(auto_pool(request));
      auto fit = fit_dataset(table(csv), request, {});
      REQUIRE(fit.auto_features);
      const auto& sel = fit.auto_features->selection;
      CHECK(sel.baseline_kept);
      CHECK(fit.auto_features->raw_columns == 2);
      CHECK(term_names(fit.model) == std::vector<std::string>{"a", "b"});
      CHECK(term(fit.model, "a")->coefficient == doctest::Approx(2).epsilon(1e-6));
      CHECK(term(fit.model, "b")->coefficient == doctest::Approx(0.5).epsilon(1e-6));
      CHECK(fit.model.intercept == doctest::Approx(3).epsilon(1e-6));
      CHECK(fit.model.cv.errors.mape_percent <= sel.baseline_cv.mape_percent + 1e-9);
      CHECK(fit.cv_plan.rfind("k-fold", 0) == 0);  // no timestamp: k-fold
      CHECK(!fit.selection);                       // the auto pool reports its own selection
    }
    SUBCASE("a concave law: the selection is kept and beats the baseline's CV error") {
      // y = 10 + 20·√a exactly, a in [0, 100): √a is a candidate, OLS on a is not exact.
      std::string csv = "a,y\n";
      for (size_t i = 0; i < 60; ++i) {
        double a = 100 * spread(i);
        csv += fmt::format("{},{}\n", a, 10 + 20 * std::sqrt(a));
      }
      FitRequest request;
      request.target = "y";
      auto fit = fit_dataset(table(csv), request, {});
      REQUIRE(fit.auto_features);
      const auto& sel = fit.auto_features->selection;
      CHECK(!sel.baseline_kept);
      CHECK(fit.model.cv.errors.mape_percent < sel.baseline_cv.mape_percent);
      REQUIRE(term(fit.model, "sqrt(a)"));
      CHECK(term_names(fit.model) == std::vector<std::string>{"sqrt(a)"});
      CHECK(term(fit.model, "sqrt(a)")->coefficient == doctest::Approx(20).epsilon(1e-6));
      CHECK(fit.model.intercept == doctest::Approx(10).epsilon(1e-6));
      CHECK(fit.model.clip_out_of_range);
    }
  }

  TEST_CASE("fit_dataset: rows sorted by timestamp, and the auto pool's gap before test blocks") {
    // 200 rows in reverse time order; time-ordered CV; the auto pool leaves 1% (2 rows) out
    // before each test block, given features leave none.
    std::string csv = "timestamp,a,y\n";
    for (size_t i = 200; i-- > 0;) {
      double a = 5 * spread(i);
      csv += fmt::format("{},{},{}\n", 1000 + i, a, 1 + 3 * a + 0.01 * spread(i + 7));
    }
    FitRequest pooled;
    pooled.target = "y";
    auto fit = fit_dataset(table(csv), pooled, {});
    CHECK(fit.cv_plan.find("time-ordered") != std::string::npos);
    CHECK(fit.cv_plan.find("leaving out the 2 rows before it") != std::string::npos);

    FitRequest given = pooled;
    given.features = parse_feature_list("a");
    auto plain = fit_dataset(table(csv), given, {});
    CHECK(plain.cv_plan.find("time-ordered") != std::string::npos);
    CHECK(plain.cv_plan.find("leaving out") == std::string::npos);
    CHECK(!plain.auto_features);
    CHECK(plain.model.training_rows == 200);
  }

  TEST_CASE("fit_dataset: a band with fewer rows than the least a band needs keeps no model") {
    // Band 1: y = 1 + 2a (30 rows); band 2: y = 5 − a (30 rows); band 3: 5 rows, fewer than
    // max(10, 5 × (1 feature + 1)) = 10.
    std::string csv = "a,band,y\n";
    for (size_t i = 0; i < 65; ++i) {
      double a = 10 * spread(i);
      int band = i < 30 ? 1 : i < 60 ? 2 : 3;
      double y = band == 1 ? 1 + 2 * a : band == 2 ? 5 - a : 7;
      csv += fmt::format("{},{},{}\n", a, band, y);
    }
    FitRequest request;
    request.target = "y";
    request.features = parse_feature_list("a");
    request.band_by = "band";
    auto fit = fit_dataset(table(csv), request, {});
    CHECK(fit.banded);
    CHECK(!fit.frequency_bands);
    CHECK(fit.model.band_column == "band");
    CHECK(fit.model.band_min_rows == 10);
    REQUIRE(fit.model.bands.size() == 3);  // one band per distinct value
    const auto& bands = fit.model.bands;
    CHECK(bands[0].rows == 30);
    CHECK(bands[1].rows == 30);
    CHECK(bands[2].rows == 5);
    REQUIRE(bands[0].model);
    REQUIRE(bands[1].model);
    CHECK(bands[0].model->terms[0].coefficient == doctest::Approx(2).epsilon(1e-6));
    CHECK(bands[0].model->intercept == doctest::Approx(1).epsilon(1e-6));
    CHECK(bands[1].model->terms[0].coefficient == doctest::Approx(-1).epsilon(1e-6));
    CHECK(bands[1].model->intercept == doctest::Approx(5).epsilon(1e-6));
    CHECK(!bands[2].model);
    CHECK(!bands[2].reason.empty());

    SUBCASE("no band fitted: the banded CV errors are null in the file, not 0") {
      request.band_min_rows = 100;
      auto none = fit_dataset(table(csv), request, {});
      for (const auto& b : none.model.bands) CHECK(!b.model);
      auto cv = nlohmann::json::parse(model_to_json(none.model))["bands"]["cv"];
      CHECK(cv["rows"] == 0);
      for (const char* key : {"mape_percent", "rmse", "medae", "r2"}) CHECK(cv[key].is_null());
      CHECK_NOTHROW(model_from_json(model_to_json(none.model), "m.json"));
      // The banded fit's own errors are numbers.
      auto with = nlohmann::json::parse(model_to_json(fit.model))["bands"]["cv"];
      CHECK(with["rows"] == 60);
      CHECK(with["rmse"].is_number());
    }
    SUBCASE("edges that do not increase are refused") {
      request.band_edges = {2.5, 1.5};
      CHECK_THROWS_AS(fit_dataset(table(csv), request, {}), std::invalid_argument);
    }
  }

  TEST_CASE("fit_dataset: the auto pool keeps bands by a frequency column only when they help") {
    // watts = 10 + k(f)·util with k = 10 at 1000 MHz and 40 at 3000 MHz: no sum of terms of util
    // and freq_mhz is that law, one model per frequency is.
    std::string csv = "util,freq_mhz,watts\n";
    for (size_t i = 0; i < 200; ++i) {
      double u = spread(i), f = i % 2 ? 3000 : 1000;
      csv += fmt::format("{},{},{}\n", u, f, 10 + (f == 1000 ? 10 : 40) * u);
    }
    FitRequest request;
    request.target = "watts";
    auto fit = fit_dataset(table(csv), request, {});
    REQUIRE(fit.frequency_bands);
    const auto& trial = *fit.frequency_bands;
    CHECK(trial.column == "freq_mhz");
    CHECK(trial.tried);
    CHECK(trial.kept);
    CHECK(trial.banded_mape_percent < trial.pooled_mape_percent);
    CHECK(fit.banded);
    CHECK(fit.model.band_column == "freq_mhz");
    REQUIRE(fit.model.bands.size() == 2);
    for (const auto& band : fit.model.bands) {
      REQUIRE(band.model);
      // Fitted as the pooled selection is: by relative error, so with a relative interval.
      CHECK(band.model->interval.relative);
    }

    SUBCASE("not kept when one law holds at every frequency") {
      // watts = (10 + 20·util)·(1 + ε): a band's fit has half the rows and nothing to gain.
      std::mt19937_64 rng(19);
      std::normal_distribution<double> noise(0, 0.05);
      std::string same = "util,freq_mhz,watts\n";
      for (size_t i = 0; i < 200; ++i)
        same += fmt::format("{},{},{}\n", spread(i), i % 2 ? 3000 : 1000,
                            (10 + 20 * spread(i)) * (1 + noise(rng)));
      auto one_law = fit_dataset(table(same), request, {});
      REQUIRE(one_law.frequency_bands);
      CHECK(one_law.frequency_bands->tried);
      CHECK(!one_law.frequency_bands->kept);
      CHECK(!one_law.banded);
      CHECK(one_law.frequency_bands->pooled_mape_percent ==
            doctest::Approx(one_law.cv.pooled.mape_percent));
    }

    SUBCASE("not with given features, nor when the column is constant") {
      FitRequest given = request;
      given.features = parse_feature_list("util");
      CHECK(!fit_dataset(table(csv), given, {}).frequency_bands);
      std::string constant = "util,freq_mhz,watts\n";
      for (size_t i = 0; i < 60; ++i)
        constant += fmt::format("{},2000,{}\n", spread(i), 10 + 20 * spread(i));
      auto one = fit_dataset(table(constant), request, {});
      CHECK(!one.frequency_bands);
      CHECK(!one.banded);
    }
  }

  TEST_CASE(
      "fit_dataset: the auto pool's relative interval covers about 90% of fresh rows with "
      "multiplicative noise, at low and at high power alike") {
    // watts = (5 + 20·x)·(1 + ε), ε ~ N(0, 0.05): the error is 5% of the power, so ±1.6 W at
    // 30 W and ±16 W at 200 W. A fixed width in watts would cover nearly every low row and
    // about three quarters of the high ones; a relative one covers ~90% of each.
    std::mt19937_64 rng(16);
    std::uniform_real_distribution<double> uniform(1, 10);
    std::normal_distribution<double> noise(0, 0.05);
    auto sample = [&](size_t n) {
      std::string csv = "x,watts\n";
      for (size_t i = 0; i < n; ++i) {
        double x = uniform(rng);
        csv += fmt::format("{},{}\n", x, (5 + 20 * x) * (1 + noise(rng)));
      }
      return table(csv);
    };
    Dataset train = sample(600);
    FitRequest request;
    request.target = "watts";
    auto fit = fit_dataset(train, request, {});
    REQUIRE(fit.auto_features);
    CHECK(!fit.auto_features->selection.baseline_kept);
    CHECK(fit.model.interval.relative);
    // The 5% and 95% quantiles of ε are ∓1.645 × 0.05 ≈ ∓8.2%.
    CHECK(fit.model.interval.lower == doctest::Approx(-0.082).epsilon(0.2));
    CHECK(fit.model.interval.upper == doctest::Approx(0.082).epsilon(0.2));

    Dataset fresh = sample(3000);
    Prediction p = predict(fit.model, fresh);
    const auto& x = fresh.column("x");
    const auto& y = fresh.column("watts");
    size_t inside = 0, low = 0, low_inside = 0, high = 0, high_inside = 0;
    for (size_t r = 0; r < y.size(); ++r) {
      bool in = y[r] >= p.lower[r] && y[r] <= p.upper[r];
      inside += in;
      if (x[r] < 4) ++low, low_inside += in;
      if (x[r] > 7) ++high, high_inside += in;
    }
    double coverage = double(inside) / double(y.size());
    CHECK(coverage > 0.85);
    CHECK(coverage < 0.95);
    CHECK(double(low_inside) / double(low) > 0.85);
    CHECK(double(low_inside) / double(low) < 0.95);
    CHECK(double(high_inside) / double(high) > 0.85);
    CHECK(double(high_inside) / double(high) < 0.95);
  }

  TEST_CASE(
      "fit_dataset: the plain linear baseline, when kept, gets the relative interval of a "
      "selection judged by relative error") {
    // watts = (60 + 20·a − 8·b)·(1 + ε), ε ~ N(0, 0.05): linear in the raw columns, but b lowers
    // the power, which no candidate the pool holds ≥ 0 can follow (b, √b, log1p b), and a hinge
    // of b follows only above its knot: the unconstrained baseline is the model. Its errors are
    // 5% of the power (±3 W at 40 W, ±13 W at 250 W): a relative interval covers ~90% of each.
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> ua(0, 10), ub(0, 5);
    std::normal_distribution<double> noise(0, 0.05);
    auto sample = [&](size_t n) {
      std::string csv = "a,b,watts\n";
      for (size_t i = 0; i < n; ++i) {
        double a = ua(rng), b = ub(rng);
        csv += fmt::format("{},{},{}\n", a, b, (60 + 20 * a - 8 * b) * (1 + noise(rng)));
      }
      return table(csv);
    };
    Dataset train = sample(600);
    FitRequest request;
    request.target = "watts";
    auto fit = fit_dataset(train, request, {});
    REQUIRE(fit.auto_features);
    const auto& sel = fit.auto_features->selection;
    REQUIRE(sel.baseline_kept);
    CHECK(sel.weighting == FitWeighting::relative);
    CHECK(term_names(fit.model) == std::vector<std::string>{"a", "b"});
    CHECK(term(fit.model, "b")->coefficient < 0);
    CHECK(fit.model.interval.relative);
    CHECK(fit.model.interval.lower == doctest::Approx(-0.082).epsilon(0.25));
    CHECK(fit.model.interval.upper == doctest::Approx(0.082).epsilon(0.25));
    // The interval survives the model file as relative.
    CHECK(model_from_json(model_to_json(fit.model), "m.json").interval.relative);

    Dataset fresh = sample(3000);
    Prediction p = predict(fit.model, fresh);
    const auto& y = fresh.column("watts");
    size_t inside = 0, low = 0, low_inside = 0, high = 0, high_inside = 0;
    for (size_t r = 0; r < y.size(); ++r) {
      bool in = y[r] >= p.lower[r] && y[r] <= p.upper[r];
      inside += in;
      if (p.value[r] < 100) ++low, low_inside += in;
      if (p.value[r] > 200) ++high, high_inside += in;
    }
    REQUIRE(low > 200);
    REQUIRE(high > 200);
    double coverage = double(inside) / double(y.size());
    CHECK(coverage > 0.85);
    CHECK(coverage < 0.95);
    CHECK(double(low_inside) / double(low) > 0.85);
    CHECK(double(low_inside) / double(low) < 0.95);
    CHECK(double(high_inside) / double(high) > 0.85);
    CHECK(double(high_inside) / double(high) < 0.95);
  }

  TEST_CASE(
      "fit_dataset: the bands of a kept baseline are least-squares fits with relative "
      "intervals, as the kept baseline is") {
    // watts = 60 + 20·a − 8·b exactly, at 1000 and 3000 MHz alternately: b lowers the power, which
    // the pool's ≥ 0 terms cannot follow and its hinges follow only above their knots, while OLS
    // on the raw columns is exact: the baseline is kept. Its bands by freq_mhz must be that
    // baseline per band (unweighted, unbounded: the law's coefficients) with an interval in
    // fractions of the prediction, not a fixed width in watts.
    std::mt19937_64 rng(18);
    std::uniform_real_distribution<double> ua(0, 10), ub(0, 5);
    std::string csv = "a,b,freq_mhz,watts\n";
    for (size_t i = 0; i < 600; ++i) {
      double a = ua(rng), b = ub(rng), f = i % 2 ? 3000 : 1000;
      csv += fmt::format("{},{},{},{}\n", a, b, f, 60 + 20 * a - 8 * b);
    }
    FitRequest request;
    request.target = "watts";
    request.exclude = {"freq_mhz"};
    request.band_by = "freq_mhz";
    auto fit = fit_dataset(table(csv), request, {});
    REQUIRE(fit.auto_features);
    REQUIRE(fit.auto_features->selection.baseline_kept);
    CHECK(fit.model.interval.relative);
    REQUIRE(fit.banded);
    REQUIRE(fit.model.bands.size() == 2);
    for (const auto& band : fit.model.bands) {
      REQUIRE(band.model);
      const Model& m = *band.model;
      CHECK(term(m, "a")->coefficient == doctest::Approx(20).epsilon(1e-6));
      CHECK(term(m, "b")->coefficient == doctest::Approx(-8).epsilon(1e-6));
      CHECK(m.intercept == doctest::Approx(60).epsilon(1e-6));
      CHECK(m.interval.relative);
      CHECK(m.clip_out_of_range);
    }
  }

  TEST_CASE(
      "banded_cv_on_plan: each band refitted on every split's training rows of the band, the "
      "pooled prediction for a band without a model") {
    // Band 1000 MHz: watts = 10 + 10·u exactly, so its refits predict its test rows exactly (up
    // to clipping u to the training range); band 3000 MHz has no model, so its test rows take
    // the pooled predictions given (20 W for every row): MAPE = Σ|y − 20|/y over those rows / n.
    std::string csv = "u,freq_mhz,watts\n";
    for (size_t i = 0; i < 200; ++i) {
      double u = spread(i), f = i % 2 ? 3000 : 1000;
      csv += fmt::format("{},{},{}\n", u, f, 10 + (f == 1000 ? 10 : 40) * u);
    }
    Dataset data = table(csv);
    Model pooled;
    pooled.terms.push_back(ModelTerm{raw_feature("u")});
    pooled.clip_out_of_range = true;
    ConstrainedFit how{FitWeighting::relative, {1}};
    auto plan_for = [](const Dataset& sub) { return time_ordered_gap_plan(sub.rows(), 5, 1); };
    fit_bands(data, "watts", "freq_mhz", {}, 0, SolverOptions{}, {}, plan_for, pooled, how);
    REQUIRE(pooled.bands.size() == 2);
    REQUIRE(pooled.bands[1].model);
    pooled.bands[1].model = nullptr;
    CvPlan plan = time_ordered_gap_plan(200, 5, 2);
    std::vector<double> pooled_predictions(200, 20.0);
    ErrorMetrics e = banded_cv_on_plan(data, "watts", pooled, plan, pooled_predictions, how);
    const auto& y = data.column("watts");
    size_t tested = 0;
    double band1 = 0;
    for (size_t r = 0; r < 200; ++r) {
      if (plan.block_of_row[r] % 2 != 0 || plan.block_of_row[r] == 0) continue;  // gap, block 1
      ++tested;
      if (r % 2) band1 += std::abs(y[r] - 20) / y[r];
    }
    CHECK(e.n == tested);
    CHECK(e.mape_percent == doctest::Approx(100 * band1 / double(tested)).epsilon(0.01));
  }

  TEST_CASE("fit_bands: each band fitted by relative error, as the auto pool's model is") {
    // In each band watts = c·(1 + u)³, which no line in u is: the least-squares line and the
    // relative-error line differ. The band's coefficients must be the weighted (1/y²) line, in
    // closed form: b = Σw(u − ū)(y − ȳ) / Σw(u − ū)², a = ȳ − b·ū with w-weighted means.
    std::string csv = "u,freq_mhz,watts\n";
    std::vector<double> us[2], ys[2];
    for (size_t i = 0; i < 120; ++i) {
      size_t b = i % 2;
      double u = spread(i), f = b ? 3000 : 1000, c = b ? 20 : 5;
      double y = c * (1 + u) * (1 + u) * (1 + u);
      us[b].push_back(u);
      ys[b].push_back(y);
      csv += fmt::format("{},{},{}\n", u, f, y);
    }
    Dataset data = table(csv);
    Model pooled;
    pooled.terms.push_back(ModelTerm{raw_feature("u")});
    pooled.clip_out_of_range = true;
    auto plan_for = [](const Dataset& sub) { return kfold_plan(sub.rows(), 5); };
    fit_bands(data, "watts", "freq_mhz", {}, 0, SolverOptions{}, {}, plan_for, pooled,
              ConstrainedFit{FitWeighting::relative, {1}});
    REQUIRE(pooled.bands.size() == 2);
    for (size_t b = 0; b < 2; ++b) {
      double sw = 0, su = 0, sy = 0;
      for (size_t i = 0; i < us[b].size(); ++i) {
        double w = 1 / (ys[b][i] * ys[b][i]);
        sw += w, su += w * us[b][i], sy += w * ys[b][i];
      }
      double ubar = su / sw, ybar = sy / sw, sxy = 0, sxx = 0;
      for (size_t i = 0; i < us[b].size(); ++i) {
        double w = 1 / (ys[b][i] * ys[b][i]);
        sxy += w * (us[b][i] - ubar) * (ys[b][i] - ybar);
        sxx += w * (us[b][i] - ubar) * (us[b][i] - ubar);
      }
      double slope = sxy / sxx, intercept = ybar - slope * ubar;
      REQUIRE(pooled.bands[b].model);
      const Model& m = *pooled.bands[b].model;
      CHECK(m.terms.at(0).coefficient == doctest::Approx(slope).epsilon(1e-6));
      CHECK(m.intercept == doctest::Approx(intercept).epsilon(1e-6));
      // Not the least-squares line (which this check would also let through if they agreed).
      Fit ols = fit_ols(DesignMatrix::from_columns({us[b]}, {"u"}), ys[b]);
      CHECK(std::abs(ols.coefficients[0] - slope) > 0.02 * std::abs(slope));
      CHECK(m.interval.relative);
      CHECK(m.clip_out_of_range);
    }
    // Without it, each band is the solver's (least-squares) fit.
    Model plain;
    plain.terms.push_back(ModelTerm{raw_feature("u")});
    fit_bands(data, "watts", "freq_mhz", {}, 0, SolverOptions{}, {}, plan_for, plain);
    Fit ols = fit_ols(DesignMatrix::from_columns({us[1]}, {"u"}), ys[1]);
    CHECK(plain.bands[1].model->terms[0].coefficient ==
          doctest::Approx(ols.coefficients[0]).epsilon(1e-9));
    CHECK(!plain.bands[1].model->interval.relative);
  }

  TEST_CASE("fit_dataset: grouped CV needs its label column") {
    auto data = table("a,y\n1,2\n2,4\n3,6\n4,8\n5,10\n6,13\n");
    FitRequest request;
    request.target = "y";
    request.features = parse_feature_list("a");
    request.cv.method = CvChoice::grouped;
    CHECK_THROWS_WITH_AS(fit_dataset(data, request, {}), "--cv grouped needs --group-by COLUMN",
                         std::invalid_argument);
  }

  TEST_CASE("fit_csv_options: which columns are numbers and which are text") {
    auto p = preview({"timestamp", "host", "a", "b", "cycle_activity_stalls_l3_miss", "grp", "y"},
                     {true, false, true, true, true, false, true});
    FitRequest request;
    request.target = "y";
    SUBCASE("every column a candidate: only what is not numeric is text") {
      auto csv = fit_csv_options(request, p);
      CHECK(csv.required_columns == std::vector<std::string>{"y"});
      CHECK(csv.string_columns == std::vector<std::string>{"host", "grp"});
    }
    SUBCASE("every column a candidate but the excluded ones, which are text") {
      request.exclude = {"b"};
      auto csv = fit_csv_options(request, p);
      CHECK(csv.string_columns == std::vector<std::string>{"host", "b", "grp"});
      // An excluded column that holds text below its first row loads, and is no candidate.
      std::string text = "a,note,y\n";
      for (size_t i = 0; i < 30; ++i)
        text += fmt::format("{},{},{}\n", i, i < 3 ? "1" : "late", 2 * double(i) + spread(i));
      auto csv2 = fit_csv_options(request, preview({"a", "note", "y"}, {true, true, true}));
      CHECK(csv2.string_columns.empty());
      request.exclude = {"note"};
      csv2 = fit_csv_options(request, preview({"a", "note", "y"}, {true, true, true}));
      CHECK(csv2.string_columns == std::vector<std::string>{"note"});
      auto data = Dataset::parse_csv(text, "t.csv", csv2);
      CHECK(data.has_labels("note"));
      auto fit = fit_dataset(data, request, {});
      for (const auto& t : fit.model.terms)
        CHECK(input_columns(t.spec) == std::vector<std::string>{"a"});
    }
    SUBCASE("given features: every other column is text, except timestamp and stall counters") {
      request.features = parse_feature_list("rate(a,timestamp)");
      request.cv.group_by = "grp";
      auto csv = fit_csv_options(request, p);
      CHECK(csv.required_columns == std::vector<std::string>{"a", "timestamp", "y", "grp"});
      CHECK(csv.string_columns == std::vector<std::string>{"host", "b", "grp"});
    }
    SUBCASE("the band column is a number, and neither the target nor the group column") {
      request.band_by = "b";
      auto csv = fit_csv_options(request, p);
      CHECK(contains(csv.required_columns, "b"));
      CHECK(!contains(csv.string_columns, "b"));
      request.band_by = "y";
      CHECK_THROWS_WITH_AS(fit_csv_options(request, p), "--band-by y: the column is the target",
                           std::invalid_argument);
      request.band_by = "grp";
      request.cv.group_by = "grp";
      CHECK_THROWS_AS(fit_csv_options(request, p), std::invalid_argument);
    }
    SUBCASE("the group column is no feature input") {
      request.features = parse_feature_list("a");
      request.cv.group_by = "a";
      CHECK_THROWS_WITH_AS(fit_csv_options(request, p),
                           "--group-by a: the column is also a feature or the target",
                           std::invalid_argument);
    }
  }

  TEST_CASE("fit_csv_options: two features of one name are refused, as predict would refuse them") {
    auto p = preview({"a", "b", "y"}, {true, true, true});
    FitRequest request;
    request.target = "y";
    SUBCASE("one column twice") {
      request.features = parse_feature_list("a,a");
      CHECK_THROWS_WITH_AS(
          fit_csv_options(request, p),
          "--features: 'a' is named twice: each feature needs its own name (NAME=… names one)",
          std::invalid_argument);
    }
    SUBCASE("two features given one name") {
      request.features = parse_feature_list("x=a,x=b");
      CHECK_THROWS_WITH_AS(
          fit_csv_options(request, p),
          "--features: 'x' is named twice: each feature needs its own name (NAME=… names one)",
          std::invalid_argument);
    }
    SUBCASE("a candidate twice") {
      request.candidates = parse_feature_list("a,b,a");
      CHECK_THROWS_AS(fit_csv_options(request, p), std::invalid_argument);
    }
    SUBCASE("fit_dataset refuses it too") {
      request.features = parse_feature_list("a,a");
      auto data = table("a,y\n1,2\n2,4\n3,6\n4,8\n5,10\n6,13\n");
      CHECK_THROWS_AS(fit_dataset(data, request, {}), std::invalid_argument);
    }
  }

  TEST_CASE("fit_csv_options: the target is no feature, as it is no group or band column") {
    auto p = preview({"a", "b", "y"}, {true, true, true});
    FitRequest request;
    request.target = "y";
    SUBCASE("--features y") {
      request.features = parse_feature_list("y");
      CHECK_THROWS_WITH_AS(fit_csv_options(request, p),
                           "--features y: the column 'y' is the target: a model cannot take its "
                           "target as an input",
                           std::invalid_argument);
    }
    SUBCASE("a transform of the target") {
      request.features = parse_feature_list("a,ratio(a,y)");
      CHECK_THROWS_AS(fit_csv_options(request, p), std::invalid_argument);
    }
    SUBCASE("--candidates y,a") {
      request.candidates = parse_feature_list("y,a");
      CHECK_THROWS_WITH_AS(fit_csv_options(request, p),
                           "--candidates y: the column 'y' is the target: a model cannot take its "
                           "target as an input",
                           std::invalid_argument);
    }
  }

  TEST_CASE("fit_dataset: the automatic plan leaves every fold more rows than coefficients") {
    FitRequest request;
    request.target = "y";
    SUBCASE("50 rows by time, 10 features") {
      // y = Σ (k + 1)·c_k + noise: OLS on 10 features needs 12 rows in each training set.
      std::string csv = "timestamp";
      for (int k = 0; k < 10; ++k) csv += fmt::format(",c{}", k);
      csv += ",y\n";
      for (size_t i = 0; i < 50; ++i) {
        csv += fmt::format("{}", 1000 + i);
        double y = spread(i + 900);
        for (size_t k = 0; k < 10; ++k) {
          double c = 10 * spread(i * 11 + k);
          csv += fmt::format(",{}", c);
          y += double(k + 1) * c;
        }
        csv += fmt::format(",{}\n", y);
      }
      request.features = parse_feature_list("c0,c1,c2,c3,c4,c5,c6,c7,c8,c9");
      auto fit = fit_dataset(table(csv), request, {});
      CHECK(fit.cv_plan.starts_with("time-ordered, 4 blocks"));
      for (const auto& fold : fit.cv.folds) CHECK(fold.train_rows >= 12);
      CHECK(term(fit.model, "c9")->coefficient == doctest::Approx(10).epsilon(0.01));
    }
    SUBCASE("5 rows, 1 feature") {
      request.features = parse_feature_list("x");
      auto fit = fit_dataset(table("x,y\n1,2.1\n2,4\n3,6.2\n4,8\n5,9.9\n"), request, {});
      CHECK(fit.cv.folds.size() == 3);
      for (const auto& fold : fit.cv.folds) CHECK(fold.train_rows >= 3);
    }
  }

  TEST_CASE("fit_dataset: a text timestamp is noted, as the automatic plan cannot order by it") {
    std::string csv = "timestamp,a,y\n";
    for (size_t i = 0; i < 30; ++i)
      csv += fmt::format("2026-01-01T00:{:02}:00Z,{},{}\n", i, i, 3 * double(i) + spread(i));
    FitRequest request;
    request.target = "y";
    request.features = parse_feature_list("a");
    auto data = Dataset::parse_csv(
        csv, "t.csv",
        fit_csv_options(request, preview({"timestamp", "a", "y"}, {false, true, true})));
    auto fit = fit_dataset(data, request, {});
    CHECK(fit.cv_plan.starts_with("k-fold"));
    REQUIRE(fit.notes.size() == 1);
    CHECK(fit.notes[0].starts_with("column 'timestamp' is text, not seconds"));
    // A numeric timestamp gets no note.
    auto numeric = fit_dataset(table("timestamp,a,y\n1,1,2\n2,2,4.1\n3,3,6\n4,4,8.2\n5,5,9.9\n6,6,"
                                     "12\n7,7,14.1\n8,8,16\n9,9,18.2\n10,10,20\n"),
                               request, {});
    CHECK(numeric.notes.empty());
  }
}
