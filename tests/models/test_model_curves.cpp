// A catalog SKU that publishes no power curve gets the sku-curve model's (with_model_curves), and
// every estimate on a model curve carries the model's held-out 90 % half-width at its load. The
// half-widths expected here are recomputed from the held-out SPECpower results
// (sku_curve_holdout.h), not read from data/sku_curve.json or from pmcmodel's output. The run is
// tests/data/perfstat/014.txt (AMD EPYC 7J13, `perf stat -r 3 -ddd`, INDEX.tsv).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "models/fleet/comparison.h"
#include "models/fleet/energy_estimate.h"
#include "models/fleet/power_curve.h"
#include "models/fleet/projection.h"
#include "models/fleet/sku_catalog.h"
#include "models/fleet/sku_curve.h"
#include "models/shipped/shipped_tables.h"
#include "pmcmodel_version.h"
#include "sku_curve_holdout.h"
#include "test_support.h"

using namespace pmc;

namespace {

const std::string kData = PMCMODEL_DATA_DIR;

std::string header() {
  std::string h;
  for (size_t i = 0; i < kSkuColumns.size(); ++i) h += (i ? "," : "") + std::string(kSkuColumns[i]);
  return h + "\n";
}

// data/skus.csv's specpower-12 row (a 1-socket EPYC 7763 server with its published curve), and a
// 2-socket EPYC 7763 server with the same facts but no curve, 256 GB, $3/h.
const std::string kPublished =
    "pub-7763,HPE,AMD EPYC 7763,1,64,128,2.45,3.5,280,56.8,100,116,130,143,162,191,211,231,250,268,"
    "128,204.8,256,2,test,spec-power-ssj2008\n";
const std::string kUnpublished =
    "model-7763,Any,AMD EPYC 7763,2,128,256,2.45,3.5,280,,,,,,,,,,,,256,204.8,256,3,test,none\n";

SkuCatalog modelled_catalog() {
  auto model = SkuCurveModel::load(kData + "/sku_curve.json");
  auto cpus = CpuFactsTable::load(kData + "/cpu_facts.csv");
  return with_model_curves(SkuCatalog::parse(header() + kPublished + kUnpublished, "skus.csv"),
                           model, cpus);
}

RunProfile milan_run(const std::string& host) {
  std::ifstream in(std::string(PMC_TEST_DATA) + "/perfstat/014.txt");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  Measurement m = import_perf_stat(text.str(), "014.txt").measurement;
  m.metrics = derive_metrics(m.events, m.duration_s);
  m.machine.hostname = host;
  m.machine.logical_cpus = 256;
  return profile_run(m, "014.txt", "pf-test");
}

const ComparisonRow& row_of(const Comparison& c, const std::string& machine) {
  for (const auto& r : c.rows)
    if (r.machine == machine) return r;
  FAIL("no row for " << machine);
  return c.rows.front();
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("sku-curve: the model's half-width at each load is the held-out 90 % interval") {
    auto expected = test::holdout_half_widths(kData);
    auto model = SkuCurveModel::load(kData + "/sku_curve.json");
    auto cpus = CpuFactsTable::load(kData + "/cpu_facts.csv");
    auto e = model.estimate({"AMD EPYC 7763", 2, 128, 256}, cpus);
    REQUIRE(e.method_name == "tdp");  // the method every held-out row was estimated by
    for (size_t i = 0; i < kPowerCurvePoints; ++i) {
      CAPTURE(i);
      // The model file keeps its quantiles to 10 digits.
      CHECK(e.relative_half_width[i] == doctest::Approx(expected[i]).epsilon(1e-6));
    }
    // Idle is the hardest point (a few servers idled far above their estimate).
    CHECK(expected[0] > 2 * expected[10]);
  }

  TEST_CASE("catalog: a row without a power curve takes the model's, or names what it lacks") {
    auto catalog = modelled_catalog();
    const Sku* s = catalog.find("model-7763");
    REQUIRE(s != nullptr);
    auto model = SkuCurveModel::load(kData + "/sku_curve.json");
    auto cpus = CpuFactsTable::load(kData + "/cpu_facts.csv");
    auto e = model.estimate(*server_specs(*s), cpus);
    CHECK(s->watts == e.watts);
    REQUIRE(s->modelled_uncertainty);
    CHECK(*s->modelled_uncertainty == e.relative_half_width);
    CHECK(s->power_source == "sku-curve:model:epyc7763");
    // The published row is left as it was.
    CHECK(!catalog.find("pub-7763")->modelled_uncertainty);
    CHECK(catalog.find("pub-7763")->watts.back() == 268);

    std::string no_memory = kUnpublished;
    no_memory.replace(no_memory.find(",256,204.8"), 4, ",");
    CHECK_THROWS_WITH(SkuCatalog::parse(header() + no_memory, "skus.csv"),
                      doctest::Contains("skus.csv:2: expected a power curve"));
    std::string half = kUnpublished;
    half.replace(half.find("280,,"), 5, "280,90,");
    CHECK_THROWS(SkuCatalog::parse(header() + half, "skus.csv"));

    // load_sku_catalog gives the curve from the model of the directory it is told.
    auto dir = test::make_temp_dir("model-curves");
    std::ofstream(dir / "skus.csv") << header() << kPublished << kUnpublished;
    auto loaded = load_sku_catalog(dir / "skus.csv", kData);
    CHECK(loaded.find("model-7763")->watts == e.watts);
    CHECK_THROWS_WITH(load_sku_catalog(dir / "skus.csv"),
                      doctest::Contains("rows without a power curve need the sku-curve model"));
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("compare --skus: a SKU without a curve is ranked on the model's, with its half-width") {
    auto hw = test::holdout_half_widths(kData);
    auto catalog = modelled_catalog();
    std::vector<RunProfile> runs = {milan_run("milan")};
    CompareOptions o;
    o.objective = Objective::energy;
    auto c = compare_projected(runs, catalog, {}, o);
    const auto& modelled = row_of(c, "model-7763");
    const auto& published = row_of(c, "pub-7763");
    CHECK(modelled.rank.has_value());
    CHECK(published.rank.has_value());
    CHECK(modelled.method.ends_with(":model-7763+estimated:sku-curve:model:epyc7763"));
    CHECK(published.method.find("estimated") == std::string::npos);
    REQUIRE(modelled.utilisation);
    // The power term: the model's held-out half-width at the projected load in place of the
    // published curve's 0.15.
    CHECK(modelled.uncertainty ==
          doctest::Approx(modelled.duration_uncertainty + watts_at_load(hw, *modelled.utilisation))
              .epsilon(1e-6));
    CHECK(published.uncertainty ==
          doctest::Approx(published.duration_uncertainty + ProjectionUncertainty{}.power_curve));
    REQUIRE(modelled.average_watts);
    CHECK(*modelled.average_watts ==
          doctest::Approx(watts_at_load(catalog.find("model-7763")->watts, *modelled.utilisation)));
    bool said = false;
    for (const auto& m : modelled.missing_inputs)
      said = said || m.find("no published power curve: the sku-curve model's") != std::string::npos;
    CHECK(said);
  }

  TEST_CASE("compare: a run without energy on a SKU without a curve gets the model's estimate") {
    auto hw = test::holdout_half_widths(kData);
    auto catalog = modelled_catalog();
    std::vector<RunProfile> runs = {milan_run("model-7763")};
    auto c = compare_measured(runs, &catalog, {});
    const auto& r = c.rows.at(0);
    CHECK(r.sku_id == "model-7763");
    CHECK(r.method == "estimated:sku-curve:model:epyc7763");
    REQUIRE(r.utilisation);
    REQUIRE(r.joules);
    CHECK(*r.joules ==
          doctest::Approx(watts_at_load(catalog.find("model-7763")->watts, *r.utilisation) *
                          r.duration_s));
    CHECK(
        r.uncertainty ==
        doctest::Approx(watts_at_load(hw, *r.utilisation) + r.duration_uncertainty).epsilon(1e-6));
    // measure's curve of the same SKU carries the same figure at every load.
    auto curve = sku_estimate_curve(*catalog.find("model-7763"), 256);
    for (size_t i = 0; i < kPowerCurvePoints; ++i)
      CHECK(curve.uncertainty[i] == doctest::Approx(hw[i]).epsilon(1e-6));
    // A published curve keeps its stated figure.
    auto published = sku_estimate_curve(*catalog.find("pub-7763"), 128);
    CHECK(published.uncertainty_at(0.37) == kSkuCurveUncertainty);
  }
}
