// Every core event every shipped metric file (data/metrics/*.json) reads must resolve on the CPU
// the file is for: its libpfm4 table forced with LIBPFM_FORCE_PMU (libpfm reads it once, in
// pfm_initialize(), so each file is resolved in a fresh process, libpfm_forced.h) or the file's own
// event entries, and a sysfs tree of that kind of machine. A CPU the installed libpfm4 (4.13, x86
// tables only in Debian's build) does not know runs with no table forced, so its file can only use
// sysfs names and its own entries. The events that do not resolve are printed, and must be of a
// kind a core count cannot give (off_core_or_msr_event).
#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "events/metrics/metric_set.h"
#include "events/names/resolver.h"
#include "libpfm_forced.h"

namespace {

// Each event the file's metrics read, under both #smt_on values (if/else on it picks events),
// with has_event() answered by `resolves` as measure answers it on the machine.
std::vector<std::string> metric_events(const std::string& file,
                                       const pmc::EventAvailable& resolves) {
  pmc::MetricSet set = pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/" + file);
  std::vector<std::string> names;
  for (const auto& m : set.metrics()) names.push_back(m.name);
  std::vector<std::string> events;
  std::set<std::string> seen;
  for (double smt : {0.0, 1.0}) {
    pmc::Literals literals;
    literals.set("#smt_on", smt);
    for (const auto& e : set.required_events(names, literals, resolves))
      if (seen.insert(e).second) events.push_back(e);
  }
  return events;
}

// Child body: the events of the metric file on the input's first line that do not resolve on the
// sysfs tree named on its second, one line each with the resolver's reason.
std::string unresolved_body(const std::string& input) {
  std::string file = input.substr(0, input.find('\n'));
  std::string tree = input.substr(input.find('\n') + 1);
  pmc::SysRoot root;
  root.sys = std::string(PMC_TEST_DATA) + "/sysfs/" + tree;
  pmc::EventResolver resolver(root);
  auto resolves = [&](const std::string& spelling) {
    try {
      return !resolver.resolve_all(spelling, false).empty();
    } catch (const pmc::ResolveError&) {
      return false;
    }
  };
  std::vector<std::string> events = metric_events(file, resolves);
  if (events.empty()) return "no events\n";
  std::string out;
  for (const std::string& event : events) {
    // Metric engines supply these themselves (perf's tool PMU).
    if (event == "duration_time") continue;
    try {
      if (resolver.resolve_all(event).empty()) out += event + ": nothing\n";
    } catch (const pmc::ResolveError& e) {
      out += event + ": " + e.what() + "\n";
    }
  }
  return out;
}
const bool kUnresolvedBody = pmc::test::register_child_body("metric-unresolved", unresolved_body);

// The events of `file` that do not resolve under `forced` on `tree`, in a fresh process. A CPU
// with no libpfm4 table runs with a PMU name libpfm4 does not have forced, so that no core table
// is active whatever the host (an Intel host's own table would otherwise resolve Intel names, and
// an AMD host's would not).
std::string unresolved(const std::string& file, const char* forced, const char* tree) {
  return pmc::test::run_forced(forced != nullptr ? forced : "pmcmodel_no_table",
                               "metric-unresolved", file + '\n' + tree);
}

// Whether an event that did not resolve is of a kind a core count cannot give: an uncore,
// C-state or RAPL PMU (absent from the fixture trees); an event that needs the offcore-response
// or frontend MSR, which the event fields of a metric file cannot carry (OCR.*,
// OFFCORE_RESPONSE.*, FRONTEND_RETIRED.*, and on Sapphire Rapids' successors
// INT_MISC.UNKNOWN_BRANCH_CYCLES and UOPS_RETIRED.MS); AMD's L3, data-fabric and
// memory-controller PMUs; perf's retire-latency modifier (":R", perf 6.8).
bool off_core_or_msr_event(std::string line) {
  for (const char* core : {"cpu/", "cpu_core/", "cpu_atom/"})
    if (line.rfind(core, 0) == 0) line.erase(0, std::string(core).size());
  static const char* const kKinds[] = {"UNC_",
                                       "uncore_",
                                       "arb/",
                                       "cha/",
                                       "cha_",
                                       "pcu_",
                                       "cstate_",
                                       "msr/",
                                       "power/",
                                       "imc",
                                       "OCR.",
                                       "OFFCORE_RESPONSE.",
                                       "FRONTEND_RETIRED.",
                                       "INT_MISC.UNKNOWN_BRANCH_CYCLES",
                                       "UOPS_RETIRED.MS",
                                       "l3_",
                                       "xi_",
                                       "local_",
                                       "remote_",
                                       "umc_",
                                       "dram_channel_"};
  for (const char* kind : kKinds)
    if (line.rfind(kind, 0) == 0) return true;
  return line.find("unknown modifier 'R'") != std::string::npos ||
         line.find(":R: ") != std::string::npos;
}

struct Case {
  const char* file;
  const char* forced;  // libpfm4 PMU, or null where libpfm 4.13 has no table for the CPU
  const char* tree;    // tests/data/sysfs/<tree>
};

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("every event of every shipped metric file resolves on the CPU it is for") {
    const Case cases[] = {
        {"generic.json", "skl", "skylake"},
        {"generic.json", "icl", "intel-client"},
        {"generic.json", "amd64_fam19h_zen3", "amd-zen"},
        {"generic.json", nullptr, "neoverse-n2"},
        {"generic.json", nullptr, "alderlake-p"},
        {"skylake.json", "skl", "skylake"},
        {"skylake.json", "skx", "skylake"},
        {"icelake.json", "icl", "intel-client"},
        {"icelake.json", "icx", "intel-client"},
        {"sapphirerapids.json", "spr", "spr-2s"},
        {"alderlake.json", nullptr, "alderlake-p"},
        {"zen2.json", "amd64_fam17h_zen2", "amd-zen"},
        {"zen3.json", "amd64_fam19h_zen3", "amd-zen"},
        {"zen4.json", "amd64_fam19h_zen4", "amd-zen"},
        {"zen5.json", nullptr, "amd-zen"},
        {"skylakex.json", "skx", "skylake"},
        {"cascadelake.json", "clx", "skylake"},
        {"icelakex.json", "icx", "intel-client"},
        {"tigerlake.json", nullptr, "intel-client"},
        {"rocketlake.json", nullptr, "intel-client"},
        {"emeraldrapids.json", nullptr, "spr-2s"},
        {"graniterapids.json", nullptr, "spr-2s"},
        {"meteorlake.json", nullptr, "alderlake-p"},
        {"lunarlake.json", nullptr, "alderlake-p"},
        {"neoverse.json", nullptr, "neoverse-n2"},
    };
    for (const Case& c : cases) {
      std::string where =
          std::string(c.file) + " under " + (c.forced ? c.forced : "no table") + " on " + c.tree;
      CAPTURE(where);
      // Every core event resolves; what does not is listed, and is of a kind a core count
      // cannot give.
      std::string out = unresolved(c.file, c.forced, c.tree);
      if (!out.empty()) MESSAGE(where << " unresolved:\n" << out);
      std::istringstream lines(out);
      for (std::string line; std::getline(lines, line);) {
        CAPTURE(line);
        CHECK(off_core_or_msr_event(line));
      }
    }
  }
}
