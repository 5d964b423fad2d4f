#include "engine/power/rapl_perf.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "engine/counting/counters.h"
#include "engine/counting/perf_event.h"
#include "events/document/energy_basis.h"
#include "events/names/resolver.h"

namespace pmc {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// The package of each cpumask CPU from topology/physical_package_id; their positions when the ids
// are unreadable or repeat (a PMU scoped per die lists one CPU per die).
std::vector<int> packages_of(const SysRoot& root, const std::vector<int>& cpus,
                             std::vector<std::string>& notes) {
  std::vector<int> ids;
  for (int cpu : cpus) {
    auto text = read_text(root.sys_path("devices/system/cpu/cpu" + std::to_string(cpu) +
                                        "/topology/physical_package_id"));
    int id = -1;
    if (text) {
      try {
        id = std::stoi(*text);
      } catch (const std::exception&) {
        id = -1;
      }
    }
    ids.push_back(id);
  }
  std::set<int> distinct(ids.begin(), ids.end());
  if (distinct.size() == ids.size() && !distinct.count(-1)) return ids;
  if (cpus.size() > 1)
    notes.push_back(
        "power PMU cpumask CPUs have no distinct physical_package_id: domains are "
        "numbered by cpumask position");
  std::vector<int> positions(cpus.size());
  for (size_t i = 0; i < cpus.size(); ++i) positions[i] = int(i);
  return positions;
}

class RaplPerfSource final : public PowerSource {
 public:
  RaplPerfSource(std::unique_ptr<Counters> counters, std::vector<PowerPmuEvent> events,
                 std::vector<size_t> slots, std::vector<std::string> notes)
      : counters_(std::move(counters)),
        events_(std::move(events)),
        slots_(std::move(slots)),
        notes_(std::move(notes)) {
    for (size_t i = 0; i < events_.size(); ++i)
      if (events_[i].kind == "package") packages_.push_back(i);
  }

  std::string method() const override { return "measured:rapl"; }

  void start() override {
    counters_->enable();
    baseline_ = raw_counts();
    at_interval_ = baseline_;
    started_ = last_interval_ = Clock::now();
  }

  // 64-bit perf counts need no wrap tracking.
  void sample() override {}

  std::vector<EnergyReading> read_since_start() override {
    auto now = raw_counts();
    return readings(now, baseline_, std::chrono::duration<double>(Clock::now() - started_).count());
  }

  std::vector<EnergyReading> read_interval() override {
    auto now = raw_counts();
    auto t = Clock::now();
    auto out =
        readings(now, at_interval_, std::chrono::duration<double>(t - last_interval_).count());
    at_interval_ = std::move(now);
    last_interval_ = t;
    return out;
  }

  std::vector<std::string> notes() const override { return notes_; }

  // The raw counts and the interval's length only: the readings are built afterwards.
  void mark_interval() override {
    auto now = raw_counts();
    auto t = Clock::now();
    marked_raw_.insert(marked_raw_.end(), now.begin(), now.end());
    marked_seconds_.push_back(std::chrono::duration<double>(t - last_interval_).count());
    last_interval_ = t;
  }

  std::vector<std::vector<EnergyReading>> take_marked_intervals() override {
    std::vector<std::vector<EnergyReading>> out;
    out.reserve(marked_seconds_.size());
    size_t n = slots_.size();
    for (size_t k = 0; k < marked_seconds_.size(); ++k) {
      std::vector<uint64_t> now(marked_raw_.begin() + ptrdiff_t(k * n),
                                marked_raw_.begin() + ptrdiff_t((k + 1) * n));
      out.push_back(readings(now, at_interval_, marked_seconds_[k]));
      at_interval_ = std::move(now);
    }
    marked_raw_.clear();
    marked_seconds_.clear();
    return out;
  }

 private:
  std::vector<uint64_t> raw_counts() {
    auto counts = counters_->read();
    std::vector<uint64_t> raw;
    raw.reserve(slots_.size());
    for (size_t slot : slots_) raw.push_back(slot < counts.size() ? counts[slot].raw : 0);
    return raw;
  }

  EnergyReading reading(std::string domain, double joules, double seconds) const {
    EnergyReading r;
    r.domain = std::move(domain);
    r.joules = joules;
    r.average_watts = seconds > 0 ? joules / seconds : 0;
    r.method = "measured:rapl";
    return r;
  }

  std::vector<EnergyReading> readings(const std::vector<uint64_t>& now,
                                      const std::vector<uint64_t>& before, double seconds) const {
    std::vector<EnergyReading> out;
    double package_sum = 0;
    for (size_t i = 0; i < events_.size(); ++i) {
      uint64_t delta = now[i] >= before[i] ? now[i] - before[i] : 0;
      double joules = double(delta) * events_[i].spec.scale;
      if (events_[i].kind == "package") package_sum += joules;
      out.push_back(reading(events_[i].domain, joules, seconds));
    }
    if (packages_.size() > 1) out.push_back(reading("package", package_sum, seconds));
    return out;
  }

