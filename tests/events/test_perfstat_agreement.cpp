// reported_disagreements on real recordings: pmcmodel's metrics are worked out here from each
// recording's printed counts, perf's are what it printed, and a note must appear exactly where
// the two differ by more than perf's rounding, with the reason the recording shows.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/import_perfstat_common.h"
#include "events/perfstat/reported_agreement.h"
#include "test_support.h"

using namespace pmc;

namespace {

Measurement load(const std::string& name) {
  return import_perf_stat(test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/" + name), name)
      .measurement;
}

std::vector<std::string> notes_naming(const std::vector<std::string>& notes,
                                      const std::string& metric) {
  std::vector<std::string> out;
  for (const auto& n : notes)
    if (n.starts_with(metric + ":")) out.push_back(n);
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A metric file of data/metrics/.
MetricSet shipped_metrics(const std::string& name) {
  return MetricSet::load(std::filesystem::path(PMC_SOURCE_DIR) / "data" / "metrics" / name);
}

// The notes note_disagreements adds to `m` (they are also left in m.notes).
template <class Selection>
std::vector<std::string> disagreement_notes(Measurement& m, const MetricSet& set,
                                            const Selection& selection) {
  auto before = m.notes.size();
  note_disagreements(m, &set, selection);
  return {m.notes.begin() + long(before), m.notes.end()};
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("-r N: a metric perf printed from the last run's counts is noted, with why") {
    // 013.txt, perf stat -r 3: "56,513,364,885 cycles # 3.863 GHz" beside "21,945.59 msec
    // task-clock # 2.999 CPUs utilized"; elapsed 7.31681 s. The means give 2.575 GHz: perf's
    // 3.863 is not the means' figure. CPUs utilized, 21.94559 / 7.31681 = 2.9993, agrees.
    auto m = load("013.txt");
    m.metrics = {
        {"ghz", 56513364885.0 / 21945.59e-3 / 1e9, "GHz"},
        {"cpus_utilized", 21945.59e-3 / 7.31681, "CPUs"},
        {"ipc", 2583719806.0 / 56513364885.0, "insn/cycle"},    // 0.046; perf printed 0.07
        {"llc_miss_ratio", 793272.0 / 11475685.0, "ratio"},     // 6.91%; perf printed 10.36%
        {"branch_miss_rate", 562164.0 / 585212952.0, "ratio"},  // 0.096%; perf printed 0.14%
    };
    auto notes = reported_disagreements(m);
    CAPTURE(notes);
    for (const char* name : {"ghz", "ipc", "llc_miss_ratio", "branch_miss_rate"}) {
      CAPTURE(name);
      auto found = notes_naming(notes, name);
      REQUIRE(found.size() == 1);
      CHECK(contains(found[0], "-r 3"));
      CHECK(contains(found[0], "last run"));
      CHECK(contains(found[0], "reported[]"));
    }
    CHECK(contains(notes_naming(notes, "ghz")[0], "perf printed 3.863"));
    CHECK(notes_naming(notes, "cpus_utilized").empty());
  }

  TEST_CASE("hybrid: perf's ratio of one PMU's count over another's is noted, naming both") {
    // 016.txt (perf 6.4-dev, Alder Lake): cpu_core 3,921,839 instructions / 5,653,347 cycles =
    // 0.694 (perf: 0.69); cpu_atom 2,142,800 / 4,164,114 = 0.515, but perf printed 0.38, which
    // is 2,142,800 / 5,653,347 = 0.379: cpu_atom's instructions over cpu_core's cycles.
    auto m = load("wild/016.txt");
    // Branch misses too: cpu_atom 26,029 / 452,838 = 5.75%, perf 3.65% = 26,029 / 713,629,
    // cpu_core's branches; cpu_core's own 26,810 / 713,629 = 3.757% (perf: 3.76%).
    m.metrics = {
        {"cpu_core/ipc", 3921839.0 / 5653347.0, "insn/cycle"},
        {"cpu_atom/ipc", 2142800.0 / 4164114.0, "insn/cycle"},
        {"cpu_core/branch_miss_rate", 26810.0 / 713629.0, "ratio"},
        {"cpu_atom/branch_miss_rate", 26029.0 / 452838.0, "ratio"},
    };
    auto notes = reported_disagreements(m);
    CAPTURE(notes);
    CHECK(notes_naming(notes, "cpu_core/ipc").empty());
    auto atom = notes_naming(notes, "cpu_atom/ipc");
    REQUIRE(atom.size() == 1);
    CHECK(contains(atom[0], "perf printed 0.38"));
    CHECK(contains(atom[0], "cpu_atom's instructions over cpu_core's cycles"));
    CHECK(notes_naming(notes, "cpu_core/branch_miss_rate").empty());
    auto misses = notes_naming(notes, "cpu_atom/branch_miss_rate");
    REQUIRE(misses.size() == 1);
    CHECK(contains(misses[0], "perf printed 3.65%"));
    CHECK(contains(misses[0], "cpu_atom's branch-misses over cpu_core's branches"));
  }

  TEST_CASE("a printed metric's decimals are shifted by the power of ten of its scale") {
    // "12.345" printed, scaled by s to give the value: the value is to 10^-(3 - log10 s).
    auto decimals = [](std::string_view text, char decimal, double scale) {
      Metric m;
      perfstat::keep_printed_decimals(m, text, decimal, scale);
      return m.decimals;
    };
    CHECK(decimals("12.345", '.', 1.0) == std::optional<int>(3));
    CHECK(decimals("12.345", '.', 0.01) == std::optional<int>(5));  // 12.345 % = 0.12345
    CHECK(decimals("1.234", '.', 1e6) == std::optional<int>(-3));   // 1.234 M/sec: to 1,000
    CHECK(decimals("7", '.', 1e9) == std::optional<int>(-9));
    CHECK(decimals("0,51", ',', 1e3) == std::optional<int>(-1));
    // Not a power of ten: the nearest one (log10 2.5 = 0.40 → 0; log10 0.004 = -2.40 → -2).
    CHECK(decimals("12.345", '.', 2.5) == std::optional<int>(3));
    CHECK(decimals("12.345", '.', 0.004) == std::optional<int>(5));
    CHECK(decimals("12.345", '.', 40.0) == std::optional<int>(1));  // log10 40 = 1.60 → 2
  }

  TEST_CASE("metrics that agree to perf's rounding give no note") {
    // 024.txt (-r 5): "459,550 branch-misses:u # 19.91% of all branches" over 2,308,457
    // branches: 19.907%.
    auto m = load("024.txt");
    m.metrics = {{"branch_miss_rate", 459550.0 / 2308457.0, "ratio"}};
    CHECK(reported_disagreements(m).empty());
  }

  TEST_CASE("a metric file's percentage is compared to the one decimal perf printed it with") {
    // wild/064.txt (AMD Zen 4, -M PipelineL1): "87,109,879 de_no_dispatch_per_slot.smt_contention
    // # 0.0 % smt_contention" beside "29,522,675,914 ls_not_halted_cyc" in its group; amdzen4's
    // smt_contention = d_ratio(de_no_dispatch_per_slot.smt_contention, 6 * ls_not_halted_cyc)
    // = 0.049 %, which perf's "%8.1f" prints as 0.0.
    auto m = load("wild/064.txt");
    m.metrics = {{"smt_contention", 87109879.0 / (6 * 29522675914.0), "ratio"}};
    CHECK(reported_disagreements(m).empty());
    // 0.06 % would have been printed 0.1: a note, giving perf's value as it printed it.
    m.metrics = {{"smt_contention", 0.0006, "ratio"}};
    auto notes = reported_disagreements(m);
    REQUIRE(notes.size() == 1);
    CHECK(contains(notes[0], "smt_contention: perf printed 0.0%, pmcmodel derives 0.06%"));
    // stat-shadow's own ratios keep their two decimals: 024.txt's 19.91 % of all branches.
    auto branches = load("024.txt");
    branches.metrics = {{"branch_miss_rate", 0.19, "ratio"}};
    CHECK(notes_naming(reported_disagreements(branches), "branch_miss_rate").size() == 1);
  }

  TEST_CASE("a value perf printed with few digits is compared at the precision it was printed") {
    // wild/061.txt (perf 5.7, -M TopDownL1 on Skylake) printed top-down as fractions with one
    // decimal: "0.1 Retiring" beside cycles 1,373,363,790 and uops_retired.retire_slots
    // 577,302,589, so 577,302,589 / (4 * 1,373,363,790) = 0.1051 printed as 0.1.
    auto m = load("wild/061.txt");
    auto printed = [&](const std::string& name) {
      for (const auto& r : m.reported)
        if (r.name == name) return r;
      FAIL("no reported " << name);
      return Metric{};
    };
    CHECK(printed("tma_retiring").decimals == std::optional<int>(1));
    CHECK(printed("tma_retiring").value == doctest::Approx(0.1));
    // Bad_Speculation from its own group: (721,098,274 - 552,475,482 + 4 * 47,708,340) /
    // (4 * 1,332,681,791) = 0.0674, printed 0.1 (anything from 0.05 to 0.15).
    m.metrics = {{"tma_retiring", 577302589.0 / (4 * 1373363790.0), "ratio"},
                 {"tma_bad_speculation",
                  (721098274.0 - 552475482.0 + 4 * 47708340.0) / (4 * 1332681791.0), "ratio"}};
    CHECK(reported_disagreements(m).empty());
    // Beyond the printed precision: the shipped skylake.json's Backend_Bound of these counts,
    // 42.59 %, against perf 5.7's "0.5" (its formula gave 0.48): noted, perf's value as printed.
    m.metrics = {{"tma_backend_bound", 0.4259, "ratio"}};
    auto notes = reported_disagreements(m);
    REQUIRE(notes.size() == 1);
    CHECK(contains(notes[0], "tma_backend_bound: perf printed 50%, pmcmodel derives 42.59%"));
    // A percentage keeps its decimals in the fraction: wild/064.txt's "0.0 % smt_contention".
    auto zen4 = load("wild/064.txt");
    bool seen = false;
    for (const auto& r : zen4.reported)
      if (r.name == "smt_contention") {
        seen = true;
        CHECK(r.decimals == std::optional<int>(3));
      }
    CHECK(seen);
  }

  TEST_CASE("-x and -j imports keep the decimals perf printed, and are compared at them") {
    auto printed = [](const Measurement& m, const std::string& name) {
      for (const auto& r : m.reported)
        if (r.name == name) return r;
      FAIL("no reported " << name);
      return Metric{};
    };
    SUBCASE("-x prints the text comment's format: wild/018.csv") {
      // "8632400,,cpu_core/cycles/,16067477534,100.00,0.000,GHz" beside "32148.69,msec,
      // cpu-clock": 8,632,400 / 32,148,690,000 ns = 0.000269 GHz, printed "%.3f".
      auto m = load("wild/018.csv");
      CHECK(printed(m, "cpu_core/ghz").decimals == std::optional<int>(3));
      CHECK(printed(m, "cpu_core/ipc").decimals == std::optional<int>(2));  // "1.07"
      // ",,,,,30.6,%  tma_backend_bound": 3 decimals of the fraction 0.306.
      bool seen = false;
      for (const auto& r : m.reported)
        if (r.name.ends_with("tma_backend_bound")) {
          seen = true;
          CHECK(r.decimals == std::optional<int>(3));
        }
      CHECK(seen);
      m.metrics = {{"cpu_core/ghz", 8632400.0 / 32148.69e6, "GHz"}};
      CHECK(reported_disagreements(m).empty());
      // 0.0006 would have been printed 0.001: beyond the precision printed.
      m.metrics = {{"cpu_core/ghz", 0.0006, "GHz"}};
      CHECK(notes_naming(reported_disagreements(m), "cpu_core/ghz").size() == 1);
    }
    SUBCASE("-j prints \"%f\": wild/017.json (strings), wild/019.json (numbers)") {
      // "6404864.000000" cpu_core/cycles/ with "metric-value" : "0.000199" GHz beside cpu-clock
      // "32150.838437" msec: 6,404,864 / 32,150,838,437 ns = 0.00019921 GHz.
      auto m = load("wild/017.json");
      CHECK(printed(m, "cpu_core/ghz").decimals == std::optional<int>(6));
      CHECK(printed(m, "cpu_core/ipc").decimals == std::optional<int>(6));  // "0.741336"
      bool seen = false;
      for (const auto& r : m.reported)
        if (r.name.ends_with("tma_backend_bound")) {
          seen = true;
          CHECK(r.decimals == std::optional<int>(8));  // "30.939553" %
        }
      CHECK(seen);
      m.metrics = {{"cpu_core/ghz", 6404864.0 / 32150838437.0, "GHz"}};
      CHECK(reported_disagreements(m).empty());
      // A quarter more than perf's value, which two decimals ("0.00") would have hidden.
      m.metrics = {{"cpu_core/ghz", 0.000250, "GHz"}};
      auto notes = notes_naming(reported_disagreements(m), "cpu_core/ghz");
      REQUIRE(notes.size() == 1);
      CHECK(contains(notes[0], "perf printed 0.000199"));
      // perf 5.20-dev's -j wrote "metric-value" : 0.297920 as a JSON number: its six decimals.
      auto numeric = load("wild/019.json");
      CHECK(printed(numeric, "S0-D0-C15/ipc").decimals == std::optional<int>(6));
    }
    SUBCASE("text --topdown and --metric-only columns too: wild/006.txt") {
      // perf 5.5's --topdown table per core: "S0-D0-C0  1  24.9%  1.1%" then "16.1%  57.9%".
      auto m = load("wild/006.txt");
      CHECK(printed(m, "S0-D0-C0/tma_retiring").value == doctest::Approx(0.249));
      CHECK(printed(m, "S0-D0-C0/tma_retiring").decimals == std::optional<int>(3));
      CHECK(printed(m, "S0-D0-C0/tma_backend_bound").decimals == std::optional<int>(3));
    }
    SUBCASE("-j --metric-only prints the comment's format: wild/047.json") {
      // {"GHz" : "0.990", "insn per cycle" : "2.06", ...}
      auto m = load("wild/047.json");
      CHECK(printed(m, "ghz").decimals == std::optional<int>(3));
      CHECK(printed(m, "ipc").decimals == std::optional<int>(2));
    }
  }

  TEST_CASE("compared with the inputs' rounding: a clock's two decimals widen, -r's gap shows") {
    auto set = shipped_metrics("generic.json");
    auto selection = available_selection(set, import_metric_groups());
    auto derived = [&](const std::string& file) {
      auto m = load(file);
      apply_metric_engine(m, set, selection);
      return m;
    };
    // 031.txt: "0.36 msec task-clock:u", "324,526 cycles:u # 0.911 GHz". 324,526 / 0.36 ms is
    // 0.9015 GHz; the clock, printed to 0.005 msec, moves it by 0.9015 * 0.005 / 0.36 = 0.0125,
    // and perf's 0.911 (from the unrounded clock) is within that and half a unit of 0.001.
    auto amd = derived("031.txt");
    auto rounding = input_rounding(amd, set, set.select(selection), {});
    CHECK(rounding["ghz"] == doctest::Approx(0.9015 * 0.005 / 0.36).epsilon(0.02));
    CHECK(notes_naming(reported_disagreements(amd, &rounding), "ghz").empty());
    // 1 % of 0.911, without the inputs' rounding, is less than the 0.0095 between them.
    CHECK(notes_naming(reported_disagreements(amd), "ghz").size() == 1);
    // 013.txt (-r 3): "246,679,210,776 topdown-be-bound # 84.0% Backend Bound"; ours, the mean
    // counts' 83.81 %, is 0.19 % away, which integer counts of this size cannot move: noted with
    // -r's reason, where 1 % of the value hid it.
    auto icelake = derived("013.txt");
    auto icl_rounding = input_rounding(icelake, set, set.select(selection), {});
    CHECK(icl_rounding["tma_backend_bound"] < 1e-6);
    auto notes = notes_naming(reported_disagreements(icelake, &icl_rounding), "tma_backend_bound");
    REQUIRE(notes.size() == 1);
    CHECK(contains(notes[0], "-r 3"));
    CHECK(notes_naming(reported_disagreements(icelake), "tma_backend_bound").empty());
  }

  TEST_CASE("note_disagreements appends the disagreements to the document's notes") {
    // 013.txt as above: ghz, ipc, llc_miss_ratio and branch_miss_rate disagree (-r 3).
    auto m = load("013.txt");
    m.metrics = {
        {"ghz", 56513364885.0 / 21945.59e-3 / 1e9, "GHz"},
        {"cpus_utilized", 21945.59e-3 / 7.31681, "CPUs"},
        {"ipc", 2583719806.0 / 56513364885.0, "insn/cycle"},
        {"llc_miss_ratio", 793272.0 / 11475685.0, "ratio"},
        {"branch_miss_rate", 562164.0 / 585212952.0, "ratio"},
    };
    auto before = m.notes;
    auto expected = reported_disagreements(m);
    REQUIRE(expected.size() == 4);
    note_disagreements(m);
    REQUIRE(m.notes.size() == before.size() + 4);
    CHECK(std::vector<std::string>(m.notes.begin(), m.notes.begin() + long(before.size())) ==
          before);
    CHECK(std::vector<std::string>(m.notes.end() - 4, m.notes.end()) == expected);
  }

  TEST_CASE("-I: intervals that disagree with perf's printed metrics get one note per metric") {
    // wild/042.csv (perf 6.10-dev, -x, -I 1000 -M topdownl1), one interval at 1.000103288 s:
    //   1.000103288,,,,,,51.0,%  tma_frontend_bound,bad      ...,31.1,%  tma_backend_bound,bad
    //   ...,7.6,%  tma_bad_speculation,good                  ...,10.2,%  tma_retiring,good
    //   476781750 topdown-retiring, 2389693619 topdown-fe-bound, 1431602465 topdown-be-bound,
    //   378991388 topdown-bad-spec.
    // generic.json's top-down (each topdown-* count over the four's sum) gives backend 30.61 %,
    // bad speculation 8.10 %, frontend 51.09 %, retiring 10.19 %: the first three are beyond half
    // a unit of perf's 0.1 (integer counts of this size move them by far less), retiring is not.
    const double retiring = 476781750, frontend = 2389693619, backend = 1431602465,
                 bad_spec = 378991388, slots = retiring + frontend + backend + bad_spec;
    struct Expected {
      const char* name;
      double perf;     // percent, as printed
      double derived;  // fraction, from the counts
    };
    const std::vector<Expected> expected = {{"tma_frontend_bound", 51.0, frontend / slots},
                                            {"tma_backend_bound", 31.1, backend / slots},
                                            {"tma_bad_speculation", 7.6, bad_spec / slots},
                                            {"tma_retiring", 10.2, retiring / slots}};
    auto set = shipped_metrics("generic.json");
    auto selection = available_selection(set, import_metric_groups());
    auto m = load("wild/042.csv");
    REQUIRE(m.intervals.size() == 1);
    apply_metric_engine(m, set, selection);
    const auto& iv = m.intervals[0];
    for (const auto& e : expected) {
      CAPTURE(e.name);
      auto value_of = [&](const std::vector<Metric>& list) {
        for (const auto& x : list)
          if (x.name == e.name) return x.value;
        FAIL("no " << e.name);
        return 0.0;
      };
      REQUIRE(value_of(iv.reported) == doctest::Approx(e.perf / 100));
      REQUIRE(value_of(iv.metrics) == doctest::Approx(e.derived).epsilon(1e-9));
    }
    auto notes = disagreement_notes(m, set, selection);
    CAPTURE(notes);
    for (const auto& e : expected) {
      CAPTURE(e.name);
      auto found = notes_naming(notes, e.name);
      double points = std::abs(e.perf - 100 * e.derived);
      if (points < 0.05) {
        CHECK(found.empty());
        continue;
      }
      REQUIRE(found.size() == 1);
      CHECK(contains(found[0], "in 1 of 1 intervals"));
      CHECK(contains(found[0],
                     fmt::format("largest difference is {:.2f} points at 1.000103288 s", points)));
      CHECK(contains(found[0], fmt::format("perf printed {:.1f}%", e.perf)));
      CHECK(contains(found[0], "intervals[].reported[]"));
    }
    CHECK(notes.size() == 3);  // backend, bad speculation, frontend
  }

  TEST_CASE("-I: many intervals give one note per metric, with the count and the largest gap") {
    // 042.csv's interval three times, at 1, 2 and 3 s, with backend bound derived as 30.61 %
    // (0.49 points from perf's 31.1 %), 29.0 % (2.10 points) and 31.1 % (agrees).
    auto m = load("wild/042.csv");
    REQUIRE(m.intervals.size() == 1);
    const double slots = 476781750.0 + 2389693619.0 + 1431602465.0 + 378991388.0;
    std::vector<double> derived = {1431602465.0 / slots, 0.290, 0.311};
    Interval first = m.intervals[0];
    m.intervals.clear();
    for (size_t i = 0; i < derived.size(); ++i) {
      Interval iv = first;
      iv.time_s = double(i + 1);
      iv.metrics = {{"tma_backend_bound", derived[i], "ratio"}};
      m.intervals.push_back(iv);
    }
    auto whole = m;
    note_disagreements(whole);
    auto notes = notes_naming(whole.notes, "tma_backend_bound");
    REQUIRE(notes.size() == 1);
    CHECK(contains(notes[0], "in 2 of 3 intervals"));
    CHECK(contains(notes[0], "largest difference is 2.10 points at 2 s"));
    CHECK(contains(notes[0], "perf printed 31.1%, pmcmodel derives 29.00%"));
    // Tallied on two threads' worth (the writer's) and merged: the same note.
    IntervalAgreement a, b;
    a.add(m.intervals[0], m.intervals[0].metrics);
    b.add(m.intervals[1], m.intervals[1].metrics);
    b.add(m.intervals[2], m.intervals[2].metrics);
    IntervalAgreement merged;
    merged.merge(b);
    merged.merge(a);
    CHECK(notes_naming(merged.notes(), "tma_backend_bound") == notes);
  }

  TEST_CASE("-I: an interval recording whose metrics agree with perf's gets no interval note") {
    // synthetic/zen4_interval.csv: wild/064.txt's counts and printed PipelineL1 metrics as two
    // intervals; with the shipped zen4.json, each of perf's five values is what its own group's
    // counts give (the run's test above: "import evaluates each metric perf printed with the
    // counts of its own group"), so no interval disagrees.
    auto set = shipped_metrics("zen4.json");
    auto selection = available_selection(set, import_metric_groups());
    auto m = load("synthetic/zen4_interval.csv");
    REQUIRE(m.intervals.size() == 2);
    size_t printed = 0;
    for (const auto& iv : m.intervals) printed += iv.reported.size();
    REQUIRE(printed >= 10);
    apply_metric_engine(m, set, selection);
    auto notes = disagreement_notes(m, set, selection);
    CAPTURE(notes);
    for (const auto& n : notes) CHECK_FALSE(contains(n, "intervals perf printed"));
    // The check does see the intervals: 064's smt_contention (0.0 %) derived as 0.06 % in both
    // is noted as 2 of 2.
    for (auto& iv : m.intervals)
      for (auto& x : iv.metrics)
        if (x.name == "smt_contention") x.value = 0.0006;
    m.notes.clear();
    note_disagreements(m, &set, selection);
    auto smt = notes_naming(m.notes, "smt_contention");
    REQUIRE(smt.size() == 1);
    CHECK(contains(smt[0], "in 2 of 2 intervals"));
  }

  TEST_CASE("-I: the tally is each interval's own verdict, small counts widening the rounding") {
    // wild/042.csv's interval 40 times, every fourth with its four topdown-* counts divided by
    // 10^8 and rounded: topdown-be-bound 14 of the four's 47 (5 + 24 + 14 + 4) is 29.8 %, 1.3
    // points from perf's 31.1 %, but each count's half unit moves the share by about 0.5 * 33 /
    // 47^2 (its own) + 3 * 0.5 * 14 / 47^2 (the others'), 1.7 points in all: within. The full
    // counts' 0.49 points are not. Whatever an earlier interval's rounding gave, the tally must be
    // what each interval alone gives.
    auto set = shipped_metrics("generic.json");
    auto selection = available_selection(set, import_metric_groups());
    auto m = load("wild/042.csv");
    REQUIRE(m.intervals.size() == 1);
    Interval first = m.intervals[0];
    m.intervals.clear();
    for (int i = 0; i < 40; ++i) {
      Interval iv = first;
      iv.time_s = i + 1;
      if (i % 4 == 3)
        for (auto& e : iv.events)
          if (e.name.starts_with("topdown-")) e.value = double(std::llround(e.value / 1e8));
      m.intervals.push_back(iv);
    }
    apply_metric_engine(m, set, selection);
    auto selected = set.select(selection);
    IntervalAgreement all(&set, selected);
    std::map<std::string, size_t> alone;
    for (const auto& iv : m.intervals) {
      all.add(iv, iv.metrics);
      IntervalAgreement one(&set, selected);
      one.add(iv, iv.metrics);
      for (const auto& n : one.notes()) ++alone[n.substr(0, n.find(':'))];
    }
    auto notes = all.notes();
    CAPTURE(notes);
    REQUIRE(alone.count("tma_backend_bound") == 1);
    // The divided intervals agree within their rounding: 30 of the 40 disagree.
    CHECK(alone["tma_backend_bound"] == 30);
    for (const auto& entry : alone) {
      const std::string& name = entry.first;
      size_t count = entry.second;
      CAPTURE(name);
      auto found = notes_naming(notes, name);
      REQUIRE(found.size() == 1);
      CHECK(contains(found[0], fmt::format("in {} of 40 intervals", count)));
    }
    CHECK(notes.size() == alone.size());
  }

  TEST_CASE("-I: an interval's metrics are over perf's -I period, as perf computes them") {
    // perf's process_interval() sets the wall time to the -I period before printing an interval,
    // not to the measured gap. wild/051.json (perf stat -a -j -I 1000): one interval at
    // 1.001089747 s, "counter-value" : "16045.281449" msec cpu-clock, "metric-value" :
    // "16.045281" CPUs utilized: 16045.281449 ms / 1000 ms (over the gap it would be 16.02784).
    auto set = shipped_metrics("generic.json");
    auto selection = available_selection(set, import_metric_groups());
    auto m = load("wild/051.json");
    REQUIRE(m.intervals.size() == 1);
    REQUIRE(m.interval_step_s);
    CHECK(*m.interval_step_s == 1.0);
    const auto& iv = m.intervals[0];
    CHECK(iv.duration_s == 1.001089747);  // the measured gap stays the interval's length
    REQUIRE(iv.period_s);
    CHECK(*iv.period_s == 1.0);
    auto cpus = [](const std::vector<Metric>& list) {
      for (const auto& x : list)
        if (x.name == "cpus_utilized") return x.value;
      FAIL("no cpus_utilized");
      return 0.0;
    };
    // Without metric files (derive_metrics) and with the engine alike; perf's six decimals.
    CHECK(std::abs(cpus(derive_metrics(iv.events, metric_seconds(iv))) - 16.045281) < 5e-7);
    apply_metric_engine(m, set, selection);
    CHECK(std::abs(cpus(m.intervals[0].metrics) - 16.045281) < 5e-7);
    auto notes = disagreement_notes(m, set, selection);
    CAPTURE(notes);
    CHECK(notes_naming(notes, "cpus_utilized").empty());

    // synthetic/interval.csv (-I 100 -x,): timestamps 0.100123456 and 0.200245678, a median gap
    // of 100.12 ms, so a 100 ms period; perf printed 1.002 and 0.999 CPUs utilized beside
    // 100.23 and 99.87 msec task-clock (over the gaps: 1.001 and 0.997).
    auto csv = load("synthetic/interval.csv");
    REQUIRE(csv.intervals.size() == 2);
    REQUIRE(csv.interval_step_s);
    CHECK(*csv.interval_step_s == 0.1);
    CHECK(csv.intervals[1].duration_s == doctest::Approx(0.200245678 - 0.100123456));
    apply_metric_engine(csv, set, selection);
    CHECK(std::abs(cpus(csv.intervals[0].metrics) - 1.002) < 5e-4);
    CHECK(std::abs(cpus(csv.intervals[1].metrics) - 0.999) < 5e-4);
    auto csv_notes = disagreement_notes(csv, set, selection);
    CAPTURE(csv_notes);
    CHECK(notes_naming(csv_notes, "cpus_utilized").empty());
  }

  TEST_CASE("-I: the period is the printed command's -I, else the median gap cut to -I's grid") {
    // wild/069.txt, pasted from the middle of a run: "# perf stat -a -d -d -d -I 1000" and one
    // interval at 123.100852112 s: period and length are both the command's 1 s.
    auto pasted = load("wild/069.txt");
    REQUIRE(pasted.intervals.size() == 1);
    REQUIRE(pasted.interval_step_s);
    CHECK(*pasted.interval_step_s == 1.0);
    CHECK(pasted.intervals[0].duration_s == 1.0);
    CHECK(metric_seconds(pasted.intervals[0]) == 1.0);
    // A -x recording whose timer ran 1.6 ms late each time: gaps of 1.0016 s are a 1000 ms
    // period (perf re-arms the timer after printing, so a gap is never shorter than the period,
    // and the nearest ms, 1002, would be wrong; so would 1001, the ms below), and each interval
    // keeps its measured length.
    std::string text;
    for (int i = 1; i <= 3; ++i)
      text += fmt::format("{:.9f},2000.00,msec,task-clock,2000000000,100.00,2.000,CPUs utilized\n",
                          1.0016 * i);
    auto late = import_perf_stat(text, "late.csv").measurement;
    REQUIRE(late.intervals.size() == 3);
    REQUIRE(late.interval_step_s);
    CHECK(*late.interval_step_s == 1.0);
    CHECK(late.intervals[2].duration_s == doctest::Approx(1.0016));
    CHECK(metric_seconds(late.intervals[2]) == 1.0);
    // wild/053.txt (perf stat -I 1000 -a -e skb:kfree_skb -- sleep 10): perf's delay grows its
    // gaps to 1.0099..1.065 s (1.000520165, 2.010494526, 3.075503743, 4.122814843 …); still
    // -I 1000.
    auto slow = load("wild/053.txt");
    REQUIRE(slow.intervals.size() > 3);
    REQUIRE(slow.interval_step_s);
    CHECK(*slow.interval_step_s == 1.0);
    CHECK(slow.intervals[2].duration_s == doctest::Approx(3.075503743 - 2.010494526));
    // wild/068.txt (-I 1000 -- sleep 5): perf 5.11 printed a short last interval at
    // 5.001590993 s, 0.99 s after 4.008895291; perf's process_interval() printed it over the
    // period too.
    auto last = load("wild/068.txt");
    REQUIRE(last.interval_step_s);
    CHECK(*last.interval_step_s == 1.0);
    CHECK(last.intervals.back().time_s == 5.001590993);
    CHECK(last.intervals.back().duration_s == doctest::Approx(5.001590993 - 4.008895291));
    CHECK(metric_seconds(last.intervals.back()) == 1.0);
    // measure's own intervals carry no period: their metrics use the measured length.
    Interval measured;
    measured.duration_s = 0.25;
    CHECK(metric_seconds(measured) == 0.25);
  }
}
