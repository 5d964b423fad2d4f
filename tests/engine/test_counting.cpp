// The real counting path on this machine: software events, msr/tsc, and hardware events that a
// VM without a PMU refuses. Children are this test binary re-executed (test_main.cpp).
#include <doctest/doctest.h>
#include <x86intrin.h>

#include <signal.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "engine/counting/perf_event.h"
#include "engine/session/session.h"
#include "engine/system/mounts.h"
#include "events/metrics/derived_metrics.h"
#include "events/names/resolver.h"
#include "test_support.h"

using namespace pmc;

namespace {

struct Counted {
  RunResult run;
  std::vector<std::string> notes;
  double steal_s = 0;  // the machine's steal time during the run (test::machine_steal_s)
};

Counted count(const std::string& events, const std::string& child_spec, RunOptions options = {}) {
  double steal_before = test::machine_steal_s();
  SysRoot root = SysRoot::from_env();
  EventResolver resolver(root);
  auto counters = make_perf_event_counters(resolver.resolve_list(events), root);
  options.argv = test::child_command(child_spec);
  Counted c;
  c.run = run_counted(*counters, options, nullptr);
  c.notes = counters->notes();
  c.steal_s = test::machine_steal_s() - steal_before;
  return c;
}

const EventCount& event(const RunResult& r, const std::string& name) {
  for (const auto& e : r.events)
    if (e.name == name) return e;
  FAIL("no event " << name);
  static EventCount none;
  return none;
}

double task_clock_s(const RunResult& r) {
  return event(r, "task-clock").value * 1e-3;
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("task-clock of one busy thread agrees with the child's rusage CPU time") {
    auto c = count("task-clock", "spin:0.3");
    REQUIRE(c.run.exit_status == 0);
    const auto& tc = event(c.run, "task-clock");
    REQUIRE(tc.counted());
    double cpu = c.run.user_s + c.run.sys_s;
    CHECK(cpu > 0.25);
    CHECK(std::abs(task_clock_s(c.run) - cpu) <= 0.05 * cpu + c.steal_s);
    auto metrics = derive_metrics(c.run.events, c.run.duration_s);
    auto it = std::find_if(metrics.begin(), metrics.end(),
                           [](auto& m) { return m.name == "cpus_utilized"; });
    REQUIRE(it != metrics.end());
    // One thread: 1 CPU on an idle machine; beside other busy tasks, what the scheduler gave it,
    // which wait4's CPU time over the wall time says too (within task-clock's agreement above).
    CAPTURE(c.steal_s);
    CHECK(it->value <= 1.05);
    CHECK(std::abs(it->value - cpu / c.run.duration_s) <=
          (0.05 * cpu + c.steal_s) / c.run.duration_s);
  }

  TEST_CASE("inherit counts the command's threads and forked children") {
    for (const char* spec : {"spin2threads:0.3", "forkspin:0.3"}) {
      CAPTURE(spec);
      auto c = count("task-clock", spec);
      REQUIRE(c.run.exit_status == 0);
      double cpu = c.run.user_s + c.run.sys_s;
      CHECK(cpu > 0.5);
      CAPTURE(c.steal_s);
      CHECK(std::abs(task_clock_s(c.run) - cpu) <= 0.05 * cpu + c.steal_s);
      // Each of the two spins 0.3 s of its own CPU time, so both were counted: at least 0.6 s,
      // which one task alone could not reach in less wall time than that.
      CHECK(task_clock_s(c.run) >= 0.59);
      // CPUs utilized is 2 on an idle 2-core machine; under load it is what the scheduler gave
      // them, which wait4's CPU time over the wall time also says.
      CHECK(std::abs(task_clock_s(c.run) - cpu) / c.run.duration_s <=
            (0.05 * cpu + c.steal_s) / c.run.duration_s);
      if (c.run.duration_s < 0.35) CHECK(task_clock_s(c.run) / c.run.duration_s > 1.7);
    }
  }

  TEST_CASE("a child touching N fresh pages takes at least N minor faults") {
    const int pages = 5000;
    auto c = count("page-faults,minor-faults,major-faults", "touch:" + std::to_string(pages));
    REQUIRE(c.run.exit_status == 0);
    CHECK(event(c.run, "minor-faults").value >= pages);
    CHECK(event(c.run, "page-faults").value >= pages);
    CHECK(event(c.run, "major-faults").counted());
  }

  TEST_CASE("msr/tsc/ in a group under a software leader counts TSC ticks while the task runs") {
    unsigned long long t0 = __rdtsc();
    auto wall0 = std::chrono::steady_clock::now();
    auto c = count("{task-clock,msr/tsc/}", "spin:0.3");
    unsigned long long t1 = __rdtsc();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    double tsc_hz = double(t1 - t0) / wall;
    const auto& tsc = event(c.run, "msr/tsc/");
    REQUIRE(tsc.counted());
    CHECK(tsc.time_running_ns == tsc.time_enabled_ns);  // one group, never multiplexed
    // The msr PMU reads the TSC at each switch in and out of the task: ticks while it ran.
    CHECK(tsc.value == doctest::Approx(tsc_hz * task_clock_s(c.run)).epsilon(0.05));
  }

  TEST_CASE("hardware events on a machine without a PMU end not_supported and the run succeeds") {
    if (probe_hardware_counters() == 0) {
      MESSAGE("this machine has hardware counters: checking they count instead");
      auto c = count("cycles,instructions", "spin:0.1");
      CHECK(event(c.run, "instructions").counted());
      return;
    }
    auto c = count("task-clock,cycles,instructions,{branches,branch-misses}", "spin:0.1");
    CHECK(c.run.exit_status == 0);
    CHECK(event(c.run, "task-clock").counted());
    for (const char* name : {"cycles", "instructions", "branches", "branch-misses"}) {
      CAPTURE(name);
      CHECK(event(c.run, name).status == EventStatus::not_supported);
      CHECK(event(c.run, name).reason.find("ENOENT") != std::string::npos);
    }
    // The {branches,branch-misses} group was refused as a whole and then tried one by one.
    bool split_noted = false;
    for (const auto& n : c.notes) split_noted |= n.find("split") != std::string::npos;
    CHECK(split_noted);
  }

  TEST_CASE("interval mode gives deltas that add up to the total") {
    RunOptions o;
    o.interval_ms = 50;
    std::vector<Interval> streamed;
    SysRoot root = SysRoot::from_env();
    EventResolver resolver(root);
    auto counters =
        make_perf_event_counters(resolver.resolve_list("task-clock,context-switches"), root);
    o.argv = test::child_command("spin:0.3");
    auto r = run_counted(*counters, o, [&](Interval& iv) { streamed.push_back(iv); });
    REQUIRE(r.intervals.size() >= 4);
    CHECK(streamed.size() == r.intervals.size());
    uint64_t sum = 0;
    for (const auto& iv : r.intervals) sum += iv.events[0].raw;
    CHECK(sum == r.events[0].raw);
    for (size_t i = 1; i + 1 < r.intervals.size(); ++i)
      CHECK(r.intervals[i].duration_s == doctest::Approx(0.05).epsilon(0.5));
  }

  TEST_CASE("interval mode with on_tick: raw numbers at the ticks, intervals built after the run") {
    // The same run as above through RunOptions::on_tick: each tick keeps only the counters' raw
    // record, and the intervals reach the sink after the run; on_tick comes once per interval,
    // the last partial one included, and the deltas still add up exactly.
    RunOptions o;
    o.interval_ms = 50;
    SysRoot root = SysRoot::from_env();
    EventResolver resolver(root);
    auto counters =
        make_perf_event_counters(resolver.resolve_list("task-clock,context-switches"), root);
    o.argv = test::child_command("spin:0.3");
    size_t ticks = 0, sunk = 0;
    bool ended = false;
    o.on_tick = [&] {
      CHECK_FALSE(ended);
      ++ticks;
    };
    auto r = run_counted(*counters, o, [&](Interval&) { ++sunk; });
    ended = true;
    REQUIRE(r.intervals.size() >= 4);
    CHECK(ticks == r.intervals.size());
    CHECK(sunk == r.intervals.size());
    for (size_t e = 0; e < 2; ++e) {
      uint64_t sum = 0;
      for (const auto& iv : r.intervals) sum += iv.events[e].raw;
      CHECK(sum == r.events[e].raw);
    }
    CHECK(r.intervals[0].events[0].name == "task-clock");
    CHECK(r.intervals[0].events[0].status == EventStatus::counted);
    CHECK(r.intervals[0].events[0].value ==
          doctest::Approx(double(r.intervals[0].events[0].raw) * 1e-6));  // ns → msec
    for (size_t i = 1; i + 1 < r.intervals.size(); ++i) {
      CHECK(r.intervals[i].duration_s == doctest::Approx(0.05).epsilon(0.5));
      CHECK(r.intervals[i].time_s > r.intervals[i - 1].time_s);
    }
  }

  TEST_CASE("on_tick in batches: the intervals reach the sink batch by batch and none is kept") {
    // ticks_per_batch 3 and keep_intervals false, as measure -I runs a long recording: every 3
    // ticks the intervals so far go to the sink, then on_batch; nothing is left in the result,
    // and the streamed deltas still add up exactly (the first of each batch starts from the
    // previous batch's last record, not from zero).
    RunOptions o;
    o.interval_ms = 20;
    o.ticks_per_batch = 3;
    o.keep_intervals = false;
    SysRoot root = SysRoot::from_env();
    EventResolver resolver(root);
    auto counters =
        make_perf_event_counters(resolver.resolve_list("task-clock,context-switches"), root);
    o.argv = test::child_command("spin:0.3");
    size_t ticks = 0;
    std::vector<size_t> sunk_at_batch;
    std::vector<Interval> streamed;
    o.on_tick = [&] { ++ticks; };
    o.on_batch = [&] {
      CHECK(streamed.size() == ticks);  // each batch delivers every tick so far
      sunk_at_batch.push_back(streamed.size());
    };
    auto r = run_counted(*counters, o, [&](Interval& iv) { streamed.push_back(iv); });
    CHECK(r.intervals.empty());
    REQUIRE(streamed.size() >= 7);
    CHECK(ticks == streamed.size());
    REQUIRE_FALSE(sunk_at_batch.empty());
    for (size_t b = 0; b < sunk_at_batch.size(); ++b) CHECK(sunk_at_batch[b] == 3 * (b + 1));
    for (size_t e = 0; e < 2; ++e) {
      uint64_t sum = 0;
      for (const auto& iv : streamed) sum += iv.events[e].raw;
      CHECK(sum == r.events[e].raw);
    }
    for (size_t i = 1; i < streamed.size(); ++i) CHECK(streamed[i].time_s > streamed[i - 1].time_s);
    CHECK(streamed.back().partial);
  }

  TEST_CASE("a raw record read after the counters stop gives what read() gives") {
    SysRoot root = SysRoot::from_env();
    auto counters = make_perf_event_counters(
        EventResolver(root).resolve_list("task-clock,page-faults,cycles"), root);
    Target self;
    self.kind = Target::Kind::pid;
    self.pid = ::getpid();
    counters->open(self);
    counters->enable();
    std::vector<char> touch(1 << 22, 1);  // page faults and CPU time to count
    counters->disable();
    std::vector<uint64_t> raw;
    REQUIRE(counters->read_raw(raw));
    REQUIRE(raw.size() == counters->raw_record_size());
    std::vector<EventCount> from_raw;
    counters->counts_from_raw(raw.data(), from_raw);
    auto direct = counters->read();
    REQUIRE(from_raw.size() == direct.size());
    for (size_t i = 0; i < direct.size(); ++i) {
      CAPTURE(direct[i].name);
      CHECK(from_raw[i].name == direct[i].name);
      CHECK(from_raw[i].raw == direct[i].raw);
      CHECK(from_raw[i].value == direct[i].value);
      CHECK(from_raw[i].status == direct[i].status);
      CHECK(from_raw[i].reason == direct[i].reason);
      CHECK(from_raw[i].time_running_ns == direct[i].time_running_ns);
    }
    CHECK(direct[0].raw > 0);  // task-clock counted this thread's work
  }

  TEST_CASE("exit status and signals of the command are reported") {
    SUBCASE("exit code") {
      auto c = count("task-clock", "exit:7");
      CHECK(c.run.exit_status == 7);
      CHECK_FALSE(c.run.term_signal.has_value());
    }
    SUBCASE("killed by a signal: 128+N and the signal's number") {
      auto c = count("task-clock", "raise:" + std::to_string(SIGABRT));
      CHECK(c.run.term_signal == SIGABRT);
      CHECK(c.run.exit_status == 128 + SIGABRT);
      CHECK(signal_name(SIGABRT) == "SIGABRT");
    }
    SUBCASE("a command that does not exist is an ExecError with 127") {
      SysRoot root;
      auto counters =
          make_perf_event_counters(EventResolver(root).resolve_list("task-clock"), root);
      RunOptions o;
      o.argv = {"/nonexistent/command"};
      try {
        run_counted(*counters, o, nullptr);
        FAIL("expected ExecError");
      } catch (const ExecError& e) {
        CHECK(e.exit_code == 127);
        CHECK(std::string(e.what()).find("/nonexistent/command") != std::string::npos);
      }
    }
    SUBCASE("a file that is not executable gives 126") {
      SysRoot root;
      auto counters =
          make_perf_event_counters(EventResolver(root).resolve_list("task-clock"), root);
      RunOptions o;
      std::string path = std::filesystem::temp_directory_path() / "pmc-not-executable.txt";
      { std::ofstream(path) << "data\n"; }
      std::filesystem::permissions(
          path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
      o.argv = {path};
      try {
        run_counted(*counters, o, nullptr);
        FAIL("expected ExecError");
      } catch (const ExecError& e) {
        CHECK(e.exit_code == 126);
      }
    }
  }

  TEST_CASE("system-wide counting opens one copy per online CPU and sums them") {
    SysRoot root;
    auto perms = read_perf_permissions(root);
    if (perms.cpu_wide_denied()) {
      MESSAGE("system-wide counting not allowed for this user");
      return;
    }
    auto counters = make_perf_event_counters(EventResolver(root).resolve_list("cpu-clock"), root);
    RunOptions o;
    o.target.kind = Target::Kind::system_wide;
    o.duration_s = 0.2;
    auto r = run_counted(*counters, o, nullptr);
    REQUIRE(r.events[0].counted());
    // cpu-clock counts wall time on each CPU: about CPUs x duration.
    double cpus = double(online_cpus(root).size());
    CHECK(r.events[0].value * 1e-3 == doctest::Approx(cpus * r.duration_s).epsilon(0.1));
  }
}

namespace {

// A child of this test binary doing `spec`, not counted from exec: for -p and -G targets.
struct Background {
  pid_t pid = -1;
  explicit Background(const std::string& spec) {
    pid = fork();
    if (pid == 0) {
      setenv("PMC_TEST_CHILD", spec.c_str(), 1);
      execl("/proc/self/exe", "child", nullptr);
      _exit(125);
    }
  }
  ~Background() {
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
  }
};

// Waits (up to 5 s) until `pid` has spent some CPU time of its own, so that a process started
// with Background is spinning, not still being loaded, when a short count begins. A sanitizer
// build's test binary can take longer than a 0.3 s window to exec on a loaded machine.
void wait_until_spinning(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(text.substr(close + 2));
      std::string field;
      long utime = 0;
      // After "pid (comm) ": state is field 3 and utime field 14 of proc(5).
      for (int f = 3; f <= 14 && fields >> field; ++f)
        if (f == 14) utime = std::atol(field.c_str());
      if (utime >= 2) return;
    }
    usleep(10000);
  }
}

// The CPU time (user + system) that `pid` has used, from /proc/PID/stat (proc(5): utime and
// stime, fields 14 and 15, in clock ticks). A zombie keeps its figures until it is reaped.
double cpu_seconds_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  REQUIRE(close != std::string::npos);
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  long ticks = 0;
  for (int f = 3; f <= 15 && fields >> field; ++f)
    if (f >= 14) ticks += std::atol(field.c_str());
  return double(ticks) / double(sysconf(_SC_CLK_TCK));
}

