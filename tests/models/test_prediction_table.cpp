// prediction_columns and summarize_prediction (models/fit/prediction_table.h): what predict reads
// as numbers, and its errors, interval coverage and band counts, on hand-made predictions.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "models/fit/prediction_table.h"

using namespace pmc;

namespace {

// A model of y on a (pooled) with bands by f at edge 5; band 1's own model reads b.
Model banded_model() {
  Model m;
  m.target = "y";
  m.terms.push_back({parse_feature_spec("a")});
  m.band_column = "f";
  m.band_edges = {5};
  m.bands.resize(2);
  auto own = std::make_shared<Model>();
  own->target = "y";
  own->terms.push_back({parse_feature_spec("ratio(b,a)")});
  m.bands[1].model = own;
  m.bands[1].reason = "";
  m.bands[0].reason = "too few rows";
  return m;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("prediction_columns: the features' inputs are required numbers, the rest text") {
    Model m = banded_model();
    CsvPreview p;
    p.names = {"label", "a", "b", "f", "y", "extra"};
    auto c = prediction_columns(m, p);
    CHECK(c.has_target);
    CHECK(c.csv.required_columns == std::vector<std::string>{"a", "b"});
    CHECK(c.csv.string_columns == std::vector<std::string>{"label", "extra"});
    CHECK(c.csv.empty_is_missing == std::vector<std::string>{"y"});

    SUBCASE("without the target and the band column, both are simply absent") {
      p.names = {"a", "b", "label"};
      auto d = prediction_columns(m, p);
      CHECK(!d.has_target);
      CHECK(d.csv.required_columns == std::vector<std::string>{"a", "b"});
      CHECK(d.csv.string_columns == std::vector<std::string>{"label"});
    }
  }

  TEST_CASE("summarize_prediction: errors, interval coverage in and out of range, band use") {
    Model m = banded_model();
    // y 1 2 3 4, predicted 1 2 3 5: |error| / y = 0, 0, 0, 0.25 -> MAPE 6.25%, RMSE √(1/4).
    // Intervals: row 0 [0, 2] covers 1, row 1 [2.5, 3] misses 2, row 2 [2, 4] covers 3, row 3
    // [0, 3.5] misses 4. Rows 2 and 3 are out of range: one of them covered.
    auto data = Dataset::parse_csv("a,b,f,y\n1,1,1,1\n1,1,7,2\n1,1,7,3\n1,1,2,4\n", "t.csv");
    Prediction p;
    p.value = {1, 2, 3, 5};
    p.lower = {0, 2.5, 2, 0};
    p.upper = {2, 3, 4, 3.5};
    p.out_of_range = {0, 0, 1, 1};
    p.out_of_range_by_term = {2};
    p.band = {0, -1, 1, 0};  // row 1 is in band 1 but the pooled model predicted it
    auto s = summarize_prediction(m, p, data, true);
    REQUIRE(s.check);
    CHECK(s.check->errors.n == 4);
    CHECK(s.check->errors.mape_percent == doctest::Approx(6.25));
    CHECK(s.check->errors.rmse == doctest::Approx(0.5));
    CHECK(s.check->rows == 4);
    CHECK(s.check->covered == 2);
    CHECK(s.check->out_of_range == 2);
    CHECK(s.check->out_of_range_covered == 1);
    CHECK(s.out_of_range_rows == 2);
    REQUIRE(s.band_use);
    // f 1, 7, 7, 2 -> bands 0, 1, 1, 0.
    CHECK(s.band_use->by_band_model == std::vector<size_t>{2, 1});
    CHECK(s.band_use->by_pooled_model == std::vector<size_t>{0, 1});

    SUBCASE("an empty target cell: the row is predicted, and left out of the check") {
      // Row 1 has no y: the check is over rows 0, 2, 3 (errors 0, 0, 1: MAPE 25/3 %, RMSE
      // √(1/3)); rows 0 and 2 are covered; of rows 2 and 3 out of range, row 2 is covered.
      CsvOptions options;
      options.empty_is_missing = {"y"};
      auto partial =
          Dataset::parse_csv("a,b,f,y\n1,1,1,1\n1,1,7,\n1,1,7,3\n1,1,2,4\n", "t.csv", options);
      CHECK(std::isnan(partial.column("y")[1]));
      auto t = summarize_prediction(m, p, partial, true);
      REQUIRE(t.check);
      CHECK(t.check->rows == 3);
      CHECK(t.check->without_target == 1);
      CHECK(t.check->errors.n == 3);
      CHECK(t.check->errors.mape_percent == doctest::Approx(25.0 / 3));
      CHECK(t.check->errors.rmse == doctest::Approx(std::sqrt(1.0 / 3)));
      CHECK(t.check->covered == 2);
      CHECK(t.check->out_of_range == 2);
      CHECK(t.check->out_of_range_covered == 1);
      CHECK(t.out_of_range_rows == 2);
      // A word in the target column is still refused; only an empty cell is "no target".
      CHECK_THROWS_AS(Dataset::parse_csv("a,y\n1,x\n", "t.csv", options), std::runtime_error);
      // No row with a target: nothing to check.
      auto none = Dataset::parse_csv("a,b,f,y\n1,1,1,\n1,1,7,\n1,1,7,\n1,1,2,\n", "t.csv", options);
      CHECK(!summarize_prediction(m, p, none, true).check);
    }
    SUBCASE("without the target there is nothing to check against") {
      CHECK(!summarize_prediction(m, p, data, false).check);
    }
    SUBCASE("when no row could choose a band, no band counts") {
      p.band_note = "the table has no column f";
      CHECK(!summarize_prediction(m, p, data, true).band_use);
    }
    SUBCASE("a model without bands has no band counts") {
      Model pooled = m;
      pooled.bands.clear();
      pooled.band_column.clear();
      CHECK(!summarize_prediction(pooled, p, data, true).band_use);
    }
  }
}
