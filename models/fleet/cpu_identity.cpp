#include "models/fleet/cpu_identity.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "events/text/catalog_csv.h"
#include "events/text/text.h"

namespace pmc {
namespace {

constexpr std::array<std::string_view, 10> kGenerationColumns = {
    "vendor",     "family",      "model",        "stepping_min", "stepping_max",
    "generation", "launch_year", "marker_flags", "name_keys",    "source"};

// A nominal frequency this close to a CPU's base clock is that base clock: ARK and AMD give base
// clocks to 10 MHz, and a guest's calibrated TSC is within a few MHz of the host's.
constexpr double kBaseClockToleranceGhz = 0.05;
// An L3 this close to a table's figure is that figure: ARK gives sizes such as 38.5 MB and 16.5 MB,
// Linux shows whole KB.
constexpr double kL3ToleranceMb = 0.5;

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    if (end > i) out.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

template <typename T>
T number_or(std::string_view text, T fallback) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() ? v : fallback;
}

}  // namespace

CpuInfo parse_cpuinfo(std::string_view text) {
  CpuInfo info;
  bool first_block = true;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      if (info.processors > 0 && trim(line).empty()) first_block = false;
      continue;
    }
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "processor") ++info.processors;
    if (!first_block) continue;
    if (key == "vendor_id")
      info.vendor = value;
    else if (key == "model name")
      info.model_name = value;
    else if (key == "cpu family")
      info.family = number_or(value, -1);
    else if (key == "model")
      info.model = number_or(value, -1);
    else if (key == "stepping")
      info.stepping = number_or(value, -1);
    else if (key == "cpu MHz")
      info.mhz = number_or(value, 0.0);
    else if (key == "cache size")
      info.cache_kb = number_or(value, 0.0);  // "327680 KB"
    else if (key == "flags")
      for (auto& w : words(value)) info.flags.insert(std::move(w));
  }
  return info;
}

double max_turbo_ghz(const CpuInfo& cpu) {
  if (cpu.max_mhz <= 0) return 0;
  const std::string& d = cpu.freq_driver;
  bool turbo = d == "intel_pstate" || d == "intel_cpufreq" || d.rfind("amd-pstate", 0) == 0;
  return turbo ? cpu.max_mhz / 1000 : 0;
}

bool CpuGeneration::names(std::string_view cpu_name) const {
  return names_key(cpu_model_key(cpu_name));
}

bool CpuGeneration::names_key(std::string_view key) const {
  if (key.empty()) return false;
  std::string text(key);  // fnmatch needs a terminated string
  return std::any_of(name_keys.begin(), name_keys.end(), [&](const std::string& pattern) {
    return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
  });
}

CpuGenerationTable CpuGenerationTable::load(const std::filesystem::path& file) {
  return parse(read_catalog_file(file), file.string());
}

CpuGenerationTable CpuGenerationTable::parse(std::string_view text, const std::string& origin) {
  CpuGenerationTable table;
  table.origin_ = origin;
  CatalogTable csv(origin, kGenerationColumns);
  csv.parse(text, [&](const CatalogRow& row) {
    CpuGeneration g;
    g.vendor = std::string(row.text(0));
    g.family = row.whole_number(1);
    g.model = row.whole_number(2);
    g.stepping_min = row.whole_number(3);
    g.stepping_max = row.whole_number(4);
    if (g.stepping_min > g.stepping_max)
      row.fail("expected stepping_min no greater than stepping_max");
    g.name = std::string(row.text(5));
    g.launch_year = row.whole_number(6);
    g.marker_flags = words(row.text(7));
    g.name_keys = words(row.text(8));
    g.source = std::string(row.text(9));
    table.rows_.push_back(std::move(g));
  });
  return table;
}

const CpuGeneration* CpuGenerationTable::find(std::string_view vendor, int family, int model,
                                              int stepping) const {
  for (const auto& g : rows_)
    if (g.vendor == vendor && g.family == family && g.model == model &&
        (stepping < 0 || (stepping >= g.stepping_min && stepping <= g.stepping_max)))
      return &g;
  return nullptr;
}

std::string CpuIdentity::describe() const {
  std::string what =
      host_cpu.empty() ? (generation ? generation->name : std::string("unknown")) : host_cpu;
  return fmt::format("host CPU identified as {} ({} confidence): {}", what, confidence,
                     join(evidence));
}

