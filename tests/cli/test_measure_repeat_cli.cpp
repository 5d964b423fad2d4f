// measure -r N: the document keeps each run's value, their mean, their sample standard
// deviation and the standard error of the mean; the table prints the last as perf does
// ("( +- x% )", x = 100 * stddev / sqrt(N) / mean). Expected figures are worked out here from
// the runs' own values in the document.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;

TEST_SUITE("kernel") {
  TEST_CASE("measure -r 5 prints the standard error of the mean of its own runs") {
    auto dir = make_temp_dir("measure-repeat");
    auto path = (dir / "r5.json").string();
    // Software events: they count under any perf_event_paranoid for one's own command.
    auto cmd = child_command("exit:0");
    std::vector<std::string> args = {"measure", "-r", "5", "-e", "task-clock,page-faults",
                                     "--json",  path, "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = run_process(pmcmodel(args));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(path));
    CHECK(doc["runs"] == 5);
    int checked = 0;
    for (const auto& e : doc["events"]) {
      std::string name = e["name"];
      CAPTURE(name);
      if (e["status"] != "counted") continue;
      REQUIRE(e.contains("run_values"));
      const auto& runs = e["run_values"];
      REQUIRE(runs.size() == 5);
      double sum = 0, sq = 0;
      for (const auto& v : runs) sum += v.get<double>();
      double mean = sum / 5;
      for (const auto& v : runs) sq += (v.get<double>() - mean) * (v.get<double>() - mean);
      double stddev = std::sqrt(sq / 4), sem = stddev / std::sqrt(5.0);
      CHECK(e["value"].get<double>() == doctest::Approx(mean));
      CHECK(e["stddev"].get<double>() == doctest::Approx(stddev));
      CHECK(e["sem"].get<double>() == doctest::Approx(sem));
      // The table (stderr) prints perf's +- of this event: 100 * sem / mean, two decimals.
      if (mean == 0) continue;
      auto expected = fmt::format("( +- {:5.2f}% )", sem / mean * 100);
      std::istringstream table(r.err);
      bool row = false;
      for (std::string line; std::getline(table, line);) {
        auto at = line.find(" " + name);
        if (at == std::string::npos || line.find("+-") == std::string::npos) continue;
        row = true;
        CHECK_MESSAGE(line.find(expected) != std::string::npos, line);
      }
      CHECK(row);
      ++checked;
    }
    CHECK(checked == 2);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("-r N whose command fails stops there, and the document says how many runs it made") {
    for (auto [spec, why] : {std::pair<std::string, std::string>{"exit:3", "exited with status 3"},
                             {"raise:" + std::to_string(SIGABRT), "was killed by SIGABRT"}}) {
      CAPTURE(spec);
      auto cmd = child_command(spec);
      std::vector<std::string> args = {"measure",    "-q",     "-r", "3", "-e",
                                       "task-clock", "--json", "-",  "--"};
      args.insert(args.end(), cmd.begin(), cmd.end());
      auto r = run_process(pmcmodel(args));
      CHECK(r.exit_code != 0);
      auto doc = json::parse(r.out);
      CHECK(doc["runs"] == 1);
      bool said = false;
      for (const auto& n : doc["notes"])
        said = said || n.get<std::string>().find("-r 3: stopped after run 1 of 3, as the command " +
                                                 why) != std::string::npos;
      CHECK(said);
    }
  }

  TEST_CASE(
      "-r N with --duration makes N runs of that length: a stop at the duration is no failure") {
    auto r = run_process(pmcmodel({"measure", "-q", "-r", "2", "-e", "task-clock", "--duration",
                                   "0.2", "--json", "-", "--", "sleep", "10"}));
    CHECK(r.exit_code == 128 + SIGTERM);  // the command's status, as with one run
    auto doc = json::parse(r.out);
    CHECK(doc["runs"] == 2);
    CHECK(doc["stopped_at_duration"] == true);
    CHECK(doc["duration_s"].get<double>() >= 0.2);
    for (const auto& n : doc["notes"])
      CHECK(n.get<std::string>().find("-r 2: stopped") == std::string::npos);
  }
}
