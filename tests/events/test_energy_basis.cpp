// The one rule for the energy that stands for a run (events/document/energy_basis.h), on readings
// written here; every expected figure is summed by hand in the comments.
#include "events/document/energy_basis.h"

#include <doctest/doctest.h>

#include "events/document/measurement_io.h"

using namespace pmc;

namespace {

EnergyReading reading(const char* domain, double joules, const char* method = "measured:powercap",
                      double uncertainty = 0, EnergyScope scope = EnergyScope::machine) {
  return {domain, joules, joules / 10, method, uncertainty, scope};
}

std::vector<std::string> domains(const EnergyBasis& b) {
  std::vector<std::string> out;
  for (const auto& p : b.parts) out.push_back(p.domain);
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("domain names are classified once") {
    CHECK(classify_domain("wall") == DomainKind::wall);
    CHECK(classify_domain("psys") == DomainKind::psys);
    CHECK(classify_domain("package") == DomainKind::package_total);
    CHECK(classify_domain("package-0") == DomainKind::package);
    CHECK(classify_domain("package-1-die-1") == DomainKind::package);
    CHECK(classify_domain("dram") == DomainKind::dram);
    CHECK(classify_domain("dram-1") == DomainKind::dram);
    CHECK(classify_domain("gpu0") == DomainKind::gpu_card);
    CHECK(classify_domain("gpu12") == DomainKind::gpu_card);
    for (const char* other : {"core", "core-1", "uncore", "gpu", "gpu-1", "zone-ZONE0_SUBZONE1",
                              "dramx", "dram-", "packages"})
      CHECK_MESSAGE(classify_domain(other) == DomainKind::other, other);
    CHECK(is_gpu_card_domain("gpu3"));
    CHECK_FALSE(is_gpu_card_domain("gpu"));    // RAPL's integrated GPU
    CHECK_FALSE(is_gpu_card_domain("gpu-1"));  // RAPL's integrated GPU of package 1
    CHECK(stands_for_machine("package-3"));
    CHECK_FALSE(stands_for_machine("dram"));
  }

  TEST_CASE("methods are classified by their first word") {
    CHECK(classify_method("measured:rapl") == MethodKind::measured);
    CHECK(classify_method("measured:powercap+share:cpu-time") == MethodKind::measured);
    CHECK(classify_method("estimated:sku-curve:model:x") == MethodKind::estimated);
    CHECK(classify_method("estimated:tdp") == MethodKind::estimated);
    CHECK(classify_method("model:watts.json") == MethodKind::model);
    CHECK(classify_method("projected:icx") == MethodKind::projected);
    CHECK(classify_method("measuredish") == MethodKind::other);
    CHECK(classify_method("") == MethodKind::other);
  }

  TEST_CASE("a psys or wall reading exactly 0 J is passed over while a package counts") {
    // perf stat on a VM whose energy-psys reads 0 (import keeps what perf printed): the package
    // and the DRAM are the run's energy, 12.34 + 1.5 = 13.84 J, not the 0 J psys.
    auto b =
        energy_basis({reading("package", 12.34, "measured:rapl"),
                      reading("dram", 1.5, "measured:rapl"), reading("psys", 0, "measured:rapl")});
    REQUIRE(b);
    CHECK(domains(*b) == std::vector<std::string>{"package", "dram"});
    CHECK(b->joules == doctest::Approx(13.84));
    // A measured wall at 0 J beside a counting psys: the psys, 7 J.
    auto w = energy_basis({reading("wall", 0, "measured:external"), reading("psys", 7)});
    REQUIRE(w);
    CHECK(domains(*w) == std::vector<std::string>{"psys"});
    CHECK(w->joules == 7);
    // Nothing counts (a run shorter than a counter's update): the rule as ever, 0 J of psys.
    auto none = energy_basis({reading("package", 0), reading("psys", 0)});
    REQUIRE(none);
    CHECK(domains(*none) == std::vector<std::string>{"psys"});
    CHECK(none->joules == 0);
  }

  TEST_CASE("one socket: its package plus its DRAM, and core and uncore are inside the package") {
    auto b = energy_basis(
        {reading("package-0", 10), reading("core", 4), reading("uncore", 1), reading("dram", 1.5)});
    REQUIRE(b);
    CHECK(b->scope == EnergyScope::machine);
    CHECK(domains(*b) == std::vector<std::string>{"package-0", "dram"});
    CHECK(b->joules == doctest::Approx(11.5));  // 10 + 1.5
    CHECK(b->average_watts == doctest::Approx(1.15));
    CHECK(b->method() == "measured:powercap");
    CHECK(b->describe() ==
          "machine energy of domains package-0 (measured:powercap, ±0.0%) + dram "
          "(measured:powercap, ±0.0%)");
  }

  TEST_CASE("two sockets: both packages count, with or without the package total") {
    std::vector<EnergyReading> zones = {reading("package-0", 5), reading("dram-0", 1),
                                        reading("package-1", 7), reading("dram-1", 0.5)};
    auto b = energy_basis(zones);
    REQUIRE(b);
    CHECK(domains(*b) == std::vector<std::string>{"package-0", "package-1", "dram-0", "dram-1"});
    CHECK(b->joules == doctest::Approx(13.5));  // 5 + 7 + 1 + 0.5
    zones.push_back(reading("package", 12));    // the sources' sum of package-0 and package-1
    b = energy_basis(zones);
    REQUIRE(b);
    CHECK(domains(*b) == std::vector<std::string>{"package", "dram-0", "dram-1"});
    CHECK(b->joules == doctest::Approx(13.5));  // 12 + 1 + 0.5
  }

  TEST_CASE("psys covers the package and DRAM: alone, plus the GPU cards") {
    auto b = energy_basis({reading("package-0", 10), reading("dram", 1.5), reading("psys", 30),
                           reading("gpu0", 200, "measured:nvml", 0.05)});
    REQUIRE(b);
    CHECK(domains(*b) == std::vector<std::string>{"psys", "gpu0"});
    CHECK(b->joules == doctest::Approx(230));  // 30 + 200
    CHECK(b->uncertainty == doctest::Approx(200 * 0.05 / 230));
    CHECK(b->method() == "measured:powercap+measured:nvml");
  }

  TEST_CASE("a wall meter contains everything, GPU cards included, and wins over psys") {
    auto b = energy_basis({reading("psys", 30), reading("package-0", 10), reading("dram", 1.5),
                           reading("gpu0", 200, "measured:nvml"),
                           reading("wall", 300, "measured:external", 0.02)});
    REQUIRE(b);
    CHECK(domains(*b) == std::vector<std::string>{"wall"});
    CHECK(b->joules == 300);
    CHECK(b->uncertainty == 0.02);
    CHECK(b->method() == "measured:external");
    // A SKU curve's wall figure is a server without cards: the measured GPU comes on top.
    b = energy_basis(
        {reading("wall", 50, "estimated:sku-curve:x", 0.3), reading("gpu0", 200, "measured:nvml")});
    REQUIRE(b);
    CHECK(domains(*b) == std::vector<std::string>{"wall", "gpu0"});
    CHECK(b->joules == 250);
  }

  TEST_CASE("the command's share is the basis when there is one, the same rule on its scope") {
    const auto cmd = EnergyScope::command;
    auto b = energy_basis({
        reading("package-0", 10),
        reading("dram", 2),
        reading("gpu0", 300, "measured:nvml"),
        reading("package-0", 4, "measured:powercap+share:cpu-time", 0.1, cmd),
        reading("dram", 1, "measured:powercap+share:cpu-time", 0.1, cmd),
        reading("gpu0", 240, "measured:nvml+share:sm-util", 0.25, cmd),
    });
    REQUIRE(b);
    CHECK(b->scope == cmd);
    CHECK(domains(*b) == std::vector<std::string>{"package-0", "dram", "gpu0"});
    CHECK(b->joules == doctest::Approx(245));  // 4 + 1 + 240
    // (4 × 0.1 + 1 × 0.1 + 240 × 0.25) / 245
    CHECK(b->uncertainty == doctest::Approx(60.5 / 245));
    CHECK(b->method() == "measured:powercap+share:cpu-time+measured:nvml+share:sm-util");
    CHECK(b->describe().starts_with("command energy of domains package-0"));
  }

  TEST_CASE("without a machine-wide CPU domain: the GPU cards alone, or nothing") {
    auto b = energy_basis(
        {reading("core", 4), reading("dram", 1), reading("gpu0", 10), reading("gpu1", 30)});
    REQUIRE(b);
    CHECK(domains(*b) == std::vector<std::string>{"gpu0", "gpu1"});  // DRAM only beside a package
    CHECK(b->joules == 40);
    CHECK_FALSE(energy_basis({reading("core", 4), reading("dram", 1), reading("gpu", 2)}));
    CHECK_FALSE(energy_basis({}));
  }

  TEST_CASE("scope and target round-trip through the document, and unknown ones are refused") {
    for (auto target : {MeasurementTarget::command, MeasurementTarget::pid,
                        MeasurementTarget::system_wide, MeasurementTarget::cgroup})
      for (auto scope : {EnergyScope::machine, EnergyScope::command}) {
        Measurement m;
        m.target = target;
        m.energy = {reading("package-0", 1, "measured:rapl", 0, scope)};
        auto text = measurement_to_json(m);
        auto back = measurement_from_json(text, "m.json");
        CHECK(back.target == target);
        REQUIRE(back.energy.size() == 1);
        CHECK(back.energy[0].scope == scope);
        CHECK(measurement_to_json(back) == text);
        CHECK(parse_measurement_target(to_string(target)) == target);
        CHECK(parse_energy_scope(to_string(scope)) == scope);
      }
    CHECK(std::string(to_string(MeasurementTarget::system_wide)) == "system-wide");
    Measurement m;
    m.energy = {reading("package-0", 1)};
    auto text = measurement_to_json(m);
    auto line_of = [&](std::string_view what) {
      auto at = text.find(what);
      REQUIRE(at != std::string::npos);
      return 1 + std::count(text.begin(), text.begin() + long(at), '\n');
    };
    auto bad_scope = text;
    bad_scope.replace(bad_scope.find("\"scope\": \"machine\""), 18, "\"scope\": \"host\"");
    CHECK_THROWS_WITH_AS(
        measurement_from_json(bad_scope, "s.json"),
        ("s.json:" + std::to_string(line_of("\"scope\": \"machine\"")) +
         ": the document.energy[0].scope: unknown scope 'host'; expected \"machine\" or "
         "\"command\"")
            .c_str(),
        FormatError);
    auto bad_target = text;
    bad_target.replace(bad_target.find("\"target\": \"command\""), 19, "\"target\": \"vm\"");
    CHECK_THROWS_WITH_AS(measurement_from_json(bad_target, "t.json"),
                         ("t.json:" + std::to_string(line_of("\"target\": \"command\"")) +
                          ": target: unknown target 'vm'; expected \"command\", \"pid\", "
                          "\"system-wide\" or \"cgroup\"")
                             .c_str(),
                         FormatError);
  }
}
