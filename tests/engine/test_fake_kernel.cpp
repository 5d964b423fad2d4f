// The counting engine on machines this one is not: the fake kernel (fake_kernel.h) stands in
// for perf_event_open, ioctl and read, with the hardware's rules (docs/testing.md, "The fake
// kernel"). Expected values come from those rules and the fake's counting rates, never from the
// engine's output.
#include <doctest/doctest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "engine/counting/perf_event.h"
#include "engine/counting/scaling.h"
#include "engine/fake_kernel.h"
#include "engine/session/session.h"
#include "events/libpfm_forced.h"
#include "events/metrics/metric_set.h"
#include "events/names/resolver.h"
#include "events/table_encoder.h"
#include "test_support.h"

using namespace pmc;
using pmc::test::FakeKernel;

namespace {

constexpr uint64_t kMs = 1'000'000;

SysRoot fixture(const std::string& name) {
  SysRoot root;
  root.sys = std::filesystem::path(PMC_TEST_DATA) / "sysfs" / name;
  root.proc = std::filesystem::path(PMC_TEST_DATA) / "sysfs" / "no-proc";  // nothing readable
  return root;
}

// A /proc holding only sys/kernel/nmi_watchdog (and perf_event_paranoid), removed at the end.
struct ProcRoot {
  std::filesystem::path dir = test::make_temp_dir("fakeproc");
  explicit ProcRoot(int nmi_watchdog) {
    std::filesystem::create_directories(dir / "sys/kernel");
    std::ofstream(dir / "sys/kernel/nmi_watchdog") << nmi_watchdog << "\n";
    std::ofstream(dir / "sys/kernel/perf_event_paranoid") << 2 << "\n";
  }
  ~ProcRoot() { std::filesystem::remove_all(dir); }
};

const EventCount& event(const std::vector<EventCount>& counts, const std::string& name) {
  for (const auto& e : counts)
    if (e.name == name) return e;
  FAIL("no event " << name);
  static EventCount none;
  return none;
}

bool any_note(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& n : notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// A command as the session runs it, on the fake: open, exec (its enable_on_exec counters
// start), `ns` of the machine, read.
struct FakeRun {
  std::vector<EventCount> counts;
  std::vector<std::string> notes;
  std::unique_ptr<Counters> counters;  // still open
};
FakeRun run_command(FakeKernel& fake, const SysRoot& root, std::vector<EventGroup> groups,
                    uint64_t ns, pid_t pid = 4242) {
  auto counters = make_perf_event_counters(std::move(groups), root, fake);
  Target t;
  t.kind = Target::Kind::command;
  t.pid = pid;
  counters->open(t);
  counters->enable();
  fake.exec(pid);
  fake.advance(ns);
  return {counters->read(), counters->notes(), std::move(counters)};
}

FakeRun run_target(FakeKernel& fake, const SysRoot& root, std::vector<EventGroup> groups,
                   const Target& target, uint64_t ns) {
  auto counters = make_perf_event_counters(std::move(groups), root, fake);
  counters->open(target);
  counters->enable();
  fake.advance(ns);
  return {counters->read(), counters->notes(), std::move(counters)};
}

Target system_wide(std::vector<int> cpus) {
  Target t;
  t.kind = Target::Kind::system_wide;
  t.cpus = std::move(cpus);
  return t;
}

std::vector<int> range(int from, int to) {
  std::vector<int> v;
  for (int c = from; c <= to; ++c) v.push_back(c);
  return v;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("copies are scaled one by one and then added, as perf 6.2 and later aggregate") {
    // (raw, enabled, running) per copy; perf >= 6.2: 100 + 10 x 10/5 = 120, not 110 x 20/15.
    CopySum s;
    add_copy(s, {100, 10, 10});
    add_copy(s, {10, 10, 5});
    EventCount c;
    apply_copies(c, s, 1.0);
    CHECK(c.counted());
    CHECK(c.value == doctest::Approx(120.0));
    CHECK(c.raw == 110);
    CHECK(c.time_enabled_ns == 20);
    CHECK(c.time_running_ns == 15);
    CHECK(c.reason.empty());

    SUBCASE("a copy that never ran leaves the others' sum, marked partial") {
      add_copy(s, {0, 10, 0});
      EventCount p;
      apply_copies(p, s, 1.0);
      CHECK(p.counted());
      CHECK(p.value == doctest::Approx(120.0));
      CHECK(p.reason.find("partial: 1 of 3 copies") != std::string::npos);
    }
    SUBCASE("a thread that never ran (nothing enabled) is not missing from the sum") {
      add_copy(s, {0, 0, 0});
      EventCount p;
      apply_copies(p, s, 1.0);
      CHECK(p.reason.empty());
    }
    SUBCASE("no copy ran: not counted") {
      CopySum none;
      add_copy(none, {0, 10, 0});
      add_copy(none, {0, 10, 0});
      EventCount p;
      apply_copies(p, none, 1.0);
      CHECK(p.status == EventStatus::not_counted);
    }
  }

  TEST_CASE("perf's per-CPU rows of a recording add up to its total through the copy sum") {
    // tests/data/perfstat/wild/049.csv (perf 5.19, -x, -A -a): cpu-clock per CPU with its run
    // time and 100.00 % running. cpu-clock counts nanoseconds (the unit scale 1e-6 makes msec),
    // so each row's count is its run time; perf prints 1.50 and 1.48 msec, and without -A the
    // sum of the two.
    CopySum s;
    add_copy(s, {1502781, 1502781, 1502781});
    add_copy(s, {1476113, 1476113, 1476113});
    EventCount c;
    apply_copies(c, s, 1e-6);
    CHECK(c.counted());
    CHECK(c.value == doctest::Approx(1.50 + 1.48).epsilon(0.005));
    CHECK(c.value == doctest::Approx(2.978894));
  }

  TEST_CASE("fake kernel: group validation, the slots leader, hybrid CPUs and cpumask PMUs") {
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    auto attr = [](uint32_t type, uint64_t config, bool disabled = true) {
      perf_event_attr a{};
      a.size = sizeof a;
      a.type = type;
      a.config = config;
      a.disabled = disabled;
      a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED |
                      PERF_FORMAT_TOTAL_TIME_RUNNING;
      return a;
    };
    SUBCASE("Ice Lake: 8 general-purpose counters, a ninth in the group is EINVAL") {
      int leader = fake.open(attr(PERF_TYPE_RAW, 0x01c2), 0, -1, -1, 0);
      REQUIRE(leader >= 0);
      for (int i = 1; i < 8; ++i)
        CHECK(fake.open(attr(PERF_TYPE_RAW, 0x01c2), 0, -1, leader, 0) >= 0);
      CHECK(fake.open(attr(PERF_TYPE_RAW, 0x01c2), 0, -1, leader, 0) == -EINVAL);
      // cycles and instructions take their fixed counters.
      CHECK(fake.open(attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES), 0, -1, leader, 0) >= 0);
      CHECK(fake.open(attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS), 0, -1, leader, 0) >= 0);
    }
    SUBCASE("a topdown metric event needs slots as its group leader") {
      CHECK(fake.open(attr(PERF_TYPE_RAW, 0x8000), 0, -1, -1, 0) == -EINVAL);
      int cycles = fake.open(attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES), 0, -1, -1, 0);
      CHECK(fake.open(attr(PERF_TYPE_RAW, 0x8000), 0, -1, cycles, 0) == -EINVAL);
      int slots = fake.open(attr(PERF_TYPE_RAW, 0x0400), 0, -1, -1, 0);
      CHECK(fake.open(attr(PERF_TYPE_RAW, 0x8000), 0, -1, slots, 0) >= 0);
    }
    SUBCASE("RAPL refuses a task event; paranoid levels refuse kernel mode and CPU-wide") {
      CHECK(fake.open(attr(13, 0x02), 0, -1, -1, 0) == -EINVAL);
      CHECK(fake.open(attr(13, 0x02), -1, 0, -1, 0) >= 0);
      fake.set_privileged(false);
      fake.set_paranoid(2);
      CHECK(fake.open(attr(PERF_TYPE_HARDWARE, 0), 0, -1, -1, 0) == -EACCES);
      auto user = attr(PERF_TYPE_HARDWARE, 0);
      user.exclude_kernel = 1;
      CHECK(fake.open(user, 0, -1, -1, 0) >= 0);
      CHECK(fake.open(user, -1, 0, -1, 0) == -EACCES);
      fake.set_paranoid(3);
      CHECK(fake.open(user, 0, -1, -1, 0) == -EACCES);
    }
    SUBCASE("hybrid: a cpu_atom event on a P-core is ENOENT") {
      FakeKernel hybrid(fixture("hybrid"));
      hybrid.set_privileged(true);
      CHECK(hybrid.open(attr(8, 0x3c), -1, 0, -1, 0) == -ENOENT);
      CHECK(hybrid.open(attr(8, 0x3c), -1, 16, -1, 0) >= 0);
      // cpu_core and cpu_atom events cannot share a group.
      int core = hybrid.open(attr(4, 0x3c), 0, -1, -1, 0);
      CHECK(hybrid.open(attr(8, 0x3c), 0, -1, core, 0) == -EINVAL);
    }
    SUBCASE("exclude_user and exclude_kernel together count nothing") {
      auto none = attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, false);
      none.exclude_user = none.exclude_kernel = 1;
      int fd = fake.open(none, 0, -1, -1, 0);
      fake.advance(8 * kMs);
      uint64_t buf[5];
      REQUIRE(fake.read(fd, buf, sizeof buf) == 5 * 8);
      CHECK(buf[1] == 8 * kMs);  // enabled and running
      CHECK(buf[2] == 8 * kMs);
      CHECK(buf[3] == 0);
    }
  }
}

