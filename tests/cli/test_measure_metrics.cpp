// measure's metrics interval after interval: which metrics the first interval leaves out of the
// later ones, decided on the kind of each absence (MetricAbsence), never on its reason's words.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/measure_metrics.h"

using namespace pmc;

namespace {

EventCount count(const char* name, EventStatus status, double value, const char* reason = "") {
  EventCount e;
  e.name = name;
  e.status = status;
  e.value = value;
  e.reason = reason;
  return e;
}

std::vector<std::string> names_of(const std::vector<Metric>& metrics) {
  std::vector<std::string> out;
  for (const auto& m : metrics) out.push_back(m.name);
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("measure -I: the first interval drops metrics whose events this machine cannot count") {
    // Each metric reads one event with `cycles`.
    auto set = MetricSet::parse(R"([
      {"MetricName": "multiplexed", "MetricExpr": "a / cycles", "MetricGroup": "g"},
      {"MetricName": "unsupported", "MetricExpr": "b / cycles", "MetricGroup": "g"},
      {"MetricName": "refused", "MetricExpr": "c / cycles", "MetricGroup": "g"},
      {"MetricName": "not_asked", "MetricExpr": "x / cycles", "MetricGroup": "g"},
      {"MetricName": "misleading", "MetricExpr": "d / cycles", "MetricGroup": "g"},
      {"MetricName": "zero_first", "MetricExpr": "cycles / z", "MetricGroup": "g"}
    ])",
                                "t.json");
    cli::MeasureMetrics metrics(cli::LoadedMetrics{set, {"t.json"}, {}}, {"g"}, Literals{},
                                CounterModel{}, true);
    // First interval: `a` and `d` were multiplexed away (opened, not on a counter this interval),
    // `b` cannot be counted here, `c` was refused, `x` is not among the counts, `z` is 0.
    // d's reason quotes an earlier refusal in words the old text search took for one
    // ("not counted (permission_denied"), but its status is not_counted.
    auto first = metrics.evaluate(
        {count("cycles", EventStatus::counted, 100),
         count("a", EventStatus::not_counted, 0, "not on a counter during this interval"),
         count("b", EventStatus::not_supported, 0, "ENOENT"),
         count("c", EventStatus::permission_denied, 0, "perf_event_paranoid is 3"),
         count("d", EventStatus::not_counted, 0,
               "its group leader was not counted (permission_denied for :k before the paranoid "
               "setting changed)"),
         count("z", EventStatus::counted, 0)},
        0.1);
    CHECK(first.empty());
    // Second interval: everything counted. Only the metrics kept at the first interval are
    // evaluated: what was missing for good stays absent, what was missing for one interval
    // comes back.
    auto second = metrics.evaluate(
        {count("cycles", EventStatus::counted, 200), count("a", EventStatus::counted, 50),
         count("b", EventStatus::counted, 20), count("c", EventStatus::counted, 40),
         count("x", EventStatus::counted, 60), count("d", EventStatus::counted, 100),
         count("z", EventStatus::counted, 4)},
        0.1);
    CHECK(names_of(second) == std::vector<std::string>{"multiplexed", "misleading", "zero_first"});
    auto value = [&](const std::string& name) {
      auto it = std::find_if(second.begin(), second.end(),
                             [&](const Metric& m) { return m.name == name; });
      REQUIRE(it != second.end());
      return it->value;
    };
    CHECK(value("multiplexed") == doctest::Approx(0.25));
    CHECK(value("misleading") == doctest::Approx(0.5));
    CHECK(value("zero_first") == doctest::Approx(50.0));
  }
}
