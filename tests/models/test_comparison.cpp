// Measured-mode comparison on documents built from real perf stat recordings: tests/data/perfstat/
// 013.txt (Intel Xeon Platinum 8358, Ice Lake-SP) and 014.txt (AMD EPYC 7J13, Zen 3), both
// `perf stat -r 3 -ddd taskset -c 15 bench/pf-test --sz 64g --huge 1` from the same LKML thread
// (INDEX.tsv). Energy figures and prices are set here; expected values are computed by hand from
// those inputs and the recorded counts.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "models/fleet/comparison.h"
#include "models/fleet/energy_estimate.h"
#include "models/fleet/sku_catalog.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

Measurement recorded(const std::string& name, const std::string& host) {
  std::ifstream in(std::string(PMC_TEST_DATA) + "/perfstat/" + name);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  Measurement m = import_perf_stat(text.str(), name).measurement;
  m.metrics = derive_metrics(m.events, m.duration_s);
  m.machine.hostname = host;
  return m;
}

void add_energy(Measurement& m, double package_j, double dram_j) {
  m.energy.push_back({"package-0", package_j, package_j / m.duration_s, "measured:rapl", 0.02,
                      EnergyScope::machine});
  m.energy.push_back(
      {"dram", dram_j, dram_j / m.duration_s, "measured:rapl", 0.02, EnergyScope::machine});
}

// icx: 1000 J package + 200 J DRAM; milan: 700 J + 100 J.
std::vector<RunProfile> two_machines() {
  auto icx = recorded("013.txt", "icx");
  auto milan = recorded("014.txt", "milan");
  add_energy(icx, 1000, 200);
  add_energy(milan, 700, 100);
  return {profile_run(icx, "013.txt", "pf-test"), profile_run(milan, "014.txt", "pf-test")};
}

