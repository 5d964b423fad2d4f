#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "models/fit/solvers.h"

using namespace pmc;

namespace {

// y = intercept + Σ coef_j x_j + N(0, noise²) with x_j ~ N(0, 1) × scale_j + offset_j (fixed seed).
struct Synthetic {
  DesignMatrix x;
  std::vector<double> y;
};

Synthetic synthetic(size_t rows, const std::vector<double>& coef, double intercept, double noise, uint64_t seed,
                    const std::vector<double>& scale = {}, const std::vector<double>& offset = {}) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::vector<std::vector<double>> cols(coef.size(), std::vector<double>(rows));
  Synthetic s;
  s.y.assign(rows, intercept);
  for (size_t c = 0; c < coef.size(); ++c)
    for (size_t r = 0; r < rows; ++r) {
      cols[c][r] = normal(rng) * (scale.empty() ? 1 : scale[c]) + (offset.empty() ? 0 : offset[c]);
      s.y[r] += coef[c] * cols[c][r];
    }
  for (auto& v : s.y) v += noise * normal(rng);
  s.x = DesignMatrix::from_columns(cols);
  return s;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("ols: an exact line through three points") {
    auto x = DesignMatrix::from_columns({{0, 1, 2}});
    auto fit = fit_ols(x, {2, 5, 8});
    CHECK(fit.intercept == doctest::Approx(2).epsilon(1e-12));
    CHECK(fit.coefficients[0] == doctest::Approx(3).epsilon(1e-12));
    CHECK(fit.standard_errors[0] == doctest::Approx(0).epsilon(1e-9));
    CHECK(fit.r2 == doctest::Approx(1));
    CHECK(fit.predict(DesignMatrix::from_columns({{10}}))[0] == doctest::Approx(32));
  }

  TEST_CASE("ols: coefficients and standard errors recovered from noisy data") {
    // Counter-like columns (mean 3e9, sd 1e9) next to unit-scale ones: scaling must not matter.
    auto s = synthetic(4000, {2e-9, -3, 0.5}, 1.5, 0.1, 42, {1e9, 1, 1}, {3e9, 0, 0});
    auto fit = fit_ols(s.x, s.y);
    std::vector<double> truth{2e-9, -3, 0.5};
    for (size_t j = 0; j < 3; ++j) {
      CHECK(std::abs(fit.coefficients[j] - truth[j]) < 4 * fit.standard_errors[j]);
      CHECK(fit.standard_errors[j] > 0);
    }
    // σ/√n/sd_x is the textbook standard error of a slope.
    CHECK(fit.standard_errors[1] == doctest::Approx(0.1 / std::sqrt(4000.0)).epsilon(0.1));
    CHECK(fit.standard_errors[0] == doctest::Approx(0.1 / std::sqrt(4000.0) / 1e9).epsilon(0.1));
    CHECK(std::abs(fit.intercept - 1.5) < 4 * fit.intercept_se);
    CHECK(fit.sigma == doctest::Approx(0.1).epsilon(0.05));
  }

  TEST_CASE("ols: a duplicated column gets coefficient 0 and no standard error") {
    auto s = synthetic(100, {1, 2}, 0, 0.01, 3);
    std::vector<double> dup(s.x.column(0), s.x.column(0) + s.x.rows);
    auto x = DesignMatrix::from_columns({std::vector<double>(s.x.column(0), s.x.column(0) + 100),
                                         std::vector<double>(s.x.column(1), s.x.column(1) + 100), dup});
    auto fit = fit_ols(x, s.y);
    CHECK(fit.coefficients[0] + fit.coefficients[2] == doctest::Approx(1).epsilon(0.01));
    CHECK(fit.effective_parameters == 3);  // intercept + 2 independent columns
    CHECK((std::isnan(fit.standard_errors[0]) || std::isnan(fit.standard_errors[2])));
  }

