#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "events/metrics/derived_metrics.h"
#include "events/metrics/metric_set.h"
#include "events/text/text.h"

using namespace pmc;

namespace {

const std::filesystem::path kMetrics =
    std::filesystem::path(PMC_TEST_DATA) / ".." / ".." / "data" / "metrics";

const MetricResult& result_named(const std::vector<MetricResult>& results, const std::string& name,
                                 const std::string& pmu = {}) {
  auto it = std::find_if(results.begin(), results.end(),
                         [&](const MetricResult& r) { return r.name == name && r.pmu == pmu; });
  REQUIRE_MESSAGE(it != results.end(), "no result for " << name);
  return *it;
}

double value_named(const std::vector<MetricResult>& results, const std::string& name,
                   const std::string& pmu = {}) {
  const auto& r = result_named(results, name, pmu);
  INFO(name << ": " << r.reason);
  REQUIRE(r.value.has_value());
  return *r.value;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string load_error(const std::string& json) {
  try {
    MetricSet::parse(json, "test.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("expected " << json << " to be refused");
  return {};
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("metric: Skylake TMA level 1 from perf's skl-metrics.json on hand-computed counts") {
    auto set = MetricSet::load(kMetrics / "skylake.json");
    Literals literals;
    literals.set("#SMT_on", 0);
    literals.set("#core_wide", 1);
    EventValues events;
    // SMT off: core clocks = thread clocks = 1000, slots = 4 × 1000 = 4000.
    events.set("CPU_CLK_UNHALTED.THREAD", 1000);
    events.set("IDQ_UOPS_NOT_DELIVERED.CORE", 1200);  // frontend = 1200 / 4000 = 0.30
    events.set("UOPS_ISSUED.ANY", 2000);
    events.set("UOPS_RETIRED.RETIRE_SLOTS", 1600);  // retiring = 1600 / 4000 = 0.40
    events.set("INT_MISC.RECOVERY_CYCLES", 50);     // recovery slots = 4 × 50 = 200
    // bad speculation = (2000 − 1600 + 200) / 4000 = 0.15
    // backend = 1 − 0.30 − (2000 + 200) / 4000 = 0.15
    auto results = set.evaluate({"TopdownL1"}, events, literals);
    CHECK(value_named(results, "tma_frontend_bound") == doctest::Approx(0.30));
    CHECK(value_named(results, "tma_bad_speculation") == doctest::Approx(0.15));
    CHECK(value_named(results, "tma_backend_bound") == doctest::Approx(0.15));
    CHECK(value_named(results, "tma_retiring") == doctest::Approx(0.40));
    CHECK(result_named(results, "tma_retiring").unit == "ratio");
    // Thresholds: frontend 0.30 > 0.15; bad speculation 0.15 > 0.15 is false.
    CHECK(result_named(results, "tma_frontend_bound").threshold_exceeded == true);
    CHECK(result_named(results, "tma_bad_speculation").threshold_exceeded == false);
    // tma_retiring > 0.7 | tma_heavy_operations > 0.1 cannot be told without MACRO_FUSED.
    CHECK_FALSE(result_named(results, "tma_retiring").threshold_exceeded.has_value());
  }

  TEST_CASE("metric: Skylake core clocks with SMT on, per thread") {
    auto set = MetricSet::load(kMetrics / "skylake.json");
    Literals literals;
    literals.set("#SMT_on", 1);
    literals.set("#core_wide", 0);
    EventValues events;
    // core clocks = 1000 / 2 × (1 + 50 / 100) = 750; slots = 3000; frontend = 1200 / 3000 = 0.4
    events.set("CPU_CLK_UNHALTED.THREAD", 1000);
    events.set("CPU_CLK_UNHALTED.ONE_THREAD_ACTIVE", 50);
    events.set("CPU_CLK_UNHALTED.REF_XCLK", 100);
    events.set("IDQ_UOPS_NOT_DELIVERED.CORE", 1200);
    auto results = set.evaluate({"tma_frontend_bound"}, events, literals);
    CHECK(value_named(results, "tma_frontend_bound") == doctest::Approx(0.4));
  }

  TEST_CASE("metric: required events follow references and the branches #literals select") {
    auto set = MetricSet::load(kMetrics / "skylake.json");
    Literals smt_off;
    smt_off.set("#SMT_on", 0);
    smt_off.set("#core_wide", 1);
    auto events = set.required_events({"tma_frontend_bound"}, smt_off);
    // CPU_CLK_UNHALTED.THREAD is defined in skylake.json as perf's jevents.py encodes it (libpfm4
    // has no such unit mask): given to the resolver as that encoding, named as the metric reads it.
    CHECK(events == std::vector<std::string>{"IDQ_UOPS_NOT_DELIVERED.CORE",
                                             "cpu/event=0x3c,name='CPU_CLK_UNHALTED.THREAD'/"});
    auto bad_spec = set.required_events({"tma_bad_speculation"}, smt_off);
    CHECK(contains(bad_spec, "INT_MISC.RECOVERY_CYCLES"));
    CHECK_FALSE(contains(bad_spec, "INT_MISC.RECOVERY_CYCLES_ANY"));
    // Without literals every branch may be taken, so all of them are asked for.
    auto unknown = set.required_events({"tma_frontend_bound"});
    CHECK(contains(unknown, "cpu/event=0x3c,any=1,name='CPU_CLK_UNHALTED.THREAD_ANY'/"));
    CHECK(contains(unknown, "CPU_CLK_UNHALTED.ONE_THREAD_ACTIVE"));
  }

  TEST_CASE("metric: Zen 4 pipeline utilisation from perf's amdzen4/pipeline.json") {
    auto set = MetricSet::load(kMetrics / "zen4.json");
    EventValues events;
    events.set("ls_not_halted_cyc", 1000);  // 6 dispatch slots per cycle: 6000 slots
    events.set("de_no_dispatch_per_slot.no_ops_from_frontend", 1500);  // 1500 / 6000 = 0.25
    events.set("de_src_op_disp.all", 3000);
    events.set("ex_ret_ops", 2400);  // bad speculation (3000 − 2400) / 6000 = 0.10; retiring 0.40
    events.set("de_no_dispatch_per_slot.backend_stalls", 1800);  // 1800 / 6000 = 0.30
    events.set("ex_no_retire.load_not_complete", 300);
    events.set("ex_no_retire.not_complete", 600);  // memory share 0.5 of backend: 0.15
    auto results = set.evaluate({"topdown", "memory"}, events, {});
    CHECK(value_named(results, "tma_frontend_bound") == doctest::Approx(0.25));
    CHECK(value_named(results, "tma_bad_speculation") == doctest::Approx(0.10));
    CHECK(value_named(results, "tma_backend_bound") == doctest::Approx(0.30));
    CHECK(value_named(results, "tma_retiring") == doctest::Approx(0.40));
    CHECK(value_named(results, "backend_bound_memory") == doctest::Approx(0.15));
    CHECK(value_named(results, "memory_bound_ratio") == doctest::Approx(0.15));
    // d_ratio keeps perf's semantics: no denominator, 0, not absent.
    events.set("ex_no_retire.not_complete", 0);
    results = set.evaluate({"backend_bound_memory"}, events, {});
    CHECK(value_named(results, "backend_bound_memory") == 0);
    // An event that was not counted makes the metric absent with the reason.
    results = set.evaluate({"bad_speculation_mispredicts"}, events, {});
    CHECK(result_named(results, "bad_speculation_mispredicts").reason ==
          "event ex_ret_brn_misp not counted");
  }

  TEST_CASE("metric: Arm top-down L1 uses #slots") {
    auto set = MetricSet::load(kMetrics / "neoverse.json");
    EventValues events;
    events.set("CPU_CYCLES", 1000);
    events.set("STALL_SLOT_FRONTEND", 1600);  // 1600 / (8 × 1000) = 0.2
    events.set("STALL_SLOT_BACKEND", 2400);   // 0.3
    events.set("STALL_SLOT", 4000);           // non-stalled share 1 − 4000/8000 = 0.5
    events.set("OP_SPEC", 1000);
    events.set("OP_RETIRED", 800);  // retiring 0.8 × 0.5 = 0.4; bad spec 0.2 × 0.5 = 0.1
    auto without = set.evaluate({"tma_frontend_bound"}, events, {});
    CHECK(result_named(without, "tma_frontend_bound").reason == "literal #slots not known");
    Literals literals;
    literals.set("#slots", 8);
    auto results = set.evaluate({"topdown"}, events, literals);
    CHECK(value_named(results, "tma_frontend_bound") == doctest::Approx(0.2));
    CHECK(value_named(results, "tma_backend_bound") == doctest::Approx(0.3));
    CHECK(value_named(results, "tma_retiring") == doctest::Approx(0.4));
    CHECK(value_named(results, "tma_bad_speculation") == doctest::Approx(0.1));
  }

  TEST_CASE("metric: hybrid files keep a metric per core type") {
    auto set = MetricSet::load(kMetrics / "alderlake.json");
    EventValues events;
    events.set("cpu_atom/CPU_CLK_UNHALTED.CORE/", 100);  // 5 × 100 = 500 slots
    events.set("cpu_atom/TOPDOWN_RETIRING.ALL/", 200);   // 200 / 500 = 0.4
    events.set("cpu_core/topdown-retiring/", 30);
    events.set("cpu_core/topdown-fe-bound/", 20);
    events.set("cpu_core/topdown-bad-spec/", 10);
    events.set("cpu_core/topdown-be-bound/", 40);  // 30 / 100 = 0.3
    events.set("cpu_core/TOPDOWN.SLOTS/", 1000);
    auto results = set.evaluate({"tma_retiring"}, events, {});
    CHECK(value_named(results, "tma_retiring", "cpu_atom") == doctest::Approx(0.4));
    CHECK(value_named(results, "tma_retiring", "cpu_core") == doctest::Approx(0.3));
  }

  TEST_CASE("metric: generic metrics follow perf stat's definitions") {
    auto set = MetricSet::load(kMetrics / "generic.json");
    EventValues events;
    events.set("cycles", 3e9);
    events.set("instructions", 6e9);
    events.set("task-clock", 1.5e9);   // ns
    events.set("duration_time", 1.0);  // s
    events.set("branches", 1000);
    events.set("branch-misses", 25);
    events.set("stalled-cycles-frontend", 3e8);
    events.set("stalled-cycles-backend", 6e8);
    auto results = set.evaluate({"ipc", "branch", "stalls"}, events, {});
    CHECK(value_named(results, "ipc") == doctest::Approx(2.0));
    CHECK(value_named(results, "cpi") == doctest::Approx(0.5));
    CHECK(value_named(results, "ghz") == doctest::Approx(2.0));            // 3e9 / 1.5e9 ns
    CHECK(value_named(results, "cpus_utilized") == doctest::Approx(1.5));  // 1.5 s / 1 s
    CHECK(value_named(results, "branch_miss_rate") == doctest::Approx(0.025));
    CHECK(value_named(results, "branch_mpki") == doctest::Approx(25.0 / 6e6));
    CHECK(value_named(results, "frontend_stall_ratio") == doctest::Approx(0.1));
    CHECK(value_named(results, "stalled_cycles_per_insn") == doctest::Approx(0.1));  // 6e8 / 6e9
  }

  TEST_CASE("metric: ScaleUnit multiplies the value and keeps the unit") {
    auto [s1, u1] = parse_scale_unit("100%");
    CHECK(s1 == 100);
    CHECK(u1 == "%");
    auto [s2, u2] = parse_scale_unit("1GHz");
    CHECK(s2 == 1);
    CHECK(u2 == "GHz");
    auto [s3, u3] = parse_scale_unit("6.1e-5MiB");
    CHECK(s3 == 6.1e-5);
    CHECK(u3 == "MiB");
    auto [s4, u4] = parse_scale_unit("1cycles / elision");
    CHECK(s4 == 1);
    CHECK(u4 == "cycles / elision");
    CHECK_THROWS_AS(parse_scale_unit("%"), std::runtime_error);

    auto set = MetricSet::parse(
        R"([{"MetricName": "m", "MetricExpr": "a / b", "ScaleUnit": "100%"}])", "t");
    EventValues events;
    events.set("a", 1);
    events.set("b", 4);
    auto results = set.evaluate({"m"}, events, {});
    CHECK(value_named(results, "m") == doctest::Approx(25.0));
    CHECK(result_named(results, "m").unit == "%");
  }

  TEST_CASE("event entries: MSR values become their MSR's term, Unit names the sysfs PMU") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "m", "MetricExpr": "O + F + L + UNC_X + df_x + X/thresh=1/"},
      {"EventName": "O", "EventCode": "0x2A", "UMask": "0x1", "MSRIndex": "0x1a6,0x1a7",
       "MSRValue": "0x10003C0001"},
      {"EventName": "F", "EventCode": "0xc6", "UMask": "0x1", "MSRIndex": "0x3F7",
       "MSRValue": "0x13"},
      {"EventName": "L", "EventCode": "0xcd", "UMask": "0x1", "MSRIndex": "0x3F6",
       "MSRValue": "0x3"},
      {"EventName": "UNC_X", "EventCode": "0x83", "UMask": "0x4", "PortMask": "0x01",
       "FCMask": "0x07", "Unit": "IIO"},
      {"EventName": "df_x", "EventCode": "0x1f", "UMask": "0x7fe", "Unit": "DFPMC"},
      {"EventName": "X", "EventCode": "0x35", "Filter": "config1=0x40433", "Unit": "CHA"}
    ])",
                                "t");
    // perf's jevents.py: lookup_msr (0x1a6/0x1a7 offcore_rsp, 0x3f7 frontend, 0x3f6 ldlat),
    // event_fields (PortMask ch_mask, FCMask fc_mask), Filter appended, unit_to_pmu.
    CHECK(set.resolver_spelling("O") ==
          "cpu/event=0x2A,umask=0x1,offcore_rsp=0x10003C0001,name='O'/");
    CHECK(set.resolver_spelling("F") == "cpu/event=0xc6,umask=0x1,frontend=0x13,name='F'/");
    CHECK(set.resolver_spelling("L") == "cpu/event=0xcd,umask=0x1,ldlat=0x3,name='L'/");
    CHECK(set.resolver_spelling("UNC_X") ==
          "uncore_iio/event=0x83,umask=0x4,ch_mask=0x01,fc_mask=0x07,name='UNC_X'/");
    CHECK(set.resolver_spelling("df_x") == "amd_df/event=0x1f,umask=0x7fe,name='df_x'/");
    CHECK(set.resolver_spelling("cha/X/") == "cha/event=0x35,config1=0x40433,name='cha/X/'/");
    CHECK(set.resolver_spelling("X/thresh=1/") ==
          "uncore_cha/event=0x35,config1=0x40433,thresh=1,name='X/thresh=1/'/");

