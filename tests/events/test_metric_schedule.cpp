// The metric engine as measure and import use it (events/metrics/metric_schedule.h): which metric
// files load, how the chosen metrics' events join the groups, the metrics of the counts with a
// note for each one that cannot be computed, and measure's metrics interval after interval (which
// metrics the first interval leaves out of the later ones, decided on the kind of each absence,
// MetricAbsence, never on its reason's words).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/metrics/metric_schedule.h"
#include "events/names/libpfm_encoder.h"
#include "test_support.h"

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

// A resolver's native names without libpfm4: it knows none, as on a CPU libpfm4 does not cover.
class NoNativeNames : public NativeEncoder {
 public:
  PfmResult encode(const std::string&) const override {
    PfmResult result;
    result.not_found = true;
    result.error = "event not found";
    return result;
  }
  bool has_core_pmu() const override { return true; }
};

EventResolver intel_client_resolver() {
  SysRoot root;
  root.sys = std::string(PMC_TEST_DATA) + "/sysfs/intel-client";
  root.proc = std::string(PMC_TEST_DATA) + "/sysfs/no-such-proc";
  return EventResolver(root, std::make_unique<NoNativeNames>());
}

EventGroup group_of(const char* name) {
  EventSpec spec;
  spec.name = name;
  return EventGroup{{spec}, false};
}

