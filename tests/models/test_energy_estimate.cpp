// Estimates without a meter, a command's share of a measured reading, and the derived figures.
// Every expected value is worked out by hand from the inputs written beside it.
#include <doctest/doctest.h>

#include <string>

#include "models/fleet/energy_estimate.h"
#include "models/fleet/power_curve.h"
#include "models/fleet/sku_catalog.h"

using namespace pmc;

namespace {

// Two SPECpower_ssj2008 results (rows 0 and 1 of the shipped catalog) and three AWS rows.
SkuCatalog fixture_catalog() {
  return SkuCatalog::load(std::string(PMC_TEST_DATA) + "/catalog/good_skus.csv");
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE(
      "a SKU curve reproduces the published watts and is scaled to a VM's share of the host") {
    auto catalog = fixture_catalog();
    const Sku* ibm = catalog.find("specpower-0-ibm-corporation-ibm-system-x3400-m3");
    REQUIRE(ibm != nullptr);
    SUBCASE("the whole server: published idle 69.2 W, 50% 170 W, 100% 258 W") {
      auto c = sku_estimate_curve(*ibm, 24);
      CHECK(c.method == "estimated:sku-curve:specpower-0-ibm-corporation-ibm-system-x3400-m3");
      CHECK(c.domain == "wall");
      for (double u : {0.0, 0.37, 1.0}) CHECK(c.uncertainty_at(u) == kSkuCurveUncertainty);
      CHECK(watts_at_load(c.watts, 0.0) == 69.2);
      CHECK(watts_at_load(c.watts, 0.5) == 170);
      CHECK(watts_at_load(c.watts, 1.0) == 258);
      CHECK(watts_at_load(c.watts, 0.05) == doctest::Approx((69.2 + 119) / 2));
    }
    SUBCASE("2 of its 24 threads") {
      auto c = sku_estimate_curve(*ibm, 2);
      CHECK(c.watts[0] == doctest::Approx(69.2 * 2 / 24));
      CHECK(c.watts[10] == doctest::Approx(258.0 * 2 / 24));
      CHECK(c.basis.find("2 of its 24 threads") != std::string::npos);
    }
  }

  TEST_CASE(
      "the TDP curve takes the median TDP per thread and idle fraction of the SPECpower rows") {
    auto catalog = fixture_catalog();
    // Rows 0 and 1: 95 W × 2 sockets / 24 threads and 95 W × 2 / 32; the AWS rows have no TDP.
    double per_thread = (95.0 * 2 / 24 + 95.0 * 2 / 32) / 2;
    CHECK(median_tdp_per_thread_w(catalog) == doctest::Approx(per_thread));
    // Idle / 100% load: 69.2 / 258 and 59.7 / 257.
    double f = (69.2 / 258 + 59.7 / 257) / 2;
    auto c = tdp_estimate_curve(catalog, 4);
    CHECK(c.method == "estimated:tdp");
    CHECK(c.domain == "package");
    for (double u : {0.0, 0.37, 1.0}) CHECK(c.uncertainty_at(u) == kTdpCurveUncertainty);
    CHECK(c.watts[0] == doctest::Approx(f * 4 * per_thread));
    CHECK(c.watts[10] == doctest::Approx(4 * per_thread));
    CHECK(watts_at_load(c.watts, 0.5) == doctest::Approx(4 * per_thread * (f + (1 - f) * 0.5)));
    SUBCASE("a given TDP") {
      auto given = tdp_estimate_curve(catalog, 4, 65.0);
      CHECK(given.watts[10] == doctest::Approx(65.0));
      CHECK(given.watts[0] == doctest::Approx(65.0 * f));
    }
    auto range = idle_fraction_range(catalog);
    CHECK(range.first == doctest::Approx(59.7 / 257));
    CHECK(range.second == doctest::Approx(69.2 / 258));
  }

  TEST_CASE("a command's share is its CPU-time share of active energy plus its share of idle") {
    // 100 J over 10 s (10 W average) on 4 CPUs, busy 20 CPU-seconds in all (U = 0.5), the command
    // 10 of them, idle fraction 0.5: P_idle = 0.5 × 10 / (0.5 + 0.5 × 0.5) = 20/3 W. Active
    // 100 − 200/3 = 100/3 J, half of it the command's; idle 200/3 J, a quarter of it (10 of 40
    // CPU-seconds) the command's: 50/3 + 50/3 = 100/3 J.
    ShareBasis b{10, 10, 20, 4};
    CHECK(b.machine_utilisation() == doctest::Approx(0.5));
    double idle = idle_watts_from_average(10, b.machine_utilisation(), 0.5);
    CHECK(idle == doctest::Approx(20.0 / 3));
    CHECK(command_share_joules(100, idle, b) == doctest::Approx(100.0 / 3));
    SUBCASE("busy time below the command's is taken as the command's") {
      // 50 J, 5 s, 2 CPUs, idle 4 W: idle 20 J, active 30 J all the command's, idle share 20 ×
      // 5/10.
      CHECK(command_share_joules(50, 4, {5, 5, 1, 2}) == doctest::Approx(30 + 10));
    }
    SUBCASE("idle power above the reading leaves no active energy") {
      CHECK(command_share_joules(10, 2, {10, 5, 5, 1}) == doctest::Approx(10 * 5.0 / 10));
    }
    SUBCASE("a command without CPU time gets nothing") {
      CHECK(command_share_joules(100, 5, {10, 0, 20, 4}) == 0);
    }
    SUBCASE("a command alone on a fully busy machine gets all of it") {
      CHECK(command_share_joules(100, idle_watts_from_average(10, 1, 0.3), {10, 40, 40, 4}) ==
            doctest::Approx(100));
    }
  }

  TEST_CASE("cost, CO2e and energy per instruction") {
    CHECK(co2_grams(3.6e6, 400) == doctest::Approx(400));  // 1 kWh at 400 g/kWh
    CHECK(co2_grams(1800, 500) == doctest::Approx(0.25));
    CHECK(cost_usd(0.192, 1800) == doctest::Approx(0.096));  // half an hour at 0.192 USD/h
    CHECK(nanojoules_per_instruction(2, 1e9) == doctest::Approx(2));
    CHECK(nanojoules_per_instruction(2, 0) == 0);
  }
}
