// Recommendations: the shipped rules (data/recommendations.json) on hand-made comparison rows and
// on a profile of the real perf stat recording tests/data/perfstat/013.txt (Xeon Platinum 8358).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "models/fleet/recommendations.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

// Same layout as test_projection.cpp: power curve 50…150 W, 8 cores / 16 threads per package.
const char* kCatalog =
    "id,vendor,cpu_model,sockets,cores,threads,base_ghz,turbo_ghz,tdp_w,idle_w,load10_w,load20_w,"
    "load30_w,load40_w,load50_w,load60_w,load70_w,load80_w,load90_w,load100_w,memory_gb,"
    "mem_bw_gbs,llc_mb,price_per_hour_usd,price_source,power_source\n"
    "src,T,Test CPU "
    "1000,1,8,16,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,100,32,3.6,test-list,test-"
    "curve\n"
    "fast,T,Test CPU "
    "2000,1,8,16,3.0,4.5,100,50,60,70,80,90,100,110,120,130,140,150,64,100,32,2.0,test-list,test-"
    "curve\n"
    "wide,T,Test CPU "
    "3000,1,8,16,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,200,32,1.8,test-list,test-"
    "curve\n"
    "tiny,T,Test CPU "
    "7000,1,1,2,2.0,3.0,100,50,60,70,80,90,100,110,120,130,140,150,64,12.5,32,0.36,test-list,test-"
    "curve\n";

RecommendationRules shipped_rules() {
  return RecommendationRules::load(std::string(PMCMODEL_DATA_DIR) + "/recommendations.json");
}

RunProfile run_on_src(double memory_bound, double busy) {
  RunProfile r;
  r.source = "run.json";
  r.machine = "m";
  r.cpu_model = "Test CPU 1000";
  r.logical_cpus = 16;
  r.workload = "w";
  r.duration_s = 100;
  r.cpus_utilized = busy;
  r.tma_memory_bound = memory_bound;
  r.tma_backend_bound = memory_bound + 0.05;
  r.tma_retiring = 1 - memory_bound - 0.1;
  r.joules = 9000;
  r.energy_method = "measured:rapl";
  return r;
}

struct Result {
  std::vector<ComparisonRow> measured, projected;
  std::vector<Recommendation> recs;
};

Result run_rules(const RunProfile& run, const SkuCatalog& catalog, double runs_per_month = 720) {
  Result r;
  std::vector<RunProfile> runs = {run};
  CompareOptions o;
  r.measured = compare_measured(runs, &catalog, o).rows;
  r.projected = compare_projected(runs, catalog, {}, o).rows;
  r.recs = recommend(runs, r.measured, r.projected, catalog, shipped_rules(), runs_per_month);
  return r;
}

