// The CPI stack's stall estimate against nested stall counters (CYCLE_ACTIVITY.STALLS_*): data
// generated from known penalties, with counters generated as the Intel descriptions say they
// count (STALLS_L1D_MISS ⊇ STALLS_L2_MISS ⊇ STALLS_L3_MISS).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "models/fit/model_file.h"
#include "models/fit/solvers.h"
#include "models/fit/stall_comparison.h"

using namespace pmc;

namespace {

// cycles = 0.5·ins + 10·L1 misses + 30·L2 misses + 150·L3 misses: an L3 miss costs 10 + 30 + 150
// cycles since it also missed L1 and L2. The counters: stalls while an L1d miss is outstanding =
// every miss's cycles; while an L2 miss is = 30·L2 + 150·L3; while an L3 miss is = 150·L3.
struct Generated {
  Dataset data;
  std::vector<std::string> groups;
  std::vector<double> cycles, s1, s2, s3;
};

Generated generate(double l3_counter_factor = 1) {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(0, 1);
  Generated g;
  std::vector<double> ins, l1, l2, l3, cpi;
  for (int r = 0; r < 120; ++r) {
    bool memory_bound = r % 3 == 0;
    double i = 1e9 * (0.5 + u(rng));
    double m1 = i * (memory_bound ? 0.04 : 0.01) * (0.2 + u(rng));
    double m2 = m1 * (0.2 + 0.6 * u(rng));
    double m3 = m2 * (memory_bound ? 0.5 + 0.4 * u(rng) : 0.1 * u(rng));
    double c = 0.5 * i + 10 * m1 + 30 * m2 + 150 * m3;
    ins.push_back(i);
    l1.push_back(m1);
    l2.push_back(m2);
    l3.push_back(m3);
    g.cycles.push_back(c);
    cpi.push_back(c / i);
    g.s1.push_back(10 * m1 + 30 * m2 + 150 * m3);
    g.s2.push_back(30 * m2 + 150 * m3);
    g.s3.push_back(150 * m3 * l3_counter_factor);
    g.groups.push_back(memory_bound ? "chase-dram" : "int");
  }
  g.data.add_column("instructions_per_s", ins);
  g.data.add_column("cycles_per_s", g.cycles);
  g.data.add_column("cpi", cpi);
  g.data.add_column("l1_dcache_load_misses_per_s", l1);
  g.data.add_column("l2_rqsts_miss_per_s", l2);
  g.data.add_column("llc_load_misses_per_s", l3);
  g.data.add_column("cycle_activity_stalls_l1d_miss_per_s", g.s1);
  g.data.add_column("cycle_activity_stalls_l2_miss_per_s", g.s2);
  g.data.add_column("cycle_activity_stalls_l3_miss_per_s", g.s3);
  g.data.add_column("cycle_activity_stalls_total_per_s", g.s1);
  return g;
}

const std::vector<std::string> kMisses = {"l1_dcache_load_misses_per_s", "l2_rqsts_miss_per_s",
                                          "llc_load_misses_per_s"};

// Σ v / Σ cycles over the rows of `group` ("all": every row), computed here from the generated
// values, not by the code under test.
double share(const Generated& g, const std::vector<double>& v, const std::string& group) {
  double num = 0, den = 0;
  for (size_t r = 0; r < v.size(); ++r)
    if (group == "all" || g.groups[r] == group) {
      num += v[r];
      den += g.cycles[r];
    }
  return num / den;
}

StallComparison fitted_comparison(const Generated& g, const std::vector<std::string>& misses) {
  auto stack = fit_cpi_stack(g.data, "cycles_per_s", "instructions_per_s", misses);
  return compare_stall_counters(g.data, misses, stack.penalty_cycles, g.cycles, g.groups, "_per_s");
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("stall comparison: cache levels from miss column names") {
    CHECK(cache_level_of("l1_dcache_load_misses_per_s") == 1);
    CHECK(cache_level_of("L1D.REPLACEMENT") == 1);
    CHECK(cache_level_of("l2_rqsts_miss_per_s") == 2);
    CHECK(cache_level_of("llc_load_misses_per_s") == 3);
    CHECK(cache_level_of("L3_MISS") == 3);
    CHECK(cache_level_of("cache_misses_per_s") == 3);
    CHECK(cache_level_of("dram_reads") == 4);
    CHECK(cache_level_of("branch_misses_per_s") == 0);
  }

  TEST_CASE("stall comparison: counters consistent with the nesting agree with the fitted stack") {
    auto g = generate();
    auto s = fitted_comparison(g, kMisses);
    REQUIRE(s.groups.size() == 3);  // chase-dram, int, all (first appearance order)
    CHECK(s.groups[0].group == "chase-dram");
    CHECK(s.groups[1].group == "int");
    CHECK(s.groups[2].group == "all");
    CHECK(s.groups[0].rows == 40);
    CHECK(s.groups[2].rows == 120);
    CHECK(s.notes.empty());
    REQUIRE(s.reference.size() == 1);
    CHECK(s.reference[0] == "cycle_activity_stalls_total_per_s");
    for (const auto& grp : s.groups) {
      CAPTURE(grp.group);
      REQUIRE(grp.levels.size() == 3);
      const std::vector<double>* counters[] = {&g.s1, &g.s2, &g.s3};
      for (size_t k = 0; k < 3; ++k) {
        const auto& l = grp.levels[k];
        CHECK(l.level == int(k + 1));
        CHECK(l.model_levels.size() == 3 - k);  // levels at and beyond k + 1
        double expected = share(g, *counters[k], grp.group);
        CHECK(l.measured_share == doctest::Approx(expected).epsilon(1e-12));
        CHECK(l.model_share == doctest::Approx(expected).epsilon(1e-6));
        CHECK(std::fabs(l.relative_error_percent) < 1e-4);
      }
      CHECK(grp.reference_share[0] == doctest::Approx(share(g, g.s1, grp.group)).epsilon(1e-12));
    }
    // The memory-bound group loses far more of its cycles beyond L3 than the integer one.
    CHECK(s.groups[0].levels[2].measured_share > 5 * s.groups[1].levels[2].measured_share);
  }

  TEST_CASE("stall comparison: a counter that disagrees is reported with its error") {
    // The L3 counter reads twice the cycles the penalties give: the model's sum beyond L3 is half
    // of it, −50% relative error, −(measured/2) as a share; L1 and L2 still agree.
    auto g = generate(2.0);
    auto s = fitted_comparison(g, kMisses);
    REQUIRE(s.groups.size() == 3);
    for (const auto& grp : s.groups) {
      CAPTURE(grp.group);
      CHECK(std::fabs(grp.levels[0].relative_error_percent) < 1e-4);
      CHECK(std::fabs(grp.levels[1].relative_error_percent) < 1e-4);
      CHECK(grp.levels[2].relative_error_percent == doctest::Approx(-50).epsilon(1e-6));
      double measured = share(g, g.s3, grp.group);
      CHECK(grp.levels[2].difference == doctest::Approx(-measured / 2).epsilon(1e-6));
    }
  }

  TEST_CASE("stall comparison: a level the model lacks is not compared, and says why") {
    auto g = generate();
    auto s = fitted_comparison(g, {"l1_dcache_load_misses_per_s", "llc_load_misses_per_s"});
    REQUIRE(s.groups.size() == 3);
    REQUIRE(s.groups[0].levels.size() == 2);
    CHECK(s.groups[0].levels[0].counter == "cycle_activity_stalls_l1d_miss_per_s");
    CHECK(s.groups[0].levels[1].counter == "cycle_activity_stalls_l3_miss_per_s");
    REQUIRE(s.notes.size() == 1);
    CHECK(s.notes[0].find("cycle_activity_stalls_l2_miss_per_s: not compared") == 0);

    // Without any stall counter column there is nothing at all.
    Dataset plain;
    plain.add_column("l1_dcache_load_misses_per_s", {1, 2});
    auto none = compare_stall_counters(plain, {"l1_dcache_load_misses_per_s"}, {10}, {100, 200}, {},
                                       "_per_s");
    CHECK(none.empty());
    CHECK(none.notes.empty());
  }

  TEST_CASE("stall comparison: kept through the model file") {
    auto g = generate(2.0);
    Model m;
    m.target = "cpi";
    m.solver = "nnls";
    m.interval = {0.9, -0.1, 0.1};
    m.stall_check = fitted_comparison(g, {"l1_dcache_load_misses_per_s", "llc_load_misses_per_s"});
    auto back = model_from_json(model_to_json(m), "m.json");
    REQUIRE(back.stall_check.groups.size() == m.stall_check.groups.size());
    CHECK(back.stall_check.notes == m.stall_check.notes);
    CHECK(back.stall_check.reference == m.stall_check.reference);
    for (size_t i = 0; i < m.stall_check.groups.size(); ++i) {
      const auto &a = m.stall_check.groups[i], &b = back.stall_check.groups[i];
      CHECK(a.group == b.group);
      CHECK(a.rows == b.rows);
      REQUIRE(a.levels.size() == b.levels.size());
      for (size_t k = 0; k < a.levels.size(); ++k) {
        CHECK(a.levels[k].counter == b.levels[k].counter);
        CHECK(a.levels[k].model_levels == b.levels[k].model_levels);
        CHECK(a.levels[k].relative_error_percent ==
              doctest::Approx(b.levels[k].relative_error_percent));
        CHECK(a.levels[k].model_share == doctest::Approx(b.levels[k].model_share));
      }
    }
  }
}
