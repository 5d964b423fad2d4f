#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "events/text/catalog_csv.h"
#include "models/fleet/sku_curve.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

// A model whose every level is W = k_i × chips × TDP (method tdp: intercept ln k_i, coefficients
// 1 on ln(chips × TDP), 0 on ln memory) or W = k_i × cores (method cores), with hold-out log
// quantiles ln 0.5 and ln 2: figures a reader can check by hand.
std::string hand_model(double level5_k = 0.6) {
  std::string levels_tdp, levels_cores;
  for (int i = 0; i <= 10; ++i) {
    double k = i == 5 ? level5_k : 0.2 + 0.08 * i;
    levels_tdp += (i ? "," : "") + std::string("{\"intercept\":") + std::to_string(std::log(k)) +
                  ",\"coefficients\":[1,0]}";
    levels_cores += (i ? "," : "") + std::string("{\"intercept\":") + std::to_string(std::log(k)) +
                    ",\"coefficients\":[1,0,0]}";
  }
  auto points = [](double v) {
    std::string s = "[";
    for (int i = 0; i <= 10; ++i) s += (i ? "," : "") + std::to_string(v);
    return s + "]";
  };
  auto holdout = [&](const std::string& levels) {
    return "{\"trained_before\":\"2021-01-01\",\"train_rows\":1,\"test_rows\":1,\"levels\":[" +
           levels + "],\"mape_percent\":" + points(10) +
           ",\"log_residual_q05\":" + points(std::log(0.5)) +
           ",\"log_residual_q95\":" + points(std::log(2.0)) + "}";
  };
  return "{\"schema\":\"pmcmodel.sku_curve/1\",\"trained_on\":{\"published_from\":\"2015-01-01\","
         "\"published_to\":\"2022-07-21\"},\"methods\":["
         "{\"name\":\"tdp\",\"features\":[\"ln_total_tdp_w\",\"ln_memory_gb\"],\"levels\":[" +
         levels_tdp + "],\"holdout\":" + holdout(levels_tdp) +
         "},{\"name\":\"cores\",\"features\":[\"ln_cores\",\"ln_chips\",\"ln_memory_gb\"],"
         "\"levels\":[" +
         levels_cores + "],\"holdout\":" + holdout(levels_cores) + "}]}";
}

const char* kFacts =
    "cpu_key,cpu_name,tdp_w,cores,base_ghz,turbo_ghz,launch_year,source,l3_mb\n"
    "platinum8380,Intel Xeon Platinum 8380 Processor,270,40,2.3,3.4,2021,intel-ark,\n";

// hand_model() with the tdp method given a third feature, ln_base_ghz, and these levels.
std::string with_base_clock_term(std::string text, const std::string& tdp_levels) {
  std::string from = "\"features\":[\"ln_total_tdp_w\",\"ln_memory_gb\"],\"levels\":[";
  size_t at = text.find(from);
  size_t end = text.find("],\"holdout\"", at);
  size_t h_at = text.find("\"levels\":[", end);
  size_t h_end = text.find("],\"mape_percent\"", h_at);
  text.replace(h_at, h_end - h_at, "\"levels\":[" + tdp_levels);
  text.replace(at, end - at,
               "\"features\":[\"ln_total_tdp_w\",\"ln_memory_gb\",\"ln_base_ghz\"],"
               "\"levels\":[" +
                   tdp_levels);
  return text;
}

