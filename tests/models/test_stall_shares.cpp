// The cache-stall estimate per workload from a CPI stack: shares of each group's cycles.
#include <doctest/doctest.h>

#include "models/fit/solvers.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE(
      "cpi stack: stall shares per workload from exact cycles = 1·instructions + 10·L1 + 100·LLC") {
    // Hand-made rows whose cycles follow the stack exactly: base CPI 1, 10 cycles per L1 miss,
    // 100 per LLC miss.
    Dataset d;
    std::vector<double> ins = {1000, 1000, 1000, 1000, 1000}, l1 = {10, 20, 5, 0, 30},
                        llc = {1, 2, 5, 8, 0};
    std::vector<double> cycles;
    for (size_t r = 0; r < ins.size(); ++r) cycles.push_back(ins[r] + 10 * l1[r] + 100 * llc[r]);
    d.add_column("cycles", cycles);  // 1200, 1400, 1550, 1800, 1300
    d.add_column("instructions", ins);
    d.add_column("l1", l1);
    d.add_column("llc", llc);
    auto stack = fit_cpi_stack(d, "cycles", "instructions", {"l1", "llc"});
    CHECK(stack.base_cpi == doctest::Approx(1).epsilon(1e-6));
    CHECK(stack.penalty_cycles[0] == doctest::Approx(10).epsilon(1e-6));
    CHECK(stack.penalty_cycles[1] == doctest::Approx(100).epsilon(1e-6));

    auto shares = stall_shares_by_group(stack, cycles, {"a", "a", "b", "b", "b"});
    REQUIRE(shares.size() == 2);
    CHECK(shares[0].group == "a");
    CHECK(shares[0].rows == 2);
    // a: 2600 cycles = 2000 base + 300 L1 (10·30) + 300 LLC (100·3).
    CHECK(shares[0].base_share == doctest::Approx(2000.0 / 2600).epsilon(1e-6));
    CHECK(shares[0].level_share[0] == doctest::Approx(300.0 / 2600).epsilon(1e-6));
    CHECK(shares[0].level_share[1] == doctest::Approx(300.0 / 2600).epsilon(1e-6));
    // b: 4650 cycles = 3000 base + 350 L1 (10·35) + 1300 LLC (100·13).
    CHECK(shares[1].base_share == doctest::Approx(3000.0 / 4650).epsilon(1e-6));
    CHECK(shares[1].level_share[0] == doctest::Approx(350.0 / 4650).epsilon(1e-6));
    CHECK(shares[1].level_share[1] == doctest::Approx(1300.0 / 4650).epsilon(1e-6));
    CHECK(shares[1].unexplained_share == doctest::Approx(0).epsilon(1e-6));
  }
}
