// perf's #literals for imported recordings and reports (events/metrics/metric_literals.h,
// events/perfstat/import_metrics.h): --literal's form, which source wins, what a recording shows;
// and --metrics paths and -m's group names (events/metrics/metric_schedule.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "events/metrics/metric_literals.h"
#include "events/metrics/metric_schedule.h"
#include "events/perfstat/import_metrics.h"
#include "test_support.h"

using namespace pmc;

namespace {

// referenced.json's counts: chip 0 and 1 run 2e6 and 4e6 PowerBus cycles; core i did
// 100 × (i + 1) TLBIEs.
EventValues referenced_bus_events() {
  EventValues events;
  events.set("hv_24x7/PM_PB_CYC,chip=0/", 2000000);
  events.set("hv_24x7/PM_PB_CYC,chip=1/", 4000000);
  for (int core = 0; core < 3; ++core)
    events.set("hv_24x7/CPM_TLBIE,core=" + std::to_string(core) + "/", 100.0 * (core + 1));
  return events;
}

std::optional<double> value_named(const std::vector<MetricResult>& results,
                                  const std::string& name) {
  for (const auto& r : results)
    if (r.name == name) return r.value;
  return std::nullopt;
}

EventCount row(const std::string& name, double value, const std::string& reason = "") {
  EventCount e;
  e.name = name;
  e.value = value;
  e.status = EventStatus::counted;
  e.reason = reason;
  return e;
}

std::string fmt_cpu(int cpu) {
  return "CPU" + std::to_string(cpu) + "/cycles";
}

Measurement system_wide() {
  Measurement m;
  m.source = "perf-stat";
  m.target = MeasurementTarget::system_wide;
  return m;
}

std::string perf_dir() {
  return std::string(PMC_TEST_DATA) + "/metrics/perf-style-skylake";
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("parse_literal_setting: NAME=VALUE with perf's names, with or without '#'") {
    auto s = parse_literal_setting("#SMT_on=1");
    CHECK(s.name == "smt_on");
    CHECK(s.value == 1.0);
    CHECK(parse_literal_setting("system_tsc_freq = 2.5e9").value == 2.5e9);
    CHECK(parse_literal_setting("num_cpus_online=64").name == "num_cpus_online");
    for (const char* bad :
         {"smt_on", "smt_on=", "smt_on=on", "num_threads=4", "=1", "slots=inf", "slots=4x"})
      CHECK_THROWS_AS_MESSAGE(parse_literal_setting(bad), LiteralSettingError, bad);
    CHECK(perf_literal_names().size() == 10);
  }

  TEST_CASE("LiteralLayers: --literal over the recording over --cpu over what is assumed") {
    LiteralLayers layers;
    layers.set(LiteralSource::assumed, "smt_on", 0, "no sign");
    layers.set(LiteralSource::given, "#SMT_ON", 1, "");
    layers.set(LiteralSource::recording, "smt_on", 0, "per-core rows");  // weaker: ignored
    layers.set(LiteralSource::cpu_model, "slots", 4, "--cpu skylake");
    layers.set(LiteralSource::recording, "slots", 5, "");
    CHECK(layers.find("smt_on") == 1.0);
    CHECK(layers.find("#slots") == 5.0);
    CHECK(layers.literals().find("#SMT_on") == 1.0);
    CHECK_FALSE(layers.has("num_cpus"));
    CHECK(layers.describe() == "#smt_on = 1 (--literal), #slots = 5 (the recording)");
  }

  TEST_CASE("cpu_family_slots: the issue width of a --cpu name's family") {
    CHECK(cpu_family_slots("skylake") == 4.0);
    CHECK(cpu_family_slots("clx") == 4.0);
    CHECK(cpu_family_slots("icx") == 5.0);
    CHECK(cpu_family_slots("spr") == 6.0);
    CHECK(cpu_family_slots("zen4") == 6.0);
    CHECK(cpu_family_slots("neoverse-n2") == 5.0);
    // perf's neoverse-v1 formulas divide by CPU_CYCLES * 8; Arm's V2 telemetry: 8 rename slots.
    CHECK(cpu_family_slots("neoverse-v1") == 8.0);
    CHECK(cpu_family_slots("graviton3") == 8.0);
    CHECK(cpu_family_slots("neoverse-v2") == 8.0);
    // SBSA's formulas take the implementation's slot count: none of their own.
    CHECK_FALSE(cpu_family_slots("sbsa"));
    CHECK_FALSE(cpu_family_slots("neoverse-n1"));
    CHECK_FALSE(cpu_family_slots("pentium4"));
  }

  TEST_CASE("add_recording_literals: what -A, --per-core and *_ANY events show") {
    SUBCASE("-A rows of every CPU; an uncore event on one CPU does not count") {
      auto m = system_wide();
      for (int cpu = 0; cpu < 4; ++cpu) m.events.push_back(row(fmt_cpu(cpu), 1));
      m.events.push_back(row("CPU0/uncore_imc/data_reads/", 1));
      m.events.push_back(row("cycles", 4));
      LiteralLayers layers;
      add_recording_literals(m, layers);
      CHECK(layers.find("num_cpus") == 4.0);
      CHECK(layers.find("num_cpus_online") == 4.0);
      CHECK_FALSE(layers.has("smt_on"));
    }
    SUBCASE("--per-core rows: cores, dies, packages, CPUs and SMT") {
      auto m = system_wide();
      for (const char* core : {"S0-D0-C0", "S0-D0-C1", "S1-D0-C0", "S1-D0-C1"})
        m.events.push_back(row(std::string(core) + "/cycles", 1, "aggregate of 2 CPUs"));
      LiteralLayers layers;
      add_recording_literals(m, layers);
      CHECK(layers.find("num_cores") == 4.0);
      CHECK(layers.find("num_dies") == 2.0);
      CHECK(layers.find("num_packages") == 2.0);
      CHECK(layers.find("num_cpus") == 8.0);
      CHECK(layers.find("smt_on") == 1.0);
    }
    SUBCASE("a -C list: the rows are not every CPU") {
      auto m = system_wide();
      m.command = {"CPU(s) 0-1"};
      m.events.push_back(row("CPU0/cycles", 1));
      m.events.push_back(row("CPU1/cycles", 1));
      LiteralLayers layers;
      add_recording_literals(m, layers);
      CHECK_FALSE(layers.has("num_cpus"));
    }
    SUBCASE("a counted *_ANY event: SMT was on") {
      Measurement m;
      m.events.push_back(row("cpu_clk_unhalted.thread_any", 1));
      m.events.push_back(row("uops_issued.any", 1));  // ".any" is not "_ANY"
      LiteralLayers layers;
      add_recording_literals(m, layers);
      CHECK(layers.find("smt_on") == 1.0);
    }
  }

  TEST_CASE("import_literals: --cpu's width, SMT assumed off, #core_wide by perf's rule") {
    auto m = system_wide();
    auto layers = import_literals(m, "skylake", {});
    CHECK(layers.find("slots") == 4.0);
    CHECK(layers.find("smt_on") == 0.0);
    CHECK(layers.find("core_wide") == 1.0);  // system-wide with SMT off
    CHECK(layers.describe().find("#smt_on = 0 (assumed") != std::string::npos);

    auto given = import_literals(
        m, "skylake", {parse_literal_setting("smt_on=1"), parse_literal_setting("slots=6")});
    CHECK(given.find("smt_on") == 1.0);
    CHECK(given.find("slots") == 6.0);
    CHECK(given.find("core_wide") == 1.0);  // every CPU counted

    Measurement command;  // a command's counts: not core-wide
    CHECK(import_literals(command, "skylake", {}).find("core_wide") == 0.0);
    auto listed = system_wide();
    listed.command = {"CPU(s) 1"};
    CHECK(
        import_literals(listed, "skylake", {parse_literal_setting("smt_on=1")}).find("core_wide") ==
        0.0);
    // Without a CPU family nothing is assumed.
    CHECK_FALSE(import_literals(command, "", {}).has("smt_on"));
  }

  TEST_CASE("runtime parameter: a '?' metric is made once per value and named NAME_i, as perf") {
    // --literal ?=N gives the count; it is not one of the #literals.
    auto given = parse_literal_setting("?=2");
    CHECK(given.name == "?");
    CHECK(given.value == 2.0);
    for (const char* bad : {"?=0", "?=1.5", "?=-1", "?=5000", "?=x"})
      CHECK_THROWS_AS_MESSAGE(parse_literal_setting(bad), LiteralSettingError, bad);
    auto counts = runtime_param_counts({given});
    CHECK(counts.per_chip == 2);
    CHECK(counts.per_core == 2);
    CHECK(runtime_param_counts({}).per_chip == 1);
    CHECK_FALSE(import_literals(Measurement{}, "", {given}).has("?"));

    // runtime-param/hv_24x7.json: PowerBUS_Cycles is PerChip (2 sockets here), the TLBIE ratio
    // PerCore (3 cores per chip), Plain_IPC has no '?'.
    const std::string file = std::string(PMC_TEST_DATA) + "/metrics/runtime-param/hv_24x7.json";
    auto loaded = load_metrics("", "", MachineInfo{}, {file}, RuntimeParamCounts{2, 3, "test"});
    auto selected = loaded.set.select({"nest"});
    std::vector<std::string> names;
    for (size_t i : selected) names.push_back(loaded.set.metrics()[i].name);
    CHECK(names == std::vector<std::string>{
                       "PowerBUS_Cycles_0", "PowerBUS_Cycles_1", "Core_TLBIE_per_PB_Cycle_0",
                       "Core_TLBIE_per_PB_Cycle_1", "Core_TLBIE_per_PB_Cycle_2", "Plain_IPC"});
    CHECK(std::any_of(loaded.notes.begin(), loaded.notes.end(), [](const std::string& n) {
      return n.starts_with("perf's runtime parameter '?': 2 metrics");
    }));
    // -m by the metric's own name takes every instance, each with its own events.
    CHECK(loaded.set.select({"powerbus_cycles"}).size() == 2);
    CHECK(loaded.set.required_events({"PowerBUS_Cycles"}) ==
          std::vector<std::string>{"hv_24x7/PM_PB_CYC,chip=0/", "hv_24x7/PM_PB_CYC,chip=1/"});
    EventValues events;
    events.set("hv_24x7/PM_PB_CYC,chip=0/", 1000);
    events.set("hv_24x7/PM_PB_CYC,chip=1/", 3000);
    for (int core = 0; core < 3; ++core)
      events.set("hv_24x7/CPM_TLBIE,core=" + std::to_string(core) + "/", 10.0 * (core + 1));
    auto results = loaded.set.evaluate({"nest"}, events, {});
    auto value = [&](const std::string& name) -> std::optional<double> {
      for (const auto& r : results)
        if (r.name == name) return r.value;
      return std::nullopt;
    };
    CHECK(value("PowerBUS_Cycles_0") == 1000.0);
    CHECK(value("PowerBUS_Cycles_1") == 3000.0);
    CHECK(value("Core_TLBIE_per_PB_Cycle_2") == doctest::Approx(30.0 / 1000));  // over chip 0
    // Made once: a second call finds nothing left to make.
    CHECK(loaded.set.instantiate_runtime(RuntimeParamCounts{4, 4, "again"}) == 0);
    // Without a count, perf's is 1: one instance, the '?' read as 0, still named NAME_0.
    auto one = load_metrics("", "", MachineInfo{}, {file});
    CHECK(one.set.select({"PowerBUS_Cycles"}).size() == 1);
    CHECK(one.set.required_events({"PowerBUS_Cycles_0"}) ==
          std::vector<std::string>{"hv_24x7/PM_PB_CYC,chip=0/"});
  }

  TEST_CASE("runtime parameter: a metric naming a '?' metric reads its own runtime's instance") {
    // runtime-param/referenced.json (hand-made, perf's shape): PowerBUS_Cycles is PerChip (2
    // chips), PowerBUS_Mcycles names it without a '?' of its own, TLBIE_per_PB_Cycle names it
    // beside a '?' of its own (PerCore: 3 cores per chip).
    const std::string file = std::string(PMC_TEST_DATA) + "/metrics/runtime-param/referenced.json";
    auto loaded = load_metrics("", "", MachineInfo{}, {file}, RuntimeParamCounts{2, 3, "test"});
    std::vector<std::string> names;
    for (size_t i : loaded.set.select({"bus"})) names.push_back(loaded.set.metrics()[i].name);
    // perf makes only a metric whose own MetricExpr holds '?' once per value.
    CHECK(names == std::vector<std::string>{"PowerBUS_Cycles_0", "PowerBUS_Cycles_1",
                                            "PowerBUS_Mcycles", "TLBIE_per_PB_Cycle_0",
                                            "TLBIE_per_PB_Cycle_1", "TLBIE_per_PB_Cycle_2"});
    // Without a '?' of its own a metric is perf's runtime 0: it reads chip 0's cycles only.
    CHECK(loaded.set.required_events({"PowerBUS_Mcycles"}) ==
          std::vector<std::string>{"hv_24x7/PM_PB_CYC,chip=0/"});
    // Instance i reads the named metric's instance i.
    CHECK(loaded.set.required_events({"TLBIE_per_PB_Cycle_1"}) ==
          std::vector<std::string>{"hv_24x7/CPM_TLBIE,core=1/", "hv_24x7/PM_PB_CYC,chip=1/"});
    auto results = loaded.set.evaluate({"bus"}, referenced_bus_events(), {});
    auto value = [&](const std::string& name) { return value_named(results, name); };
    CHECK(value("PowerBUS_Mcycles") == 2.0);
    CHECK(value("TLBIE_per_PB_Cycle_0") == doctest::Approx(100.0 / 2000000));
    CHECK(value("TLBIE_per_PB_Cycle_1") == doctest::Approx(200.0 / 4000000));
    // Runtime 2 names chip 2, which has no PowerBUS_Cycles instance (2 chips): no value, as
    // perf's hv_24x7 event for chip=2 would not exist.
    CHECK_FALSE(value("TLBIE_per_PB_Cycle_2"));
  }

  TEST_CASE("runtime parameter: a '?' two levels down reads the root metric's runtime") {
    // TLBIE_per_PB_Mcycle_i names PowerBUS_Mcycles (no '?'), which names PowerBUS_Cycles ('?'):
    // perf parses the whole tree in the root's context, so instance i reads chip i's cycles.
    const std::string file = std::string(PMC_TEST_DATA) + "/metrics/runtime-param/referenced.json";
    auto loaded = load_metrics("", "", MachineInfo{}, {file}, RuntimeParamCounts{2, 3, "test"});
    CHECK(loaded.set.required_events({"TLBIE_per_PB_Mcycle_1"}) ==
          std::vector<std::string>{"hv_24x7/CPM_TLBIE,core=1/", "hv_24x7/PM_PB_CYC,chip=1/"});
    CHECK(loaded.set.required_events({"TLBIE_per_PB_Mcycle_0"}) ==
          std::vector<std::string>{"hv_24x7/CPM_TLBIE,core=0/", "hv_24x7/PM_PB_CYC,chip=0/"});
    // The copy made for runtime 1 is not a metric of its own: -m lists what it did before.
    std::vector<std::string> names;
    for (const auto& def : loaded.set.metrics()) names.push_back(def.name);
    CHECK(std::count(names.begin(), names.end(), "PowerBUS_Mcycles") == 1);
    // Both in one evaluation: the selected PowerBUS_Mcycles (runtime 0, chip 0) and the one in
    // instance 1's tree (chip 1) are computed apart, not one from the other's memo.
    auto results = loaded.set.evaluate({"deep", "PowerBUS_Mcycles"}, referenced_bus_events(), {});
    auto value = [&](const std::string& name) { return value_named(results, name); };
    CHECK(value("PowerBUS_Mcycles") == 2.0);
    CHECK(value("TLBIE_per_PB_Mcycle_0") == doctest::Approx(100.0 / 2.0));
    CHECK(value("TLBIE_per_PB_Mcycle_1") == doctest::Approx(200.0 / 4.0));
    // Runtime 2 names chip 2's cycles, which no PowerBUS_Cycles instance gives: no value.
    CHECK_FALSE(value("TLBIE_per_PB_Mcycle_2"));
  }

  TEST_CASE("load_metric_path: a directory of perf's files, a file, and paths that give nothing") {
    std::vector<std::string> notes;
    auto set = load_metric_path(perf_dir(), notes);
    CHECK(set.events().size() == 4);   // pipeline.json, without OFFCORE_RESPONSE's two codes
    CHECK(set.metrics().size() == 6);  // skl-style-metrics.json
    REQUIRE(notes.size() == 2);        // in file name order; mapfile.csv is not *.json
    CHECK(notes[0].find("other.json skipped") != std::string::npos);
    CHECK(notes[1].find("pipeline.json: 1 event left out") != std::string::npos);

    notes.clear();
    CHECK(load_metric_path(perf_dir() + "/skl-style-metrics.json", notes).metrics().size() == 6);
    CHECK(notes.empty());

    CHECK_THROWS_AS(load_metric_path("/nonexistent/dir", notes), MetricChoiceError);
    CHECK_THROWS_WITH_AS(check_metric_paths({"/dev/null"}),
                         "--metrics /dev/null: neither a file nor a directory", MetricChoiceError);
    auto empty = test::make_temp_dir("metric-path");
    std::ofstream(empty / "other.json") << "[{\"Comment\": \"x\"}]";
    CHECK_THROWS_AS(load_metric_path(empty, notes), MetricChoiceError);
    std::filesystem::remove_all(empty);
  }

  TEST_CASE("load_metrics: --metrics adds to generic.json, and perf's groups select") {
    auto loaded = load_metrics("", "", MachineInfo{}, {perf_dir()});
    REQUIRE(loaded.files.size() == 2);
    CHECK(loaded.files.back() == perf_dir());
    auto groups = metric_groups(loaded.set);
    CHECK(std::find(groups.begin(), groups.end(), "TopdownL1") != groups.end());
    CHECK(std::find(groups.begin(), groups.end(), "PipelineL1") != groups.end());

    auto topdown = resolve_metric_selection(loaded, {"topdownl1"});
    CHECK(loaded.set.select(topdown).size() == 4);
    // generic.json's tma_* were in "topdown" too: the directory's replace them and stay there.
    auto kept = resolve_metric_selection(loaded, {"topdown"});
    CHECK(loaded.set.select(kept).size() == 4);
    // Default: pmcmodel's default groups the set has, and the files' own Default group.
    auto defaults = resolve_metric_selection(loaded, {"Default"});
    CHECK(std::find(defaults.begin(), defaults.end(), "ipc") != defaults.end());
    CHECK(std::find(defaults.begin(), defaults.end(), "Default") != defaults.end());
    CHECK_THROWS_WITH_AS(resolve_metric_selection(loaded, {"TopdownL9"}),
                         doctest::Contains("tma_L1_group"), MetricChoiceError);
  }

  TEST_CASE("rederive_metrics: the counts' metrics again, the others kept") {
    Measurement m;
    m.duration_s = 1;
    m.events = {row("instructions", 3000), row("cycles", 1000)};
    m.metrics = {{"ipc", 99, "insn/cycle"}, {"joules_per_run", 2.5, "J"}};
    auto loaded = load_metrics("", "", MachineInfo{});
    rederive_metrics(m, loaded, {"ipc"}, {});
    std::optional<double> ipc, joules;
    for (const auto& metric : m.metrics) {
      if (metric.name == "ipc") ipc = metric.value;
      if (metric.name == "joules_per_run") joules = metric.value;
    }
    CHECK(ipc == 3.0);  // 3000 instructions / 1000 cycles
    CHECK(joules == 2.5);
  }
}