bool l3_fits_ccxs(double l3_mb, int cores, double ccx_l3_mb) {
  auto whole = [](double v) { return v >= 1 - 1e-9 && std::abs(v - std::round(v)) < 1e-6; };
  double ccxs = l3_mb / ccx_l3_mb;
  return whole(ccxs) && whole(double(cores) / std::round(ccxs));
}

namespace {

// The generation's CPU in `facts` taken for the host: with an L3 per CCX (`ccx_l3_mb`, AMD), those
// whose L3 is whole such CCXs; then those whose base clock matches `nominal_ghz`, then (with
// `turbo_ghz`) its turbo, each where any does; then the most cores, then the median TDP.
const CpuFacts* pick_host(const CpuGeneration& gen, const CpuFactsTable& facts, double nominal_ghz,
                          double turbo_ghz, double ccx_l3_mb, double package_l3_mb,
                          CpuIdentity& id) {
  std::vector<const CpuFacts*> all;
  for (const auto& f : facts.all())
    if (f.cores && gen.names_key(f.key)) all.push_back(&f);  // the table's key is the name's
  if (all.empty()) {
    id.evidence.push_back("no CPU of that generation with a core count in the CPU facts table");
    return nullptr;
  }
  std::string of = "of its";  // "of those" once a sign has narrowed the list
  if (ccx_l3_mb > 0) {
    std::vector<const CpuFacts*> fit;
    std::vector<std::string> out;
    for (const CpuFacts* f : all) {
      if (!f->l3_mb || l3_fits_ccxs(*f->l3_mb, *f->cores, ccx_l3_mb))
        fit.push_back(f);  // a CPU whose L3 the table does not give is not ruled out
      else
        out.push_back(fmt::format("{} {:g} MB", f->name, *f->l3_mb));
    }
    if (fit.empty()) {
      id.evidence.push_back(fmt::format(
          "none of its {} CPUs in the facts table has an L3 of whole {:g} MB CCXs: all kept",
          all.size(), ccx_l3_mb));
    } else if (!out.empty()) {
      if (out.size() > 3) out.resize(3), out.push_back("…");
      id.evidence.push_back(fmt::format(
          "{} of its {} CPUs in the facts table ruled out by the L3 of {:g} MB per CCX "
          "(sysfs cache/index3): theirs is not a whole number of such CCXs with whole cores each "
          "({})",
          all.size() - fit.size(), all.size(), ccx_l3_mb, join(out)));
      all = std::move(fit);
      of = "of those";
    }
  }
  std::vector<const CpuFacts*> clocked;
  for (const CpuFacts* f : all)
    if (nominal_ghz > 0 && f->base_ghz &&
        std::abs(*f->base_ghz - nominal_ghz) <= kBaseClockToleranceGhz)
      clocked.push_back(f);
  if (!clocked.empty()) {
    id.evidence.push_back(fmt::format(
        "{} {} {} CPUs in the facts table {} the base clock "
        "{:.2f} GHz shown as cpu MHz",
        clocked.size(), of, all.size(), clocked.size() == 1 ? "has" : "have", nominal_ghz));
    all = std::move(clocked);
  } else {
    id.evidence.push_back(fmt::format(
        "none {} {} CPUs in the facts table has a base clock of {:.2f} GHz (cpu MHz): all "
        "kept",
        of, all.size(), nominal_ghz));
  }
  if (package_l3_mb > 0) {
    // Intel's cpuinfo cache size is the package's L3, ARK's cache figure: a CPU with another one
    // is ruled out (one without a figure is not), all kept when none is left.
    std::vector<const CpuFacts*> same;
    for (const CpuFacts* f : all)
      if (!f->l3_mb || std::abs(*f->l3_mb - package_l3_mb) <= kL3ToleranceMb) same.push_back(f);
    if (same.empty()) {
      id.evidence.push_back(
          fmt::format("none of those {} has an L3 of {:g} MB in the facts table: all kept",
                      all.size(), package_l3_mb));
    } else if (same.size() < all.size()) {
      id.evidence.push_back(fmt::format("{} of those {} {} the L3 of {:g} MB (or none given)",
                                        same.size(), all.size(), same.size() == 1 ? "has" : "have",
                                        package_l3_mb));
      all = std::move(same);
    }
  }
  if (turbo_ghz > 0) {
    std::vector<const CpuFacts*> turbo;
    for (const CpuFacts* f : all)
      if (f->turbo_ghz && std::abs(*f->turbo_ghz - turbo_ghz) <= kBaseClockToleranceGhz)
        turbo.push_back(f);
    if (!turbo.empty()) {
      id.evidence.push_back(
          fmt::format("{} of those {} {} the turbo clock {:.2f} GHz shown as "
                      "cpufreq's max frequency",
                      turbo.size(), all.size(), turbo.size() == 1 ? "has" : "have", turbo_ghz));
      all = std::move(turbo);
    } else {
      id.evidence.push_back(
          fmt::format("none of those {} has a turbo clock of {:.2f} GHz (cpufreq's max "
                      "frequency): all kept",
                      all.size(), turbo_ghz));
    }
  }
  id.candidates = int(all.size());
  int most = 0;
  for (const CpuFacts* f : all) most = std::max(most, *f->cores);
  std::vector<const CpuFacts*> largest;
  for (const CpuFacts* f : all)
    if (*f->cores == most) largest.push_back(f);
  std::sort(largest.begin(), largest.end(), [](const CpuFacts* a, const CpuFacts* b) {
    return a->tdp_w != b->tdp_w ? a->tdp_w < b->tdp_w : a->key < b->key;
  });
  const CpuFacts* pick = largest[(largest.size() - 1) / 2];
  id.evidence.push_back(
      fmt::format("taken: {} ({} cores, {:g} W), {} with the most cores (cloud hosts run the "
                  "largest dies)",
                  pick->name, most, pick->tdp_w,
                  largest.size() == 1 ? std::string("the one")
                                      : fmt::format("the median TDP of the {}", largest.size())));
  return pick;
}

// A turbo clock that `turbo_ghz` (cpufreq's maximum; 0: not shown) rules out: the catalog or
// the facts give the CPU another one.
bool turbo_ruled_out(const std::optional<double>& turbo, double turbo_ghz) {
  return turbo_ghz > 0 && turbo && std::abs(*turbo - turbo_ghz) > kBaseClockToleranceGhz;
}
bool turbo_ruled_out(const CpuFacts* f, double turbo_ghz) {
  return f != nullptr && turbo_ruled_out(f->turbo_ghz, turbo_ghz);
}

// A catalog SKU of the generation with the VM's L3 size and base clock (and a turbo the max
// frequency does not rule out): a server whose curve was measured, a 2-socket one where there is
// one. `models`: how many CPU models matched.
const Sku* pick_catalog_sku(const CpuGeneration& gen, const SkuCatalog& catalog,
                            const CpuFactsTable& facts, double l3_mb, double nominal_ghz,
                            double turbo_ghz, int& models) {
  const Sku* best = nullptr;
  std::set<std::string> keys;
  for (const Sku& s : catalog.skus()) {
    if (!s.sockets || !s.llc_mb || !s.base_ghz || !gen.names_key(s.cpu_key)) continue;
    if (std::abs(*s.llc_mb - l3_mb) > kL3ToleranceMb ||
        std::abs(*s.base_ghz - nominal_ghz) > kBaseClockToleranceGhz)
      continue;
    // The SKU's own turbo clock where the catalog gives one, else its CPU's in the facts.
    if (s.turbo_ghz ? turbo_ruled_out(s.turbo_ghz, turbo_ghz)
                    : turbo_ruled_out(facts.find(s.cpu_model), turbo_ghz))
      continue;
    keys.insert(s.cpu_key);
    bool two_socket = *s.sockets == kHostChips;
    if (best == nullptr || (two_socket && *best->sockets != kHostChips)) best = &s;
  }
  models = int(keys.size());
  return best;
}

// The package's L3 in MB from cpuinfo's `cache size`, 0 where that field is not the L3. Linux
// (cpu_detect_cache_sizes) sets it from CPUID 0x80000006, the L2 of one core, and only Intel's
// cache-leaf code replaces it with the last level: an AMD guest of a Genoa or Turin host shows
// 1024 KB, its cores' L2, while a catalog EPYC's llc_mb is the whole chip's L3.
double l3_from_cache_size(const CpuInfo& cpu, CpuIdentity& id) {
  if (cpu.cache_kb <= 0) return 0;
  if (cpu.vendor == "GenuineIntel") {
    double l3_mb = cpu.cache_kb / 1024;
    id.evidence.push_back(fmt::format("L3 {:g} MB", l3_mb));
    return l3_mb;
  }
  bool l2 = cpu.vendor == "AuthenticAMD" || cpu.vendor == "HygonGenuine";
  id.evidence.push_back(fmt::format(
      "cache size {:g} KB not used ({}: {})", cpu.cache_kb,
      cpu.vendor.empty() ? std::string("no vendor_id") : cpu.vendor,
      l2 ? "the L2 of one core, not the package's L3" : "not known to be the package's L3"));
  return 0;
}

// The L3 of one CCX in MB on AMD and Hygon, from sysfs cache/index3 (CPUID 0x8000001D, which a
// guest is shown), 0 elsewhere: Intel's whole-package L3 is read from cpuinfo's cache size.
double ccx_l3_from_sysfs(const CpuInfo& cpu, CpuIdentity& id) {
  if (cpu.l3_instance_kb <= 0 || (cpu.vendor != "AuthenticAMD" && cpu.vendor != "HygonGenuine"))
    return 0;
  double mb = cpu.l3_instance_kb / 1024;
  id.evidence.push_back(fmt::format("L3 {:g} MB per CCX (sysfs cache/index3)", mb));
  return mb;
}

// cpufreq's maximum frequency where it is the CPU's highest turbo (max_turbo_ghz), else 0; said
// either way when cpufreq shows one.
double turbo_from_cpufreq(const CpuInfo& cpu, CpuIdentity& id) {
  if (cpu.max_mhz <= 0) return 0;
  double ghz = max_turbo_ghz(cpu);
  std::string driver = cpu.freq_driver.empty() ? "no driver named" : cpu.freq_driver;
  if (ghz > 0)
    id.evidence.push_back(
        fmt::format("max frequency {:.2f} GHz (cpufreq, {}: the highest turbo)", ghz, driver));
  else
    id.evidence.push_back(fmt::format(
        "max frequency {:.2f} GHz not used (cpufreq, {}: {})", cpu.max_mhz / 1000, driver,
        cpu.freq_driver == "acpi-cpufreq" ? "the top ACPI P-state, about the base clock"
                                          : "not known to be the turbo clock"));
  return ghz;
}

}  // namespace

