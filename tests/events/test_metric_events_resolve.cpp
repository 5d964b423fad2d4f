// Every event every shipped metric file (data/metrics/*.json, earlier/neoverse-n2.json) reads must
// resolve on the CPU the file is for: its libpfm4 table forced with LIBPFM_FORCE_PMU (libpfm reads
// it once, in pfm_initialize(), so each file is resolved in a fresh process, libpfm_forced.h) or
// the file's own event entries, and a sysfs tree of that kind of machine (tests/data/sysfs, with
// its uncore, C-state and AMD L3/DF/UMC PMUs). A CPU the installed libpfm4 (4.13, x86 tables only
// in Debian's build) does not know runs with no table forced, so its file can only use sysfs names
// and its own entries. What does not resolve is printed, and may only be a retire-latency term
// (perf's R modifier, retire_latency()) on an event that itself resolves, or an event kAbsent
// names because the real machine's kernel has no counter for it.
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

// perf's retire-latency modifier R (perf 6.8, tools/perf/util/intel-tpebs.c): the value is a mean
// latency that perf takes from a `perf record -W` it runs beside the count (the retire_latency
// field of PEBS samples), never from a counter, and perf 6.12 itself reads 0 for it when it did
// not record (tpebs_set_evsel). pmcmodel only counts, so the term cannot be had; the child checks
// that the event under the modifier resolves.
bool retire_latency(const std::string& line) {
  return line.find("unknown modifier 'R'") != std::string::npos;
}

// The events that stay unresolved because the real machine cannot count them either, each with
// the kernel source that says so. Each must still be unresolved (a stale entry fails), so the
// list is also the exact bound.
struct Absent {
  const char* file;
  const char* event;  // the start of the child's line
  const char* why;
};
const Absent kAbsent[] = {
    {"alderlake.json", "cstate_pkg/c7-residency/",
     "arch/x86/events/intel/cstate.c adl_cstates has no PKG_C7_RES"},
    {"alderlake.json", "cstate_pkg/c9-residency/",
     "arch/x86/events/intel/cstate.c adl_cstates has no PKG_C9_RES"},
    {"meteorlake.json", "cstate_pkg/c7-residency/",
     "cstate.c: Meteor Lake uses adl_cstates, no PKG_C7_RES"},
    {"meteorlake.json", "cstate_pkg/c9-residency/",
     "cstate.c: Meteor Lake uses adl_cstates, no PKG_C9_RES"},
    {"meteorlake.json", "uncore_clock/",
     "uncore_snb.c mtl_msr_uncores has no clock box, so UNC_CLOCK.SOCKET has no PMU"},
    {"meteorlake.json", "uncore_arb/event=0x85,umask=0x2,cmask=1,",
     "uncore_snb.c: Meteor Lake's arb has adl_uncore_formats_attr, 'threshold' and no 'cmask'; "
     "perf's UNC_ARB_DAT_OCCUPANCY.RD@cmask=1@ fails there too"},
    {"graniterapids.json", "pcu_0/",
     "Granite Rapids is checked on the Sapphire Rapids tree, whose one PCU is uncore_pcu "
     "(uncore_snbep.c spr_uncore_pcu); Granite Rapids' metrics name pcu_0"},
    {"sierraforest.json", "cstate_module/",
     "Sierra Forest is checked on the Sapphire Rapids tree, whose cstate.c icx_cstates has no "
     "module C-states; srf_cstates has MODULE_C6_RES (cstate_module), read by C6_Module_Residency"},
    {"sierraforest.json", "uncore_iio/event=0x83,umask=0x70ff004,",
     "v6.12 sierraforest/uncore-io.json writes UNC_IIO_DATA_REQ_OF_CPU.MEM_READ.ALL_PARTS with "
     "UMaskExt merged into UMask (0x70ff004) beside PortMask/FCMask; Sierra Forest's IIO is "
     "uncore_snbep.c spr_uncore_iio, umask config:8-15, so perf refuses it as well (perfmon's "
     "converter drops UMaskExt when PortMask or FCMask is set only after that file was made)"},
    {"sierraforest.json", "uncore_iio/event=0x83,umask=0x70ff001,",
     "the same for UNC_IIO_DATA_REQ_OF_CPU.MEM_WRITE.ALL_PARTS (UMask 0x70ff001)"},
};

