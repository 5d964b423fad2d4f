#include "events/metrics/metric_schedule.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

bool derives_topdown(const Measurement& m, const MetricSet& set, const Literals& literals) {
  Measurement run;
  run.events = m.events;
  run.duration_s = m.duration_s;
  auto selection = available_selection(set, import_metric_groups());
  if (selection.empty()) return false;
  auto derived = plan_metric_engine(run, set, selection, literals).run;
  return std::any_of(derived.begin(), derived.end(),
                     [](const Metric& x) { return x.name.starts_with("tma_"); });
}

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string read_whole(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open metric file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Whether an event entry's encoding fields are each one number, as MetricSet reads them: perf's
// files also have "EventCode": "0xB7, 0xBB" (an offcore event on either of two MSRs) and "UMask":
// "0x10,0x20" forms.
bool single_number_encoding(const nlohmann::json& entry) {
  for (const char* key :
       {"EventCode", "UMask", "CounterMask", "Invert", "EdgeDetect", "AnyThread", "MSRValue"}) {
    auto it = entry.find(key);
    if (it == entry.end()) continue;
    if (!it->is_string()) return false;
    const auto& text = it->get_ref<const std::string&>();
    std::string_view digits = text;
    bool hex = digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
    if (hex) digits.remove_prefix(2);
    if (digits.empty()) return false;
    for (char c : digits)
      if (!(hex ? std::isxdigit(static_cast<unsigned char>(c))
                : std::isdigit(static_cast<unsigned char>(c))))
        return false;
  }
  return true;
}

// The entries of `array` without the events whose encoding MetricSet cannot take, and how many
// were left out.
size_t drop_unreadable_events(nlohmann::json& array) {
  size_t before = array.size();
  nlohmann::json kept = nlohmann::json::array();
  for (auto& entry : array) {
    bool event = entry.is_object() && entry.contains("EventName") && !entry.contains("MetricName");
    if (!event || single_number_encoding(entry)) kept.push_back(std::move(entry));
  }
  array = std::move(kept);
  return before - array.size();
}

// One *.json of a --metrics directory: perf's array of events or metrics, or perfmon's
// {"Header", "Events": [...]}; nullopt (with a note) for a file that holds neither. An event
// whose encoding is not one number per field is left out, with a note.
std::optional<MetricSet> load_directory_file(const std::filesystem::path& file,
                                             std::vector<std::string>& notes) {
  std::string text = read_whole(file);
  auto document = nlohmann::json::parse(text, nullptr, false);
  bool perfmon =
      document.is_object() && document.contains("Events") && document["Events"].is_array();
  if (perfmon || document.is_array()) {
    nlohmann::json& entries = perfmon ? document["Events"] : document;
    if (size_t dropped = drop_unreadable_events(entries); dropped > 0 || perfmon) {
      // Re-written as perf's array: positions are lost, so errors name the file and line 1.
      text = entries.dump();
      if (dropped > 0)
        notes.push_back(fmt::format(
            "--metrics: {}: {} event{} left out: an encoding field that is not one number "
            "(perf's offcore \"EventCode\": \"0xB7, 0xBB\")",
            file.string(), dropped, dropped == 1 ? "" : "s"));
    }
  } else {
    if (document.is_discarded())
      notes.push_back(fmt::format("--metrics: {} skipped: not JSON", file.string()));
    else
      notes.push_back(
          fmt::format("--metrics: {} skipped: neither events nor metrics", file.string()));
    return std::nullopt;
  }
  MetricSet set = MetricSet::parse(text, file.string());
  if (set.metrics().empty() && set.events().empty()) {
    notes.push_back(fmt::format(
        "--metrics: {} skipped: no entry with EventName/EventCode or MetricName/MetricExpr",
        file.string()));
    return std::nullopt;
  }
  return set;
}

// Records, for each metric of `user` that replaces one of `loaded`, the groups of the replaced
// definition that the new one lacks.
void keep_replaced_groups(LoadedMetrics& loaded, const MetricSet& user) {
  auto has_group = [](const MetricDef& def, const std::string& group) {
    return std::any_of(def.groups.begin(), def.groups.end(),
                       [&](const std::string& g) { return lowercase(g) == lowercase(group); });
  };
  for (const auto& def : user.metrics())
    for (const auto& old : loaded.set.metrics()) {
      if (lowercase(old.name) != lowercase(def.name) || old.pmu != def.pmu) continue;
      for (const auto& group : old.groups)
        if (!has_group(def, group)) loaded.kept_groups.push_back({group, def.name});
    }
}

}  // namespace

