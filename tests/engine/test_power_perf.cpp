#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "power_source.h"
#include "rapl_perf.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

SysRoot tree(const fs::path& dir) {
  SysRoot root;
  root.sys = dir;
  return root;
}

const fs::path kPowerTrees = fs::path(PMC_TEST_DATA) / "sysfs-power";
const fs::path kPmuTrees = fs::path(PMC_TEST_DATA) / "sysfs";

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("rapl perf plan: one event copy per package from the power PMU's sysfs") {
    auto plan = plan_power_pmu_events(tree(kPowerTrees / "intel-client"));
    std::vector<std::string> domains;
    for (const auto& e : plan.events) domains.push_back(e.domain);
    CHECK(domains == std::vector<std::string>{"package-0", "core", "gpu", "dram", "psys"});
    const auto& pkg = plan.events[0];
    CHECK(pkg.kind == "package");
    CHECK(pkg.spec.pmu == "power");
    CHECK(pkg.spec.attr.type == 4093u);
    CHECK(pkg.spec.attr.config == 0x02u);  // arch/x86/events/rapl.c: energy-pkg is event 0x02
    CHECK(pkg.spec.scale == doctest::Approx(2.3283064365386962890625e-10));
    CHECK(pkg.spec.unit == "Joules");
    CHECK(pkg.spec.cpus == std::vector<int>{0});
    CHECK(pkg.spec.cpu_wide_only);
    CHECK(plan.events[3].spec.attr.config == 0x03u);  // energy-ram
  }

  TEST_CASE("rapl perf plan on a 2-socket server: the cpumask CPU of each package") {
    auto plan = plan_power_pmu_events(tree(kPowerTrees / "intel-server-2s"));
    std::vector<std::string> domains;
    std::vector<int> cpus;
    for (const auto& e : plan.events) {
      domains.push_back(e.domain);
      cpus.push_back(e.spec.cpus.at(0));
    }
    CHECK(domains == std::vector<std::string>{"package-0", "package-1", "dram-0", "dram-1"});
    CHECK(cpus == std::vector<int>{0, 20, 0, 20});
    CHECK(plan.notes.empty());
  }

  TEST_CASE("rapl perf plan on AMD Zen and without a power PMU") {
    // The PMU-resolver fixture: energy-pkg only, cpumask "0", no topology files.
    auto zen = plan_power_pmu_events(tree(kPmuTrees / "amd-zen"));
    REQUIRE(zen.events.size() == 1);
    CHECK(zen.events[0].domain == "package-0");
    CHECK(plan_power_pmu_events(tree(kPmuTrees / "no-pmu")).events.empty());
    CHECK_FALSE(power_pmu_present(tree(kPowerTrees / "no-rapl")));
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("rapl perf source keeps the kernel's reason when the power events do not open") {
    // Type 4093 is handed out by no kernel: perf_event_open fails (ENOENT), as on a machine whose
    // power PMU refuses the user, and the reason says which event and errno.
    auto choice = choose_power_source(tree(kPowerTrees / "intel-server-2s"), "perf", "");
    CHECK_FALSE(choice.source);
    CHECK(choice.reason_if_none.rfind("perf power PMU events do not open: power/energy-pkg/: "
                                      "perf_event_open: ", 0) == 0);
  }

  TEST_CASE("rapl perf source on this machine's own power PMU, when it has one") {
    // Only a machine with RAPL exposed (bare metal, root or perf_event_paranoid <= 0) opens it.
    SysRoot root;
    if (!power_pmu_present(root)) {
      MESSAGE("no perf power PMU on this machine: the real RAPL path is not exercised");
      return;
    }
    auto choice = choose_power_source(root, "perf", "");
    if (!choice.source) {
      MESSAGE("power PMU present but not usable: " << choice.reason_if_none);
      return;
    }
    CHECK(choice.source->method() == "measured:rapl");
    choice.source->start();
    volatile double x = 1;
    for (int i = 0; i < 50000000; ++i) x = x * 1.0000001;
    auto e = choice.source->read_since_start();
    REQUIRE_FALSE(e.empty());
    CHECK(e[0].domain.rfind("package-", 0) == 0);
    CHECK(e[0].joules > 0);
  }
}
