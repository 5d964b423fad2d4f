// The counter model as `measure -m` plans with it: the roots PMCMODEL_SYSFS_ROOT and
// PMCMODEL_PROCFS_ROOT name (fixture trees here) decide the CPU, the NMI watchdog and a hybrid's
// E-core PMU, and so the event groups measure opens. Checked on the function measure calls
// (cli/measure_metrics.h, with the roots and data directory from the environment, as pmcmodel
// reads them), and on pmcmodel itself where this machine has no PMU: each planned group is then
// refused and named in a note.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/measure_metrics.h"
#include "engine/counting/perf_event.h"
#include "events/names/resolver.h"
#include "events/text/text.h"
#include "test_support.h"

using namespace pmc;
using json = nlohmann::json;

namespace {

namespace fs = std::filesystem;

// A data directory with the shipped generic.json and a CPU file of our own under the name the
// machine picks ("icelake.json", "alderlake.json"), and a /proc with cpuinfo, nmi_watchdog and
// perf_event_paranoid; removed at the end.
struct Fixture {
  fs::path dir = test::make_temp_dir("counter-model");
  fs::path data = dir / "data";
  fs::path proc = dir / "proc";
  fs::path sys;

  Fixture(const std::string& sysfs, int model, int nmi_watchdog, const std::string& cpu_file,
          const std::string& metrics)
      : sys(fs::path(PMC_TEST_DATA) / "sysfs" / sysfs) {
    fs::create_directories(data / "metrics");
    fs::copy_file(fs::path(PMC_SOURCE_DIR) / "data/metrics/generic.json",
                  data / "metrics/generic.json");
    std::ofstream(data / "metrics" / cpu_file) << metrics;
    fs::create_directories(proc / "sys/kernel");
    std::ofstream(proc / "cpuinfo") << "processor\t: 0\nvendor_id\t: GenuineIntel\n"
                                    << "cpu family\t: 6\nmodel\t\t: " << model << "\n\n";
    std::ofstream(proc / "sys/kernel/nmi_watchdog") << nmi_watchdog << "\n";
    std::ofstream(proc / "sys/kernel/perf_event_paranoid") << 2 << "\n";
  }
  ~Fixture() { fs::remove_all(dir); }

  std::vector<std::string> env() const {
    return {"PMCMODEL_SYSFS_ROOT=" + sys.string(), "PMCMODEL_PROCFS_ROOT=" + proc.string(),
            "PMCMODEL_DATA_DIR=" + data.string()};
  }
};

// Environment variables set for one scope and put back after it.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::vector<std::string>& entries) {
    for (const auto& entry : entries) {
      auto eq = entry.find('=');
      std::string name = entry.substr(0, eq);
      const char* old = getenv(name.c_str());
      saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
      setenv(name.c_str(), entry.substr(eq + 1).c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Eight general events e1..e8 and "wide" = (e1 + … + e8) / cycles: with cycles on its fixed
// counter the nine fit Ice Lake's 8 general counters in one group; with the NMI watchdog holding
// that counter they need 9 and cannot.
std::string icelake_metrics() {
  std::string events, sum;
  for (int i = 1; i <= 8; ++i) {
    events += R"({"EventName": "e)" + std::to_string(i) +
              R"(", "EventCode": "0xd1", "UMask": "0x)" + std::to_string(i) + R"("},)";
    sum += (i > 1 ? " + e" : "e") + std::to_string(i);
  }
  return "[" + events + R"({"MetricName": "wide", "MetricExpr": "()" + sum +
         R"() / cycles", "MetricGroup": "wide", "ScaleUnit": "1"}])";
}

// Seven general events on each core type of an Alder Lake, and a metric of each.
std::string alderlake_metrics() {
  std::string out = "[";
  for (std::string pmu : {"cpu_core", "cpu_atom"}) {
    std::string sum;
    for (int i = 1; i <= 7; ++i) {
      std::string name = pmu.substr(4, 1) + std::to_string(i);  // c1…, a1…
      out += R"({"EventName": ")" + name + R"(", "EventCode": "0xd1", "UMask": "0x)" +
             std::to_string(i) + R"(", "Unit": ")" + pmu + R"("},)";
      sum += (i > 1 ? " + " : "") + pmu + "@" + name + "@";
    }
    out += R"({"MetricName": ")" + pmu + R"(_seven", "MetricExpr": ")" + sum +
           R"(", "MetricGroup": "seven", "ScaleUnit": "1", "Unit": ")" + pmu + R"("},)";
  }
  out.back() = ']';
  return out;
}

// The groups measure plans for -m `names`, by their events' names.
std::vector<std::vector<std::string>> planned_groups(const Fixture& f,
                                                     const std::vector<std::string>& names) {
  ScopedEnv env(f.env());
  SysRoot root = SysRoot::from_env();
  MeasureMetricsRequest request;
  request.names = names;
  auto metrics = cli::make_measure_metrics(request, root, true);
  REQUIRE(metrics);
  std::vector<EventGroup> groups;
  metrics->schedule(groups, EventResolver(root));
  std::vector<std::vector<std::string>> out;
  for (const auto& g : groups) {
    out.emplace_back();
    for (const auto& e : g.events) out.back().push_back(canonical_event_name(e.name));
  }
  return out;
}

