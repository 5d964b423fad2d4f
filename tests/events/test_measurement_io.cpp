#include <doctest/doctest.h>

#include <cmath>

#include "events/document/field_table.h"
#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "test_support.h"

using namespace pmc;

namespace {
Metric noted(std::string name, double value, std::string unit, std::optional<std::string> reason,
             std::optional<std::string> origin) {
  Metric m{std::move(name), value, std::move(unit)};
  m.note.set() = MetricNote{std::move(reason), std::move(origin)};
  return m;
}
}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("every enum name a document holds fits the writer's bound for it") {
    auto fits = [](const char* name) {
      return std::string_view(name).size() <= fields::kEnumNameMax;
    };
    for (auto s : {EventStatus::counted, EventStatus::not_supported, EventStatus::permission_denied,
                   EventStatus::not_counted})
      CHECK(fits(to_string(s)));
    for (auto s : {EnergyScope::machine, EnergyScope::command}) CHECK(fits(to_string(s)));
    for (auto t : {MeasurementTarget::command, MeasurementTarget::pid,
                   MeasurementTarget::system_wide, MeasurementTarget::cgroup})
      CHECK(fits(to_string(t)));
  }

  TEST_CASE("-r spreads, each run's value and absent times round-trip through JSON") {
    Measurement m;
    m.source = "perf-stat";
    m.runs = 4;
    m.has_duration = false;
    m.has_user = false;
    m.sys_s = 0.25;
    EventCount e;
    e.name = "page-faults";
    e.status = EventStatus::counted;
    e.value = 120;
    e.spread.set().run_values = {100, 110, 130, 140};
    e.spread.set().stddev = 18.257418583505537;  // of the four runs (n - 1)
    e.spread.set().sem = 9.128709291752768;      // stddev / sqrt(4)
    m.events = {e};
    auto text = measurement_to_json(m);
    CHECK(text.find("\"duration_s\": null") != std::string::npos);
    CHECK(text.find("\"user_s\": null") != std::string::npos);
    auto back = measurement_from_json(text, "x.json");
    CHECK_FALSE(back.has_duration);
    CHECK_FALSE(back.has_user);
    CHECK(back.has_sys);
    CHECK(back.sys_s == 0.25);
    REQUIRE(back.events.size() == 1);
    CHECK(back.events[0].spread->run_values == e.spread->run_values);
    CHECK(back.events[0].spread->stddev == e.spread->stddev);
    CHECK(back.events[0].spread->sem == e.spread->sem);
    auto csv = measurement_to_csv(m);
    CHECK(csv.starts_with(
        "kind,name,pmu,value,raw,unit,time_enabled_ns,time_running_ns,status,reason,stddev,sem\n"));
  }

  TEST_CASE("a document written around spooled interval elements is the whole document's bytes") {
    // measure -I formats each interval as it comes (append_interval_element) and writes the head
    // and tail around them at the end: the bytes must be those of the document holding them.
    for (const char* file : {"synthetic/interval.csv", "synthetic/interval.txt"}) {
      INFO(file);
      std::string path = std::string(PMC_TEST_DATA) + "/perfstat/" + file;
      Measurement whole = import_perf_stat(test::read_file(path), path).measurement;
      REQUIRE(whole.intervals.size() >= 2);
      std::string elements;
      for (size_t i = 0; i < whole.intervals.size(); ++i)
        append_interval_element(elements, whole.intervals[i], i == 0);
      Measurement head = whole;
      head.intervals.clear();
      std::string out;
      write_measurement_json_with_elements(
          head, whole.intervals.size(),
          [&](const JsonSink& sink) {
            // Handed over in uneven pieces, as the spool reads them back.
            for (size_t at = 0; at < elements.size(); at += 7)
              sink(std::string_view(elements).substr(at, 7));
          },
          [&](std::string_view piece) { out.append(piece); });
      CHECK(out == measurement_to_json(whole));
      // No intervals: the same as a document without any.
      std::string empty;
      write_measurement_json_with_elements(
          head, 0, [](const JsonSink&) {}, [&](std::string_view piece) { empty.append(piece); });
      CHECK(empty == measurement_to_json(head));
      CHECK_THROWS_AS(write_measurement_json_with_elements(
                          whole, 1, [](const JsonSink&) {}, [](std::string_view) {}),
                      std::logic_error);
    }
  }

  TEST_CASE("the measurement document round-trips through JSON") {
    Measurement m;
    m.machine.hostname = "h";
    m.machine.cpu_model = "Intel(R) Xeon(R) Gold 6248";
    m.machine.family = 6;
    m.machine.model = 85;
    m.machine.pmus = {"cpu", "power"};
    m.command = {"./app", "a,b \"q\""};
    m.exit_status = 3;
    m.signal = "SIGTERM";
    m.duration_s = 1.5;
    m.runs = 2;
    EventCount e;
    e.name = "cycles";
    e.pmu = "cpu";
    e.status = EventStatus::counted;
    e.value = 4e9;
    e.raw = 2000000000;
    e.time_enabled_ns = 1000;
    e.time_running_ns = 500;
    e.spread.set().stddev = 12.5;
    EventCount f;
    f.name = "instructions";
    f.status = EventStatus::permission_denied;
    f.reason = "paranoid";
    m.events = {e, f};
    m.metrics = {{"ipc", 1.25, "insn/cycle"}};
    m.energy = {{"package-0", 10.5, 7.0, "measured:powercap", 0.02, EnergyScope::machine}};
    Interval iv;
    iv.time_s = 0.1;
    iv.events = {e};
    m.intervals = {iv};
    m.notes = {"n"};
    auto back = measurement_from_json(measurement_to_json(m), "x.json");
    CHECK(back.machine.cpu_model == m.machine.cpu_model);
    CHECK(back.machine.pmus == m.machine.pmus);
    CHECK(back.command == m.command);
    CHECK(back.exit_status == 3);
    CHECK(back.signal == "SIGTERM");
    REQUIRE(back.events.size() == 2);
    CHECK(back.events[0].value == 4e9);
    CHECK(back.events[0].raw == 2000000000);
    CHECK(back.events[0].time_running_ns == 500);
    CHECK(back.events[0].spread->stddev == 12.5);
    CHECK(back.events[1].status == EventStatus::permission_denied);
    CHECK(back.events[1].reason == "paranoid");
    CHECK(back.metrics[0].value == 1.25);
    REQUIRE(back.energy.size() == 1);
    CHECK(back.energy[0].method == "measured:powercap");
    CHECK(back.energy[0].joules == 10.5);
    REQUIRE(back.intervals.size() == 1);
    CHECK(back.intervals[0].events[0].name == "cycles");
    CHECK(back.notes == m.notes);
  }

  TEST_CASE("every field the writer writes is read back: a second write gives the same bytes") {
    // Every field of the document set away from its default (a field the reader forgot would
    // come back as its default and be written differently).
    Measurement m;
    m.source = "perf-stat";
    m.backend = "papi";
    m.machine = {"h",
                 "cpu",
                 "GenuineIntel",
                 6,
                 143,
                 8,
                 {"cpu", "power"},
                 224,
                 "6.8.0",
                 {},
                 "Intel Xeon Platinum 8480+",
                 3.8,
                 "medium"};
    m.machine.gpus = {{1, "NVIDIA H200", "GPU-1", "580.1", 700.0, 143771.0, "measured:nvml"}};
    m.target = MeasurementTarget::cgroup;
    m.command = {"/sys/fs/cgroup/a"};
    m.while_command = {"sleep", "1"};
    m.stopped_at_duration = true;
    m.exit_status = 1;
    m.signal = "SIGINT";
    m.killed_after_s = 2.5;
    m.start_time = "2026-12-05T16:00:00Z";
    m.duration_s = 3.25;
    m.user_s = 1.5;
    m.sys_s = 0.75;
    m.runs = 3;
    EventCount e;
    e.name = "cycles";
    e.pmu = "cpu";
    e.value = 1e9;
    e.raw = 999;
    e.unit = "msec";
    e.time_enabled_ns = 10;
    e.time_running_ns = 5;
    e.status = EventStatus::counted;
    e.reason = "group split";
    e.unit_scale = 1e-6;
    e.spread.set().stddev = 3;
    e.spread.set().sem = 1.5;
    e.spread.set().run_values = {1, 2, 3};
    m.events = {e};
    m.metrics = {noted("ipc", 1.25, "insn/cycle", std::nullopt, "generic.json:3"),
                 noted("r", std::nan(""), "ratio", "division by zero in b (in a / b)", "x.json:4")};
    m.reported = {{"insn per cycle", 1.2, "insn/cycle"}};
    m.energy = {{"package", 4, 2, "measured:rapl+share:cpu-time", 0.1, EnergyScope::command}};
    Interval iv;
    iv.time_s = 0.5;
    iv.duration_s = 0.25;
    iv.partial = true;
    iv.events = {e};
    iv.metrics = {{"ghz", 2.5, "GHz"}};
    iv.reported = {{"GHz", 2.4, ""}};
    iv.energy = m.energy;
    m.intervals = {iv};
    m.notes = {"a note"};
    auto text = measurement_to_json(m);
    auto back = measurement_from_json(text, "all.json");
    CHECK(measurement_to_json(back) == text);
    CHECK(back.target == MeasurementTarget::cgroup);
    CHECK(back.energy[0].scope == EnergyScope::command);
    CHECK(back.machine.host_cpu == "Intel Xeon Platinum 8480+");
    CHECK(back.machine.host_cpu_ghz == 3.8);
    CHECK(back.machine.host_cpu_confidence == "medium");
    // Without an identified host the keys are left out, not written as null.
    m.machine.host_cpu.reset();
    m.machine.host_cpu_ghz.reset();
    m.machine.host_cpu_confidence.reset();
    CHECK(measurement_to_json(m).find("host_cpu") == std::string::npos);
  }

  TEST_CASE("a malformed document is refused with FILE:LINE and what was expected") {
    // The schema's value stands on line 2.
    CHECK_THROWS_WITH_AS(measurement_from_json("{\n\"schema\": \"other/1\"}", "a.json"),
                         doctest::Contains("a.json:2: expected schema"), FormatError);
    CHECK_THROWS_WITH_AS(
        measurement_from_json("{\n\"schema\": \"pmcmodel.measurement/1\",\n\"duration_s\": 1,\n "
                              "\"events\": [ {\"name\": 1} ]}",
                              "b.json"),
        doctest::Contains("events[0]"), FormatError);
    CHECK_THROWS_WITH_AS(measurement_from_json("{\n\n  \"schema\": ", "c.json"),
                         doctest::Contains("c.json:3:"), FormatError);
    CHECK_THROWS_AS(measurement_from_json("", "d.json"), FormatError);
  }

  TEST_CASE("a refused field is named at the line of its value, not the document's first line") {
    // Line 1 "{", 2 schema, 3 duration_s, 4 runs, 5 "events": [, 6 the first event's name,
    // 7 its status, 8 its value, 9 its group, then "}]}" on line 10.
    auto doc = [](const std::string& duration, const std::string& runs, const std::string& value,
                  const std::string& group) {
      return "{\n"
             "  \"schema\": \"pmcmodel.measurement/1\",\n"
             "  \"duration_s\": " +
             duration +
             ",\n"
             "  \"runs\": " +
             runs +
             ",\n"
             "  \"events\": [{\n"
             "    \"name\": \"cycles\",\n"
             "    \"status\": \"counted\",\n"
             "    \"value\": " +
             value +
             ",\n"
             "    \"group\": " +
             group +
             "\n"
             "  }]\n}\n";
    };
    CHECK_NOTHROW(measurement_from_json(doc("1", "1", "5", "0"), "ok.json"));
    SUBCASE("a negative duration_s") {
      CHECK_THROWS_WITH_AS(measurement_from_json(doc("-2", "1", "5", "0"), "t.json"),
                           doctest::Contains("t.json:3: duration_s -2 is negative"), FormatError);
    }
    SUBCASE("runs of the wrong type, 0 or negative") {
      CHECK_THROWS_WITH_AS(measurement_from_json(doc("1", "\"x\"", "5", "0"), "t.json"),
                           doctest::Contains("t.json:4: field 'runs'"), FormatError);
      CHECK_THROWS_WITH_AS(measurement_from_json(doc("1", "0", "5", "0"), "t.json"),
                           doctest::Contains("t.json:4: runs 0 is not a number of runs"),
                           FormatError);
      CHECK_THROWS_WITH_AS(measurement_from_json(doc("1", "-3", "5", "0"), "t.json"),
                           doctest::Contains("t.json:4: runs -3"), FormatError);
    }
    SUBCASE("a negative count, and a counted event without one") {
      CHECK_THROWS_WITH_AS(measurement_from_json(doc("1", "1", "-5", "0"), "t.json"),
                           doctest::Contains("t.json:8: events[0]: value -5 is negative"),
                           FormatError);
      CHECK_THROWS_WITH_AS(measurement_from_json(doc("1", "1", "null", "0"), "t.json"),
                           doctest::Contains("t.json:8: events[0] (cycles): status is counted "
                                             "but value is null"),
                           FormatError);
    }
    SUBCASE("an event group out of range") {
      CHECK_THROWS_WITH_AS(measurement_from_json(doc("1", "1", "5", "99999999999"), "t.json"),
                           doctest::Contains("t.json:9: events[0]: group 99999999999 is out of "
                                             "range"),
                           FormatError);
    }
  }

  TEST_CASE("a NaN metric is null with \"nan\": true in JSON, nan in CSV, and read back NaN") {
    Measurement m;
    m.duration_s = 1;
    m.metrics = {noted("tma_frontend_bound", std::nan(""), "ratio",
                       "division by zero in x (in a / x)", "skylake.json:12"),
                 noted("ipc", 2, "insn/cycle", std::nullopt, "generic.json:3")};
    auto text = measurement_to_json(m);
    auto doc = nlohmann::json::parse(text);
    const auto& nan = doc["metrics"][0];
    CHECK(nan["value"].is_null());
    CHECK(nan["nan"] == true);
    CHECK(nan["reason"] == "division by zero in x (in a / x)");
    CHECK(nan["origin"] == "skylake.json:12");
    CHECK_FALSE(doc["metrics"][1].contains("nan"));
    CHECK_FALSE(doc["metrics"][1].contains("reason"));
    auto back = measurement_from_json(text, "x.json");
    REQUIRE(back.metrics.size() == 2);
    CHECK(std::isnan(back.metrics[0].value));
    CHECK(back.metrics[0].note->reason ==
          std::optional<std::string>("division by zero in x (in a / x)"));
    CHECK(back.metrics[1].value == 2);
    CHECK(back.metrics[1].note->origin == std::optional<std::string>("generic.json:3"));
    // A null value without the mark, and the mark beside a number, are refused.
    std::string head =
        "{\"schema\": \"pmcmodel.measurement/1\", \"duration_s\": 1, \"events\": [], \"metrics\": ";
    CHECK_THROWS_WITH_AS(
        measurement_from_json(head + "[{\"name\": \"r\", \"value\": null}]}", "n.json"),
        doctest::Contains("expected field 'value'"), FormatError);
    CHECK_THROWS_WITH_AS(
        measurement_from_json(head + "[{\"name\": \"r\", \"value\": 1, \"nan\": true}]}", "n.json"),
        doctest::Contains("\"nan\" is true but the value is a number"), FormatError);
    auto csv = measurement_to_csv(m);
    CHECK(csv.find("metric,tma_frontend_bound,,nan,,ratio,,,,division by zero in x (in a / x),,") !=
          std::string::npos);
  }

  TEST_CASE("CSV rows of the energy entries name each one's method, scope and uncertainty") {
    // A run whose energy was estimated: the CSV must say so, as the table and the JSON do.
    Measurement m;
    m.duration_s = 2;
    m.energy = {{"wall", 3.5, 1.75, "estimated:sku-curve:aws-a1.large", 0.3, EnergyScope::machine},
                {"wall", 1.25, 0.625, "estimated:sku-curve:aws-a1.large+share:cpu-time", 0.3,
                 EnergyScope::command},
                {"package-0", 10, 5, "measured:powercap", 0, EnergyScope::machine}};
    m.metrics = {{"joules_per_run", 1.25, "J"}};
    auto csv = measurement_to_csv(m);
    CHECK(csv.find("\nenergy,wall,estimated:sku-curve:aws-a1.large,3.5,,J,,,machine,0.3,,\n") !=
          std::string::npos);
    CHECK(csv.find("\nenergy,wall,estimated:sku-curve:aws-a1.large+share:cpu-time,1.25,,J,,,"
                   "command,0.3,,\n") != std::string::npos);
    CHECK(csv.find("\nenergy,package-0,measured:powercap,10,,J,,,machine,,,\n") !=
          std::string::npos);
    Interval iv;
    iv.time_s = 0.5;
    iv.duration_s = 0.5;
    iv.energy = {{"wall", 0.875, 1.75, "estimated:tdp", 0.5, EnergyScope::machine}};
    CHECK(interval_to_csv(iv) == "0.5,0.5,energy,wall,estimated:tdp,0.875,,J,,,machine,0.5,,\n");
  }

  TEST_CASE("CSV quotes fields with commas and leaves uncounted values empty") {
    Measurement m;
    EventCount e;
    e.name = "cpu/event=0x3c,umask=0/";
    e.status = EventStatus::not_supported;
    e.reason = "no PMU";
    m.events = {e};
    auto csv = measurement_to_csv(m);
    CHECK(csv.find("event,\"cpu/event=0x3c,umask=0/\",,,0,") != std::string::npos);
  }

  TEST_CASE("derived metrics need every input counted and a non-zero denominator") {
    auto ev = [](const char* name, double v, const char* unit = "") {
      EventCount e;
      e.name = name;
      e.value = v;
      e.unit = unit;
      e.status = EventStatus::counted;
      return e;
    };
    // 2e9 cycles over 1000 ms of task-clock = 2 GHz; 3e9 instructions / 2e9 cycles = 1.5 IPC.
    std::vector<EventCount> events = {ev("task-clock", 1000, "msec"), ev("cycles", 2e9),
                                      ev("instructions", 3e9), ev("branches", 1e8),
                                      ev("branch-misses", 2e6)};
    auto metrics = derive_metrics(events, 0.5);
    auto get = [&](const char* n) -> std::optional<double> {
      for (auto& m : metrics)
        if (m.name == n) return m.value;
      return std::nullopt;
    };
    CHECK(*get("ipc") == doctest::Approx(1.5));
    CHECK(*get("cpi") == doctest::Approx(2.0 / 3.0));
    CHECK(*get("ghz") == doctest::Approx(2.0));
    CHECK(*get("cpus_utilized") == doctest::Approx(2.0));
    CHECK(*get("branch_miss_rate") == doctest::Approx(0.02));
    CHECK_FALSE(get("cache_miss_rate").has_value());
    events[1].status = EventStatus::not_supported;
    metrics = derive_metrics(events, 0.5);
    CHECK_FALSE(get("ipc").has_value());
    CHECK_FALSE(get("ghz").has_value());
  }

  TEST_CASE("derive_metrics keeps a zero denominator's NaN with its reason, as the engine does") {
    // 0 cycles counted: instructions / cycles is a division by zero, which perf's expression
    // evaluator (tools/perf/util/expr.y) makes NaN and prints as "nan"; cycles / instructions
    // is 0.
    auto ev = [](const char* name, double v) {
      EventCount e;
      e.name = name;
      e.value = v;
      e.status = EventStatus::counted;
      return e;
    };
    auto metrics = derive_metrics({ev("cycles", 0), ev("instructions", 1000)}, 0.5);
    const Metric* ipc = nullptr;
    const Metric* cpi = nullptr;
    for (const auto& m : metrics) {
      if (m.name == "ipc") ipc = &m;
      if (m.name == "cpi") cpi = &m;
    }
    REQUIRE(ipc != nullptr);
    CHECK(std::isnan(ipc->value));
    REQUIRE(ipc->note->reason.has_value());
    CHECK(ipc->note->reason->find("division by zero") != std::string::npos);
    CHECK_FALSE(ipc->note->origin.has_value());
    REQUIRE(cpi != nullptr);
    CHECK(cpi->value == 0);
    // An interval's NaN is written without the reason, as the engine's intervals are.
    for (const auto& m : as_interval_metrics(metrics)) CHECK_FALSE(m.note->reason.has_value());
    auto json = measurement_to_json([&] {
      Measurement m;
      m.metrics = metrics;
      return m;
    }());
    CHECK(json.find("\"name\": \"ipc\", \"value\": null") != std::string::npos);
  }
}