double mape(const std::vector<double>& actual, const std::vector<double>& predicted) {
  double sum = 0;
  for (size_t i = 0; i < actual.size(); ++i) sum += std::abs(actual[i] - predicted[i]) / actual[i];
  return 100 * sum / double(actual.size());
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("sku-curve: hand-computed curve, interval and method from a known CPU") {
    auto model = SkuCurveModel::parse(hand_model(), "hand.json");
    auto cpus = CpuFactsTable::parse(kFacts, "facts.csv");
    // 2 × 270 W = 540 W; idle k = 0.2 → 108 W; 100 % k = 1.0 → 540 W.
    auto e = model.estimate({"Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", 2, 80, 256}, cpus);
    CHECK(e.method_name == "tdp");
    CHECK(e.tdp_w == 270);
    CHECK(e.watts[0] == doctest::Approx(108).epsilon(1e-5));
    CHECK(e.watts[5] == doctest::Approx(0.6 * 540).epsilon(1e-5));
    CHECK(e.watts[10] == doctest::Approx(540).epsilon(1e-5));
    CHECK(e.idle_lower == doctest::Approx(54).epsilon(1e-5));
    CHECK(e.idle_upper == doctest::Approx(216).epsilon(1e-5));
    CHECK(e.watts_100_lower == doctest::Approx(270).epsilon(1e-5));
    CHECK(e.watts_100_upper == doctest::Approx(1080).epsilon(1e-5));
    CHECK(e.method.find("intel-ark") != std::string::npos);
  }

  TEST_CASE("sku-curve: a CPU missing from the table is estimated from its cores, and says so") {
    auto model = SkuCurveModel::parse(hand_model(), "hand.json");
    auto cpus = CpuFactsTable::parse(kFacts, "facts.csv");
    auto e = model.estimate({"Intel Xeon Unknown 9999", 2, 64, 128}, cpus);
    CHECK(e.method_name == "cores");
    CHECK(e.watts[0] == doctest::Approx(0.2 * 64).epsilon(1e-5));
    CHECK(e.method.find("not in the CPU facts") != std::string::npos);
  }

  TEST_CASE("sku-curve: the base clock term, and the cores method when the clock is unknown") {
    // Every level: W = 0.5 × chips × TDP × base GHz² (coefficients 1 on ln TDP, 0 on memory, 2 on
    // ln base GHz). 2 × 270 W × 2.3² × 0.5 = 1,428.3 W for the 8380.
    std::string text = hand_model();
    std::string tdp_levels;
    for (int i = 0; i <= 10; ++i)
      tdp_levels += (i ? "," : "") + std::string("{\"intercept\":") +
                    std::to_string(std::log(0.5)) + ",\"coefficients\":[1,0,2]}";
    auto with_base = with_base_clock_term(text, tdp_levels);
    auto model = SkuCurveModel::parse(with_base, "base.json");
    auto cpus = CpuFactsTable::parse(
        std::string(kFacts) + "gold5117,Intel Xeon Gold 5117 Processor,105,14,,,2017,cpu-specs,\n",
        "facts.csv");
    auto e = model.estimate({"Intel Xeon Platinum 8380", 2, 80, 256}, cpus);
    CHECK(e.method_name == "tdp");
    CHECK(e.watts[10] == doctest::Approx(0.5 * 540 * 2.3 * 2.3).epsilon(1e-5));
    // The 5117 is in the table without a base clock: its whole curve comes from its cores.
    auto f = model.estimate({"Intel Xeon Gold 5117", 2, 28, 192}, cpus);
    CHECK(f.method_name == "cores");
    CHECK(f.watts[0] == doctest::Approx(0.2 * 28).epsilon(1e-5));
    CHECK(f.method.find("without ln_base_ghz") != std::string::npos);
  }

  TEST_CASE("sku-curve: SPEC's CPU descriptions with remarks and M/L variants find their CPU") {
    auto cpus = CpuFactsTable::parse(
        std::string(kFacts) +
            "epyc7601,AMD EPYC 7601,180,32,2.2,3.2,2017,amd-epyc,64\n"
            "platinum8276,Intel Xeon Platinum 8276 Processor,165,28,2.2,4,2019,intel-ark,\n",
        "facts.csv");
    // Both as written in SPECpower_ssj2008 results of 2019.
    const CpuFacts* epyc = cpus.find("AMD EPYC 7601 2.20 GHz, Dell SKU [338-BNCG]");
    REQUIRE(epyc != nullptr);
    CHECK(epyc->key == "epyc7601");
    const CpuFacts* xeon = cpus.find("Intel Xeon Platinum 8276M 2.20GHz");
    REQUIRE(xeon != nullptr);
    CHECK(xeon->key == "platinum8276");
    CHECK(cpus.find("Intel Xeon Platinum 8276L")->key == "platinum8276");
    // Only a trailing M or L after the model number goes: 8380HL is not an 8380.
    CHECK(cpus.find("Intel Xeon Platinum 8380HL") == nullptr);
    CHECK(cpus.find("AMD EPYC, Dell SKU [7601]") == nullptr);
  }

  TEST_CASE(
      "sku-curve: a level fitted below the one before it is raised to it (no falling curve)") {
    // level 50 % gets k = 0.3 (below 40 %'s 0.52): it takes 40 %'s watts.
    auto model = SkuCurveModel::parse(hand_model(0.3), "hand.json");
    auto cpus = CpuFactsTable::parse(kFacts, "facts.csv");
    auto e = model.estimate({"Xeon Platinum 8380", 1, 40, 64}, cpus);
    CHECK(e.watts[5] == doctest::Approx(0.52 * 270).epsilon(1e-5));
    CHECK(e.watts[6] == doctest::Approx(0.68 * 270).epsilon(1e-5));
  }

  TEST_CASE("sku-curve: unusable rows keep a reason, malformed tables are refused with FILE:LINE") {
    std::string text =
        "System,CPU Description,Chips,# Cores,# Cores Per Chip,# Threads Per Core,Processor MHz,"
        "Total Memory (GB),Published\n"
        "a,Intel Xeon Platinum 8380,2,80,40,2,2300,256,Jun 30 2021\n"
        "b,Intel Xeon Platinum 8380,2,80,20,2,2300,256,\n"
        "c,Intel Xeon Platinum 8380,two,80,40,2,2300,256,\n"
        "d,,2,80,40,2,2300,256,\n"
        "e,Intel Xeon Platinum 8380,2,80,40,2,2300,0,\n";
    auto table = read_specs_csv(text, "specs.csv");
    REQUIRE(table.rows.size() == 5);
    CHECK(table.rows[0].specs.has_value());
    CHECK(table.rows[0].specs->cores == 80);
    CHECK(table.rows[1].reason.find("'Chips' × '# Cores Per Chip' is 40") != std::string::npos);
    CHECK(table.rows[2].reason == "'Chips' is 'two', expected a number");
    CHECK(table.rows[3].reason == "'CPU Description' is empty");
    CHECK(table.rows[4].reason == "'Total Memory (GB)' must be positive");
    CHECK(table.rows[4].line == 6);

    CHECK_THROWS_WITH(read_specs_csv("CPU Description,Chips\nx,1\n", "s.csv"),
                      doctest::Contains("s.csv:1: expected a column '# Cores'"));
    CHECK_THROWS_WITH(read_specs_csv(text + "f,Intel,2\n", "s.csv"),
                      "s.csv:7: expected 9 fields as in the header, found 3");
    // The CPU facts table: an L3 that is not a positive size, or text, is refused at its line.
    CHECK_THROWS_WITH(
        CpuFactsTable::parse(std::string(kFacts) + "epyc7601,AMD EPYC 7601,180,32,2.2,3.2,2017,"
                                                   "amd-epyc,-64\n",
                             "facts.csv"),
        doctest::Contains("facts.csv:3: expected a positive L3 size in column 'l3_mb'"));
    CHECK_THROWS_WITH(
        CpuFactsTable::parse(std::string(kFacts) + "epyc7601,AMD EPYC 7601,180,32,2.2,3.2,2017,"
                                                   "amd-epyc,64 MB\n",
                             "facts.csv"),
        doctest::Contains("facts.csv:3:"));
  }

  TEST_CASE("sku-curve: the shipped model's held-out error on SPECpower results from 2021 on") {
    // The 67 results published from 2021 on, in SPEC's column names, with their published watts
    // (written by scripts/build-sku-curve --holdout-csv). The hold-out coefficients were fitted
    // on 2015-2020 results only. The model before the base clock term (docs/MODELS.md) reached
    // 23.2 % at idle, 11.7 % at 10 % and 17.4 % at 100 %: the loaded levels must now do better
    // than that, idle within the goal (≤ 25 %; ≤ 10 % at 100 % is not reached: Ice Lake
    // servers drew more above their TDP than any earlier result). The flat 5.625 W per thread
    // misses by far more.
    auto model = SkuCurveModel::load(std::string(PMCMODEL_DATA_DIR) + "/sku_curve.json");
    auto cpus = CpuFactsTable::load(std::string(PMCMODEL_DATA_DIR) + "/cpu_facts.csv");
    auto held = model.holdout_model();
    std::string text =
        read_catalog_file(std::string(PMC_TEST_DATA) + "/models/specpower_holdout_specs.csv");
    auto table = read_specs_csv(text, "holdout");
    REQUIRE(table.rows.size() == 67);
    size_t idle_col = 0;
    while (table.columns[idle_col] != "actual_idle") ++idle_col;
    std::vector<double> idle, ten, full, idle_hat, ten_hat, full_hat, flat;
    size_t by_tdp = 0, idle_in = 0, full_in = 0;
    for (const auto& row : table.rows) {
      REQUIRE(row.specs.has_value());
      auto e = held.estimate(*row.specs, cpus);
      by_tdp += e.method_name == "tdp";
      idle.push_back(std::stod(row.fields[idle_col]));
      ten.push_back(std::stod(row.fields[idle_col + 1]));
      full.push_back(std::stod(row.fields[idle_col + 10]));
      ten_hat.push_back(e.watts[1]);
      idle_hat.push_back(e.watts[0]);
      full_hat.push_back(e.watts[10]);
      idle_in += idle.back() >= e.idle_lower && idle.back() <= e.idle_upper;
      full_in += full.back() >= e.watts_100_lower && full.back() <= e.watts_100_upper;
      int threads = row.specs->cores * std::stoi(row.fields[4]);
      flat.push_back(5.625 * threads);
    }
    CHECK(by_tdp == 67);
    CHECK(mape(idle, idle_hat) <= 25.0);
    CHECK(mape(ten, ten_hat) < 11.7);
    CHECK(mape(full, full_hat) < 17.4);
    CHECK(mape(full, flat) > 2 * mape(full, full_hat));
    // The interval bounds are the 5 % / 95 % quantiles of these same errors: about 90 % inside.
    CHECK(idle_in >= 58);
    CHECK(full_in >= 58);
    // The shipped coefficients (refitted with these results) must do no worse on them.
    std::vector<double> shipped;
    for (const auto& row : table.rows)
      shipped.push_back(model.estimate(*row.specs, cpus).watts[10]);
    CHECK(mape(full, shipped) <= mape(full, full_hat));
  }

  TEST_CASE("sku-curve: a catalog server's specs, and none for a cloud instance") {
    Sku server;
    server.cpu_model = "Intel Xeon Platinum 8380";
    server.sockets = 2;
    server.cores = 80;
    server.memory_gb = 256;
    auto s = server_specs(server);
    REQUIRE(s.has_value());
    CHECK(s->chips == 2);
    CHECK(s->cores == 80);
    CHECK(s->memory_gb == 256);
    auto model = SkuCurveModel::parse(hand_model(), "hand.json");
    auto cpus = CpuFactsTable::parse(kFacts, "facts.csv");
    CHECK(model.estimate(*s, cpus).watts[10] == doctest::Approx(540).epsilon(1e-5));
    Sku instance = server;
    instance.sockets.reset();
    CHECK(!server_specs(instance).has_value());
  }
}
