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
      "its quartiles") {
    // a = 0..8: quartiles (type 7) 2, 4, 6; b has a negative value: no sqrt or log1p.
    auto d = table("a,b\n0,-1\n1,2\n2,3\n3,4\n4,5\n5,6\n6,7\n7,8\n8,9\n");
    auto pool = expand_candidates(d, {"a", "b"});
    std::vector<std::string> names;
    for (const auto& s : pool.specs) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"a", "sqrt(a)", "log1p(a)", "hinge(a,2)", "hinge(a,4)",
                                            "hinge(a,6)", "b", "hinge(b,3)", "hinge(b,5)",
                                            "hinge(b,7)"});
    CHECK(pool.nonnegative == std::vector<char>{1, 1, 1, 0, 0, 0, 1, 0, 0, 0});
    CHECK(pool.raw == std::vector<size_t>{0, 6});
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
}
