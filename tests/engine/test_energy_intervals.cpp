// EnergyRecorder's interval readings for a command that keeps its own rows (calibrate): the
// joules of each window from a powercap fixture tree whose counter the test rewrites between
// reads, with the wraparound worked out by hand from the tree's max_energy_range_uj; and a meter
// log that stops covering the run, which costs an interval its value and gives a note, never an
// exception. Then calibrate as one call: the request's defaults.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "engine/power/energy_accounting.h"
#include "engine/workloads/calibrate.h"
#include "engine/workloads/workloads.h"
#include "test_support.h"
#include "wrap_tree.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

bool has_note(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& n : notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

EnergySettings settings_for(const std::string& power_source, const std::string& power_from) {
  EnergySettings s;
  s.power_source = power_source;
  s.power_from = power_from;
  s.gpus = "none";
  return s;
}

MachineInfo two_cpus() {
  MachineInfo m;
  m.logical_cpus = 2;
  return m;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("an interval's machine energy counts a powercap wrap between two samples") {
    pmc::test::WrapTree tree("energy-intervals");
    EnergyRecorder energy(settings_for("powercap", ""), tree.root, two_cpus(), true);
    REQUIRE(energy.machine_method() == "measured:powercap");
    CHECK(energy.machine_reason_if_none().empty());
    CHECK(energy.sample_ms() == 100);
    energy.begin_run();  // baseline 262143000000
    std::vector<std::string> notes;

    // 262143000000 → 262143200000: +200000; → 100000 wraps: (R − 262143200000) + 100000 =
    // 128850 + 100000 = 228850. The interval: 428850 µJ.
    tree.write(262143200000);
    energy.sample();
    tree.write(100000);
    auto first = energy.read_machine_interval(notes);
    REQUIRE(first.size() == 1);
    CHECK(first[0].domain == "package-0");
    CHECK(first[0].method == "measured:powercap");
    CHECK(first[0].scope == EnergyScope::machine);
    CHECK(first[0].joules == doctest::Approx(0.428850).epsilon(1e-12));
    CHECK(first[0].average_watts > 0);

    // The next window starts where the first ended: 100000 → 5000000 is 4900000 µJ.
    tree.write(5000000);
    auto second = energy.read_machine_interval(notes);
    REQUIRE(second.size() == 1);
    CHECK(second[0].joules == doctest::Approx(4.9).epsilon(1e-12));
    CHECK(notes.empty());
    CHECK(has_note(energy.machine_source_notes(), "wrapped past max_energy_range_uj 1 time(s)"));
  }

  TEST_CASE("an interval's machine energy without a source is empty, with the reason") {
    pmc::test::WrapTree tree("energy-intervals");
    EnergyRecorder energy(settings_for("none", ""), tree.root, two_cpus(), true);
    CHECK(energy.machine_method().empty());
    CHECK_FALSE(energy.machine_reason_if_none().empty());
    CHECK(energy.sample_ms() == 0);
    energy.begin_run();
    std::vector<std::string> notes;
    CHECK(energy.read_machine_interval(notes).empty());
    CHECK(energy.machine_source_notes().empty());
  }

  TEST_CASE("a meter log that stops mid-run costs the uncovered interval its value, with a note") {
    // 100 W every 50 ms from 2 s ago to 1 s from now: the first interval is covered, one that
    // starts after the log's last sample is not.
    auto dir = pmc::test::make_temp_dir("energy-meter");
    auto log_path = dir / "meter.csv";
    double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    {
      std::ofstream log(log_path);
      log << "timestamp,watts\n";
      for (int i = -40; i <= 20; ++i) log << std::to_string(now + 0.05 * i) << ",100\n";
    }
    SysRoot root;
    root.sys = dir;  // no powercap: the meter is the source
    EnergyRecorder energy(settings_for("auto", log_path.string()), root, two_cpus(), true);
    REQUIRE(energy.machine_method() == "measured:external");
    energy.begin_run();
    std::vector<std::string> notes;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto covered = energy.read_machine_interval(notes);
    REQUIRE(covered.size() == 1);
    CHECK(covered[0].average_watts == doctest::Approx(100).epsilon(1e-6));
    // Past the log's end (1 s after `now`), then a whole window after it.
    double past_end = now + 1.0 + 0.05;
    double wait =
        past_end -
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    (void)energy.read_machine_interval(notes);  // partly covered
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::vector<EnergyReading> uncovered;
    CHECK_NOTHROW(uncovered = energy.read_machine_interval(notes));
    CHECK(uncovered.empty());
    CHECK(has_note(energy.machine_source_notes(), "does not cover 1 of the run's"));
    CHECK(has_note(energy.machine_source_notes(), "they carry no wall energy"));
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  TEST_CASE("a calibration request gets every thread count up to the CPUs and the suite") {
    CalibrationRequest request;
    complete_calibration_request(request, 4);
    CHECK(request.threads == std::vector<int>{1, 2, 3, 4});
    CHECK(request.workloads == suite_workloads());

    CalibrationRequest given;
    given.threads = {8, 2, 8, 1};
    given.workloads = {"idle"};
    complete_calibration_request(given, 4);
    CHECK(given.threads == std::vector<int>{1, 2, 8});  // sorted, distinct, not capped
    CHECK(given.workloads == std::vector<std::string>{"idle"});
  }

  TEST_CASE("a calibration request naming an unknown workload is refused with the known ones") {
    CalibrationRequest request;
    request.workloads = {"idle", "nosuch"};
    try {
      complete_calibration_request(request, 2);
      FAIL("an unknown workload was accepted");
    } catch (const CalibrationRequestError& e) {
      std::string what = e.what();
      CHECK(what.find("--workloads: unknown workload 'nosuch' (expected one of: ") == 0);
      for (const auto& w : workload_names()) CHECK(what.find(w) != std::string::npos);
    }
  }
}

TEST_SUITE("kernel") {
  TEST_CASE(
      "calibrate as one call: rows with the fixture's powercap watts, the power source named") {
    // The wrap tree's energy_uj never changes during the run: every row's package-0 watts are 0,
    // and the tree has no cpufreq, so the frequency is not varied.
    pmc::test::WrapTree tree("energy-intervals");
    CalibrationRequest request;
    request.seconds = 1.5;
    request.workloads = {"idle"};
    request.threads = {1};
    request.power_source = "powercap";
    request.executable = pmc::test::pmcmodel({}).front();
    request.created_at = "2026-01-01T00:00:00Z";
    complete_calibration_request(request, 2);
    std::vector<size_t> steps_seen;
    auto r = calibrate(tree.root, two_cpus(), request,
                       [&](size_t index, size_t count, const CalibrationStep& step, double) {
                         steps_seen.push_back(index);
                         CHECK(count == 1);
                         CHECK(step.workload == "idle");
                       });
    CHECK(steps_seen == std::vector<size_t>{0});
    REQUIRE(r.steps.size() == 1);
    CHECK(r.power_method == "measured:powercap");
    CHECK(r.columns.domains == std::vector<std::string>{"package-0"});
    REQUIRE(r.rows > 0);
    CHECK(r.rows == r.run.samples.size());
    for (const auto& s : r.run.samples) CHECK(s.watts.at("package-0") == 0);
    CHECK(r.csv.find("package_0_watts") != std::string::npos);
    CHECK(r.csv.find("created_at=2026-01-01T00:00:00Z") != std::string::npos);
    CHECK(has_note(r.notes, "frequency not varied"));
    CHECK(r.context.no_watts ==
          "the power source (measured:powercap) gave no reading in any interval (the notes say "
          "why)");
    CHECK(r.workloads_in_rows == std::vector<std::string>{"idle"});
    CHECK(r.threads_in_rows == std::vector<int>{1});
  }

  TEST_CASE("calibrate with a meter log that misses the run says so, naming the file and times") {
    // A log of 2020-01-01 (Unix 1577836800 … +10 s): no interval of a run today overlaps it.
    auto dir = pmc::test::make_temp_dir("calibrate-meter");
    auto log_path = (dir / "meter.csv").string();
    {
      std::ofstream log(log_path);
      log << "timestamp,watts\n";
      for (int i = 0; i <= 10; ++i) log << 1577836800 + i << ",150\n";
    }
    pmc::test::WrapTree tree("energy-intervals");
    CalibrationRequest request;
    request.seconds = 1.5;
    request.workloads = {"idle"};
    request.threads = {1};
    request.power_from = log_path;
    request.executable = pmc::test::pmcmodel({}).front();
    request.created_at = "2026-01-01T00:00:00Z";
    complete_calibration_request(request, 2);
    auto r = calibrate(tree.root, two_cpus(), request, nullptr);
    CHECK(r.power_method == "measured:external");
    CHECK(r.columns.domains.empty());
    REQUIRE(r.run.samples.size() > 0);
    CHECK_MESSAGE(
        has_note(r.power_notes, log_path + ": the log (2020-01-01T00:00:00.000Z to "
                                           "2020-01-01T00:00:10.000Z) does not cover any of the "
                                           "run's "),
        r.power_notes.size());
    CHECK(has_note(r.power_notes, "check the file and both clocks"));
    CHECK(r.context.no_watts.find("measured:external") != std::string::npos);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}
