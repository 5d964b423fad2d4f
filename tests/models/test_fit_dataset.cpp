// fit_dataset and fit_csv_options (models/fit/fit_dataset.h): `pmcmodel fit` without the process,
// on tables generated here from laws written in each test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

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
    for (const auto& band : fit.model.bands) CHECK(band.model);

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
}