  std::unique_ptr<Counters> counters_;
  std::vector<PowerPmuEvent> events_;
  std::vector<size_t> slots_;  // index into counters_->read() for each event
  std::vector<std::string> notes_;
  std::vector<size_t> packages_;
  std::vector<uint64_t> baseline_;
  std::vector<uint64_t> at_interval_;
  std::vector<uint64_t> marked_raw_;    // mark_interval: slots_.size() raw counts per interval
  std::vector<double> marked_seconds_;  // and each interval's length
  Clock::time_point started_;
  Clock::time_point last_interval_;
};

std::vector<std::string> describe_domains(const std::vector<PowerPmuEvent>& events) {
  std::vector<std::string> notes;
  std::vector<std::string> packages;
  bool parts = false, psys = false;
  for (const auto& e : events) {
    if (e.kind == "package") packages.push_back(e.domain);
    parts = parts || e.kind == "core" || e.kind == "gpu";
    psys = psys || e.kind == "psys";
  }
  // Intel SDM vol. 3B, "RAPL Interfaces": PP0 (cores) and PP1 (graphics) are parts of the package
  // domain; DRAM is outside it; the platform domain (psys) covers the whole SoC platform.
  if (parts)
    notes.push_back(
        "core and gpu energy are parts of their package's energy: never add them to it");
  if (packages.size() > 1) {
    std::string list;
    for (const auto& p : packages) list += (list.empty() ? "" : ", ") + p;
    notes.push_back("package is the sum of " + list + " (DRAM not included)");
  }
  if (psys)
    notes.push_back(
        "psys is the platform domain: it covers the package, graphics, DRAM and "
        "whatever else the platform firmware includes, so it is the machine total "
        "here; never add the other domains to it");
  return notes;
}

}  // namespace

bool power_pmu_present(const SysRoot& root) {
  std::error_code ec;
  return fs::is_directory(root.sys_path("bus/event_source/devices/power/events"), ec);
}

PowerPmuPlan plan_power_pmu_events(const SysRoot& root) {
  PowerPmuPlan plan;
  if (!power_pmu_present(root)) return plan;
  EventResolver resolver(root);
  fs::path dir = root.sys_path("bus/event_source/devices/power/events");
  for (const auto& [event, kind] : kPowerEvents) {
    if (!fs::exists(dir / event)) continue;
    EventSpec spec;
    std::string name = "power/" + std::string(event) + "/";
    try {
      spec = resolver.resolve(name);
    } catch (const ResolveError& e) {
      plan.notes.push_back(name + " left out: " + e.what());
      continue;
    }
    std::vector<int> cpus = spec.cpus.empty() ? std::vector<int>{0} : spec.cpus;
    auto packages = packages_of(root, cpus, plan.notes);
    // psys is one platform counter; every package's copy would read the same MSR.
    size_t copies = kind == "psys" ? 1 : cpus.size();
    for (size_t i = 0; i < copies; ++i) {
      PowerPmuEvent e;
      e.kind = std::string(kind);
      e.package = packages[i];
      e.domain = rapl_domain_name(kind, packages[i], int(cpus.size()));
      e.spec = spec;
      e.spec.cpus = {cpus[i]};
      e.spec.cpu_wide_only = true;
      plan.events.push_back(std::move(e));
    }
  }
  return plan;
}

PowerChoice open_rapl_perf_source(const SysRoot& root) {
  PowerChoice choice;
  if (!power_pmu_present(root)) {
    choice.reason_if_none =
        "no perf power PMU (" + root.sys_path("bus/event_source/devices/power").string() + ")";
    return choice;
  }
  PowerPmuPlan plan;
  try {
    plan = plan_power_pmu_events(root);
  } catch (const std::exception& e) {
    choice.reason_if_none = std::string("perf power PMU: ") + e.what();
    return choice;
  }
  if (plan.events.empty()) {
    choice.reason_if_none = "perf power PMU lists no energy event";
    return choice;
  }
  std::vector<EventGroup> groups;
  for (const auto& e : plan.events) groups.push_back(EventGroup{{e.spec}, false});
  auto counters = make_perf_event_counters(std::move(groups), root);
  Target target;
  target.kind = Target::Kind::system_wide;
  counters->open(target);
  auto counts = counters->read();
  std::vector<PowerPmuEvent> usable;
  std::vector<size_t> slots;
  std::string package_failure;
  for (size_t i = 0; i < plan.events.size() && i < counts.size(); ++i) {
    const auto& c = counts[i];
    // Before enable() an opened event reads as never enabled; a failed one keeps its errno reason.
    bool opened = c.status != EventStatus::not_supported &&
                  c.status != EventStatus::permission_denied &&
                  c.reason != "no counter was opened for it";
    if (!opened) {
      if (plan.events[i].kind == "package" && package_failure.empty())
        package_failure = plan.events[i].spec.name + ": " + c.reason;
      plan.notes.push_back(plan.events[i].domain + " (" + plan.events[i].spec.name +
                           ") left out: " + c.reason);
      continue;
    }
    usable.push_back(plan.events[i]);
    slots.push_back(i);
  }
  // A package or the platform (psys) domain stands for the machine; a VM may expose psys alone.
  bool covers_machine = std::any_of(usable.begin(), usable.end(), [](const PowerPmuEvent& e) {
    return e.kind == "package" || e.kind == "psys";
  });
  if (!covers_machine) {
    choice.reason_if_none =
        "perf power PMU events do not open: " +
        (package_failure.empty() ? std::string("no energy-pkg or energy-psys event")
                                 : package_failure);
    return choice;
  }
  auto notes = plan.notes;
  for (auto& n : describe_domains(usable)) notes.push_back(std::move(n));
  for (auto& n : counters->notes()) notes.push_back(std::move(n));
  choice.source = std::make_unique<RaplPerfSource>(std::move(counters), std::move(usable),
                                                   std::move(slots), std::move(notes));
  return choice;
}

std::unique_ptr<PowerSource> make_rapl_perf_source(std::unique_ptr<Counters> counters,
                                                   std::vector<PowerPmuEvent> events,
                                                   std::vector<size_t> slots) {
  return std::make_unique<RaplPerfSource>(std::move(counters), std::move(events), std::move(slots),
                                          std::vector<std::string>{});
}

}  // namespace pmc
