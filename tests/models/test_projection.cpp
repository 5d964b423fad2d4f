// Projected mode: a small catalog written here (one CPU per row, figures chosen for easy
// arithmetic) and the shipped data/skus.csv. Expected runtimes follow the formula of
// models/projection.h, worked by hand in the comments.
#include <doctest/doctest.h>

#include <algorithm>

#include "models/fleet/projection.h"
#include "models/fleet/sku_catalog.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

// Power curve 50, 60, …, 150 W; 8 cores / 16 threads in one package unless the row says otherwise.
const char* kCatalog =
    "id,vendor,cpu_model,sockets,cores,threads,base_ghz,turbo_ghz,tdp_w,idle_w,load10_w,load20_w,"
    "load30_w,load40_w,load50_w,load60_w,load70_w,load80_w,load90_w,load100_w,memory_gb,"
    "mem_bw_gbs,llc_mb,price_per_hour_usd,price_source,power_source\n"
    "src,T,Test CPU "
    "1000,1,8,16,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,100,32,1.0,test-list,test-"
    "curve\n"
    "fast,T,Test CPU "
    "2000,1,8,16,3.0,4.5,100,50,60,70,80,90,100,110,120,130,140,150,64,100,32,2.0,test-list,test-"
    "curve\n"
    "wide,T,Test CPU "
    "3000,1,8,16,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,200,32,1.0,test-list,test-"
    "curve\n"
    "wider,T,Test CPU "
    "4000,1,8,16,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,400,32,1.0,test-list,test-"
    "curve\n"
    "nobw,T,Test CPU "
    "5000,1,8,16,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,,32,1.0,test-list,test-"
    "curve\n"
    "dear,T,Test CPU "
    "6000,1,8,16,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,100,32,3.0,test-list,test-"
    "curve\n"
    "tiny,T,Test CPU "
    "7000,1,1,2,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,12.5,32,0.5,test-list,test-"
    "curve\n";

SkuCatalog test_catalog() {
  return SkuCatalog::parse(kCatalog, "test-catalog");
}

// 10 s on the "src" CPU, half its cycles stalled on memory, 4 CPUs busy.
RunProfile memory_bound_run() {
  RunProfile r;
  r.source = "run.json";
  r.machine = "m";
  r.cpu_model = "Test CPU 1000";
  r.workload = "w";
  r.duration_s = 10;
  r.cpus_utilized = 4;
  r.tma_backend_bound = 0.6;
  r.tma_memory_bound = 0.5;
  r.joules = 780;
  r.energy_method = "measured:rapl";
  return r;
}

