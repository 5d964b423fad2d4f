// compare_options, choose_skus and compare_runs (models/fleet/compare_runs.h): `pmcmodel compare`
// without the process, on hand-made run profiles and a three-row catalog.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "models/fleet/compare_runs.h"
#include "models/fleet/comparison_document.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

// Two SKUs of data/skus.csv's layout with 8 GB and 64 GB, and one without a memory figure.
std::string catalog_text() {
  std::string header;
  for (auto c : kSkuColumns) header += (header.empty() ? "" : ",") + std::string(c);
  return header + "\n" +
         "small,aws,AMD EPYC 7571,,1,2,2.2,,200,4.2,6.7,7.8,8.9,10,11.1,11.88,12.66,"
         "13.44,14.22,15,8,,,0.086,aws-list-2023-11,teads-2021\n"
         "large,aws,AMD EPYC 7571,,8,16,2.2,,200,33.9,53.8,62.625,71.45,80.275,89.1,"
         "95.2,101.3,107.4,113.5,119.6,64,,,0.688,aws-list-2023-11,teads-2021\n"
         "unsaid,aws,AMD EPYC 7571,,1,2,2.2,,200,4.2,6.7,7.8,8.9,10,11.1,11.88,12.66,"
         "13.44,14.22,15,,,,0.086,aws-list-2023-11,teads-2021\n";
}

RunProfile run(const std::string& machine, double seconds, double joules) {
  RunProfile r;
  r.source = machine + ".json";
  r.machine = machine;
  r.cpu_model = "Unknown CPU " + machine;
  r.logical_cpus = 2;
  r.workload = "w";
  r.duration_s = seconds;
  r.joules = joules;
  r.energy_method = "measured:rapl";
  return r;
}

GridTable no_grid() {
  FAIL("the grid table was read without --region");
  return {};
}

