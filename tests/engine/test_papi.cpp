// The PAPI backend against the real libpapi on this machine. In a VM without a PMU, PAPI's
// perf_event component is disabled ("libpfm4 no default PMU found"), so most tests check that
// the reasons reach the events; the counting test runs only where PAPI can count task-clock.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "engine/counting/papi_counters.h"
#include "engine/counting/perf_event.h"
#include "test_support.h"

using namespace pmc;

namespace {

// PAPI reads LIBPFM_FORCE_PMU once, at PAPI_library_init, so a forced-PMU run needs a fresh
// process: this test binary re-executed with PMC_PAPI_PROBE=<names> counts them on a sleeping
// child, prints one tab-separated line per component and per event, and exits before main.
void print_probe(const char* names);

[[maybe_unused]] const bool probe_requested = [] {
  if (const char* names = std::getenv("PMC_PAPI_PROBE")) {
    print_probe(names);
    std::fflush(stdout);
    _exit(0);
  }
  return false;
}();

// A child that sleeps until it is killed: a live pid for PAPI_attach.
struct SleepingChild {
  pid_t pid = fork();
  SleepingChild() {
    if (pid == 0) {
      pause();
      _exit(0);
    }
  }
  ~SleepingChild() {
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
  }
};

std::vector<EventCount> count_on_sleeper(const std::vector<std::string>& names,
                                         std::vector<std::string>* notes = nullptr) {
  SleepingChild child;
  auto counters = make_papi_counters(names);
  counters->open(Target{Target::Kind::pid, child.pid, "", {}});
  counters->enable();
  counters->disable();
  if (notes) *notes = counters->notes();
  return counters->read();
}

void print_probe(const char* names) {
  std::vector<std::string> list;
  std::stringstream in(names);
  for (std::string name; std::getline(in, name, ',');) list.push_back(name);
  for (const auto& [name, reason] : papi_status().components)
    std::printf("component\t%s\t%s\n", name.c_str(), reason.c_str());
  for (const auto& e : count_on_sleeper(list))
    std::printf("event\t%s\t%s\t%s\n", e.name.c_str(), to_string(e.status), e.reason.c_str());
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string f; std::getline(in, f, '\t');) fields.push_back(f);
  return fields;
}

// The perf_event component's disabled reason, "" when active; nullopt when PAPI lacks it.
std::optional<std::string> perf_event_component_reason(const PapiStatus& status) {
  for (const auto& [name, reason] : status.components)
    if (name == "perf_event") return reason;
  return std::nullopt;
}

