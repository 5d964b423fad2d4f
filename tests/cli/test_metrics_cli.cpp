// `measure -m NAME --cpu MODEL`, `import --cpu MODEL`, and perf's metric files and literals from
// the command line (--metrics DIR|FILE, -m GROUP, --literal NAME=VALUE) as a user runs them.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("pmc-metrics-cli-" + std::to_string(getpid()) + "-" + name))
      .string();
}

std::string perfstat(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/" + name;
}

std::string recording(const std::string& name) {
  return perfstat(name);
}

std::string recording063() {
  return perfstat("wild/063.txt");
}

const json* find_named(const json& list, const std::string& name) {
  for (const auto& e : list)
    if (e["name"] == name) return &e;
  return nullptr;
}

bool any_note_starts(const json& doc, const std::string& prefix) {
  for (const auto& n : doc["notes"])
    if (n.get<std::string>().rfind(prefix, 0) == 0) return true;
  return false;
}

// A directory in the layout of perf's pmu-events/arch/x86/skylake/ (its README says what it holds).
std::string perf_dir() {
  return std::string(PMC_TEST_DATA) + "/metrics/perf-style-skylake";
}

int lines(const std::string& text) {
  return int(std::count(text.begin(), text.end(), '\n'));
}

// import's document of `args` (the recording first), parsed.
json imported(std::vector<std::string> args, const std::string& name) {
  auto path = temp_path(name);
  args.insert(args.begin(), "import");
  args.push_back("--json");
  args.push_back(path);
  auto r = run_process(pmcmodel(args));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto doc = json::parse(read_file(path));
  std::filesystem::remove(path);
  return doc;
}

double value_of(const json& doc, const std::string& list, const std::string& name) {
  const json* e = find_named(doc[list], name);
  REQUIRE_MESSAGE(e != nullptr, name);
  return (*e)["value"].get<double>();
}

// tests/data/perfstat/wild/063.txt: `perf stat -C 1 -M topdownl1` on a Skylake-family CPU, which
// printed Bad_Speculation 0.00, Retiring 0.09, Backend_Bound 0.91 and Frontend_Bound 0.00 (two
// decimals: within 0.005 of the exact fraction). Its counts, by hand with perf's SMT-off
// formulas (slots = 4 * cpu_clk_unhalted.thread): retiring = 7,026,625,438 / (4 *
// 19,206,823,557) = 0.0915.
struct PerfPrinted {
  const char* metric;
  double fraction;
};
constexpr PerfPrinted kPerf063[] = {{"tma_bad_speculation", 0.00},
                                    {"tma_retiring", 0.09},
                                    {"tma_backend_bound", 0.91},
                                    {"tma_frontend_bound", 0.00}};