std::optional<CpuIdentity> identify_cpu(const CpuInfo& cpu, const CpuGenerationTable& generations,
                                        const CpuFactsTable& facts, const SkuCatalog* catalog) {
  CpuIdentity id;
  id.generation = generations.find(cpu.vendor, cpu.family, cpu.model, cpu.stepping);
  if (const CpuFacts* named = facts.find(cpu.model_name)) {
    id.host_cpu = named->name;
    id.facts = named;
    id.candidates = 1;
    id.confidence = "high";
    id.evidence.push_back("the model name '" + cpu.model_name + "' names it");
    return id;
  }
  if (id.generation == nullptr) return std::nullopt;
  const CpuGeneration& gen = *id.generation;
  id.evidence.push_back(fmt::format("{} family {} model {} stepping {} is {} ({}, {})", cpu.vendor,
                                    cpu.family, cpu.model, cpu.stepping, gen.name, gen.launch_year,
                                    gen.source));
  std::vector<std::string> shown, missing;
  for (const auto& f : gen.marker_flags) (cpu.flags.count(f) ? shown : missing).push_back(f);
  if (!shown.empty()) id.evidence.push_back("flags " + join(shown) + " shown");
  if (!missing.empty())
    id.evidence.push_back("flags " + join(missing) +
                          " not shown (a hypervisor may mask them, or this is another generation)");
  double nominal_ghz = cpu.mhz / 1000;
  double l3_mb = l3_from_cache_size(cpu, id);
  double turbo_ghz = turbo_from_cpufreq(cpu, id);
  double ccx_l3_mb = ccx_l3_from_sysfs(cpu, id);
  int sku_matches = 0;
  if (catalog != nullptr && l3_mb > 0)
    id.sku = pick_catalog_sku(gen, *catalog, facts, l3_mb, nominal_ghz, turbo_ghz, sku_matches);
  if (id.sku != nullptr) {
    id.host_cpu = id.sku->cpu_model;
    id.facts = facts.find(id.sku->cpu_model);
    id.candidates = sku_matches;
    id.evidence.push_back(
        fmt::format("catalog SKU {} has that L3 and the base clock {:.2f} GHz "
                    "shown as cpu MHz{} ({} CPU model(s) so; the first {}-socket SKU taken)",
                    id.sku->id, nominal_ghz,
                    turbo_ghz > 0 && (id.sku->turbo_ghz || (id.facts && id.facts->turbo_ghz))
                        ? ", and its CPU the turbo clock of the max frequency"
                        : "",
                    sku_matches, kHostChips));
  } else if (const CpuFacts* f =
                 pick_host(gen, facts, nominal_ghz, turbo_ghz, ccx_l3_mb, l3_mb, id)) {
    id.host_cpu = f->name;
    id.facts = f;
  }
  // A base clock alone is a weak sign (several CPUs share one): high needs the L3 as well, and
  // no other CPU of the generation in the facts table at that base clock with that L3 (or none
  // given) and a turbo cpufreq does not rule out, since the catalog holds only the CPUs someone
  // published a SPECpower result for.
  int others = 0;
  if (id.sku != nullptr)
    for (const auto& f : facts.all())
      if (f.key != id.sku->cpu_key && gen.names_key(f.key) && f.base_ghz &&
          std::abs(*f.base_ghz - nominal_ghz) <= kBaseClockToleranceGhz &&
          !turbo_ruled_out(&f, turbo_ghz) &&
          (!f.l3_mb || std::abs(*f.l3_mb - l3_mb) <= kL3ToleranceMb))
        ++others;
  if (others > 0)
    id.evidence.push_back(fmt::format(
        "{} other CPU model(s) of the generation in the facts table have that base clock{} and "
        "that L3, or none given",
        others, turbo_ghz > 0 ? " and turbo" : ""));
  bool unique = id.sku != nullptr && id.candidates == 1 && others == 0;
  id.confidence = !missing.empty() ? "low" : unique ? "high" : "medium";
  return id;
}

