// `measure -m NAME --cpu MODEL` and `import --cpu MODEL` as a user runs them (issue 3).
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