ProcessResult measure(std::vector<std::string> args) {
  args.insert(args.begin(), "measure");
  args.push_back("--");
  auto cmd = child_command("exit:0");
  args.insert(args.end(), cmd.begin(), cmd.end());
  return run_process(pmcmodel(args));
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("measure -m ipc: a metric is shown, or absent with the reason in the table and notes") {
    auto path = temp_path("ipc.json");
    auto r = measure({"-m", "ipc", "-e", "task-clock", "--json", path});
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(read_file(path));
    // task-clock was counted, so CPUs utilized is there whatever the machine.
    REQUIRE(find_named(doc["metrics"], "cpus_utilized") != nullptr);
    CHECK((*find_named(doc["metrics"], "cpus_utilized"))["unit"] == "CPUs");
    const json* cycles = find_named(doc["events"], "cycles");
    REQUIRE(cycles != nullptr);  // scheduled for ipc although -e did not name it
    if ((*cycles)["status"] == "counted") {
      CHECK(find_named(doc["metrics"], "ipc") != nullptr);
    } else {
      // This VM: no PMU. ipc is absent, never 0, and the reason names the event.
      CHECK(find_named(doc["metrics"], "ipc") == nullptr);
      CHECK(any_note_starts(doc, "metric ipc: not available: "));
      CHECK(r.err.find("metric ipc: not available: ") != std::string::npos);
      CHECK(r.err.find("cycles") != std::string::npos);
    }
    CHECK(any_note_starts(doc, "metrics from generic.json"));
    std::filesystem::remove(path);
  }

  TEST_CASE("measure --cpu skylake -m topdown asks for Skylake's TMA events") {
    auto path = temp_path("skl.json");
    auto r = measure({"-m", "topdown", "--cpu", "skylake", "-e", "task-clock", "--json", path});
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(read_file(path));
    CHECK(any_note_starts(doc, "metrics from generic.json + skylake.json"));
    // An event of skl-metrics.json's level 1 is in the document, counted or with its status.
    const json* idq = find_named(doc["events"], "IDQ_UOPS_NOT_DELIVERED.CORE");
    REQUIRE(idq != nullptr);
    if ((*idq)["status"] != "counted") {
      CHECK(find_named(doc["metrics"], "tma_frontend_bound") == nullptr);
      CHECK(any_note_starts(doc, "metric tma_frontend_bound: not available: "));
    }
    std::filesystem::remove(path);
  }

  TEST_CASE("measure --metrics FILE -m NAME: a metric of perf's form from that file") {
    auto path = temp_path("perf-file.json");
    auto file = perf_dir() + "/skl-style-metrics.json";
    auto r = measure({"--metrics", file, "-m", "tma_retiring", "-e", "task-clock", "--json", path});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(path));
    bool from_file = false;
    for (const auto& n : doc["notes"]) {
      auto text = n.get<std::string>();
      from_file |= text.rfind("metrics from generic.json", 0) == 0 &&
                   text.find("skl-style-metrics.json") != std::string::npos;
    }
    CHECK(from_file);
    // Its events are in the document, counted or with their status; without them no value.
    const json* retired = nullptr;
    for (const auto& e : doc["events"])
      if (e["name"].get<std::string>().find("UOPS_RETIRED.RETIRE_SLOTS") != std::string::npos)
        retired = &e;
    REQUIRE(retired != nullptr);
    if ((*retired)["status"] != "counted") {
      CHECK(find_named(doc["metrics"], "tma_retiring") == nullptr);
      CHECK(any_note_starts(doc, "metric tma_retiring: not available: "));
    }
    std::filesystem::remove(path);
  }

  TEST_CASE("measure: an event in two groups is counted in each, each metric takes its group's") {
    // Software events, which any machine counts: task-clock in both groups, each metric reads it
    // with the other event of one group.
    auto file = temp_path("two-groups-metrics.json");
    std::ofstream(file) << R"([
      {"MetricName": "clock_a", "MetricExpr": "task\\-clock + 0 * page\\-faults", "MetricGroup": "two"},
      {"MetricName": "clock_b", "MetricExpr": "task\\-clock + 0 * context\\-switches", "MetricGroup": "two"}
    ])";
    auto path = temp_path("two-groups.json");
    auto r = measure({"-e", "{task-clock,page-faults}", "-e", "{task-clock,context-switches}",
                      "--metrics", file, "-m", "two", "--json", path});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(path));
    // The document says which group each count is of, as an import of perf stat -M does.
    std::vector<double> clock_of_group(2, -1);
    for (const auto& e : doc["events"]) {
      REQUIRE_MESSAGE(e.contains("group"), e.dump());
      int group = e["group"].get<int>();
      CHECK(group == (e["name"] == "page-faults"        ? 0
                      : e["name"] == "context-switches" ? 1
                                                        : group));
      if (e["name"] == "task-clock") {
        REQUIRE(e["status"] == "counted");
        clock_of_group.at(size_t(group)) = e["value"].get<double>();
      }
    }
    REQUIRE(clock_of_group[0] > 0);
    REQUIRE(clock_of_group[1] > 0);
    const json* a = find_named(doc["metrics"], "clock_a");
    const json* b = find_named(doc["metrics"], "clock_b");
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK((*a)["group"] == 0);
    CHECK((*b)["group"] == 1);
    // Each metric is its own group's task-clock (in the engine's unit): their ratio is that of
    // the two counts, which differ when the two counters did.
    CHECK((*a)["value"].get<double>() / (*b)["value"].get<double>() ==
          doctest::Approx(clock_of_group[0] / clock_of_group[1]).epsilon(1e-9));
    std::filesystem::remove(path);
    std::filesystem::remove(file);
  }

  TEST_CASE("measure without -m keeps the software-event metrics") {
    auto path = temp_path("default.json");
    auto r = measure({"-e", "task-clock", "--json", path});
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(read_file(path));
    CHECK(find_named(doc["metrics"], "cpus_utilized") != nullptr);
    CHECK(r.err.find("cpus_utilized") != std::string::npos);
    std::filesystem::remove(path);
  }
}

