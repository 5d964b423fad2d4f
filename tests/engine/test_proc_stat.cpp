// The aggregate "cpu" line of /proc/stat as busy and total CPU seconds.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "proc_stat.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("busy time is user+nice+system+irq+softirq+steal; idle and iowait are not busy") {
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
