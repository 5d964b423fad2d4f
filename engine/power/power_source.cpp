#include "engine/power/power_source.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "engine/power/external_meter.h"
#include "engine/power/papi_power.h"
#include "engine/power/powercap.h"
#include "engine/power/rapl_perf.h"

namespace pmc {
namespace {

// Neither RAPL interface exists: say what was looked for and what to do instead.
std::string no_rapl_reason(const SysRoot& root) {
  return "no RAPL energy counters: no perf power PMU (" +
         root.sys_path("bus/event_source/devices/power").string() + ") and no RAPL zones under " +
         root.sys_path("class/powercap").string() +
         " (a VM does not expose RAPL to its guests, and some CPUs lack it); a wall meter's log "
         "or the BMC can be read with --power-from FILE|ipmi";
}

PowerChoice choose_rapl(const SysRoot& root) {
  auto perf = open_rapl_perf_source(root);
  if (perf.source) return perf;
  bool pmu = power_pmu_present(root);
  auto powercap = open_powercap_source(root);
  bool zones = !scan_powercap(root).zones.empty();
  if (pmu)
    powercap.notes.insert(powercap.notes.begin(),
                          "perf power PMU not used: " + perf.reason_if_none);
  if (powercap.source) return powercap;
  if (!pmu && !zones)
    powercap.reason_if_none = no_rapl_reason(root);
  else if (pmu && zones)
    powercap.reason_if_none = perf.reason_if_none + "; " + powercap.reason_if_none;
  else if (pmu)
    powercap.reason_if_none = perf.reason_if_none;
  return powercap;
}

}  // namespace

PowerProbe probe_power_source(const SysRoot& root, double window_s) {
  PowerProbe probe;
  probe.window_s = window_s;
  PowerChoice choice;
  try {
    choice = choose_power_source(root, "auto", "");
  } catch (const std::exception& e) {
    probe.reason_if_none = e.what();
    return probe;
  }
  if (!choice.source) {
    probe.reason_if_none = choice.reason_if_none;
    return probe;
  }
  probe.method = choice.source->method();
  choice.source->start();
  std::this_thread::sleep_for(std::chrono::duration<double>(window_s));
  for (const auto& r : choice.source->read_since_start())
    (r.joules > 0 ? probe.counting : probe.silent).push_back(r.domain);
  return probe;
}

std::string rapl_domain_name(std::string_view kind, int package, int packages) {
  if (kind == "package") return "package-" + std::to_string(package);
  if (packages <= 1 || kind == "psys") return std::string(kind);
  return std::string(kind) + "-" + std::to_string(package);
}

PowerChoice choose_power_source(const SysRoot& root, std::string_view requested,
                                const std::string& power_from) {
  const std::string want(requested);
  if (want != "auto" && want != "perf" && want != "powercap" && want != "papi" && want != "none")
    throw std::runtime_error("unknown power source '" + want +
                             "' (expected auto, perf, powercap, papi or none)");
  if (!power_from.empty()) {
    PowerChoice choice;
    if (power_from == "ipmi")
      choice = open_ipmi_source();
    else
      choice.source = open_meter_file_source(power_from);
    if (want != "auto")
      choice.notes.push_back("--power-from " + power_from + " is the power source; '" + want +
                             "' was not used");
    return choice;
  }
  if (want == "none") return {nullptr, "energy measurement turned off (power source 'none')", {}};
  if (want == "papi") return open_papi_power_source();
  if (want == "perf") {
    if (!power_pmu_present(root)) return {nullptr, no_rapl_reason(root), {}};
    return open_rapl_perf_source(root);
  }
  if (want == "powercap") return open_powercap_source(root);
  return choose_rapl(root);
}

}  // namespace pmc