  TEST_CASE("ols: fewer rows than features + intercept is refused") {
    auto x = DesignMatrix::from_columns({{1, 2}, {3, 1}});
    CHECK_THROWS_AS(fit_ols(x, {1, 2}), std::runtime_error);
  }

  TEST_CASE("ridge: the closed form on a hand example") {
    // z = (-1, -1, 1, 1) is standardised (mean 0, population sd 1); y - ȳ = (-2, -1, 1, 2).
    // β = (ZᵀZ + nλI)⁻¹ Zᵀ(y - ȳ) = 6 / (4 + 4·0.5) = 1, intercept ȳ = 3 (not penalised).
    auto x = DesignMatrix::from_columns({{-1, -1, 1, 1}});
    auto fit = fit_ridge(x, {1, 2, 4, 5}, 0.5);
    CHECK(fit.coefficients[0] == doctest::Approx(1));
    CHECK(fit.intercept == doctest::Approx(3));
    // Unstandardised input: x = 10 + 2z gives the same fitted values, coefficient 1/2.
    auto x2 = DesignMatrix::from_columns({{8, 8, 12, 12}});
    auto fit2 = fit_ridge(x2, {1, 2, 4, 5}, 0.5);
    CHECK(fit2.coefficients[0] == doctest::Approx(0.5));
    CHECK(fit2.intercept == doctest::Approx(3 - 0.5 * 10));
  }

  TEST_CASE("ridge: two correlated columns against (G + λI)⁻¹c solved by hand") {
    std::vector<double> a{1, 2, 3, 4, 5}, b{2, 1, 4, 3, 6}, y{3, 4, 8, 7, 12};
    const double lambda = 0.3, n = 5;
    auto mean = [&](const std::vector<double>& v) { return (v[0] + v[1] + v[2] + v[3] + v[4]) / n; };
    double ma = mean(a), mb = mean(b), my = mean(y);
    double saa = 0, sbb = 0, sab = 0, say = 0, sby = 0;
    for (size_t i = 0; i < 5; ++i) {
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
      sab += (a[i] - ma) * (b[i] - mb);
      say += (a[i] - ma) * (y[i] - my);
      sby += (b[i] - mb) * (y[i] - my);
    }
    double sda = std::sqrt(saa / n), sdb = std::sqrt(sbb / n);
    // G = correlation-scaled Gram / n, c = Zᵀ(y - ȳ)/n; 2×2 by Cramer's rule.
    double g11 = 1 + lambda, g22 = 1 + lambda, g12 = sab / n / (sda * sdb);
    double c1 = say / n / sda, c2 = sby / n / sdb;
    double det = g11 * g22 - g12 * g12;
    double beta1 = (c1 * g22 - g12 * c2) / det, beta2 = (g11 * c2 - g12 * c1) / det;
    auto fit = fit_ridge(DesignMatrix::from_columns({a, b}), y, lambda);
    CHECK(fit.coefficients[0] == doctest::Approx(beta1 / sda));
    CHECK(fit.coefficients[1] == doctest::Approx(beta2 / sdb));
    CHECK(fit.intercept == doctest::Approx(my - ma * beta1 / sda - mb * beta2 / sdb));
  }

  TEST_CASE("ridge: λ → 0 is OLS") {
    // Columns of very different scales (cycles, a ratio, a small rate), all contributing O(1).
    auto s = synthetic(500, {1e-9, -2, 300, 0.005}, 4, 0.3, 7, {1e9, 1, 1e-3, 100}, {5e9, 0, 0, 1000});
    auto ols = fit_ols(s.x, s.y);
    auto ridge = fit_ridge(s.x, s.y, 1e-12);
    for (size_t j = 0; j < 4; ++j) CHECK(ridge.coefficients[j] == doctest::Approx(ols.coefficients[j]).epsilon(1e-6));
    CHECK(ridge.intercept == doctest::Approx(ols.intercept).epsilon(1e-6));
    for (size_t j = 0; j < 4; ++j) CHECK(ridge.standard_errors[j] == doctest::Approx(ols.standard_errors[j]).epsilon(1e-3));
  }

