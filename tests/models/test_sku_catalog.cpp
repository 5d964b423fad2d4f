#include <doctest/doctest.h>

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>

#include "events/text/catalog_csv.h"
#include "pmcmodel_version.h"
#include "models/fleet/sku_catalog.h"

using namespace pmc;

namespace {

const std::string kFixtures = std::string(PMC_TEST_DATA) + "/catalog/";
const std::string kHeader =
    "id,vendor,cpu_model,sockets,cores,threads,base_ghz,turbo_ghz,tdp_w,idle_w,load10_w,load20_w,"
    "load30_w,load40_w,load50_w,load60_w,load70_w,load80_w,load90_w,load100_w,memory_gb,mem_bw_gbs,"
    "llc_mb,price_per_hour_usd,price_source,power_source\n";

// A valid row (SPECpower result 0, IBM System x3400 M3) with columns replaced.
std::string row_with(std::initializer_list<std::pair<std::string, std::string>> changes) {
  auto fields = *split_csv_line(
      "specpower-0,IBM Corporation,Intel Xeon "
      "X5670,2,12,24,2.933,3.33,95,69.2,119,133,140,155,170,189,209,227,"
      "241,258,12,,12,,,spec-power-ssj2008");
  for (const auto& [column, value] : changes) {
    auto at = std::find(kSkuColumns.begin(), kSkuColumns.end(), column);
    REQUIRE(at != kSkuColumns.end());
    fields[size_t(at - kSkuColumns.begin())] = value;
  }
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + fields[i];
  return line + "\n";
}

std::string row_with(const std::string& column, const std::string& value) {
  return row_with({{column, value}});
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("sku catalog: the shipped catalog loads with its SPECpower and AWS rows") {
    auto catalog = SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    size_t spec = 0, aws = 0;
    for (const auto& s : catalog.skus()) {
      spec += s.id.starts_with("specpower-");
      aws += s.id.starts_with("aws-");
    }
    CHECK(spec >= 400);
    // scripts/build-catalog keeps 616 of SPECpower's 619 results and 408 EC2 types of Teads' table.
    CHECK(spec == 616);
    CHECK(aws == 408);
    CHECK(catalog.skus().size() == spec + aws);

    const Sku* x3400 = catalog.find("specpower-0-ibm-corporation-ibm-system-x3400-m3");
    REQUIRE(x3400);
    CHECK(x3400->cpu_model == "Intel Xeon X5670");
    CHECK(x3400->sockets == 2);
    CHECK(x3400->cores == 12);
    CHECK(x3400->threads == 24);
    CHECK(x3400->base_ghz == doctest::Approx(2.933));
    const Sku* m5 = catalog.find("aws-m5.large");
    REQUIRE(m5);
    CHECK_FALSE(m5->sockets.has_value());
    CHECK(m5->price_source == "aws-list-2023-11");
    CHECK(catalog.find("no-such-sku") == nullptr);
  }

  TEST_CASE("sku catalog: CPU model strings reduce to the model's key") {
    struct Row {
      const char* name;
      const char* key;
    };
    const Row rows[] = {
        {"Intel(R) Xeon(R) CPU X5670 @ 2.93GHz", "x5670"},
        {"Intel Xeon X5670", "x5670"},
        {"Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "gold6248"},
        {"Intel\xC2\xAE Xeon\xC2\xAE Processor E5-2660 v2", "e5-2660v2"},
        {"Intel Xeon E5-2660V2", "e5-2660v2"},
        {"Intel Xeon E5-2660 2.20 GHz (Intel Turbo Boost Technology up to 3.00 GHz)", "e5-2660"},
        {"AMD EPYC 7742 64-Core Processor", "epyc7742"},
        {"AMD EPYC 7742 2.25Ghz", "epyc7742"},
        {"Quad-Core AMD Opteron(tm) Processor 2380", "opteron2380"},
        {"AMD Opteron 2377 EE", "opteron2377ee"},
        {"Intel(R) Xeon(R) CPU @ 2.20GHz", ""},  // a family without a model number
        {"", ""},
    };
    for (const auto& r : rows) {
      CAPTURE(r.name);
      CHECK(cpu_model_key(r.name) == r.key);
    }
  }

  TEST_CASE(
      "sku catalog: match_cpu_model finds the server with the CPU of /proc/cpuinfo's model name") {
    auto catalog = SkuCatalog::load(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    SUBCASE("Xeon X5670: a SPECpower server, the first in file order") {
      const Sku* s = catalog.match_cpu_model("Intel(R) Xeon(R) CPU X5670 @ 2.93GHz");
      REQUIRE(s);
      CHECK(s->cpu_model == "Intel Xeon X5670");
      CHECK(s->id == "specpower-0-ibm-corporation-ibm-system-x3400-m3");
    }
    SUBCASE("EPYC 7742 as AMD writes it") {
      const Sku* s = catalog.match_cpu_model("AMD EPYC 7742 64-Core Processor");
      REQUIRE(s);
      CHECK(s->cpu_model == "AMD EPYC 7742");
      CHECK(s->sockets.has_value());
    }
    SUBCASE("a CPU only AWS has: the instance with the largest share of the host") {
      const Sku* s = catalog.match_cpu_model("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz");
      REQUIRE(s);
      CHECK(s->id.starts_with("aws-"));
      int most = 0;
      for (const auto& k : catalog.skus())
        if (k.cpu_model == "Intel Xeon Platinum 8259CL") most = std::max(most, k.threads);
      CHECK(s->threads == most);
    }
    SUBCASE("no match") {
      CHECK(catalog.match_cpu_model("Intel(R) Xeon(R) CPU @ 2.20GHz") == nullptr);
      CHECK(catalog.match_cpu_model("Intel(R) Xeon(R) CPU E5-2660 v4 @ 2.00GHz") == nullptr);
      CHECK(catalog.match_cpu_model("") == nullptr);
    }
  }

  TEST_CASE("sku catalog: a catalog file with quoted fields and empty optional columns loads") {
    auto catalog = SkuCatalog::load(kFixtures + "good_skus.csv");
    REQUIRE(catalog.skus().size() == 5);
    const Sku* huawei = catalog.find("specpower-1-huawei-technologies-co-ltd-rh2288-v2");
    REQUIRE(huawei);
    CHECK(huawei->vendor == "Huawei Technologies Co., Ltd");
    CHECK(huawei->watts.front() == 59.7);
    CHECK(huawei->watts.back() == 257.0);
    CHECK_FALSE(huawei->price_per_hour_usd.has_value());
    CHECK_FALSE(huawei->mem_bw_gbs.has_value());
    const Sku* m5a = catalog.find("aws-m5a.2xlarge");
    REQUIRE(m5a);
    CHECK(m5a->power_source == "teads-2021 (idle,10,50,100 published; others interpolated)");
    CHECK(m5a->price_per_hour_usd == 0.344);
    // Three instances share the CPU: the one with the most threads stands for the host.
    const Sku* match = catalog.match_cpu_model("AMD EPYC 7571");
    REQUIRE(match);
    CHECK(match->id == "aws-m5a.12xlarge");
  }

  TEST_CASE(
      "sku catalog: malformed catalog rows are refused with FILE:LINE and what was expected") {
    struct Row {
      const char* file;
      const char* message;
    };
    const Row rows[] = {
        {"bad_nonmonotone.csv",
         "3: load60_w 210 is below load50_w 230: the power curve must not decrease"},
        {"bad_missing_column.csv", "3: expected 26 fields as in the header, found 25"},
        {"bad_text_in_number.csv", "3: expected a number in load30_w, found 'n/a'"},
        {"bad_negative_watts.csv", "3: expected idle_w to be positive watts, found -5"},
        {"bad_unterminated_quote.csv",
         "3: expected a closing quote (\") before the end of the line"},
    };
    for (const auto& r : rows) {
      CAPTURE(r.file);
      std::string path = kFixtures + r.file;
      CHECK_THROWS_WITH_AS(SkuCatalog::load(path), (path + ":" + r.message).c_str(),
                           std::runtime_error);
    }
  }

  TEST_CASE("sku catalog: each column's rule is checked") {
    struct Row {
      std::string column, value, message;
    };
    const Row rows[] = {
        {"cores", "0", "expected cores to be 1 or more, found 0"},
        {"cores", "", "expected a value in cores, found an empty field"},
        {"cores", "12.5", "expected a whole number in cores, found '12.5'"},
        {"threads", "8", "expected threads (8) to be at least cores (12)"},
        {"sockets", "0", "expected sockets to be 1 or more, found 0"},
        {"base_ghz", "2933", "expected base_ghz in GHz between 0 and 10 (exclusive), found 2933"},
        {"turbo_ghz", "0", "expected turbo_ghz in GHz between 0 and 10 (exclusive), found 0"},
        {"tdp_w", "-95", "expected tdp_w to be positive watts, found -95"},
        {"load100_w", "0", "expected load100_w to be positive watts, found 0"},
        {"load100_w", "nan", "expected a number in load100_w, found 'nan'"},
        {"load100_w", "240",
         "load100_w 240 is below load90_w 241: the power curve must not decrease"},
        {"memory_gb", "-1", "expected memory_gb to be positive GB, found -1"},
        {"price_per_hour_usd", "-0.1", "expected price_per_hour_usd to be 0 or more, found -0.1"},
        {"price_per_hour_usd", "0.5", "expected a price_source for the price 0.5"},
        {"id", "", "expected a value in id, found an empty field"},
        {"power_source", "", "expected a value in power_source, found an empty field"},
    };
    for (const auto& r : rows) {
      CAPTURE(r.column);
      CAPTURE(r.value);
      CHECK_THROWS_WITH_AS(SkuCatalog::parse(kHeader + row_with(r.column, r.value), "skus.csv"),
                           ("skus.csv:2: " + r.message).c_str(), std::runtime_error);
    }
    SUBCASE("a price with its source, and a free one, are fine") {
      auto priced = SkuCatalog::parse(
          kHeader + row_with({{"price_per_hour_usd", "0.5"}, {"price_source", "list"}}) +
              row_with({{"id", "free"}, {"price_per_hour_usd", "0"}, {"price_source", "donated"}}),
          "skus.csv");
      CHECK(priced.skus().at(0).price_per_hour_usd == 0.5);
      CHECK(priced.skus().at(1).price_per_hour_usd == 0.0);
    }
  }

  TEST_CASE("sku catalog: the table as a whole is checked") {
    const std::string row = row_with("id", "a");
    SUBCASE("duplicate id") {
      CHECK_THROWS_WITH_AS(SkuCatalog::parse(kHeader + row + "\n" + row, "skus.csv"),
                           "skus.csv:4: duplicate id 'a' (first on line 2)", std::runtime_error);
    }
    SUBCASE("header with a column renamed") {
      std::string header = kHeader;
      header.replace(header.find("tdp_w"), 5, "tdp");
      CHECK_THROWS_WITH_AS(SkuCatalog::parse(header + row, "skus.csv"),
                           "skus.csv:1: expected column 9 of the header to be 'tdp_w', found 'tdp'",
                           std::runtime_error);
    }
    SUBCASE("header only") {
      CHECK_THROWS_WITH_AS(SkuCatalog::parse(kHeader, "skus.csv"),
                           "skus.csv:1: expected at least one SKU row after the header",
                           std::runtime_error);
    }
    SUBCASE("empty file") {
      CHECK_THROWS_AS(SkuCatalog::parse("", "skus.csv"), std::runtime_error);
    }
    SUBCASE("Windows line endings and a byte order mark") {
      std::string text = "\xEF\xBB\xBF" + kHeader + row;
      for (size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 2))
        text.insert(at, "\r");
      auto catalog = SkuCatalog::parse(text, "skus.csv");
      REQUIRE(catalog.skus().size() == 1);
      CHECK(catalog.skus()[0].power_source == "spec-power-ssj2008");
    }
    SUBCASE("a missing file") {
      CHECK_THROWS_WITH_AS(SkuCatalog::load(kFixtures + "absent.csv"),
                           (kFixtures + "absent.csv: cannot open: No such file or directory").c_str(),
                           std::runtime_error);
    }
  }
}