TEST_CASE("a record's spare part: absent reads as default, copies are deep, and it stays small") {
  EventCount e;
  CHECK_FALSE(e.spread.has_value());
  CHECK_FALSE(e.spread->sem.has_value());  // reading does not make the part
  CHECK_FALSE(e.spread.has_value());
  e.spread.set().sem = 2.0;
  e.spread.set().run_values = {1, 2};
  EventCount copy = e;
  copy.spread.set().sem = 3.0;
  copy.spread.set().run_values.push_back(4);
  CHECK(*e.spread->sem == 2.0);  // the copy's part is its own
  CHECK(e.spread->run_values.size() == 2);
  CHECK(*copy.spread->sem == 3.0);
  EventCount moved = std::move(copy);
  CHECK(moved.spread->run_values == std::vector<double>{1, 2, 4});
  e.spread.reset();
  CHECK_FALSE(e.spread.has_value());
  // A million of these make an interval recording's import: the -r spread and a metric's notes
  // are one pointer each, not 56 and 80 bytes of every record (docs/PERFORMANCE.md).
  // On x86-64 with libstdc++: 192 and 72 bytes were the records before they had those fields.
  // Since then both gained a group and Metric the decimals perf printed a reported value with
  // (SmallOptional: 4 and 2 bytes, not 8 each), and the units and PMU names are shared texts
  // (SharedText: 8 bytes, not a 32-byte std::string each): 136 and 64.
  CHECK(sizeof(Spare<RunSpread>) == sizeof(void*));
  CHECK(sizeof(SmallOptional<int32_t>) == 4);
  CHECK(sizeof(SharedText) == sizeof(void*));
  CHECK(sizeof(EventCount) <= 136);
  CHECK(sizeof(Metric) <= 64);
}