    // Another MSR, or a value without its MSR, leaves the event out with a note.
    for (const char* entry : {R"([{"EventName": "E", "EventCode": "0x1", "MSRIndex": "0x3f8",
                                   "MSRValue": "0x1"}])",
                              R"([{"EventName": "E", "EventCode": "0x1", "MSRValue": "0x1"}])"}) {
      auto bad = MetricSet::parse(entry, "t");
      CHECK(bad.resolver_spelling("E") == "E");
      REQUIRE(bad.notes().size() == 1);
      CHECK(bad.notes()[0].find("MSR") != std::string::npos);
      CHECK(bad.notes()[0].find("the event is left out") != std::string::npos);
    }
    // A zero MSRValue programs nothing (perfmon writes "0x00" on every event).
    auto zero = MetricSet::parse(
        R"([{"EventName": "Z", "EventCode": "0x1", "MSRIndex": "0x00", "MSRValue": "0x00"}])", "t");
    CHECK(zero.resolver_spelling("Z") == "cpu/event=0x1,name='Z'/");
  }

  TEST_CASE("metric: references use the referenced metric's unscaled value") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "half", "MetricExpr": "a / 2", "ScaleUnit": "100%"},
      {"MetricName": "twice_half", "MetricExpr": "2 * half"}
    ])",
                                "t");
    EventValues events;
    events.set("a", 0.5);
    auto results = set.evaluate({"twice_half"}, events, {});
    CHECK(value_named(results, "twice_half") == doctest::Approx(0.5));
    CHECK(set.required_events({"twice_half"}) == std::vector<std::string>{"a"});
  }

  TEST_CASE("metric: a reference cycle is a reason naming the cycle") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "a", "MetricExpr": "b + 1"},
      {"MetricName": "b", "MetricExpr": "c * 2"},
      {"MetricName": "c", "MetricExpr": "a - 1"},
      {"MetricName": "d", "MetricExpr": "x"}
    ])",
                                "t");
    EventValues events;
    events.set("x", 3);
    auto results = set.evaluate({"a", "d"}, events, {});
    CHECK_FALSE(result_named(results, "a").value.has_value());
    CHECK(result_named(results, "a").reason == "reference cycle: a -> b -> c -> a");
    CHECK(value_named(results, "d") == 3);
    CHECK(set.required_events({"a"}).empty());  // terminates
  }

  TEST_CASE("metric: an absent metric carries the kind of its absence, through references") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "ipc", "MetricExpr": "instructions / cycles"},
      {"MetricName": "ipc_pct", "MetricExpr": "ipc * 100"},
      {"MetricName": "a", "MetricExpr": "b + 1"},
      {"MetricName": "b", "MetricExpr": "a - 1"},
      {"MetricName": "per_zero", "MetricExpr": "cycles / zero"}
    ])",
                                "t");
    EventValues events;
    events.set("cycles", 10);
    events.set("zero", 0);
    events.set_missing("instructions", EventStatus::not_supported, "ENOENT");
    auto results = set.evaluate({"ipc", "ipc_pct", "a", "per_zero"}, events, {});
    CHECK(result_named(results, "ipc").absence == MetricAbsence::event_not_supported);
    // A metric reading another keeps that metric's kind; its reason names the metric.
    CHECK(result_named(results, "ipc_pct").absence == MetricAbsence::event_not_supported);
    CHECK(result_named(results, "ipc_pct").reason.rfind("ipc: event instructions", 0) == 0);
    CHECK(result_named(results, "a").absence == MetricAbsence::reference_cycle);
    // A zero denominator is NaN, as perf gives it, with where it came from.
    const auto& per_zero = result_named(results, "per_zero");
    CHECK(per_zero.absence == MetricAbsence::none);
    REQUIRE(per_zero.value.has_value());
    CHECK(std::isnan(*per_zero.value));
    CHECK(per_zero.reason == "division by zero in zero (in cycles / zero)");
    events.set("instructions", 20);
    CHECK(result_named(set.evaluate({"ipc"}, events, {}), "ipc").absence == MetricAbsence::none);
  }

  TEST_CASE("metric: the per-interval plan leaves out what the run lacks by kind, not by words") {
    // Each metric reads one event with `cycles`; the run's totals give that event's status.
    auto set = MetricSet::parse(R"([
      {"MetricName": "counted", "MetricExpr": "a / cycles", "MetricGroup": "g"},
      {"MetricName": "unsupported", "MetricExpr": "b / cycles", "MetricGroup": "g"},
      {"MetricName": "refused", "MetricExpr": "c / cycles", "MetricGroup": "g"},
      {"MetricName": "never_on_counter", "MetricExpr": "d / cycles", "MetricGroup": "g"},
      {"MetricName": "not_in_run", "MetricExpr": "x / cycles", "MetricGroup": "g"},
      {"MetricName": "zero_denominator", "MetricExpr": "cycles / z", "MetricGroup": "g"},
      {"MetricName": "unknown_literal", "MetricExpr": "cycles * #smt_on", "MetricGroup": "g"}
    ])",
                                "t");
    auto count = [](const char* name, EventStatus status, double value, const char* reason = "") {
      EventCount e;
      e.name = name;
      e.status = status;
      e.value = value;
      e.reason = reason;
      return e;
    };
    Measurement m;
    m.duration_s = 1;
    // d's reason mentions a division by zero, which the words-based rule took for a zero
    // denominator (kept per interval); its status says it was never on a counter all run.
    m.events = {count("cycles", EventStatus::counted, 1000),
                count("a", EventStatus::counted, 10),
                count("b", EventStatus::not_supported, 0, "ENOENT"),
                count("c", EventStatus::permission_denied, 0, "perf_event_paranoid is 3"),
                count("d", EventStatus::not_counted, 0,
                      "time_running is 0, so scaling would be a division by zero"),
                count("z", EventStatus::counted, 0)};
    auto plan = plan_metric_engine(m, set, {"g"});
    std::vector<std::string> kept;
    for (size_t i : plan.per_interval) kept.push_back(set.metrics()[i].name);
    // A zero denominator or an unknown literal may differ per interval: kept.
    CHECK(kept == std::vector<std::string>{"counted", "zero_denominator", "unknown_literal"});
    REQUIRE(plan.run.size() == 2);
    CHECK(plan.run[0].name == "counted");
    CHECK(plan.run[0].value == doctest::Approx(0.01));
    CHECK(plan.run[1].name == "zero_denominator");  // NaN, as perf prints it
    CHECK(std::isnan(plan.run[1].value));
    CHECK(plan.run[1].note->reason == "division by zero in z (in cycles / z)");
  }

  TEST_CASE("metric: unknown names and groups are refused") {
    auto set = MetricSet::load(kMetrics / "generic.json");
    CHECK_THROWS_WITH_AS(set.select({"no_such_metric"}),
                         "unknown metric or metric group: no_such_metric", std::runtime_error);
    CHECK(set.select({"IPC"}).size() == 4);  // group names match without case
  }

  TEST_CASE("metric: a file that is not a JSON array is refused with the file and line") {
    CHECK(load_error("[\n{\n\"MetricName\": \"x\",,\n}]")
              .find("test.json:3: expected a JSON array") == 0);
    CHECK(load_error("{}").find("test.json:1: expected a JSON array") == 0);
    CHECK_THROWS_WITH_AS(MetricSet::load(kMetrics / "no-such.json"),
                         doctest::Contains("cannot open metric file"), std::runtime_error);
  }

  TEST_CASE("metric: a bad entry is left out with a note naming its line, the others stay") {
    auto left_out = [](const std::string& json) {
      auto set = MetricSet::parse(json, "test.json");
      INFO(json);
      REQUIRE(set.notes().size() == 1);
      return set.notes()[0];
    };
    auto set = MetricSet::parse(
        "[\n {\"MetricName\": \"ok\", \"MetricExpr\": \"1\"},\n {\"MetricName\": \"broken\", "
        "\"MetricExpr\": \"a + * b\"},\n {\"MetricName\": \"also_ok\", \"MetricExpr\": \"2\"}\n]",
        "test.json");
    REQUIRE(set.metrics().size() == 2);
    CHECK(set.metrics()[0].name == "ok");
    CHECK(set.metrics()[1].name == "also_ok");
    REQUIRE(set.notes().size() == 1);
    CHECK(set.notes()[0] ==
          "test.json:3: metric broken: MetricExpr \"a + * b\": column 5: expected a number, an "
          "event, a #literal or '(', found '*'; the metric is left out");
    CHECK(left_out(R"([{"MetricName": "m"}])") ==
          "test.json:1: metric m: expected a MetricExpr; the metric is left out");
    CHECK(left_out(R"([{"MetricName": "m", "MetricExpr": 3}])") ==
          "test.json:1: metric m: expected \"MetricExpr\" to be a string; the metric is left out");
    CHECK(left_out(R"([{"MetricName": "m", "MetricExpr": "1", "ScaleUnit": "GHz"}])")
              .find("test.json:1: metric m: ScaleUnit \"GHz\"") == 0);
    CHECK(left_out(R"([{"MetricName": "m", "MetricExpr": "1", "MetricThreshold": "m >"}])")
              .find("test.json:1: metric m: MetricThreshold") == 0);
    auto twice = MetricSet::parse(
        R"([{"MetricName": "m", "MetricExpr": "1"}, {"MetricName": "m", "MetricExpr": "2"}])",
        "test.json");
    REQUIRE(twice.metrics().size() == 1);
    CHECK(twice.metrics()[0].expr.text() == "1");
    REQUIRE(twice.notes().size() == 1);
    CHECK(twice.notes()[0].find("defined twice") != std::string::npos);
    // The notes travel with a merge, as load_metrics gives them to the document.
    MetricSet merged = MetricSet::parse(R"([{"MetricName": "x", "MetricExpr": "1"}])", "a.json");
    merged.merge(set);
    CHECK(merged.notes() == set.notes());
  }

  TEST_CASE("metric: perf's event entries in a metric file are skipped") {
    auto set = MetricSet::parse(R"([
      {"EventName": "all_data_cache_accesses", "EventCode": "0x29"},
      {"MetricName": "m", "MetricExpr": "1"}
    ])",
                                "t");
    CHECK(set.metrics().size() == 1);
  }

  TEST_CASE("metric: a later file replaces metrics of the same name") {
    auto set = MetricSet::load({kMetrics / "generic.json", kMetrics / "skylake.json"});
    auto events = set.required_events({"branch_miss_rate"});
    CHECK(events ==
          std::vector<std::string>{"BR_MISP_RETIRED.ALL_BRANCHES", "BR_INST_RETIRED.ALL_BRANCHES"});
  }

  TEST_CASE("metric: every shipped file loads, and its metric references resolve") {
    for (const auto& entry : std::filesystem::directory_iterator(kMetrics)) {
      if (entry.path().extension() != ".json") continue;
      CAPTURE(entry.path().filename().string());
      MetricSet set;
      REQUIRE_NOTHROW(set = MetricSet::load(entry.path()));
      // A bad entry would only be a note: a shipped file has none.
      CHECK(set.notes().empty());
      CHECK_FALSE(set.metrics().empty());
      for (const auto& metric : set.metrics()) {
        CAPTURE(metric.name);
        CHECK_FALSE(metric.description.empty());
        for (const auto& symbol : metric.expr.symbols()) {
          // Names our files give metrics never reach the event resolver.
          bool metric_like = symbol.spelling.rfind("tma_", 0) == 0 ||
                             symbol.spelling == "total_dispatch_slots" ||
                             symbol.spelling == "backend_bound_memory";
          if (metric_like) CHECK(set.select({symbol.spelling}).size() >= 1);
        }
      }
    }
  }

  TEST_CASE("metric: shipped files carry the headline metrics under pmcmodel's names") {
    auto has = [](const std::string& file, std::vector<std::string> names) {
      auto set = MetricSet::load(kMetrics / file);
      for (const auto& name : names) {
        CAPTURE(file);
        CAPTURE(name);
        CHECK_NOTHROW(set.select({name}));
      }
    };
    std::vector<std::string> tma = {"tma_frontend_bound", "tma_bad_speculation",
                                    "tma_backend_bound", "tma_retiring"};
    has("generic.json", {"ipc", "cpi", "ghz", "cpus_utilized", "branch_miss_rate", "branch_mpki",
                         "cache_miss_rate"});
    for (const char* file :
         {"skylake.json", "icelake.json", "sapphirerapids.json", "alderlake.json"}) {
      has(file, tma);
      has(file, {"l1d_mpki", "l2_mpki", "llc_mpki", "l1d_miss_stall_ratio", "l2_miss_stall_ratio",
                 "l3_miss_stall_ratio", "memory_bound_ratio", "branch_mpki", "tma_memory_bound"});
    }
    has("zen4.json", tma);
    has("zen4.json", {"memory_bound_ratio", "branch_mpki", "l1d_mpki", "l2_mpki"});
    has("zen3.json", {"branch_miss_rate", "branch_mpki", "l1d_mpki", "l2_mpki"});
    has("zen2.json", {"branch_miss_rate", "branch_mpki", "l1d_mpki", "l2_mpki"});
    has("neoverse.json", tma);
    has("neoverse.json", {"l1d_mpki", "l2_mpki", "llc_mpki", "branch_mpki"});
  }

  TEST_CASE("metric: CPU to metric file") {
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x55, {"cpu"}, 4) == "skylakex.json");     // SKX
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x55, {"cpu"}, 7) == "cascadelake.json");  // CLX
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x9e, {"cpu"}) == "skylake.json");   // Coffee Lake
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x6a, {"cpu"}) == "icelakex.json");  // ICX
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x7e, {"cpu"}) == "icelake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x8f, {"cpu"}) == "sapphirerapids.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xcf, {"cpu"}) == "emeraldrapids.json");  // EMR
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x97, {"cpu_core", "cpu_atom"}) ==
          "alderlake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xba, {"cpu_core", "cpu_atom"}) ==
          "alderlake.json");
    // perf's mapfile.csv GenuineIntel-6-AF (sierraforest); perfmon's GenuineIntel-6-C5, -C6 (ARL).
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xaf, {"cpu"}) == "sierraforest.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xc5, {"cpu_core", "cpu_atom"}) ==
          "arrowlake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xc6, {"cpu_core", "cpu_atom"}) ==
          "arrowlake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xc7, {"cpu"}).empty());
    // perf's mapfile.csv GenuineIntel-6-(AA|AC|B5),…,meteorlake: 0xB5 is Arrow Lake U.
    for (int model : {0xaa, 0xac, 0xb5})
      CHECK(metric_file_for_cpu("GenuineIntel", 6, model, {"cpu_core", "cpu_atom"}) ==
            "meteorlake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x3f, {"cpu"}).empty());  // Haswell-X: none
    CHECK(metric_file_for_cpu("GenuineIntel", 15, 0x55, {"cpu"}).empty());
    CHECK(metric_file_for_cpu("AuthenticAMD", 0x17, 0x31, {"cpu"}) == "zen2.json");  // Rome
    CHECK(metric_file_for_cpu("AuthenticAMD", 0x17, 0x01, {"cpu"}).empty());         // Zen 1
    CHECK(metric_file_for_cpu("AuthenticAMD", 0x19, 0x01, {"cpu"}) == "zen3.json");  // Milan
    CHECK(metric_file_for_cpu("AuthenticAMD", 0x19, 0x21, {"cpu"}) == "zen3.json");  // Vermeer
    CHECK(metric_file_for_cpu("AuthenticAMD", 0x19, 0x11, {"cpu"}) == "zen4.json");  // Genoa
    CHECK(metric_file_for_cpu("AuthenticAMD", 0x19, 0x61, {"cpu"}) == "zen4.json");  // Raphael
    CHECK(metric_file_for_cpu("AuthenticAMD", 0x1a, 0x02, {"cpu"}) == "zen5.json");  // Zen 5
    CHECK(metric_file_for_cpu("ARM", 0x41, 0xd0c, {"armv8_pmuv3_0"}) == "neoverse-n1.json");
    CHECK(metric_file_for_cpu("ARM", 0x41, 0xd4f, {"armv8_pmuv3_0"}) == "neoverse-v2.json");
    CHECK(metric_file_for_cpu("ARM", -1, -1, {"armv8_pmuv3_0"}) == "neoverse.json");
    CHECK(metric_file_for_cpu("", -1, -1, {"armv8_pmuv3_0"}) == "neoverse.json");
  }

  TEST_CASE("metric: --cpu names to metric file") {
    CHECK(metric_file_for_name("skylake") == "skylake.json");
    CHECK(metric_file_for_name("SKX") == "skylakex.json");
    CHECK(metric_file_for_name("icx") == "icelakex.json");
    CHECK(metric_file_for_name("spr") == "sapphirerapids.json");
    CHECK(metric_file_for_name("adl") == "alderlake.json");
    CHECK(metric_file_for_name("srf") == "sierraforest.json");
    CHECK(metric_file_for_name("ArrowLake") == "arrowlake.json");
    CHECK(metric_file_for_name("zen3") == "zen3.json");
    CHECK(metric_file_for_name("neoverse-n1") == "neoverse-n1.json");
    CHECK(metric_file_for_name("Neoverse_V2") == "neoverse-v2.json");
    CHECK(metric_file_for_name("sbsa") == "neoverse.json");
    CHECK(metric_file_for_name("pentium4").empty());
  }

  TEST_CASE("metric: fixed-counter and off-core events") {
    CHECK(is_fixed_counter_event("cycles"));
    CHECK(is_fixed_counter_event("cpu-cycles"));
    CHECK(is_fixed_counter_event("INST_RETIRED.ANY"));
    CHECK(is_fixed_counter_event("cpu_core/TOPDOWN.SLOTS/"));
    CHECK(is_fixed_counter_event("topdown-retiring"));
    CHECK(is_fixed_counter_event("CPU_CLK_UNHALTED.THREAD:k"));
    CHECK_FALSE(is_fixed_counter_event("INST_RETIRED.ANY_P"));
    CHECK_FALSE(is_fixed_counter_event("UOPS_ISSUED.ANY"));
    CHECK(is_off_core_event("task-clock"));
    CHECK(is_off_core_event("duration_time"));
    CHECK(is_off_core_event("msr/tsc/"));
    CHECK(is_off_core_event("UNC_M_CAS_COUNT.RD"));
    CHECK_FALSE(is_off_core_event("cpu_atom/TOPDOWN_FE_BOUND.ALL/"));
    CHECK(general_purpose_counters("GenuineIntel", true) == 4);
    CHECK(general_purpose_counters("GenuineIntel", false) == 8);
    CHECK(general_purpose_counters("AuthenticAMD", true) == 6);
  }

  TEST_CASE("metric: group planning respects the counter budget") {
    SUBCASE("a metric that fits stays in one group; fixed events are free") {
      auto groups = plan_event_groups({{"cycles", "instructions", "A", "B", "C", "D"}}, 4);
      REQUIRE(groups.size() == 1);
      CHECK(groups[0].size() == 6);
    }
    SUBCASE("a metric too big is split into groups of at most the budget") {
      auto groups = plan_event_groups({{"cycles", "A", "B", "C", "D", "E", "F"}}, 4);
      REQUIRE(groups.size() == 2);
      for (const auto& group : groups) {
        int general = int(std::count_if(group.begin(), group.end(), [](const std::string& e) {
          return !is_fixed_counter_event(e);
        }));
        CHECK(general <= 4);
      }
      CHECK(groups[0] == std::vector<std::string>{"cycles", "A", "B", "C", "D"});
      CHECK(groups[1] == std::vector<std::string>{"E", "F"});
    }
    SUBCASE("small metrics share a group; shared events are counted once") {
      auto groups =
          plan_event_groups({{"cycles", "A", "B"}, {"cycles", "B", "C"}, {"D", "E", "F"}}, 4);
      REQUIRE(groups.size() == 2);
      CHECK(groups[0] == std::vector<std::string>{"cycles", "A", "B", "C"});
      CHECK(groups[1] == std::vector<std::string>{"D", "E", "F"});
    }
    SUBCASE("a metric whose events another group holds adds nothing") {
      auto groups = plan_event_groups({{"A", "B", "C"}, {"B", "c"}}, 4);
      REQUIRE(groups.size() == 1);
      CHECK(groups[0].size() == 3);
    }
    SUBCASE("slots leads its group; off-core events stand alone") {
      auto groups = plan_event_groups({{"topdown-retiring", "topdown-fe-bound", "TOPDOWN.SLOTS",
                                        "INT_MISC.UOP_DROPPING", "duration_time"}},
                                      4);
      REQUIRE(groups.size() == 2);
      CHECK(groups[0].front() == "TOPDOWN.SLOTS");
      CHECK(groups[1] == std::vector<std::string>{"duration_time"});
    }
    SUBCASE("a budget of zero is treated as one") {
      auto groups = plan_event_groups({{"A", "B"}}, 0);
      CHECK(groups.size() == 2);
    }
  }

  TEST_CASE("metric: a group with a perf-metrics topdown event is led by slots, in perf's order") {
    // The kernel refuses a topdown-* metric event unless slots leads its group
    // (arch/x86/events/intel/core.c intel_pmu_hw_config); perf adds slots
    // (arch_evlist__add_required_events) and orders slots, topdown events, the rest
    // (arch_evlist__cmp).
    SUBCASE("slots is added when missing") {
      auto groups =
          plan_event_groups({{"INT_MISC.UOP_DROPPING", "topdown-fe-bound", "topdown-retiring"}}, 4);
      REQUIRE(groups.size() == 1);
      CHECK(groups[0] == std::vector<std::string>{"slots", "topdown-fe-bound", "topdown-retiring",
                                                  "INT_MISC.UOP_DROPPING"});
    }
    SUBCASE("on a hybrid PMU the slots of that PMU") {
      auto groups =
          plan_event_groups({{"cpu_core/INST_RETIRED.ANY/", "cpu_core/topdown-retiring/"}}, 8);
      REQUIRE(groups.size() == 1);
      CHECK(groups[0] == std::vector<std::string>{"cpu_core/slots/", "cpu_core/topdown-retiring/",
                                                  "cpu_core/INST_RETIRED.ANY/"});
    }
    SUBCASE("a slots event already there moves first, none is added") {
      auto groups = plan_event_groups({{"A", "topdown-be-bound", "TOPDOWN.SLOTS"}}, 4);
      REQUIRE(groups.size() == 1);
      CHECK(groups[0] == std::vector<std::string>{"TOPDOWN.SLOTS", "topdown-be-bound", "A"});
    }
    SUBCASE("Skylake's topdown-* are ordinary events: no slots, order kept") {
      auto groups = plan_event_groups({{"topdown-total-slots", "topdown-fetch-bubbles"}}, 4);
      REQUIRE(groups.size() == 1);
      CHECK(groups[0] == std::vector<std::string>{"topdown-total-slots", "topdown-fetch-bubbles"});
    }
  }

  TEST_CASE(
      "metric: Tiger Lake, Rocket Lake and Granite Rapids get a file, and its TMA groups "
      "a slots leader") {
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x8c, {"cpu"}) == "tigerlake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0x8d, {"cpu"}) == "tigerlake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xa7, {"cpu"}) == "rocketlake.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xad, {"cpu"}) == "graniterapids.json");
    CHECK(metric_file_for_cpu("GenuineIntel", 6, 0xae, {"cpu"}) == "graniterapids.json");
    auto set = MetricSet::load(kMetrics / metric_file_for_cpu("GenuineIntel", 6, 0x8c, {"cpu"}));
    Literals literals;
    literals.set("#SMT_on", 1);
    auto model = counter_model("GenuineIntel", 6, 0x8c, true);
    auto groups = plan_event_groups(set.events_by_metric({"TopdownL1"}, literals), model);
    int with_topdown = 0;
    for (const auto& group : groups) {
      if (std::none_of(group.begin(), group.end(),
                       [](const std::string& e) { return is_topdown_metric_event(e); }))
        continue;
      ++with_topdown;
      CHECK((group.front() == "slots" || group.front() == "TOPDOWN.SLOTS"));
    }
    CHECK(with_topdown > 0);
  }

  TEST_CASE("metric: an event given as its encoding is known by its name term") {
    // perf names an event by its name= term; the resolver names the count so.
    CHECK(canonical_event_name("cpu/event=0xc0,name='ex_ret_instr'/") == "ex_ret_instr");
    CHECK(canonical_event_name("cpu_core/event=0xc0,name='cpu_core/INST_RETIRED.ANY/'/") ==
          "cpu_core/inst_retired.any/");
    CHECK(canonical_event_name("cpu/event=0x3c,name=foo/") == "foo");
    CHECK(canonical_event_name("cpu/event=0x3c/") == "cpu/event=0x3c/");
    CHECK(is_fixed_counter_event("cpu/event=0xc0,name='INST_RETIRED.ANY'/"));
    auto groups = plan_event_groups(
        {{"cpu/event=0xc0,name='INST_RETIRED.ANY'/", "INST_RETIRED.ANY", "A"}}, 4);
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].size() == 2);
  }

  TEST_CASE(
      "metric: every Intel model whose file reads perf metrics has them in its counter model") {
    // A CPU file whose top-down reads topdown-fe-bound (the kernel's perf metrics, Ice Lake
    // and later) is planned with slots leading its group only when the counter model says the
    // core has them; the two tables, file by model and counters by model, must agree.
    for (int model = 0; model <= 0xff; ++model) {
      std::string file = metric_file_for_cpu("GenuineIntel", 6, model, {"cpu"});
      if (file.empty()) continue;
      std::ifstream in(std::string(PMC_SOURCE_DIR) + "/data/metrics/" + file);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      REQUIRE_FALSE(text.empty());
      if (text.find("topdown\\\\-fe\\\\-bound") == std::string::npos) continue;
      CAPTURE(model);
      CAPTURE(file);
      auto counters = counter_model("GenuineIntel", 6, model, true);
      CHECK(counters.perf_metrics);
      CHECK(counters.general == 8);
    }
  }

  TEST_CASE("metric: the counter model per vendor, core and NMI watchdog") {
    // SDM vol. 3B 20.3.10 / PPR 2.1.15 / Neoverse TRMs: see counter_model().
    CHECK(counter_model("GenuineIntel", 6, 0x55, true).general == 4);        // Skylake-SP, SMT on
    CHECK(counter_model("GenuineIntel", 6, 0x55, false).general == 8);       // SMT off
    CHECK(counter_model("GenuineIntel", 6, 0x6a, true).general == 8);        // Ice Lake-SP
    CHECK(counter_model("GenuineIntel", 6, 0x97, true).general == 8);        // Golden Cove P-core
    CHECK(counter_model("GenuineIntel", 6, 0x97, true, true).general == 6);  // Gracemont
    CHECK_FALSE(counter_model("GenuineIntel", 6, 0x55, true).perf_metrics);
    CHECK(counter_model("GenuineIntel", 6, 0x8f, true).perf_metrics);
    CHECK(counter_model("AuthenticAMD", 0x19, 0x11, true).general == 6);
    CHECK(counter_model("AuthenticAMD", 0x19, 0x11, true, false, true).general == 5);

    const std::vector<std::string> seven = {"cycles", "instructions", "A", "B", "C", "D", "E"};
    SUBCASE("AMD has no fixed counters: cycles and instructions take general ones") {
      auto amd = counter_model("AuthenticAMD", 0x19, 0x11, true);
      CHECK_FALSE(is_fixed_counter_event("cycles", amd));
      CHECK(plan_event_groups({seven}, amd).size() == 2);
      auto intel = counter_model("GenuineIntel", 6, 0x6a, true);
      CHECK(plan_event_groups({seven}, intel).size() == 1);
    }
    SUBCASE("Arm has a cycle counter only") {
      auto arm = counter_model("ARM", -1, -1, true);
      CHECK(is_fixed_counter_event("CPU_CYCLES", arm));
      CHECK(is_fixed_counter_event("armv8_pmuv3_0/cpu_cycles/", arm));
      CHECK_FALSE(is_fixed_counter_event("INST_RETIRED", arm));
      auto groups = plan_event_groups({{"CPU_CYCLES", "INST_RETIRED", "A", "B", "C", "D", "E"}},
                                      arm);  // 6 general
      CHECK(groups.size() == 1);
    }
    SUBCASE("the NMI watchdog's pinned cycles event takes Intel's cycle counter") {
      std::vector<std::string> nine = {"cycles", "A", "B", "C", "D", "E", "F", "G", "H"};
      CHECK(plan_event_groups({nine}, counter_model("GenuineIntel", 6, 0x6a, true)).size() == 1);
      auto watched = counter_model("GenuineIntel", 6, 0x6a, true, false, true);
      CHECK_FALSE(is_fixed_counter_event("cycles", watched));
      CHECK(plan_event_groups({nine}, watched).size() == 2);
      CHECK(plan_event_groups({seven}, counter_model("AuthenticAMD", 0x17, 0x31, true, false, true))
                .size() == 2);
    }
  }

  TEST_CASE("metric: a hybrid's cpu_atom events are planned on the E-core's counters, apart") {
    // intel/core.c (Alder Lake): cpu_core has CPUID 0xA's counters + 2 = 8 general per logical
    // CPU whatever SMT says, cpu_atom 6; the kernel keeps a group on one hardware PMU.
    auto model = counter_model("GenuineIntel", 6, 0x97, false);
    model.atom = CounterModel::Atom{6, true};
    auto seven = [](const std::string& pmu) {
      std::vector<std::string> events;
      for (const char* e : {"A", "B", "C", "D", "E", "F", "G"})
        events.push_back(pmu + "/" + e + "/");
      return events;
    };
    SUBCASE("7 general events: split on cpu_atom (6), one group on cpu_core (8)") {
      auto atom = plan_event_groups({seven("cpu_atom")}, model);
      REQUIRE(atom.size() == 2);
      CHECK(atom[0].size() + atom[1].size() == 7);
      CHECK(plan_event_groups({seven("cpu_core")}, model).size() == 1);
      // The SMT-on model of the same CPU is the same 8 per thread.
      auto smt = counter_model("GenuineIntel", 6, 0x97, true);
      smt.atom = CounterModel::Atom{6, true};
      CHECK(plan_event_groups({seven("cpu_core")}, smt).size() == 1);
    }
    SUBCASE("the E-core's fixed counters: cycles and instructions ride free unless watched") {
      auto events = seven("cpu_atom");
      events.resize(6);
      events.push_back("cpu_atom/cycles/");
      events.push_back("cpu_atom/instructions/");
      CHECK(plan_event_groups({events}, model).size() == 1);
      auto watched = model;
      watched.atom->fixed_cycles = false;  // the watchdog's cycles on the E-core's fixed counter
      CHECK(plan_event_groups({events}, watched).size() == 2);
    }
    SUBCASE("metrics of the two PMUs are never packed into one group") {
      auto groups = plan_event_groups({{"cpu_core/A/", "cpu_core/B/"}, {"cpu_atom/C/"}}, model);
      REQUIRE(groups.size() == 2);
      CHECK(groups[0] == std::vector<std::string>{"cpu_core/A/", "cpu_core/B/"});
      CHECK(groups[1] == std::vector<std::string>{"cpu_atom/C/"});
    }
    SUBCASE("cpu_atom's topdown-* are general events: no slots leader is added") {
      CHECK_FALSE(is_topdown_metric_event("cpu_atom/topdown-retiring/"));
      CHECK(is_topdown_metric_event("cpu_core/topdown-retiring/"));
      auto groups = plan_event_groups({{"cpu_atom/topdown-retiring/", "cpu_atom/cycles/"}}, model);
      REQUIRE(groups.size() == 1);
      CHECK(groups[0].size() == 2);  // no cpu_atom/slots/: Gracemont has none
      CHECK(std::find(groups[0].begin(), groups[0].end(), "cpu_atom/topdown-retiring/") !=
            groups[0].end());
    }
    SUBCASE("alderlake.json: every planned group is of one PMU and fits its counters") {
      auto set = MetricSet::load(kMetrics / "alderlake.json");
      Literals literals;
      literals.set("#SMT_on", 1);
      auto groups = plan_event_groups(set.events_by_metric({"TopdownL1"}, literals), model);
      int atom_groups = 0;
      for (const auto& group : groups) {
        CAPTURE(join(group, " "));
        size_t atom = size_t(std::count_if(group.begin(), group.end(), [](const std::string& e) {
          return e.find("cpu_atom") != std::string::npos;
        }));
        CHECK((atom == 0 || atom == group.size()));
        if (atom == 0) continue;
        ++atom_groups;
        CounterModel gracemont = counter_model("GenuineIntel", 6, 0x97, true, true);
        int general = int(std::count_if(group.begin(), group.end(), [&](const std::string& e) {
          return !is_fixed_counter_event(e, gracemont);
        }));
        CHECK(general <= 6);
      }
      CHECK(atom_groups > 0);
    }
  }

  TEST_CASE("metric: events by metric feed the planner for a real file") {
    auto set = MetricSet::load(kMetrics / "skylake.json");
    Literals literals;
    literals.set("#SMT_on", 1);
    literals.set("#core_wide", 0);
    auto per_metric = set.events_by_metric({"topdown"}, literals);
    auto groups = plan_event_groups(per_metric, 4);
    CHECK_FALSE(groups.empty());
    for (const auto& group : groups) {
      int general = int(std::count_if(group.begin(), group.end(), [](const std::string& e) {
        return !is_fixed_counter_event(e);
      }));
      CHECK(general <= 4);
    }
    // Every needed event is in some group.
    for (const auto& event : set.required_events({"topdown"}, literals)) {
      bool found = std::any_of(groups.begin(), groups.end(),
                               [&](const auto& g) { return contains(g, event); });
      CHECK_MESSAGE(found, event);
    }
  }
}

