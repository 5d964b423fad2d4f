#include <doctest/doctest.h>

#include <cmath>

#include "engine/counting/perf_event.h"
#include "engine/counting/scaling.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("scale estimates a multiplexed count as raw x enabled / running") {
    SUBCASE("not multiplexed: the raw count") {
      CHECK(*scale({1000, 500, 500}) == 1000.0);
    }
    SUBCASE("ran a quarter of the time: four times the raw count") {
      CHECK(*scale({1000, 400, 100}) == doctest::Approx(4000.0));
    }
    SUBCASE("never ran: no value at all, not zero") {
      CHECK_FALSE(scale({0, 400, 0}).has_value());
    }
    SUBCASE("large counts keep their precision") {
      // 2^60 scaled by 3/2: exact in long double, exact after rounding to double.
      CHECK(*scale({1ull << 60, 3, 2}) == doctest::Approx(1.5 * double(1ull << 60)));
    }
  }

  TEST_CASE("apply_scale marks never-scheduled events not_counted with a reason") {
    EventCount c;
    c.raw = 5;
    c.time_enabled_ns = 100;
    c.time_running_ns = 0;
    apply_scale(c, 1.0);
    CHECK(c.status == EventStatus::not_counted);
    CHECK(c.reason.find("time_running is 0") != std::string::npos);
    EventCount energy;
    energy.raw = 1000;
    energy.time_enabled_ns = energy.time_running_ns = 10;
    // RAPL energy-pkg unit from the kernel's arch/x86/events/rapl.c: 2^-32 J per count.
    apply_scale(energy, 2.3283064365386962890625e-10);
    CHECK(energy.counted());
    CHECK(energy.value == doctest::Approx(1000.0 / 4294967296.0));
  }

  TEST_CASE("apply_scale keeps a failure status from opening") {
    EventCount c;
    c.status = EventStatus::permission_denied;
    c.reason = "paranoid";
    apply_scale(c, 1.0);
    CHECK(c.status == EventStatus::permission_denied);
    CHECK(c.reason == "paranoid");
  }

  TEST_CASE("delta_count rescales on the interval's own enabled and running times") {
    EventCount before, after;
    before.status = after.status = EventStatus::counted;
    before.raw = 100, before.time_enabled_ns = 1000, before.time_running_ns = 1000;
    after.raw = 300, after.time_enabled_ns = 2000, after.time_running_ns = 1500;
    auto d = delta_count(after, before);
    // 200 counted in 500 ns of 1000 ns enabled -> 400.
    CHECK(d.raw == 200);
    CHECK(d.value == doctest::Approx(400.0));
    CHECK(d.counted());
    SUBCASE("an interval in which the event was enabled but never on a counter is not_counted") {
      after.time_running_ns = 1000;
      after.raw = 100;
      auto n = delta_count(after, before);
      CHECK(n.status == EventStatus::not_counted);
      CHECK(n.reason == "not on a counter during this interval");
    }
    SUBCASE("an interval in which the command did not run (enabled time still) counts 0") {
      after = before;
      after.unit_scale = 1e-6;
      auto z = delta_count(after, before);
      CHECK(z.status == EventStatus::counted);
      CHECK(z.value == 0.0);
      CHECK(z.reason.empty());
    }
    SUBCASE("an event that has never been enabled stays not_counted") {
      before.status = after.status = EventStatus::not_counted;
      before.raw = after.raw = 0;
      before.time_enabled_ns = after.time_enabled_ns = 0;
      before.time_running_ns = after.time_running_ns = 0;
      auto z = delta_count(after, before);
      CHECK(z.status == EventStatus::not_counted);
      CHECK(z.reason == "never enabled (the target did not run)");
    }
  }

  TEST_CASE("combine_runs gives the mean and the sample standard deviation") {
    auto run = [](double v) {
      EventCount c;
      c.name = "x";
      c.status = EventStatus::counted;
      c.value = v;
      c.raw = uint64_t(v);
      return std::vector<EventCount>{c};
    };
    // Values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, sample variance 32/7.
    std::vector<std::vector<EventCount>> runs;
    for (double v : {2, 4, 4, 4, 5, 5, 7, 9}) runs.push_back(run(v));
    auto out = combine_runs(runs);
    REQUIRE(out.size() == 1);
    CHECK(out[0].value == doctest::Approx(5.0));
    CHECK(*out[0].spread->stddev == doctest::Approx(std::sqrt(32.0 / 7.0)));
    SUBCASE("an event missing in one run is not counted overall") {
      runs[3][0].status = EventStatus::not_counted;
      runs[3][0].reason = "r";
      auto o = combine_runs(runs);
      CHECK(o[0].status == EventStatus::not_counted);
      CHECK_FALSE(o[0].spread->stddev.has_value());
    }
  }
}
