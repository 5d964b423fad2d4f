#include "events/perfstat/metric_cpu.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

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
    // Armv8.4 PMUs count issue slots: Neoverse N2, V1 and V2 (N1 lacks these events). The slot
    // counts do not tell them apart; N2 (5 slots) is taken, --cpu neoverse-v2 or --literal
    // slots=N for another.
    {"neoverse-n2",
     "Arm's slot-counting top-down events (Neoverse N2, V1, V2; taken as N2)",
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

}  // namespace

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
      return MetricCpu{std::string(family.cpu),
                       fmt::format("the recording holds {} ({})", e.name, family.what)};
    }
  }
  return std::nullopt;
}

std::optional<LoadedMetrics> infer_metric_files(
    Measurement& m, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load,
    const std::function<Literals(const std::string& cpu)>& literals) {
  auto literals_of = [&](const std::string& cpu) { return literals ? literals(cpu) : Literals{}; };
  auto cpu = infer_metric_cpu(m);
  if (!cpu || (given != nullptr && derives_topdown(m, given->set, literals_of(""))))
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
  if (!derives_topdown(m, candidate->set, literals_of(cpu->cpu))) {
    m.notes.push_back(fmt::format(
        "{}'s metric file was not used although {}: it derives no top-down from the recorded "
        "events; generic.json's metrics only",
        cpu->cpu, cpu->why));
    return std::nullopt;
  }
  m.notes.push_back(fmt::format(
      "metric file: {}'s ({}), chosen without --cpu because {}; --cpu MODEL chooses another",
      cpu->cpu, join(candidate->files, " + "), cpu->why));
  return candidate;
}

}  // namespace pmc
