// A fitted model applied to a measurement (models/calibration/model_estimates.h): the row it sees,
// watts as an energy entry, the CPI stack as metrics, and the notes for inputs the measurement
// lacks or that lie outside the training range. Expected values are worked out by hand from the
// counts and the coefficients.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "models/calibration/model_estimates.h"

using namespace pmc;

namespace {

EventCount count(const char* name, double value, EventStatus status = EventStatus::counted) {
  EventCount e;
  e.name = name;
  e.value = value;
  e.status = status;
  return e;
}

// 2 s of 2e9 cycles, 4e9 instructions and 4e7 cache misses; LLC misses not counted.
Measurement two_seconds() {
  Measurement m;
  m.duration_s = 2;
  m.events = {count("cycles", 2e9), count("instructions", 4e9), count("cache-misses", 4e7),
              count("LLC-load-misses", 0, EventStatus::not_counted)};
  EnergyReading package;
  package.domain = "package-0";
  package.joules = 100;
  package.method = "measured:powercap";
  m.energy.push_back(package);
  return m;
}

ModelTerm term(FeatureSpec spec, double coefficient, double train_min, double train_max) {
  ModelTerm t;
  t.spec = std::move(spec);
  t.coefficient = coefficient;
  t.train_min = train_min;
  t.train_max = train_max;
  return t;
}

// package_watts = 10 + 2e-8 × cycles_per_s, 90% interval [-1, +3] W around it.
MeasureModel package_model(double train_max = 2e9) {
  Model model;
  model.target = "package_watts";
  model.intercept = 10;
  model.terms = {term(raw_feature("cycles_per_s"), 2e-8, 0, train_max)};
  model.interval.lower = -1;
  model.interval.upper = 3;
  return {"pkg.json", model};
}

const Metric* find_metric(const std::vector<Metric>& metrics, const std::string& name) {
  for (const auto& x : metrics)
    if (x.name == name) return &x;
  return nullptr;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("measurement_row names the counts as calibrate's dataset does") {
    Dataset row = measurement_row(two_seconds());
    REQUIRE(row.rows() == 1);
    CHECK(row.column("interval_s")[0] == 2);
    CHECK(row.column("cycles_per_s")[0] == doctest::Approx(1e9));
    CHECK(row.column("instructions_per_s")[0] == doctest::Approx(2e9));
    CHECK(row.column("cache_misses_per_s")[0] == doctest::Approx(2e7));
    CHECK(row.column("ipc")[0] == doctest::Approx(2.0));  // 4e9 / 2e9
    CHECK(row.column("cpi")[0] == doctest::Approx(0.5));
    CHECK(row.column("package_0_watts")[0] == doctest::Approx(50.0));  // 100 J / 2 s
    CHECK_FALSE(row.has_column("llc_load_misses_per_s"));              // not counted
  }

  TEST_CASE("watts_domain: the domain of a watts target") {
    CHECK(watts_domain("package_watts") == "package");
    CHECK(watts_domain("dram_power") == "dram");
    CHECK(watts_domain("cpi") == "");
    CHECK(watts_domain("watts") == "");  // no domain before the suffix's underscore
  }

  TEST_CASE("a watts model adds an energy entry and a metric, labelled model:<file>") {
    Measurement m = two_seconds();
    add_model_estimates({package_model()}, m);
    REQUIRE(m.energy.size() == 2);
    const auto& e = m.energy[1];
    CHECK(e.domain == "package");
    CHECK(e.method == "model:pkg.json");
    CHECK(e.average_watts == doctest::Approx(30.0));  // 10 + 2e-8 × 1e9
    CHECK(e.joules == doctest::Approx(60.0));         // 30 W × 2 s
    CHECK(e.uncertainty == doctest::Approx(0.1));     // the wider side, 3 W, of 30 W
    const auto* metric = find_metric(m.metrics, "model:pkg.json:package_watts");
    REQUIRE(metric != nullptr);
    CHECK(metric->value == doctest::Approx(30.0));
    CHECK(metric->unit == "W");
    CHECK(m.notes.empty());
  }

  TEST_CASE("an input outside the training range is an extrapolation, noted on the run only") {
    Measurement m = two_seconds();
    add_model_estimates({package_model(5e8)}, m);
    CHECK(m.notes == std::vector<std::string>{
                         "model:pkg.json: package_watts outside the training range (cycles_per_s): "
                         "the estimate is an extrapolation"});
    CHECK(m.energy.back().average_watts == doctest::Approx(30.0));  // not clipped
    Interval iv;
    iv.duration_s = 1;
    iv.events = {count("cycles", 1e9)};
    add_interval_model_estimates({package_model(5e8)}, iv);
    REQUIRE(iv.energy.size() == 1);
    CHECK(iv.energy[0].joules == doctest::Approx(30.0));  // (10 + 2e-8 × 1e9) W × 1 s
  }

  TEST_CASE("a model whose inputs were not counted is not applied, with the events to count") {
    Model model;
    model.target = "package_watts";
    model.terms = {term(raw_feature("llc_load_misses_per_s"), 1e-6, 0, 1e9)};
    model.machine["events"]["llc_load_misses_per_s"] = "LLC-load-misses";
    Measurement m = two_seconds();
    add_model_estimates({{"llc.json", model}}, m);
    CHECK(m.energy.size() == 1);
    CHECK(m.metrics.empty());
    CHECK(m.notes == std::vector<std::string>{
                         "model:llc.json: not applied: it needs llc_load_misses_per_s, which this "
                         "measurement did not count (count them with -e LLC-load-misses)"});
  }

  TEST_CASE("a CPI model adds its stack: base, stall CPI, stall cycles and their share") {
    // cpi = 0.3 + 20 × cache misses per instruction; 2e7 / 2e9 = 0.01 per instruction.
    Model model;
    model.target = "cpi";
    model.intercept = 0.3;
    FeatureSpec per_insn{"misses_per_insn", FeatureOp::ratio, "cache_misses_per_s",
                         "instructions_per_s"};
    model.terms = {term(per_insn, 20, 0, 1)};
    Measurement m = two_seconds();
    add_model_estimates({{"cpi.json", model}}, m);
    CHECK(m.energy.size() == 1);  // not a watts model
    auto value = [&](const std::string& name) {
      const auto* x = find_metric(m.metrics, "model:cpi.json:" + name);
      REQUIRE(x != nullptr);
      return x->value;
    };
    CHECK(value("cpi") == doctest::Approx(0.5));
    CHECK(value("base_cpi") == doctest::Approx(0.3));
    CHECK(value("stall_cpi:misses_per_insn") == doctest::Approx(0.2));     // 20 × 0.01
    CHECK(value("stall_cycles:misses_per_insn") == doctest::Approx(8e8));  // 0.2 × 4e9
    CHECK(value("stall_share:misses_per_insn") == doctest::Approx(0.4));   // 8e8 / 2e9
  }
}