bool has(const std::vector<std::string>& group, const std::string& name) {
  return std::find(group.begin(), group.end(), name) != group.end();
}

const std::vector<std::string>* group_with(const std::vector<std::vector<std::string>>& groups,
                                           const std::string& name) {
  for (const auto& g : groups)
    if (has(g, name)) return &g;
  return nullptr;
}

// Groups of more than one event that pmcmodel named in a note because the kernel refused them
// (on a machine without a PMU every hardware group is): each as its members' names.
std::vector<std::vector<std::string>> refused_groups(const json& doc) {
  std::vector<std::vector<std::string>> out;
  for (const auto& n : doc["notes"]) {
    std::string note = n.get<std::string>();
    if (note.rfind("group {", 0) != 0) continue;
    auto close = note.find("} could not be opened together");
    if (close == std::string::npos) continue;
    out.emplace_back();
    // Names hold commas inside their PMU terms (cpu/event=0xd1,umask=0x1,name='e1'/): split
    // at commas outside slashes.
    std::string body = note.substr(7, close - 7), name;
    int slashes = 0;
    for (char c : body) {
      if (c == '/') ++slashes;
      if (c == ',' && slashes % 2 == 0) {
        out.back().push_back(canonical_event_name(name));
        name.clear();
        continue;
      }
      name += c;
    }
    out.back().push_back(canonical_event_name(name));
  }
  return out;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("measure plans its groups with the NMI watchdog that procfs shows") {
    const int kIceLake = 0x7e;
    SUBCASE("watchdog off: cycles rides on its fixed counter beside 8 general events") {
      Fixture f("intel-client", kIceLake, 0, "icelake.json", icelake_metrics());
      auto groups = planned_groups(f, {"wide"});
      const auto* g = group_with(groups, "cycles");
      REQUIRE(g != nullptr);
      CHECK(g->size() == 9);
      for (int i = 1; i <= 8; ++i) CHECK(has(*g, "e" + std::to_string(i)));
    }
    SUBCASE("watchdog on: cycles needs a general counter, so it leaves the 8") {
      Fixture f("intel-client", kIceLake, 1, "icelake.json", icelake_metrics());
      auto groups = planned_groups(f, {"wide"});
      const auto* cycles = group_with(groups, "cycles");
      const auto* e1 = group_with(groups, "e1");
      REQUIRE(cycles != nullptr);
      REQUIRE(e1 != nullptr);
      CHECK(cycles != e1);
      for (const auto& g : groups) CHECK(g.size() <= 8);
    }
  }

  TEST_CASE("measure plans a hybrid's cpu_atom events on the E-core's 6 counters") {
    const int kAlderLake = 0x97;
    Fixture f("alderlake-p", kAlderLake, 0, "alderlake.json", alderlake_metrics());
    auto groups = planned_groups(f, {"seven"});
    const auto* core = group_with(groups, "cpu_core/c1/");
    REQUIRE(core != nullptr);
    CHECK(core->size() == 7);  // Golden Cove: 8 general counters per thread
    int atom_events = 0, atom_groups = 0;
    for (const auto& g : groups) {
      size_t atom = size_t(std::count_if(
          g.begin(), g.end(), [](const std::string& e) { return e.rfind("cpu_atom/", 0) == 0; }));
      if (atom == 0) continue;
      CHECK(atom == g.size());  // never beside cpu_core events
      CHECK(g.size() <= 6);
      atom_events += int(atom);
      ++atom_groups;
    }
    CHECK(atom_events == 7);
    CHECK(atom_groups == 2);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("pmcmodel measure: PMCMODEL_PROCFS_ROOT's nmi_watchdog changes the groups it opens") {
    if (probe_hardware_counters() == 0) {
      MESSAGE("skipped: this machine has a PMU, so the planned groups open and no note names them");
      return;
    }
    auto run = [](int nmi_watchdog) {
      Fixture f("intel-client", 0x7e, nmi_watchdog, "icelake.json", icelake_metrics());
      std::string out = (f.dir / "m.json").string();
      auto r = test::run_process(test::pmcmodel({"measure", "-q", "-m", "wide", "--power-source",
                                                 "none", "--json", out, "--", "true"}),
                                 f.env());
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      return refused_groups(json::parse(test::read_file(out)));
    };
    auto off = run(0);
    REQUIRE(off.size() == 1);
    CHECK(off[0].size() == 9);
    CHECK(has(off[0], "cycles"));
    auto on = run(1);
    REQUIRE(on.size() == 1);  // cycles alone is a group of one, refused without a note
    CHECK(on[0].size() == 8);
    CHECK_FALSE(has(on[0], "cycles"));
  }
}
