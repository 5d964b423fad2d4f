// What perf's "( +- x% )" is, shown on real recordings, and how an import keeps it: the standard
// error of the mean over the -r runs (stddev / sqrt(N), as a percentage of the mean), never the
// runs' standard deviation.
//
// The recordings do not list each run's count, but a small count does not need to: perf prints
// the mean of N integer counts, so the runs are a few small integers whose mean rounds to the
// printed figure. Every such set of runs is tried; perf's printed +- is the standard error of the
// mean of some of them and the standard deviation of none.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "events/document/measurement_io.h"
#include "events/perfstat/import_perfstat.h"
#include "test_support.h"

using namespace pmc;

namespace {

std::string data(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/" + name;
}

Measurement load(const std::string& name) {
  return import_perf_stat(test::read_file(data(name)), name).measurement;
}

const EventCount& event_of(const Measurement& m, std::string_view name) {
  for (const auto& e : m.events)
    if (e.name == name) return e;
  FAIL("no event " << name);
  static EventCount none;
  return none;
}

// The sample standard deviation (n - 1) of the runs and its standard error, stddev / sqrt(n).
struct Spread {
  double mean = 0, stddev = 0, sem = 0;
};
Spread spread_of(const std::vector<double>& runs) {
  double n = double(runs.size()), sum = 0, sq = 0;
  for (double v : runs) sum += v;
  double mean = sum / n;
  for (double v : runs) sq += (v - mean) * (v - mean);
  double sd = std::sqrt(sq / (n - 1));
  return {mean, sd, sd / std::sqrt(n)};
}

struct Matches {
  int as_sem = 0;     // run sets whose sem / mean, rounded as perf prints it, is the printed %
  int as_stddev = 0;  // the same with stddev / mean
};

// Every multiset of `runs` counts of 0..max_count whose mean perf would print as `printed`
// ("%.0f"), compared with perf's printed "+- pct%" (two decimals).
Matches integer_runs_matching(int runs, int printed, double pct, int max_count) {
  Matches out;
  std::vector<double> values;
  std::function<void(int)> choose = [&](int lowest) {
    if (int(values.size()) == runs) {
      auto s = spread_of(values);
      if (s.mean == 0 || std::nearbyint(s.mean) != printed) return;
      if (std::round(s.sem / s.mean * 1e4) == std::round(pct * 100)) ++out.as_sem;
      if (std::round(s.stddev / s.mean * 1e4) == std::round(pct * 100)) ++out.as_stddev;
      return;
    }
    for (int v = lowest; v <= max_count; ++v) {
      values.push_back(v);
      choose(v);
      values.pop_back();
    }
  };
  choose(0);
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("perf's +- is the standard error of the mean of the runs, not their stddev") {
    struct Row {
      const char* file;
      int runs;
      int printed;  // the count perf printed: the runs' mean, rounded
      double pct;   // perf's "( +- pct% )"
    };
    // cpu-migrations rows (counts small enough to enumerate every set of runs).
    const Row rows[] = {
        {"013.txt", 3, 3, 19.25},        // "3  cpu-migrations ... ( +- 19.25% )", 3 runs
        {"wild/028.txt", 10, 1, 38.67},  // "1  cpu-migrations ... ( +- 38.67% )", 10 runs
        {"wild/029.txt", 10, 1, 28.57},  // "1  cpu-migrations ... ( +- 28.57% )", 10 runs
    };
    for (const auto& row : rows) {
      CAPTURE(row.file);
      auto matches = integer_runs_matching(row.runs, row.printed, row.pct, row.printed * 4 + 2);
      CHECK(matches.as_sem > 0);
      CHECK(matches.as_stddev == 0);

      // The import keeps that figure as sem, and the runs' stddev is sem * sqrt(N).
      auto m = load(row.file);
      CHECK(m.runs == row.runs);
      const auto& e = event_of(m, "cpu-migrations");
      CHECK(e.value == row.printed);
      REQUIRE(e.spread->sem);
      CHECK(*e.spread->sem == doctest::Approx(row.printed * row.pct / 100));
      REQUIRE(e.spread->stddev);
      CHECK(*e.spread->stddev == doctest::Approx(*e.spread->sem * std::sqrt(double(row.runs))));
    }
  }

  TEST_CASE("an import's spread survives the document, and the table's +- is perf's") {
    // 013.txt: "21,945.59 msec task-clock ... ( +- 19.25% )", 3 runs.
    auto m = load("013.txt");
    auto back = measurement_from_json(measurement_to_json(m), "013.json");
    const auto& e = event_of(back, "task-clock");
    REQUIRE(e.spread->sem);
    CHECK(*e.spread->sem / e.value * 100 == doctest::Approx(19.25));
    REQUIRE(e.spread->stddev);
    CHECK(*e.spread->stddev == doctest::Approx(*e.spread->sem * std::sqrt(3.0)));
  }

  TEST_CASE("-x and -j recordings, which do not say how many runs, keep sem without a stddev") {
    // synthetic/json_aggregate.json holds perf -j's "variance" (the same +- percentage).
    auto m = load("synthetic/json_aggregate.json");
    bool any = false;
    for (const auto& e : m.events) {
      if (!e.spread->sem) continue;
      any = true;
      CHECK_FALSE(e.spread->stddev);
    }
    CHECK(any);
  }

  TEST_CASE("documents written before sem read their stddev for what it was") {
    auto doc = [](const char* source, int runs) {
      return std::string(R"({"schema": "pmcmodel.measurement/1", "source": ")") + source +
             R"(", "duration_s": 1, "runs": )" + std::to_string(runs) +
             R"(, "events": [{"name": "cycles", "value": 1000, "status": "counted", )"
             R"("stddev": 20}], "metrics": []})";
    };
    SUBCASE("an import's stddev was perf's +-: the standard error of the mean") {
      auto m = measurement_from_json(doc("perf-stat", 4), "old.json");
      REQUIRE(m.events[0].spread->sem);
      CHECK(*m.events[0].spread->sem == 20);
      REQUIRE(m.events[0].spread->stddev);
      CHECK(*m.events[0].spread->stddev == doctest::Approx(40));  // 20 * sqrt(4)
    }
    SUBCASE("measure's stddev was the runs' sample standard deviation") {
      auto m = measurement_from_json(doc("pmcmodel", 4), "old.json");
      REQUIRE(m.events[0].spread->stddev);
      CHECK(*m.events[0].spread->stddev == 20);
      REQUIRE(m.events[0].spread->sem);
      CHECK(*m.events[0].spread->sem == doctest::Approx(10));  // 20 / sqrt(4)
    }
  }
}
