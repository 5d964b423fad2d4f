// The aggregate "cpu" line of /proc/stat as busy and total CPU seconds.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/system/proc_stat.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("busy time is user+nice+system+irq+softirq+steal, idle and iowait are not busy") {
    // user nice system idle iowait irq softirq steal guest guest_nice, at 100 ticks per second.
    auto t =
        parse_proc_stat("cpu  100 20 30 400 50 6 7 8 9 0\ncpu0 50 10 15 200 25 3 3 4 4 0\n", 100);
    REQUIRE(t);
    CHECK(t->busy_s == doctest::Approx((100 + 20 + 30 + 6 + 7 + 8) / 100.0));
    CHECK(t->total_s == doctest::Approx((100 + 20 + 30 + 6 + 7 + 8 + 400 + 50) / 100.0));
  }
  TEST_CASE("a missing or short cpu line is not read") {
    CHECK_FALSE(parse_proc_stat("cpu0 1 2 3 4 5 6 7 8\n", 100));
    CHECK_FALSE(parse_proc_stat("cpu  1 2 3 4 5 6 7\n", 100));
    CHECK_FALSE(parse_proc_stat("cpu  1 2 x 4 5 6 7 8\n", 100));
    CHECK_FALSE(parse_proc_stat("", 100));
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("a kept-open reader sees the file as it is at each read, and retries a missing one") {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("pmc-proc-stat-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::path file = dir / "stat";
    auto write = [&](const char* text) {
      std::ofstream out(file, std::ios::trunc);  // in place: the reader's descriptor stays valid
      out << text;
    };
    const double hz = double(sysconf(_SC_CLK_TCK));
    ProcStatReader reader(file.string());
    CHECK_FALSE(reader.read());  // not there yet
    write("cpu  100 0 50 800 50 0 0 0 0 0\n");
    auto a = reader.read();
    REQUIRE(a);
    CHECK(a->busy_s == doctest::Approx(150 / hz));
    write("cpu  300 0 70 900 50 0 0 0 0 0\n");  // 220 more busy ticks
    auto b = reader.read();
    REQUIRE(b);
    CHECK(b->busy_s - a->busy_s == doctest::Approx(220 / hz));
    CHECK(b->total_s == doctest::Approx((370 + 950) / hz));
    fs::remove_all(dir);
  }
  TEST_CASE("the real /proc/stat read twice through one reader shows time passing") {
    ProcStatReader reader("/proc/stat");
    auto a = reader.read();
    REQUIRE(a);
    // Every CPU's busy + idle time grows with wall time: 0.2 s is 20 ticks per CPU, so a reader
    // that returned the first read's text again would show no growth.
    usleep(200'000);
    auto b = reader.read();
    REQUIRE(b);
    CHECK(b->total_s > a->total_s);
    CHECK(b->busy_s >= a->busy_s);
  }
}

TEST_SUITE("pure") {
  TEST_CASE("cgroup v2 cpu.stat: usage_usec in seconds, wherever the line is") {
    // Documentation/admin-guide/cgroup-v2.rst, "cpu.stat": usage_usec, user_usec, system_usec,
    // then (non-root, cpu controller) nr_periods…; the text below is this VM's root cpu.stat.
    auto t = parse_cgroup_usage_usec(
        "usage_usec 30841025926\nuser_usec 29252533903\nsystem_usec 1588492022\n"
        "nice_usec 270214490\n");
    REQUIRE(t);
    CHECK(*t == doctest::Approx(30841.025926));
    CHECK(parse_cgroup_usage_usec("user_usec 5\nusage_usec 1500000\n").value_or(0) == 1.5);
    CHECK_FALSE(parse_cgroup_usage_usec("user_usec 5\nsystem_usec 6\n"));
    CHECK_FALSE(parse_cgroup_usage_usec("usage_usec 12x\n"));
    CHECK_FALSE(parse_cgroup_usage_usec(""));
  }

  TEST_CASE("the run's busy time shared among intervals in proportion to a counter's advance") {
    // Counter advances 0.1, 0.3, 0 and 0.6 s: shares 10 %, 30 %, 0 %, 60 % of 2.0 s.
    auto b = apportion_busy({0.1, 0.3, 0.0, 0.6}, {0.1, 0.1, 0.1, 0.05}, 2.0);
    REQUIRE(b.size() == 4);
    CHECK(b[0] == doctest::Approx(0.2));
    CHECK(b[1] == doctest::Approx(0.6));
    CHECK(b[2] == 0.0);
    CHECK(b[3] == doctest::Approx(1.2));
    // A counter that never moved: the busy time is spread by duration (0.1 : 0.1 : 0.05).
    auto flat = apportion_busy({0, 0, 0}, {0.1, 0.1, 0.05}, 1.0);
    CHECK(flat[0] == doctest::Approx(0.4));
    CHECK(flat[1] == doctest::Approx(0.4));
    CHECK(flat[2] == doctest::Approx(0.2));
    CHECK(apportion_busy({}, {}, 1.0).empty());
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("task CPU time from the first cgroup counter that exists under the sys root") {
    namespace fs = std::filesystem;
    fs::path sys = fs::temp_directory_path() / ("pmc-task-cpu-" + std::to_string(::getpid()));
    fs::remove_all(sys);
    CHECK_FALSE(TaskCpuReader(sys.string()).available());  // no cgroup files: /proc/stat is used
    // cgroup v1 cpuacct.usage (ns) on its own.
    fs::create_directories(sys / "fs/cgroup/cpuacct");
    std::ofstream(sys / "fs/cgroup/cpuacct/cpuacct.usage") << "2500000000\n";
    TaskCpuReader v1(sys.string());
    REQUIRE(v1.available());
    CHECK(v1.path() == (sys / "fs/cgroup/cpuacct/cpuacct.usage").string());
    CHECK(v1.read().value_or(0) == doctest::Approx(2.5));
    // A hybrid layout's cgroup v2 hierarchy comes first; an unparsable one is passed over.
    fs::create_directories(sys / "fs/cgroup/unified");
    std::ofstream(sys / "fs/cgroup/unified/cpu.stat") << "user_usec 1\n";
    CHECK(TaskCpuReader(sys.string()).path() == v1.path());
    {
      std::ofstream out(sys / "fs/cgroup/unified/cpu.stat", std::ios::trunc);
      out << "usage_usec 7000000\nuser_usec 6000000\nsystem_usec 1000000\n";
    }
    TaskCpuReader v2(sys.string());
    CHECK(v2.path() == (sys / "fs/cgroup/unified/cpu.stat").string());
    CHECK(v2.read().value_or(0) == doctest::Approx(7.0));
    {
      std::ofstream out(sys / "fs/cgroup/unified/cpu.stat", std::ios::trunc);
      out << "usage_usec 7250000\n";  // in place: the kept-open descriptor sees the new text
    }
    CHECK(v2.read().value_or(0) == doctest::Approx(7.25));
    fs::remove_all(sys);
  }

  TEST_CASE("this machine's root cgroup counter, when it has one, grows with a busy loop") {
    TaskCpuReader reader("/sys");
    if (!reader.available()) {
      MESSAGE("no root cgroup CPU counter here: /proc/stat is read at each tick");
      return;
    }
    auto a = reader.read();
    REQUIRE(a);
    volatile double x = 1;
    for (int i = 0; i < 20000000; ++i) x = x * 1.0000001;  // tens of ms of this task's CPU time
    auto b = reader.read();
    REQUIRE(b);
    CHECK(*b - *a >= 0.005);  // it counts at least this task's own time
  }
}
