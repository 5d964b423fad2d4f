// models/shipped: the build's parse of data/skus.csv and data/cpu_facts.csv stands in for parsing
// the files at run time only when a file holds exactly those bytes, and gives what parsing gives.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "events/text/catalog_csv.h"
#include "models/shipped/shipped_tables.h"
#include "test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(PMC_SOURCE_DIR) + "/data/";

std::string write_temp(const std::string& name, const std::string& text) {
  fs::path dir = fs::temp_directory_path() / ("pmc-shipped-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

// `text` with the first occurrence of `from` after `after` replaced by `to`.
std::string edited(std::string text, const std::string& after, const std::string& from,
                   const std::string& to) {
  size_t at = text.find(from, text.find(after));
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the shipped SKU catalog: the compiled-in rows equal the parsed file's") {
    std::string text = read_catalog_file(kData + "skus.csv");
    CHECK(is_shipped_sku_catalog(text));
    auto parsed = SkuCatalog::parse(text, kData + "skus.csv");
    auto shipped = load_sku_catalog(kData + "skus.csv");
    CHECK(shipped.origin() == parsed.origin());
    REQUIRE(shipped.skus().size() == parsed.skus().size());
    size_t differing = 0;
    for (size_t i = 0; i < parsed.skus().size(); ++i)
      differing += !(shipped.skus()[i] == parsed.skus()[i]);
    CHECK(differing == 0);
    // The indexes answer alike: every id, and every CPU model string in the file.
    for (const Sku& s : parsed.skus()) {
      const Sku* a = shipped.find(s.id);
      REQUIRE(a != nullptr);
      CHECK(a->id == s.id);
      const Sku* m1 = shipped.match_cpu_model(s.cpu_model);
      const Sku* m2 = parsed.match_cpu_model(s.cpu_model);
      CHECK((m1 == nullptr) == (m2 == nullptr));
      if (m1 && m2) CHECK(m1->id == m2->id);
    }
  }

  TEST_CASE("the shipped CPU facts: the compiled-in rows equal the parsed file's") {
    std::string text = read_catalog_file(kData + "cpu_facts.csv");
    CHECK(is_shipped_cpu_facts(text));
    auto parsed = CpuFactsTable::parse(text, kData + "cpu_facts.csv");
    auto shipped = load_cpu_facts(kData + "cpu_facts.csv");
    REQUIRE(shipped.size() == parsed.size());
    CHECK(shipped.all() == parsed.all());
    for (const CpuFacts& f : parsed.all()) {
      const CpuFacts* found = shipped.find(f.name);
      const CpuFacts* expected = parsed.find(f.name);
      CHECK((found == nullptr) == (expected == nullptr));
      if (found && expected) CHECK(found->key == expected->key);
    }
  }

  TEST_CASE("an edited copy of a shipped table is parsed and checked, not taken from the build") {
    std::string skus = read_catalog_file(kData + "skus.csv");
    // Row 2 (line 3), the Huawei RH2288 V2: idle 59.7 W in the file.
    std::string row = "specpower-1-huawei-technologies-co-ltd-rh2288-v2";
    std::string changed = edited(skus, row, ",59.7,", ",59.8,");
    CHECK_FALSE(is_shipped_sku_catalog(changed));
    auto catalog = load_sku_catalog(write_temp("skus.csv", changed));
    const Sku* s = catalog.find(row);
    REQUIRE(s != nullptr);
    CHECK(s->watts[0] == doctest::Approx(59.8));

    // One byte less (the final newline) is another file too.
    CHECK_FALSE(is_shipped_sku_catalog(std::string_view(skus).substr(0, skus.size() - 1)));

    // A bad edit is refused at its line, as the parser refuses it.
    std::string broken = edited(skus, row, ",59.7,", ",idle,");
    std::string path = write_temp("broken.csv", broken);
    std::string want = path + ":3: expected a number";
    CHECK_THROWS_WITH_AS(load_sku_catalog(path), doctest::Contains(want.c_str()),
                         std::runtime_error);

    std::string facts = read_catalog_file(kData + "cpu_facts.csv");
    // Line 2: 6315p, Intel Xeon 6315P, 55 W.
    std::string facts_changed = edited(facts, "6315p,", ",55,", ",0,");
    CHECK_FALSE(is_shipped_cpu_facts(facts_changed));
    std::string facts_path = write_temp("cpu_facts.csv", facts_changed);
    std::string facts_want = facts_path + ":2: expected a positive TDP";
    CHECK_THROWS_WITH_AS(load_cpu_facts(facts_path), doctest::Contains(facts_want.c_str()),
                         std::runtime_error);
  }
}
