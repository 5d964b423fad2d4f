// SKUs suggested for a CPU the catalog does not name (a VM's "AMD EPYC"): by shared words, then
// by how near the SKU's thread count is to this machine's. The order below is worked out by hand:
// ties on words are broken by |ln(threads / logical CPUs)|, then by file order.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "models/fleet/sku_catalog.h"
#include "models/fleet/sku_suggest.h"

using namespace pmc;

namespace {

const char* kCatalog =
    "id,vendor,cpu_model,sockets,cores,threads,base_ghz,turbo_ghz,tdp_w,idle_w,load10_w,load20_w,"
    "load30_w,load40_w,load50_w,load60_w,load70_w,load80_w,load90_w,load100_w,memory_gb,"
    "mem_bw_gbs,llc_mb,price_per_hour_usd,price_source,power_source\n"
    "specpower-1-big,Lenovo,AMD EPYC 7763,2,128,256,2.45,,280,100,150,160,170,180,190,200,210,"
    "220,230,240,512,,256,,,spec-power-ssj2008\n"
    "aws-m5a.large,aws,AMD EPYC 7571,,1,2,2.2,,200,4.2,6.7,7.8,8.9,10,11.1,11.88,12.66,13.44,"
    "14.22,15,8,,,,,teads-2021\n"
    "aws-m6a.xlarge,aws,AMD EPYC 7R13,,2,4,2.6,,225,8,12,14,16,18,20,22,24,26,28,30,16,,,,,"
    "teads-2021\n"
    "aws-m5.large,aws,Intel Xeon Platinum 8175M,,1,2,3.1,,240,4.4,7,8.775,10.55,12.325,14.1,"
    "15.28,16.46,17.64,18.82,20,8,,,,,teads-2021\n"
    "aws-m5a.xlarge,aws,AMD EPYC 7571,,2,4,2.2,,200,8.4,13.4,15.6,17.8,20,22.2,23.76,25.32,"
    "26.88,28.44,30,16,,,,,teads-2021\n";

std::vector<std::string> ids(const std::vector<const Sku*>& skus) {
  std::vector<std::string> out;
  for (const Sku* s : skus) out.push_back(s->id);
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("closest SKUs: most shared words, then the nearest thread count") {
    auto catalog = SkuCatalog::parse(kCatalog, "test.csv");
    // "AMD EPYC" on 2 vCPUs: four rows share both words; gaps ln(2/2)=0 (m5a.large),
    // ln(4/2)=0.69 (m6a.xlarge, then m5a.xlarge in file order), ln(256/2)=4.85 (the server).
    CHECK(ids(closest_skus(catalog, "AMD EPYC", 2)) ==
          std::vector<std::string>{"aws-m5a.large", "aws-m6a.xlarge", "aws-m5a.xlarge"});
    // On a 256-thread host the server comes first.
    CHECK(ids(closest_skus(catalog, "AMD EPYC", 256, 1)) ==
          std::vector<std::string>{"specpower-1-big"});
    // cpuinfo's decorations are not words: only the Intel row shares any.
    CHECK(ids(closest_skus(catalog, "Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", 2)) ==
          std::vector<std::string>{"aws-m5.large"});
    CHECK(closest_skus(catalog, "Ampere Altra", 64).empty());
    CHECK(describe_skus(closest_skus(catalog, "AMD EPYC", 2, 1)) ==
          "aws-m5a.large (AMD EPYC 7571, 2 threads)");
  }
}