const Absent* absent(const std::string& file, const std::string& line) {
  for (const Absent& a : kAbsent)
    if (file == a.file && line.rfind(a.event, 0) == 0) return &a;
  return nullptr;
}

struct Case {
  const char* file;
  const char* forced;  // libpfm4 PMU, or null where libpfm 4.13 has no table for the CPU
  const char* tree;    // tests/data/sysfs/<tree>
  // How many events read with perf's R modifier the file has: its distinct identifiers ending in
  // ":R" or "@R" (grep -oE '[A-Za-z0-9_.@\\]+(:R|@R)\b' FILE | sort -u | wc -l).
  int retire_latency;
};

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("every event of every shipped metric file resolves on the CPU it is for") {
    const Case cases[] = {
        {"generic.json", "skl", "skylake", 0},
        {"generic.json", "icl", "intel-client", 0},
        {"generic.json", "amd64_fam19h_zen3", "amd-zen", 0},
        {"generic.json", nullptr, "neoverse-n2", 0},
        {"generic.json", nullptr, "alderlake-p", 0},
        {"skylake.json", "skl", "skylake-client", 0},
        {"skylake.json", "skx", "skylake-client", 0},
        {"icelake.json", "icl", "intel-client", 0},
        {"icelake.json", "icx", "intel-client", 0},
        {"sapphirerapids.json", "spr", "spr-2s", 0},
        {"alderlake.json", nullptr, "alderlake-p", 0},
        {"zen2.json", "amd64_fam17h_zen2", "amd-zen", 0},
        {"zen3.json", "amd64_fam19h_zen3", "amd-zen", 0},
        {"zen4.json", "amd64_fam19h_zen4", "amd-zen4", 0},
        {"zen5.json", nullptr, "amd-zen4", 0},
        {"skylakex.json", "skx", "skylake", 0},
        {"cascadelake.json", "clx", "skylake", 0},
        {"icelakex.json", "icx", "icelake-sp", 0},
        {"tigerlake.json", nullptr, "intel-client", 0},
        {"rocketlake.json", nullptr, "intel-client", 0},
        {"emeraldrapids.json", nullptr, "spr-2s", 0},
        {"graniterapids.json", nullptr, "spr-2s", 28},
        {"meteorlake.json", nullptr, "meteorlake", 9},
        {"lunarlake.json", nullptr, "alderlake-p", 27},
        {"sierraforest.json", nullptr, "spr-2s", 0},
        {"arrowlake.json", nullptr, "meteorlake", 27},
        {"neoverse.json", nullptr, "neoverse-n2", 0},
        {"neoverse-n1.json", nullptr, "neoverse-n1", 0},
        {"neoverse-n2.json", nullptr, "neoverse-n2", 0},
        {"neoverse-v1.json", nullptr, "neoverse-v1", 0},
        {"neoverse-v2.json", nullptr, "neoverse-v2", 0},
        {"earlier/neoverse-n2.json", nullptr, "neoverse-n2", 0},
    };
    std::set<const Absent*> used;
    for (const Case& c : cases) {
      std::string where =
          std::string(c.file) + " under " + (c.forced ? c.forced : "no table") + " on " + c.tree;
      CAPTURE(where);
      // Every event resolves, but for the retire-latency terms and the events kAbsent names.
      std::string out = unresolved(c.file, c.forced, c.tree);
      int latency = 0;
      int missing = 0;
      std::istringstream lines(out);
      for (std::string line; std::getline(lines, line);) {
        CAPTURE(line);
        if (retire_latency(line)) {
          ++latency;
        } else if (const Absent* a = absent(c.file, line)) {
          used.insert(a);
          ++missing;
        } else {
          FAIL_CHECK("does not resolve");
        }
      }
      MESSAGE(where << ": " << latency << " retire-latency terms, " << missing
                    << " events the machine lacks\n"
                    << out);
      CHECK(latency == c.retire_latency);
    }
    for (const Absent& a : kAbsent) {
      CAPTURE(a.file);
      CAPTURE(a.event);
      CHECK_MESSAGE(used.count(&a) == 1, "listed as absent but resolves (or never read)");
    }
  }
}
