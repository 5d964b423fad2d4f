// Fitting speed on synthetic data (docs/MODELS.md, "Performance"). The target: ridge with λ chosen
// by 10-fold CV over 41 values on 1,000,000 rows × 32 features in ≤ 0.5 s on a 2-core machine.
// Built by bench/CMakeLists.txt (target fit_bench); by hand:
//   g++ -O2 -std=c++20 -I models -I events -I /usr/include/eigen3 bench/fit_bench.cpp
//       models/dataset.cpp models/feature_transforms.cpp models/solvers.cpp
//       models/cross_validation.cpp -lbenchmark -lfmt -o fit_bench
#include <benchmark/benchmark.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/dataset.h"
#include "models/fit/solvers.h"

namespace {

struct Problem {
  pmc::DesignMatrix x;
  std::vector<double> y;
};

// Counter-like columns (different scales and offsets), y linear in half of them plus noise.
const Problem& problem(size_t rows, size_t cols) {
  static Problem p;
  if (p.x.rows == rows && p.x.cols == cols) return p;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal(0, 1);
  std::vector<std::vector<double>> columns(cols, std::vector<double>(rows));
  p.y.assign(rows, 30);
  for (size_t c = 0; c < cols; ++c) {
    double scale = std::pow(10.0, double(c % 7));
    double coef = c % 2 ? 0.0 : 1 / scale;
    for (size_t r = 0; r < rows; ++r) {
      columns[c][r] = scale * (3 + normal(rng));
      p.y[r] += coef * columns[c][r];
    }
  }
  for (auto& v : p.y) v += normal(rng);
  p.x = pmc::DesignMatrix::from_columns(columns);
  return p;
}

void BM_RidgeCv10Fold(benchmark::State& state) {
  const auto& p = problem(size_t(state.range(0)), size_t(state.range(1)));
  auto plan = pmc::kfold_plan(p.x.rows, 10, 1);
  for (auto _ : state) {
    auto cv = pmc::fit_ridge_cv(p.x, p.y, plan, {}, size_t(state.range(2)));
    benchmark::DoNotOptimize(cv.fit.intercept);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_RidgeCv10Fold)
    ->Args({1000000, 32, 1})
    ->Args({1000000, 32, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_RidgeTimeOrderedCv(benchmark::State& state) {
  const auto& p = problem(1000000, 32);
  auto plan = pmc::time_ordered_plan(p.x.rows, 10);
  for (auto _ : state)
    benchmark::DoNotOptimize(pmc::fit_ridge_cv(p.x, p.y, plan, {}, 2).fit.intercept);
}
BENCHMARK(BM_RidgeTimeOrderedCv)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_KfoldPlan(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(pmc::kfold_plan(1000000, 10, 1).block_of_row.data());
}
BENCHMARK(BM_KfoldPlan)->Unit(benchmark::kMillisecond);

void BM_OlsQr(benchmark::State& state) {
  const auto& p = problem(size_t(state.range(0)), 32);
  for (auto _ : state) benchmark::DoNotOptimize(pmc::fit_ols(p.x, p.y).intercept);
}
BENCHMARK(BM_OlsQr)->Arg(100000)->Unit(benchmark::kMillisecond);

// Peers on the same 1,000,000 × 32 data, measured in the same run (docs/PERFORMANCE.md): Eigen's
// plain normal-equation solve (one Gram pass by a symmetric rank update, LDLᵀ; one λ, no CV), and
// Eigen's ColPivHouseholderQR least squares on the full [1 X] matrix.
Eigen::MatrixXd with_intercept(const pmc::DesignMatrix& x) {
  Eigen::MatrixXd a(Eigen::Index(x.rows), Eigen::Index(x.cols + 1));
  a.col(0).setOnes();
  for (size_t c = 0; c < x.cols; ++c)
    a.col(Eigen::Index(c + 1)) =
        Eigen::Map<const Eigen::VectorXd>(x.column(c), Eigen::Index(x.rows));
  return a;
}

void BM_PeerEigenNormalEquations(benchmark::State& state) {
  const auto& p = problem(1000000, 32);
  Eigen::MatrixXd a = with_intercept(p.x);
  Eigen::Map<const Eigen::VectorXd> y(p.y.data(), Eigen::Index(p.y.size()));
  for (auto _ : state) {
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(a.cols(), a.cols());
    g.selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
    Eigen::VectorXd beta = g.selfadjointView<Eigen::Lower>().ldlt().solve(a.transpose() * y);
    benchmark::DoNotOptimize(beta.data());
  }
}
BENCHMARK(BM_PeerEigenNormalEquations)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PeerEigenColPivQr(benchmark::State& state) {
  const auto& p = problem(1000000, 32);
  Eigen::MatrixXd a = with_intercept(p.x);
  Eigen::Map<const Eigen::VectorXd> y(p.y.data(), Eigen::Index(p.y.size()));
  for (auto _ : state) {
    Eigen::VectorXd beta = a.colPivHouseholderQr().solve(y);
    benchmark::DoNotOptimize(beta.data());
  }
}
BENCHMARK(BM_PeerEigenColPivQr)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

void BM_ParseCsv(benchmark::State& state) {
  const size_t rows = size_t(state.range(0)), cols = 32;
  std::string text;
  for (size_t c = 0; c < cols; ++c) text += (c ? ",c" : "c") + std::to_string(c);
  text += '\n';
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> u(0, 1e9);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) text += std::to_string(u(rng)) + (c + 1 < cols ? "," : "\n");
  for (auto _ : state) benchmark::DoNotOptimize(pmc::Dataset::parse_csv(text, "bench.csv").rows());
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_ParseCsv)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
