// pmcmodel list: PMUs and events this machine has (generic, sysfs, libpfm4 native).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "events/names/pfm_catalog.h"
#include "events/names/resolver.h"

namespace pmc::cli {
namespace {

bool matches(const std::string& name, const std::string& pattern) {
  if (pattern.empty()) return true;
  auto lower = [](std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  return lower(name).find(lower(pattern)) != std::string::npos;
}

}  // namespace

Runner add_list(CLI::App& app) {
  struct Options {
    std::string pmu;
    std::string pattern;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("list", "List detected PMUs and their events");
  cmd->add_option("--pmu", o->pmu, "Only this PMU (sysfs name like cpu, power, msr, or a libpfm4 PMU)");
  cmd->add_option("pattern", o->pattern, "Only events whose name contains PATTERN (case-insensitive)");
  cmd->footer(
      "Examples:\n"
      "  pmcmodel list                    every PMU and event\n"
      "  pmcmodel list --pmu power        RAPL energy events\n"
      "  pmcmodel list miss               events whose name contains 'miss'\n"
      "  LIBPFM_FORCE_PMU=skl pmcmodel list --pmu skl   Skylake native events (offline)");
  return [o] {
    EventResolver resolver(SysRoot::from_env());
    bool any = false;
    if (o->pmu.empty()) {
      std::printf("Generic events (perf names):\n");
      for (const auto& n : resolver.known_names())
        if (n.find('/') == std::string::npos && matches(n, o->pattern)) std::printf("  %s\n", n.c_str()), any = true;
    }
    for (const auto& p : resolver.pmus()) {
      if (!o->pmu.empty() && p.name != o->pmu) continue;
      std::printf("PMU %s (type %d%s):\n", p.name.c_str(), p.type, p.cpus.empty() ? "" : ", CPU-wide");
      any = true;
      for (const auto& e : p.events)
        if (matches(e, o->pattern)) std::printf("  %s/%s/\n", p.name.c_str(), e.c_str());
    }
    for (const auto& p : libpfm_pmus()) {
      if (p.name == "perf" || p.name == "perf_raw") continue;  // the generic names above
      if (!o->pmu.empty() && p.name != o->pmu) continue;
      std::printf("libpfm4 PMU %s (%s):\n", p.name.c_str(), p.description.c_str());
      any = true;
      for (const auto& e : libpfm_events(p.name))
        if (matches(e.name, o->pattern)) std::printf("  %-48s %s\n", e.name.c_str(), e.description.c_str());
    }
    if (!any && !o->pmu.empty()) throw CommandError("no PMU named '" + o->pmu + "' (see 'pmcmodel list')");
    return 0;
  };
}

}  // namespace pmc::cli
