#include "events/perfstat/metric_cpu.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "events/metrics/metric_literals.h"
#include "events/text/text.h"

namespace pmc {
namespace {

// "cpu_core/topdown-retiring/u" → "topdown-retiring"; "UOPS_ISSUED.ANY:u" → "uops_issued.any".
std::string bare_name(std::string_view name) {
  if (name.ends_with('/')) name.remove_suffix(1);
  if (size_t slash = name.find('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
    name = name.substr(0, name.find('/'));
  }
  name = name.substr(0, name.find(':'));
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

bool hybrid_event(std::string_view name) {
  return name.starts_with("cpu_core/") || name.starts_with("cpu_atom/");
}

struct Family {
  std::string_view cpu;
  std::string_view what;
  std::array<std::string_view, 6> events;  // empty entries unused; a trailing '*' is a prefix
};

// In the order tried: a recording with Ice Lake's topdown-* and Skylake's uops_issued.any is an
// Ice Lake (it has both).
constexpr std::array<Family, 5> kFamilies = {{
    // Armv8.4 PMUs count issue slots: Neoverse N2, V1 and V2 (N1 lacks these events), which
    // the counts alone do not tell apart (neoverse_in_recording).
    {"neoverse-n2",
     "Arm's slot-counting top-down events",
     {"stall_slot_frontend", "stall_slot_backend", "stall_slot"}},
    {"zen4",
     "AMD Zen 4's top-down events",
     {"de_src_op_disp.all", "ex_ret_ops", "de_no_dispatch_per_slot.*", "ls_not_halted_cyc"}},
    {"sapphirerapids",
     "the level-2 topdown events of Sapphire Rapids and later cores",
     {"topdown-heavy-ops", "topdown-br-mispredict", "topdown-fetch-lat", "topdown-mem-bound"}},
    {"icelake",
     "the slots and topdown-* events of Ice Lake and later cores",
     {"slots", "topdown-retiring", "topdown-bad-spec", "topdown-fe-bound", "topdown-be-bound",
      "topdown.slots"}},
    {"skylake",
     "the Skylake-era TMA events",
     {"uops_issued.any", "uops_retired.retire_slots", "idq_uops_not_delivered.core",
      "int_misc.recovery_cycles"}},
}};

bool matches(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return false;
  if (pattern.ends_with('*')) return name.starts_with(pattern.substr(0, pattern.size() - 1));
  return name == pattern;
}

// The Neoverse cores with slot-counting top-down events: their devicetree PMU names
// (drivers/perf/arm_pmuv3.c) and Arm Ltd MIDR part numbers (the kernel's arm64 mapfile.csv).
struct Neoverse {
  std::string_view cpu;
  std::string_view pmu;
  int part;
};
constexpr std::array<Neoverse, 3> kNeoverse = {{
    {"neoverse-n2", "armv9_neoverse_n2", 0xd49},
    {"neoverse-v1", "armv8_neoverse_v1", 0xd40},
    {"neoverse-v2", "armv8_neoverse_v2", 0xd4f},
}};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// The last counted event named `name` (bare_name) in `group` (any group when empty).
const EventCount* counted_in(const Measurement& m, std::string_view name,
                             std::optional<int> group) {
  const EventCount* found = nullptr;
  for (const auto& e : m.events)
    if (e.counted() && (!group || e.group == group) && bare_name(e.name) == name) found = &e;
  return found;
}

// "Neoverse N2" of "neoverse-n2".
std::string core_name(std::string_view cpu) {
  std::string out(cpu.substr(cpu.find('-') + 1));
  for (auto& c : out) c = char(std::toupper(static_cast<unsigned char>(c)));
  return "Neoverse " + out;
}

// The slot count of a kNeoverse core (cpu_family_slots) that gives perf's printed backend_bound
// from its group's stall_slot_backend and cpu_cycles, where exactly one count does: the core
// when one has it, SBSA's formulas when several do (V1 and V2 both have 8).
std::optional<NeoverseEvidence> printed_slots(const Measurement& m) {
  for (const auto& r : m.reported) {
    if (r.name != "tma_backend_bound" && r.name != "backend_bound") continue;
    if (!std::isfinite(r.value) || r.value <= 0) continue;
    const EventCount* stalls = counted_in(m, "stall_slot_backend", r.group);
    const EventCount* cycles = counted_in(m, "cpu_cycles", r.group);
    if (stalls == nullptr || cycles == nullptr || cycles->value <= 0) continue;
    // Half a unit of perf's last printed digit (one decimal of a percentage when not shown).
    double half = 0.5 * std::pow(10.0, -r.decimals.value_or(3));
    std::optional<double> found;
    std::vector<std::string_view> cores;
    bool ambiguous = false;
    for (const auto& n : kNeoverse) {
      auto slots = cpu_family_slots(n.cpu);
      if (!slots || std::abs(stalls->value / (*slots * cycles->value) - r.value) > half * 1.000001)
        continue;
      ambiguous |= found && *found != *slots;
      found = slots;
      cores.push_back(n.cpu);
    }
    if (!found || ambiguous) continue;
    std::vector<std::string> names;
    for (auto cpu : cores) names.push_back(core_name(cpu));
    bool one = cores.size() == 1;
    return NeoverseEvidence{
        one ? std::string(cores.front()) : "neoverse", *found,
        fmt::format("perf's printed backend_bound {:.{}f} % is stall_slot_backend {:.0f} / "
                    "({:g} slots × cpu_cycles {:.0f}) of its group: {}'s {:g} slots{}",
                    r.value * 100, std::max(r.decimals.value_or(3) - 2, 0), stalls->value, *found,
                    cycles->value, join(names, " or "), *found,
                    one ? "" : " (not told apart: SBSA's formulas)")};
  }
  return std::nullopt;
}

}  // namespace

std::optional<NeoverseEvidence> neoverse_in_recording(const Measurement& m) {
  for (const auto& e : m.events) {
    auto slash = e.name.find('/');
    if (slash == std::string::npos || slash == 0) continue;
    std::string pmu = lower(std::string_view(e.name).substr(0, slash));
    for (const auto& n : kNeoverse)
      if (pmu == n.pmu)
        return NeoverseEvidence{std::string(n.cpu), cpu_family_slots(n.cpu).value_or(0),
                                fmt::format("its events are on the {} PMU ({})", n.pmu, e.name)};
  }
  if (lower(m.machine.vendor) == "arm" && m.machine.family == 0x41) {
    for (const auto& n : kNeoverse)
      if (m.machine.model == n.part)
        return NeoverseEvidence{
            std::string(n.cpu), cpu_family_slots(n.cpu).value_or(0),
            fmt::format("perf's CPUID line names Arm part {:#x} ({})", n.part, n.cpu)};
  }
  return printed_slots(m);
}

std::optional<MetricCpu> infer_metric_cpu(const Measurement& m) {
  bool hybrid = std::any_of(m.events.begin(), m.events.end(),
                            [](const EventCount& e) { return hybrid_event(e.name); });
  for (const auto& family : kFamilies) {
    for (const auto& e : m.events) {
      std::string name = bare_name(e.name);
      auto hit = std::find_if(family.events.begin(), family.events.end(),
                              [&](std::string_view p) { return matches(p, name); });
      if (hit == family.events.end()) continue;
      // Intel's hybrid parts (Alder Lake, Raptor Lake) have slots and topdown-* on cpu_core.
      if (hybrid && family.cpu != "zen4" && family.cpu != "skylake" && family.cpu != "neoverse-n2")
        return MetricCpu{"alderlake",
                         fmt::format("the recording holds {} on a hybrid core PMU (Intel's hybrid "
                                     "parts: Alder Lake, Raptor Lake)",
                                     e.name)};
      if (family.cpu == "neoverse-n2") {
        if (auto core = neoverse_in_recording(m))
          return MetricCpu{core->cpu, fmt::format("the recording holds {} ({}) and {}", e.name,
                                                  family.what, core->why)};
        return MetricCpu{
            "neoverse-n2",
            fmt::format("the recording holds {} ({} of Neoverse N2, V1 and V2), and nothing in it "
                        "tells which core or how many slots: taken as N2 (#slots 5); --cpu "
                        "neoverse-v1 or neoverse-v2 (8 slots) for those",
                        e.name, family.what)};
      }
      return MetricCpu{std::string(family.cpu),
                       fmt::format("the recording holds {} ({})", e.name, family.what)};
    }
  }
  return std::nullopt;
}

std::optional<LoadedMetrics> infer_metric_files(
    Measurement& m, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load,
    const std::function<Literals(const std::string& cpu)>& literals,
    const std::vector<std::string>& wanted) {
  auto literals_of = [&](const std::string& cpu) { return literals ? literals(cpu) : Literals{}; };
  auto cpu = infer_metric_cpu(m);
  if (!cpu) return std::nullopt;
  if (wanted.empty() && given != nullptr && derives_topdown(m, given->set, literals_of("")))
    return std::nullopt;
  std::optional<LoadedMetrics> candidate;
  try {
    candidate = load(cpu->cpu);
  } catch (const std::runtime_error& e) {
    m.notes.push_back(
        fmt::format("the recording's events show a {} ({}), but its metric file did not load: {}",
                    cpu->cpu, cpu->why, e.what()));
    return std::nullopt;
  }
  std::string reason = cpu->why;
  if (!wanted.empty()) {
    try {
      (void)resolve_metric_selection(*candidate, wanted);
    } catch (const std::runtime_error&) {
      return std::nullopt;  // -m's error names the files that lack the name
    }
    reason = fmt::format("-m {} is defined there and {}", join(wanted, ","), cpu->why);
  } else if (!derives_topdown(m, candidate->set, literals_of(cpu->cpu))) {
    m.notes.push_back(fmt::format(
        "{}'s metric file was not used although {}: it derives no top-down from the recorded "
        "events; generic.json's metrics only",
        cpu->cpu, cpu->why));
    return std::nullopt;
  }
  m.notes.push_back(fmt::format(
      "metric file: {}'s ({}), chosen without --cpu because {}; --cpu MODEL chooses another",
      cpu->cpu, join(candidate->files, " + "), reason));
  return candidate;
}

}  // namespace pmc
