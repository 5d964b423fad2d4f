// The PAPI power source (--power-source papi) against tests/engine/fake_papi.c, a libpapi with a
// powercap component whose ENERGY_UJ counters are files this test writes. Expected joules are the
// differences of the values written, wrap included, worked out in the comments; event names and
// units are those PAPI's components create (src/components/{rapl,powercap,nvml}).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/power/papi_power.h"
#include "test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

// max_energy_range_uj of the fake's zones (fake_papi.c RANGE_UJ).
constexpr uint64_t kRange = 262143328850ULL;

struct FakeZones {
  fs::path dir;
  FakeZones() {
    dir = test::make_temp_dir("papi");
    ::setenv("PMC_FAKE_PAPI_DIR", dir.c_str(), 1);
  }
  ~FakeZones() {
    ::unsetenv("PMC_FAKE_PAPI_DIR");
    fs::remove_all(dir);
  }
  void set(const std::string& zone, uint64_t uj) const { std::ofstream(dir / zone) << uj << "\n"; }
};

const EnergyReading* find(const std::vector<EnergyReading>& readings, const std::string& domain) {
  for (const auto& r : readings)
    if (r.domain == domain) return &r;
  return nullptr;
}

bool has_note(const std::vector<std::string>& notes, const std::string& part) {
  for (const auto& n : notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("PAPI energy events are recognised by component, name and unit") {
    SUBCASE("rapl: <DOMAIN>_ENERGY:PACKAGE<N> in nJ; raw counts and limits are not energy") {
      auto pkg = classify_papi_event("rapl", "rapl:::PACKAGE_ENERGY:PACKAGE0", "nJ");
      REQUIRE(pkg);
      CHECK(pkg->kind == PapiEnergyEvent::Kind::energy);
      CHECK(pkg->kind_name == "package");
      CHECK(pkg->index == 0);
      CHECK(pkg->scale == 1e-9);
      CHECK(pkg->range_event.empty());
      auto dram = classify_papi_event("rapl", "DRAM_ENERGY:PACKAGE1", "nJ");
      REQUIRE(dram);
      CHECK(dram->kind_name == "dram");
      CHECK(dram->index == 1);
      CHECK(classify_papi_event("rapl", "PP0_ENERGY:PACKAGE0", "nJ")->kind_name == "core");
      CHECK(classify_papi_event("rapl", "PP1_ENERGY:PACKAGE0", "nJ")->kind_name == "uncore");
      CHECK(classify_papi_event("rapl", "PSYS_ENERGY:PACKAGE0", "nJ")->kind_name == "psys");
      CHECK_FALSE(classify_papi_event("rapl", "PACKAGE_ENERGY_CNT:PACKAGE0", ""));
      CHECK_FALSE(classify_papi_event("rapl", "THERMAL_SPEC_CNT:PACKAGE0", ""));
      CHECK_FALSE(classify_papi_event("rapl", "THERMAL_SPEC:PACKAGE0", "W"));
    }
    SUBCASE("powercap: ENERGY_UJ:ZONE<N>[_SUBZONE<M>] in µJ, wrapping at its MAX_ENERGY_RANGE_UJ") {
      auto zone = classify_papi_event("powercap", "powercap:::ENERGY_UJ:ZONE0", "");
      REQUIRE(zone);
      CHECK(zone->kind_name == "package");
      CHECK(zone->scale == 1e-6);
      CHECK(zone->zone == "ZONE0");
      CHECK(zone->range_event == "MAX_ENERGY_RANGE_UJ:ZONE0");
      auto sub = classify_papi_event("powercap", "ENERGY_UJ:ZONE1_SUBZONE0", "");
      REQUIRE(sub);
      CHECK(sub->index == 1);
      CHECK(sub->range_event == "MAX_ENERGY_RANGE_UJ:ZONE1_SUBZONE0");
      CHECK_FALSE(classify_papi_event("powercap", "MAX_ENERGY_RANGE_UJ:ZONE0", ""));
      CHECK_FALSE(classify_papi_event("powercap", "POWER_LIMIT_A_UW:ZONE0", ""));
      CHECK_FALSE(classify_papi_event("powercap", "NAME:ZONE0", ""));
    }
    SUBCASE("nvml: <device>:device_<N>:power in mW is power; other readings are not") {
      auto power = classify_papi_event("nvml", "nvml:::Tesla_V100-SXM2-16GB:device_0:power", "mW");
      REQUIRE(power);
      CHECK(power->kind == PapiEnergyEvent::Kind::power);
      CHECK(power->kind_name == "gpu");
      CHECK(power->index == 0);
      CHECK(power->scale == 1e-3);
      auto energy = classify_papi_event("nvml", "nvml:::A100:device_2:energy", "mJ");
      REQUIRE(energy);
      CHECK(energy->kind == PapiEnergyEvent::Kind::energy);
      CHECK(energy->index == 2);
      CHECK(energy->scale == 1e-3);
      CHECK_FALSE(classify_papi_event("nvml", "nvml:::A100:device_0:temperature", "C"));
      CHECK_FALSE(classify_papi_event("perf_event", "PACKAGE_ENERGY:PACKAGE0", "nJ"));
    }
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("PAPI powercap energy over a run equals the counters' advance, across a wrap") {
    FakeZones zones;
    zones.set("zone0", kRange - 328850);  // 262143000000: 328850 µJ below the wrap
    zones.set("zone0_0", 5000000);
    auto choice = open_papi_power_source({PMC_FAKE_PAPI});
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    auto& source = *choice.source;
    CHECK(source.method() == "measured:papi:powercap");
    source.start();
    zones.set("zone0", kRange - 128850);  // +200000
    zones.set("zone0_0", 6000000);        // +1000000
    source.sample();
    zones.set("zone0", 150000);     // wrapped: +128850 to the range, +150000 after it
    zones.set("zone0_0", 6500000);  // +500000
    source.sample();
    auto e = source.read_since_start();
    // package-0: 200000 + 128850 + 150000 = 478850 µJ; dram: 1500000 µJ.
    const auto* pkg = find(e, "package-0");
    const auto* dram = find(e, "dram");
    REQUIRE(pkg);
    REQUIRE(dram);
    CHECK(e.size() == 2);
    CHECK(pkg->joules == doctest::Approx(0.478850));
    CHECK(dram->joules == doctest::Approx(1.5));
    CHECK(pkg->method == "measured:papi:powercap");
    CHECK(pkg->average_watts > 0);
    auto notes = source.notes();
    // PAPI added the wrap back itself: its value since PAPI_start only rose.
    CHECK_FALSE(has_note(notes, "went round"));
    // The fake's rapl component is disabled: its reason is said, and powercap is read instead.
    CHECK(has_note(notes, "PAPI rapl disabled: Can't open fd for cpu0: No such file or directory"));
    CHECK(has_note(notes, "dram is DRAM energy, outside the package's"));
  }

  TEST_CASE("PAPI powercap: a lap past the starting value is counted once more, per interval too") {
    FakeZones zones;
    const uint64_t start = kRange - 328850;
    zones.set("zone0", start);
    zones.set("zone0_0", 0);
    auto choice = open_papi_power_source({PMC_FAKE_PAPI});
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    auto& source = *choice.source;
    source.start();
    zones.set("zone0", 100000000000);  // wrapped: +328850 + 100000000000
    source.sample();
    auto first = source.read_interval();
    REQUIRE(find(first, "package-0"));
    CHECK(find(first, "package-0")->joules == doctest::Approx(100000.328850));
    // Past the starting value again: PAPI itself now reports 100000 µJ since PAPI_start.
    zones.set("zone0", start + 100000);  // +162143100000
    source.sample();
    auto second = source.read_interval();
    CHECK(find(second, "package-0")->joules == doctest::Approx(162143.1));
    // The whole run: one full lap of the range plus 100000 µJ.
    auto total = source.read_since_start();
    CHECK(find(total, "package-0")->joules == doctest::Approx(double(kRange + 100000) / 1e6));
    CHECK(find(total, "dram")->joules == 0);
    CHECK(has_note(source.notes(), "went round MAX_ENERGY_RANGE_UJ 1 time(s)"));
  }

  TEST_CASE("PAPI power source without an enabled energy component says what PAPI says") {
    auto choice = open_papi_power_source({PMC_FAKE_PAPI_DISABLED});
    CHECK_FALSE(choice.source);
    // PAPI_VERSION of the papi.h built against is 7.0.0.0; the reasons are the fake's.
    CHECK(choice.reason_if_none ==
          "papi power source: no energy component of PAPI 7.0.0.0 can be read: rapl disabled: "
          "Can't open fd for cpu0: No such file or directory; powercap disabled: Not an Intel "
          "processor; nvml absent (not built into this PAPI)");
    auto missing = open_papi_power_source({"/nonexistent/libpapi.so"});
    CHECK_FALSE(missing.source);
    CHECK(missing.reason_if_none.rfind("papi power source: PAPI is not available: "
                                       "/nonexistent/libpapi.so: cannot open shared object file",
                                       0) == 0);
  }
}