TEST_SUITE("pure") {
  TEST_CASE("multiplexing: more groups than counters rotate, and each scaled count is the truth") {
    // Ice Lake (intel-client): 8 general-purpose counters. Nine single events of a GP-only
    // encoding rotate over them: in 9 ticks each runs 8, so time_running is 8/9 of
    // time_enabled and raw x enabled / running gives back rate x time exactly.
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    EventResolver resolver(root);
    std::string list;
    for (int i = 0; i < 9; ++i)
      list += (i ? "," : "") + std::string("cpu/event=0xc2,umask=0x") + std::to_string(i + 1) + "/";
    auto run = run_command(fake, root, resolver.resolve_list(list), 9 * 4 * kMs);
    for (const auto& e : run.counts) {
      CAPTURE(e.name);
      REQUIRE(e.counted());
      CHECK(e.time_enabled_ns == 36 * kMs);
      CHECK(e.time_running_ns == 32 * kMs);
      CHECK(e.value == doctest::Approx(36.0 * kMs));  // 1 per ns for 36 ms
    }
  }

  TEST_CASE("-a: each CPU's copy is scaled on its own times, in the total and in each interval") {
    // CPU 0 counts 10 per ns and always has a counter. On CPU 1 (1 per ns) another tool holds a
    // group of 8 general-purpose events, so this event and that group take turns: half the
    // time. Per copy: 10 x 8 ms + (1 x 4 ms) x 8/4 = 88e6, the true count; adding raw counts and
    // times first (perf before 6.2) gives 84e6 x 16/12 = 112e6.
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.set_cpu_speed(0, 10);
    EventResolver resolver(root);
    auto counters =
        make_perf_event_counters(resolver.resolve_list("cpu/event=0xc2,umask=0x1/"), root, fake);
    counters->open(system_wide({0, 1}));
    perf_event_attr other{};
    other.size = sizeof other;
    other.type = PERF_TYPE_RAW;
    other.config = 0x02c2;
    other.read_format = PERF_FORMAT_GROUP;
    int leader = fake.open(other, -1, 1, -1, 0);
    for (int i = 1; i < 8; ++i) REQUIRE(fake.open(other, -1, 1, leader, 0) >= 0);
    counters->enable();
    fake.advance(8 * kMs);
    std::vector<uint64_t> first;
    REQUIRE(counters->read_raw(first));
    auto total = counters->read();
    REQUIRE(total[0].counted());
    CHECK(total[0].time_enabled_ns == 16 * kMs);
    CHECK(total[0].time_running_ns == 12 * kMs);
    CHECK(total[0].value == doctest::Approx(88.0 * kMs));
    fake.advance(8 * kMs);
    std::vector<uint64_t> second;
    REQUIRE(counters->read_raw(second));
    std::vector<EventCount> interval;
    REQUIRE(counters->interval_from_raw(second.data(), first.data(), interval));
    REQUIRE(interval[0].counted());
    CHECK(interval[0].value == doctest::Approx(88.0 * kMs));
  }

  TEST_CASE("an event of a cpumask PMU is enabled for a command and counts its package") {
    // Before: opened CPU-wide with disabled=1 and no exec to enable it, never enabled.
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.count_at("power", 0x02, 3.0);  // energy-pkg: 3 units of 2^-32 J per ns
    EventResolver resolver(root);
    auto run =
        run_command(fake, root, resolver.resolve_list("power/energy-pkg/,instructions"), 20 * kMs);
    const auto& pkg = event(run.counts, "power/energy-pkg/");
    REQUIRE(pkg.counted());
    CHECK(pkg.raw == 3 * 20 * kMs);
    CHECK(pkg.value == doctest::Approx(3.0 * 20 * kMs * 2.3283064365386962890625e-10));
    CHECK(event(run.counts, "instructions").counted());
    CHECK(any_note(run.notes, "counted CPU-wide"));
  }

  TEST_CASE("run_counted enables a cpumask PMU's event for a command, and only after open") {
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    EventResolver resolver(root);
    auto counters =
        make_perf_event_counters(resolver.resolve_list("power/energy-pkg/"), root, fake);
    RunOptions o;
    o.argv = test::child_command("spin:0.05");
    o.sample_ms = 1;
    int calls = 0;
    // Each sample moves the machine on 1 ms; the last sample comes after the final read.
    o.on_sample = [&] {
      ++calls;
      fake.advance(kMs);
    };
    auto r = run_counted(*counters, o, nullptr);
    REQUIRE(r.exit_status == 0);
    const auto& pkg = event(r.events, "power/energy-pkg/");
    REQUIRE(pkg.counted());
    CHECK(pkg.raw == uint64_t(calls - 1) * kMs);  // RAPL counts 1 per ns by default here
  }

  TEST_CASE("2-socket Sapphire Rapids: RAPL and uncore count once per package, never per CPU") {
    SysRoot root = fixture("spr-2s");
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.count_at("power", 0x02, 2.0);
    EventResolver resolver(root);
    auto run = run_target(fake, root,
                          resolver.resolve_list("power/energy-pkg/,uncore_imc_0/cas_count_read/"),
                          system_wide({}), 8 * kMs);
    const auto& pkg = event(run.counts, "power/energy-pkg/");
    REQUIRE(pkg.counted());
    CHECK(pkg.raw == 2 * 2 * 8 * kMs);  // two packages, each its own copy
    const auto& imc = event(run.counts, "uncore_imc_0/cas_count_read/");
    REQUIRE(imc.counted());
    CHECK(imc.raw == 2 * 8 * kMs);

    SUBCASE("uncore_imc/…/ names the eight channels; perf sums them into one count") {
      FakeKernel all(root);
      all.set_privileged(true);
      auto imc = run_target(all, root, resolver.resolve_list("uncore_imc/cas_count_read/"),
                            system_wide({}), 8 * kMs);
      REQUIRE(imc.counts.size() == 1);
      const auto& c = imc.counts[0];
      REQUIRE(c.counted());
      CHECK(c.pmu == "uncore_imc");
      CHECK(c.raw == 8 * 2 * 8 * kMs);  // 8 channels x 2 packages x 8 ms at 1 per ns
      CHECK(c.value == doctest::Approx(128.0 * kMs * 6.103515625e-5));
    }
    SUBCASE("for -p the cpumask event is still opened CPU-wide, never as a task event") {
      Target t;
      t.kind = Target::Kind::pid;
      t.pid = getpid();
      auto p = run_target(fake, root, resolver.resolve_list("power/energy-pkg/"), t, 8 * kMs);
      CHECK(event(p.counts, "power/energy-pkg/").counted());
      CHECK(any_note(p.notes, "counted CPU-wide"));
    }
  }

  TEST_CASE("EMFILE: the open-file limit is raised to the hard limit and the open retried") {
    // Ten events on 128 CPUs: 1280 descriptors, past the usual soft limit of 1024.
    SysRoot root = fixture("spr-2s");
    EventResolver resolver(root);
    const std::string ten =
        "cycles,instructions,branches,branch-misses,cache-misses,cache-references,"
        "task-clock,context-switches,cpu-migrations,page-faults";
    SUBCASE("raised: everything counts") {
      FakeKernel fake(root);
      fake.set_privileged(true);
      fake.set_nofile_limit(1024, 524288);
      auto run = run_target(fake, root, resolver.resolve_list(ten), system_wide({}), 4 * kMs);
      for (const auto& e : run.counts) {
        CAPTURE(e.name);
        CHECK(e.counted());
      }
      CHECK(fake.nofile_soft() == 524288);
      CHECK(any_note(run.notes, "raised to its hard limit 524288"));
    }
    SUBCASE("the hard limit is reached too: the event says on how many CPUs it had opened") {
      FakeKernel fake(root);
      fake.set_privileged(true);
      fake.set_nofile_limit(1024, 1024);
      auto run = run_target(fake, root, resolver.resolve_list(ten), system_wide({}), 4 * kMs);
      size_t failed = 0;
      for (const auto& e : run.counts) {
        if (e.counted()) continue;
        ++failed;
        CHECK(e.reason.find("EMFILE") != std::string::npos);
      }
      REQUIRE(failed > 0);
      bool says_where = false;
      for (const auto& e : run.counts)
        says_where |= e.reason.find("of 128 CPUs") != std::string::npos;
      CHECK(says_where);
      // What failed was closed: the descriptors left are the counted events' copies.
      size_t counted = run.counts.size() - failed;
      CHECK(fake.open_fds() == counted * 128);
    }
  }

  TEST_CASE("-p: a thread that exits before its open (ESRCH) is left out, as perf does") {
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    std::atomic<pid_t> tid{0};
    std::mutex m;
    std::condition_variable cv;
    bool stop = false;
    std::thread worker([&] {
      tid = pid_t(syscall(SYS_gettid));
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return stop; });
    });
    while (tid == 0) std::this_thread::yield();
    SUBCASE("every thread is counted, each its own copy") {
      size_t threads = 0;
      for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task"))
        ++threads;
      Target all;
      all.kind = Target::Kind::pid;
      all.pid = getpid();
      auto both =
          run_target(fake, root, EventResolver(root).resolve_list("instructions"), all, 8 * kMs);
      const auto& ins = event(both.counts, "instructions");
      REQUIRE(ins.counted());
      CHECK(threads >= 2);
      CHECK(ins.value == doctest::Approx(double(threads) * 8 * kMs));
    }
    fake.fail_task(tid, ESRCH);
    Target t;
    t.kind = Target::Kind::pid;
    t.pid = getpid();
    EventResolver resolver(root);
    auto run = run_target(fake, root, resolver.resolve_list("instructions,cycles"), t, 8 * kMs);
    {
      std::lock_guard lock(m);
      stop = true;
    }
    cv.notify_all();
    worker.join();
    const auto& ins = event(run.counts, "instructions");
    CHECK(ins.counted());
    CHECK(event(run.counts, "cycles").counted());
    // Said once, and the thread is not tried again for the next event.
    size_t said = 0;
    for (const auto& n : run.notes) said += n.find("thread " + std::to_string(tid.load())) == 0;
    CHECK(said == 1);
  }

  TEST_CASE("cycles:k under paranoid 2 is refused with the reason, not counted as 0") {
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_paranoid(2);
    fake.count_at("cpu", PERF_COUNT_HW_CPU_CYCLES, 2.0, 1.0);
    EventResolver resolver(root);
    auto run =
        run_command(fake, root, resolver.resolve_list("cycles:k,cycles:u,instructions"), 8 * kMs);
    const auto& k = event(run.counts, "cycles:k");
    CHECK(k.status == EventStatus::permission_denied);
    CHECK(k.reason.find("kernel mode only") != std::string::npos);
    CHECK(k.reason.find("perf_event_paranoid") != std::string::npos);
    // The others count user space: 2 cycles per ns of it.
    const auto& u = event(run.counts, "cycles:u");
    REQUIRE(u.counted());
    CHECK(u.value == doctest::Approx(2.0 * 8 * kMs));
    CHECK(event(run.counts, "instructions").counted());
    CHECK(any_note(run.notes, "exclude_kernel"));
  }

  TEST_CASE("a group the NMI watchdog keeps off its counters is split before the run, and counts") {
    // Ice Lake: {cycles + 8 GP events} passes validation on an empty PMU (cycles on fixed
    // counter 1), but the watchdog's pinned cycles holds that counter on every CPU, so the
    // group needs 9 of 8 general-purpose counters and would never run. The probe at open finds
    // that, and the nine events are counted as groups of one, multiplexed on 8 counters.
    SysRoot root = fixture("intel-client");
    std::string group = "{cycles";
    for (int i = 0; i < 8; ++i) group += ",cpu/event=0xc2,umask=0x" + std::to_string(i + 1) + "/";
    group += "}";
    SUBCASE("watchdog on: split, each event counted and scaled back to its true count") {
      ProcRoot proc(1);
      root.proc = proc.dir;
      FakeKernel fake(root);
      fake.set_privileged(true);
      fake.set_nmi_watchdog(true);
      auto run = run_command(fake, root, EventResolver(root).resolve_list(group), 36 * kMs);
      CHECK(any_note(run.notes, "was split into separate groups"));
      REQUIRE(run.counts.size() == 9);
      bool multiplexed = false;
      for (const auto& e : run.counts) {
        CAPTURE(e.name);
        REQUIRE(e.counted());
        CHECK(e.reason.find("split: its group of 9 events never got its counters together") !=
              std::string::npos);
        CHECK(e.reason.find("NMI watchdog holds one") != std::string::npos);
        CHECK(e.time_enabled_ns == 36 * kMs);
        multiplexed |= e.time_running_ns < e.time_enabled_ns;
        // 1 per ns for 36 ms, whatever share of it the event was on a counter.
        CHECK(e.value == doctest::Approx(36.0 * kMs));
      }
      CHECK(multiplexed);  // 9 groups needing a general counter each, 8 counters
    }
    SUBCASE("watchdog off: the same group is probed, fits, and counts as one group") {
      ProcRoot proc(0);
      root.proc = proc.dir;
      FakeKernel fake(root);
      fake.set_privileged(true);
      auto run = run_command(fake, root, EventResolver(root).resolve_list(group), 8 * kMs);
      CHECK_FALSE(any_note(run.notes, "split"));
      for (const auto& e : run.counts) {
        CAPTURE(e.name);
        REQUIRE(e.counted());
        CHECK(e.time_running_ns == 8 * kMs);
        CHECK(e.reason.empty());
      }
    }
    SUBCASE("Skylake: 4 general counters per thread, so {cycles + 4} is split") {
      ProcRoot proc(1);
      root.proc = proc.dir;
      FakeKernel fake(root);
      fake.set_privileged(true);
      fake.set_nmi_watchdog(true);
      pmc::test::CounterLayout skylake;  // CPUID 0xA with SMT on: 4 general, 3 fixed
      skylake.general = 4;
      skylake.fixed_instructions = skylake.fixed_cycles = skylake.fixed_ref_cycles = true;
      fake.set_layout("cpu", skylake);
      auto run = run_command(fake, root,
                             EventResolver(root).resolve_list(
                                 "{cycles,cpu/event=0xc2,umask=0x1/,cpu/event=0xc2,umask=0x2/,"
                                 "cpu/event=0xc2,umask=0x3/,cpu/event=0xc2,umask=0x4/}"),
                             20 * kMs);
      REQUIRE(run.counts.size() == 5);
      for (const auto& e : run.counts) {
        CAPTURE(e.name);
        REQUIRE(e.counted());
        CHECK(e.reason.find("split: its group of 5 events") != std::string::npos);
        CHECK(e.value == doctest::Approx(20.0 * kMs));
      }
    }
    SUBCASE("AMD has no fixed counters: the watchdog leaves 5 of 6") {
      SysRoot amd = fixture("amd-zen");
      ProcRoot proc(1);
      amd.proc = proc.dir;
      std::string five = "cycles,instructions,cpu/event=0xc2/,cpu/event=0xc3/,cpu/event=0xc4/";
      {
        FakeKernel fake(amd);
        fake.set_privileged(true);
        fake.set_nmi_watchdog(true);
        auto run =
            run_command(fake, amd, EventResolver(amd).resolve_list("{" + five + "}"), 8 * kMs);
        CHECK_FALSE(any_note(run.notes, "split"));
        for (const auto& e : run.counts) {
          CHECK(e.counted());
          CHECK(e.time_running_ns == 8 * kMs);
        }
      }
      FakeKernel fake(amd);
      fake.set_privileged(true);
      fake.set_nmi_watchdog(true);
      auto six = run_command(
          fake, amd, EventResolver(amd).resolve_list("{" + five + ",cpu/event=0xc5/}"), 24 * kMs);
      CHECK(any_note(six.notes, "was split"));
      REQUIRE(six.counts.size() == 6);
      for (const auto& e : six.counts) {
        CAPTURE(e.name);
        REQUIRE(e.counted());
        CHECK(e.reason.find("split: its group of 6 events") != std::string::npos);
        CHECK(e.value == doctest::Approx(24.0 * kMs));
      }
    }
  }

  TEST_CASE(
      "the group probe: not for software groups, and a hybrid PMU of other CPUs tells nothing") {
    SUBCASE("a group without a hardware event opens once, with no probe") {
      SysRoot root = fixture("intel-client");
      FakeKernel fake(root);
      fake.set_privileged(true);
      auto run = run_command(fake, root,
                             EventResolver(root).resolve_list("{task-clock,page-faults}"), 8 * kMs);
      CHECK(fake.opens() == 2);
      CHECK(event(run.counts, "task-clock").counted());
    }
    SUBCASE("a hardware group is probed on this thread: opened once more, then closed") {
      SysRoot root = fixture("intel-client");
      FakeKernel fake(root);
      fake.set_privileged(true);
      auto run = run_command(fake, root, EventResolver(root).resolve_list("{cycles,instructions}"),
                             8 * kMs);
      CHECK(fake.opens() == 4);
      CHECK(fake.open_fds() == 2);
      CHECK(event(run.counts, "instructions").time_running_ns == 8 * kMs);
    }
    SUBCASE("hybrid: a cpu_atom group probed from a P-core is left whole") {
      // This thread runs on CPU 0 (a P-core): the cpu_atom group is enabled there but never
      // runs, and neither does its first member alone, so the probe says nothing. The command
      // runs on an E-core, where the group fits even beside the watchdog.
      SysRoot root = fixture("hybrid");
      ProcRoot proc(1);
      root.proc = proc.dir;
      FakeKernel fake(root);
      fake.set_privileged(true);
      fake.set_nmi_watchdog(true);
      fake.run_task(4242, 16);
      auto run = run_command(
          fake, root, EventResolver(root).resolve_list("{cpu_atom/cycles/,cpu_atom/instructions/}"),
          8 * kMs);
      CHECK_FALSE(any_note(run.notes, "split"));
      for (const auto& e : run.counts) {
        CAPTURE(e.name);
        REQUIRE(e.counted());
        CHECK(e.time_running_ns == 8 * kMs);
      }
    }
    SUBCASE("a probe that tells nothing leaves the group whole, and the run gives perf's hint") {
      // This thread is on an E-core, so the cpu_core group's probe never runs and neither does
      // its member alone. Counted -a on the P-cores, the group {cycles + 8} never runs beside the
      // watchdog, and the events say why.
      SysRoot root = fixture("hybrid");
      ProcRoot proc(1);
      root.proc = proc.dir;
      FakeKernel fake(root);
      fake.set_privileged(true);
      fake.set_nmi_watchdog(true);
      fake.run_task(0, 16);
      std::string group = "{cpu_core/cycles/";
      for (int i = 1; i <= 8; ++i)
        group += ",cpu_core/event=0xc2,umask=0x" + std::to_string(i) + "/";
      group += "}";
      auto run = run_target(fake, root, EventResolver(root).resolve_list(group),
                            system_wide(range(0, 15)), 8 * kMs);
      CHECK_FALSE(any_note(run.notes, "split"));
      REQUIRE(run.counts.size() == 9);
      for (const auto& e : run.counts) {
        CAPTURE(e.name);
        CHECK(e.status == EventStatus::not_counted);
        CHECK(e.reason.find("Try disabling the NMI watchdog") != std::string::npos);
      }
    }
  }

  TEST_CASE("hybrid: a group goes to the CPUs all its members' PMUs cover") {
    // {task-clock, cpu_atom/cycles/} system-wide: task-clock covers every CPU, cpu_atom only
    // the E-cores 16-23; opened on every CPU the group's second member gets ENOENT on CPU 0.
    SysRoot root = fixture("hybrid");
    FakeKernel fake(root);
    fake.set_privileged(true);
    EventResolver resolver(root);
    auto run = run_target(fake, root, resolver.resolve_list("{cpu-clock,cpu_atom/cycles/}"),
                          system_wide(range(0, 23)), 8 * kMs);
    CHECK_FALSE(any_note(run.notes, "could not be opened together"));
    const auto& atom = event(run.counts, "cpu_atom/cycles/");
    REQUIRE(atom.counted());
    CHECK(atom.value == doctest::Approx(8.0 * 8 * kMs));  // 8 E-cores x 8 ms
    CHECK(event(run.counts, "cpu-clock").raw == 8 * 8 * kMs);
  }

  TEST_CASE("hybrid on a kernel without extended types: generic events open in each PMU's type") {
    // Before Linux 5.18, cycles with cpu_core's type in config bits 32-63 is EINVAL; the
    // resolver gives each hybrid generic event its PMU's own encoding too (cpu_core/cpu-cycles/).
    SysRoot root = fixture("hybrid");
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.set_extended_types(false);
    EventResolver resolver(root);
    auto run =
        run_target(fake, root, resolver.resolve_list("cycles"), system_wide(range(0, 23)), 8 * kMs);
    REQUIRE(run.counts.size() == 2);
    for (const auto& e : run.counts) {
      CAPTURE(e.name);
      REQUIRE(e.counted());
      // 16 P-core threads or 8 E-cores, 1 cycle per ns for 8 ms each.
      CHECK(e.value == doctest::Approx((e.pmu == "cpu_core" ? 16.0 : 8.0) * 8 * kMs));
    }
    CHECK(any_note(run.notes, "no extended hardware types"));
  }

  TEST_CASE("hybrid: a task's cpu_atom event that never ran on an E-core says so") {
    SysRoot root = fixture("hybrid");
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.run_task(4242, 2);  // a P-core
    EventResolver resolver(root);
    auto run = run_command(fake, root, resolver.resolve_list("cpu_atom/cycles/,cpu_core/cycles/"),
                           8 * kMs);
    const auto& atom = event(run.counts, "cpu_atom/cycles/");
    CHECK(atom.status == EventStatus::not_counted);
    CHECK(atom.reason.find("CPUs 16-23") != std::string::npos);
    CHECK(atom.reason.find("never scheduled on a counter") == std::string::npos);
    CHECK(event(run.counts, "cpu_core/cycles/").counted());
  }

  TEST_CASE("the topdown group: led by slots it opens, led by a metric event it is split") {
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    EventResolver resolver(root);
    auto good = run_command(fake, root, resolver.resolve_list("{slots,topdown-retiring}"), 8 * kMs);
    CHECK(event(good.counts, "topdown-retiring").counted());
    auto bad =
        run_command(fake, root, resolver.resolve_list("{topdown-retiring,slots}"), 8 * kMs, 4343);
    CHECK(any_note(bad.notes, "could not be opened together"));
    CHECK(event(bad.counts, "topdown-retiring").status == EventStatus::not_supported);
    CHECK(event(bad.counts, "slots").counted());
  }

  TEST_CASE("Neoverse N2: a cycle counter and 6 general counters, no fixed instructions") {
    SysRoot root = fixture("neoverse-n2");
    FakeKernel fake(root);
    fake.set_privileged(true);
    EventResolver resolver(root);
    std::string six =
        "armv8_pmuv3_0/event=0x3/,armv8_pmuv3_0/event=0x4/,"
        "armv8_pmuv3_0/event=0x10/,armv8_pmuv3_0/event=0x21/,"
        "armv8_pmuv3_0/event=0x23/";
    auto fits = run_command(
        fake, root,
        resolver.resolve_list("{armv8_pmuv3_0/event=0x11/,armv8_pmuv3_0/event=0x8/," + six + "}"),
        8 * kMs);
    for (const auto& e : fits.counts) CHECK(e.counted());
    auto too_many = run_command(
        fake, root,
        resolver.resolve_list("{armv8_pmuv3_0/event=0x8/,armv8_pmuv3_0/event=0x24/," + six + "}"),
        8 * kMs, 4343);
    CHECK(any_note(too_many.notes, "could not be opened together"));
  }

  TEST_CASE("hybrid: a raw event counts on both core types, each on its own CPUs") {
    // perf opens rNNN once per core PMU; opened on cpu_core alone it would miss the E-cores.
    // The desktop (16 P threads, 8 E-cores) and the laptop (12 P threads, 8 E-cores).
    struct Machine {
      const char* tree;
      int p_threads, e_cores;
    };
    for (Machine m : {Machine{"hybrid", 16, 8}, Machine{"alderlake-laptop", 12, 8}}) {
      CAPTURE(m.tree);
      SysRoot root = fixture(m.tree);
      FakeKernel fake(root);
      fake.set_privileged(true);
      EventResolver resolver(root);
      auto run = run_target(fake, root, resolver.resolve_list("r1a"),
                            system_wide(range(0, m.p_threads + m.e_cores - 1)), 8 * kMs);
      REQUIRE(run.counts.size() == 2);
      const auto& core = event(run.counts, "cpu_core/r1a/");
      const auto& atom = event(run.counts, "cpu_atom/r1a/");
      REQUIRE(core.counted());
      REQUIRE(atom.counted());
      CHECK(core.raw == uint64_t(m.p_threads) * 8 * kMs);  // the P threads at 1 per ns
      CHECK(atom.raw == uint64_t(m.e_cores) * 8 * kMs);    // the E-cores
    }
  }

  TEST_CASE("hybrid: a group fits 6 general counters on cpu_atom and 8 on cpu_core") {
    SysRoot root = fixture("hybrid");
    EventResolver resolver(root);
    auto group = [](const std::string& pmu, int n) {
      std::string text = "{";
      for (int i = 1; i <= n; ++i)
        text += (i > 1 ? "," : "") + pmu + "/event=0xd1,umask=0x" + std::to_string(i) + "/";
      return text + "}";
    };
    auto opens_whole = [&](const std::string& pmu, int n) {
      FakeKernel fake(root);
      fake.set_privileged(true);
      auto run = run_target(fake, root, resolver.resolve_list(group(pmu, n)),
                            system_wide(pmu == "cpu_atom" ? range(16, 23) : range(0, 15)), 8 * kMs);
      for (const auto& e : run.counts) CHECK(e.counted());
      return !any_note(run.notes, "could not be opened together");
    };
    CHECK(opens_whole("cpu_atom", 6));
    CHECK_FALSE(opens_whole("cpu_atom", 7));
    CHECK(opens_whole("cpu_core", 8));
    CHECK_FALSE(opens_whole("cpu_core", 9));
  }

  TEST_CASE("Tiger Lake: the planned TMA group is led by slots and opens whole") {
    // intel-client is an Ice Lake / Tiger Lake client: its topdown-* need a slots leader, which
    // the planner adds and puts first as perf does.
    SysRoot root = fixture("intel-client");
    FakeKernel fake(root);
    fake.set_privileged(true);
    auto planned = plan_event_groups(
        {{"topdown-fe-bound", "topdown-be-bound", "topdown-bad-spec", "topdown-retiring"}},
        counter_model("GenuineIntel", 6, 0x8c, true));
    REQUIRE(planned.size() == 1);
    EventGroup group;
    EventResolver resolver(root);
    for (const auto& name : planned[0]) group.events.push_back(resolver.resolve(name));
    group.explicit_group = true;
    auto run = run_command(fake, root, {group}, 8 * kMs);
    CHECK_FALSE(any_note(run.notes, "could not be opened together"));
    REQUIRE(run.counts.size() == 5);
    for (const auto& e : run.counts) {
      CAPTURE(e.name);
      CHECK(e.counted());
      CHECK(e.time_running_ns == 8 * kMs);
    }
  }
}

