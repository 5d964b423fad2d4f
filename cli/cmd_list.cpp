// pmcmodel list: PMUs and events this machine has (generic, sysfs, tracepoints, libpfm4 native),
// each marked when this machine cannot count it, and why; --json for scripts.
#include <cstddef>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/counting/perf_event.h"
#include "engine/system/permissions.h"
#include "events/names/pfm_catalog.h"
#include "events/names/resolver.h"
#include "events/names/tracepoints.h"

namespace pmc::cli {
namespace {

using json = nlohmann::ordered_json;

bool matches(const std::string& name, const std::string& pattern) {
  if (pattern.empty()) return true;
  auto lower = [](std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  return lower(name).find(lower(pattern)) != std::string::npos;
}

// One listed event: whether it can be counted here, and why not.
struct Listed {
  std::string name;
  std::string pmu;
  std::string source;
  std::string description;
  bool countable = true;
  std::string reason;
  std::string probed_as;  // a tracepoint not opened itself: the one whose result it carries
};

// Opens the event once on this process (perf_event_open, disabled, closed at once); `resolved`
// false keeps the event listed as not countable with the resolver's reason.
Listed probe(const EventResolver& resolver, const std::string& name, const SysRoot& root,
             const PerfPermissions& perms) {
  Listed l{name, "", "", "", true, "", ""};
  try {
    EventSpec spec = resolver.resolve(name);
    l.pmu = spec.pmu;
    l.source = spec.source;
    if (auto failure = probe_event(spec, root, perms)) {
      l.countable = false;
      l.reason = failure->reason;
    }
  } catch (const MissingTermError& e) {
    // An alias whose `term=?` the user gives (arm_cmn's nodeid): listed as perf list spells it,
    // "pmu/event,term=?/", and opened with the term 0 to see whether the PMU counts it.
    std::string stem = name.substr(0, name.size() - 1);  // "pmu/event" of "pmu/event/"
    l = probe(resolver, stem + "," + e.term + "=0/", root, perms);
    l.name.replace(stem.size(), e.term.size() + 3, "," + e.term + "=?");
  } catch (const ResolveError& e) {
    l.countable = false;
    l.reason = e.what();
  }
  return l;
}

void print_event(const Listed& l) {
  if (l.countable && l.description.empty()) {
    std::printf("  %s\n", l.name.c_str());
  } else if (l.countable) {
    std::printf("  %-48s %s\n", l.name.c_str(), l.description.c_str());
  } else {
    std::printf("  %-30s [not countable here: %s]\n", l.name.c_str(), l.reason.c_str());
  }
}

json to_json(const Listed& l) {
  json e = {{"name", l.name}, {"pmu", l.pmu}, {"source", l.source}, {"countable", l.countable}};
  if (!l.description.empty()) e["description"] = l.description;
  if (!l.countable) e["reason"] = l.reason;
  if (!l.probed_as.empty()) e["probed_as"] = l.probed_as;
  return e;
}

struct Options {
  std::string pmu;
  std::string pattern;
  bool json = false;
};

// One listing in progress: printed as it goes, or gathered into one JSON document for --json.
class Listing {
 public:
  explicit Listing(const Options& o)
      : o_(o), root_(SysRoot::from_env()), resolver_(root_), perms_(read_perf_permissions(root_)) {}

  // The generic perf names, listed only when no --pmu is asked for.
  void list_generic() {
    if (!o_.pmu.empty()) return;
    heading("Generic events (perf names):");
    for (const auto& n : resolver_.known_names())
      if (n.find('/') == std::string::npos && matches(n, o_.pattern))
        emit(probe(resolver_, n, root_, perms_)), any_ = true;
  }

  // The PMUs of sysfs and their events.
  void list_sysfs_pmus() {
    for (const auto& p : resolver_.pmus()) {
      if (!o_.pmu.empty() && p.name != o_.pmu) continue;
      any_ = true;
      if (o_.json)
        doc_["pmus"].push_back({{"name", p.name}, {"type", p.type}, {"cpu_wide", p.cpu_wide_only}});
      heading("PMU " + p.name + " (type " + std::to_string(p.type) +
              (p.cpu_wide_only ? ", CPU-wide" : "") + "):");
      for (const auto& e : p.events)
        if (matches(e, o_.pattern)) emit(probe(resolver_, p.name + "/" + e + "/", root_, perms_));
      if (p.name == "tracepoint") list_tracepoints();
      // The kernel's software PMU publishes no events/ folder: its events are the generic
      // software names, listed above without --pmu and here when it is asked for by name.
      if (p.name == "software" && o_.pmu == "software") list_software();
    }
  }

  // libpfm4 encodes native names for the PMU it detects (or is forced to); this machine counts
  // them only when its core PMU opens.
  void list_libpfm_pmus() {
    std::optional<OpenFailure> core_failure;
    if (int err = probe_hardware_counters(); err != 0) {
      EventSpec cycles;
      cycles.attr.type = PERF_TYPE_HARDWARE;
      cycles.hardware = true;
      core_failure = classify_open_error(err, cycles, false, root_, perms_);
    }
    for (const auto& p : libpfm_pmus()) {
      if (p.name == "perf" || p.name == "perf_raw") continue;  // the generic names above
      if (!o_.pmu.empty() && p.name != o_.pmu) continue;
      any_ = true;
      bool countable = !(p.core && core_failure);
      if (o_.json)
        doc_["pmus"].push_back(
            {{"name", p.name}, {"libpfm4", true}, {"description", p.description}});
      heading("libpfm4 PMU " + p.name + " (" + p.description + ")" +
              (countable ? "" : " [not countable here: " + core_failure->reason + "]") + ":");
      for (const auto& e : libpfm_events(p.name)) {
        if (!matches(e.name, o_.pattern)) continue;
        Listed l{e.name, p.name, "libpfm4", e.description, countable, "", ""};
        if (!countable) l.reason = core_failure->reason;
        if (o_.json)
          doc_["events"].push_back(to_json(l));
        else
          std::printf("  %-48s %s\n", e.name.c_str(), e.description.c_str());
      }
    }
  }

  void list_software() {
    for (const auto& n : resolver_.known_names()) {
      if (n.find('/') != std::string::npos || !matches(n, o_.pattern)) continue;
      try {
        if (resolver_.resolve(n).pmu != "software") continue;
      } catch (const ResolveError&) {
        continue;
      }
      emit(probe(resolver_, n, root_, perms_));
    }
  }

  // A --pmu that named nothing is an error; --json prints the document.
  void finish() const {
    if (!any_ && !o_.pmu.empty())
      throw CommandError("no PMU named '" + o_.pmu + "' (see 'pmcmodel list')");
    if (o_.json) std::printf("%s\n", doc_.dump(2).c_str());
  }

 private:
  void emit(const Listed& l) {
    if (o_.json)
      doc_["events"].push_back(to_json(l));
    else
      print_event(l);
  }

  void heading(const std::string& text) const {
    if (!o_.json) std::printf("%s\n", text.c_str());
  }

  // The tracepoint PMU's events are in tracefs, not in its sysfs folder. Closing an opened
  // tracepoint waits for the kernel to unregister it (an RCU grace period, ~35 ms on the VMs
  // here), so a full listing of a few thousand would take over a minute if each were opened.
  // Up to kProbeEach matches are each opened; beyond that one representative is, and its result,
  // named in `probed_as`, stands for the rest: what decides it (perf_event_paranoid, tracefs
  // permissions) is the same for every tracepoint but ftrace's own (ftrace:function needs
  // CAP_PERFMON where others do not), which are few and always opened each.
  void list_tracepoints() {
    auto tracepoints = all_tracepoints(root_);
    if (tracepoints.empty()) {
      std::string why = locate_tracefs_events(root_).problem;
      if (why.empty()) why = "tracefs lists no tracepoint";
      if (o_.json)
        doc_["tracepoints_unavailable"] = why;
      else
        std::printf("  tracepoints (subsystem:event) cannot be listed: %s\n", why.c_str());
    }
    std::vector<const Tracepoint*> listed;
    for (const auto& tp : tracepoints)
      if (matches(tp.name, o_.pattern)) listed.push_back(&tp);
    std::optional<Listed> shared;
    if (listed.size() > kProbeEach) {
      shared = probe_tracepoint(*representative(listed));
      if (!o_.json)
        std::printf(
            "  (%zu tracepoints: %s opened for all but ftrace:*, which are opened each; "
            "a pattern matching at most %zu opens each)\n",
            listed.size(), shared->name.c_str(), kProbeEach);
    }
    for (const Tracepoint* tp : listed) {
      if (!shared || tp->name.rfind("ftrace:", 0) == 0) {
        emit(probe_tracepoint(*tp));
        continue;
      }
      Listed l = *shared;
      if (tp->name != shared->name) {
        l.name = tp->name;
        l.probed_as = shared->name;
      }
      emit(l);
    }
  }

  static constexpr std::size_t kProbeEach = 32;

  Listed probe_tracepoint(const Tracepoint& tp) const {
    EventSpec spec;
    spec.attr.type = PERF_TYPE_TRACEPOINT;
    spec.attr.config = tp.id;
    Listed l{tp.name, "tracepoint", "tracefs", "", true, "", ""};
    if (auto failure = probe_event(spec, root_, perms_)) {
      l.countable = false;
      l.reason = failure->reason;
    }
    return l;
  }

  // The tracepoint that stands for many: sched:sched_switch where listed (every kernel with
  // tracepoints has it and perf's own examples use it), else the first.
  static const Tracepoint* representative(const std::vector<const Tracepoint*>& listed) {
    for (const Tracepoint* tp : listed)
      if (tp->name == "sched:sched_switch") return tp;
    return listed.front();
  }

  const Options& o_;
  SysRoot root_;
  EventResolver resolver_;
  PerfPermissions perms_;
  json doc_ = {{"events", json::array()}, {"pmus", json::array()}};
  bool any_ = false;
};

int run_list(const Options& o) {
  Listing listing(o);
  listing.list_generic();
  listing.list_sysfs_pmus();
  listing.list_libpfm_pmus();
  listing.finish();
  return 0;
}

}  // namespace

Runner add_list(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("list", "List detected PMUs and their events");
  cmd->add_option("--pmu", o->pmu,
                  "Only this PMU (sysfs name like cpu, power, msr, tracepoint, or a libpfm4 PMU)");
  cmd->add_option("pattern", o->pattern,
                  "Only events whose name contains PATTERN (case-insensitive)");
  cmd->add_flag("--json", o->json,
                "One JSON document on stdout: events (name, pmu, source, countable, reason) and "
                "PMUs (docs/formats.md)");
  cmd->footer(
      "Events this machine cannot count are marked [not countable here: why].\n"
      "Examples:\n"
      "  pmcmodel list                    every PMU and event\n"
      "  pmcmodel list --pmu power        RAPL energy events\n"
      "  pmcmodel list miss               events whose name contains 'miss'\n"
      "  pmcmodel list sched:             scheduler tracepoints (count with -e 'sched:*')\n"
      "  pmcmodel list --json | jq '.events[] | select(.countable) | .name'\n"
      "  LIBPFM_FORCE_PMU=skl pmcmodel list --pmu skl   Skylake native events (offline)");
  return [o] { return run_list(*o); };
}

}  // namespace pmc::cli