TEST_SUITE("pure") {
  TEST_CASE("interval after interval, reused tables give what a fresh evaluation gives") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "g"},
      {"MetricName": "ghz", "MetricExpr": "cycles / task\\-clock", "MetricGroup": "g"},
      {"MetricName": "per_s", "MetricExpr": "instructions / duration_time", "MetricGroup": "g"}])",
                                "t.json");
    auto count = [](const char* name, double v, const char* unit = "", double scale = 1) {
      EventCount e;
      e.name = name;
      e.value = v;
      e.unit = unit;
      e.unit_scale = scale;
      e.status = EventStatus::counted;
      return e;
    };
    auto interval = [&](double cycles, std::optional<double> instructions, double task_ms) {
      std::vector<EventCount> v = {count("cycles", cycles),
                                   count("instructions", instructions.value_or(0)),
                                   count("task-clock", task_ms, "msec", 1e-6)};
      if (!instructions) v[1].status = EventStatus::not_counted;
      return v;
    };
    IntervalMetricEvaluator evaluator(set, set.select({"g"}));
    auto get = [](const ComputedMetrics& c, const std::string& name) -> std::optional<double> {
      for (const auto& m : c.metrics)
        if (m.name == name) return m.value;
      return std::nullopt;
    };
    // Hand-computed: ipc = instructions / cycles; ghz = cycles / (task-clock ms × 1e6 ns);
    // per_s = instructions / the interval's seconds.
    auto a = evaluator.evaluate(interval(100, 250, 0.0001), 0.5);
    CHECK(get(a, "ipc") == 2.5);
    CHECK(get(a, "ghz") == doctest::Approx(1.0));
    CHECK(get(a, "per_s") == 500);
    auto b = evaluator.evaluate(interval(200, 100, 0.0004), 0.25);  // same layout: reused
    CHECK(get(b, "ipc") == 0.5);
    CHECK(get(b, "ghz") == doctest::Approx(0.5));
    CHECK(get(b, "per_s") == 400);
    auto c = evaluator.evaluate(interval(300, std::nullopt, 0.0003), 0.5);  // status changed
    CHECK_FALSE(get(c, "ipc"));
    REQUIRE(c.absent.size() == 2);
    CHECK(c.absent[0].reason.find("instructions") != std::string::npos);
    CHECK(get(c, "ghz") == doctest::Approx(1.0));
    auto d = evaluator.evaluate(interval(400, 1200, 0.0004), 0.5);  // counted again
    CHECK(get(d, "ipc") == 3.0);
    CHECK(get(d, "per_s") == 2400);
    // evaluate_into() gives evaluate()'s metrics, into storage it reuses, as the layout changes.
    IntervalMetricEvaluator into(set, set.select({"g"}));
    std::vector<Metric> out;
    for (const auto& [iv, dur] : std::vector<std::pair<std::vector<EventCount>, double>>{
             {interval(100, 250, 0.0001), 0.5},
             {interval(200, 100, 0.0004), 0.25},
             {interval(300, std::nullopt, 0.0003), 0.5},
             {interval(400, 1200, 0.0004), 0.5}}) {
      into.evaluate_into(iv, dur, out);
      auto expected = evaluator.evaluate(iv, dur).metrics;
      REQUIRE(out.size() == expected.size());
      for (size_t i = 0; i < out.size(); ++i) {
        CHECK(out[i].name == expected[i].name);
        CHECK(out[i].value == expected[i].value);
        CHECK(out[i].unit == expected[i].unit);
      }
    }
    into.evaluate_into(interval(300, std::nullopt, 0.0003), 0.5, out);
    // Without instructions only ghz remains: 300 cycles in 0.0003 ms = 300 ns is 1 GHz.
    REQUIRE(out.size() == 1);
    CHECK(out[0].name == "ghz");
    CHECK(out[0].value == doctest::Approx(1.0));
    // The same intervals evaluated one by one from scratch.
    auto fresh = compute_selected_metrics(set, set.select({"g"}), interval(200, 100, 0.0004), 0.25);
    CHECK(get(fresh, "ipc") == get(b, "ipc"));
    CHECK(get(fresh, "ghz") == get(b, "ghz"));
  }
  TEST_CASE("metric: a CPU file's formula that lacks its events falls back to the one replaced") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "branch_miss_rate", "MetricExpr": "branch\\-misses / branches", "MetricGroup": "branch", "ScaleUnit": "1ratio"},
      {"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "ipc"}
    ])",
                                "generic.json");
    set.merge(MetricSet::parse(R"([
      {"MetricName": "branch_miss_rate", "MetricExpr": "BR_MISP_RETIRED.ALL_BRANCHES / BR_INST_RETIRED.ALL_BRANCHES", "MetricGroup": "branch", "ScaleUnit": "1ratio"},
      {"MetricName": "ipc", "MetricExpr": "INST_RETIRED.ANY / CPU_CLK_UNHALTED.THREAD", "MetricGroup": "ipc"}
    ])",
                               "/data/metrics/skylake.json"));
    REQUIRE(set.metrics().size() == 2);
    REQUIRE(set.metrics()[0].replaced.size() == 1);
    CHECK(set.metrics()[0].replaced[0].origin == "generic.json:2");
    EventValues events;
    events.set("branches", 1000);
    events.set("branch-misses", 25);
    events.set_missing("BR_MISP_RETIRED.ALL_BRANCHES", EventStatus::not_supported, "ENOENT");
    events.set("INST_RETIRED.ANY", 300);
    events.set("CPU_CLK_UNHALTED.THREAD", 100);
    events.set("instructions", 290);
    events.set("cycles", 110);
    auto results = set.evaluate({"branch", "ipc"}, events, {});
    // The CPU's branch events were not counted: generic's formula gives the value, and says so.
    CHECK(value_named(results, "branch_miss_rate") == doctest::Approx(25.0 / 1000));
    CHECK(result_named(results, "branch_miss_rate").origin == "generic.json:2");
    // The CPU's own formula where it can be computed.
    CHECK(value_named(results, "ipc") == doctest::Approx(3.0));
    CHECK(result_named(results, "ipc").origin == "/data/metrics/skylake.json:3");
    // In the document, the file's name and line.
    std::vector<EventCount> counts;
    for (auto [name, value] : {std::pair{"branches", 1000.0},
                               {"branch-misses", 25.0},
                               {"INST_RETIRED.ANY", 300.0},
                               {"CPU_CLK_UNHALTED.THREAD", 100.0}}) {
      EventCount e;
      e.name = name;
      e.value = value;
      e.status = EventStatus::counted;
      counts.push_back(e);
    }
    auto computed = compute_metrics(set, {"branch", "ipc"}, counts, 1.0);
    REQUIRE(computed.metrics.size() == 2);
    CHECK(computed.metrics[0].name == "branch_miss_rate");
    CHECK(computed.metrics[0].note->origin == std::optional<std::string>("generic.json:2"));
    CHECK(computed.metrics[1].note->origin == std::optional<std::string>("skylake.json:3"));
    // Neither formula computable: the CPU's absence, with its reason and origin.
    EventValues none;
    auto absent_results = set.evaluate({"branch"}, none, {});
    const auto& absent = result_named(absent_results, "branch_miss_rate");
    CHECK_FALSE(absent.value.has_value());
    CHECK(absent.reason.find("BR_MISP_RETIRED.ALL_BRANCHES") != std::string::npos);
    CHECK(absent.origin == "/data/metrics/skylake.json:2");
  }

  TEST_CASE("metric: a formula that needs the CPUID falls back to an earlier one without it") {
    // Linux v6.4's and the current arm64 neoverse-n2-v2 FRONTEND_BOUND (data/metrics/earlier/).
    auto set = MetricSet::parse(R"J([
      {"MetricName": "frontend_bound", "MetricExpr": "((stall_slot_frontend) if (#slots - 5) else (stall_slot_frontend - cpu_cycles)) / (#slots * cpu_cycles)", "MetricGroup": "TopdownL1"}
    ])J",
                                "/data/metrics/earlier/neoverse-n2.json");
    set.merge(MetricSet::parse(R"J([
      {"MetricName": "frontend_bound", "MetricExpr": "((stall_slot_frontend) if (strcmp_cpuid_str(0x410fd493) | strcmp_cpuid_str(0x410fd490) ^ 1) else (stall_slot_frontend - cpu_cycles)) / (#slots * cpu_cycles)", "MetricGroup": "TopdownL1"
}
    ])J",
                               "/data/metrics/neoverse-n2.json"));
    EventValues events;
    events.set("stall_slot_frontend", 800);
    events.set("cpu_cycles", 100);
    Literals literals;
    literals.set("slots", 5);
    // No CPUID (an imported recording): the earlier formula, N2 before r0p3 at 5 slots.
    auto results = set.evaluate({"TopdownL1"}, events, literals);
    CHECK(value_named(results, "frontend_bound") == doctest::Approx(700.0 / 500));
    CHECK(result_named(results, "frontend_bound").origin ==
          "/data/metrics/earlier/neoverse-n2.json:2");
    // With the CPUID (an N2 r0p3), the current formula.
    literals.set_cpuid("0x00000000410fd493");
    results = set.evaluate({"TopdownL1"}, events, literals);
    CHECK(value_named(results, "frontend_bound") == doctest::Approx(800.0 / 500));
    CHECK(result_named(results, "frontend_bound").origin == "/data/metrics/neoverse-n2.json:2");
    // The document keeps the earlier/ directory in the origin.
    std::vector<EventCount> counts;
    for (auto [name, value] : {std::pair{"stall_slot_frontend", 800.0}, {"cpu_cycles", 100.0}}) {
      EventCount e;
      e.name = name;
      e.value = value;
      e.status = EventStatus::counted;
      counts.push_back(e);
    }
    literals.set_cpuid("");
    auto computed = compute_metrics(set, {"TopdownL1"}, counts, 1.0, literals);
    REQUIRE(computed.metrics.size() == 1);
    CHECK(computed.metrics[0].note->origin ==
          std::optional<std::string>("earlier/neoverse-n2.json:2"));
  }

  TEST_CASE("metric: arm64 ArchStdEvent entries override the standard metric of that name") {
    // perf's arm64/sbsa.json frontend_bound and backend_bound, and
    // arm64/arm/neoverse-n2-v2/metrics.json's entries for them (Linux 6.6): N2 r0p0-r0p2
    // count a cycle's worth of frontend stall slots too many, which its formula takes off.
    auto set = MetricSet::parse(R"json([
    {
        "MetricExpr": "stall_slot_frontend / (#slots * cpu_cycles)",
        "BriefDescription": "Frontend bound L1 topdown metric",
        "MetricGroup": "Default;TopdownL1",
        "MetricName": "frontend_bound",
        "ScaleUnit": "100%"
    },
    {
        "MetricExpr": "stall_slot_backend / (#slots * cpu_cycles)",
        "BriefDescription": "Backend Bound L1 topdown metric",
        "MetricGroup": "Default;TopdownL1",
        "MetricName": "backend_bound",
        "ScaleUnit": "100%"
    }
])json",
                                "sbsa.json");
    set.merge(MetricSet::parse(R"json([
    {
        "ArchStdEvent": "FRONTEND_BOUND",
        "MetricExpr": "((stall_slot_frontend) if (#slots - 5) else (stall_slot_frontend - cpu_cycles)) / (#slots * cpu_cycles)"
},
    {
        "ArchStdEvent": "BACKEND_BOUND"
    },
    {
        "ArchStdEvent": "L1D_CACHE_REFILL"
    },
    {
        "ArchStdEvent": "NO_SUCH_METRIC",
        "MetricExpr": "cpu_cycles"
    }
])json",
                               "neoverse-n2-v2/metrics.json"));
    EventValues events;
    events.set("cpu_cycles", 1000000);
    events.set("stall_slot_frontend", 700000);
    events.set("stall_slot_backend", 2000000);
    Literals literals;
    literals.set("#slots", 5);
    auto results = set.evaluate({"TopdownL1"}, events, literals);
    // N2's formula with 5 slots: (700000 - 1000000) / (5 * 1000000) = -0.06, shown as -6 %;
    // SBSA's would give 700000 / 5000000 = 14 %.
    CHECK(value_named(results, "frontend_bound") == doctest::Approx(-6.0));
    CHECK(result_named(results, "frontend_bound").unit == "%");
    CHECK(result_named(results, "frontend_bound").origin == "neoverse-n2-v2/metrics.json:3");
    // Named only: SBSA's formula, 2000000 / 5000000 = 40 %.
    CHECK(value_named(results, "backend_bound") == doctest::Approx(40.0));
    const auto& frontend = set.metrics()[set.select({"frontend_bound"}).front()];
    CHECK(frontend.groups == std::vector<std::string>{"Default", "TopdownL1"});
    CHECK(frontend.description == "Frontend bound L1 topdown metric");
    // An event's entry (no formula) is skipped quietly; a formula for no standard metric is
    // noted.
    REQUIRE(set.notes().size() == 1);
    CHECK(set.notes()[0] ==
          "neoverse-n2-v2/metrics.json:13: ArchStdEvent NO_SUCH_METRIC: expected a standard "
          "metric of that name in the metric files loaded before; the entry is left out");
  }

  TEST_CASE("metric: a NaN threshold cannot be told") {
    auto set = MetricSet::parse(R"([
      {"MetricName": "r", "MetricExpr": "a / b", "MetricThreshold": "r > 0.5", "MetricGroup": "g"}
    ])",
                                "t");
    EventValues events;
    events.set("a", 1);
    events.set("b", 0);
    auto results = set.evaluate({"g"}, events, {});
    const auto& r = result_named(results, "r");
    CHECK(std::isnan(r.value.value_or(0)));
    CHECK_FALSE(r.threshold_exceeded.has_value());
  }
}