// One metric that perf's generic events give, one that reads an event no PMU of the machine has.
const char* kTwoMetrics = R"([
  {"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "ipc"},
  {"MetricName": "per_s", "MetricExpr": "NO_SUCH.EVENT / duration_time", "MetricGroup": "ipc"}
])";

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE(
      "a metric file's event is looked up as perf, libpfm4 and the core PMU's alias spell it") {
    CHECK(
        resolver_spellings("INST_RETIRED.ANY") ==
        std::vector<std::string>{"INST_RETIRED.ANY", "INST_RETIRED:ANY", "cpu/INST_RETIRED.ANY/"});
    CHECK(resolver_spellings("topdown-retiring") ==
          std::vector<std::string>{"topdown-retiring", "cpu/topdown-retiring/"});
    // A name with its PMU is already the sysfs spelling; its dot is an event's, not libpfm4's.
    CHECK(resolver_spellings("cpu_core/INST_RETIRED.ANY/") ==
          std::vector<std::string>{"cpu_core/INST_RETIRED.ANY/"});
  }

  TEST_CASE("duration_time is the only event the metric engine supplies without a counter") {
    CHECK(supplied_without_counter("duration_time"));
    CHECK_FALSE(supplied_without_counter("cycles"));
    CHECK_FALSE(supplied_without_counter("task-clock"));
  }

  TEST_CASE("a bad entry of a metric file reaches the document's notes, the others stay") {
    auto tmp = test::make_temp_dir("metric-schedule-bad");
    {
      std::ofstream generic(tmp / "generic.json");
      generic << "[\n  {\"MetricName\": \"ipc\", \"MetricExpr\": \"instructions / cycles\", "
                 "\"MetricGroup\": \"ipc\"},\n  {\"MetricName\": \"broken\", \"MetricExpr\": "
                 "\"cycles +\", \"MetricGroup\": \"ipc\"}\n]\n";
    }
    auto loaded = load_metrics(tmp, "", MachineInfo{});
    std::string note = (tmp / "generic.json").string() +
                       ":3: metric broken: MetricExpr \"cycles +\": column 9: expected a number, "
                       "an event, a #literal or '(', found the end of the expression; the metric "
                       "is left out";
    CHECK(loaded.notes == std::vector<std::string>{note});
    REQUIRE(loaded.set.metrics().size() == 1);
    // measure: the notes go to the document with the metrics.
    MeasureMetrics metrics(loaded, {"ipc"}, Literals{}, CounterModel{}, true);
    Measurement m;
    m.duration_s = 1;
    m.events = {count("instructions", EventStatus::counted, 300),
                count("cycles", EventStatus::counted, 100)};
    metrics.finish(m);
    CHECK(std::find(m.notes.begin(), m.notes.end(), note) != m.notes.end());
    REQUIRE(names_of(m.metrics) == std::vector<std::string>{"ipc"});
    CHECK(m.metrics[0].value == doctest::Approx(3.0));
    std::filesystem::remove_all(tmp);
  }

  TEST_CASE("load_metrics: generic.json, then the CPU's file asked for or found from the machine") {
    std::filesystem::path dir = std::string(PMC_SOURCE_DIR) + "/data/metrics";
    SUBCASE("--cpu skylake") {
      auto loaded = load_metrics(dir, "skylake", MachineInfo{});
      CHECK(loaded.files == std::vector<std::string>{"generic.json", "skylake.json"});
      CHECK(loaded.notes.empty());
    }
    SUBCASE("a --cpu name no file covers is bad usage, naming the ones that work") {
      CHECK_THROWS_WITH_AS(load_metrics(dir, "pentium4", MachineInfo{}),
                           doctest::Contains("--cpu pentium4: unknown CPU model (expected one of: "
                                             "generic, skylake"),
                           MetricChoiceError);
    }
    SUBCASE("without a data directory: the built-in generic.json, said in a note") {
      auto loaded = load_metrics({}, "", MachineInfo{});
      CHECK(loaded.files == std::vector<std::string>{"generic.json (built in)"});
      REQUIRE(loaded.notes.size() == 1);
      CHECK(loaded.notes[0] ==
            "metric files not found under the data directory: perf stat's generic ratios come "
            "from the built-in generic.json");
      CHECK_FALSE(loaded.set.metrics().empty());
    }
    SUBCASE("the machine's own file missing from the directory is left out with a note") {
      auto tmp = test::make_temp_dir("metric-schedule");
      std::filesystem::copy_file(dir / "generic.json", tmp / "generic.json");
      // An Ice Lake server (family 6, model 106) with the core PMU `cpu`: icelakex.json.
      MachineInfo icx;
      icx.vendor = "GenuineIntel";
      icx.family = 6;
      icx.model = 106;
      icx.pmus = {"cpu"};
      auto loaded = load_metrics(tmp, "", icx);
      CHECK(loaded.files == std::vector<std::string>{"generic.json"});
      REQUIRE(loaded.notes.size() == 1);
      CHECK(loaded.notes[0] == "metric file " + (tmp / "icelakex.json").string() +
                                   " not found: this CPU's own metrics are left out");
      // Asked for with --cpu, the missing file is an error.
      CHECK_THROWS(load_metrics(tmp, "icelake", MachineInfo{}));
      std::filesystem::remove_all(tmp);
    }
  }

  TEST_CASE("-m: the metrics' events join the groups, those that cannot be named become rows") {
    auto set = MetricSet::parse(kTwoMetrics, "t.json");
    MeasureMetrics metrics(LoadedMetrics{set, {"t.json"}, {}}, {"ipc"}, Literals{}, CounterModel{},
                           true);
    auto resolver = intel_client_resolver();
    // cycles is counted already and duration_time needs no counter: only instructions is added,
    // in a group of its own (NO_SUCH.EVENT, planned beside it, cannot be named).
    std::vector<EventGroup> groups = {group_of("cycles")};
    metrics.schedule(groups, resolver);
    REQUIRE(groups.size() == 2);
    REQUIRE(groups[1].events.size() == 1);
    CHECK(groups[1].events[0].name == "instructions");
    CHECK_FALSE(groups[1].explicit_group);

    Measurement m;
    m.duration_s = 2;
    m.events = {count("cycles", EventStatus::counted, 1000),
                count("instructions", EventStatus::counted, 2500)};
    metrics.finish(m);
    REQUIRE(m.events.size() == 3);
    CHECK(m.events[2].name == "NO_SUCH.EVENT");
    CHECK(m.events[2].status == EventStatus::not_supported);
    CHECK(m.events[2].reason.starts_with("cannot be named on this machine: "));
    REQUIRE(m.metrics.size() == 1);
    CHECK(m.metrics[0].name == "ipc");
    CHECK(m.metrics[0].value == doctest::Approx(2.5));  // 2500 / 1000
    REQUIRE(m.notes.size() == 2);
    CHECK(m.notes[0].starts_with("metric per_s: not available: "));
    CHECK(m.notes[1] == "metrics from t.json");
  }

  TEST_CASE("-m: a CPU formula whose events cannot be named also counts the one it replaced") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "branch_miss_rate", "MetricExpr": "branch\\-misses / branches", "MetricGroup": "branch"}
    ])",
                                "generic.json");
    set.merge(MetricSet::parse(R"([
      {"MetricName": "branch_miss_rate", "MetricExpr": "BR_MISP_RETIRED.ALL_BRANCHES / BR_INST_RETIRED.ALL_BRANCHES", "MetricGroup": "branch"}
    ])",
                               "skylake.json"));
    REQUIRE(set.replaced_events(0) ==
            std::vector<std::vector<std::string>>{{"branch-misses", "branches"}});
    MeasureMetrics metrics(LoadedMetrics{set, {"generic.json", "skylake.json"}, {}}, {"branch"},
                           Literals{}, CounterModel{}, true);
    // This resolver knows no native names: the Skylake events cannot be named, perf's generic
    // ones can.
    auto resolver = intel_client_resolver();
    std::vector<EventGroup> groups;
    metrics.schedule(groups, resolver);
    std::vector<std::string> scheduled;
    for (const auto& g : groups)
      for (const auto& e : g.events) scheduled.push_back(e.name);
    std::sort(scheduled.begin(), scheduled.end());
    CHECK(scheduled == std::vector<std::string>{"branch-misses", "branches"});
    Measurement m;
    m.duration_s = 1;
    m.events = {count("branch-misses", EventStatus::counted, 5),
                count("branches", EventStatus::counted, 200)};
    metrics.finish(m);
    REQUIRE(names_of(m.metrics) == std::vector<std::string>{"branch_miss_rate"});
    CHECK(m.metrics[0].value == doctest::Approx(0.025));
    CHECK(m.metrics[0].note->origin == std::optional<std::string>("generic.json:2"));
    // The Skylake events are rows that say why they were not counted.
    CHECK(m.events.size() == 4);
  }

  TEST_CASE("the default metrics without hardware counters: core events skipped, one note") {
    auto set = MetricSet::parse(kTwoMetrics, "t.json");
    MeasureMetrics metrics(LoadedMetrics{set, {"t.json"}, {}}, {}, Literals{}, CounterModel{},
                           false);
    CHECK(metrics.selection() == std::vector<std::string>{"ipc"});
    auto resolver = intel_client_resolver();
    std::vector<EventGroup> groups = {group_of("task-clock")};
    metrics.schedule(groups, resolver);
    CHECK(groups.size() == 1);  // instructions, cycles and NO_SUCH.EVENT all need the core PMU
    Measurement m;
    m.duration_s = 1;
    m.events = {count("task-clock", EventStatus::counted, 1e9)};
    metrics.finish(m);
    CHECK(m.events.size() == 1);  // the default set adds no rows for what it lacks
    CHECK(m.metrics.empty());
    CHECK(m.notes == std::vector<std::string>{"default metrics not available here (no hardware "
                                              "counters) (t.json): ipc, per_s"});
  }

  TEST_CASE("an -m name that is neither a metric nor a group is bad usage") {
    auto set = MetricSet::parse(kTwoMetrics, "t.json");
    CHECK_THROWS_WITH_AS(MeasureMetrics(LoadedMetrics{set, {"t.json"}, {}}, {"ipc", "nope"},
                                        Literals{}, CounterModel{}, true),
                         doctest::Contains("-m nope: "), MetricChoiceError);
  }

  TEST_CASE("an -m name of a metric its file left out says why, with the file and line") {
    // Line 3 holds the metric, whose expression lacks its ')' at column 20 (after 19 characters).
    auto set = MetricSet::parse(R"([
  {"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "ipc"},
  {"MetricName": "Broken", "MetricExpr": "cycles / (1 + cycles"}
])",
                                "t.json");
    std::string error;
    try {
      MeasureMetrics(LoadedMetrics{set, {"t.json"}, {}}, {"ipc", "broken"}, Literals{},
                     CounterModel{}, true);
    } catch (const MetricChoiceError& e) {
      error = e.what();
    }
    CAPTURE(error);
    CHECK(error.rfind("-m broken: t.json:3: metric Broken: MetricExpr", 0) == 0);
    CHECK(error.find("column 21: expected ')'") != std::string::npos);
    CHECK(error.find("no metric or metric group") == std::string::npos);
    CHECK(error.find('\n') == std::string::npos);
  }

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
    MeasureMetrics metrics(LoadedMetrics{set, {"t.json"}, {}}, {"g"}, Literals{}, CounterModel{},
                           true);
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
    // Only zero_first has a value: NaN (cycles / 0), as perf prints it.
    REQUIRE(names_of(first) == std::vector<std::string>{"zero_first"});
    CHECK(std::isnan(first[0].value));
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

