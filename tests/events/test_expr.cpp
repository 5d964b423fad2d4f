#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "events/metrics/expr.h"

using namespace pmc;

namespace {

double value_of(const std::string& text, const EventValues& events = {},
                const Literals& literals = {}) {
  auto result = Expr::parse(text).evaluate(events, literals);
  INFO(text << " → " << result.reason);
  REQUIRE(result.value.has_value());
  return *result.value;
}

std::string reason_of(const std::string& text, const EventValues& events = {},
                      const Literals& literals = {}) {
  auto result = Expr::parse(text).evaluate(events, literals);
  INFO(text);
  REQUIRE_FALSE(result.value.has_value());
  return result.reason;
}

MetricAbsence absence_of_expr(const std::string& text, const EventValues& events = {},
                              const Literals& literals = {}) {
  auto result = Expr::parse(text).evaluate(events, literals);
  INFO(text << " → " << result.reason);
  REQUIRE_FALSE(result.value.has_value());
  return result.absence;
}

// The spellings of the events `text` needs, given `literals` and the CPU's identifier, as
// perf's expr__find_ids gives its ids.
std::vector<std::string> needed_ids(const std::string& text, const Literals& literals = {},
                                    int runtime = 0) {
  Expr e = Expr::parse(text, runtime);
  std::vector<std::string> names;
  for (size_t i : e.needed_symbols(ValuesEnv(EventValues{}, literals)))
    names.push_back(e.symbols()[i].spelling);
  return names;
}

size_t error_column(const std::string& text) {
  try {
    Expr::parse(text);
  } catch (const ExprError& e) {
    return e.column();
  }
  FAIL("expected a syntax error in " << text);
  return 0;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("expr: numbers as perf's lexer reads them") {
    CHECK(value_of("1e9") == 1e9);
    CHECK(value_of("0x10") == 16);
    CHECK(value_of("2.5e-1") == 0.25);
    CHECK(value_of(".5") == 0.5);
    CHECK(value_of("100e3") == 100000);
  }

  TEST_CASE("expr: operators follow expr.y precedence and associativity") {
    CHECK(value_of("1 + 2 * 3") == 7);
    CHECK(value_of("(1 + 2) * 3") == 9);
    CHECK(value_of("10 - 4 - 3") == 3);  // left associative
    CHECK(value_of("8 / 4 / 2") == 1);
    CHECK(value_of("-2 * 3") == -6);
    CHECK(value_of("- -2") == 2);
    CHECK(value_of("7 % 3") == 1);
    CHECK(value_of("1 | 0 & 0") == 1);  // & binds tighter than |
    CHECK(value_of("(1 | 0) & 0") == 0);
    CHECK(value_of("1 + 1 < 3") == 1);  // + binds tighter than <
    CHECK(value_of("2 > 3") == 0);
    CHECK(value_of("2 >= 2") == 1);
    CHECK(value_of("2 <= 1") == 0);
    CHECK(value_of("2 == 2") == 1);
    CHECK(value_of("2 != 2") == 0);
  }

  TEST_CASE("expr: | & ^ are logical, and | & lazy, as in perf's expr.y since 6.5") {
    // Logical on non-zero-ness, not bitwise: perf 6.5's expr.y gives 1 for 2 & 1.
    CHECK(value_of("2 & 1") == 1);
    CHECK(value_of("6 & 3") == 1);
    CHECK(value_of("2 & 0") == 0);
    CHECK(value_of("5 | 2") == 1);
    CHECK(value_of("0 | 0") == 0);
    CHECK(value_of("0.5 | 0") == 1);  // not truncated to an integer first
    CHECK(value_of("6 ^ 3") == 0);
    CHECK(value_of("6 ^ 0") == 1);
    CHECK(value_of("0 ^ 0") == 0);
    CHECK(value_of("1e30 & 1e30") == 1);  // beyond long long: no range error
    // Lazy: the side that decides gives the answer even when the other was not counted (perf's
    // tests/expr.c: "0 & EVENT1 > 0" and "1 | EVENT1 > 0" need no event).
    CHECK(value_of("0 & EVENT1 > 0") == 0);
    CHECK(value_of("EVENT1 > 0 & 0") == 0);
    CHECK(value_of("1 | EVENT1 > 0") == 1);
    CHECK(value_of("EVENT1 > 0 | 1") == 1);
    EventValues events;
    events.set("tma_retiring_in", 0.8);
    CHECK(value_of("tma_retiring_in > 0.7 | EVENT2 > 0.1", events) == 1);
    CHECK(absence_of_expr("tma_retiring_in > 0.9 | EVENT2 > 0.1", events) ==
          absence_of_expr("EVENT2 > 0.1", events));
    CHECK(reason_of("1 & EVENT1 > 0").find("EVENT1") != std::string::npos);
    CHECK(reason_of("0 | EVENT1 > 0").find("EVENT1") != std::string::npos);
    CHECK(reason_of("EVENT1 ^ 0").find("EVENT1") != std::string::npos);  // ^ needs both
  }

  TEST_CASE("expr: a side of | or & decided without events leaves the other unread") {
    // perf's tests/expr.c (expr__find_ids): "0 & EVENT1 > 0" and "1 | EVENT1 > 0" need no id,
    // "1 & EVENT1 > 0" and "0 | EVENT1 > 0" need EVENT1.
    auto needed = [](const std::string& text) {
      Expr e = Expr::parse(text);
      std::vector<std::string> names;
      for (size_t i : e.needed_symbols(ValuesEnv(EventValues{}, Literals{})))
        names.push_back(e.symbols()[i].spelling);
      return names;
    };
    using Names = std::vector<std::string>;
    CHECK(needed("0 & EVENT1 > 0").empty());
    CHECK(needed("EVENT1 > 0 & 0").empty());
    CHECK(needed("1 | EVENT1 > 0").empty());
    CHECK(needed("EVENT1 > 0 | 1").empty());
    CHECK(needed("1 & EVENT1 > 0") == Names{"EVENT1"});
    CHECK(needed("EVENT1 > 0 & 1") == Names{"EVENT1"});
    CHECK(needed("0 | EVENT1 > 0") == Names{"EVENT1"});
    CHECK(needed("EVENT1 > 0 | 0") == Names{"EVENT1"});
    CHECK(needed("EVENT1 | EVENT2") == Names{"EVENT1", "EVENT2"});
  }

  TEST_CASE("expr: if/else, min, max, d_ratio") {
    CHECK(value_of("3 if 0 else 4") == 4);
    CHECK(value_of("3 if 2 > 1 else 4") == 3);
    CHECK(value_of("1 + 2 if 0 else 5 * 2") == 10);     // VALUE is the whole left expression
    CHECK(value_of("3 if 0 else 4 if 1 else 5") == 4);  // right associative
    CHECK(value_of("(3 if 1 else 4) + 1") == 4);
    CHECK(value_of("min(3, 2)") == 2);
    CHECK(value_of("max(3, 2 * 2)") == 4);
    CHECK(value_of("d_ratio(3, 4)") == 0.75);
    CHECK(value_of("d_ratio(3, 0)") == 0);  // perf's documented semantics
  }

  TEST_CASE("expr: an untaken branch may read what was not counted") {
    EventValues events;
    events.set("cycles", 10);
    // perf's tsx metrics guard events the CPU may lack with has_event().
    CHECK(value_of("(cycles\\-t / cycles if has_event(cycles\\-t) else 0)", events) == 0);
    events.set("cycles-t", 5);
    CHECK(value_of("(cycles\\-t / cycles if has_event(cycles\\-t) else 0)", events) == 0.5);
  }

  TEST_CASE("expr: event names with dots, PMUs, escapes and modifiers") {
    EventValues events;
    events.set("INST_RETIRED.ANY", 100);
    events.set("cpu_core/INST_RETIRED.ANY/", 70);
    events.set("cpu_atom/INST_RETIRED.ANY/", 30);
    events.set("INST_RETIRED.ANY:u", 60);
    events.set("msr/tsc/", 1000);
    events.set("cycles", 50);
    events.set("topdown-retiring", 8);
    events.set("cpu/INST_DECODED.DECODERS,cmask=1/", 4);

    CHECK(value_of("INST_RETIRED.ANY", events) == 100);
    CHECK(value_of("inst_retired.any", events) == 100);  // perf matches names without case
    CHECK(value_of("cpu_core@INST_RETIRED.ANY@", events) == 70);
    CHECK(value_of("cpu_atom@INST_RETIRED.ANY@", events) == 30);
    CHECK(value_of("INST_RETIRED.ANY:u", events) == 60);
    CHECK(value_of("cpu@INST_RETIRED.ANY@", events) == 100);  // the default core PMU
    CHECK(value_of("msr@tsc@ / TSC", events) == 1);
    CHECK(value_of("cpu\\-cycles + cycles + cpu@cycles@", events) == 150);
    CHECK(value_of("topdown\\-retiring", events) == 8);
    CHECK(value_of("cpu@INST_DECODED.DECODERS\\,cmask\\=1@", events) == 4);
    CHECK(value_of("INST_RETIRED.ANY:u / INST_RETIRED.ANY", events) == 0.6);
  }

  TEST_CASE("expr: symbols list what is read, once, in perf's spelling") {
    auto expr = Expr::parse(
        "cpu_core@TOPDOWN.SLOTS@ + topdown\\-retiring * cpu_core@TOPDOWN.SLOTS@ + (x if "
        "has_event(y) else 0)");
    REQUIRE(expr.symbols().size() == 3);
    CHECK(expr.symbols()[0].spelling == "cpu_core/TOPDOWN.SLOTS/");
    CHECK(expr.symbols()[1].spelling == "topdown-retiring");
    CHECK(expr.symbols()[2].spelling == "x");  // y is only tested
  }

  TEST_CASE("expr: literals are looked up without regard to case") {
    Literals literals;
    literals.set("#smt_on", 1);
    literals.set("num_cpus", 8);
    literals.set("#SYSTEM_TSC_FREQ", 2e9);
    CHECK(value_of("#SMT_on", {}, literals) == 1);
    CHECK(value_of("#num_cpus * 2", {}, literals) == 16);
    CHECK(value_of("#system_tsc_freq / 1e9", {}, literals) == 2);
    CHECK(value_of("2 if #smt_on else 1", {}, literals) == 2);
    CHECK(reason_of("#num_packages", {}, literals) == "literal #num_packages not known");
  }

  TEST_CASE("expr: source_count and strcmp_cpuid_str") {
    EventValues events;
    events.set("cycles", 7);
    CHECK(value_of("source_count(cycles)", events) == 1);
    CHECK(reason_of("source_count(instructions)", events) == "event instructions not counted");
    Literals none;
    auto expr = Expr::parse("strcmp_cpuid_str(0x410fd490)");
    CHECK(*expr.evaluate(ValuesEnv(events, none, "0x410FD490")).value == 1);
    CHECK(*expr.evaluate(ValuesEnv(events, none, "0x410fd0c0")).value == 0);
    CHECK(expr.evaluate(ValuesEnv(events, none)).reason.find("cpuid not known") == 0);
  }

  TEST_CASE("expr: division by zero is NaN, as perf's expr.y gives it, naming the divisor") {
    EventValues events;
    events.set("a", 3);
    events.set("b", 3);
    std::string reason = reason_of("x / (a - b)", events);
    // x is not counted either, but the divisor is evaluated first only after x: x's absence wins.
    CHECK(reason == "event x not counted");
    events.set("x", 1);
    auto nan = Expr::parse("x / (a - b)").evaluate(events, {});
    REQUIRE(nan.value.has_value());
    CHECK(std::isnan(*nan.value));
    CHECK(nan.absence == MetricAbsence::none);
    CHECK(nan.reason == "division by zero in a - b (in x / (a - b))");
    // NaN goes through arithmetic and comparisons, and keeps the first division's reason.
    auto through = Expr::parse("2 * (x / (a - b)) + 1 > 0").evaluate(events, {});
    REQUIRE(through.value.has_value());
    CHECK(std::isnan(*through.value));
    CHECK(through.reason == "division by zero in a - b (in x / (a - b))");
    // A NaN condition is not zero: the if branch, as in perf.
    CHECK(value_of("5 if x / (a - b) else 6", events) == 5);
    // A NaN that no result depends on leaves no trace.
    CHECK(Expr::parse("0 * 2 if 1 / 0 > 1 else 4").evaluate(events, {}).reason.empty());
    // % by zero stays no value: perf's expr.y gives up on it.
    CHECK(reason_of("1 + 7 % (a - b)", events).find("division by zero in a - b") == 0);
  }

  TEST_CASE("expr: missing and uncounted events are reasons, never zero") {
    EventValues events;
    events.set("cycles", 10);
    events.set_missing("instructions", EventStatus::permission_denied, "perf_event_paranoid is 3");
    CHECK(reason_of("FOO.BAR / cycles", events) == "event FOO.BAR not counted");
    CHECK(reason_of("instructions / cycles", events) ==
          "event instructions not counted (permission_denied: perf_event_paranoid is 3)");
    CHECK(reason_of("min(cycles, FOO)", events) == "event FOO not counted");
  }

  TEST_CASE("expr: an absence carries its kind, from the status of the event read") {
    // The kernel's three ways of not counting (docs/formats.md, events[].status), one per event.
    auto count = [](const char* name, EventStatus status, const char* reason) {
      EventCount e;
      e.name = name;
      e.status = status;
      e.reason = reason;
      e.value = 7;  // meaningless unless counted: never read
      return e;
    };
    auto events = EventValues::from_counts(
        {count("cycles", EventStatus::counted, ""),
         count("instructions", EventStatus::not_supported, "ENOENT"),
         count("branches", EventStatus::permission_denied, "perf_event_paranoid is 3"),
         count("branch-misses", EventStatus::not_counted, "never scheduled on a counter")},
        0);
    CHECK(Expr::parse("cycles").evaluate(events, {}).absence == MetricAbsence::none);
    CHECK(absence_of_expr("instructions / cycles", events) == MetricAbsence::event_not_supported);
    CHECK(absence_of_expr("branches", events) == MetricAbsence::event_permission_denied);
    CHECK(absence_of_expr("branch\\-misses / branches", events) ==
          MetricAbsence::event_not_counted);
    CHECK(absence_of_expr("FOO.BAR + cycles", events) == MetricAbsence::event_not_measured);
    // The first absent operand decides, as it does the reason.
    CHECK(absence_of_expr("branches / instructions", events) ==
          MetricAbsence::event_permission_denied);
    CHECK(Expr::parse("cycles / (cycles - cycles)").evaluate(events, {}).absence ==
          MetricAbsence::none);  // NaN
    CHECK(absence_of_expr("cycles % 0", events) == MetricAbsence::division_by_zero);
    CHECK(absence_of_expr("cycles * #smt_on", events) == MetricAbsence::literal_unknown);
    CHECK(absence_of_expr("1e300 % 2") == MetricAbsence::not_an_integer);
    CHECK(absence_of_expr("NaN") == MetricAbsence::not_a_number);
    CHECK(absence_of_expr("strcmp_cpuid_str(0x410fd490)") == MetricAbsence::cpuid_unknown);
    // d_ratio's zero denominator is perf's 0, not an absence.
    CHECK(Expr::parse("d_ratio(cycles, 0)").evaluate(events, {}).absence == MetricAbsence::none);
  }

  TEST_CASE("expr: the kind is there when reasons are not built") {
    EventValues events;
    events.set("cycles", 10);
    events.set_missing("instructions", EventStatus::not_counted, "");
    Literals none;
    ValuesEnv quiet(events, none, {}, nullptr, false);
    auto missing = Expr::parse("instructions / cycles").evaluate(quiet);
    CHECK(missing.absence == MetricAbsence::event_not_counted);
    CHECK(missing.reason.empty());
    CHECK(Expr::parse("x / cycles").evaluate(quiet).absence == MetricAbsence::event_not_measured);
    CHECK(Expr::parse("cycles % 0").evaluate(quiet).absence == MetricAbsence::division_by_zero);
    auto nan = Expr::parse("cycles / 0").evaluate(quiet);
    CHECK(std::isnan(nan.value.value_or(0)));
    CHECK(nan.reason.empty());
  }

  TEST_CASE(
      "expr: an event status maps to one absence, and only the event's own lack is for good") {
    CHECK(absence_of(EventStatus::counted) == MetricAbsence::none);
    CHECK(absence_of(EventStatus::not_supported) == MetricAbsence::event_not_supported);
    CHECK(absence_of(EventStatus::permission_denied) == MetricAbsence::event_permission_denied);
    CHECK(absence_of(EventStatus::not_counted) == MetricAbsence::event_not_counted);
    // For good: this machine or run cannot have the event. Not: an interval multiplexed it away,
    // or its inputs made this value impossible once.
    CHECK(lacks_event_for_good(MetricAbsence::event_not_measured));
    CHECK(lacks_event_for_good(MetricAbsence::event_not_supported));
    CHECK(lacks_event_for_good(MetricAbsence::event_permission_denied));
    CHECK_FALSE(lacks_event_for_good(MetricAbsence::event_not_counted));
    CHECK_FALSE(lacks_event_for_good(MetricAbsence::division_by_zero));
    CHECK_FALSE(lacks_event_for_good(MetricAbsence::literal_unknown));
    CHECK_FALSE(lacks_event_for_good(MetricAbsence::not_a_number));
    CHECK_FALSE(lacks_event_for_good(MetricAbsence::none));
  }

  TEST_CASE("expr: the NaN constant and out-of-range integer operations are absent") {
    // A metric file's `else NaN` says it has no formula here: no value, unlike a division by 0.
    CHECK(reason_of("NaN + 1") == "not a number: NaN + 1");
    CHECK(absence_of_expr("1 if 0 else NaN") == MetricAbsence::not_a_number);
    CHECK(value_of("min(NaN, 2)") == 2);  // perf's min: NaN < 2 is false
    CHECK(value_of("d_ratio(NaN, 0)") == 0);
    CHECK(reason_of("1e300 % 2").find("out of integer range") != std::string::npos);
  }

  TEST_CASE("expr: syntax errors give the column") {
    CHECK(error_column("1 + * 2") == 5);
    CHECK(error_column("(1 + 2") == 7);
    CHECK(error_column("1 2") == 3);
    CHECK(error_column("") == 1);
    CHECK(error_column("min(1)") == 6);
    CHECK(error_column("a if b") == 7);
    CHECK(error_column("1 $ 2") == 3);
    CHECK(error_column("#") == 1);
    CHECK(error_column("has_event(1)") == 11);
    CHECK_THROWS_WITH_AS(Expr::parse("foo(1)"), "column 1: unknown function 'foo'", ExprError);
    CHECK_THROWS_WITH_AS(
        Expr::parse("1 +"),
        "column 4: expected a number, an event, a #literal or '(', found the end of the expression",
        ExprError);
  }

  TEST_CASE("expr: nesting is bounded instead of exhausting the stack") {
    CHECK_THROWS_AS(Expr::parse(std::string(5000, '(') + "1" + std::string(5000, ')')), ExprError);
    std::string chain = "1";
    for (int i = 0; i < 5000; ++i) chain += "+1";
    CHECK_THROWS_AS(Expr::parse(chain), ExprError);
    CHECK_THROWS_AS(Expr::parse(std::string(5000, '-') + "1"), ExprError);
  }

  TEST_CASE("expr: parsed once, evaluated per interval") {
    auto ipc = Expr::parse("instructions / cycles");
    for (int interval = 1; interval <= 3; ++interval) {
      EventValues events;
      events.set("instructions", 100.0 * interval);
      events.set("cycles", 50);
      CHECK(*ipc.evaluate(events, {}).value == 2.0 * interval);
    }
  }

  TEST_CASE("expr: event values from a measurement's counts use perf's metric units") {
    std::vector<EventCount> counts(4);
    counts[0].name = "task-clock";
    counts[0].value = 2000;  // msec as the resolver shows it
    counts[0].unit = "msec";
    counts[0].unit_scale = 1e-6;
    counts[0].status = EventStatus::counted;
    counts[1].name = "cycles";
    counts[1].value = 6e9;
    counts[1].status = EventStatus::counted;
    counts[2].name = "INST_RETIRED.ANY";
    counts[2].pmu = "cpu_core";
    counts[2].value = 5;
    counts[2].status = EventStatus::counted;
    counts[3].name = "instructions";
    counts[3].status = EventStatus::not_supported;
    counts[3].reason = "no such event";
    auto events = EventValues::from_counts(counts, 4.0);
    // 2000 msec of task-clock = 2e9 ns; 6e9 cycles / 2e9 ns = 3 GHz; 2 s / 4 s = 0.5 CPUs.
    CHECK(value_of("cycles / task\\-clock", events) == doctest::Approx(3.0));
    CHECK(value_of("task\\-clock / (duration_time * 1e9)", events) == doctest::Approx(0.5));
    CHECK(value_of("cpu_core@INST_RETIRED.ANY@", events) == 5);
    CHECK(reason_of("instructions", events) ==
          "event instructions not counted (not_supported: no such event)");
  }
  TEST_CASE("a recording's duration_time count (ns) is seconds in a metric, as in perf") {
    // wild/014.txt: perf 4.x/5.x printed `67,422,542 ns duration_time:u`; perf's stat-shadow.c
    // scales tool events by 1e-9 before the expression sees them.
    std::vector<EventCount> counts(2);
    counts[0].name = "duration_time";
    counts[0].value = 67422542;
    counts[0].unit = "ns";
    counts[0].status = EventStatus::counted;
    counts[1].name = "cache-misses";
    counts[1].value = 30937;
    counts[1].status = EventStatus::counted;
    // The run's duration given separately is not what the recording's count says.
    auto events = EventValues::from_counts(counts, 1.0);
    CHECK(value_of("duration_time", events) == doctest::Approx(0.067422542));
    CHECK(value_of("cache\\-misses / duration_time", events) ==
          doctest::Approx(30937 / 0.067422542));
  }
  // perf's own tests of its expression parser (tools/perf/tests/expr.c, test__expr), each
  // expression with the value or the events perf expects.
  TEST_CASE("expr: perf's tests/expr.c values") {
    EventValues ids;
    ids.set("FOO", 1);
    ids.set("BAR", 2);
    const std::pair<const char*, double> cases[] = {
        {"1+1", 2},
        {"FOO+BAR", 3},
        {"(BAR/2)%2", 1},
        {"1 - -4", 5},
        {"(FOO-1)*2 + (BAR/2)%2 - -4", 5},
        {"1-1 | 1", 1},
        {"1-1 & 1", 0},
        {"min(1,2) + 1", 2},
        {"max(1,2) + 1", 3},
        {"1+1 if 3*4 else 0", 2},
        {"100 if 1 else 200 if 1 else 300", 100},
        {"100 if 0 else 200 if 1 else 300", 200},
        {"100 if 1 else 200 if 0 else 300", 100},
        {"100 if 0 else 200 if 0 else 300", 300},
        {"1.1 + 2.1", 3.2},
        {".1 + 2.", 2.1},
        {"d_ratio(1, 2)", 0.5},
        {"d_ratio(2.5, 0)", 0},
        {"1.1 < 2.2", 1},
        {"2.2 > 1.1", 1},
        {"1.1 < 1.1", 0},
        {"2.2 > 2.2", 0},
        {"2.2 < 1.1", 0},
        {"1.1 > 2.2", 0},
        {"1.1e10 < 1.1e100", 1},
        {"1.1e2 > 1.1e-2", 1},
    };
    for (auto [text, expected] : cases) {
      CAPTURE(text);
      CHECK(value_of(text, ids) == expected);  // perf compares with ==
    }
    // "FOO/0" parses and gives NaN; "BAR/" lacks an operand.
    auto nan = Expr::parse("FOO/0").evaluate(ids, {});
    REQUIRE(nan.value.has_value());
    CHECK(std::isnan(*nan.value));
    CHECK_THROWS_AS(Expr::parse("BAR/"), ExprError);
    // has_event() is 1 for an event that exists.
    ids.set("cycles", 2);
    CHECK(value_of("has_event(cycles)", ids) == 1);
  }

  TEST_CASE("expr: perf's tests/expr.c event sets") {
    using Names = std::vector<std::string>;
    auto symbols = [](const std::string& text, int runtime = 0) {
      Names names;
      Expr parsed = Expr::parse(text, runtime);
      for (const auto& s : parsed.symbols()) names.push_back(s.spelling);
      return names;
    };
    // perf leaves out the metric's own name (FOO); the others are ids.
    CHECK(symbols("FOO + BAR + BAZ + BOZO") == Names{"FOO", "BAR", "BAZ", "BOZO"});
    // The runtime parameter fills each '?'; escapes are dropped ('@' reads '/' here).
    CHECK(needed_ids("EVENT1\\,param\\=?@ + EVENT2\\,param\\=?@", {}, 3) ==
          Names{"EVENT1,param=3/", "EVENT2,param=3/"});
    CHECK(needed_ids("EVENT1\\,param\\=?@") == Names{"EVENT1,param=0/"});
    CHECK(needed_ids("dash\\-event1 - dash\\-event2") == Names{"dash-event1", "dash-event2"});
    // Only EVENT1 or EVENT2, as #smt_on and #core_wide say.
    for (const char* literal : {"smt_on", "core_wide"}) {
      CAPTURE(literal);
      std::string text = std::string("EVENT1 if #") + literal + " else EVENT2";
      Literals on, off;
      on.set(literal, 1);
      off.set(literal, 0);
      CHECK(needed_ids(text, on) == Names{"EVENT1"});
      CHECK(needed_ids(text, off) == Names{"EVENT2"});
    }
    // A constant either way needs no event, and has its value without it.
    CHECK(needed_ids("1.0 if EVENT1 > 100.0 else 1.0").empty());
    CHECK(value_of("1.0 if EVENT1 > 100.0 else 1.0") == 1.0);
    CHECK(needed_ids("1.0 if EVENT1 > 100.0 else 2.0") == Names{"EVENT1"});
    // & and | decided by a constant side need nothing from the other.
    CHECK(needed_ids("0 & EVENT1 > 0").empty());
    CHECK(needed_ids("EVENT1 > 0 & 0").empty());
    CHECK(needed_ids("1 & EVENT1 > 0") == Names{"EVENT1"});
    CHECK(needed_ids("EVENT1 > 0 & 1") == Names{"EVENT1"});
    CHECK(needed_ids("1 | EVENT1 > 0").empty());
    CHECK(needed_ids("EVENT1 > 0 | 1").empty());
    CHECK(needed_ids("0 | EVENT1 > 0") == Names{"EVENT1"});
    CHECK(needed_ids("EVENT1 > 0 | 0") == Names{"EVENT1"});
    CHECK(needed_ids("source_count(EVENT1)") == Names{"EVENT1"});
  }

  TEST_CASE("expr: strcmp_cpuid_str as perf's arm64 and x86 compare CPU identifiers") {
    auto with_cpuid = [](const std::string& text, const std::string& cpuid) {
      Literals literals;
      literals.set_cpuid(cpuid);
      auto r = Expr::parse(text).evaluate(EventValues{}, literals);
      INFO(text << " on " << cpuid << ": " << r.reason);
      REQUIRE(r.value.has_value());
      return *r.value;
    };
    // perf's tests/expr.c: no match for 0x0, a match for the CPU's own identifier escaped.
    for (const char* cpuid : {"0x00000000410fd493", "GenuineIntel-6-8F-8"}) {
      CAPTURE(cpuid);
      CHECK(with_cpuid("strcmp_cpuid_str(0x0)", cpuid) == 0);
    }
    CHECK(with_cpuid("strcmp_cpuid_str(0x00000000410fd493)", "0x00000000410fd493") == 1);
    CHECK(with_cpuid("strcmp_cpuid_str(GenuineIntel\\-6\\-8F\\-8)", "GenuineIntel-6-8F-8") == 1);
    // arm64: the same part at the wanted r<variant>p<revision> or later. Neoverse N2 is part
    // 0xd49; perf's N2 metrics take "r0p3 or later, or not an N2" as
    // strcmp_cpuid_str(0x410fd493) | strcmp_cpuid_str(0x410fd490) ^ 1.
    const char* n2_fixed = "strcmp_cpuid_str(0x410fd493) | strcmp_cpuid_str(0x410fd490) ^ 1";
    CHECK(with_cpuid(n2_fixed, "0x00000000410fd490") == 0);  // r0p0
    CHECK(with_cpuid(n2_fixed, "0x00000000410fd492") == 0);  // r0p2
    CHECK(with_cpuid(n2_fixed, "0x00000000410fd493") == 1);  // r0p3
    CHECK(with_cpuid(n2_fixed, "0x00000000411fd490") == 1);  // r1p0
    CHECK(with_cpuid(n2_fixed, "0x00000000410fd4f0") == 1);  // Neoverse V2: not an N2
    CHECK(with_cpuid("strcmp_cpuid_str(0x410fd493)", "0x00000000420fd493") == 0);  // implementer
    // x86: a POSIX extended regular expression over the whole identifier.
    CHECK(with_cpuid("strcmp_cpuid_str(GenuineIntel\\-6\\-55\\-\\[01234\\])",
                     "GenuineIntel-6-55-4") == 1);
    // Without the stepping, a pattern matches whatever the stepping; with it, exactly.
    CHECK(with_cpuid("strcmp_cpuid_str(GenuineIntel\\-6\\-55)", "GenuineIntel-6-55-4") == 1);
    CHECK(with_cpuid("strcmp_cpuid_str(GenuineIntel\\-6\\-5)", "GenuineIntel-6-55-4") == 0);
    CHECK(with_cpuid("strcmp_cpuid_str(GenuineIntel\\-6\\-55\\-3)", "GenuineIntel-6-55-4") == 0);
    CHECK(with_cpuid("strcmp_cpuid_str(GenuineIntel\\-6\\-55\\-4)", "GenuineIntel-6-55") == 0);
  }
}