const ComparisonRow& row_of(const Comparison& c, const std::string& machine) {
  for (const auto& r : c.rows)
    if (r.machine == machine) return r;
  FAIL("no row for " << machine);
  return c.rows.front();
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("a run profile carries the recorded duration, counts and chosen energy") {
    auto runs = two_machines();
    const auto& icx = runs[0];
    CHECK(icx.machine == "icx");
    CHECK(icx.duration_s == doctest::Approx(7.31681));  // "7.31681 +- 0.00177 seconds time elapsed"
    // Package and DRAM domains add up: 1000 + 200 J, method kept.
    REQUIRE(icx.joules);
    CHECK(*icx.joules == doctest::Approx(1200));
    CHECK(icx.energy_method == "measured:rapl");
    // IPC = instructions / cycles = 2,583,719,806 / 56,513,364,885.
    REQUIRE(icx.ipc);
    CHECK(*icx.ipc == doctest::Approx(2583719806.0 / 56513364885.0));
    // Top-down L1 as perf printed it: 3.8% Retiring, 84.0% Backend Bound.
    REQUIRE(icx.tma_backend_bound);
    CHECK(*icx.tma_backend_bound == doctest::Approx(0.84));
    CHECK(*icx.tma_retiring == doctest::Approx(0.038));
    // LLC MPKI = LLC-load-misses / instructions × 1000 = 793,272 / 2,583,719,806 × 1000.
    REQUIRE(icx.llc_mpki);
    CHECK(*icx.llc_mpki == doctest::Approx(793272.0 / 2583719806.0 * 1000));
    // -r 3 spread: task-clock "( +- 19.25% )" is perf's standard error of the mean; the runs'
    // stddev, which the profile takes, is sqrt(3) times it.
    CHECK(icx.duration_uncertainty == doctest::Approx(0.1925 * std::sqrt(3.0)));
    // AMD: no top-down, but stalled-cycles-backend / cycles = 37,520,225 / 12,730,694,768.
    const auto& milan = runs[1];
    CHECK_FALSE(milan.tma_backend_bound);
    REQUIRE(milan.backend_stall_ratio);
    CHECK(*milan.backend_stall_ratio == doctest::Approx(37520225.0 / 12730694768.0).epsilon(1e-3));
  }

  TEST_CASE("measured rows are ranked by the objective with the ratio to the best") {
    auto runs = two_machines();
    CompareOptions o;
    o.price_per_hour = {{"icx", 2.0}, {"milan", 3.6}};
    o.grid_g_per_kwh = 400;
    o.work_units = 64;

    SUBCASE("cost (default): icx 2.0 $/h × 7.31681 s is cheaper than milan 3.6 $/h × 5.23915 s") {
      auto c = compare_measured(runs, nullptr, o);
      REQUIRE(c.rows.size() == 2);
      CHECK(c.rows[0].machine == "icx");
      CHECK(*c.rows[0].rank == 1);
      CHECK(*c.rows[1].rank == 2);
      // 2.0 × 7.31681 / 3600 = 0.0040649 $; 3.6 × 5.23915 / 3600 = 0.0052392 $.
      CHECK(*row_of(c, "icx").cost_usd == doctest::Approx(2.0 * 7.31681 / 3600));
      CHECK(*row_of(c, "milan").cost_usd == doctest::Approx(3.6 * 5.23915 / 3600));
      // ratio = (3.6 × 5.23915) / (2.0 × 7.31681) = 18.86094 / 14.63362 = 1.28888.
      CHECK(*row_of(c, "milan").ratio_to_best == doctest::Approx(1.28888).epsilon(1e-4));
      CHECK(*row_of(c, "icx").ratio_to_best == doctest::Approx(1.0));
      CHECK(row_of(c, "icx").price_source == "--price");
    }
    SUBCASE("energy: milan's 800 J beats icx's 1200 J, ratio 1.5") {
      o.objective = Objective::energy;
      auto c = compare_measured(runs, nullptr, o);
      CHECK(c.rows[0].machine == "milan");
      CHECK(*row_of(c, "icx").ratio_to_best == doctest::Approx(1200.0 / 800.0));
    }
    SUBCASE("time: 7.31681 / 5.23915 = 1.39656") {
      o.objective = Objective::time;
      auto c = compare_measured(runs, nullptr, o);
      CHECK(c.rows[0].machine == "milan");
      CHECK(*row_of(c, "icx").ratio_to_best == doctest::Approx(1.39656).epsilon(1e-4));
    }
    SUBCASE("co2 at 400 g/kWh: 1200 J = 1/3000 kWh → 0.13333 g; 800 J → 0.08889 g") {
      o.objective = Objective::co2;
      auto c = compare_measured(runs, nullptr, o);
      CHECK(c.rows[0].machine == "milan");
      CHECK(*row_of(c, "icx").co2_g == doctest::Approx(0.133333).epsilon(1e-4));
      CHECK(*row_of(c, "milan").co2_g == doctest::Approx(0.0888889).epsilon(1e-4));
    }
    auto c = compare_measured(runs, nullptr, o);
    // Average watts = 1200 J / 7.31681 s; throughput = 64 units / 7.31681 s.
    CHECK(*row_of(c, "icx").average_watts == doctest::Approx(1200 / 7.31681));
    CHECK(*row_of(c, "icx").throughput_per_s == doctest::Approx(64 / 7.31681));
    CHECK(row_of(c, "icx").method == "measured:rapl");
  }

  TEST_CASE("a machine without a price is listed but not ranked by cost") {
    auto runs = two_machines();
    CompareOptions o;
    o.price_per_hour = {{"milan", 3.6}};
    auto c = compare_measured(runs, nullptr, o);
    CHECK(c.rows[0].machine == "milan");
    CHECK(*c.rows[0].rank == 1);
    CHECK_FALSE(row_of(c, "icx").rank);
    CHECK_FALSE(row_of(c, "icx").cost_usd);
    CHECK_FALSE(row_of(c, "icx").missing_inputs.empty());
  }

  TEST_CASE("repeated documents of one machine give the spread as uncertainty") {
    auto a = recorded("014.txt", "milan");
    auto b = a;
    a.duration_s = 5.0;
    b.duration_s = 6.0;
    add_energy(a, 500, 0);
    add_energy(b, 600, 0);
    std::vector<RunProfile> runs = {profile_run(a, "a", "w"), profile_run(b, "b", "w")};
    auto c = compare_measured(runs, nullptr, {});
    REQUIRE(c.rows.size() == 1);
    // Mean 5.5 s; sample stddev of {5, 6} = 0.70711; relative 0.70711 / 5.5 = 0.12856.
    CHECK(c.rows[0].duration_s == doctest::Approx(5.5));
    CHECK(c.rows[0].duration_uncertainty == doctest::Approx(0.128565).epsilon(1e-4));
    // Both documents were -r 3: six runs behind the row.
    CHECK(c.rows[0].runs == 6);
    // Joules {500, 600}: same relative spread, with the 2% RAPL figure: sqrt(0.02² + 0.12856²).
    CHECK(c.rows[0].uncertainty == doctest::Approx(0.130112).epsilon(1e-3));
  }

  TEST_CASE("a run without energy is estimated from the matched SKU's curve and labelled") {
    auto catalog = SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    auto m = recorded("014.txt", "epyc");
    m.machine.cpu_model = "AMD EPYC 7763 64-Core Processor";
    m.machine.logical_cpus = 128;
    std::vector<RunProfile> runs = {profile_run(m, "014.txt", "w")};
    auto c = compare_measured(runs, &catalog, {});
    const auto& r = c.rows.at(0);
    // First whole server with an EPYC 7763 in data/skus.csv: row 12 (HPE DL325 Gen10 Plus),
    // curve idle 56.8 W, 10% 100 W.
    CHECK(r.method ==
          "estimated:sku-curve:specpower-12-hewlett-packard-enterprise-proliant-dl325-gen10-plus");
    // Utilisation = (5,241.76 ms task-clock / 5.23915 s) / 128 CPUs = 0.0078164; watts =
    // 56.8 + (100 − 56.8) × 0.078164 = 60.1767; joules = 60.1767 × 5.23915 = 315.28.
    double u = (5.24176 / 5.23915) / 128;
    double watts = 56.8 + (100 - 56.8) * u * 10;
    REQUIRE(r.joules);
    CHECK(*r.joules == doctest::Approx(watts * 5.23915).epsilon(1e-4));
    CHECK(r.uncertainty > 0.3);
    bool said = false;
    for (const auto& s : r.missing_inputs) said = said || s.find("estimated") != std::string::npos;
    CHECK(said);
  }

  TEST_CASE("a VM's run without energy gets its share of the matched host's curve, as measure") {
    auto catalog = SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    auto m = recorded("014.txt", "epyc");
    m.machine.cpu_model = "AMD EPYC 7763 64-Core Processor";
    m.machine.logical_cpus = 16;  // a 16-vCPU VM on the 128-thread host
    std::vector<RunProfile> runs = {profile_run(m, "014.txt", "w")};
    auto c = compare_measured(runs, &catalog, {});
    const auto& r = c.rows.at(0);
    const Sku* sku = catalog.find(r.sku_id);
    REQUIRE(sku != nullptr);
    REQUIRE(sku->threads == 128);
    // The same curve measure's estimate uses (sku_estimate_curve): the host's, × 16 / 128.
    EstimateCurve curve = sku_estimate_curve(*sku, 16);
    CHECK(r.method == curve.method);
    // Utilisation = (5,241.76 ms task-clock / 5.23915 s) / 16 CPUs, below 10 %: idle 56.8 W to
    // 100 W at 10 % (data/skus.csv row 12), scaled by 16 / 128.
    double u = (5.24176 / 5.23915) / 16;
    double watts = (56.8 + (100 - 56.8) * u * 10) * 16 / 128;
    REQUIRE(r.joules);
    CHECK(*r.joules == doctest::Approx(watts * 5.23915).epsilon(1e-4));
    // Without the scaling the whole host's 100+ W would be charged to the VM.
    CHECK(*r.joules < 56.8 * 5.23915 / 2);
    REQUIRE(r.utilisation);
    CHECK(r.uncertainty >= curve.uncertainty_at(*r.utilisation));
    bool said = false;
    for (const auto& s : r.missing_inputs)
      said = said || s.find("scaled by this machine's 16 of its 128 threads") != std::string::npos;
    CHECK(said);
  }

  TEST_CASE("workloads: a label groups everything, mixed runs without labels are refused") {
    std::vector<WorkloadClaim> same = {{"a.json", std::nullopt, "./app 1"},
                                       {"b.json", std::nullopt, "./app 1"}};
    CHECK(assign_workloads(same, std::nullopt) == std::vector<std::string>{"./app 1", "./app 1"});

    std::vector<WorkloadClaim> mixed = {{"a.json", std::nullopt, "./app 1"},
                                        {"b.json", std::nullopt, "./other"}};
    CHECK_THROWS_WITH_AS(assign_workloads(mixed, std::nullopt),
                         doctest::Contains("different workloads mixed without labels"),
                         ComparisonError);
    CHECK(assign_workloads(mixed, std::string("build")) ==
          std::vector<std::string>{"build", "build"});

    std::vector<WorkloadClaim> named = {{"a.json", std::string("x"), "./a"},
                                        {"b.json", std::string("y"), "./b"}};
    CHECK(assign_workloads(named, std::nullopt) == std::vector<std::string>{"x", "y"});

    std::vector<WorkloadClaim> half = {{"a.json", std::string("x"), "./a"},
                                       {"b.json", std::nullopt, "./a"}};
    CHECK_THROWS_WITH_AS(assign_workloads(half, std::nullopt),
                         doctest::Contains("b.json names none"), ComparisonError);
  }

  TEST_CASE("objective names") {
    CHECK(parse_objective("cost") == Objective::cost);
    CHECK(parse_objective("co2") == Objective::co2);
    CHECK_FALSE(parse_objective("speed"));
  }
}
