#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "engine/power/energy_math.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("energy counter delta is (now - before) mod range") {
    constexpr uint64_t kClient = 262143328850;  // max_energy_range_uj of a client package
    struct Row {
      uint64_t before, now, range;
      std::optional<uint64_t> expected;
    };
    const Row rows[] = {
        {100, 250, 1000, 150},
        {900, 100, 1000, 200},  // wrapped: 1000 - 900 + 100
        {0, 0, 1000, 0},
        {1000, 0, 1000,
         0},  // at the largest value then 0: the one-unit step is below µJ resolution
        {0, 1000, 1000, 1000},
        {262143000000, 500000, kClient, 828850},        // 328850 to the wrap + 500000
        {500000, 262143000000, kClient, 262142500000},  // no wrap: a large step
        {5, 1001, 1000, std::nullopt},                  // above the range: not this counter
        {1001, 5, 1000, std::nullopt},
        {5, 9, 0, 4},  // range 0: 64-bit, does not wrap
        {9, 5, 0, std::nullopt},
        {std::numeric_limits<uint64_t>::max() - 5, std::numeric_limits<uint64_t>::max(), 0, 5},
    };
    for (const auto& r : rows) {
      CAPTURE(r.before);
      CAPTURE(r.now);
      CAPTURE(r.range);
      CHECK(wrapped_delta(r.before, r.now, r.range) == r.expected);
    }
  }

  TEST_CASE("meter watts integrate as trapezoids cut at the window") {
    // 100 W at t=0, 200 W at t=10 and t=20.
    const std::vector<MeterSample> s = {{0, 100}, {10, 200}, {20, 200}};
    struct Row {
      double begin, end;
      double joules, covered_s, coverage;
    };
    const Row rows[] = {
        {0, 20, 3500, 20, 1},      // (100+200)/2*10 + 200*10
        {5, 15, 1875, 10, 1},      // 150 W at t=5: (150+200)/2*5 + 200*5
        {-10, 10, 1500, 10, 0.5},  // only [0, 10] covered
        {15, 40, 1000, 5, 0.2},    // only [15, 20] covered
        {5, 5, 0, 0, 1},           // an instant inside the samples
    };
    for (const auto& r : rows) {
      CAPTURE(r.begin);
      CAPTURE(r.end);
      auto e = integrate_meter(s, MeterKind::watts, r.begin, r.end);
      REQUIRE(e);
      CHECK(e->joules == doctest::Approx(r.joules).epsilon(1e-12));
      CHECK(e->covered_s == doctest::Approx(r.covered_s));
      CHECK(e->coverage == doctest::Approx(r.coverage));
    }
  }

  TEST_CASE("meter integration without overlap gives no energy") {
    const std::vector<MeterSample> s = {{0, 100}, {10, 200}};
    CHECK_FALSE(integrate_meter(s, MeterKind::watts, 20, 30));
    CHECK_FALSE(integrate_meter(s, MeterKind::watts, -10, 0));  // touches at one instant only
    CHECK_FALSE(integrate_meter(s, MeterKind::watts, 10, 20));
    CHECK_FALSE(integrate_meter(s, MeterKind::watts, 12, 12));  // an instant outside
    CHECK_FALSE(integrate_meter(s, MeterKind::watts, 5, 4));    // end before begin
    const std::vector<MeterSample> one = {{0, 100}};
    CHECK_FALSE(integrate_meter(one, MeterKind::watts, -1, 1));  // one sample draws no line
  }

  TEST_CASE("meter joules are the cumulative counter interpolated at the edges") {
    const std::vector<MeterSample> s = {{0, 1000}, {10, 1500}, {20, 3500}};
    auto inside = integrate_meter(s, MeterKind::joules, 5, 15);
    REQUIRE(inside);
    CHECK(inside->joules == doctest::Approx(1250));  // C(15)=2500 minus C(5)=1250
    CHECK(inside->coverage == 1);
    auto partly = integrate_meter(s, MeterKind::joules, -5, 10);
    REQUIRE(partly);
    CHECK(partly->joules == doctest::Approx(500));  // C(10) - C(0)
    CHECK(partly->coverage == doctest::Approx(10.0 / 15.0));
  }

  TEST_CASE("energy of a partly covered window is extrapolated with the gap as uncertainty") {
    auto full = extrapolate_to_window({1500, 20, 1}, 20);
    CHECK(full.joules == 1500);
    CHECK(full.uncertainty == 0);
    auto half = extrapolate_to_window({1500, 10, 0.5}, 20);  // 150 W over 20 s
    CHECK(half.joules == doctest::Approx(3000));
    CHECK(half.uncertainty == doctest::Approx(0.5));
  }

  TEST_CASE("a meter's energy is uncertain by one sample period over the window") {
    // 100 W, then 300 W: readings every 2 s from 0 to 10 s.
    std::vector<MeterSample> s = {{0, 100}, {2, 100}, {4, 300}, {6, 300}, {8, 300}, {10, 300}};
    // [1, 9]: every gap it meets is 2 s; 2/8 = 0.25.
    auto run = integrate_meter(s, MeterKind::watts, 1, 9);
    REQUIRE(run);
    CHECK(run->longest_gap_s == 2);
    CHECK(extrapolate_to_window(*run, 8).uncertainty == doctest::Approx(0.25));
    // [4.5, 4.8]: inside one gap, the line between two readings: 2/0.3, at most 1.
    auto inside = integrate_meter(s, MeterKind::watts, 4.5, 4.8);
    REQUIRE(inside);
    CHECK(inside->joules == doctest::Approx(300 * 0.3));
    CHECK(inside->longest_gap_s == 2);
    CHECK(extrapolate_to_window(*inside, 0.3).uncertainty == 1);
    // Readings every 0.1 s over 10 s: 0.01.
    std::vector<MeterSample> dense;
    for (int i = 0; i <= 100; ++i) dense.push_back({i * 0.1, 200});
    auto long_run = integrate_meter(dense, MeterKind::watts, 0, 10);
    REQUIRE(long_run);
    CHECK(extrapolate_to_window(*long_run, 10).uncertainty == doctest::Approx(0.01));
    // A window that ends with the samples' partial cover: (1 - 8/12) + 2/12.
    auto partly = integrate_meter(s, MeterKind::watts, 2, 14);
    REQUIRE(partly);
    CHECK(extrapolate_to_window(*partly, 12).uncertainty ==
          doctest::Approx(1 - 8.0 / 12 + 2.0 / 12));
  }
}