  TEST_CASE("ridge: CV picks a small λ for signal and shrinks pure noise") {
    auto s = synthetic(2000, {1, -2, 3}, 4, 0.1, 11);
    auto plan = kfold_plan(2000, 10, 5);
    auto cv = fit_ridge_cv(s.x, s.y, plan);
    CHECK(cv.fit.lambda < 1e-2);
    CHECK(cv.fit.coefficients[2] == doctest::Approx(3).epsilon(0.01));
    std::mt19937_64 rng(9);
    std::normal_distribution<double> normal(0, 1);
    std::vector<double> noise(2000);
    for (auto& v : noise) v = normal(rng);
    auto shrunk = fit_ridge_cv(s.x, noise, plan);
    CHECK(shrunk.fit.lambda > 0.1);
    CHECK(std::abs(shrunk.fit.coefficients[0]) < 0.02);
  }

  TEST_CASE("ridge: CV error from Gram blocks equals refitting from rows") {
    auto s = synthetic(300, {1, -2, 0.5}, 4, 0.5, 13, {2, 1, 1e6}, {1, 0, 1e7});
    for (auto plan : {kfold_plan(300, 5, 1), time_ordered_plan(300, 4)}) {
      std::vector<double> lambdas{1e-3, 0.1, 1};
      auto cv = fit_ridge_cv(s.x, s.y, plan, lambdas, 1);
      for (size_t l = 0; l < lambdas.size(); ++l) {
        double lambda = lambdas[l];
        auto direct = cross_validate(s.x, s.y, plan, [lambda](const DesignMatrix& tx, const std::vector<double>& ty,
                                                             const DesignMatrix& test) {
          return fit_ridge(tx, ty, lambda).predict(test);
        });
        CHECK(cv.cv_mse[l] == doctest::Approx(direct.pooled.rmse * direct.pooled.rmse).epsilon(1e-8));
      }
    }
  }

  TEST_CASE("ridge: threads do not change the answer") {
    auto s = synthetic(120000, {1, -2, 0.5}, 4, 0.5, 17);
    auto plan = kfold_plan(s.y.size(), 10, 3);
    auto one = fit_ridge_cv(s.x, s.y, plan, {}, 1);
    auto two = fit_ridge_cv(s.x, s.y, plan, {}, 2);
    CHECK(one.best == two.best);
    for (size_t j = 0; j < 3; ++j) CHECK(one.fit.coefficients[j] == doctest::Approx(two.fit.coefficients[j]).epsilon(1e-10));
  }

  TEST_CASE("nnls: a known answer where OLS has a negative coefficient") {
    // y = 1 + 2·x1 - x2 exactly; with x2 ≥ 0 forced the best is the line on x1 alone:
    // slope Σ(x1-x̄)(y-ȳ)/Σ(x1-x̄)² = 7/5, intercept 3 - 1.4·1.5 = 0.9.
    auto x = DesignMatrix::from_columns({{0, 1, 2, 3}, {0, 1, 1, 2}});
    std::vector<double> y{1, 2, 4, 5};
    auto ols = fit_ols(x, y);
    CHECK(ols.coefficients[1] == doctest::Approx(-1));
    auto nn = fit_nnls(x, y);
    CHECK(nn.coefficients[0] == doctest::Approx(1.4));
    CHECK(nn.coefficients[1] == 0);
    CHECK(nn.intercept == doctest::Approx(0.9));
    CHECK(std::isnan(nn.standard_errors[1]));
  }

  TEST_CASE("nnls: everything at the bound gives the zero fit") {
    auto x = DesignMatrix::from_columns({{1, 2, 3, 4}});
    NnlsOptions o;
    o.nonnegative_intercept = true;
    auto fit = fit_nnls(x, {-1, -2, -3, -4}, o);
    CHECK(fit.intercept == 0);
    CHECK(fit.coefficients[0] == 0);
  }

