// pmcmodel compare at batch scale: 10,000 runs × 1,000 SKUs of data/skus.csv projected and
// ranked (target: ≤ 1 s on the 2-core VM). Peers measured in the same run: a naive per-cell
// implementation (factors recomputed from the Sku and the profile in every cell, a method string
// and a row kept per cell, a full sort per run) and std::sort of as many doubles as there are
// cells. docs/PERFORMANCE.md records the results.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "models/fleet/power_curve.h"
#include "models/fleet/projection.h"
#include "models/fleet/sku_catalog.h"
#include "pmcmodel_version.h"

namespace {

constexpr size_t kRuns = 10000;
constexpr size_t kSkus = 1000;
constexpr size_t kTopK = 10;

const pmc::SkuCatalog& catalog() {
  static const auto c = pmc::SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
  return c;
}

std::vector<pmc::Sku> first_skus() {
  const auto& all = catalog().skus();
  return {all.begin(), all.begin() + std::min(kSkus, all.size())};
}

// Runs spread over the shapes the recorded perf stat files show (memory-bound Ice Lake at 84%
// backend bound, compute-bound AMD at 0.3%), on CPUs the catalog has and has not.
std::vector<pmc::RunProfile> runs() {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> memory(0.0, 0.9), seconds(0.5, 600), busy(1, 64);
  const char* cpus[] = {"AMD EPYC 7763", "Intel Xeon Platinum 8176", "Intel Xeon Platinum 8358",
                        "Some VM CPU @ 2.90GHz"};
  std::vector<pmc::RunProfile> out(kRuns);
  for (size_t i = 0; i < kRuns; ++i) {
    auto& r = out[i];
    r.machine = "host-" + std::to_string(i % 97);
    r.cpu_model = cpus[i % 4];
    r.workload = "w" + std::to_string(i);
    r.duration_s = seconds(rng);
    r.cpus_utilized = busy(rng);
    if (i % 5 != 0) r.tma_backend_bound = memory(rng);  // every fifth: software events only
  }
  return out;
}

void BM_ProjectAndRank(benchmark::State& state) {
  auto profiles = runs();
  auto skus = first_skus();
  for (auto _ : state) {
    auto packages = pmc::cores_per_package(catalog());
    std::vector<pmc::RunFactors> rf;
    rf.reserve(profiles.size());
    for (const auto& p : profiles) rf.push_back(pmc::run_factors(p, catalog(), packages));
    std::vector<pmc::SkuFactors> sf;
    sf.reserve(skus.size());
    for (const auto& s : skus) sf.push_back(pmc::sku_factors(s, packages));
    auto ranked = pmc::project_and_rank(rf, sf, pmc::Objective::energy, 400, kTopK);
    benchmark::DoNotOptimize(ranked.best.data());
  }
  state.counters["cells"] = double(kRuns * kSkus);
}
BENCHMARK(BM_ProjectAndRank)->Unit(benchmark::kMillisecond)->Iterations(3);

struct NaiveRow {
  std::string sku;
  std::string method;
  double duration_s, joules;
};

// What the per-cell version does: everything from the Sku and the profile, each time.
void BM_NaivePerCell(benchmark::State& state) {
  auto profiles = runs();
  auto skus = first_skus();
  for (auto _ : state) {
    std::vector<NaiveRow> best;
    for (const auto& p : profiles) {
      std::vector<NaiveRow> rows;
      for (const auto& s : skus) {
        auto packages_none = pmc::CoresPerPackage{};
        auto rf = pmc::run_factors(p, catalog(), packages_none);
        auto sf = pmc::sku_factors(s, packages_none);
        auto cell = pmc::project(rf, sf, 400);
        rows.push_back({s.id, pmc::projection_method(rf, s.id), cell.duration_s, cell.joules});
      }
      std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.joules < b.joules; });
      best.insert(best.end(), rows.begin(), rows.begin() + kTopK);
    }
    benchmark::DoNotOptimize(best.data());
  }
}
BENCHMARK(BM_NaivePerCell)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_SortCells(benchmark::State& state) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> value(0, 1e4);
  std::vector<double> cells(kRuns * kSkus);
  for (auto& c : cells) c = value(rng);
  for (auto _ : state) {
    state.PauseTiming();
    auto copy = cells;
    state.ResumeTiming();
    std::sort(copy.begin(), copy.end());
    benchmark::DoNotOptimize(copy.data());
  }
}
BENCHMARK(BM_SortCells)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