// Events named the libpfm4 way (a perf type and config, no CPUs) and the PMU rules that come with
// their type.
TEST_SUITE("pure") {
  TEST_CASE("libpfm4's RAPL and uncore events count once per package with -a, and for a command") {
    // What libpfm4 gives on a Sapphire Rapids: rapl::RAPL_ENERGY_PKG is the power PMU's type
    // (14 here) with event 0x02, spr_unc_imc1::UNC_M_CAS_COUNT:RD uncore_imc_1's type (31) with
    // event 0x05, umask 0xcf. The fake counts 2 energy units and 3 CAS per ns per package,
    // whichever of the package's CPUs a copy is opened on; opened on all 128 CPUs, the 64 copies
    // of a package would each count it (64 times too much), and as a task event it is EINVAL.
    SysRoot root = fixture("spr-2s");
    EventResolver resolver(
        root,
        std::make_unique<test::TableEncoder>(std::map<std::string, PfmEncoding>{
            {"rapl::RAPL_ENERGY_PKG", test::pfm_encoding(14, 0x02, "rapl")},
            {"spr_unc_imc1::UNC_M_CAS_COUNT:RD", test::pfm_encoding(31, 0xcf05, "spr_unc_imc1")}}));
    const std::string both = "rapl::RAPL_ENERGY_PKG,spr_unc_imc1::UNC_M_CAS_COUNT:RD";
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.count_at("power", 0x02, 2.0);
    fake.count_at("uncore_imc_1", 0xcf05, 3.0);
    SUBCASE("-a: one copy per package") {
      auto run = run_target(fake, root, resolver.resolve_list(both), system_wide({}), 8 * kMs);
      const auto& pkg = event(run.counts, "rapl::RAPL_ENERGY_PKG");
      REQUIRE(pkg.counted());
      CHECK(pkg.raw == 2 * 2 * 8 * kMs);
      CHECK(pkg.time_enabled_ns == 2 * 8 * kMs);  // two copies
      const auto& cas = event(run.counts, "spr_unc_imc1::UNC_M_CAS_COUNT:RD");
      REQUIRE(cas.counted());
      CHECK(cas.raw == 2 * 3 * 8 * kMs);
      CHECK(cas.time_running_ns == cas.time_enabled_ns);
      CHECK(fake.open_fds() == 4);
    }
    SUBCASE("a command: opened CPU-wide on the packages' CPUs and enabled, not refused") {
      auto run = run_command(fake, root, resolver.resolve_list(both), 8 * kMs);
      const auto& pkg = event(run.counts, "rapl::RAPL_ENERGY_PKG");
      REQUIRE(pkg.counted());
      CHECK(pkg.raw == 2 * 2 * 8 * kMs);
      const auto& cas = event(run.counts, "spr_unc_imc1::UNC_M_CAS_COUNT:RD");
      REQUIRE(cas.counted());
      CHECK(cas.raw == 2 * 3 * 8 * kMs);
      CHECK(any_note(run.notes, "counted CPU-wide"));
    }
  }

  TEST_CASE("libpfm4's exclude_guest, :mg, :mh and :precise= reach perf_event_open unchanged") {
    // What libpfm4 gives for INST_RETIRED:ANY_P (0x00c0) on a Skylake with each modifier
    // (libpfm4's perf_event(3): exclude_guest is set unless :mg; :mg alone counts the guest
    // only, so exclude_host; :precise=2 is precise_ip 2). test_resolver_libpfm.cpp checks libpfm4
    // itself gives these under LIBPFM_FORCE_PMU=skl; here the counting engine must hand them to
    // the kernel as they are, where they choose what the counter counts.
    SysRoot root = fixture("skylake");
    PfmEncoding plain = test::pfm_encoding(PERF_TYPE_RAW, 0xc0, "skl");
    PfmEncoding guest = plain;
    guest.exclude_guest = false;
    guest.exclude_host = true;
    PfmEncoding both = plain;
    both.exclude_guest = false;
    PfmEncoding precise = plain;
    precise.precise_ip = 2;
    EventResolver resolver(
        root, std::make_unique<test::TableEncoder>(
                  std::map<std::string, PfmEncoding>{{"INST_RETIRED:ANY_P", plain},
                                                     {"INST_RETIRED:ANY_P:mg", guest},
                                                     {"INST_RETIRED:ANY_P:mg:mh", both},
                                                     {"INST_RETIRED:ANY_P:precise=2", precise}}));
    const char* names[] = {"INST_RETIRED:ANY_P", "INST_RETIRED:ANY_P:mg",
                           "INST_RETIRED:ANY_P:mg:mh", "INST_RETIRED:ANY_P:precise=2"};
    const PfmEncoding* wanted[] = {&plain, &guest, &both, &precise};
    for (size_t i = 0; i < 4; ++i) {
      CAPTURE(names[i]);
      FakeKernel fake(root);
      auto run = run_command(fake, root, resolver.resolve_list(names[i]), 4 * kMs);
      REQUIRE(event(run.counts, names[i]).counted());
      std::vector<perf_event_attr> attrs = fake.open_attrs();
      REQUIRE(attrs.size() == 1);
      CHECK(attrs[0].type == PERF_TYPE_RAW);
      CHECK((attrs[0].config & 0xffff) == 0xc0);
      CHECK(bool(attrs[0].exclude_guest) == wanted[i]->exclude_guest);
      CHECK(bool(attrs[0].exclude_host) == wanted[i]->exclude_host);
      CHECK(unsigned(attrs[0].precise_ip) == unsigned(wanted[i]->precise_ip));
    }
  }

  TEST_CASE("libpfm4's hybrid events count on their own core type's CPUs only") {
    // libpfm4 encodes adl_glc (Golden Cove) events in cpu_core's type, which x86 registers as
    // PERF_TYPE_RAW (4), and adl_grt (Gracemont) events in cpu_atom's (8); INST_RETIRED.ANY_P is
    // event 0xc0 on both. Opened on a CPU outside the PMU's `cpus` the kernel says ENOENT, which
    // would fail the event on every CPU. The fake counts 2 per ns on a P-core thread (CPUs 0-15)
    // and 3 per ns on an E-core (16-23).
    SysRoot root = fixture("alderlake-p");
    EventResolver resolver(
        root,
        std::make_unique<test::TableEncoder>(std::map<std::string, PfmEncoding>{
            {"adl_glc::INST_RETIRED:ANY_P", test::pfm_encoding(PERF_TYPE_RAW, 0xc0, "adl_glc")},
            {"adl_grt::INST_RETIRED:ANY_P", test::pfm_encoding(8, 0xc0, "adl_grt")}}));
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.count_at("cpu_core", 0xc0, 2.0);
    fake.count_at("cpu_atom", 0xc0, 3.0);
    auto run = run_target(fake, root,
                          resolver.resolve_list("adl_glc::INST_RETIRED:ANY_P,"
                                                "adl_grt::INST_RETIRED:ANY_P"),
                          system_wide(range(0, 23)), 8 * kMs);
    const auto& glc = event(run.counts, "adl_glc::INST_RETIRED:ANY_P");
    REQUIRE(glc.counted());
    CHECK(glc.pmu == "cpu_core");
    CHECK(glc.raw == 16 * 2 * 8 * kMs);
    CHECK(glc.time_enabled_ns == 16 * 8 * kMs);
    const auto& grt = event(run.counts, "adl_grt::INST_RETIRED:ANY_P");
    REQUIRE(grt.counted());
    CHECK(grt.pmu == "cpu_atom");
    CHECK(grt.raw == 8 * 3 * 8 * kMs);
    CHECK(grt.time_enabled_ns == 8 * 8 * kMs);
  }

  TEST_CASE("arm_cmn: a ? term the user gives is encoded, and the mesh is counted once with -a") {
    // tests/data/sysfs/arm-cmn: hnf_cache_miss_by_node is "type=0x5,eventid=0x1,bynodeid=1,
    // nodeid=?" with type config:0-15, eventid config:16-26, bynodeid config:31, nodeid
    // config:32-47. The fake counts 5 per ns for exactly that config (1 for any other), and
    // arm-cmn.c moves every copy to the mesh's one CPU (cpumask "0").
    SysRoot root = fixture("arm-cmn");
    FakeKernel fake(root);
    fake.set_privileged(true);
    const uint64_t config = 0x5 | (0x1ull << 16) | (1ull << 31) | (0x24ull << 32);
    fake.count_at("arm_cmn_0", config, 5.0);
    EventResolver resolver(root);
    auto run = run_target(fake, root,
                          resolver.resolve_list("arm_cmn_0/hnf_cache_miss_by_node,nodeid=0x24/"),
                          system_wide({}), 8 * kMs);
    REQUIRE(run.counts.size() == 1);
    const auto& miss = run.counts[0];
    REQUIRE(miss.counted());
    CHECK(miss.raw == 5 * 8 * kMs);
    CHECK(miss.time_enabled_ns == 8 * kMs);  // one copy
    CHECK(fake.open_fds() == 1);
  }

  TEST_CASE("-G with a relative path opens the cgroup under the cgroup2 mount mountinfo names") {
    // A hybrid systemd host (as tests/engine/test_mounts.cpp): v1 controllers under
    // <tmp>/fs/cgroup, cgroup2 at <tmp>/fs/cgroup/unified. The same relative path exists under
    // the v1 cpu controller; the kernel takes only a cgroup2 directory's fd.
    auto dir = test::make_temp_dir("fakecgroup");
    auto mounts = dir / "fs/cgroup";
    std::filesystem::create_directories(mounts / "unified/app.slice/web.service");
    std::filesystem::create_directories(mounts / "cpu/app.slice/web.service");
    std::filesystem::create_directories(dir / "proc/self");
    std::ofstream(dir / "proc/self/mountinfo")
        << "22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        << "25 22 0:23 / " << mounts.string()
        << " ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
        << "26 25 0:24 / " << (mounts / "unified").string()
        << " rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
        << "27 25 0:25 / " << (mounts / "cpu").string()
        << " rw,relatime shared:11 - cgroup cgroup rw,cpu\n";
    SysRoot root = fixture("intel-client");  // its sys/fs/cgroup does not exist
    root.proc = dir / "proc";
    FakeKernel fake(root);
    fake.set_privileged(true);
    Target t;
    t.kind = Target::Kind::cgroup;
    t.cgroup_path = "app.slice/web.service";
    t.cpus = range(0, 3);
    auto run = run_target(fake, root, EventResolver(root).resolve_list("instructions"), t, 8 * kMs);
    const auto& ins = event(run.counts, "instructions");
    REQUIRE(ins.counted());
    CHECK(ins.raw == 4 * 8 * kMs);  // cgroup events count per CPU (the fake: all the time)
    CHECK(fake.cgroup_dirs() ==
          std::set<std::string>{
              std::filesystem::canonical(mounts / "unified/app.slice/web.service").string()});
    run.counters.reset();
    std::filesystem::remove_all(dir);
  }

  TEST_CASE(
      "-G where perf_event is bound to cgroup v1: relative paths go there, cgroup2 is refused") {
    // /proc/cgroups gives perf_event hierarchy 10 (a v1 hierarchy, mounted at
    // fs/cgroup/perf_event): the kernel takes only a directory of that hierarchy
    // (css_tryget_online_from_dir), and a cgroup2 one is ENOENT for every event, which must not
    // read as events this machine lacks.
    auto dir = test::make_temp_dir("fakecgroup");
    auto mounts = std::filesystem::canonical(dir) / "fs/cgroup";
    std::filesystem::create_directories(mounts / "unified/app.slice/web.service");
    std::filesystem::create_directories(mounts / "perf_event/app.slice/web.service");
    std::filesystem::create_directories(dir / "proc/self");
    std::ofstream(dir / "proc/self/mountinfo")
        << "25 22 0:23 / " << mounts.string()
        << " ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
        << "26 25 0:24 / " << (mounts / "unified").string()
        << " rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
        << "28 25 0:26 / " << (mounts / "perf_event").string()
        << " rw,relatime shared:12 - cgroup cgroup rw,perf_event\n";
    std::ofstream(dir / "proc/cgroups") << "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                                           "cpu\t1\t1\t1\nperf_event\t10\t3\t1\n";
    SysRoot root = fixture("intel-client");
    root.proc = dir / "proc";
    FakeKernel fake(root);
    fake.set_privileged(true);
    Target t;
    t.kind = Target::Kind::cgroup;
    t.cgroup_path = "app.slice/web.service";
    t.cpus = range(0, 3);
    {
      auto run =
          run_target(fake, root, EventResolver(root).resolve_list("instructions"), t, 8 * kMs);
      REQUIRE(event(run.counts, "instructions").counted());
      CHECK(fake.cgroup_dirs() ==
            std::set<std::string>{(mounts / "perf_event/app.slice/web.service").string()});
    }
    t.cgroup_path = (mounts / "unified/app.slice/web.service").string();
    try {
      auto run =
          run_target(fake, root, EventResolver(root).resolve_list("instructions"), t, 8 * kMs);
      FAIL("a cgroup2 directory was taken while perf_event is on v1");
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      CHECK(what.find("is a cgroup2 directory") != std::string::npos);
      CHECK(what.find("cgroup v1 hierarchy (/proc/cgroups), mounted at " +
                      (mounts / "perf_event").string()) != std::string::npos);
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("Genoa: an amd_l3 event with -a is opened once per CCX and the CCXs add up") {
    // tests/data/sysfs/genoa-2s: 2 x EPYC 9354, 16 CCXs of 8 threads, amd_l3 cpumask one CPU
    // per CCX. Each copy counts its whole CCX (amd/uncore.c: EnAllCores, EnAllSlices), here 4
    // L3 accesses (event 0x04, umask 0xff) per ns; RAPL counts per package, 2 per ns.
    SysRoot root = fixture("genoa-2s");
    FakeKernel fake(root);
    fake.set_privileged(true);
    fake.count_at("amd_l3", 0xff04, 4.0);
    fake.count_at("power", 0x02, 2.0);
    EventResolver resolver(root);
    SUBCASE("one copy per CCX, one per package") {
      auto run = run_target(
          fake, root, resolver.resolve_list("amd_l3/event=0x04,umask=0xff/,power/energy-pkg/"),
          system_wide({}), 8 * kMs);
      const auto& l3 = event(run.counts, "amd_l3/event=0x04,umask=0xff/");
      REQUIRE(l3.counted());
      CHECK(l3.raw == 16 * 4 * 8 * kMs);
      CHECK(l3.time_enabled_ns == 16 * 8 * kMs);
      CHECK(l3.time_running_ns == l3.time_enabled_ns);
      const auto& pkg = event(run.counts, "power/energy-pkg/");
      REQUIRE(pkg.counted());
      CHECK(pkg.raw == 2 * 2 * 8 * kMs);
      CHECK(fake.open_fds() == 16 + 2);
    }
    SUBCASE("seven L3 events share each CCX's 6 counters: 6 of 7 ticks each, scaled back") {
      std::string seven;
      for (int u = 1; u <= 7; ++u)
        seven += (u > 1 ? "," : "") + std::string("amd_l3/event=0x04,umask=0x") +
                 std::to_string(u) + "/";
      auto run = run_target(fake, root, resolver.resolve_list(seven), system_wide({}), 7 * 4 * kMs);
      REQUIRE(run.counts.size() == 7);
      for (const auto& e : run.counts) {
        CAPTURE(e.name);
        REQUIRE(e.counted());
        CHECK(e.time_enabled_ns == 16 * 28 * kMs);
        CHECK(e.time_running_ns == 16 * 24 * kMs);
        CHECK(e.value == doctest::Approx(16.0 * 28 * kMs));  // 1 per ns per CCX by default
      }
    }
    SUBCASE("amd-zen (no online file): the machine has the CPUs its amd_l3 cpumask names") {
      SysRoot zen = fixture("amd-zen");
      FakeKernel desktop(zen);
      desktop.set_privileged(true);
      CHECK(desktop.online_cpus() == range(0, 31));  // cpumask 0,8,16,24: four 8-thread CCXs
      auto run = run_target(desktop, zen, EventResolver(zen).resolve_list("amd_l3/event=0x04/"),
                            system_wide(range(0, 31)), 8 * kMs);
      REQUIRE(run.counts[0].counted());
      CHECK(run.counts[0].raw == 4 * 8 * kMs);
    }
  }
}

namespace {

// perf stat -A rows of a text recording: "CPU0  1,336.48 MiB  data_read
// [uncore_imc_free_running_0]" gives {"uncore_imc_free_running_0", 1336.48}; and the elapsed
// seconds.
struct BoxRows {
  std::map<std::string, double> value;
  double elapsed_s = 0;
};
BoxRows read_box_rows(const std::filesystem::path& file) {
  BoxRows rows;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first, count, unit, name, box;
    words >> first;
    if (first.rfind("CPU", 0) == 0 && words >> count >> unit >> name >> box && box.size() > 2) {
      std::erase(count, ',');
      rows.value[box.substr(1, box.size() - 2)] = std::stod(count);
    } else if (line.find("seconds time elapsed") != std::string::npos) {
      rows.elapsed_s = std::stod(first);
    }
  }
  return rows;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE(
      "wild/005.txt: perf's per-box data_read rows come back per box, and add up without -A") {
    // perf 6.12, `perf stat -A -e data_read -a sleep 1` on an Intel client with two memory
    // controllers: one row per uncore_imc_free_running box, each on CPU0 (the boxes' cpumask).
    // The fake's boxes count, over the recording's elapsed time, the raw CAS counts that make
    // perf's printed MiB (64 bytes per count: the 6.103515625e-5 scale of uncore_snb.c).
    auto rows = read_box_rows(std::filesystem::path(PMC_TEST_DATA) / "perfstat/wild/005.txt");
    REQUIRE(rows.value.size() == 2);
    REQUIRE(rows.elapsed_s > 1.0);
    const double mib = 6.103515625e-5;
    const auto elapsed_ns = uint64_t(rows.elapsed_s * 1e9);
    SysRoot root = fixture("alderlake-p");
    auto replay = [&](const std::string& events) {
      auto fake = std::make_unique<FakeKernel>(root);
      fake->set_privileged(true);
      for (const auto& [box, value] : rows.value)
        fake->count_at(box, 0x20ff, value / mib / double(elapsed_ns));
      auto run = run_target(*fake, root, EventResolver(root).resolve_list(events),
                            system_wide(range(0, 23)), elapsed_ns);
      CHECK(fake->open_fds() == rows.value.size());  // one copy per box, on CPU 0
      return run.counts;
    };
    SUBCASE("each box as perf printed it (to its 0.01 MiB)") {
      auto counts =
          replay("uncore_imc_free_running_0/data_read/,uncore_imc_free_running_1/data_read/");
      for (const auto& [box, value] : rows.value) {
        CAPTURE(box);
        const auto& c = event(counts, box + "/data_read/");
        REQUIRE(c.counted());
        CHECK(c.unit == "MiB");
        CHECK(c.time_running_ns == c.time_enabled_ns);
        CHECK(std::abs(c.value - value) <= 0.005);
      }
    }
    SUBCASE("data_read without -A: one count, the boxes' sum, as perf's global aggregation") {
      auto counts = replay("data_read");
      REQUIRE(counts.size() == 1);
      REQUIRE(counts[0].counted());
      double sum = 0;
      for (const auto& [box, value] : rows.value) sum += value;
      CHECK(std::abs(counts[0].value - sum) <= 0.01);
    }
  }
}

// skylake.json's top-down level 1 on a Skylake server as
// measure would count it there: libpfm4's Skylake table active (forced in a fresh process, as
// libpfm reads LIBPFM_FORCE_PMU once), each event encoded (from the file's own perfmon entries,
// else libpfm4), planned on Skylake's 4 general counters, counted and multiplexed by the fake,
// and evaluated. libpfm4's skl table refuses perf's spellings CPU_CLK_UNHALTED:THREAD and
// IDQ_UOPS_NOT_DELIVERED:CYCLES_0_UOPS_DELIV.CORE ("invalid event attribute"): the file's own
// entries encode those.
namespace {

// The fake's rates, per ns, for the events the formulas read; a command on a Skylake with SMT on
// (so #core_wide is 0: tma_info_core_core_clks is CPU_CLK_UNHALTED.THREAD / 2 × (1 +
// ONE_THREAD_ACTIVE / REF_XCLK), and recovery cycles are INT_MISC.RECOVERY_CYCLES_ANY / 2).
const std::map<std::string, double> kSkylakeRates = {
    {"CPU_CLK_UNHALTED.THREAD", 1.0},
    {"CPU_CLK_UNHALTED.ONE_THREAD_ACTIVE", 0.25},
    {"CPU_CLK_UNHALTED.REF_XCLK", 0.25},
    {"IDQ_UOPS_NOT_DELIVERED.CORE", 0.8},
    {"UOPS_ISSUED.ANY", 2.4},
    {"UOPS_RETIRED.RETIRE_SLOTS", 2.0},
    {"INT_MISC.RECOVERY_CYCLES_ANY", 0.1},
};

std::string skylake_tma_body(const std::string&) {
  SysRoot root = fixture("skylake");
  MetricSet set =
      MetricSet::load(std::filesystem::path(PMC_SOURCE_DIR) / "data/metrics/skylake.json");
  Literals literals;
  literals.set("#smt_on", 1);
  literals.set("#core_wide", 0);
  const std::vector<std::string> names = {"tma_frontend_bound", "tma_bad_speculation",
                                          "tma_retiring", "tma_backend_bound"};
  EventResolver resolver(root);
  FakeKernel fake(root);
  fake.set_privileged(true);
  std::string out;
  for (const auto& name : set.required_events(names, literals)) {
    EventSpec spec = resolver.resolve(name);  // throws for a name that does not resolve
    // The file's own entries spell an event "cpu/event=0x3c,name='CPU_CLK_UNHALTED.THREAD'/".
    std::string intel = name;
    if (size_t at = name.find("name='"); at != std::string::npos)
      intel = name.substr(at + 6, name.find('\'', at + 6) - at - 6);
    auto rate = kSkylakeRates.find(intel);
    if (rate == kSkylakeRates.end()) return "no rate for " + name;
    fake.count_at("cpu", spec.attr.config, rate->second);
    out += "event " + intel + " " + spec.source + "\n";
  }
  auto planned = plan_event_groups(set.events_by_metric(names, literals),
                                   counter_model("GenuineIntel", 6, 0x55, true));
  std::vector<EventGroup> groups;
  for (const auto& members : planned) {
    EventGroup g;
    for (const auto& name : members) g.events.push_back(resolver.resolve(name));
    g.explicit_group = members.size() > 1;
    groups.push_back(std::move(g));
  }
  auto run = run_command(fake, root, std::move(groups), 400 * kMs);
  for (const auto& e : run.counts)
    if (!e.counted()) out += "not counted " + e.name + "\n";
  auto values = EventValues::from_counts(run.counts, 0.4);
  for (const auto& r : set.evaluate(names, values, literals))
    out += "metric " + r.name + " " + (r.value ? fmt::format("{:.6f}", *r.value) : r.reason) + "\n";
  return out;
}
const bool kSkylakeTmaBody = test::register_child_body("fake-skylake-tma", skylake_tma_body);

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("Skylake top-down level 1 from libpfm4's skl table, counted on the fake kernel") {
    std::string out = test::run_forced("skl", "fake-skylake-tma");
    INFO(out);
    // Some events come from the file's own perfmon entries (sysfs-style terms), the rest from
    // libpfm4's table: both kinds are in this level.
    CHECK(out.find(" libpfm4\n") != std::string::npos);
    CHECK(out.find(" sysfs\n") != std::string::npos);
    CHECK(out.find("not counted") == std::string::npos);
    CHECK(out.find("no rate for") == std::string::npos);
    CHECK(out.find("exception") == std::string::npos);
    // Every event the formulas read was encoded (its source printed) and counted.
    std::istringstream lines(out);
    std::map<std::string, double> metric;
    int events = 0;
    for (std::string line; std::getline(lines, line);) {
      std::istringstream in(line);
      std::string kind, name, value;
      in >> kind >> name >> value;
      if (kind == "event") {
        ++events;
        CHECK_MESSAGE(!value.empty(), name);
      }
      if (kind == "metric") metric[name] = std::atof(value.c_str());
    }
    CHECK(events == int(kSkylakeRates.size()));
    // Intel's level-1 top-down (SDM vol. 3B "Top-down Microarchitecture Analysis"; Yasin, ISPASS
    // 2014) with SLOTS = 4 × core clocks: clocks = THREAD / 2 × (1 + 0.25 / 0.25) = THREAD,
    // so SLOTS = 4 per ns; recovery cycles = 0.1 / 2 = 0.05 per ns.
    double slots = 4 * 1.0 / 2 * (1 + 0.25 / 0.25), recovery = 0.1 / 2;
    double frontend = 0.8 / slots;
    double bad = (2.4 - 2.0 + 4 * recovery) / slots;
    double retiring = 2.0 / slots;
    double backend = 1 - frontend - (2.4 + 4 * recovery) / slots;
    REQUIRE(metric.size() == 4);
    // ScaleUnit 1ratio: fractions. The fake multiplexes the 6 general-counter events on 4
    // counters; at constant rates the scaled counts are the truth.
    CHECK(metric["tma_frontend_bound"] == doctest::Approx(frontend).epsilon(1e-4));
    CHECK(metric["tma_bad_speculation"] == doctest::Approx(bad).epsilon(1e-4));
    CHECK(metric["tma_retiring"] == doctest::Approx(retiring).epsilon(1e-4));
    CHECK(metric["tma_backend_bound"] == doctest::Approx(backend).epsilon(1e-4));
  }
}
