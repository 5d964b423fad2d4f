#include "events/metrics/metric_schedule.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "events/text/text.h"

namespace pmc {

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

bool supplied_without_counter(const std::string& key) {
  return key == "duration_time";
}

bool derives_topdown(const Measurement& m, const MetricSet& set) {
  Measurement run;
  run.events = m.events;
  run.duration_s = m.duration_s;
  auto selection = available_selection(set, import_metric_groups());
  if (selection.empty()) return false;
  auto derived = plan_metric_engine(run, set, selection).run;
  return std::any_of(derived.begin(), derived.end(),
                     [](const Metric& x) { return x.name.starts_with("tma_"); });
}

LoadedMetrics load_metrics(const std::filesystem::path& dir, const std::string& cpu_model,
                           const MachineInfo& machine) {
  LoadedMetrics out;
  out.files.push_back("generic.json");
  std::string file;
  if (!cpu_model.empty()) {
    file = metric_file_for_name(cpu_model);
    if (file.empty())
      throw MetricChoiceError(fmt::format(
          "--cpu {}: unknown CPU model (expected one of: generic, skylake, skx, cascadelake, "
          "icelake, icx, tigerlake, rocketlake, sapphirerapids, spr, emeraldrapids, "
          "graniterapids, alderlake, raptorlake, meteorlake, lunarlake, zen2, zen3, zen4, zen5, "
          "neoverse-n1, neoverse-n2, neoverse-v1, neoverse-v2, graviton3)",
          cpu_model));
  } else {
    file = metric_file_for_cpu(machine.vendor, machine.family, machine.model, machine.pmus,
                               machine.stepping);
  }
  if (!file.empty() && file != "generic.json") out.files.push_back(file);
  // Without a data directory (or its generic.json), the generic ratios come from the built-in
  // copy; a CPU's file can only come from the data directory.
  // A CPU file found from the machine (not asked for with --cpu) that the data directory lacks
  // is left out with a note; one asked for is an error.
  std::error_code ec;
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
  // The entries the files' loading left out, each with its FILE:LINE.
  const auto& left_out = out.set.notes();
  out.notes.insert(out.notes.end(), left_out.begin(), left_out.end());
  return out;
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
      throw MetricChoiceError(
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
  if (hardware_available_ || explicit_) add_replaced_events(per_metric, resolver);
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

void MeasureMetrics::add_replaced_events(std::vector<std::vector<std::string>>& per_metric,
                                         const EventResolver& resolver) const {
  auto nameable = [&](const std::string& spelling) {
    if (supplied_without_counter(canonical_event_name(spelling))) return true;
    for (const auto& name : resolver_spellings(spelling)) {
      try {
        if (!resolver.resolve_all(name, false).empty()) return true;
      } catch (const ResolveError&) {
      }
    }
    return false;
  };
  auto all_nameable = [&](const std::vector<std::string>& events) {
    return std::all_of(events.begin(), events.end(), nameable);
  };
  for (size_t m = 0; m < selected_.size() && m < per_metric.size(); ++m) {
    if (metrics_.set.metrics()[selected_[m]].replaced.empty() || all_nameable(per_metric[m]))
      continue;
    for (const auto& events : metrics_.set.replaced_events(selected_[m], literals_)) {
      if (!all_nameable(events)) continue;
      for (const auto& e : events)
        if (std::find(per_metric[m].begin(), per_metric[m].end(), e) == per_metric[m].end())
          per_metric[m].push_back(e);
      break;
    }
  }
}

std::vector<Metric> MeasureMetrics::evaluate(const std::vector<EventCount>& events,
                                             double duration_s) const {
  // Selected once, in the constructor: this runs every interval (-I 100: ten times a second).
  if (per_interval_)
    return as_interval_metrics(per_interval_->evaluate(events, duration_s).metrics);
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
  return as_interval_metrics(std::move(computed.metrics));
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

}  // namespace pmc