ProjectedCell project_onto(const RunProfile& run, const SkuCatalog& catalog, const std::string& id,
                           double g = NAN) {
  auto packages = cores_per_package(catalog);
  return project(run_factors(run, catalog, packages), sku_factors(*catalog.find(id), packages), g);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the machine's own catalog row projects back to the measured figures") {
    SUBCASE("test catalog") {
      auto catalog = test_catalog();
      auto run = memory_bound_run();
      auto cell = project_onto(run, catalog, "src");
      // Same clock and bandwidth: T' = 10 × (0.5 × 1 + 0.5 × 1) = 10 s exactly.
      CHECK(cell.duration_s == doctest::Approx(10));
      CHECK(std::abs(cell.duration_s - run.duration_s) <=
            cell.duration_uncertainty * run.duration_s);
      // 4 of 16 CPUs = 25% load: between 70 W (20%) and 80 W (30%): 75 W, 750 J; measured 780 J
      // is inside ±uncertainty.
      CHECK(cell.watts == doctest::Approx(75));
      CHECK(cell.joules == doctest::Approx(750));
      CHECK(std::abs(cell.joules - *run.joules) <= cell.uncertainty * *run.joules);
    }
    SUBCASE("data/skus.csv: a run on an EPYC 7763 server onto its own SPECpower row") {
      auto catalog = SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
      auto run = memory_bound_run();
      run.cpu_model = "AMD EPYC 7763 64-Core Processor";
      run.cpus_utilized = 128;  // all 128 threads: 100% load, 268 W on that row's curve
      run.duration_s = 100;
      run.joules = 268 * 100;
      auto packages = cores_per_package(catalog);
      auto rf = run_factors(run, catalog, packages);
      CHECK(rf.source_sku == "specpower-12-hewlett-packard-enterprise-proliant-dl325-gen10-plus");
      auto cell = project(rf, sku_factors(*catalog.find(rf.source_sku), packages), NAN);
      CHECK(cell.duration_s == doctest::Approx(100));
      CHECK(cell.joules == doctest::Approx(26800));
      CHECK(projection_method(rf, rf.source_sku).starts_with("projected:cpi-stack:"));
    }
  }

  TEST_CASE("CPI stack: compute part scales with the clock, memory part with bandwidth per core") {
    auto catalog = test_catalog();
    auto run = memory_bound_run();
    // fast: turbo 4.5 vs 3.0 GHz, same 12.5 GB/s per core: 10 × (0.5 × 3/4.5 + 0.5) = 8.3333 s.
    CHECK(project_onto(run, catalog, "fast").duration_s == doctest::Approx(8.33333));
    // wide: 200 GB/s / 8 cores = 25 GB/s per core vs 12.5: 10 × (0.5 + 0.5 × 0.5) = 7.5 s.
    CHECK(project_onto(run, catalog, "wide").duration_s == doctest::Approx(7.5));
    // tiny: 2 threads for 4 busy CPUs (12.5 GB/s for its one core): twice as long, at full
    // load (150 W): 20 s, 3000 J.
    auto tiny = project_onto(run, catalog, "tiny");
    CHECK(tiny.duration_s == doctest::Approx(20));
    CHECK(tiny.joules == doctest::Approx(3000));
    // Cost: 2.0 $/h × 8.3333 s / 3600; CO2 at 300 g/kWh: 75 W × 8.3333 s = 625 J → 0.052083 g.
    auto fast = project_onto(run, catalog, "fast", 300);
    CHECK(fast.cost_usd == doctest::Approx(2.0 * 8.33333 / 3600));
    CHECK(fast.co2_g == doctest::Approx(625 / 3.6e6 * 300));
  }

  TEST_CASE("more memory bandwidth never projects a memory-bound workload slower") {
    auto catalog = test_catalog();
    auto run = memory_bound_run();
    double src = project_onto(run, catalog, "src").duration_s;
    double wide = project_onto(run, catalog, "wide").duration_s;
    double wider = project_onto(run, catalog, "wider").duration_s;
    CHECK(wide <= src);
    CHECK(wider <= wide);
    // Across the shipped catalog: for SKUs of equal clock with threads for the 4 busy CPUs, more
    // bandwidth per core never gives a longer runtime.
    auto shipped = SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    auto packages = cores_per_package(shipped);
    RunProfile epyc = memory_bound_run();
    epyc.cpu_model = "AMD EPYC 7763";
    auto rf = run_factors(epyc, shipped, packages);
    int pairs = 0;
    std::vector<SkuFactors> sf;
    for (const auto& s : shipped.skus()) sf.push_back(sku_factors(s, packages));
    for (size_t i = 0; i < sf.size(); ++i)
      for (size_t j = 0; j < sf.size(); ++j)
        if (sf[i].ghz == sf[j].ghz && sf[i].threads >= 4 && sf[j].threads >= 4 &&
            sf[i].bw_per_core_gbs > sf[j].bw_per_core_gbs && sf[j].bw_per_core_gbs > 0) {
          ++pairs;
          CHECK(project(rf, sf[i], NAN).duration_s <= project(rf, sf[j], NAN).duration_s);
        }
    CHECK(pairs > 0);
  }

  TEST_CASE("a higher price never projects cheaper") {
    auto catalog = test_catalog();
    auto run = memory_bound_run();
    auto cheap = project_onto(run, catalog, "src");
    auto dear = project_onto(run, catalog, "dear");  // same CPU figures, 3.0 $/h instead of 1.0
    CHECK(dear.duration_s == doctest::Approx(cheap.duration_s));
    CHECK(dear.cost_usd > cheap.cost_usd);
    CHECK(dear.cost_usd == doctest::Approx(3 * cheap.cost_usd));
    // --price overrides the catalog, and more of it costs more.
    auto packages = cores_per_package(catalog);
    auto rf = run_factors(run, catalog, packages);
    double previous = 0;
    for (double price : {0.1, 0.5, 1.0, 7.0}) {
      double cost = project(rf, sku_factors(*catalog.find("src"), packages, price), NAN).cost_usd;
      CHECK(cost > previous);
      previous = cost;
    }
  }

  TEST_CASE("missing inputs: frequency/cores fallback with a wider range, and they are named") {
    auto catalog = test_catalog();
    RunProfile vm = memory_bound_run();
    vm.source = "vm.json";
    vm.machine = "vm";
    vm.cpu_model = "Some Virtual CPU @ 2.00GHz";  // no catalog row; clock from the name
    vm.cpus_utilized = 1;
    vm.tma_backend_bound.reset();  // software events only: no stall fractions
    vm.tma_memory_bound.reset();
    auto packages = cores_per_package(catalog);
    auto rf = run_factors(vm, catalog, packages);
    CHECK_FALSE(rf.cpi_stack);
    CHECK(rf.ghz == doctest::Approx(2.0));
    CHECK(projection_method(rf, "fast") == "projected:freq-cores:fast");
    auto cell = project(rf, sku_factors(*catalog.find("fast"), packages), NAN);
    // Whole runtime scales with the clock: 10 × 2.0 / 4.5 = 4.4444 s.
    CHECK(cell.duration_s == doctest::Approx(4.44444));
    auto cpi = project_onto(memory_bound_run(), catalog, "fast");
    CHECK(cell.duration_uncertainty > cpi.duration_uncertainty);
    auto words = describe_missing(rf.missing, "vm", "fast");
    bool named = false;
    for (const auto& w : words) named = named || w.find("freq-cores") != std::string::npos;
    CHECK(named);

    // A SKU without bandwidth leaves the memory part unscaled and widens the range by 0.25 × m.
    auto run = memory_bound_run();
    auto nobw = project_onto(run, catalog, "nobw");
    auto src = project_onto(run, catalog, "src");
    CHECK(nobw.duration_s == doctest::Approx(10));
    CHECK(nobw.duration_uncertainty == doctest::Approx(src.duration_uncertainty + 0.25 * 0.5));
  }

  TEST_CASE("a masked VM's run takes the clock of the host CPU measure identified, as a guess") {
    auto catalog = test_catalog();
    auto packages = cores_per_package(catalog);
    RunProfile vm = memory_bound_run();
    vm.machine = "vm";
    vm.cpu_model = "Virtual CPU";  // masked: no catalog row, no clock in the name, no cycles
    vm.tma_backend_bound.reset();
    vm.tma_memory_bound.reset();
    auto unknown = run_factors(vm, catalog, packages);
    CHECK((unknown.missing & kMissingSourceFrequency) != 0);
    auto blind = project(unknown, sku_factors(*catalog.find("fast"), packages), NAN);
    CHECK(blind.duration_s == doctest::Approx(10));  // the clock ratio left at 1

    SUBCASE("a host CPU in the catalog: its row's turbo clock and bandwidth, both ends alike") {
      vm.host_cpu = "Test CPU 2000";  // row "fast": turbo 4.5 GHz
      vm.host_cpu_confidence = "medium";
      vm.host_cpu_ghz = 9.9;  // the facts' clock loses to the catalog row's
      auto rf = run_factors(vm, catalog, packages);
      CHECK((rf.missing & kMissingSourceFrequency) == 0);
      CHECK((rf.missing & kSourceFromIdentifiedHost) != 0);
      CHECK(rf.ghz == doctest::Approx(4.5));
      CHECK(rf.source_sku.empty());  // not the machine's own row: a guess, said as one
      // Onto "src" (turbo 3.0): 10 × 4.5 / 3.0 = 15 s.
      auto cell = project(rf, sku_factors(*catalog.find("src"), packages), NAN);
      CHECK(cell.duration_s == doctest::Approx(15));
      // The clock no longer unknown (−0.25), but guessed at medium confidence (+0.10).
      CHECK(cell.duration_uncertainty ==
            doctest::Approx(project(unknown, sku_factors(*catalog.find("src"), packages), NAN)
                                .duration_uncertainty -
                            0.25 + 0.10));
    }
    SUBCASE("a host CPU not in the catalog: the clock measure took from the CPU facts") {
      vm.host_cpu = "Some Server CPU 9999";
      vm.host_cpu_ghz = 3.6;
      vm.host_cpu_confidence = "high";
      auto rf = run_factors(vm, catalog, packages);
      CHECK(rf.ghz == doctest::Approx(3.6));
      // Onto "fast" (4.5 GHz): 10 × 3.6 / 4.5 = 8 s; high confidence adds nothing.
      auto cell = project(rf, sku_factors(*catalog.find("fast"), packages), NAN);
      CHECK(cell.duration_s == doctest::Approx(8));
      CHECK(cell.duration_uncertainty == doctest::Approx(blind.duration_uncertainty - 0.25));
    }
    SUBCASE("a memory-bound run: the host row's bandwidth per core scales the memory part") {
      RunProfile run = memory_bound_run();  // m = 0.5
      run.cpu_model = "Virtual CPU";
      auto blind_m = project(run_factors(run, catalog, packages),
                             sku_factors(*catalog.find("src"), packages), NAN);
      run.host_cpu = "Test CPU 3000";  // row "wide": 3.0 GHz, 200 GB/s over 8 cores
      run.host_cpu_confidence = "low";
      auto rf = run_factors(run, catalog, packages);
      CHECK(rf.bw_per_core_gbs == doctest::Approx(25));
      // Onto "src" (3.0 GHz, 12.5 GB/s per core): 10 × (0.5 × 3/3 + 0.5 × 25/12.5) = 15 s.
      auto cell = project(rf, sku_factors(*catalog.find("src"), packages), NAN);
      CHECK(cell.duration_s == doctest::Approx(15));
      // Clock and bandwidth no longer unknown (−0.25 × 0.5 each), guessed (+0.10 × 0.5 each).
      CHECK(cell.duration_uncertainty ==
            doctest::Approx(blind_m.duration_uncertainty - 0.25 + 0.10));
      bool said = false;
      std::vector<RunProfile> runs{run};
      for (const auto& r : compare_projected(runs, catalog, {}, CompareOptions{}).rows)
        for (const auto& w : r.missing_inputs)
          said = said || w == "m: clock 3.00 GHz and memory bandwidth per core of the host CPU "
                              "identified behind its masked CPU model, Test CPU 3000 (low "
                              "confidence), not measured";
      CHECK(said);
    }
    SUBCASE("a measured clock or a catalog match of the VM's own name comes first") {
      vm.host_cpu = "Test CPU 2000";
      vm.host_cpu_ghz = 4.5;
      vm.ghz = 2.2;  // cycles / task-clock: a VM with a virtual PMU
      auto rf = run_factors(vm, catalog, packages);
      CHECK(rf.ghz == doctest::Approx(2.2));
      CHECK((rf.missing & kSourceFromIdentifiedHost) == 0);
    }
  }

  TEST_CASE("project_and_rank keeps the best k SKUs per run, in order, like a full sort") {
    auto catalog = test_catalog();
    auto packages = cores_per_package(catalog);
    std::vector<RunProfile> runs = {memory_bound_run(), memory_bound_run(), memory_bound_run()};
    runs[1].tma_memory_bound = 0.05;  // compute bound: the clock wins
    runs[2].cpus_utilized = 16;
    std::vector<RunFactors> rf;
    for (const auto& r : runs) rf.push_back(run_factors(r, catalog, packages));
    std::vector<SkuFactors> sf;
    for (const auto& s : catalog.skus()) sf.push_back(sku_factors(s, packages));
    for (auto objective : {Objective::time, Objective::cost, Objective::energy}) {
      auto ranked = project_and_rank(rf, sf, objective, NAN, 3);
      for (size_t r = 0; r < rf.size(); ++r) {
        std::vector<double> all;
        for (const auto& s : sf) all.push_back(objective_value(project(rf[r], s, NAN), objective));
        std::sort(all.begin(), all.end());
        REQUIRE(ranked.count[r] == 3);
        for (size_t k = 0; k < 3; ++k)
          CHECK(objective_value(ranked.best[r * 3 + k].cell, objective) == doctest::Approx(all[k]));
      }
    }
    // Without a grid intensity, no cell has CO2: nothing is ranked.
    auto none = project_and_rank(rf, sf, Objective::co2, NAN, 3);
    CHECK(none.count[0] == 0);
  }

  TEST_CASE("compare_projected ranks every SKU of the workload and labels each row") {
    auto catalog = test_catalog();
    std::vector<RunProfile> runs = {memory_bound_run()};
    CompareOptions o;
    o.objective = Objective::time;
    auto c = compare_projected(runs, catalog, {}, o);
    REQUIRE(c.rows.size() == catalog.skus().size());
    CHECK(c.rows[0].machine == "wider");  // 6.25 s: 10 × (0.5 + 0.5 × 12.5 / 50)
    CHECK(c.rows[0].duration_s == doctest::Approx(6.25));
    CHECK(c.rows[0].method == "projected:cpi-stack:wider");
    CHECK(c.rows[0].projected_from == "m");
    for (const auto& r : c.rows) CHECK(r.kind == "projected");
    std::vector<size_t> two = {0, 1};
    CHECK(compare_projected(runs, catalog, two, o).rows.size() == 2);
    CHECK(compare_projected(runs, catalog, {}, o, 3).rows.size() == 3);
  }
}
