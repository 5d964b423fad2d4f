#include "events/names/resolver.h"

#include <fast_float/fast_float.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>

#include "events/names/event_list.h"
#include "events/names/event_modifiers.h"
#include "events/names/generic_events.h"
#include "events/names/libpfm_encoder.h"
#include "events/names/sysfs_pmu.h"
#include "events/names/tracepoints.h"
#include "events/text/text.h"

namespace pmc {
namespace {

// "cycles:u" → {"cycles", "u"}; a suffix that is not all modifier letters stays in the name
// ("INST_RETIRED:ANY_P", "perf::TASK-CLOCK").
struct SplitName {
  std::string_view base;
  std::string_view letters;
  EventModifiers mods;
};
SplitName split_modifiers(std::string_view name) {
  size_t colon = name.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || name[colon - 1] == ':')
    return {name, {}, {}};
  std::string_view letters = name.substr(colon + 1);
  auto mods = parse_modifiers(letters);
  if (!mods) return {name, {}, {}};
  return {name.substr(0, colon), letters, *mods};
}

// PMUs whose counters are not general-purpose PMCs: kernel software events, probes, and
// free-running MSR/RAPL counters (arch/x86/events/msr.c, rapl.c) that never take a PMC slot.
bool is_pmc_pmu(std::string_view pmu) {
  for (std::string_view other :
       {"software", "tracepoint", "breakpoint", "uprobe", "kprobe", "msr", "power"})
    if (pmu == other) return false;
  return true;
}

// The kernel counts cpu-clock and task-clock in nanoseconds; perf shows them in msec.
void set_clock_unit(EventSpec& spec) {
  if (spec.attr.type == PERF_TYPE_SOFTWARE && (spec.attr.config == PERF_COUNT_SW_CPU_CLOCK ||
                                               spec.attr.config == PERF_COUNT_SW_TASK_CLOCK)) {
    spec.unit = "msec";
    spec.scale = 1e-6;
  }
}

std::optional<double> parse_scale(std::string_view text) {
  double value = 0;
  auto [end, ec] = fast_float::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Optimal string alignment distance, case-insensitive: "cycels" is one transposition from "cycles".
// Anything above `limit` comes back as limit + 1: the distance is at least the difference in
// length, so most of a catalog of hundreds of names is dismissed without a table (measure's
// start-up asks this for every metric event a VM cannot count). Three rolling rows, no allocation
// per pair beyond them.
size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  size_t gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (gap > limit) return limit + 1;
  thread_local std::string lower_a, lower_b;
  auto lowered = [](std::string_view from, std::string& to) {
    to.resize(from.size());
    for (size_t i = 0; i < from.size(); ++i) {
      char c = from[i];
      to[i] = c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
    }
  };
  lowered(a, lower_a);
  lowered(b, lower_b);
  a = lower_a;
  b = lower_b;
  thread_local std::vector<size_t> rows;
  const size_t width = b.size() + 1;
  rows.assign(3 * width, 0);
  size_t* before = rows.data();        // row i - 2
  size_t* previous = before + width;   // row i - 1
  size_t* current = previous + width;  // row i
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  size_t previous_min = 0;  // of row i - 1
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    size_t row_min = i;
    char ai = a[i - 1];
    for (size_t j = 1; j <= b.size(); ++j) {
      char bj = b[j - 1];
      size_t cost = ai == bj ? 0 : 1;
      size_t d = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && ai == b[j - 2] && a[i - 2] == bj) d = std::min(d, before[j - 2] + 1);
      current[j] = d;
      row_min = std::min(row_min, d);
    }
    // An entry below row i is at least row i's minimum, or row i-1's plus one (a transposition
    // reaches two rows back): once both bounds pass the limit, nothing can come back under it.
    if (std::min(row_min, previous_min + 1) > limit) return limit + 1;
    previous_min = row_min;
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return std::min(previous[b.size()], limit + 1);
}

// "power/energy-pkg/" also matches the bare "energy-pkg".
size_t name_distance(std::string_view query, std::string_view known, size_t limit) {
  size_t best = edit_distance(query, known, limit);
  size_t slash = known.find('/');
  if (slash != std::string_view::npos && known.size() > slash + 2 && known.back() == '/')
    best = std::min(best,
                    edit_distance(query, known.substr(slash + 1, known.size() - slash - 2), limit));
  return best;
}

std::vector<std::string> closest_names(std::string_view query,
                                       const std::vector<std::string>& known) {
  const size_t limit = std::max<size_t>(2, query.size() / 3);
  std::vector<std::pair<size_t, size_t>> scored;  // distance, index in `known`
  for (size_t i = 0; i < known.size(); ++i)
    if (size_t d = name_distance(query, known[i], limit); d <= limit) scored.emplace_back(d, i);
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (auto [d, i] : scored) {
    if (out.size() == 3) break;
    out.push_back(known[i]);
  }
  return out;
}