void check_metric_paths(const std::vector<std::filesystem::path>& paths) {
  for (const auto& path : paths) {
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status))
      throw MetricChoiceError(fmt::format(
          "--metrics {}: no such file or directory (a metric file, or a directory such as perf's "
          "tools/perf/pmu-events/arch/x86/skylake/)",
          path.string()));
    if (!std::filesystem::is_regular_file(status) && !std::filesystem::is_directory(status))
      throw MetricChoiceError(
          fmt::format("--metrics {}: neither a file nor a directory", path.string()));
  }
}

MetricSet load_metric_path(const std::filesystem::path& path, std::vector<std::string>& notes) {
  check_metric_paths({path});
  if (!std::filesystem::is_directory(path)) return MetricSet::load(path);
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec))
    if (entry.path().extension() == ".json" && entry.is_regular_file(ec))
      files.push_back(entry.path());
  if (ec) throw MetricChoiceError(fmt::format("--metrics {}: {}", path.string(), ec.message()));
  std::sort(files.begin(), files.end());
  MetricSet set;
  size_t used = 0;
  for (const auto& file : files) {
    if (auto part = load_directory_file(file, notes)) {
      set.merge(*part);
      ++used;
    }
  }
  if (used == 0)
    throw MetricChoiceError(
        fmt::format("--metrics {}: no *.json in it holds events or metrics (expected perf's "
                    "pmu-events/arch/<arch>/<cpu>/ directory or Intel perfmon metric files)",
                    path.string()));
  return set;
}

std::vector<std::string> metric_groups(const MetricSet& set) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& def : set.metrics())
    for (const auto& group : def.groups)
      if (!group.empty() && seen.insert(lowercase(group)).second) out.push_back(group);
  return out;
}

std::vector<std::string> default_selection(const LoadedMetrics& metrics,
                                           const std::vector<std::string>& groups) {
  auto out = available_selection(metrics.set, groups);
  for (const auto& group : groups)
    for (const auto& [kept_group, name] : metrics.kept_groups)
      if (lowercase(kept_group) == lowercase(group)) out.push_back(name);
  return out;
}