TEST_SUITE("pure") {
  TEST_CASE("measure: a metric whose event is counted in several groups takes its own group's") {
    // With one general counter, each metric's general event needs a group of its own: cycles
    // (a fixed counter) is counted in both, as perf stat -M counts it once per metric group.
    auto set = MetricSet::parse(R"([
      {"MetricName": "branches_per_cycle", "MetricExpr": "branches / cycles", "MetricGroup": "g"},
      {"MetricName": "misses_per_cycle", "MetricExpr": "cache\\-misses / cycles", "MetricGroup": "g"}
    ])",
                                "t.json");
    CounterModel one_counter;
    one_counter.general = 1;
    MeasureMetrics metrics(LoadedMetrics{set, {"t.json"}, {}}, {"g"}, Literals{}, one_counter,
                           true);
    std::vector<EventGroup> groups;
    metrics.schedule(groups, intel_client_resolver());
    REQUIRE(groups.size() == 2);
    // The counts as the counters give them: one per scheduled event, each with its group's index
    // (the event names repeat). Under multiplexing each group's cycles differ.
    std::map<std::string, double> counts[2] = {{{"cycles", 1000}, {"branches", 300}},
                                               {{"cycles", 4000}, {"cache-misses", 200}}};
    Measurement m;
    m.duration_s = 1;
    for (int g = 0; g < 2; ++g)
      for (const auto& spec : groups[size_t(g)].events) {
        REQUIRE(counts[g].count(spec.name) == 1);
        m.events.push_back(count(spec.name.c_str(), EventStatus::counted, counts[g][spec.name]));
        m.events.back().group = g;
      }
    REQUIRE(m.events.size() == 4);
    auto check = [](const std::vector<Metric>& got) {
      REQUIRE(names_of(got) == std::vector<std::string>{"branches_per_cycle", "misses_per_cycle"});
      CHECK(got[0].value == doctest::Approx(0.3));   // 300 / group 0's 1000 cycles
      CHECK(got[1].value == doctest::Approx(0.05));  // 200 / group 1's 4000 cycles
      CHECK(got[0].group == std::optional<int>(0));
      CHECK(got[1].group == std::optional<int>(1));
    };
    SUBCASE("the run's metrics") {
      metrics.finish(m);
      check(m.metrics);
    }
    SUBCASE("an interval's, the first and the next (evaluated with the tables kept)") {
      check(metrics.evaluate(m.events, 1));
      check(metrics.evaluate(m.events, 1));
    }
    SUBCASE("later intervals: new counts in the same groups, then groups no more") {
      check(metrics.evaluate(m.events, 1));
      // Group 0's cycles doubled: 300 / 2000; group 1's as before, 200 / 4000.
      auto later = m.events;
      for (auto& e : later)
        if (e.name == "cycles" && e.group == std::optional<int>(0)) e.value = 2000;
      auto got = metrics.evaluate(later, 1);
      REQUIRE(got.size() == 2);
      CHECK(got[0].value == doctest::Approx(0.15));
      CHECK(got[1].value == doctest::Approx(0.05));
      CHECK(got[0].group == std::optional<int>(0));
      // Without groups each metric takes the last count of a name: 4000 cycles for both.
      for (auto& e : later) e.group.reset();
      got = metrics.evaluate(later, 1);
      REQUIRE(got.size() == 2);
      CHECK(got[0].value == doctest::Approx(0.075));
      CHECK_FALSE(got[0].group.has_value());
      check(metrics.evaluate(m.events, 1));
    }
    SUBCASE("without groups, the last count of a name, as before") {
      for (auto& e : m.events) e.group.reset();
      metrics.finish(m);
      REQUIRE(m.metrics.size() == 2);
      CHECK(m.metrics[0].value == doctest::Approx(0.075));  // 300 / 4000
      CHECK_FALSE(m.metrics[0].group.has_value());
    }
  }

  TEST_CASE("derives_topdown: whether a set gives a tma_* metric from the run's counts") {
    auto topdown = MetricSet::parse(R"([
      {"MetricName": "tma_retiring", "MetricExpr": "topdown\\-retiring / slots",
       "MetricGroup": "topdown"},
      {"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "ipc"}
    ])",
                                    "t.json");
    Measurement m;
    m.duration_s = 1;
    m.events = {count("slots", EventStatus::counted, 1000),
                count("topdown-retiring", EventStatus::counted, 400),
                count("cycles", EventStatus::counted, 100),
                count("instructions", EventStatus::counted, 200)};
    CHECK(derives_topdown(m, topdown));
    // Without its inputs, or without a tma_* metric, there is none.
    Measurement no_slots = m;
    no_slots.events.erase(no_slots.events.begin());
    CHECK_FALSE(derives_topdown(no_slots, topdown));
    auto ipc_only = MetricSet::parse(
        R"([{"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "ipc"}])",
        "t.json");
    CHECK_FALSE(derives_topdown(m, ipc_only));
  }
}