// task-clock of process `pid` (-p), for at most `duration_s`, in intervals of `interval_ms`
// when that is above 0.
RunResult count_task_clock_of(pid_t pid, double duration_s, int interval_ms = 0) {
  SysRoot root;
  auto counters = make_perf_event_counters(EventResolver(root).resolve_list("task-clock"), root);
  RunOptions o;
  o.target.kind = Target::Kind::pid;
  o.target.pid = pid;
  o.duration_s = duration_s;
  o.interval_ms = interval_ms;
  return run_counted(*counters, o, nullptr);
}

// The mount of the hierarchy that has the perf_event controller (cgroup2, or a v1 hierarchy where
// /proc/cgroups binds it there), as measure -G resolves it; empty when it is not mounted.
std::string perf_event_cgroup_mount() {
  return perf_event_cgroup(SysRoot()).mount.value_or("");
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("-p counts an existing process's threads for the window it is watched") {
    Background spinner("spin2threads:3");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    SysRoot root;
    auto counters = make_perf_event_counters(EventResolver(root).resolve_list("task-clock"), root);
    RunOptions o;
    o.target.kind = Target::Kind::pid;
    o.target.pid = spinner.pid;
    o.duration_s = 0.3;
    // The CPU time the spinner was given, from the kernel's own account of it (utime + stime of
    // /proc/PID/stat, in ticks), read just before and after the counted window.
    const double hz = double(sysconf(_SC_CLK_TCK));
    auto given_s = [&] {
      std::ifstream in("/proc/" + std::to_string(spinner.pid) + "/stat");
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::istringstream fields(text.substr(text.rfind(')') + 2));
      std::string field;
      unsigned long long utime = 0, stime = 0;
      for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
      }
      return double(utime + stime) / hz;
    };
    double steal_before = test::machine_steal_s();
    auto t0 = std::chrono::steady_clock::now();
    double before = given_s();
    auto r = run_counted(*counters, o, nullptr);
    double after = given_s();
    double bracket = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double steal = test::machine_steal_s() - steal_before;
    REQUIRE(r.events[0].counted());
    double counted = r.events[0].value * 1e-3;
    CAPTURE(counted);
    CAPTURE(after - before);
    CAPTURE(bracket);
    CAPTURE(r.duration_s);
    // Two threads over the window: at most 2 CPUs' worth (about 0.6 s on an idle machine). What
    // the kernel gave them between the reads bounds the count: above, less a tick per thread and
    // per read for /proc's rounding; below, less what they could run outside the window (the
    // rest of the bracket) and the steal that task-clock counts while the host ran others.
    CHECK(counted > 0);
    CHECK(counted <= 2 * r.duration_s * 1.05 + 0.02);
    double tick_slack = 4 / hz;
    CHECK(counted <= (after - before) + tick_slack + steal);
    CHECK(counted >= (after - before) - 2 * (bracket - r.duration_s) - tick_slack - steal);
  }

  TEST_CASE("-p without a command ends when the process exits, as perf stat -p does") {
    // The process spins for 0.2 s of its own CPU time, then exits and stays a zombie (this test
    // reaps it only at the end), which counts as ended. The deadline is only a backstop: a run
    // that waited for it did not see the exit.
    Background spinner("spin:0.2");
    auto r = count_task_clock_of(spinner.pid, 60);
    CHECK(r.target_ended);
    CHECK(r.duration_s < 60);
    REQUIRE(r.events[0].counted());
    // At most the CPU time the process had in its life (its 0.2 s of spinning and its start-up,
    // which a sanitizer build makes long; 0.2 s was the bound before, and an ASan build spent
    // 0.05 s more). /proc truncates utime and stime to ticks each, and the kernel's split of
    // the two is adjusted: four ticks of slack.
    double tick = 1.0 / double(sysconf(_SC_CLK_TCK));
    double lived = cpu_seconds_of(spinner.pid);
    CAPTURE(lived);
    CHECK(lived >= 0.2 - 2 * tick);
    CHECK(r.events[0].value * 1e-3 <= lived + 4 * tick);
  }

  TEST_CASE("-p with -I: the last interval is the process's last, not one read after its exit") {
    // The process spins until it exits, so it ran in its last interval: an interval with no
    // enabled time at the end was read after the exit, a count of 0 for time it did not exist.
    // (An interval in the middle may have none on a busy machine, where it waits for a CPU.)
    Background spinner("spin:0.2");
    auto r = count_task_clock_of(spinner.pid, 60, 30);
    CHECK(r.target_ended);
    REQUIRE_FALSE(r.intervals.empty());
    const auto& last = r.intervals.back().events[0];
    CAPTURE(r.intervals.size());
    CHECK((!last.counted() || last.time_enabled_ns > 0));
  }

  TEST_CASE("-p with -I: a process alive but not running at the end counts 0, not not_counted") {
    // Stopped (SIGSTOP) partway, the process stays alive: the run ends at --duration, and its
    // last interval is a count of 0, which is what happened, not an interval after an exit.
    Background spinner("spin:30");
    wait_until_spinning(spinner.pid);
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      kill(spinner.pid, SIGSTOP);
    });
    auto r = count_task_clock_of(spinner.pid, 0.45, 100);
    stopper.join();
    CHECK_FALSE(r.target_ended);
    REQUIRE_FALSE(r.intervals.empty());
    bool ran = false;
    for (const auto& iv : r.intervals) ran = ran || iv.events[0].raw > 0;
    if (!ran) {
      MESSAGE("the process got no CPU before it was stopped (a busy machine): nothing to check");
      return;
    }
    const auto& last = r.intervals.back().events[0];
    CHECK(last.counted());
    CHECK(last.value == 0);
  }

  TEST_CASE("-G counts the tasks of a cgroup, and only them") {
    auto mount = perf_event_cgroup_mount();
    std::string dir = mount + "/pmc-test-" + std::to_string(getpid());
    if (mount.empty() || geteuid() != 0 || mkdir(dir.c_str(), 0755) != 0) {
      MESSAGE("needs root and a writable mount of the perf_event cgroup hierarchy");
      return;
    }
    {
      // A cgroup event's clock starts when a task of the cgroup is next scheduled in on a CPU, so
      // the spinner sleeps briefly and often; a pure spinner on an idle CPU left the event never
      // enabled now and then. The count is still tried up to three times, each failure shown.
      RunResult r;
      double spinner_share = 0;  // the spinner's CPU seconds per second while counted
      for (int attempt = 0; attempt < 3; ++attempt) {
        Background spinner("spinsleep:3");
        // The move is checked in /proc/PID/cgroup (and written again) before counting.
        std::string leaf = dir.substr(mount.size());
        for (int i = 0; i < 100; ++i) {
          std::ofstream(dir + "/cgroup.procs") << spinner.pid << "\n";
          // One line per hierarchy ("0::/…" for cgroup2, "10:perf_event:/…" for v1).
          std::ifstream member("/proc/" + std::to_string(spinner.pid) + "/cgroup");
          bool moved = false;
          for (std::string line; std::getline(member, line);)
            moved |= line.size() >= leaf.size() &&
                     line.compare(line.size() - leaf.size(), leaf.size(), leaf) == 0;
          if (moved) break;
          usleep(10000);
        }
        wait_until_spinning(spinner.pid);
        SysRoot root;
        auto counters =
            make_perf_event_counters(EventResolver(root).resolve_list("cpu-clock"), root);
        RunOptions o;
        o.target.kind = Target::Kind::cgroup;
        o.target.cgroup_path = dir;
        o.duration_s = 0.3;
        double cpu_before = test::process_cpu_s(spinner.pid);
        auto wall_before = std::chrono::steady_clock::now();
        r = run_counted(*counters, o, nullptr);
        spinner_share =
            (test::process_cpu_s(spinner.pid) - cpu_before) /
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
        if (r.events[0].counted()) break;
        MESSAGE("cgroup count try ", attempt + 1, ": ",
                std::string(pmc::to_string(r.events[0].status)), ": ", r.events[0].reason);
      }
      REQUIRE(r.events[0].counted());
      // One spinning task in the cgroup: at most one CPU's worth of time, not all CPUs'. Other
      // work may share the CPU with the spinner, so the lower bound is what the spinner was given
      // while it was watched (its share of the CPU over the window).
      double cpu_s = r.events[0].value * 1e-3;  // msec, as perf reports cpu-clock
      CAPTURE(spinner_share);
      CHECK(cpu_s <= 1.2 * r.duration_s);
      CHECK(cpu_s >= 0.5 * spinner_share * r.duration_s);
    }
    rmdir(dir.c_str());
  }

  TEST_CASE("a group the kernel refuses is split and its countable members still count") {
    SysRoot root;
    EventResolver resolver(root);
    EventGroup group;
    group.explicit_group = true;
    group.events.push_back(resolver.resolve("task-clock"));
    EventSpec bogus = resolver.resolve("page-faults");
    bogus.name = "software/config=0x3e7/";
    bogus.attr.config = 999;  // no such software event: ENOENT
    group.events.push_back(bogus);
    group.events.push_back(resolver.resolve("context-switches"));
    auto counters = make_perf_event_counters({group}, root);
    RunOptions o;
    o.argv = test::child_command("spin:0.1");
    auto r = run_counted(*counters, o, nullptr);
    CHECK(r.events[0].counted());
    CHECK(r.events[0].reason == "split from its group");
    CHECK(r.events[1].status == EventStatus::not_supported);
    CHECK(r.events[2].counted());
    REQUIRE_FALSE(counters->notes().empty());
    CHECK(counters->notes()[0].find("could not be opened together") != std::string::npos);
  }
}
