// The metrics an import gives a recording (events/perfstat/import_metrics.h): the metric engine
// spread over threads gives the same run and interval metrics, in the same order, as one call;
// without metric files, perf stat's generic ratios and a note naming where files were looked for;
// a deferred document keeps its intervals' metrics for the writer.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "events/metrics/derived_metrics.h"
#include "events/metrics/metric_schedule.h"
#include "events/perfstat/import_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "test_support.h"

using namespace pmc;

namespace {

const std::filesystem::path kMetrics = std::string(PMC_SOURCE_DIR) + "/data/metrics";

EventCount counted(const std::string& name, double value) {
  EventCount e;
  e.name = name;
  e.value = value;
  e.raw = uint64_t(value);
  e.status = EventStatus::counted;
  return e;
}

// `n` intervals of 0.1 s; interval k counts 1000 + k cycles and 2000 + 3k instructions.
Measurement recording(size_t n) {
  Measurement m;
  m.source = "perf-stat";
  m.duration_s = 0.1 * double(n);
  double cycles = 0, insns = 0;
  for (size_t k = 0; k < n; ++k) {
    Interval iv;
    iv.duration_s = 0.1;
    iv.events = {counted("cycles", 1000.0 + double(k)), counted("instructions", 2000.0 + 3.0 * k)};
    cycles += iv.events[0].value;
    insns += iv.events[1].value;
    m.intervals.push_back(std::move(iv));
  }
  m.events = {counted("cycles", cycles), counted("instructions", insns)};
  return m;
}

const Metric* find(const std::vector<Metric>& metrics, const std::string& name) {
  for (const auto& m : metrics)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("derive_metrics_in_parallel gives one call's metrics, intervals in order") {
    auto loaded = load_metrics(kMetrics, "", MachineInfo{});
    auto selection = available_selection(loaded.set, import_metric_groups());
    const size_t n = 5000;  // four shares of at least 1024 intervals with 4 threads
    Measurement whole = recording(n), parallel = recording(n);
    apply_metric_engine(whole, loaded.set, selection);
    derive_metrics_in_parallel(parallel, loaded.set, selection, 4);
    REQUIRE(parallel.intervals.size() == n);
    for (size_t k = 0; k < n; ++k) {
      REQUIRE(parallel.intervals[k].events[0].value == 1000.0 + double(k));
      const auto& a = whole.intervals[k].metrics;
      const auto& b = parallel.intervals[k].metrics;
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].name == b[i].name);
        CHECK(a[i].value == b[i].value);
      }
    }
    // Interval k's IPC is (2000 + 3k) / (1000 + k): real figures, not an empty comparison.
    const Metric* ipc = find(parallel.intervals[10].metrics, "ipc");
    REQUIRE(ipc != nullptr);
    CHECK(ipc->value == doctest::Approx(2030.0 / 1010.0));
    REQUIRE(whole.metrics.size() == parallel.metrics.size());
    for (size_t i = 0; i < whole.metrics.size(); ++i) {
      CHECK(whole.metrics[i].name == parallel.metrics[i].name);
      CHECK(whole.metrics[i].value == parallel.metrics[i].value);
    }
  }

  TEST_CASE(
      "derive_import_metrics without metric files: perf's ratios and where files were sought") {
    Measurement m = recording(3);
    auto plan = derive_import_metrics(m, nullptr, false, 1, "/nowhere/metrics");
    CHECK_FALSE(plan.deferred);
    CHECK(plan.per_interval.empty());
    CHECK(m.notes == std::vector<std::string>{
                         "metric files not found under /nowhere/metrics: only perf stat's generic "
                         "ratios were derived"});
    auto expected = derive_metrics(m.events, m.duration_s);
    REQUIRE(m.metrics.size() == expected.size());
    REQUIRE(find(m.metrics, "ipc") != nullptr);
    // The run: (2000 + 2003 + 2006) / (1000 + 1001 + 1002).
    CHECK(find(m.metrics, "ipc")->value == doctest::Approx(6009.0 / 3003.0));
    for (size_t k = 0; k < m.intervals.size(); ++k) {
      const Metric* ipc = find(m.intervals[k].metrics, "ipc");
      REQUIRE(ipc != nullptr);
      CHECK(ipc->value == doctest::Approx((2000.0 + 3.0 * k) / (1000.0 + k)));
    }
  }

  TEST_CASE("derive_import_metrics: a metric file's bad entry is a note, its good ones derive") {
    LoadedMetrics loaded;
    loaded.set = MetricSet::parse(R"([
      {"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "ipc"},
      {"MetricName": "broken", "MetricExpr": "cycles * * 2", "MetricGroup": "ipc"}
    ])",
                                  "mine.json");
    loaded.files = {"mine.json"};
    loaded.notes = loaded.set.notes();
    Measurement m = recording(2);
    derive_import_metrics(m, &loaded, false, 1, "");
    CHECK(std::count_if(m.notes.begin(), m.notes.end(), [](const std::string& n) {
            return n.rfind("mine.json:3: metric broken: MetricExpr \"cycles * * 2\"", 0) == 0;
          }) == 1);
    REQUIRE(find(m.metrics, "ipc") != nullptr);
    CHECK(find(m.metrics, "ipc")->value == doctest::Approx((2000.0 + 2003.0) / (1000.0 + 1001.0)));
  }

  TEST_CASE(
      "derive_import_metrics deferred: the run's metrics now, each interval's by the writer") {
    auto loaded = load_metrics(kMetrics, "", MachineInfo{});
    auto selection = available_selection(loaded.set, import_metric_groups());
    Measurement m = recording(4);
    auto plan = derive_import_metrics(m, &loaded, true, 2, "");
    CHECK(plan.deferred);
    CHECK(plan.per_interval == loaded.set.select(selection));
    CHECK_FALSE(plan.per_interval.empty());
    for (const auto& iv : m.intervals) CHECK(iv.metrics.empty());
    REQUIRE(find(m.metrics, "ipc") != nullptr);
    for (const auto& n : loaded.notes)
      CHECK(std::find(m.notes.begin(), m.notes.end(), n) != m.notes.end());

    // Nothing to defer without intervals: the run's metrics are derived here.
    Measurement run = recording(0);
    run.events = {counted("cycles", 1000), counted("instructions", 1500)};
    run.duration_s = 1;
    auto whole = derive_import_metrics(run, &loaded, true, 2, "");
    CHECK_FALSE(whole.deferred);
    REQUIRE(find(run.metrics, "ipc") != nullptr);
    CHECK(find(run.metrics, "ipc")->value == doctest::Approx(1.5));
  }

  TEST_CASE("infer_import_metrics leaves a recording alone when --cpu names its CPU") {
    Measurement m = recording(1);
    bool loaded = false;
    auto inferred = infer_import_metrics(m, "skylake", nullptr, [&](const std::string&) {
      loaded = true;
      return LoadedMetrics{};
    });
    CHECK_FALSE(inferred);
    CHECK_FALSE(loaded);
    CHECK(m.notes.empty());
  }

  TEST_CASE(
      "PrintedGroupEvaluator gives evaluate_in_printed_groups' values interval after interval") {
    // synthetic/zen4_interval.csv: wild/064.txt's Zen 4 -M PipelineL1 counts and printed metrics
    // as two intervals, ls_not_halted_cyc in four groups; perf printed 5.8 % bad_speculation,
    // 36.3 % retiring, 56.2 % frontend_bound, 1.7 % backend_bound from them.
    auto m = import_perf_stat(test::read_file(std::string(PMC_TEST_DATA) +
                                              "/perfstat/synthetic/zen4_interval.csv"),
                              "zen4_interval.csv")
                 .measurement;
    REQUIRE(m.intervals.size() == 2);
    auto loaded = load_metrics(kMetrics, "zen4", MachineInfo{});
    const MetricSet& set = loaded.set;
    auto selected = set.select(import_selection(loaded, {}));
    Literals literals = import_literals(m, "zen4", {}, &set).literals();
    // A third interval whose rows perf printed in another order: the plan is made again.
    Interval reordered = m.intervals[1];
    std::reverse(reordered.reported.begin(), reordered.reported.end());
    std::vector<Interval> intervals = {m.intervals[0], m.intervals[1], reordered, m.intervals[0]};
    IntervalMetricEvaluator plain(set, selected, literals);
    PrintedGroupEvaluator cached(set, selected, literals);
    for (size_t i = 0; i < intervals.size(); ++i) {
      CAPTURE(i);
      const Interval& iv = intervals[i];
      auto base = plain.evaluate(iv.events, iv.duration_s, IntervalMetricEvaluator::Notes::left_out)
                      .metrics;
      auto once = base;
      evaluate_in_printed_groups(set, selected, iv.events, iv.duration_s, iv.reported, literals,
                                 once, false);
      auto again = base;
      cached.evaluate(iv.events, iv.duration_s, iv.reported, again, false);
      REQUIRE(again.size() == once.size());
      // The groups matter: ls_not_halted_cyc's four counts differ, so some value moved.
      bool moved = false;
      for (size_t k = 0; k < base.size(); ++k) moved |= base[k].value != again[k].value;
      CHECK(moved);
      for (size_t k = 0; k < once.size(); ++k) {
        CAPTURE(once[k].name);
        CHECK(again[k].name == once[k].name);
        CHECK((again[k].value == once[k].value ||
               (std::isnan(again[k].value) && std::isnan(once[k].value))));
      }
      // Each from its own group's counts, as perf printed it (half a unit of 0.1 %).
      for (const auto& [name, printed] :
           {std::pair{"tma_frontend_bound", 0.562}, std::pair{"tma_backend_bound", 0.017}}) {
        auto found = std::find_if(again.begin(), again.end(),
                                  [&](const Metric& x) { return x.name == name; });
        REQUIRE(found != again.end());
        CHECK(std::abs(found->value - printed) <= 0.0005);
      }
    }
  }
}