std::vector<std::string> resolve_metric_selection(const LoadedMetrics& metrics,
                                                  const std::vector<std::string>& wanted) {
  const MetricSet& set = metrics.set;
  std::vector<std::string> out;
  auto has = [&](const std::string& name) {
    try {
      (void)set.select({name});
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  };
  for (const auto& name : wanted) {
    if (lowercase(name) == "default") {
      // perf stat's own default metrics are the files' "Default" group; pmcmodel's are its
      // default groups.
      auto defaults = default_selection(metrics, default_metric_groups());
      out.insert(out.end(), defaults.begin(), defaults.end());
      if (has(name)) out.push_back(name);
      continue;
    }
    auto kept = default_selection(metrics, {name});
    if (!kept.empty()) {
      out.insert(out.end(), kept.begin(), kept.end());
      continue;
    }
    // A metric the files define but left out (its MetricExpr does not parse) is not unknown:
    // the user is told why, with the file and line, before anything runs.
    if (const std::string* note = set.left_out(name))
      throw MetricChoiceError(fmt::format("-m {}: {}", name, *note));
    auto groups = metric_groups(set);
    std::erase_if(groups, [](const std::string& g) { return lowercase(g) == "default"; });
    constexpr size_t kShown = 12;
    std::string listed =
        join(std::vector<std::string>(
                 groups.begin(), groups.begin() + std::ptrdiff_t(std::min(groups.size(), kShown))),
             ", ");
    if (groups.size() > kShown) listed += fmt::format(" and {} more", groups.size() - kShown);
    throw MetricChoiceError(
        fmt::format("-m {}: no metric or metric group of that name in {} (groups: Default, {}; "
                    "docs/metrics.md lists the metrics)",
                    name, join(metrics.files, " + "), listed));
  }
  return out;
}

LoadedMetrics load_metrics(const std::filesystem::path& dir, const std::string& cpu_model,
                           const MachineInfo& machine,
                           const std::vector<std::filesystem::path>& user_paths,
                           const RuntimeParamCounts& runtime) {
  check_metric_paths(user_paths);
  LoadedMetrics out;
  out.files.push_back("generic.json");
  std::string file;
  if (!cpu_model.empty()) {
    file = metric_file_for_name(cpu_model);
    if (file.empty())
      throw MetricChoiceError(fmt::format(
          "--cpu {}: unknown CPU model (expected one of: generic, skylake, skx, cascadelake, "
          "icelake, icx, tigerlake, rocketlake, sapphirerapids, spr, emeraldrapids, "
          "graniterapids, sierraforest, alderlake, raptorlake, meteorlake, lunarlake, arrowlake, "
          "zen2, zen3, zen4, zen5, "
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
      // earlier/<file>: formulas an earlier perf release gave for this CPU, loaded first so that
      // the CPU file's own replace them and they are tried where its formula lacks an input
      // (perf 6.4's Neoverse N2 top-down, without BR_MIS_PRED and without the CPUID).
      auto earlier = dir / "earlier" / out.files.back();
      if (std::filesystem::exists(earlier, ec)) {
        out.set.merge(MetricSet::load(earlier));
        out.files.insert(out.files.end() - 1, "earlier/" + out.files.back());
      }
      out.set.merge(MetricSet::load(cpu_file));
    }
  }
  for (const auto& path : user_paths) {
    MetricSet user = load_metric_path(path, out.notes);
    keep_replaced_groups(out, user);
    out.set.merge(user);
    out.files.push_back(path.string());
  }
  if (size_t made = out.set.instantiate_runtime(runtime)) {
    out.notes.push_back(fmt::format(
        "perf's runtime parameter '?': {} metric{} made once per value 0 … N-1 and named "
        "NAME_0 …, N = {} for AggregationMode PerChip and {} for the others ({})",
        made, made == 1 ? "" : "s", std::max(runtime.per_chip, 1), std::max(runtime.per_core, 1),
        runtime.source.empty() ? "1 where neither --literal ?=N nor POWER's hv_24x7 gives it"
                               : runtime.source));
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
    selection_ = default_selection(metrics_, default_metric_groups());
  } else {
    selection_ = resolve_metric_selection(metrics_, names);
  }
  if (selection_.empty()) return;
  selected_ = metrics_.set.select(selection_);
  event_keys_ = metric_event_keys(metrics_.set, selected_, literals_);
}

void MeasureMetrics::schedule(std::vector<EventGroup>& groups, const EventResolver& resolver) {
  unresolved_.clear();
  per_interval_.reset();
  own_groups_.reset();
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
  if (!own_groups_) own_groups_.emplace(metrics_.set, selected_, event_keys_, literals_);
  if (per_interval_) {
    auto metrics =
        per_interval_->evaluate(events, duration_s, IntervalMetricEvaluator::Notes::left_out)
            .metrics;
    own_groups_->evaluate(events, duration_s, metrics, false);
    return metrics;
  }
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
  auto metrics = as_interval_metrics(std::move(computed.metrics));
  own_groups_->evaluate(events, duration_s, metrics, false);
  return metrics;
}

void MeasureMetrics::finish(Measurement& m) const {
  for (const auto& row : unresolved_) m.events.push_back(row);
  m.notes.insert(m.notes.end(), metrics_.notes.begin(), metrics_.notes.end());
  auto computed = compute_metrics(metrics_.set, selection_, m.events, m.duration_s, literals_);
  m.metrics = std::move(computed.metrics);
  evaluate_in_own_groups(metrics_.set, selected_, event_keys_, m.events, m.duration_s, literals_,
                         m.metrics, true);
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
