#include <doctest/doctest.h>

#include <charconv>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "events/text/catalog_csv.h"
#include "models/fleet/grid.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

const std::string kFixtures = std::string(PMC_TEST_DATA) + "/catalog/";
const std::string kHeader = "region,provider,country,g_co2e_per_kwh,source\n";

std::vector<std::vector<std::string>> read_original(const std::string& relative) {
  std::ifstream in(std::string(PMC_SHARED_DIR) + "/data/" + relative);
  REQUIRE(in);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    auto fields = split_csv_line(line);
    REQUIRE(fields);
    rows.push_back(std::move(*fields));
  }
  return rows;
}

double number(const std::string& text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  REQUIRE(ec == std::errc());
  REQUIRE(end == text.data() + text.size());
  return v;
}

GridTable shipped() {
  return GridTable::load(std::string(PMCMODEL_DATA_DIR) + "/grid.csv");
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("grid: the shipped grid table loads: cloud regions and countries") {
    auto grid = shipped();
    size_t countries = 0;
    for (const auto& g : grid.entries()) countries += g.provider == "country";
    // scripts/build-catalog: 81 of mlco2/impact's 82 regions (one has no region name) and the 139
    // ISO-3 columns of Boavizta's electrical mix.
    CHECK(grid.entries().size() - countries == 81);
    CHECK(countries == 139);
    CHECK_FALSE(grid.g_per_kwh("no-such-region").has_value());
    CHECK(grid.find("us-east-1")->provider == "aws");
    CHECK(grid.find("us-east-1")->country == "USA");
  }

  TEST_CASE("grid: a cloud region's intensity is mlco2/impact's figure") {
    auto grid = shipped();
    auto original = read_original("grid/cloud_region_carbon.csv");
    const auto& header = original.at(0);
    auto col = [&](const char* name) {
      return size_t(std::find(header.begin(), header.end(), name) - header.begin());
    };
    for (const char* region : {"us-east-1", "eu-west-3", "europe-west1", "westeurope"}) {
      CAPTURE(region);
      auto row = std::find_if(original.begin() + 1, original.end(),
                              [&](const auto& r) { return r.at(col("region")) == region; });
      REQUIRE(row != original.end());
      CHECK(grid.g_per_kwh(region) == number(row->at(col("impact"))));
    }
  }

  TEST_CASE(
      "grid: a country's intensity is Boavizta's gwp figure of the highest priority, in grams") {
    auto grid = shipped();
    auto original = read_original("grid/electrical_mix.csv");
    const auto& header = original.at(0);
    for (const char* code : {"FRA", "DEU", "USA", "IND"}) {
      CAPTURE(code);
      size_t col = size_t(std::find(header.begin(), header.end(), code) - header.begin());
      REQUIRE(col < header.size());
      // Columns 4 and 6: priority (1 is preferred) and the impact name.
      const std::vector<std::string>* best = nullptr;
      for (const auto& r : original)
        if (r.at(6) == "gwp" && !r.at(col).empty() &&
            (!best || number(r.at(4)) < number(best->at(4))))
          best = &r;
      REQUIRE(best);
      REQUIRE(grid.g_per_kwh(code));
      CHECK(*grid.g_per_kwh(code) == doctest::Approx(number(best->at(col)) * 1000).epsilon(1e-12));
      CHECK(grid.find(code)->provider == "country");
    }
  }

  TEST_CASE("grid: a grid file with quoted fields and a zero-carbon region loads") {
    auto grid = GridTable::load(kFixtures + "good_grid.csv");
    REQUIRE(grid.entries().size() == 4);
    CHECK(grid.g_per_kwh("us-east-1") == 367.8);
    CHECK(grid.g_per_kwh("fro2") == 0.0);
    CHECK(grid.find("europe-west1")->source ==
          "mlco2/impact: https://blog.google/, Datacenter-specific");
  }

  TEST_CASE("grid: malformed grid rows are refused with FILE:LINE and what was expected") {
    SUBCASE("files") {
      std::string country = kFixtures + "bad_grid_country.csv",
                  duplicate = kFixtures + "bad_grid_duplicate.csv";
      CHECK_THROWS_WITH_AS(
          GridTable::load(country),
          (country + ":3: expected country to be an ISO-3 code such as FRA, found 'France'")
              .c_str(),
          std::runtime_error);
      CHECK_THROWS_WITH_AS(
          GridTable::load(duplicate),
          (duplicate + ":4: duplicate region 'us-east-1' (first on line 2)").c_str(),
          std::runtime_error);
    }
    struct Row {
      std::string line, message;
    };
    const Row rows[] = {
        {"us-east-1,aws,USA,0.3678,x\nx,aws,USA,367800,x",
         "3: expected g_co2e_per_kwh in grams CO2e per kWh (0 to 2000), found 367800"},
        {"us-east-1,aws,USA,-1,x",
         "2: expected g_co2e_per_kwh in grams CO2e per kWh (0 to 2000), found -1"},
        {"us-east-1,aws,USA,high,x", "2: expected a number in g_co2e_per_kwh, found 'high'"},
        {"us-east-1,aws,USA,367.8", "2: expected 5 fields as in the header, found 4"},
        {",aws,USA,367.8,x", "2: expected a value in region, found an empty field"},
        {"us-east-1,aws,USA,367.8,", "2: expected a value in source, found an empty field"},
        {"us-east-1,aws,USA,367.8,\"eGRID",
         "2: expected a closing quote (\") before the end of the line"},
    };
    for (const auto& r : rows) {
      CAPTURE(r.line);
      CHECK_THROWS_WITH_AS(GridTable::parse(kHeader + r.line + "\n", "grid.csv"),
                           ("grid.csv:" + r.message).c_str(), std::runtime_error);
    }
    CHECK_THROWS_WITH_AS(
        GridTable::parse("region,provider,country,kg_co2e_per_kwh,source\n", "grid.csv"),
        "grid.csv:1: expected column 4 of the header to be 'g_co2e_per_kwh', found "
        "'kg_co2e_per_kwh'",
        std::runtime_error);
    CHECK_THROWS_WITH_AS(GridTable::parse(kHeader, "grid.csv"),
                         "grid.csv:1: expected at least one region row after the header",
                         std::runtime_error);
  }
}
