// A SKU without the memory the run used (its peak RSS) is not recommended unless the user named
// it. Catalog rows are data/skus.csv's aws-m5a.large (8 GB) and aws-m5a.4xlarge (64 GB), and a
// copy of the large one without a memory figure.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "models/fleet/recommendations.h"

using namespace pmc;

namespace {

std::string catalog_text() {
  std::string header;
  for (auto c : kSkuColumns) header += (header.empty() ? "" : ",") + std::string(c);
  return header + "\n" +
         "aws-m5a.large,aws,AMD EPYC 7571,,1,2,2.2,,200,4.2,6.7,7.8,8.9,10,11.1,11.88,12.66,"
         "13.44,14.22,15,8,,,0.086,aws-list-2023-11,teads-2021\n"
         "aws-m5a.4xlarge,aws,AMD EPYC 7571,,8,16,2.2,,200,33.9,53.8,62.625,71.45,80.275,89.1,"
         "95.2,101.3,107.4,113.5,119.6,64,,,0.688,aws-list-2023-11,teads-2021\n"
         "no-memory,aws,AMD EPYC 7571,,1,2,2.2,,200,4.2,6.7,7.8,8.9,10,11.1,11.88,12.66,"
         "13.44,14.22,15,,,,0.086,aws-list-2023-11,teads-2021\n";
}

ComparisonRow projected(const std::string& workload, const std::string& sku) {
  ComparisonRow r;
  r.workload = workload;
  r.machine = sku;
  r.kind = "projected";
  r.sku_id = sku;
  return r;
}

std::vector<std::string> skus_of(const std::vector<ComparisonRow>& rows, const std::string& w) {
  std::vector<std::string> out;
  for (const auto& r : rows)
    if (r.workload == w) out.push_back(r.sku_id);
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("SKUs with less memory than the run's peak RSS are left out of recommendations") {
    auto catalog = SkuCatalog::parse(catalog_text(), "skus.csv");
    std::vector<ComparisonRow> rows;
    for (const char* w : {"big", "small", "unknown"})
      for (const char* s : {"aws-m5a.large", "aws-m5a.4xlarge", "no-memory"})
        rows.push_back(projected(w, s));
    // "big" peaked at 12 GB (12288 MB > 8 × 1024), in one of its two runs; "small" at 2 GB.
    std::vector<RunProfile> profiles(4);
    profiles[0].workload = "big";
    profiles[0].peak_rss_mb = 12288;
    profiles[1].workload = "big";
    profiles[1].peak_rss_mb = 100;
    profiles[2].workload = "small";
    profiles[2].peak_rss_mb = 2048;
    profiles[3].workload = "unknown";  // no peak RSS: nothing is left out
    std::vector<std::string> notes;
    SUBCASE("not asked: the 8 GB SKU goes for the 12 GB workload only") {
      auto kept = rows_with_memory_for(rows, profiles, catalog, {}, notes);
      CHECK(skus_of(kept, "big") == std::vector<std::string>{"aws-m5a.4xlarge", "no-memory"});
      CHECK(skus_of(kept, "small").size() == 3);
      CHECK(skus_of(kept, "unknown").size() == 3);
      REQUIRE(notes.size() == 1);
      CHECK(notes[0] ==
            "big: 1 SKU with less memory than the run's peak RSS (12288 MB) not recommended "
            "(name one with --sku to consider it)");
    }
    SUBCASE("asked for with --sku: kept") {
      std::vector<std::string> asked = {"aws-m5a.large"};
      auto kept = rows_with_memory_for(rows, profiles, catalog, asked, notes);
      CHECK(skus_of(kept, "big").size() == 3);
      CHECK(notes.empty());
    }
  }

  TEST_CASE("the peak RSS of a machine's repeated runs is the largest of them") {
    RunProfile a, b;
    a.workload = b.workload = "w";
    a.machine = b.machine = "m";
    a.duration_s = b.duration_s = 1;
    a.peak_rss_mb = 300;
    b.peak_rss_mb = 500;
    std::vector<RunProfile> runs{a, b};
    auto merged = merge_repeats(runs);
    REQUIRE(merged.size() == 1);
    REQUIRE(merged[0].peak_rss_mb);
    CHECK(*merged[0].peak_rss_mb == 500);
  }
}