TEST_SUITE("pure") {
  TEST_CASE("measure: an unknown metric or CPU is one line, exit 2, no output file") {
    auto path = temp_path("bad.json");
    SUBCASE("-m") {
      auto r = measure({"-m", "ipc,no_such_metric", "--json", path});
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("no_such_metric") != std::string::npos);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    SUBCASE("--cpu") {
      auto r = measure({"--cpu", "pentium4", "--json", path});
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("--cpu pentium4: unknown CPU model") != std::string::npos);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    CHECK_FALSE(std::filesystem::exists(path));
  }

  TEST_CASE("measure: -C/--cpus is the CPU list, --cpu the model") {
    auto r = measure({"--cpus", "0", "-e", "task-clock"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("-C needs -a or -G") != std::string::npos);
    auto help = run_process(pmcmodel({"measure", "--help"}));
    CHECK(help.out.find("--cpus") != std::string::npos);
    CHECK(help.out.find("--cpu TEXT") != std::string::npos);
    CHECK(help.out.find("--metrics") != std::string::npos);
  }

  TEST_CASE("measure --metrics: a path that does not exist is one line, exit 2, before the run") {
    auto path = temp_path("badpath.json");
    auto r = measure({"--metrics", "/nonexistent/pmu-events/arch/x86/skylake", "--json", path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--metrics /nonexistent/pmu-events/arch/x86/skylake: no such file") !=
          std::string::npos);
    CHECK(lines(r.err) == 1);
    CHECK_FALSE(std::filesystem::exists(path));
    // -m is the names now: the path given to -m is an unknown metric.
    auto names = measure({"-m", "TopdownL1", "--metrics", perf_dir(), "-m", "no_such_group"});
    CHECK(names.exit_code == 2);
    CHECK(names.err.find("-m no_such_group") != std::string::npos);
    CHECK(names.err.find("TopdownL1") != std::string::npos);  // the groups it could have named
  }

  TEST_CASE("import --cpu skylake derives top-down from a recording with every TMA event") {
    auto doc = imported({recording063(), "--cpu", "skylake"}, "063-skl.json");
    for (const auto& p : kPerf063)
      CHECK_MESSAGE(std::abs(value_of(doc, "metrics", p.metric) - p.fraction) <= 0.005,
                    std::string(p.metric));
    CHECK(value_of(doc, "metrics", "tma_retiring") ==
          doctest::Approx(7026625438.0 / (4 * 19206823557.0)).epsilon(0.001));
    // The literals it used, and where each came from, are in a note.
    bool said = false;
    for (const auto& n : doc["notes"]) {
      auto text = n.get<std::string>();
      if (text.rfind("metric literals: ", 0) != 0) continue;
      said = text.find("#smt_on = 0 (assumed") != std::string::npos &&
             text.find("#slots = 4 (--cpu") != std::string::npos;
    }
    CHECK(said);
  }

  TEST_CASE("import --literal wins over what is assumed, and a bad one is one line, exit 2") {
    // With SMT on, Skylake's bad speculation reads INT_MISC.RECOVERY_CYCLES_ANY, which 063 lacks.
    auto doc =
        imported({recording063(), "--cpu", "skylake", "--literal", "smt_on=1"}, "063-smt.json");
    CHECK(find_named(doc["metrics"], "tma_bad_speculation") == nullptr);
    // Its slots, with SMT on and a -C list (#core_wide 0), read CPU_CLK_UNHALTED.ONE_THREAD_ACTIVE.
    CHECK(find_named(doc["metrics"], "tma_frontend_bound") == nullptr);
    for (const char* bad : {"smt_on", "smt_on=yes", "no_such_literal=1", "=1"}) {
      auto path = temp_path("bad-literal.json");
      auto r = run_process(pmcmodel({"import", recording063(), "--literal", bad, "--json", path}));
      CHECK_MESSAGE(r.exit_code == 2, bad);
      CHECK_MESSAGE(r.err.find(std::string("--literal ") + bad) != std::string::npos, r.err);
      CHECK(lines(r.err) == 1);
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }

  TEST_CASE("import --literal ?=N: a '?' metric of POWER's hv_24x7 once per chip, as NAME_i") {
    // Hand-written in the shape of `perf stat -a -e hv_24x7/PM_PB_CYC,chip=0/,…` on a
    // two-socket POWER9: one count per chip; runtime-param/hv_24x7.json's PowerBUS_Cycles reads
    // hv_24x7/PM_PB_CYC,chip=?/.
    auto input = temp_path("hv_24x7.txt");
    {
      std::ofstream out(input);
      out << "\n Performance counter stats for 'system wide':\n\n"
             "             1,000      hv_24x7/PM_PB_CYC,chip=0/\n"
             "             3,000      hv_24x7/PM_PB_CYC,chip=1/\n\n"
             "       1.001234567 seconds time elapsed\n\n";
    }
    const std::string file = std::string(PMC_TEST_DATA) + "/metrics/runtime-param/hv_24x7.json";
    auto doc = imported({input, "--metrics", file, "-m", "PowerBUS_Cycles", "--literal", "?=2"},
                        "hv_24x7.json");
    CHECK(value_of(doc, "metrics", "PowerBUS_Cycles_0") == 1000.0);
    CHECK(value_of(doc, "metrics", "PowerBUS_Cycles_1") == 3000.0);
    CHECK(find_named(doc["metrics"], "PowerBUS_Cycles") == nullptr);
    CHECK(any_note_starts(doc, "perf's runtime parameter '?': 2 metrics"));
    // Without ?=N, one instance, chip=0.
    auto one = imported({input, "--metrics", file, "-m", "PowerBUS_Cycles"}, "hv_24x7-one.json");
    CHECK(value_of(one, "metrics", "PowerBUS_Cycles_0") == 1000.0);
    CHECK(find_named(one["metrics"], "PowerBUS_Cycles_1") == nullptr);
    for (const char* bad : {"?=0", "?=2.5", "?=100000"}) {
      auto path = temp_path("bad-runtime.json");
      auto r = run_process(pmcmodel({"import", input, "--literal", bad, "--json", path}));
      CHECK_MESSAGE(r.exit_code == 2, bad);
      CHECK_MESSAGE(r.err.find(std::string("--literal ") + bad) != std::string::npos, r.err);
      CHECK_FALSE(std::filesystem::exists(path));
    }
    std::filesystem::remove(input);
  }

  TEST_CASE("import --metrics DIR: perf's directory layout, its groups select") {
    SUBCASE("-m TopdownL1: the directory's formulas on 063's counts, as perf printed them") {
      auto doc =
          imported({recording063(), "--metrics", perf_dir(), "-m", "TopdownL1"}, "063-dir.json");
      // ScaleUnit 100%: the values are percentages.
      for (const auto& p : kPerf063)
        CHECK_MESSAGE(std::abs(value_of(doc, "metrics", p.metric) / 100 - p.fraction) <= 0.005,
                      std::string(p.metric));
      CHECK(find_named(doc["metrics"], "uops_issued_per_cycle") == nullptr);  // not selected
      bool skipped = false;
      for (const auto& n : doc["notes"])
        skipped |= n.get<std::string>().find("other.json skipped") != std::string::npos;
      CHECK(skipped);
    }
    SUBCASE("-m Default, TmaL1 and PipelineL1 are perf's group names, matched without case") {
      auto doc =
          imported({recording063(), "--metrics", perf_dir(), "-m", "default,tmal1,PipelineL1"},
                   "063-groups.json");
      CHECK(find_named(doc["metrics"], "tma_retiring") != nullptr);           // Default
      CHECK(find_named(doc["metrics"], "tma_info_thread_slots") != nullptr);  // TmaL1
      // PipelineL1: uops_issued.any / cpu_clk_unhalted.thread of 063, 7,017,115,812 /
      // 19,203,260,401 = 0.3654 or the other group's 7,030,153,262 / 19,206,823,557 = 0.3660.
      CHECK(value_of(doc, "metrics", "uops_issued_per_cycle") ==
            doctest::Approx(0.366).epsilon(0.003));
    }
    SUBCASE("a FILE is one metric file") {
      auto doc = imported({recording063(), "--metrics", perf_dir() + "/skl-style-metrics.json",
                           "-m", "tma_retiring"},
                          "063-file.json");
      CHECK(std::abs(value_of(doc, "metrics", "tma_retiring") / 100 - 0.09) <= 0.005);
    }
    SUBCASE("an unknown group: one line naming some of the groups there are") {
      auto r = run_process(
          pmcmodel({"import", recording063(), "--metrics", perf_dir(), "-m", "TopdownL9"}));
      CHECK(r.exit_code == 2);
      CHECK(lines(r.err) == 1);
      CHECK(r.err.find("-m TopdownL9") != std::string::npos);
      CHECK(r.err.find("tma_L1_group") != std::string::npos);
      CHECK(r.err.find("Default") != std::string::npos);
    }
    SUBCASE("a path that is not there, or a directory without metrics: one line, exit 2") {
      auto empty = std::filesystem::path(temp_path("empty-dir"));
      std::filesystem::create_directories(empty);
      for (const std::string& bad : {std::string("/nonexistent/metrics.json"), empty.string()}) {
        auto path = temp_path("bad-dir.json");
        auto r =
            run_process(pmcmodel({"import", recording063(), "--metrics", bad, "--json", path}));
        CHECK(r.exit_code == 2);
        CHECK(lines(r.err) == 1);
        CHECK(r.err.find("--metrics " + bad) != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(path));
      }
      std::filesystem::remove_all(empty);
    }
  }

  TEST_CASE("report FILE -m X --metrics P derives the metrics again from the document's events") {
    auto path = temp_path("report-063.json");
    auto r = run_process(pmcmodel({"import", recording063(), "-m", "ipc", "--json", path}));
    REQUIRE(r.exit_code == 0);
    auto plain = run_process(pmcmodel({"report", path}));
    REQUIRE(plain.exit_code == 0);
    CHECK(plain.out.find("uops_issued_per_cycle") == std::string::npos);
    auto again =
        run_process(pmcmodel({"report", path, "-m", "PipelineL1", "--metrics", perf_dir()}));
    REQUIRE_MESSAGE(again.exit_code == 0, again.err);
    CHECK(again.out.find("uops_issued_per_cycle") != std::string::npos);
    auto bad = run_process(pmcmodel({"report", path, "--metrics", "/nonexistent"}));
    CHECK(bad.exit_code == 2);
    CHECK(lines(bad.err) == 1);
    auto bad_literal = run_process(pmcmodel({"report", path, "--literal", "slots"}));
    CHECK(bad_literal.exit_code == 2);
    CHECK(bad_literal.err.find("--literal slots") != std::string::npos);
    std::filesystem::remove(path);
  }

  TEST_CASE("import: the recording's literals, --per-core rows show SMT and the cores") {
    // 002.txt: `perf stat --per-core -e cpu_core/cycles/ -a` on an Alder Lake, each P-core
    // "S0-D0-Cn  2": two CPUs per core.
    auto doc = imported({recording("wild/002.txt"), "--cpu", "alderlake"}, "002.json");
    bool said = false;
    for (const auto& n : doc["notes"])
      said |= n.get<std::string>().find("#smt_on = 1 (the recording") != std::string::npos;
    CHECK(said);
    // 010.txt: `perf stat -a --per-core -e power/energy-pkg/` on a 4-core Intel: rows S0-D0-C0
    // to S0-D0-C3 (perf's CPU count 1, 0, 0, 0: the package event is read on CPU 0 only, so the
    // CPUs are not known).
    auto cores = imported({recording("wild/010.txt"), "--cpu", "skylake"}, "010.json");
    std::string literals;
    for (const auto& n : cores["notes"])
      if (n.get<std::string>().rfind("metric literals: ", 0) == 0) literals = n;
    CHECK(literals.find("#num_cores = 4 (the recording") != std::string::npos);
    CHECK(literals.find("#num_packages = 1 (the recording") != std::string::npos);
    CHECK(literals.find("#num_cpus") == std::string::npos);
  }

  TEST_CASE("import derives metrics with the metric engine and keeps perf's beside them") {
    auto path = temp_path("013.json");
    auto r = run_process(pmcmodel({"import", perfstat("013.txt"), "--json", path}));
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(read_file(path));
    // 013.txt: topdown-retiring 11,048,627,225 over the sum of the four topdown-* counts
    // (2,231,092,499 + 34,358,400,894 + 11,048,627,225 + 246,679,210,776).
    const json* ours = find_named(doc["metrics"], "tma_retiring");
    REQUIRE(ours != nullptr);
    CHECK((*ours)["value"].get<double>() ==
          doctest::Approx(11048627225.0 / 294317331394.0).epsilon(1e-9));
    CHECK((*ours)["unit"] == "ratio");
    const json* perf = find_named(doc["reported"], "tma_retiring");
    REQUIRE(perf != nullptr);
    CHECK((*perf)["value"].get<double>() == doctest::Approx(0.038));
    // branch-misses / branches: 562,164 / 585,212,952.
    CHECK((*find_named(doc["metrics"], "branch_miss_rate"))["value"].get<double>() ==
          doctest::Approx(562164.0 / 585212952.0));
    std::filesystem::remove(path);
  }

  TEST_CASE("import --cpu: the CPU's file adds its metrics, an unknown model is refused") {
    auto path = temp_path("import-cpu.json");
    auto bad =
        run_process(pmcmodel({"import", perfstat("013.txt"), "--cpu", "z80", "--json", path}));
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--cpu z80") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(path));
    // stalled-cycles-* of 014.txt (Zen 3): zen3.json keeps generic's stall ratios.
    auto r =
        run_process(pmcmodel({"import", perfstat("014.txt"), "--cpu", "zen3", "--json", path}));
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(read_file(path));
    const json* fe = find_named(doc["metrics"], "frontend_stall_ratio");
    REQUIRE(fe != nullptr);
    CHECK((*fe)["value"].get<double>() == doctest::Approx(36709243.0 / 12730694768.0));
    std::filesystem::remove(path);
  }
  TEST_CASE("import --cpu keeps generic's values where the CPU's formulas lack their events") {
    // 008.txt (Arm, perf's default events): perf printed "0.20% of all branches", "1.88%
    // frontend cycles idle", "81.31% backend cycles idle". The Neoverse file's formulas of those
    // names read BR_MIS_PRED_RETIRED, STALL_FRONTEND, STALL_BACKEND, which were not counted:
    // generic.json's give the values from branch-misses, branches and stalled-cycles-*.
    auto path = temp_path("008-neoverse.json");
    auto r = run_process(
        pmcmodel({"import", perfstat("008.txt"), "--cpu", "neoverse-n1", "--json", path}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(path));
    const std::pair<const char*, double> printed[] = {{"branch_miss_rate", 0.0020},
                                                      {"frontend_stall_ratio", 0.0188},
                                                      {"backend_stall_ratio", 0.8131}};
    for (const auto& [name, value] : printed) {
      CAPTURE(name);
      const json* ours = find_named(doc["metrics"], name);
      REQUIRE(ours != nullptr);
      // Half a unit of perf's last printed digit (0.01 %).
      CHECK(std::abs((*ours)["value"].get<double>() - value) <= 0.00005);
      REQUIRE((*ours).contains("origin"));
      CHECK((*ours)["origin"].get<std::string>().rfind("generic.json:", 0) == 0);
    }
    std::filesystem::remove(path);
  }
  TEST_CASE("import: a zero denominator is nan in the document and in report, with its reason") {
    auto text = temp_path("zero.txt");
    auto path = temp_path("zero.json");
    std::ofstream(text)
        << ("\n Performance counter stats for 'true':\n\n"
            "             1,000      cycles\n"
            "             2,000      instructions              #    2.00  insn per cycle\n"
            "                 0      branches\n"
            "                 0      branch-misses\n\n"
            "       0.001000000 seconds time elapsed\n\n");
    auto r = run_process(pmcmodel({"import", text, "--json", path}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(path));
    // branch-misses / branches = 0 / 0: NaN, which perf prints as nan, not a dropped metric.
    const json* rate = find_named(doc["metrics"], "branch_miss_rate");
    REQUIRE(rate != nullptr);
    CHECK((*rate)["value"].is_null());
    CHECK((*rate)["nan"] == true);
    CHECK((*rate)["reason"].get<std::string>().rfind("division by zero in branches", 0) == 0);
    auto report = run_process(pmcmodel({"report", path}));
    REQUIRE_MESSAGE(report.exit_code == 0, report.err);
    CHECK(report.out.find("nan% branch_miss_rate [division by zero in branches") !=
          std::string::npos);
    std::filesystem::remove(text);
    std::filesystem::remove(path);
  }
}