const Recommendation* find(const std::vector<Recommendation>& recs, const std::string& rule) {
  for (const auto& r : recs)
    if (r.rule == rule) return &r;
  return nullptr;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the shipped rules load, every threshold with its source") {
    auto rules = shipped_rules();
    CHECK(rules.runs_per_month == 720);
    CHECK(rules.rules.size() >= 5);
    for (const auto& r : rules.rules)
      for (const auto* list : {&r.all, &r.any})
        for (const auto& c : *list) CHECK_FALSE(c.source.empty());
  }

  TEST_CASE("malformed rules are refused with what was expected") {
    CHECK_THROWS_WITH(RecommendationRules::parse("{", "r.json"),
                      doctest::Contains("r.json: not JSON"));
    CHECK_THROWS_WITH(RecommendationRules::parse(R"({"schema":"x"})", "r.json"),
                      doctest::Contains("pmcmodel.recommendations/1"));
    const char* no_source = R"({"schema":"pmcmodel.recommendations/1","runs_per_month":10,
      "rules":[{"id":"a","action":"cheapest_sku","all":[{"metric":"ipc","op":">","value":1}]}]})";
    CHECK_THROWS_WITH(RecommendationRules::parse(no_source, "r.json"),
                      doctest::Contains("rules[0].all[0]: expected the threshold's \"source\""));
    const char* bad_action = R"({"schema":"pmcmodel.recommendations/1","runs_per_month":10,
      "rules":[{"id":"a","action":"buy_more","all":[{"metric":"ipc","op":">","value":1,"source":"s"}]}]})";
    CHECK_THROWS_WITH(RecommendationRules::parse(bad_action, "r.json"),
                      doctest::Contains("rules[0].action"));
  }

  TEST_CASE("memory-bound: more bandwidth per core, with the projected gain and the saving") {
    auto catalog = SkuCatalog::parse(kCatalog, "test");
    auto r = run_rules(run_on_src(0.6, 8), catalog);
    const auto* mem = find(r.recs, "memory-bound");
    REQUIRE(mem != nullptr);
    CHECK(mem->sku == "wide");
    // wide: 25 GB/s per core vs 12.5: 100 × (0.4 + 0.6 × 0.5) = 70 s: a 30% gain.
    REQUIRE(mem->projected_gain);
    CHECK(*mem->projected_gain == doctest::Approx(0.3));
    // Baseline src: 3.6 $/h × 100 s = 0.1 $; wide: 1.8 $/h × 70 s = 0.035 $; 0.065 $ per run,
    // × 720 runs = 46.8 $ per month.
    CHECK(*mem->saving_usd_per_run == doctest::Approx(0.065));
    CHECK(*mem->saving_usd_per_month == doctest::Approx(46.8));
    bool threshold = false;
    for (const auto& e : mem->evidence)
      threshold = threshold || (e.metric == "tma_memory_bound" && e.threshold == 0.2 &&
                                e.source.find("MetricThreshold") != std::string::npos);
    CHECK(threshold);
  }

  TEST_CASE("cheapest SKU: saving per run and per month at the run rate") {
    auto catalog = SkuCatalog::parse(kCatalog, "test");
    auto r = run_rules(run_on_src(0.6, 8), catalog, 1000);
    const auto* cheap = find(r.recs, "cheapest-sku");
    REQUIRE(cheap != nullptr);
    // Projected costs: src 0.1 $; fast 2.0 $/h × 100 × (0.4 × 3/4.5 + 0.6) = 86.667 s → 0.048148 $;
    // wide 0.035 $; tiny: 8 busy CPUs on 2 threads = 4 × 100 s = 400 s × 0.36 $/h = 0.04 $.
    CHECK(cheap->sku == "wide");
    CHECK(*cheap->saving_usd_per_run == doctest::Approx(0.065));
    CHECK(*cheap->saving_usd_per_month == doctest::Approx(65.0));
    CHECK(cheap->rank >= 1);
    CHECK(cheap->text.find("wide at 0.035 USD/run") != std::string::npos);
    CHECK(cheap->text.find("saves 0.065 USD/run, 65.00 USD per month at 1000 runs/month") !=
          std::string::npos);
  }

  TEST_CASE("a tiny cost reads as a person says it in the sentence, not in e-notation") {
    // The same run for 1 ms instead of 100 s: every cost is 1e-5 of the one above, so wide's
    // 0.035 $ is 3.5e-7 $ a run, 0.35 USD per million runs; the saving 6.5e-7 $ a run.
    auto catalog = SkuCatalog::parse(kCatalog, "test");
    auto run = run_on_src(0.6, 8);
    run.duration_s = 0.001;
    run.joules = 0.09;
    auto r = run_rules(run, catalog, 1000);
    const auto* cheap = find(r.recs, "cheapest-sku");
    REQUIRE(cheap != nullptr);
    INFO(cheap->text);
    CHECK(cheap->text.find("wide at 0.35 USD/1M runs") != std::string::npos);
    CHECK(cheap->text.find("saves 0.65 USD/1M runs, 0.00065 USD per month") != std::string::npos);
    CHECK(cheap->text.find("e-0") == std::string::npos);
    // A hundred times less work a month: 6.5e-7 $ x 10 runs = 6.5e-6 USD, a million runs a month
    // written out, not 1e+06.
    auto rare = run_rules(run, catalog, 10);
    const auto* rare_cheap = find(rare.recs, "cheapest-sku");
    REQUIRE(rare_cheap != nullptr);
    INFO(rare_cheap->text);
    CHECK(rare_cheap->text.find("0.0000065 USD per month at 10 runs/month") != std::string::npos);
    auto busy = run_rules(run, catalog, 1e6);
    const auto* busy_cheap = find(busy.recs, "cheapest-sku");
    REQUIRE(busy_cheap != nullptr);
    INFO(busy_cheap->text);
    CHECK(busy_cheap->text.find("0.65 USD per month at 1000000 runs/month") != std::string::npos);
    CHECK(rare_cheap->text.find("e-0") == std::string::npos);
    CHECK(busy_cheap->text.find("e+0") == std::string::npos);
  }

  TEST_CASE("low utilisation: a smaller instance and the idle share wasted") {
    auto catalog = SkuCatalog::parse(kCatalog, "test");
    auto r = run_rules(run_on_src(0.6, 1), catalog);
    const auto* low = find(r.recs, "low-utilisation");
    REQUIRE(low != nullptr);
    // 1 of 16 CPUs busy = 6.25% load: 50 + (60 − 50) × 0.625 = 56.25 W, of which idle 50 W: 88.9%.
    bool idle = false;
    for (const auto& e : low->evidence)
      if (e.metric == "idle_power_share") {
        idle = true;
        CHECK(e.value == doctest::Approx(50 / 56.25));
      }
    CHECK(idle);
    CHECK(low->sku == "tiny");
  }

  TEST_CASE("a recommendation that saves nothing is dropped, a faster one says what it adds") {
    // The measured machine is priced at 0.01 $/h: 100 s cost 0.01 × 100 / 3600 $, less than
    // any catalog SKU. Memory-bound share 0.1, retiring 0.8, 1 of 16 CPUs busy.
    auto catalog = SkuCatalog::parse(kCatalog, "test");
    std::vector<RunProfile> runs = {run_on_src(0.1, 1)};
    CompareOptions o;
    o.price_per_hour["m"] = 0.01;
    auto measured = compare_measured(runs, &catalog, o).rows;
    auto projected = compare_projected(runs, catalog, {}, o).rows;
    auto recs = recommend(runs, measured, projected, catalog, shipped_rules(), 720);
    // low-utilisation's smaller SKU, tiny: 0.36 $/h × 100 s (same clock, same bandwidth per
    // core) costs 36 times the baseline: no saving, no gain, no recommendation.
    CHECK(find(recs, "low-utilisation") == nullptr);
    // compute-bound: fast at 4.5 GHz vs 3.0: 100 × (0.9 × 3 / 4.5 + 0.1) = 70 s, 30% faster, at
    // 2.0 $/h × 70 s: it costs (140 − 1) / 3600 $ more per run, and says so.
    const auto* fast = find(recs, "compute-bound");
    REQUIRE(fast != nullptr);
    CHECK(*fast->projected_gain == doctest::Approx(0.3));
    CHECK(*fast->saving_usd_per_run == doctest::Approx((1.0 - 140.0) / 3600));
    CHECK(fast->text.find("costs") != std::string::npos);
    CHECK(fast->text.find("saves") == std::string::npos);
    for (const auto& r : recs) {
      INFO(r.rule);
      bool saves = r.saving_usd_per_run && *r.saving_usd_per_run > 0;
      bool faster = r.projected_gain && *r.projected_gain > 0;
      CHECK((saves || faster || !r.saving_usd_per_run));
    }
  }

  TEST_CASE("compute-bound with high retiring: the highest clock, not more cores") {
    auto catalog = SkuCatalog::parse(kCatalog, "test");
    auto run = run_on_src(0.05, 4);
    run.tma_retiring = 0.8;
    run.tma_backend_bound = 0.1;
    auto r = run_rules(run, catalog);
    const auto* cpu = find(r.recs, "compute-bound");
    REQUIRE(cpu != nullptr);
    CHECK(cpu->sku == "fast");
    // 100 × (0.95 × 3/4.5 + 0.05) = 68.333 s: 31.67% faster.
    CHECK(*cpu->projected_gain == doctest::Approx(1 - 68.3333 / 100).epsilon(1e-4));
    CHECK_FALSE(find(r.recs, "memory-bound"));
  }

  TEST_CASE("the real Ice Lake recording triggers the memory-bound rule on perf's threshold") {
    std::ifstream in(std::string(PMC_TEST_DATA) + "/perfstat/013.txt");
    std::stringstream text;
    text << in.rdbuf();
    auto m = import_perf_stat(text.str(), "013.txt").measurement;
    m.metrics = derive_metrics(m.events, m.duration_s);
    auto run = profile_run(m, "013.txt", "pf-test");
    auto metrics = rule_metrics(run, nullptr, {});
    auto rules = shipped_rules();
    double be = 0;
    for (const auto& [name, v] : metrics)
      if (name == "tma_backend_bound") be = v;
    CHECK(be == doctest::Approx(0.84));  // perf printed "84.0% Backend Bound"
    auto catalog = SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    std::vector<RunProfile> runs = {run};
    CompareOptions o;
    o.price_per_hour = {{"013.txt", 2.0}};
    auto measured = compare_measured(runs, &catalog, o).rows;
    auto projected = compare_projected(runs, catalog, {}, o).rows;
    auto recs = recommend(runs, measured, projected, catalog, rules, 720);
    const auto* mem = find(recs, "memory-bound");
    REQUIRE(mem != nullptr);
    CHECK(mem->text.find("memory-bound") != std::string::npos);
    // Ranked: 1, 2, … in order.
    for (size_t i = 0; i < recs.size(); ++i) CHECK(recs[i].rank == int(i + 1));
  }
}
