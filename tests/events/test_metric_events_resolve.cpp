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
      // perf's retire-latency modifier R (perf 6.8+) is exempt only where the event it is on
      // resolves: the base event must be countable here, whatever becomes of the latency.
      if (event.size() > 2 && event.compare(event.size() - 2, 2, "/R") == 0)
        if (!resolves(event.substr(0, event.size() - 1)))
          out += "base of " + event + " does not resolve either\n";
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

// Why an event that did not resolve may stay unresolved, or "" where it may not:
// - perf's retire-latency modifier R (perf 6.8, tools/perf/util/intel-tpebs.c): the value is a
//   mean latency that perf takes from a `perf record -W` it runs beside the count (PEBS samples'
//   retire_latency field), never from a counter; perf 6.12 itself reads 0 when it did not record
//   (tpebs_set_evsel). pmcmodel only counts, so the term cannot be had; the child checks that the
//   event under the modifier resolves.
// - a PMU the fixture tree lacks: uncore boxes, C-state residencies and AMD's L3/data-fabric/
//   memory-controller PMUs that the machine has but tests/data/sysfs does not describe yet. Each
//   case bounds how many there are, so a core event cannot hide among them.
std::string exemption(std::string line) {
  if (line.find("unknown modifier 'R'") != std::string::npos) return "retire latency";
  for (const char* core : {"cpu/", "cpu_core/", "cpu_atom/"})
    if (line.rfind(core, 0) == 0) line.erase(0, std::string(core).size());
  static const char* const kUncore[] = {"UNC_",   "uncore_", "arb/", "cha/",         "cha_",
                                        "pcu_",   "cstate_", "imc",  "l3_",          "xi_",
                                        "local_", "remote_", "umc_", "dram_channel_"};
  for (const char* kind : kUncore)
    if (line.rfind(kind, 0) == 0) return "PMU not in the fixture";
  return "";
}

struct Case {
  const char* file;
  const char* forced;  // libpfm4 PMU, or null where libpfm 4.13 has no table for the CPU
  const char* tree;    // tests/data/sysfs/<tree>
  // The most events that may stay unresolved for a reason exemption() accepts: the count of
  // those the CPU's metrics read today (each is printed; the sum is checked against this).
  int exempt_retire_latency;
  int exempt_pmu;
};

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("every event of every shipped metric file resolves on the CPU it is for") {
    const Case cases[] = {
        {"generic.json", "skl", "skylake", 0, 0},
        {"generic.json", "icl", "intel-client", 0, 0},
        {"generic.json", "amd64_fam19h_zen3", "amd-zen", 0, 0},
        {"generic.json", nullptr, "neoverse-n2", 0, 0},
        {"generic.json", nullptr, "alderlake-p", 0, 0},
        {"skylake.json", "skl", "skylake", 0, 99},
        {"skylake.json", "skx", "skylake", 0, 99},
        {"icelake.json", "icl", "intel-client", 0, 99},
        {"icelake.json", "icx", "intel-client", 0, 99},
        {"sapphirerapids.json", "spr", "spr-2s", 0, 99},
        {"alderlake.json", nullptr, "alderlake-p", 0, 99},
        {"zen2.json", "amd64_fam17h_zen2", "amd-zen", 0, 99},
        {"zen3.json", "amd64_fam19h_zen3", "amd-zen", 0, 99},
        {"zen4.json", "amd64_fam19h_zen4", "amd-zen4", 0, 999},
        {"zen5.json", nullptr, "amd-zen4", 0, 99},
        {"skylakex.json", "skx", "skylake", 0, 99},
        {"cascadelake.json", "clx", "skylake", 0, 99},
        {"icelakex.json", "icx", "intel-client", 0, 99},
        {"tigerlake.json", nullptr, "intel-client", 0, 99},
        {"rocketlake.json", nullptr, "intel-client", 0, 99},
        {"emeraldrapids.json", nullptr, "spr-2s", 0, 99},
        {"graniterapids.json", nullptr, "spr-2s", 99, 99},
        {"meteorlake.json", nullptr, "alderlake-p", 99, 99},
        {"lunarlake.json", nullptr, "alderlake-p", 99, 99},
        {"neoverse.json", nullptr, "neoverse-n2", 0, 0},
        {"neoverse-n1.json", nullptr, "neoverse-n1", 0, 0},
        {"neoverse-n2.json", nullptr, "neoverse-n2", 0, 0},
        {"neoverse-v1.json", nullptr, "neoverse-v1", 0, 0},
        {"neoverse-v2.json", nullptr, "neoverse-v2", 0, 0},
        {"earlier/neoverse-n2.json", nullptr, "neoverse-n2", 0, 0},
    };
    for (const Case& c : cases) {
      std::string where =
          std::string(c.file) + " under " + (c.forced ? c.forced : "no table") + " on " + c.tree;
      CAPTURE(where);
      // Every event resolves but those exemption() accepts, and there are no more of those than
      // the case allows.
      std::string out = unresolved(c.file, c.forced, c.tree);
      int retire_latency = 0;
      int pmu = 0;
      std::istringstream lines(out);
      for (std::string line; std::getline(lines, line);) {
        CAPTURE(line);
        std::string why = exemption(line);
        CHECK_MESSAGE(!why.empty(), "not exempt");
        retire_latency += why == "retire latency";
        pmu += why == "PMU not in the fixture";
      }
      MESSAGE(where << ": " << retire_latency << " retire-latency terms, " << pmu
                    << " events of PMUs not in the fixture\n"
                    << out);
      CHECK(retire_latency <= c.exempt_retire_latency);
      CHECK(pmu <= c.exempt_pmu);
    }
  }
}
