#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/power/power_source.h"
#include "engine/power/rapl_perf.h"

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

// Counters that return scripted raw counts, one row per read(), as the power PMU's would.
class ScriptedCounters final : public Counters {
 public:
  explicit ScriptedCounters(std::vector<std::vector<uint64_t>> rows) : rows_(std::move(rows)) {}
  void open(const Target&) override {}
  void enable() override {}
  void disable() override {}
  std::vector<EventCount> read() override {
    const auto& row = rows_.at(std::min(next_++, rows_.size() - 1));
    std::vector<EventCount> out;
    for (uint64_t raw : row) {
      EventCount c;
      c.raw = raw;
      c.status = EventStatus::counted;
      out.push_back(c);
    }
    return out;
  }
  std::vector<std::string> notes() const override { return {}; }

 private:
  std::vector<std::vector<uint64_t>> rows_;
  size_t next_ = 0;
};

PowerPmuEvent power_event(std::string domain, std::string kind, int package, double scale) {
  PowerPmuEvent e;
  e.domain = std::move(domain);
  e.kind = std::move(kind);
  e.package = package;
  e.spec.scale = scale;
  return e;
}

std::map<std::string, double> joules_of(const std::vector<EnergyReading>& readings) {
  std::map<std::string, double> out;
  for (const auto& r : readings) out[r.domain] = r.joules;
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("rapl perf intervals: marked at the ticks and built afterwards, or read at the ticks") {
    // Two packages and a dram, scale 2^-20 J per count (a power of two, so the products are
    // exact). Raw counts at start() and at three ticks; the counters' slots are 0, 2, 1 (the
    // source maps its events to counter positions). Hand-computed deltas per interval:
    //   package-0: 1048576, 0, 2097152 counts = 1, 0, 2 J
    //   package-1: 524288, 524288, 0 = 0.5, 0.5, 0 J;  package (sum): 1.5, 0.5, 2 J
    //   dram-0: 0, 3145728, 0 = 0, 3, 0 J
    const double scale = 1.0 / 1048576;
    std::vector<std::vector<uint64_t>> rows = {{1000, 7, 500},
                                               {1000 + 1048576, 7, 500 + 524288},
                                               {1000 + 1048576, 7 + 3145728, 500 + 1048576},
                                               {1000 + 3145728, 7 + 3145728, 500 + 1048576}};
    auto events = [&] {
      return std::vector<PowerPmuEvent>{power_event("package-0", "package", 0, scale),
                                        power_event("package-1", "package", 1, scale),
                                        power_event("dram-0", "dram", 0, scale)};
    };
    auto marked =
        make_rapl_perf_source(std::make_unique<ScriptedCounters>(rows), events(), {0, 2, 1});
    auto read =
        make_rapl_perf_source(std::make_unique<ScriptedCounters>(rows), events(), {0, 2, 1});
    marked->start();
    read->start();
    std::vector<std::vector<EnergyReading>> at_ticks;
    for (int k = 0; k < 3; ++k) {
      marked->mark_interval();
      at_ticks.push_back(read->read_interval());
    }
    auto after = marked->take_marked_intervals();
    REQUIRE(after.size() == 3);
    const std::vector<std::map<std::string, double>> expected = {
        {{"package-0", 1.0}, {"package-1", 0.5}, {"dram-0", 0.0}, {"package", 1.5}},
        {{"package-0", 0.0}, {"package-1", 0.5}, {"dram-0", 3.0}, {"package", 0.5}},
        {{"package-0", 2.0}, {"package-1", 0.0}, {"dram-0", 0.0}, {"package", 2.0}}};
    for (size_t k = 0; k < 3; ++k) {
      CAPTURE(k);
      CHECK(joules_of(after[k]) == expected[k]);
      CHECK(joules_of(at_ticks[k]) == expected[k]);
      REQUIRE(after[k].size() == 4);
      CHECK(after[k][0].method == "measured:rapl");
    }
    CHECK(marked->take_marked_intervals().empty());
  }

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
                                      "perf_event_open: ",
                                      0) == 0);
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
