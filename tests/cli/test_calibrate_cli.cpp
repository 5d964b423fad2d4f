// pmcmodel calibrate and workload as a user runs them at their edges: ^C in the middle of the
// suite, empty file names, the dataset to stdout, a duration longer than the clock can hold.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "test_support.h"

using namespace pmc::test;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("pmc-calibrate-" + std::to_string(getpid()) + "-" + name))
      .string();
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == s.size() - 1;
}

// The workload column of each data row of a calibration dataset.
std::vector<std::string> row_workloads(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream in(csv);
  bool header = true;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      REQUIRE(line.rfind("timestamp,workload,", 0) == 0);
      header = false;
      continue;
    }
    auto first = line.find(','), second = line.find(',', first + 1);
    out.push_back(line.substr(first + 1, second - first - 1));
  }
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("calibrate refuses an empty --out-data, --out or --power-from before anything runs") {
    // An empty value would read as the option not given (no models written, no meter read) or
    // fail only after the whole suite ran.
    for (const char* option : {"--out-data", "--out", "--power-from"}) {
      CAPTURE(option);
      auto r = run_process(pmcmodel(
          {"calibrate", "--seconds", "0.5", "--workloads", "idle", "--threads", "1", option, ""}));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(r.err.find(std::string(option) + ": expected ") != std::string::npos);
      CHECK(r.err.find("found an empty value") != std::string::npos);
      CHECK(r.out.empty());
    }
  }
}

TEST_SUITE("kernel") {
  TEST_CASE(
      "calibrate interrupted by SIGINT writes the intervals measured so far, then dies of it") {
    // Two steps of about 2.8 s each within --seconds 6: SIGINT at 1.5 s falls in the first (int),
    // which the session passes on to the workload; idle never starts.
    auto data = temp_path("interrupted.csv");
    std::filesystem::remove(data);
    auto r = run_process(pmcmodel({"calibrate", "--seconds", "6", "--workloads", "int,idle",
                                   "--threads", "1", "--out-data", data}),
                         {}, 1.5);
    // Killed by SIGINT itself after the outputs, as measure -a and perf stat end on ^C.
    REQUIRE_MESSAGE(r.term_signal == SIGINT, r.err);
    REQUIRE(std::filesystem::exists(data));
    auto workloads = row_workloads(read_file(data));
    CHECK(!workloads.empty());
    for (const auto& w : workloads) CHECK(w == "int");
    CHECK(r.out.find("from 1 of 2 steps (workloads int; threads 1)") != std::string::npos);
    CHECK(r.out.find("note: interrupted by SIGINT") != std::string::npos);
    CHECK_MESSAGE(r.out.find("note: workload idle is not in the dataset: the run was interrupted "
                             "(SIGINT) before it ran") != std::string::npos,
                  r.out);
    std::filesystem::remove(data);
  }

  TEST_CASE("calibrate names a thread count the plan for --seconds left out") {
    // --seconds 0.5 leaves 0.475 s of steps, room for one of at least 0.25 s: of threads 1 and 2
    // only the smallest runs (docs/MODELS.md).
    auto data = temp_path("plan.csv");
    auto r = run_process(pmcmodel({"calibrate", "--seconds", "0.5", "--workloads", "idle",
                                   "--threads", "1,2", "--out-data", data}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.find("from 1 step (workloads idle; threads 1)") != std::string::npos);
    CHECK_MESSAGE(r.out.find("note: 2 threads are not in the dataset: the plan for --seconds left "
                             "them out\n") != std::string::npos,
                  r.out);
    std::filesystem::remove(data);
  }

  TEST_CASE("calibrate --out-data - writes the dataset to stdout and the report to stderr") {
    // As fit --out - does: stdout is the dataset alone, so it can be piped; the fits read the
    // same text (there is no file to read back).
    auto r = run_process(pmcmodel({"calibrate", "--seconds", "1", "--workloads", "int,idle",
                                   "--threads", "1", "--out-data", "-"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto workloads = row_workloads(r.out);
    CHECK(workloads.size() >= 4);
    CHECK(r.out.find("# machine.hostname=") != std::string::npos);
    CHECK(r.out.find("calibrate:") == std::string::npos);
    CHECK(r.err.find("calibrate: ") == 0);
    CHECK(r.err.find("wrote the dataset to stdout\n") != std::string::npos);
    CHECK(r.err.find("\ncounted: task_clock_per_s") != std::string::npos);
    CHECK(!std::filesystem::exists("-"));
  }

  TEST_CASE("workload --seconds beyond what the clock holds runs until stopped") {
    // 1e300 s does not fit in steady_clock's 64-bit nanoseconds: the deadline saturates instead
    // of wrapping into the past, so the workload is still running when SIGINT ends it.
    auto r = run_process(pmcmodel({"workload", "idle", "--seconds", "1e300"}), {}, 0.5);
    CHECK(r.exit_code == 128 + SIGINT);
  }
}