EstimateCurve identified_host_curve(const CpuIdentity& identity, const SkuCurveModel* model,
                                    const CpuFactsTable& facts, int logical_cpus) {
  double widen = identity.confidence == "high" ? 0.0 : 0.1;
  if (identity.sku != nullptr) {
    EstimateCurve c = sku_estimate_curve(*identity.sku, logical_cpus);
    for (double& u : c.uncertainty) u += widen;
    c.basis += "; " + identity.describe();
    return c;
  }
  if (identity.facts == nullptr || !identity.facts->cores || model == nullptr)
    throw std::invalid_argument(identity.facts == nullptr
                                    ? "no host CPU with known facts"
                                    : "no server power model (data/sku_curve.json)");
  const CpuFacts& cpu = *identity.facts;
  ServerSpecs specs;
  specs.cpu = cpu.name;
  specs.chips = kHostChips;
  specs.cores = kHostChips * *cpu.cores;
  specs.memory_gb = kHostMemoryGbPerCore * specs.cores;
  SkuCurveEstimate e = model->estimate(specs, facts);
  int host_threads = specs.cores * kHostThreadsPerCore;
  double scale = logical_cpus > 0 && logical_cpus < host_threads
                     ? double(logical_cpus) / double(host_threads)
                     : 1.0;
  EstimateCurve c;
  c.method = "estimated:sku-curve:model:" + cpu.key;
  c.domain = "wall";
  for (size_t i = 0; i < kPowerCurvePoints; ++i) c.watts[i] = e.watts[i] * scale;
  for (size_t i = 0; i < kPowerCurvePoints; ++i)
    c.uncertainty[i] = e.relative_half_width[i] + widen;
  c.basis = fmt::format(
      "{} of a {}-socket server of {} ({} cores, {} GB assumed), {:.1f} W idle to {:.1f} W at "
      "100% load, scaled by this machine's {} of its {} threads; {}",
      e.method, kHostChips, cpu.name, specs.cores, specs.memory_gb, e.watts.front(), e.watts.back(),
      logical_cpus, host_threads, identity.describe());
  return c;
}

}  // namespace pmc