std::string first_ranked(const Comparison& c) {
  for (const auto& row : c.rows)
    if (row.rank && *row.rank == 1) return row.machine;
  return "";
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("compare_options: prices, the grid intensity and what they refuse") {
    CompareRequest r;
    r.objective = "energy";
    r.work = 4;
    r.prices = {"hostA=1.5", "a=b=2"};  // the last '=' splits
    auto o = compare_options(r, no_grid);
    CHECK(o.objective == Objective::energy);
    CHECK(o.work_units == 4.0);
    CHECK(o.price_per_hour.at("hostA") == 1.5);
    CHECK(o.price_per_hour.at("a=b") == 2);
    CHECK(!o.grid_g_per_kwh);

    r.prices = {"hostA"};
    CHECK_THROWS_WITH_AS(compare_options(r, no_grid),
                         "--price 'hostA': expected MACHINE=USD_PER_HOUR", ComparisonError);
    r.prices = {"hostA=-1"};
    CHECK_THROWS_WITH_AS(compare_options(r, no_grid),
                         "--price hostA=-1: expected a non-negative number, got '-1'",
                         ComparisonError);
    r.prices.clear();
    r.objective = "co2";
    CHECK_THROWS_AS(compare_options(r, no_grid), ComparisonError);
    r.grid_intensity = 300;
    CHECK(*compare_options(r, no_grid).grid_g_per_kwh == 300);
    r.region = "FRA";
    CHECK_THROWS_WITH_AS(compare_options(r, no_grid),
                         "--grid-intensity and --region both given: choose one", ComparisonError);
    r.grid_intensity.reset();
    auto grid = [] {
      return GridTable::parse(
          "region,provider,country,g_co2e_per_kwh,source\nFRA,grid,FRA,56,test\n", "grid.csv");
    };
    auto by_region = compare_options(r, grid);
    CHECK(*by_region.grid_g_per_kwh == 56);
    CHECK(by_region.grid_source == "region:FRA (test)");
    r.region = "XYZ";
    CHECK_THROWS_AS(compare_options(r, grid), ComparisonError);
  }

  TEST_CASE("choose_skus: --sku lists looked up, --min-memory-gb leaves out less and unknown") {
    auto catalog = SkuCatalog::parse(catalog_text(), "skus.csv");
    CompareRequest r;
    CHECK(choose_skus(r, catalog).skus.empty());  // the whole catalog
    r.sku_ids = {"large,unsaid", "small"};
    CHECK(choose_skus(r, catalog).skus == std::vector<size_t>{1, 2, 0});
    r.min_memory_gb = 16;
    auto kept = choose_skus(r, catalog);
    CHECK(kept.skus == std::vector<size_t>{1});
    REQUIRE(kept.notes.size() == 1);
    CHECK(kept.notes[0] ==
          "--min-memory-gb 16: 1 SKU with less memory and 1 whose memory the catalog does not "
          "give left out; 1 kept");
    r.sku_ids.clear();
    CHECK(choose_skus(r, catalog).skus == std::vector<size_t>{1});  // from the whole catalog
    r.min_memory_gb = 128;
    CHECK_THROWS_AS(choose_skus(r, catalog), ComparisonError);
    r.min_memory_gb.reset();
    r.sku_ids = {"nope"};
    CHECK_THROWS_WITH_AS(choose_skus(r, catalog), "--sku 'nope': not in the catalog skus.csv",
                         ComparisonError);
  }

  TEST_CASE("compare_runs ranks the measured machines by the objective asked for") {
    auto catalog = SkuCatalog::parse(catalog_text(), "skus.csv");
    auto rules =
        RecommendationRules::load(std::string(PMCMODEL_DATA_DIR) + "/recommendations.json");
    // A: 100 s, 1000 J at $1/h ($0.0278); B: 50 s, 3000 J at $4/h ($0.0556).
    std::vector<RunProfile> runs = {run("A", 100, 1000), run("B", 50, 3000)};
    CompareRequest request;
    auto ranked_first = [&](const std::string& objective) {
      request.objective = objective;
      request.prices = {"A=1", "B=4"};
      auto options = compare_options(request, no_grid);
      auto report =
          compare_runs(runs, catalog, choose_skus(request, catalog), rules, options, request);
      CHECK(report.catalog_origin == "skus.csv");
      CHECK(report.runs_per_month == rules.runs_per_month);
      for (const auto& row : report.comparison.rows) CHECK(row.kind == "measured");
      return first_ranked(report.comparison);
    };
    CHECK(ranked_first("time") == "B");
    CHECK(ranked_first("energy") == "A");
    CHECK(ranked_first("cost") == "A");

    SUBCASE("a price that names no machine and no SKU is refused") {
      request.prices = {"C=1"};
      auto options = compare_options(request, no_grid);
      CHECK_THROWS_AS(compare_runs(runs, catalog, {}, rules, options, request), ComparisonError);
    }
    SUBCASE("projected mode adds the best --top SKUs per workload, ranked with the runs") {
      request.objective = "time";
      request.prices.clear();
      request.projected = true;
      request.top = 1;
      request.runs_per_month = 10;
      auto options = compare_options(request, no_grid);
      auto report = compare_runs(runs, catalog, {}, rules, options, request);
      CHECK(report.runs_per_month == 10);
      size_t projected = 0;
      for (const auto& row : report.comparison.rows) projected += row.kind == "projected";
      CHECK(projected == 1);
      CHECK(report.comparison.rows.size() == 3);
    }
  }
}