// The sysfs aliases a core PMU may publish for a generic hardware event: x86 prints perf's own
// names (arch/x86/events/core.c events_sysfs_show), Arm PMUv3 the architectural event names that
// armv8_pmuv3_perf_map maps the generic events to (drivers/perf/arm_pmuv3.c).
std::vector<std::string_view> sysfs_names_of(uint64_t hardware_config) {
  switch (hardware_config) {
    case PERF_COUNT_HW_CPU_CYCLES:
      return {"cpu-cycles", "cpu_cycles"};
    case PERF_COUNT_HW_INSTRUCTIONS:
      return {"instructions", "inst_retired"};
    case PERF_COUNT_HW_CACHE_REFERENCES:
      return {"cache-references", "l1d_cache"};
    case PERF_COUNT_HW_CACHE_MISSES:
      return {"cache-misses", "l1d_cache_refill"};
    case PERF_COUNT_HW_BRANCH_INSTRUCTIONS:
      return {"branch-instructions", "br_retired"};
    case PERF_COUNT_HW_BRANCH_MISSES:
      return {"branch-misses", "br_mis_pred"};
    case PERF_COUNT_HW_BUS_CYCLES:
      return {"bus-cycles", "bus_cycles"};
    case PERF_COUNT_HW_REF_CPU_CYCLES:
      return {"ref-cycles"};
    default:
      return {};
  }
}

// "INST_RETIRED.ANY" as libpfm4 spells it: the first '.' separates event and unit mask (libpfm
// takes it like ':'), a later one belongs to Intel's unit-mask name, where libpfm writes '_'
// (IDQ_UOPS_NOT_DELIVERED.CYCLES_0_UOPS_DELIV.CORE → …:CYCLES_0_UOPS_DELIV_CORE).
std::optional<std::string> libpfm_spelling(std::string_view name) {
  size_t first = name.find('.');
  if (first == std::string_view::npos || name.find('.', first + 1) == std::string_view::npos)
    return std::nullopt;
  std::string out(name);
  for (size_t i = first + 1; i < out.size(); ++i)
    if (out[i] == '.') out[i] = '_';
  return out;
}

