// -r N's runs as one document and the rule that a run counting nothing fails: the means, the
// sample standard deviation and perf's standard error of the mean worked out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/session/repeated_runs.h"

using namespace pmc;

namespace {

EventCount counted(const std::string& name, double value) {
  EventCount e;
  e.name = name;
  e.value = value;
  e.raw = uint64_t(value);
  e.status = EventStatus::counted;
  return e;
}

EventCount refused(const std::string& name, EventStatus status, const std::string& reason) {
  EventCount e;
  e.name = name;
  e.status = status;
  e.reason = reason;
  return e;
}

Measurement run(double cycles, double duration, double user, double sys, double joules,
                const std::string& start) {
  Measurement m;
  m.events = {counted("cycles", cycles)};
  m.duration_s = duration;
  m.user_s = user;
  m.sys_s = sys;
  m.start_time = start;
  EnergyReading e;
  e.domain = "package-0";
  e.method = "measured:powercap";
  e.joules = joules;
  e.average_watts = joules / duration;
  m.energy = {e};
  return m;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("average_runs: the elapsed time's spread is perf's, the mean's standard error") {
    // tests/data/perfstat/local/run_table.txt, perf stat -r 3 --table: the runs took 0.1017791,
    // 0.1019764 and 0.1019127 s, and perf printed "0.1018894 +- 0.0000581 seconds time elapsed".
    auto m = average_runs({run(1, 0.1017791, 0, 0, 1, "a"), run(1, 0.1019764, 0, 0, 1, "b"),
                           run(1, 0.1019127, 0, 0, 1, "c")});
    CHECK(m.duration_s == doctest::Approx(0.1018894).epsilon(1e-6));
    REQUIRE(m.duration_sem_s);
    CHECK(*m.duration_sem_s == doctest::Approx(0.0000581).epsilon(0.002));
    // One run has no spread.
    CHECK_FALSE(average_runs({run(1, 0.5, 0, 0, 1, "a")}).duration_sem_s);
  }

  TEST_CASE("average_runs: means, each run's value, the standard error and the first start") {
    auto m = average_runs({run(100, 1, 0.5, 0.1, 10, "2026-01-01T00:00:00Z"),
                           run(300, 3, 1.5, 0.3, 30, "2026-01-01T00:00:05Z")});
    REQUIRE(m.events.size() == 1);
    CHECK(m.events[0].value == 200);
    // Sample stddev: sqrt((100² + 100²) / 1) = 141.42…; the SEM: 141.42… / sqrt(2) = 100.
    REQUIRE(m.events[0].spread->stddev);
    CHECK(*m.events[0].spread->stddev == doctest::Approx(std::sqrt(20000.0)));
    REQUIRE(m.events[0].spread->sem);
    CHECK(*m.events[0].spread->sem == doctest::Approx(100));
    CHECK(m.events[0].spread->run_values == std::vector<double>{100, 300});
    CHECK(m.duration_s == 2);
    CHECK(m.user_s == 1);
    CHECK(m.sys_s == doctest::Approx(0.2));
    CHECK(m.runs == 2);
    CHECK(m.start_time == "2026-01-01T00:00:00Z");
    REQUIRE(m.energy.size() == 1);
    CHECK(m.energy[0].joules == 20);
    CHECK(m.energy[0].average_watts == 10);  // (10 W + 10 W) / 2
  }

  TEST_CASE("average_runs: one run is returned as it is") {
    auto one = run(100, 1, 0.5, 0.1, 10, "2026-01-01T00:00:00Z");
    auto m = average_runs({one});
    CHECK(m.events[0].value == 100);
    CHECK_FALSE(m.events[0].spread->sem);
    CHECK(m.events[0].spread->run_values.empty());
    CHECK(m.runs == one.runs);
  }

  TEST_CASE("nothing_counted names the first event's status and reason, only when none counted") {
    Measurement m;
    CHECK_FALSE(nothing_counted(m));  // no event asked for
    m.events = {refused("cycles", EventStatus::permission_denied, "perf_event_paranoid is 3"),
                refused("instructions", EventStatus::not_supported, "no PMU")};
    auto why = nothing_counted(m);
    REQUIRE(why);
    CHECK(*why == std::string("cycles: ") + to_string(EventStatus::permission_denied) +
                      " — perf_event_paranoid is 3");
    m.events.push_back(counted("task-clock", 1.0));
    CHECK_FALSE(nothing_counted(m));
  }
}