namespace {

GpuCatalog gpu_catalog() {
  return GpuCatalog::parse(
      "id,name,vendor,tensor_tflops,fp32_tflops,memory_gb,mem_bw_gbs,tdp_w,idle_w,boost_mhz,"
      "release_date,source\n"
      "src,NVIDIA H100 SXM5 80GB,NVIDIA,1000,50,80,3000,700,100,2000,2022,t\n"
      "fast,NVIDIA X200,NVIDIA,2000,100,80,3000,1000,150,2000,2024,t\n",
      "gpus.csv",
      "instance,gpu_id,gpu_count,price_per_hour_usd,price_source,region,source\n"
      "fast1,fast,1,4.0,list,r,t\n"
      "src1,src,1,3.0,list,r,t\n",
      "gpu_instances.csv");
}

// A run of A with one src GPU, 100 s at its 700 W limit, busy all the time.
GpuRun gpu_run_of_a() {
  GpuRun g;
  g.workload = "w";
  g.source = "A.json";
  g.gpu_name = "NVIDIA H100 80GB HBM3";
  g.gpus = 1;
  g.duration_s = 100;
  g.watts_per_gpu = 700;
  g.joules = 70000;
  g.util = 1.0;
  g.sm_clock_mhz = 2000;
  g.power_limit_w = 700;
  g.energy_method = "measured:nvml";
  return g;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("compare_runs ranks GPU runs on the GPU catalog and a price may name a GPU instance") {
    auto catalog = SkuCatalog::parse(catalog_text(), "skus.csv");
    auto rules =
        RecommendationRules::load(std::string(PMCMODEL_DATA_DIR) + "/recommendations.json");
    std::vector<RunProfile> runs = {run("A", 100, 1000)};
    auto gpus = gpu_catalog();
    std::vector<GpuRun> gpu_runs = {gpu_run_of_a()};
    CompareRequest request;
    request.prices = {"fast1=0.36"};
    auto options = compare_options(request, no_grid);
    auto report = compare_runs(runs, catalog, {}, rules, options, request, {gpu_runs, &gpus});
    REQUIRE(report.gpus.size() == 1);
    const GpuProjection* fast1 = nullptr;
    for (const auto& p : report.gpus[0].rows)
      if (p.target == "fast1") fast1 = &p;
    REQUIRE(fast1);
    // Compute-bound: half the time on twice the tensor peak; 0.36 USD/h × 50 s.
    CHECK(*fast1->cost_usd == doctest::Approx(0.005));
    CHECK(fast1->price_source == "--price");
    int gpu_recommendations = 0, last_rank = 0;
    for (const auto& rec : report.recommendations) {
      gpu_recommendations += rec.rule.starts_with("gpu-");
      CHECK(rec.rank == last_rank + 1);
      last_rank = rec.rank;
    }
    CHECK(gpu_recommendations == 2);

    SUBCASE("the document's rows: the workload's machines, then its GPU rows") {
      auto rows = document_rows(report);
      REQUIRE(rows.size() == report.comparison.rows.size() + 4);
      CHECK(rows.front().kind == "measured");
      CHECK(rows[report.comparison.rows.size()].kind.starts_with("gpu-"));
      CHECK(rows.back().kind.starts_with("gpu-"));
      auto doc = comparison_json(report);
      CHECK(doc.find("\"kind\": \"gpu-instance\"") != std::string::npos);
      CHECK(doc.find("\"instance_gpus\": 1") != std::string::npos);
      auto csv = comparison_csv(report);
      CHECK(csv.starts_with("workload,machine,kind,"));
      CHECK(csv.find(",projected_from,gpu,gpus,instance_gpus,watts_per_gpu\n") !=
            std::string::npos);
      CHECK(std::count(csv.begin(), csv.end(), '\n') == long(rows.size() + 1));
      CHECK(csv.find("fast1,gpu-instance,") != std::string::npos);
    }
    SUBCASE("without a GPU catalog a GPU instance's price names nothing") {
      CHECK_THROWS_WITH_AS(compare_runs(runs, catalog, {}, rules, options, request),
                           doctest::Contains("no run has GPU energy"), ComparisonError);
    }
    SUBCASE("a price that names no GPU instance either is refused") {
      request.prices = {"nothing=1"};
      auto refused = compare_options(request, no_grid);
      CHECK_THROWS_AS(compare_runs(runs, catalog, {}, rules, refused, request, {gpu_runs, &gpus}),
                      ComparisonError);
    }
  }
}
