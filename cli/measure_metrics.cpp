#include "cli/measure_metrics.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "cli/commands.h"
#include "engine/session/machine.h"
#include "engine/system/data_dir.h"
#include "events/metrics/derived_metrics.h"
#include "events/text/text.h"
#include "pmcmodel_version.h"

namespace pmc::cli {
namespace {

// The names a resolver may know a metric file's event by: perf's spelling, then libpfm4's
// ("INST_RETIRED.ANY" is "INST_RETIRED:ANY" there), then the core PMU's sysfs alias.
std::vector<std::string> resolver_spellings(const std::string& spelling) {
  std::vector<std::string> out = {spelling};
  auto dot = spelling.find('.');
  if (dot != std::string::npos && spelling.find('/') == std::string::npos) {
    std::string native = spelling;
    native[dot] = ':';
    out.push_back(native);
  }
  // A kernel event alias of the core PMU (sysfs cpu/events/topdown-retiring), as perf finds it.
  if (spelling.find('/') == std::string::npos) out.push_back("cpu/" + spelling + "/");
  return out;
}

// Events the metric engine supplies itself rather than a counter.
bool supplied_without_counter(const std::string& key) {
  return key == "duration_time";
}

}  // namespace

std::filesystem::path metrics_dir() {
  return data_file("metrics");
}

LoadedMetrics load_metrics(const std::string& cpu_model, const MachineInfo& machine) {
  LoadedMetrics out;
  out.files.push_back("generic.json");
  std::string file;
  if (!cpu_model.empty()) {
    file = metric_file_for_name(cpu_model);
    if (file.empty())
      throw CommandError(fmt::format(
          "--cpu {}: unknown CPU model (expected one of: generic, skylake, skx, cascadelake, "
          "icelake, icx, sapphirerapids, spr, emeraldrapids, alderlake, raptorlake, zen2, zen3, "
          "zen4, neoverse-n1, neoverse-n2, neoverse-v1, neoverse-v2, graviton3)",
          cpu_model));
  } else {
    file = metric_file_for_cpu(machine.vendor, machine.family, machine.model, machine.pmus);
  }
  if (!file.empty() && file != "generic.json") out.files.push_back(file);
  // Without a data directory (or its generic.json), the generic ratios come from the built-in
  // copy; a CPU's file can only come from the data directory.
  // A CPU file found from the machine (not asked for with --cpu) that the data directory lacks
  // is left out with a note; one asked for is an error.
  std::filesystem::path dir = metrics_dir();
  std::error_code ec;
  try {
    if (!dir.empty() && std::filesystem::exists(dir / "generic.json", ec)) {
      out.set = MetricSet::load(dir / "generic.json");
    } else {
      out.set = MetricSet::builtin_generic();
      out.files.front() = "generic.json (built in)";
      out.notes.push_back("metric files not found under " +
                          (dir.empty() ? std::string("the data directory") : dir.string()) +
                          ": perf stat's generic ratios come from the built-in generic.json");
    }
    if (out.files.size() > 1) {
      auto cpu_file = dir / out.files.back();
      if (cpu_model.empty() && !std::filesystem::exists(cpu_file, ec)) {
        out.notes.push_back("metric file " + cpu_file.string() +
                            " not found: this CPU's own metrics are left out");
        out.files.pop_back();
      } else {
        out.set.merge(MetricSet::load(cpu_file));
      }
    }
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
  return out;
}

Literals machine_literals(const MachineInfo& machine, const SysRoot& root) {
  Literals literals;
  if (machine.logical_cpus > 0) literals.set("num_cpus", machine.logical_cpus);
  if (auto smt = read_text(root.sys_path("devices/system/cpu/smt/active")))
    literals.set("smt_on", *smt == "1" ? 1 : 0);
  std::set<std::string> packages;
  for (int cpu = 0; cpu < std::max(machine.logical_cpus, 1); ++cpu) {
    auto id = read_text(
        root.sys_path(fmt::format("devices/system/cpu/cpu{}/topology/physical_package_id", cpu)));
    if (id) packages.insert(*id);
  }
  if (!packages.empty()) literals.set("num_packages", double(packages.size()));
  // Arm's top-down width: caps/slots of the core PMU (sysfs, Armv8.4 PMUs).
  for (const auto& pmu : machine.pmus) {
    auto slots = read_text(root.sys_path("bus/event_source/devices/" + pmu + "/caps/slots"));
    if (!slots) continue;
    char* end = nullptr;
    double value = std::strtod(slots->c_str(), &end);
    if (end != slots->c_str() && value > 0) {
      literals.set("slots", value);
      break;
    }
  }
  return literals;
}

MeasureMetrics::MeasureMetrics(LoadedMetrics metrics, std::vector<std::string> names,
                               Literals literals, CounterModel counters, bool hardware_available)
    : metrics_(std::move(metrics)),
      explicit_(!names.empty()),
      literals_(std::move(literals)),
      counters_(counters),
      hardware_available_(hardware_available) {
  if (names.empty()) {
    selection_ = available_selection(metrics_.set, default_metric_groups());
    if (!selection_.empty()) selected_ = metrics_.set.select(selection_);
    return;
  }
  for (const auto& name : names) {
    try {
      (void)metrics_.set.select({name});
    } catch (const std::runtime_error& e) {
      throw CommandError(
          fmt::format("-m {}: {} (in {}; groups: ipc, branch, cache, topdown, "
                      "memory, stalls; docs/metrics.md lists the metrics)",
                      name, e.what(), join(metrics_.files, " + ")));
    }
    selection_.push_back(name);
  }
  selected_ = metrics_.set.select(selection_);
}

void MeasureMetrics::schedule(std::vector<EventGroup>& groups, const EventResolver& resolver) {
  unresolved_.clear();
  per_interval_.reset();
  std::set<std::string> counted;
  for (const auto& g : groups)
    for (const auto& e : g.events) counted.insert(canonical_event_name(e.name));

  auto per_metric = metrics_.set.events_by_metric(selection_, literals_);
  for (auto& events : per_metric) {
    events.erase(std::remove_if(events.begin(), events.end(),
                                [&](const std::string& e) {
                                  auto key = canonical_event_name(e);
                                  return counted.count(key) || supplied_without_counter(key);
                                }),
                 events.end());
  }
  for (const auto& planned : plan_event_groups(per_metric, counters_)) {
    EventGroup group;
    std::vector<EventGroup> alone;  // an event that stands for one per core PMU (hybrid)
    for (const auto& spelling : planned) {
      // Without a hardware PMU only off-core events (clocks, msr, duration_time) can be counted
      // for the default set: the others are skipped unresolved, so a VM never loads libpfm4's
      // tables (a third of measure's start-up) just to learn that.
      if (!hardware_available_ && !explicit_ && !is_off_core_event(spelling)) {
        skipped_hardware_ = true;
        continue;
      }
      std::vector<EventSpec> specs;
      std::string why;
      for (const auto& name : resolver_spellings(spelling)) {
        try {
          specs = resolver.resolve_all(name, explicit_);  // the default set drops the reason
          break;
        } catch (const ResolveError& e) {
          if (why.empty()) why = e.what();
        }
      }
      if (specs.empty()) {
        if (!explicit_) continue;  // the default set says what it lacks in one note
        EventCount row;
        row.name = spelling;
        row.status = EventStatus::not_supported;
        row.reason = "cannot be named on this machine: " + why;
        unresolved_.push_back(std::move(row));
        continue;
      }
      if (specs.front().hardware && !hardware_available_ && !explicit_) {
        skipped_hardware_ = true;
        continue;
      }
      if (specs.size() == 1) {
        specs.front().name = spelling;  // the metric file's spelling, which its formulas read
        group.events.push_back(std::move(specs.front()));
      } else {
        for (auto& s : specs) alone.push_back(EventGroup{{std::move(s)}, false});
      }
    }
    if (!group.events.empty()) {
      group.explicit_group = group.events.size() > 1;
      groups.push_back(std::move(group));
    }
    for (auto& g : alone) groups.push_back(std::move(g));
  }
}

std::vector<Metric> MeasureMetrics::evaluate(const std::vector<EventCount>& events,
                                             double duration_s) const {
  // Selected once, in the constructor: this runs every interval (-I 100: ten times a second).
  if (per_interval_) return per_interval_->evaluate(events, duration_s).metrics;
  auto computed = compute_selected_metrics(metrics_.set, selected_, events, duration_s, literals_);
  std::vector<size_t> kept;
  for (size_t i : selected_) {
    const auto& def = metrics_.set.metrics()[i];
    bool never =
        std::any_of(computed.absent.begin(), computed.absent.end(), [&](const MetricResult& r) {
          return r.name == def.name && r.pmu == def.pmu && lacks_event_for_good(r.absence);
        });
    if (!never) kept.push_back(i);
  }
  per_interval_.emplace(metrics_.set, std::move(kept), literals_);
  return std::move(computed.metrics);
}

void MeasureMetrics::finish(Measurement& m) const {
  for (const auto& row : unresolved_) m.events.push_back(row);
  m.notes.insert(m.notes.end(), metrics_.notes.begin(), metrics_.notes.end());
  auto computed = compute_metrics(metrics_.set, selection_, m.events, m.duration_s, literals_);
  m.metrics = std::move(computed.metrics);
  std::string files = join(metrics_.files, " + ");
  if (!explicit_) {
    // Without -m the default set is shown where the CPU can count it; one line says what not.
    std::vector<std::string> names;
    for (const auto& r : computed.absent)
      names.push_back(r.pmu.empty() ? r.name : r.pmu + "/" + r.name);
    if (!names.empty())
      m.notes.push_back(fmt::format("default metrics not available here{} ({}): {}",
                                    skipped_hardware_ ? " (no hardware counters)" : "", files,
                                    join(names, ", ")));
    return;
  }
  for (const auto& r : computed.absent)
    m.notes.push_back(fmt::format("metric {}{}: not available: {}",
                                  r.pmu.empty() ? "" : r.pmu + "/", r.name, r.reason));
  m.notes.push_back("metrics from " + files);
}

std::optional<MeasureMetrics> make_measure_metrics(const std::vector<std::string>& names,
                                                   const std::string& cpu_model,
                                                   const SysRoot& root, bool hardware_available) {
  MachineInfo machine = read_machine_info(root);
  std::optional<LoadedMetrics> loaded;
  try {
    loaded = load_metrics(cpu_model, machine);
  } catch (const CommandError&) {
    // The default metrics are a convenience: without metric files measure keeps perf's
    // generic ratios. Asking for metrics or a CPU makes a missing file an error.
    if (!names.empty() || !cpu_model.empty()) throw;
    return std::nullopt;
  }
  bool smt_on = read_text(root.sys_path("devices/system/cpu/smt/active")).value_or("1") == "1";
  // The NMI watchdog (on by default on most distributions) holds one counter pinned, on x86 a
  // general-purpose one when its cycles cannot use the fixed counter (AMD): counter_model()
  // takes it away from the groups so that a planned group does fit.
  bool nmi_watchdog = read_text(root.proc_path("sys/kernel/nmi_watchdog")).value_or("0") == "1";
  CounterModel counters =
      counter_model(machine.vendor, machine.family, machine.model, smt_on, false, nmi_watchdog);
  return MeasureMetrics(std::move(*loaded), names, machine_literals(machine, root), counters,
                        hardware_available);
}

}  // namespace pmc::cli
