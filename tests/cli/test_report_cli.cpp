// `pmcmodel report` of imported recordings: what perf printed and the import kept (reported[])
// is shown, and a time the recording does not have is said to be absent, never printed as 0.
// Expected figures are the ones perf printed in the recordings.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;

namespace {

std::string recording(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/" + name;
}

// Imports `name` to a document and returns report's table of it.
std::string report_of(const std::string& name, const std::filesystem::path& dir, json* doc) {
  auto path = (dir / (std::filesystem::path(name).filename().string() + ".json")).string();
  auto imported = run_process(pmcmodel({"import", recording(name), "--json", path}));
  REQUIRE_MESSAGE(imported.exit_code == 0, imported.err);
  if (doc) *doc = json::parse(read_file(path));
  auto r = run_process(pmcmodel({"report", path}));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out;
}

// The table's block of what perf printed (after its heading), where reported[] is shown.
std::string reported_block(const std::string& table) {
  auto at = table.find("As perf printed them");
  return at == std::string::npos ? "" : table.substr(at);
}

// The line of the table whose text after '#' names `name` as a whole word.
std::string line_naming(const std::string& table, const std::string& name) {
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) {
    auto hash = line.find('#');
    if (hash == std::string::npos) continue;
    auto at = line.find(" " + name, hash);
    if (at == std::string::npos) continue;
    size_t end = at + 1 + name.size();
    if (end == line.size() || line[end] == ' ') return line;
  }
  return "";
}

// The first number after '#' on `line`.
double figure_after_hash(const std::string& line) {
  auto hash = line.find('#');
  REQUIRE(hash != std::string::npos);
  return std::strtod(line.c_str() + hash + 1, nullptr);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("report shows perf's kept metrics and no 0 for a time the recording lacks") {
    auto dir = make_temp_dir("report-cli");
    SUBCASE("a trimmed hybrid recording: CPUs utilized, TopdownL1 per PMU, no elapsed time") {
      // wild/016.txt (perf 6.4-dev, Alder Lake): "32,154.81 msec cpu-clock # 31.978 CPUs
      // utilized", "TopdownL1 (cpu_core) # 32.0 % tma_backend_bound" and 3 more; the cover
      // letter ends before "seconds time elapsed".
      json doc;
      auto table = report_of("wild/016.txt", dir, &doc);
      CAPTURE(table);
      auto kept = reported_block(table);
      CHECK(doc["duration_s"].is_null());
      CHECK(doc["user_s"].is_null());
      CHECK(doc["sys_s"].is_null());
      CHECK(table.find("0.000000000 seconds time elapsed") == std::string::npos);
      CHECK(table.find("seconds time elapsed: absent") != std::string::npos);
      CHECK(table.find("seconds user") == std::string::npos);
      // "2,142,800 cpu_atom/instructions/ # 0.38 insn per cycle" is cpu_atom's instructions over
      // cpu_core's 5,653,347 cycles (0.379); cpu_atom's own 4,164,114 cycles give 0.515.
      CHECK(table.find("cpu_atom/ipc: perf printed 0.38") != std::string::npos);
      CHECK(table.find("cpu_atom's instructions over cpu_core's cycles") != std::string::npos);
      const std::pair<const char*, double> printed[] = {
          {"cpus_utilized", 31.978},
          {"cpu_core/tma_backend_bound", 32.0},
          {"cpu_core/tma_bad_speculation", 8.0},
          {"cpu_core/tma_frontend_bound", 45.5},
          {"cpu_core/tma_retiring", 14.5},
      };
      for (const auto& [name, value] : printed) {
        CAPTURE(name);
        auto line = line_naming(kept, name);
        REQUIRE(!line.empty());
        CHECK(figure_after_hash(line) == doctest::Approx(value).epsilon(1e-4));
      }
    }
    SUBCASE("a -r 3 recording: the LLC ratio, CPUs utilized, and its times") {
      // 013.txt: "21,945.59 msec task-clock # 2.999 CPUs utilized ( +- 19.25% )",
      // "793,272 LLC-load-misses # 10.36% of all LL-cache accesses", and its time lines.
      json doc;
      auto table = report_of("013.txt", dir, &doc);
      CAPTURE(table);
      REQUIRE(doc["duration_s"].is_number());
      double elapsed = doc["duration_s"].get<double>();
      CHECK(elapsed > 0);
      CHECK(table.find("seconds time elapsed: absent") == std::string::npos);
      // "56,513,364,885 cycles # 3.863 GHz" over 21,945.59 msec: the means give 2.575 GHz.
      CHECK(table.find("ghz: perf printed 3.863") != std::string::npos);
      CHECK(table.find("with -r 3, perf before 6.2") != std::string::npos);
      auto kept = reported_block(table);
      auto cpus = line_naming(kept, "cpus_utilized");
      REQUIRE(!cpus.empty());
      CHECK(figure_after_hash(cpus) == doctest::Approx(2.999).epsilon(1e-4));
      bool llc = false;
      for (const auto& r : doc["reported"]) {
        std::string name = r["name"];
        if (name.find("llc") == std::string::npos) continue;
        llc = true;
        auto line = line_naming(kept, name);
        REQUIRE(!line.empty());
        CHECK(figure_after_hash(line) == doctest::Approx(10.36).epsilon(1e-4));
      }
      CHECK(llc);
      // perf's +- beside the count, as perf printed it.
      std::istringstream in(table);
      bool task_clock = false;
      for (std::string line; std::getline(in, line);) {
        if (line.find(" task-clock") == std::string::npos) continue;
        task_clock = true;
        CHECK(line.find("( +- 19.25% )") != std::string::npos);
      }
      CHECK(task_clock);
    }
    std::filesystem::remove_all(dir);
  }
}