  TEST_CASE("nnls: never a negative coefficient, and the KKT conditions hold") {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      auto s = synthetic(60, {1, -1, 0.5, -2, 0}, seed % 2 ? -5.0 : 5.0, 1, seed);
      for (bool nonneg : {false, true}) {
        NnlsOptions o;
        o.nonnegative_intercept = nonneg;
        auto fit = fit_nnls(s.x, s.y, o);
        auto pred = fit.predict(s.x);
        double sum_r = 0;
        for (size_t r = 0; r < 60; ++r) sum_r += s.y[r] - pred[r];
        for (size_t j = 0; j < 5; ++j) {
          CHECK(fit.coefficients[j] >= 0);
          double grad = 0;  // xⱼᵀ residual: ≤ 0 at the bound, 0 inside
          for (size_t r = 0; r < 60; ++r) grad += s.x.at(r, j) * (s.y[r] - pred[r]);
          if (fit.coefficients[j] > 0) CHECK(grad == doctest::Approx(0).scale(1e3));
          else CHECK(grad <= 1e-6);
        }
        if (nonneg) CHECK(fit.intercept >= 0);
        if (!nonneg || fit.intercept > 0) CHECK(sum_r == doctest::Approx(0).scale(1e3));
      }
    }
  }

  TEST_CASE("elastic net: the lasso (α = 1) zeroes irrelevant features") {
    auto s = synthetic(1000, {3, 2, 0, 0, 0, 0}, 1, 0.5, 21);
    ElasticNetOptions o;
    o.alpha = 1;
    auto fit = fit_elastic_net(s.x, s.y, 0.1, o);
    CHECK(fit.coefficients[0] > 2.5);
    CHECK(fit.coefficients[1] > 1.5);
    for (size_t j = 2; j < 6; ++j) CHECK(fit.coefficients[j] == 0);
    auto path = elastic_net_path(s.x, s.y, o);
    for (double c : path.front().coefficients) CHECK(c == 0);  // λ_max: nothing enters
    CHECK(path.back().coefficients[0] == doctest::Approx(3).epsilon(0.02));
  }

  TEST_CASE("elastic net: the fit minimises the documented objective, whatever the scale of y") {
    // The optimality (KKT) conditions of (1/2n)‖y - b₀ - Zβ‖² + λ(α‖β‖₁ + (1-α)/2‖β‖²), Z the
    // columns standardised with their population sd: with r the residuals and gⱼ = zⱼᵀr / n,
    // gⱼ = λα·sign(βⱼ) + λ(1-α)βⱼ where βⱼ ≠ 0, |gⱼ| ≤ λα where βⱼ = 0, and Σr = 0. A y of sd
    // ~100 tells an objective in y's units from one in units of sd(y).
    auto s = synthetic(300, {40, 25, 0.3, 0}, 7, 20, 31, {1, 2, 1, 1}, {5, 0, 0, 3});
    const size_t n = 300, p = 4;
    for (double alpha : {1.0, 0.5}) {
      for (double lambda : {0.5, 3.0}) {
        CAPTURE(alpha);
        CAPTURE(lambda);
        ElasticNetOptions o;
        o.alpha = alpha;
        auto fit = fit_elastic_net(s.x, s.y, lambda, o);
        auto pred = fit.predict(s.x);
        double sum_r = 0;
        for (size_t r = 0; r < n; ++r) sum_r += s.y[r] - pred[r];
        CHECK(sum_r / n == doctest::Approx(0).scale(1));
        size_t zeroed = 0;
        for (size_t j = 0; j < p; ++j) {
          double mean = 0, var = 0, g = 0;
          for (size_t r = 0; r < n; ++r) mean += s.x.at(r, j) / n;
          for (size_t r = 0; r < n; ++r) var += (s.x.at(r, j) - mean) * (s.x.at(r, j) - mean) / n;
          double sd = std::sqrt(var);
          for (size_t r = 0; r < n; ++r) g += (s.x.at(r, j) - mean) / sd * (s.y[r] - pred[r]) / n;
          double beta = fit.coefficients[j] * sd;  // the coefficient of zⱼ
          if (beta != 0) {
            double expected = lambda * alpha * (beta > 0 ? 1 : -1) + lambda * (1 - alpha) * beta;
            CHECK(g == doctest::Approx(expected).epsilon(1e-6).scale(1));
          } else {
            ++zeroed;
            CHECK(std::abs(g) <= lambda * alpha * (1 + 1e-6));
          }
        }
        // λ = 3 in y's units zeroes the feature of coefficient 0.3 (|g| ≤ 0.3·sd 1 < λα), which
        // a λ in units of sd(y) ≈ 100 would not tell apart from the lasso of λ = 300.
        if (lambda == 3.0 && alpha == 1.0) CHECK(zeroed >= 1);
        if (lambda == 3.0 && alpha == 1.0) CHECK(fit.coefficients[0] > 35);
      }
    }
  }

  TEST_CASE("elastic net: α = 0 is ridge, and CV chooses from the path") {
    auto s = synthetic(400, {1, -1, 0.5}, 2, 0.3, 23);
    ElasticNetOptions o;
    o.alpha = 0;
    auto en = fit_elastic_net(s.x, s.y, 0.2, o);
    auto ridge = fit_ridge(s.x, s.y, 0.2);
    for (size_t j = 0; j < 3; ++j) CHECK(en.coefficients[j] == doctest::Approx(ridge.coefficients[j]).epsilon(1e-6));
    o.alpha = 0.5;
    auto cv = fit_elastic_net_cv(s.x, s.y, kfold_plan(400, 5), o);
    CHECK(cv.lambdas.size() == o.path_length);
    CHECK(cv.fit.coefficients[0] == doctest::Approx(1).epsilon(0.05));
    CHECK_THROWS_AS(fit_elastic_net(s.x, s.y, 0.1, ElasticNetOptions{1.5}), std::invalid_argument);
  }

  TEST_CASE("cpi stack: base CPI and per-level penalties recovered, never negative") {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0, 1);
    std::normal_distribution<double> noise(0, 0.01);
    Dataset ds;
    std::vector<double> cycles, instructions, l2, l3, dram, tlb;
    for (int i = 0; i < 500; ++i) {
      double ins = 1e9 * (0.5 + u(rng));
      double m2 = ins * 0.02 * u(rng), m3 = ins * 0.005 * u(rng), md = ins * 0.001 * u(rng), mt = ins * 0.001 * u(rng);
      instructions.push_back(ins);
      l2.push_back(m2);
      l3.push_back(m3);
      dram.push_back(md);
      tlb.push_back(mt);
      // base 0.4, 12 cycles per L2 miss, 40 per L3 miss, 200 per DRAM access; TLB misses cost nothing.
      cycles.push_back(ins * (0.4 + noise(rng)) + 12 * m2 + 40 * m3 + 200 * md);
    }
    ds.add_column("cycles", cycles);
    ds.add_column("instructions", instructions);
    ds.add_column("l2", l2);
    ds.add_column("l3", l3);
    ds.add_column("dram", dram);
    ds.add_column("tlb", tlb);
    auto stack = fit_cpi_stack(ds, "cycles", "instructions", {"l2", "l3", "dram", "tlb"});
    CHECK(stack.base_cpi == doctest::Approx(0.4).epsilon(0.02));
    CHECK(stack.penalty_cycles[0] == doctest::Approx(12).epsilon(0.05));
    CHECK(stack.penalty_cycles[1] == doctest::Approx(40).epsilon(0.05));
    CHECK(stack.penalty_cycles[2] == doctest::Approx(200).epsilon(0.05));
    for (double p : stack.penalty_cycles) CHECK(p >= 0);
    CHECK(stack.penalty_cycles[3] < 5);
    double total = stack.base_cycles[7] + stack.unexplained_cycles[7];
    for (const auto& level : stack.stall_cycles) total += level[7];
    CHECK(total == doctest::Approx(cycles[7]));
  }
}
