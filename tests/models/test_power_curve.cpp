#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "events/text/catalog_csv.h"
#include "pmcmodel_version.h"
#include "models/fleet/power_curve.h"
#include "models/fleet/sku_catalog.h"

using namespace pmc;

namespace {

using Record = std::map<std::string, std::string>;

// The original published table (not the generated catalog), one map per row keyed by the header.
// Both source files keep each record on one line.
std::vector<Record> read_original(const std::string& relative) {
  std::ifstream in(std::string(PMC_SHARED_DIR) + "/data/" + relative);
  REQUIRE(in);
  std::string line;
  std::getline(in, line);
  auto header = *split_csv_line(line);
  std::vector<Record> rows;
  while (std::getline(in, line)) {
    auto fields = split_csv_line(line);
    REQUIRE(fields);
    REQUIRE(fields->size() == header.size());
    Record r;
    for (size_t i = 0; i < header.size(); ++i) r[header[i]] = (*fields)[i];
    rows.push_back(std::move(r));
  }
  return rows;
}

double number(std::string text) {
  std::replace(text.begin(), text.end(), ',', '.');  // Teads writes decimal commas
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  REQUIRE(ec == std::errc());
  REQUIRE(end == text.data() + text.size());
  return v;
}

const Sku* specpower_row(const SkuCatalog& catalog, const std::string& index) {
  for (const auto& s : catalog.skus())
    if (s.id.starts_with("specpower-" + index + "-")) return &s;
  return nullptr;
}

SkuCatalog shipped() {
  return SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE(
      "power curve: the curve gives SPECpower's published watts exactly at the published loads") {
    auto catalog = shipped();
    auto original = read_original("skus/specpower_ssj2008.csv");
    // Results 0 (IBM x3400 M3, Xeon X5670), 1 (Huawei RH2288 V2), 300 (Acer AR320 F1), 616 (Lenovo
    // SR645, EPYC 7742).
    for (const char* index : {"0", "1", "300", "616"}) {
      CAPTURE(index);
      auto published = std::find_if(original.begin(), original.end(),
                                    [&](const Record& r) { return r.at("") == index; });
      REQUIRE(published != original.end());
      const Sku* sku = specpower_row(catalog, index);
      REQUIRE(sku);
      CHECK(watts_at_load(*sku, 0.0) == number(published->at("ActiveIdle")));
      for (int percent = 10; percent <= 100; percent += 10) {
        CAPTURE(percent);
        double expected = number(published->at(std::to_string(percent) + "_AvgPower"));
        CHECK(watts_at_load(*sku, percent / 100.0) == expected);
        CHECK(watts_at_load(*sku, percent * 0.01) == expected);  // 0.07 * 10 is not 7 in binary
      }
    }
  }

  TEST_CASE("power curve: Teads' published points are kept exactly and joined by straight lines") {
    auto catalog = shipped();
    auto original = read_original("skus/teads_aws_instance_power.csv");
    for (const char* type : {"c5n.metal", "m5a.2xlarge", "a1.medium"}) {
      CAPTURE(type);
      auto published = std::find_if(original.begin(), original.end(),
                                    [&](const Record& r) { return r.at("Instance type") == type; });
      REQUIRE(published != original.end());
      const Sku* sku = catalog.find(std::string("aws-") + type);
      REQUIRE(sku);
      double idle = number(published->at("Instance @ Idle")),
             w10 = number(published->at("Instance @ 10%"));
      double w50 = number(published->at("Instance @ 50%")),
             w100 = number(published->at("Instance @ 100%"));
      CHECK(watts_at_load(*sku, 0.0) == idle);
      CHECK(watts_at_load(*sku, 0.1) == w10);
      CHECK(watts_at_load(*sku, 0.5) == w50);
      CHECK(watts_at_load(*sku, 1.0) == w100);
      CHECK(watts_at_load(*sku, 0.3) == doctest::Approx((w10 + w50) / 2));
      CHECK(watts_at_load(*sku, 0.75) == doctest::Approx((w50 + w100) / 2));
      CHECK(watts_at_load(*sku, 0.05) == doctest::Approx((idle + w10) / 2));
    }
  }

  TEST_CASE("power curve: between published points the curve is linear") {
    Sku sku;
    sku.watts = {50, 100, 120, 130, 150, 170, 190, 210, 240, 270, 300};
    struct Row {
      double utilisation, watts;
    };
    const Row rows[] = {
        {0.05, 75},                                         // (50 + 100) / 2
        {0.15, 110},                                        // (100 + 120) / 2
        {0.25, 125},                                        // (120 + 130) / 2
        {0.85, 255},                                        // (240 + 270) / 2
        {0.95, 285},                                        // (270 + 300) / 2
        {0.02, 60},                                         // 50 + 50 × 0.2
        {0.975, 292.5},                                     // 270 + 30 × 0.75
        {0.4, 150},     {1.0, 300}, {0.0, 50}, {-0.5, 50},  // clamped
        {1.7, 300},                                         // clamped
    };
    for (const auto& r : rows) {
      CAPTURE(r.utilisation);
      CHECK(watts_at_load(sku, r.utilisation) == doctest::Approx(r.watts).epsilon(1e-12));
    }
    CHECK(std::isnan(watts_at_load(sku, std::nan(""))));
    CHECK(watts_at_load(sku, INFINITY) == 300);
  }

  TEST_CASE("power curve: the TDP fallback runs from idle_fraction × TDP to TDP") {
    TdpCurve curve{200, 0.25, "test"};
    CHECK(watts_at_load(curve, 0.0) == 50);  // 0.25 × 200
    CHECK(watts_at_load(curve, 1.0) == 200);
    CHECK(watts_at_load(curve, 0.5) == 125);                  // 50 + 150 × 0.5
    CHECK(watts_at_load(curve, 0.2) == doctest::Approx(80));  // 50 + 150 × 0.2
    CHECK(watts_at_load(curve, 2.0) == 200);
    CHECK(watts_at_load(curve, -1.0) == 50);
  }

  TEST_CASE("power curve: the idle fraction is the median idle/full ratio") {
    auto sku_with = [](double idle, double full) {
      Sku s;
      s.watts.fill(idle);
      s.watts.back() = full;
      return s;
    };
    std::vector<Sku> odd = {sku_with(30, 100), sku_with(20, 100), sku_with(50, 100)};
    CHECK(median_idle_fraction(odd) == doctest::Approx(0.3));
    std::vector<Sku> even = {sku_with(30, 100), sku_with(20, 100), sku_with(50, 100),
                             sku_with(100, 250)};
    CHECK(median_idle_fraction(even) == doctest::Approx(0.35));  // (0.3 + 0.4) / 2
    CHECK_THROWS_AS(median_idle_fraction({}), std::invalid_argument);
  }

  TEST_CASE(
      "the shipped catalog's idle fraction is the median over the SPECpower results it keeps") {
    auto catalog = shipped();
    auto original = read_original("skus/specpower_ssj2008.csv");
    std::vector<double> ratios;
    for (const auto& r : original)
      if (specpower_row(catalog, r.at("")))
        ratios.push_back(number(r.at("ActiveIdle")) / number(r.at("100_AvgPower")));
    REQUIRE(ratios.size() == 616);
    std::sort(ratios.begin(), ratios.end());
    double median = (ratios[307] + ratios[308]) / 2;
    auto curve = tdp_curve_from_specpower(catalog, 205);
    CHECK(curve.idle_fraction == doctest::Approx(median).epsilon(1e-12));
    CHECK(curve.idle_fraction > 0.1);
    CHECK(curve.idle_fraction < 0.5);
    CHECK(curve.idle_fraction_source.find("616 SPECpower_ssj2008 results") != std::string::npos);
    CHECK(watts_at_load(curve, 1.0) == 205);
    auto fixture = SkuCatalog::load(std::string(PMC_TEST_DATA) + "/catalog/good_skus.csv");
    CHECK(tdp_curve_from_specpower(fixture, 100).idle_fraction_source.find("2 SPECpower") !=
          std::string::npos);
  }

  TEST_CASE("power curve: the TDP fallback needs SPECpower rows and a positive TDP") {
    auto catalog = shipped();
    CHECK_THROWS_AS(tdp_curve_from_specpower(catalog, 0), std::invalid_argument);
    auto cloud = SkuCatalog::parse(
        "id,vendor,cpu_model,sockets,cores,threads,base_ghz,turbo_ghz,tdp_w,idle_w,load10_w,load20_"
        "w,load30_w,"
        "load40_w,load50_w,load60_w,load70_w,load80_w,load90_w,load100_w,memory_gb,mem_bw_gbs,llc_"
        "mb,"
        "price_per_hour_usd,price_source,power_source\n"
        "aws-x,aws,X 1,,1,2,,,,1,2,3,4,5,6,7,8,9,10,11,,,,,,teads-2021\n",
        "cloud.csv");
    CHECK_THROWS_AS(tdp_curve_from_specpower(cloud, 100), std::invalid_argument);
  }
}