double cpu_seconds(const rusage& ru) {
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("without libpapi every PAPI event is not_supported with the loader's error") {
    auto counters =
        make_papi_counters({"PAPI_TOT_INS", "perf::TASK-CLOCK"}, {"libpapi-missing.so.0"});
    counters->open(Target{Target::Kind::pid, getpid(), "", {}});
    counters->enable();
    counters->disable();
    auto counts = counters->read();
    REQUIRE(counts.size() == 2);
    CHECK(counts[0].name == "PAPI_TOT_INS");
    CHECK(counts[1].name == "perf::TASK-CLOCK");
    for (const auto& c : counts) {
      CHECK(c.status == EventStatus::not_supported);
      CHECK(c.reason.rfind("PAPI not available: ", 0) == 0);
      CHECK(c.reason.find("libpapi-missing.so.0") != std::string::npos);
    }
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("papi_status reports PAPI 7.0 and lists the perf_event component") {
    auto status = papi_status();
    REQUIRE_MESSAGE(status.available, status.reason);
    CHECK(status.version.rfind("7.0", 0) == 0);
    CHECK(perf_event_component_reason(status).has_value());
  }

  TEST_CASE("events PAPI cannot count carry PAPI's reason and the component's disabled reason") {
    auto component = perf_event_component_reason(papi_status());
    REQUIRE(component.has_value());
    std::vector<std::string> notes;
    auto counts = count_on_sleeper({"PAPI_TOT_INS", "perf::TASK-CLOCK"}, &notes);
    REQUIRE(counts.size() == 2);
    CHECK(counts[0].name == "PAPI_TOT_INS");
    CHECK(counts[1].name == "perf::TASK-CLOCK");
    CHECK(counts[1].unit == "ns");
    if (component->empty()) {
      MESSAGE(
          "PAPI's perf_event component is active here: the disabled-component path is not taken");
      for (const auto& c : counts) CHECK((c.counted() || !c.reason.empty()));
      return;
    }
    MESSAGE("perf_event component disabled: " << *component);
    for (const auto& c : counts) {
      CHECK(c.status == EventStatus::not_supported);
      CHECK(!c.reason.empty());
      CHECK(c.reason.find(*component) != std::string::npos);
    }
    CHECK(!notes.empty());
  }

  TEST_CASE("an unknown PAPI name is not_supported, named in its reason, and fails alone") {
    auto counts = count_on_sleeper({"PAPI_NOPE", "PAPI_TOT_INS"});
    REQUIRE(counts.size() == 2);
    CHECK(counts[0].name == "PAPI_NOPE");
    CHECK(counts[0].status == EventStatus::not_supported);
    CHECK(counts[0].reason.find("PAPI_NOPE") != std::string::npos);
    // PAPI_TOT_INS is a known preset: whatever happens to it is about it, not about PAPI_NOPE.
    CHECK(counts[1].reason.find("PAPI_NOPE") == std::string::npos);
    CHECK((counts[1].counted() || !counts[1].reason.empty()));
  }

  TEST_CASE(
      "system-wide PAPI events refused by PAPI's hardware test-open say that no PMU answered") {
    // PAPI_set_opt(PAPI_GRANUL/PAPI_DOMAIN/PAPI_CPU_ATTACH) test-opens a hardware instructions
    // counter, as PAPI_attach does: without a PMU it answers "Event does not exist" even for
    // perf::TASK-CLOCK, which alone would send the user looking for a misspelt name.
    auto component = perf_event_component_reason(papi_status());
    REQUIRE(component.has_value());
    if (probe_hardware_counters() == 0 || !component->empty()) {
      MESSAGE("a PMU answers here, or PAPI's perf_event component is disabled: path not taken");
      return;
    }
    auto counters = make_papi_counters({"perf::TASK-CLOCK"});
    counters->open(Target{Target::Kind::system_wide, -1, "", {0}});
    counters->enable();
    counters->disable();
    auto counts = counters->read();
    REQUIRE(counts.size() == 1);
    if (counts[0].counted()) {
      MESSAGE("PAPI counts perf::TASK-CLOCK system-wide here without a PMU");
      return;
    }
    CHECK(counts[0].status == EventStatus::not_supported);
    CHECK_MESSAGE(counts[0].reason.find("Event does not exist (PAPI tests with a hardware "
                                        "instructions counter, which the kernel refused") !=
                      std::string::npos,
                  counts[0].reason);
  }

  TEST_CASE("a cgroup target is not_supported by the PAPI backend") {
    auto counters = make_papi_counters({"perf::TASK-CLOCK"});
    counters->open(Target{Target::Kind::cgroup, -1, "/sys/fs/cgroup", {}});
    auto counts = counters->read();
    REQUIRE(counts.size() == 1);
    CHECK(counts[0].status == EventStatus::not_supported);
    CHECK(counts[0].reason.find("cgroup") != std::string::npos);
  }

  TEST_CASE(
      "with LIBPFM_FORCE_PMU PAPI's perf_event component is active, a VM still counts no "
      "hardware") {
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    auto run =
        test::run_process({self}, {"LIBPFM_FORCE_PMU=amd64_fam19h_zen3",
                                   "PMC_PAPI_PROBE=PAPI_TOT_INS,PAPI_TOT_CYC,perf::TASK-CLOCK"});
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    std::optional<std::string> component;
    std::vector<std::vector<std::string>> events;
    std::stringstream out(run.out);
    for (std::string line; std::getline(out, line);) {
      auto f = split_tabs(line);
      if (f.size() >= 2 && f[0] == "component" && f[1] == "perf_event")
        component = f.size() > 2 ? f[2] : "";
      if (f.size() >= 3 && f[0] == "event") events.push_back(f);
    }
    REQUIRE(component.has_value());
    CHECK_MESSAGE(component->empty(), "forced PMU left perf_event disabled: " << *component);
    REQUIRE(events.size() == 3);
    bool hardware_pmu = probe_hardware_counters() == 0;
    for (const auto& f : events) {
      std::string reason = f.size() > 3 ? f[3] : "";
      MESSAGE("forced zen3: " << f[1] << " " << f[2] << " " << reason);
      CHECK((f[2] == "counted" || !reason.empty()));
      if (!hardware_pmu && f[1].rfind("PAPI_", 0) == 0) CHECK(f[2] != "counted");
    }
  }

  TEST_CASE(
      "PAPI task-clock of a busy child agrees with its rusage CPU time, where PAPI counts it") {
    auto probe = count_on_sleeper({"perf::TASK-CLOCK"});
    REQUIRE(probe.size() == 1);
    if (!probe[0].counted()) {
      MESSAGE("PAPI cannot count perf::TASK-CLOCK here: " << probe[0].reason);
      CHECK(probe[0].status != EventStatus::not_counted);
      CHECK(!probe[0].reason.empty());
      return;
    }
    int gate[2];
    REQUIRE(pipe(gate) == 0);
    auto argv = test::child_command("spin:0.3");
    pid_t pid = fork();
    if (pid == 0) {
      close(gate[1]);
      char c;
      if (::read(gate[0], &c, 1) != 1) _exit(126);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(gate[0]);
    auto counters = make_papi_counters({"perf::TASK-CLOCK"});
    counters->open(Target{Target::Kind::command, pid, "", {}});
    counters->enable();
    REQUIRE(write(gate[1], "x", 1) == 1);
    close(gate[1]);
    int status = 0;
    rusage ru{};
    REQUIRE(wait4(pid, &status, 0, &ru) == pid);
    counters->disable();
    auto counts = counters->read();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    REQUIRE(counts[0].counted());
    CHECK(counts[0].running_fraction() == doctest::Approx(1.0));
    double counted_s = counts[0].value * 1e-9;
    double rusage_s = cpu_seconds(ru);
    MESSAGE("PAPI task-clock " << counted_s << " s, rusage " << rusage_s << " s");
    CHECK(counted_s == doctest::Approx(rusage_s).epsilon(0.05));
  }
}