// perf ignores a PMU instance's numeric suffix: "uncore_imc" names uncore_imc_0, uncore_imc_1…
// (pmu.c perf_pmu__match_ignoring_suffix).
bool is_instance_of(std::string_view pmu, std::string_view prefix) {
  if (pmu.size() <= prefix.size() + 1 || !pmu.starts_with(prefix) || pmu[prefix.size()] != '_')
    return false;
  std::string_view suffix = pmu.substr(prefix.size() + 1);
  return std::all_of(suffix.begin(), suffix.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

void add_modifier_suffix(EventSpec& spec, std::string_view letters) {
  if (!spec.name.empty() && spec.name.back() == '/')
    spec.name += letters;
  else
    spec.name += fmt::format(":{}", letters);
}

}  // namespace

struct EventResolver::Impl {
  SysRoot root;
  std::unique_ptr<NativeEncoder> native;
  mutable std::once_flag scan_once;
  mutable std::vector<SysfsPmu> sysfs_pmus;
  mutable std::vector<PmuInfo> pmu_infos;

  Impl(SysRoot r, std::unique_ptr<NativeEncoder> encoder)
      : root(std::move(r)), native(std::move(encoder)) {}

  // Scanned on first use: generic software names never touch sysfs.
  const std::vector<SysfsPmu>& pmus() const {
    std::call_once(scan_once, [this] {
      sysfs_pmus = scan_pmus(root);
      for (const SysfsPmu& pmu : sysfs_pmus) pmu_infos.push_back(pmu.info);
    });
    return sysfs_pmus;
  }

  const SysfsPmu* find_pmu(std::string_view name) const {
    for (const SysfsPmu& pmu : pmus())
      if (pmu.info.name == name) return &pmu;
    return nullptr;
  }

  // In type order, so the PMU the kernel registered first (cpu_core, type 4) leads.
  std::vector<const SysfsPmu*> core_pmus() const {
    std::vector<const SysfsPmu*> cores;
    for (const SysfsPmu& pmu : pmus())
      if (pmu.core) cores.push_back(&pmu);
    std::stable_sort(cores.begin(), cores.end(), [](const SysfsPmu* a, const SysfsPmu* b) {
      return a->info.type < b->info.type;
    });
    return cores;
  }

  bool hybrid() const { return core_pmus().size() > 1; }

  std::vector<std::string> known_names() const {
    std::vector<std::string> names = generic_event_names();
    for (const SysfsPmu& pmu : pmus())
      for (const std::string& event : pmu.info.events)
        names.push_back(fmt::format("{}/{}/", pmu.info.name, event));
    return names;
  }

  // A generic event counted on `core`, with the extended type on hybrid machines
  // (include/uapi/linux/perf_event.h: PERF_PMU_TYPE_SHIFT, hardware and cache events only).
  EventSpec generic_on(const SysfsPmu* core, GenericEvent event, std::string name) const {
    EventSpec spec;
    spec.name = std::move(name);
    spec.source = "generic";
    spec.attr.type = event.type;
    spec.attr.config = event.config;
    spec.hardware = is_hardware_type(event.type);
    if (!spec.hardware) {
      spec.pmu = "software";
    } else {
      spec.pmu = core != nullptr ? core->info.name : "cpu";
      if (core != nullptr && hybrid()) {
        spec.without_extended_type = legacy_attr(*core, event);
        spec.attr.config |= static_cast<uint64_t>(core->info.type) << PERF_PMU_TYPE_SHIFT;
        spec.cpus = core->info.cpus;
      }
    }
    set_clock_unit(spec);
    return spec;
  }

  // The generic event on `core` without the extended type: its sysfs alias in the PMU's own type
  // where the PMU has one, else the plain generic encoding, which a kernel without extended types
  // gives to the PMU of the CPU the event is opened on.
  perf_event_attr legacy_attr(const SysfsPmu& core, GenericEvent event) const {
    perf_event_attr attr{};
    attr.type = event.type;
    attr.config = event.config;
    if (event.type != PERF_TYPE_HARDWARE || core.info.type < 0) return attr;
    for (std::string_view name : sysfs_names_of(event.config)) {
      auto alias = find_event_alias(core, name);
      if (!alias) continue;
      try {
        PmuConfig config = encode_terms(core, {Term{*alias, std::nullopt}});
        attr.type = static_cast<uint32_t>(core.info.type);
        attr.config = config.words[0];
        attr.config1 = config.words[1];
        attr.config2 = config.words[2];
      } catch (const ResolveError&) {
        continue;  // an alias this PMU's formats cannot encode: keep the generic one
      }
      break;
    }
    return attr;
  }

  std::vector<EventSpec> resolve_generic(const SplitName& split, GenericEvent event,
                                         std::string_view written) const {
    std::vector<EventSpec> specs;
    // Software events never look at sysfs.
    auto cores = is_hardware_type(event.type) ? core_pmus() : std::vector<const SysfsPmu*>{};
    if (cores.size() <= 1) {
      specs.push_back(
          generic_on(cores.empty() ? nullptr : cores.front(), event, std::string(written)));
    } else {
      for (const SysfsPmu* core : cores)
        specs.push_back(generic_on(
            core, event, fmt::format("{}/{}/{}", core->info.name, split.base, split.letters)));
    }
    for (EventSpec& spec : specs) {
      apply_modifiers(split.mods, spec.attr);
      if (spec.without_extended_type) apply_modifiers(split.mods, *spec.without_extended_type);
    }
    return specs;
  }

  // perf's raw syntax "r<hex>": a raw config on the core PMU; on a hybrid machine one event per
  // core PMU ("cpu_core/r1a/", "cpu_atom/r1a/"), each in its PMU's own type, as perf opens it.
  std::vector<EventSpec> resolve_raw(const SplitName& split, std::string_view written) const {
    std::string_view base = split.base;
    if (base.size() < 2 || base[0] != 'r' || !std::all_of(base.begin() + 1, base.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c));
        }))
      return {};
    uint64_t config = 0;
    auto [end, ec] = std::from_chars(base.data() + 1, base.data() + base.size(), config, 16);
    if (ec != std::errc() || end != base.data() + base.size())
      throw ResolveError(fmt::format("raw event '{}' does not fit in 64 bits", written));
    auto cores = core_pmus();
    auto raw_on = [&](const SysfsPmu* core, std::string name) {
      EventSpec spec;
      spec.name = std::move(name);
      spec.source = "generic";
      spec.hardware = true;
      spec.attr.type = PERF_TYPE_RAW;
      spec.pmu = core == nullptr ? "cpu" : core->info.name;
      if (cores.size() > 1) {
        spec.attr.type = static_cast<uint32_t>(core->info.type);
        spec.cpus = core->info.cpus;
      }
      spec.attr.config = config;
      apply_modifiers(split.mods, spec.attr);
      return spec;
    };
    if (cores.size() <= 1)
      return {raw_on(cores.empty() ? nullptr : cores.front(), std::string(written))};
    std::vector<EventSpec> specs;
    for (const SysfsPmu* core : cores)
      specs.push_back(
          raw_on(core, fmt::format("{}/{}/{}", core->info.name, split.base, split.letters)));
    return specs;
  }

  // The PMUs "pmu/…/" names: that PMU; its numbered instances (uncore_imc → uncore_imc_0..N);
  // an uncore PMU named without its "uncore_" prefix (cha → uncore_cha_0..N, arb → uncore_arb,
  // cha_0 → uncore_cha_0), which perf matches too (pmu.c perf_pmu__match) and perf's metric
  // files write; for "cpu" on a machine without one, the core PMUs (armv8_pmuv3_0, or cpu_core
  // and cpu_atom).
  std::vector<const SysfsPmu*> pmus_named(std::string_view name) const {
    if (const SysfsPmu* pmu = find_pmu(name)) return {pmu};
    std::vector<const SysfsPmu*> found;
    for (const SysfsPmu& pmu : pmus())
      if (is_instance_of(pmu.info.name, name)) found.push_back(&pmu);
    if (found.empty() && name == "cpu") found = core_pmus();
    if (found.empty() && !name.starts_with("uncore_"))
      return pmus_named(fmt::format("uncore_{}", name));
    return found;
  }

  std::vector<EventSpec> resolve_pmu_event(std::string_view written) const {
    size_t first = written.find('/');
    size_t last = written.rfind('/');
    if (last == first) throw ResolveError(fmt::format("unterminated 'pmu/…/' in '{}'", written));
    std::string_view pmu_name = written.substr(0, first);
    std::string_view body = written.substr(first + 1, last - first - 1);
    std::string_view suffix = written.substr(last + 1);
    if (suffix.starts_with(':')) suffix.remove_prefix(1);
    EventModifiers mods;
    if (!suffix.empty()) {
      auto parsed = parse_modifiers(suffix);
      if (!parsed && suffix.find('R') != std::string_view::npos)
        // perf 6.8's retire-latency modifier: a mean of PEBS samples' retire latency that perf
        // takes from a `perf record -W` it runs beside the count (tools/perf/util/intel-tpebs.c)
        throw ResolveError(fmt::format(
            "unknown modifier 'R' in '{}': perf's retire latency is sampled by perf record, not "
            "counted, so pmcmodel cannot give it (the event without R counts)",
            written));
      if (!parsed) throw bad_modifier(suffix, written);
      mods = *parsed;
      if (mods.weak) throw weak_outside_group(written);
    }
    std::vector<const SysfsPmu*> targets = pmus_named(pmu_name);
    if (targets.empty()) {
      std::vector<std::string> names;
      for (const SysfsPmu& p : pmus()) names.push_back(p.info.name);
      throw ResolveError(fmt::format("unknown PMU '{}' in '{}' (PMUs: {})", pmu_name, written,
                                     names.empty() ? "none" : join(names)));
    }
    std::vector<Term> terms = split_terms(body);
    std::string display(written);
    std::erase_if(terms, [&](const Term& t) {
      if (t.name != "name" || !t.value) return false;
      std::string_view v = *t.value;
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
        v = v.substr(1, v.size() - 2);
      display = std::string(v);
      return true;
    });
    std::vector<EventSpec> specs;
    for (const SysfsPmu* pmu : targets) {
      // "cpu/X/" standing for several core PMUs is named per PMU, as a hybrid generic name is.
      std::string name = targets.size() > 1 && pmu->core && display == written
                             ? fmt::format("{}/{}/{}", pmu->info.name, body, suffix)
                             : display;
      auto legacy = legacy_term(*pmu, terms, name);
      EventSpec spec = legacy                           ? std::move(*legacy)
                       : native_first_term(*pmu, terms) ? encode_native_on(*pmu, terms, name)
                                                        : encode_sysfs(*pmu, terms, name);
      apply_modifiers(mods, spec.attr);
      if (spec.without_extended_type) apply_modifiers(mods, *spec.without_extended_type);
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  // "cpu_core/INST_RETIRED.ANY/", "cpu/UOPS_DECODED.DEC0,cmask=1/": a vendor event name as the
  // first term of a core PMU, where it is neither an alias nor a format term.
  bool native_first_term(const SysfsPmu& pmu, const std::vector<Term>& terms) const {
    if (!pmu.core || terms.empty() || terms[0].value) return false;
    const std::string& name = terms[0].name;
    if (has_event_alias(pmu, name) || has_format(pmu, name) || name.starts_with("config"))
      return false;
    return std::any_of(name.begin(), name.end(),
                       [](char c) { return std::isupper(static_cast<unsigned char>(c)); }) ||
           name.find('.') != std::string::npos;
  }

  // The native encoding of the first term, counted on `pmu` (its type, its CPUs), with the other
  // terms packed over it by the PMU's format files, as perf applies terms to a JSON event.
  EventSpec encode_native_on(const SysfsPmu& pmu, const std::vector<Term>& terms,
                             const std::string& display) const {
    std::string native_error;
    SplitName bare{terms[0].name, {}, {}};
    auto native_spec = resolve_libpfm(bare, terms[0].name, native_error);
    if (!native_spec)
      throw ResolveError(
          fmt::format("cannot encode '{}' for PMU '{}': {}", terms[0].name, pmu.info.name,
                      native_error.empty() ? native_hint(terms[0].name) : native_error));
    EventSpec spec = std::move(*native_spec);
    if (spec.attr.type != PERF_TYPE_RAW && spec.attr.type != static_cast<uint32_t>(pmu.info.type))
      throw ResolveError(fmt::format("'{}' is not an event of PMU '{}' (libpfm4 PMU '{}')",
                                     terms[0].name, pmu.info.name, spec.pmu));
    if (terms.size() > 1) {
      PmuConfig extra = encode_terms(pmu, std::vector<Term>(terms.begin() + 1, terms.end()));
      spec.attr.config |= extra.words[0];
      spec.attr.config1 |= extra.words[1];
      spec.attr.config2 |= extra.words[2];
    }
    spec.name = display;
    spec.pmu = pmu.info.name;
    if (hybrid()) spec.attr.type = static_cast<uint32_t>(pmu.info.type);
    spec.cpus = pmu.info.cpus;
    return spec;
  }

  // perf accepts generic hardware names as a core PMU's only term: "cpu_core/cycles/".
  std::optional<EventSpec> legacy_term(const SysfsPmu& pmu, const std::vector<Term>& terms,
                                       const std::string& display) const {
    if (!pmu.core || terms.size() != 1 || terms[0].value || has_event_alias(pmu, terms[0].name) ||
        has_format(pmu, terms[0].name))
      return std::nullopt;
    auto event = find_generic_event(terms[0].name);
    if (!event || !is_hardware_type(event->type)) return std::nullopt;
    return generic_on(&pmu, *event, display);
  }

  EventSpec encode_sysfs(const SysfsPmu& pmu, const std::vector<Term>& terms,
                         const std::string& display) const {
    if (pmu.info.type < 0)
      throw ResolveError(fmt::format("PMU '{}' has no readable type file", pmu.info.name));
    PmuConfig config = encode_terms(pmu, terms);
    EventSpec spec;
    spec.name = display;
    spec.pmu = pmu.info.name;
    spec.source = "sysfs";
    spec.attr.type = static_cast<uint32_t>(pmu.info.type);
    spec.attr.config = config.words[0];
    spec.attr.config1 = config.words[1];
    spec.attr.config2 = config.words[2];
    spec.cpus = pmu.info.cpus;
    // A non-core PMU with a cpumask (RAPL, uncore) counts only CPU-wide; a core PMU's `cpus`
    // (hybrid) only says which CPUs it covers.
    spec.cpu_wide_only = pmu.info.cpu_wide_only;
    spec.hardware = is_pmc_pmu(pmu.info.name);
    set_clock_unit(spec);
    if (!config.alias.empty()) {
      std::filesystem::path base = pmu.dir / "events" / config.alias;
      if (auto text = read_text(base.string() + ".scale")) {
        auto scale = parse_scale(*text);
        if (!scale)
          throw ResolveError(
              fmt::format("bad scale '{}' for event '{}/{}/'", *text, pmu.info.name, config.alias));
        spec.scale = *scale;
      }
      if (auto unit = read_text(base.string() + ".unit")) spec.unit = *unit;
    }
    return spec;
  }

  PfmResult encode_native(const std::string& name) const {
    PfmResult result = native->encode(name);
    if (!result.encoding) {
      if (auto spelled = libpfm_spelling(name)) {
        PfmResult retry = native->encode(*spelled);
        if (retry.encoding) return retry;
      }
    }
    return result;
  }

  std::optional<EventSpec> resolve_libpfm(const SplitName& split, std::string_view written,
                                          std::string& error) const {
    PfmResult result = encode_native(std::string(written));
    bool apply_ours = false;
    if (!result.encoding && !split.letters.empty()) {
      // libpfm takes ":u" and ":k" itself; other perf modifiers ("uk", "p") are applied here.
      PfmResult base = encode_native(std::string(split.base));
      if (base.encoding) {
        result = std::move(base);
        apply_ours = true;
      }
    }
    if (!result.encoding) {
      if (!result.not_found) error = result.error;
      return std::nullopt;
    }
    const PfmEncoding& enc = *result.encoding;
    EventSpec spec;
    spec.name = std::string(written);
    spec.pmu = enc.pmu;
    spec.source = "libpfm4";
    spec.attr.type = enc.type;
    spec.attr.config = enc.config;
    spec.attr.config1 = enc.config1;
    spec.attr.config2 = enc.config2;
    spec.attr.exclude_user = enc.exclude_user;
    spec.attr.exclude_kernel = enc.exclude_kernel;
    spec.attr.exclude_hv = enc.exclude_hv;
    spec.attr.exclude_guest = enc.exclude_guest;
    spec.attr.exclude_host = enc.exclude_host;
    spec.attr.precise_ip = enc.precise_ip;
    spec.hardware = enc.type != PERF_TYPE_SOFTWARE && enc.type != PERF_TYPE_TRACEPOINT &&
                    enc.type != PERF_TYPE_BREAKPOINT;
    place_on_sysfs_pmu(spec);
    if (apply_ours) apply_modifiers(split.mods, spec.attr);
    set_clock_unit(spec);
    return spec;
  }

  // libpfm4 gives a type but not the PMU's CPUs: take them from the sysfs PMU of that type, as
  // an event named through sysfs gets them. A PMU with a cpumask (RAPL, uncore, amd_l3) counts
  // CPU-wide on those CPUs only; opened on every CPU, each copy would count the whole package.
  void place_on_sysfs_pmu(EventSpec& spec) const {
    const SysfsPmu* pmu = nullptr;
    // PERF_TYPE_RAW is a PMU's type too: x86 registers its core PMU (cpu_core on a hybrid) as
    // PERF_TYPE_RAW (arch/x86/events/core.c init_hw_perf_events), and perf_init_event sends the
    // event there, so libpfm4's adl_glc events count on the P-cores only.
    if (spec.attr.type >= PERF_TYPE_MAX || spec.attr.type == PERF_TYPE_RAW)
      for (const SysfsPmu& p : pmus())
        if (p.info.type >= 0 && static_cast<uint32_t>(p.info.type) == spec.attr.type) pmu = &p;
    if (pmu == nullptr && spec.attr.type == PERF_TYPE_RAW) {
      auto cores = core_pmus();
      if (cores.size() == 1) pmu = cores.front();
    }
    if (pmu == nullptr) return;
    spec.pmu = pmu->info.name;
    spec.cpus = pmu->info.cpus;
    spec.cpu_wide_only = pmu->info.cpu_wide_only;
    spec.hardware = is_pmc_pmu(pmu->info.name);
  }

  // A bare name that is a sysfs alias ("topdown-retiring", Arm's "CPU_CYCLES", "cas_count_read"):
  // the core PMUs that publish it, else every other PMU that does, as perf looks aliases up on
  // all PMUs. Named as written when one PMU (or one PMU's instances) has it, else per PMU.
  std::vector<EventSpec> resolve_alias(const SplitName& split, std::string_view written) const {
    std::vector<const SysfsPmu*> found;
    for (const SysfsPmu* core : core_pmus())
      if (has_event_alias(*core, split.base)) found.push_back(core);
    if (found.empty())
      for (const SysfsPmu& pmu : pmus())
        if (!pmu.core && has_event_alias(pmu, split.base)) found.push_back(&pmu);
    std::vector<EventSpec> specs;
    bool cores = !found.empty() && found.front()->core;
    for (const SysfsPmu* pmu : found) {
      std::string name = cores && found.size() > 1
                             ? fmt::format("{}/{}/{}", pmu->info.name, split.base, split.letters)
                             : std::string(written);
      EventSpec spec = encode_sysfs(*pmu, {Term{std::string(split.base), std::nullopt}}, name);
      apply_modifiers(split.mods, spec.attr);
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  // perf's tracepoint syntax, "sched:sched_switch" or a glob ("sched:*"): one event per match,
  // in name order. Empty with `problem` set when tracefs has no such subsystem or cannot be read
  // (the name may still be a lower-case libpfm4 name); throws when the subsystem exists but
  // nothing in it matches.
  std::vector<EventSpec> resolve_tracepoints(const SplitName& split, std::string_view written,
                                             std::string& problem) const {
    TracepointLookup lookup = find_tracepoints(root, split.base);
    if (lookup.matches.empty()) {
      if (!lookup.subsystem_found) {
        problem = lookup.problem;
        return {};
      }
      auto close = closest_names(split.base, lookup.close);
      if (!close.empty())
        throw ResolveError(
            fmt::format("unknown tracepoint '{}' (did you mean: {}?)", written, join(close)));
      throw ResolveError(fmt::format("unknown event '{}': {}", written, lookup.problem));
    }
    std::vector<EventSpec> specs;
    bool plain = lookup.matches.size() == 1 && lookup.matches[0].name == split.base;
    for (const Tracepoint& tp : lookup.matches) {
      EventSpec spec;
      spec.name = plain ? std::string(written) : tp.name;
      if (!plain && !split.letters.empty()) spec.name += fmt::format(":{}", split.letters);
      spec.pmu = "tracepoint";
      spec.source = "tracefs";
      spec.attr.type = PERF_TYPE_TRACEPOINT;
      spec.attr.config = tp.id;
      apply_modifiers(split.mods, spec.attr);
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  std::vector<EventSpec> resolve_all(std::string_view name, bool suggest = true) const {
    std::string_view written = trim_space(name);
    if (written.empty()) throw ResolveError("empty event name");
    if (written.find('/') != std::string_view::npos) return resolve_pmu_event(written);
    SplitName split = split_modifiers(written);
    if (split.mods.weak) throw weak_outside_group(written);
    if (auto event = find_generic_event(split.base)) return resolve_generic(split, *event, written);
    if (auto raw = resolve_raw(split, written); !raw.empty()) return raw;
    std::string tracepoint_problem;
    if (looks_like_tracepoint(split.base)) {
      auto specs = resolve_tracepoints(split, written, tracepoint_problem);
      if (!specs.empty()) return specs;
    }
    if (auto aliases = resolve_alias(split, written); !aliases.empty()) return aliases;
    if (auto bad = bad_generic_modifier(written)) throw *bad;
    std::string libpfm_error;
    if (auto spec = resolve_libpfm(split, written, libpfm_error)) return {*spec};
    if (!libpfm_error.empty())
      throw ResolveError(fmt::format("libpfm4 cannot encode '{}': {}", written, libpfm_error));
    if (!tracepoint_problem.empty())
      throw ResolveError(fmt::format("unknown event '{}': {}", written, tracepoint_problem));
    throw unknown_event(written, split.base, suggest);
  }

  // "cycles:z", "task-clock:pppp": a generic name whose suffix is not perf's modifiers. Without
  // this the whole name went on to libpfm4, whose "invalid event attribute" named neither the
  // modifier nor what is allowed.
  static std::optional<ResolveError> bad_generic_modifier(std::string_view written) {
    size_t colon = written.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || written[colon - 1] == ':' ||
        !find_generic_event(written.substr(0, colon)))
      return std::nullopt;
    return bad_modifier(written.substr(colon + 1), written);
  }

  static ResolveError bad_modifier(std::string_view letters, std::string_view written) {
    for (char c : letters)
      if (auto why = refused_modifier_reason(c))
        return ResolveError(fmt::format("modifier '{}' in '{}': {}", c, written, *why));
    return ResolveError(
        fmt::format("unknown modifier '{}' in '{}' (expected perf's modifiers: u, k, h, G, H, I, "
                    "e, p up to 3 times, and W on a group)",
                    letters, written));
  }

  static ResolveError weak_outside_group(std::string_view written) {
    return ResolveError(fmt::format(
        "modifier 'W' in '{}': a weak group is written {{a,b}}:W; one event is not a group",
        written));
  }

  // The modifier letters a member of a group was written with: "k" for "cycles:k" and
  // "cpu/event=0x3c/k", empty for "cycles" or "INST_RETIRED:ANY_P".
  static std::string_view member_letters(std::string_view written) {
    size_t slash = written.rfind('/');
    if (slash == std::string_view::npos) return split_modifiers(written).letters;
    std::string_view suffix = written.substr(slash + 1);
    if (suffix.starts_with(':')) suffix.remove_prefix(1);
    return suffix;
  }

  // The group's letters that change `member_letters`, to add to the member's name: "{cycles:k}:u"
  // is named "cycles:ku", "{cycles:u}:u" stays "cycles:u". W changes no count and is not shown.
  static std::string added_letters(std::string_view member_letters, std::string_view group) {
    std::string added;
    for (char c : group)
      if (c == 'p' || (c != 'W' && member_letters.find(c) == std::string_view::npos)) added += c;
    return added;
  }

  ResolveError unknown_event(std::string_view written, std::string_view base,
                             bool suggest = true) const {
    std::vector<std::string> close;
    if (suggest) close = closest_names(base, known_names());
    if (!close.empty())
      return ResolveError(
          fmt::format("unknown event '{}' (did you mean: {}?)", written, join(close)));
    // Native names are upper case with ':' or '.' before the unit mask ("INST_RETIRED:ANY_P").
    bool native_name = base.find_first_of(":.") != std::string_view::npos &&
                       std::any_of(base.begin(), base.end(), [](char c) {
                         return std::isupper(static_cast<unsigned char>(c));
                       });
    if (native_name && !native->has_core_pmu())
      return ResolveError(fmt::format("unknown event '{}' ({})", written, native_hint(base)));
    return ResolveError(fmt::format("unknown event '{}'", written));
  }

  // What to do about a native name libpfm4 has no table for. Forcing another CPU's table
  // (LIBPFM_FORCE_PMU) would encode the name with that CPU's codes: wrong counts, no error.
  std::string native_hint(std::string_view name) const {
    if (native->has_core_pmu()) return fmt::format("libpfm4 has no event '{}' for this CPU", name);
    return "libpfm4 has no event table for this CPU; give the event's encoding from the CPU's "
           "event list, e.g. cpu/event=0xc0,umask=0x0/; LIBPFM_FORCE_PMU=<pmu> only helps a CPU "
           "libpfm4 lists but cannot detect (a VM hiding the model), and must name that CPU";
  }

  std::vector<EventGroup> resolve_group(const EventListItem& item) const {
    std::optional<EventModifiers> group_mods;
    if (!item.group_modifiers.empty()) {
      group_mods = parse_modifiers(item.group_modifiers);
      if (!group_mods) {
        std::string written = fmt::format("{{{}}}:{}", join(item.names, ","), item.group_modifiers);
        throw bad_modifier(item.group_modifiers, written);
      }
    }
    std::vector<EventSpec> specs;
    std::vector<std::string> split_pmus;  // core PMUs of names that stood for several events
    for (const std::string& name : item.names) {
      std::vector<EventSpec> member = resolve_all(name);
      if (member.size() > 1)
        for (const EventSpec& s : member)
          if (std::find(split_pmus.begin(), split_pmus.end(), s.pmu) == split_pmus.end())
            split_pmus.push_back(s.pmu);
      for (EventSpec& s : member) {
        if (group_mods) apply_group_modifiers(*group_mods, item.group_modifiers, name, s);
        specs.push_back(std::move(s));
      }
    }
    std::vector<EventGroup> groups;
    if (split_pmus.empty()) {
      groups.push_back(EventGroup{std::move(specs), true});
    } else {
      // One group per core PMU; members on other PMUs (software, uncore) stay with the first.
      groups.assign(split_pmus.size(), EventGroup{{}, true});
      for (EventSpec& s : specs) {
        auto it = std::find(split_pmus.begin(), split_pmus.end(), s.pmu);
        size_t index = it == split_pmus.end() ? 0 : static_cast<size_t>(it - split_pmus.begin());
        groups[index].events.push_back(std::move(s));
      }
    }
    // perf sets `e` on the group leader only (parse-events.c: exclusive applies to the leader).
    for (EventGroup& g : groups)
      for (size_t k = 1; k < g.events.size(); ++k) g.events[k].attr.exclusive = 0;
    return groups;
  }

  static void apply_group_modifiers(const EventModifiers& group, std::string_view group_letters,
                                    std::string_view member_name, EventSpec& spec) {
    std::string_view own_letters = member_letters(member_name);
    EventModifiers own = parse_modifiers(own_letters).value_or(EventModifiers{});
    auto combined = combine_group_modifiers(own, group);
    if (!combined)
      throw ResolveError(fmt::format("modifier '{}' on '{}' in a group: more than 3 'p' in all",
                                     group_letters, member_name));
    apply_modifiers(*combined, spec.attr);
    if (spec.without_extended_type) apply_modifiers(*combined, *spec.without_extended_type);
    std::string added = added_letters(own_letters, group_letters);
    if (added.empty()) return;
    if (own_letters.empty())
      add_modifier_suffix(spec, added);
    else
      spec.name += added;
  }
};

EventResolver::EventResolver(SysRoot root)
    : impl_(std::make_unique<Impl>(std::move(root), std::make_unique<LibpfmEncoder>())) {}

EventResolver::EventResolver(SysRoot root, std::unique_ptr<NativeEncoder> native)
    : impl_(std::make_unique<Impl>(std::move(root), std::move(native))) {}

EventResolver::~EventResolver() = default;

std::vector<EventGroup> EventResolver::resolve_list(std::string_view list) const {
  std::vector<EventGroup> groups;
  for (const EventListItem& item : parse_event_list(list)) {
    if (item.group) {
      for (EventGroup& g : impl_->resolve_group(item)) groups.push_back(std::move(g));
      continue;
    }
    for (EventSpec& spec : impl_->resolve_all(item.names.front()))
      groups.push_back(EventGroup{{std::move(spec)}, false});
  }
  return groups;
}

EventSpec EventResolver::resolve(std::string_view name) const {
  return impl_->resolve_all(name).front();
}

std::vector<EventSpec> EventResolver::resolve_all(std::string_view name, bool suggest) const {
  return impl_->resolve_all(name, suggest);
}

const std::vector<PmuInfo>& EventResolver::pmus() const {
  impl_->pmus();
  return impl_->pmu_infos;
}

std::vector<std::string> EventResolver::known_names() const {
  return impl_->known_names();
}

std::vector<std::string> default_event_names(bool hardware_available) {
  std::vector<std::string> names = {"task-clock", "context-switches", "cpu-migrations",
                                    "page-faults"};
  if (hardware_available) {
    for (const char* hw : {"cycles", "instructions", "branches", "branch-misses",
                           "cache-references", "cache-misses"})
      names.emplace_back(hw);
  } else {
    names.emplace_back("minor-faults");
    names.emplace_back("major-faults");
  }
  return names;
}

}  // namespace pmc
