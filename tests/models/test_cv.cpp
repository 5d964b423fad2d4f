#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/solvers.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("cv: k-fold puts every row in exactly one test fold") {
    auto plan = kfold_plan(103, 10, 7);
    std::vector<int> tested(103, 0);
    for (size_t s = 0; s < plan.splits.size(); ++s) {
      auto test = plan.test_rows(s), train = plan.train_rows(s);
      CHECK(test.size() + train.size() == 103);
      CHECK((test.size() == 10 || test.size() == 11));
      for (auto r : test) ++tested[r];
      std::vector<size_t> both;
      std::set_intersection(test.begin(), test.end(), train.begin(), train.end(), std::back_inserter(both));
      CHECK(both.empty());
    }
    CHECK(std::all_of(tested.begin(), tested.end(), [](int n) { return n == 1; }));
    CHECK(kfold_plan(103, 10, 7).block_of_row == plan.block_of_row);  // the seed fixes the shuffle
    CHECK(kfold_plan(103, 10, 8).block_of_row != plan.block_of_row);
    auto contiguous = plan.block_of_row;
    std::sort(contiguous.begin(), contiguous.end());
    CHECK(contiguous != plan.block_of_row);  // shuffled, not consecutive
    CHECK_THROWS_AS(kfold_plan(5, 10), std::invalid_argument);
  }

  TEST_CASE("cv: grouped leave-one-group-out never splits a group") {
    std::vector<std::string> groups{"cpu", "cpu", "stream", "idle", "stream", "cpu", "idle", "vm"};
    auto plan = grouped_plan(groups);
    CHECK(plan.splits.size() == 4);
    for (size_t s = 0; s < plan.splits.size(); ++s) {
      auto test = plan.test_rows(s);
      REQUIRE(!test.empty());
      const auto& g = groups[test[0]];
      for (auto r : test) CHECK(groups[r] == g);
      for (auto r : plan.train_rows(s)) CHECK(groups[r] != g);
      CHECK(plan.block_names[plan.splits[s].test_block] == g);
    }
    CHECK_THROWS_AS(grouped_plan({"a", "a"}), std::invalid_argument);
  }

  TEST_CASE("cv: time-ordered never tests on the past") {
    auto plan = time_ordered_plan(50, 5);
    CHECK(plan.splits.size() == 4);
    std::vector<int> tested(50, 0);
    for (size_t s = 0; s < plan.splits.size(); ++s) {
      auto test = plan.test_rows(s), train = plan.train_rows(s);
      CHECK(train.back() < test.front());
      CHECK(train.front() == 0);  // expanding window from the start
      for (auto r : test) ++tested[r];
    }
    for (size_t r = 0; r < 10; ++r) CHECK(tested[r] == 0);  // the first block only trains
    for (size_t r = 10; r < 50; ++r) CHECK(tested[r] == 1);
    auto holdout = holdout_plan(100, 0.3);
    CHECK(holdout.test_rows(0).front() == 70);
    CHECK(holdout.train_rows(0).back() == 69);
  }

  TEST_CASE("cv: error metrics on a hand example") {
    auto e = error_metrics({1, 2, 4}, {1.5, 2, 3});
    CHECK(e.n == 3);
    CHECK(e.mape_percent == doctest::Approx(100 * (0.5 + 0 + 0.25) / 3));
    CHECK(e.rmse == doctest::Approx(std::sqrt(1.25 / 3)));
    CHECK(e.medae == doctest::Approx(0.5));
    CHECK(e.r2 == doctest::Approx(1 - 1.25 / (42.0 / 9)));
    auto zero = error_metrics({0, 2}, {1, 1});
    CHECK(zero.mape_percent == doctest::Approx(50));  // the row with y = 0 is left out of MAPE
  }

  TEST_CASE("cv: quantiles and the residual interval") {
    std::vector<double> r(100);
    for (size_t i = 0; i < 100; ++i) r[i] = double(100 - i);
    CHECK(quantile(r, 0.5) == doctest::Approx(50.5));
    auto iv = residual_interval(r, 0.9);
    CHECK(iv.lower == doctest::Approx(5.95));
    CHECK(iv.upper == doctest::Approx(95.05));
  }

  TEST_CASE("cv: held-out predictions of an exact linear relation are exact") {
    auto x = DesignMatrix::from_columns({{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3}});
    std::vector<double> y;
    for (size_t r = 0; r < 10; ++r) y.push_back(1 + 2 * x.at(r, 0) - x.at(r, 1));
    auto cv = cross_validate(x, y, time_ordered_plan(10, 2), fold_predictor({}));
    CHECK(cv.folds.size() == 1);
    CHECK(cv.pooled.n == 5);
    CHECK(cv.pooled.rmse == doctest::Approx(0).scale(1e-9));
    for (size_t r = 0; r < 5; ++r) CHECK(std::isnan(cv.predictions[r]));
    CHECK(cv.predictions[9] == doctest::Approx(y[9]));
  }

  TEST_CASE("cv: the 90% residual interval covers about 90% of new data") {
    std::mt19937_64 rng(31);
    std::normal_distribution<double> normal(0, 1);
    auto make = [&](size_t n, std::vector<double>& y) {
      std::vector<double> a(n);
      y.resize(n);
      for (size_t r = 0; r < n; ++r) {
        a[r] = normal(rng);
        y[r] = 2 + 3 * a[r] + 0.5 * normal(rng);
      }
      return DesignMatrix::from_columns({a});
    };
    std::vector<double> y, y_new;
    auto x = make(2000, y);
    auto x_new = make(5000, y_new);
    auto cv = cross_validate(x, y, kfold_plan(2000, 10), fold_predictor({}));
    auto iv = residual_interval(cv.residuals);
    CHECK(iv.lower == doctest::Approx(-1.645 * 0.5).epsilon(0.1));
    auto pred = fit_ols(x, y).predict(x_new);
    size_t inside = 0;
    for (size_t r = 0; r < y_new.size(); ++r) inside += y_new[r] >= pred[r] + iv.lower && y_new[r] <= pred[r] + iv.upper;
    double coverage = double(inside) / double(y_new.size());
    CHECK(coverage > 0.87);
    CHECK(coverage < 0.93);
  }

  TEST_CASE("cv: a relative interval is quantiles of residual / |prediction|, scaled by it") {
    // Relative residuals 0.1, -0.1, 0.05, -0.05, 0 (the row with a NaN prediction is left out):
    // the 25% and 75% quantiles (type 7) are -0.05 and +0.05.
    std::vector<double> actual = {110, 90, 105, 95, 100, 7};
    std::vector<double> predicted = {100, 100, 100, 100, 100, std::nan("")};
    auto iv = relative_residual_interval(actual, predicted, 0.5);
    CHECK(iv.relative);
    CHECK(iv.lower == doctest::Approx(-0.05));
    CHECK(iv.upper == doctest::Approx(0.05));
    CHECK(interval_lower(iv, 200) == doctest::Approx(190));
    CHECK(interval_upper(iv, 200) == doctest::Approx(210));
    CHECK(interval_lower(iv, -20) == doctest::Approx(-21));  // scaled by |prediction|
    ResidualInterval fixed{0.9, -3, 4, false};
    CHECK(interval_lower(fixed, 200) == doctest::Approx(197));
    CHECK(interval_upper(fixed, 200) == doctest::Approx(204));
    CHECK_THROWS_AS(relative_residual_interval({1, 2}, {0, std::nan("")}), std::invalid_argument);
  }
}
