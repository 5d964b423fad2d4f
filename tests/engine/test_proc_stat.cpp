// The aggregate "cpu" line of /proc/stat as busy and total CPU seconds.
#include <doctest/doctest.h>

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
