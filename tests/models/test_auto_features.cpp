#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/fit/auto_features.h"
#include "models/fit/model_file.h"
#include "models/fit/solvers.h"

using namespace pmc;

namespace {

Dataset table(const std::string& csv) {
  return Dataset::parse_csv(csv, "t.csv");
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE(
      "auto features: the candidates of a column: itself, sqrt and log1p when ≥ 0, hinges at "
      "the quantiles asked for, every 5 % quantile by default") {
    // a = 0..8: quartiles (type 7) 2, 4, 6; b has a negative value: no sqrt or log1p.
    auto d = table("a,b\n0,-1\n1,2\n2,3\n3,4\n4,5\n5,6\n6,7\n7,8\n8,9\n");
    auto pool = expand_candidates(d, {"a", "b"}, {0.25, 0.5, 0.75});
    std::vector<std::string> names;
    for (const auto& s : pool.specs) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"a", "sqrt(a)", "log1p(a)", "hinge(a,2)", "hinge(a,4)",
                                            "hinge(a,6)", "b", "hinge(b,3)", "hinge(b,5)",
                                            "hinge(b,7)"});
    CHECK(pool.nonnegative == std::vector<char>{1, 1, 1, 0, 0, 0, 1, 0, 0, 0});
    CHECK(pool.raw == std::vector<size_t>{0, 6});
    // By default every 5 % quantile: of a = 0..8 (type 7, q·8) 0.4, 0.8, …, 7.6, all inside (0, 8).
    auto fine = expand_candidates(d, {"a"});
    std::vector<double> knots;
    for (const auto& s : fine.specs)
      if (s.op == FeatureOp::hinge) knots.push_back(s.knot);
    REQUIRE(knots.size() == 19);
    for (size_t i = 0; i < 19; ++i) CHECK(knots[i] == doctest::Approx(0.4 * double(i + 1)));
  }

  TEST_CASE("auto features: a constrained coefficient that OLS makes negative is held at 0") {
    // y = 1 + 2·x1 − 0.5·x2 exactly. With x2's coefficient kept ≥ 0 the best fit drops x2, and
    // the rest is OLS of y on x1 alone.
    std::vector<double> x1 = {1, 2, 3, 4, 5, 6, 7, 8}, x2 = {2, 1, 4, 3, 6, 5, 8, 9}, y;
    for (size_t i = 0; i < x1.size(); ++i) y.push_back(1 + 2 * x1[i] - 0.5 * x2[i]);
    auto x = DesignMatrix::from_columns({x1, x2}, {"x1", "x2"});
    Fit free = fit_sign_constrained(x, y, {0, 0});
    CHECK(free.coefficients[0] == doctest::Approx(2).epsilon(1e-8));
    CHECK(free.coefficients[1] == doctest::Approx(-0.5).epsilon(1e-8));
    CHECK(free.intercept == doctest::Approx(1).epsilon(1e-8));
    Fit bound = fit_sign_constrained(x, y, {1, 1});
    CHECK(bound.coefficients[1] == 0);
    Fit alone = fit_ols(DesignMatrix::from_columns({x1}, {"x1"}), y);
    CHECK(bound.coefficients[0] == doctest::Approx(alone.coefficients[0]).epsilon(1e-8));
    CHECK(bound.intercept == doctest::Approx(alone.intercept).epsilon(1e-8));
  }

  TEST_CASE(
      "auto features: a time-ordered plan with a gap leaves the rows before each test block "
      "out of its training") {
    // 20 rows, 4 blocks of 5, gap 2: the last 2 rows of blocks 1-3 are the gap before the next
    // block (never tested, trained on by the later splits).
    CvPlan plan = time_ordered_gap_plan(20, 4, 2);
    REQUIRE(plan.splits.size() == 3);
    CHECK(plan.test_rows(0) == std::vector<size_t>{5, 6, 7});
    CHECK(plan.train_rows(0) == std::vector<size_t>{0, 1, 2});
    CHECK(plan.test_rows(1) == std::vector<size_t>{10, 11, 12});
    CHECK(plan.train_rows(1) == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(plan.test_rows(2) == std::vector<size_t>{15, 16, 17, 18, 19});
    CHECK(plan.train_rows(2).size() == 13);
    // Without a gap it is the plain time-ordered plan.
    CvPlan plain = time_ordered_gap_plan(20, 4, 0);
    CHECK(plain.train_rows(0) == std::vector<size_t>{0, 1, 2, 3, 4});
  }

  TEST_CASE("auto features: folds are predicted with features clipped to the training range") {
    // Trained on x = 1..5 with y = 10x; the test row x = 9 is predicted as x = 5.
    auto train = DesignMatrix::from_columns({{1, 2, 3, 4, 5}}, {"x"});
    auto test = DesignMatrix::from_columns({{9, 0, 3}}, {"x"});
    auto predictor = clipping_predictor(
        [](const DesignMatrix& x, const std::vector<double>& y) { return fit_ols(x, y); });
    auto p = predictor(train, {10, 20, 30, 40, 50}, test);
    CHECK(p[0] == doctest::Approx(50));
    CHECK(p[1] == doctest::Approx(10));
    CHECK(p[2] == doctest::Approx(30));
  }

  TEST_CASE(
      "auto features: a clipping model predicts at the edge and widens the interval by what "
      "the unclipped value would add") {
    Model m;
    m.target = "y";
    m.solver = "ols";
    m.intercept = 1;
    ModelTerm t;
    t.spec = raw_feature("x");
    t.coefficient = 2;
    t.train_min = 0;
    t.train_max = 10;
    m.terms.push_back(t);
    m.interval.lower = -3;
    m.interval.upper = 4;
    m.clip_out_of_range = true;
    auto d = table("x\n5\n14\n-2\n");
    auto p = predict(m, d);
    // In range: 1 + 2·5 = 11, interval 8..15.
    CHECK(p.value[0] == doctest::Approx(11));
    CHECK(p.lower[0] == doctest::Approx(8));
    CHECK(p.upper[0] == doctest::Approx(15));
    CHECK(!p.out_of_range[0]);
    // x = 14 → clipped to 10: 21; the unclipped value would add 2·4 = 8 → 21−3−8 .. 21+4+8.
    CHECK(p.value[1] == doctest::Approx(21));
    CHECK(p.lower[1] == doctest::Approx(10));
    CHECK(p.upper[1] == doctest::Approx(33));
    CHECK(p.out_of_range[1]);
    // x = −2 → clipped to 0: 1; 2·(−2) = −4 → 1−3−4 .. 1+4+4.
    CHECK(p.value[2] == doctest::Approx(1));
    CHECK(p.lower[2] == doctest::Approx(-6));
    CHECK(p.upper[2] == doctest::Approx(9));
    // The flag survives the model file; without it the same model extrapolates.
    auto back = model_from_json(model_to_json(m), "m.json");
    CHECK(back.clip_out_of_range);
    m.clip_out_of_range = false;
    CHECK(model_to_json(m).find("extrapolation") == std::string::npos);
    CHECK(predict(m, d).value[1] == doctest::Approx(29));
  }

  TEST_CASE("auto features: the ratio of every ordered pair of columns ≥ 0, with a free sign") {
    // a, c ≥ 0; b has a negative value, so it is in no ratio.
    auto d = table("a,b,c\n1,-1,4\n2,2,3\n3,3,5\n4,4,1\n5,5,2\n");
    auto pool = expand_candidates(d, {"a", "b", "c"});
    std::vector<std::string> ratios;
    for (size_t i = 0; i < pool.specs.size(); ++i)
      if (pool.specs[i].op == FeatureOp::ratio) {
        ratios.push_back(pool.specs[i].name);
        CHECK(pool.nonnegative[i] == 0);
      }
    CHECK(ratios == std::vector<std::string>{"ratio(a,c)", "ratio(c,a)"});
  }

  TEST_CASE("auto features: a relative-error fit weights each row by 1/y²") {
    // x is 0 or 1, so the fit is the weighted mean of each group. With weights 1/y²:
    // x = 0: (1·1 + 3·(1/9)) / (1 + 1/9) = 1.2; x = 1: (10/100 + 30/900) / (1/100 + 1/900) = 12.
    // Unweighted: the plain means 2 and 20.
    auto x = DesignMatrix::from_columns({{0, 0, 1, 1}}, {"x"});
    std::vector<double> y = {1, 3, 10, 30};
    Fit relative = fit_sign_constrained(x, y, {1}, FitWeighting::relative);
    CHECK(relative.intercept == doctest::Approx(1.2).epsilon(1e-9));
    CHECK(relative.coefficients[0] == doctest::Approx(10.8).epsilon(1e-9));
    Fit plain = fit_sign_constrained(x, y, {1}, FitWeighting::none);
    CHECK(plain.intercept == doctest::Approx(2).epsilon(1e-9));
    CHECK(plain.coefficients[0] == doctest::Approx(18).epsilon(1e-9));
    // A target value ≤ 0 leaves no relative error: the fit is unweighted.
    CHECK(relative_weights({1, 0, 2}).empty());
    Fit zero = fit_sign_constrained(x, {0, 4, 10, 30}, {1}, FitWeighting::relative);
    CHECK(zero.intercept == doctest::Approx(2).epsilon(1e-9));
  }

  TEST_CASE("auto features: the selection stops before a fold has too few rows to fit") {
    // 6 rows, 2 folds of 3 training rows: a fit needs more rows than features + intercept, so at
    // most 1 feature. y = 3 + 2x exactly: x is selected first (CV error 0) and a second trial
    // would be a 2-feature fit on 3 rows, which fit_sign_constrained refuses.
    Dataset d("t");
    d.add_column("x", {1, 2, 3, 5, 8, 13});
    std::vector<double> y;
    for (double x : d.column("x")) y.push_back(3 + 2 * x);
    auto pool = expand_candidates(d, {"x"});
    REQUIRE(pool.specs.size() > 6);  // more candidates than rows: the pool is never fitted whole
    DesignMatrix px = evaluate_features(d, pool.specs);
    CvPlan plan = kfold_plan(6, 2);
    SelectionOptions options;
    options.criterion = SelectionCriterion::mape;
    AutoSelection sel;
    REQUIRE_NOTHROW(sel = select_auto(px, pool.nonnegative, pool.raw, y, plan, options));
    CHECK(sel.selected.size() == 1);
  }

  TEST_CASE(
      "auto features: the selection is never kept when its CV error is not below the plain "
      "linear baseline's on the same plan") {
    // y = 1 + x1 + 2·x2 + 3·x3 exactly, three unrelated inputs. With one feature allowed, no
    // single candidate can explain y, while OLS on the three raw columns is exact: the baseline
    // must be the model.
    std::vector<double> x1, x2, x3, y;
    for (int i = 0; i < 120; ++i) {
      x1.push_back(1 + (i * 7) % 11);
      x2.push_back(1 + (i * 5) % 13);
      x3.push_back(1 + (i * 3) % 17);
      y.push_back(1 + x1.back() + 2 * x2.back() + 3 * x3.back());
    }
    Dataset d("t");
    d.add_column("x1", x1);
    d.add_column("x2", x2);
    d.add_column("x3", x3);
    auto pool = expand_candidates(d, {"x1", "x2", "x3"});
    DesignMatrix px = design_matrix(d, pool.specs);
    CvPlan plan = time_ordered_gap_plan(y.size(), 5, 2);
    SelectionOptions options;
    options.criterion = SelectionCriterion::mape;
    options.max_features = 1;
    AutoSelection one = select_auto(px, pool.nonnegative, pool.raw, y, plan, options);
    REQUIRE(one.selected.size() == 1);
    CHECK(one.baseline_cv.mape_percent < 1e-6);
    CHECK(one.selected_cv.mape_percent > 1);
    CHECK(one.baseline_kept);
    CHECK(one.final_columns == pool.raw);
    // Without the limit the selection finds the three raw columns itself, and is exact too: not
    // below the baseline, so the baseline is still the model.
    options.max_features = 0;
    AutoSelection free = select_auto(px, pool.nonnegative, pool.raw, y, plan, options);
    CHECK(!(free.selected_cv.mape_percent < free.baseline_cv.mape_percent) == free.baseline_kept);
  }

  TEST_CASE(
      "auto features: a concave response is found, beats the linear baseline and is kept, "
      "fitted by relative error") {
    // y = 20 + 8·√x over a load that rises and falls in time; the linear baseline on x is biased
    // at both ends of the range, √x is exact.
    std::vector<double> x, y;
    for (int i = 0; i < 200; ++i) {
      double load = 1 + double((i * 37) % 100);
      x.push_back(load);
      y.push_back(20 + 8 * std::sqrt(load));
    }
    Dataset d("t");
    d.add_column("x", x);
    auto pool = expand_candidates(d, {"x"});
    DesignMatrix px = design_matrix(d, pool.specs);
    SelectionOptions options;
    options.criterion = SelectionCriterion::mape;
    AutoSelection sel =
        select_auto(px, pool.nonnegative, pool.raw, y, time_ordered_gap_plan(200, 5, 2), options);
    REQUIRE(!sel.selected.empty());
    CHECK(pool.specs[sel.selected[0]].name == "sqrt(x)");
    CHECK(sel.weighting == FitWeighting::relative);
    CHECK(sel.selected_cv.mape_percent < 1e-6);
    CHECK(sel.baseline_cv.mape_percent > 1);
    CHECK(!sel.baseline_kept);
    CHECK(sel.final_columns == sel.selected);
  }
}
