#include "engine/counting/papi_counters.h"

#include "engine/counting/papi_library.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace pmc {
namespace {

constexpr const char* kComponent = "perf_event";
// PAPI_attach and PAPI_set_multiplex first test-open PERF_COUNT_HW_INSTRUCTIONS (check_permissions
// in PAPI's components/perf_event/perf_event.c); a kernel without a PMU answers ENOENT, which
// PAPI reports as "Event does not exist" whatever events were asked for.
constexpr const char* kHardwareProbe =
    " (PAPI tests with a hardware instructions counter, which the kernel refused: no PMU?)";

// perf software events that count nanoseconds (linux/perf_event.h PERF_COUNT_SW_*_CLOCK).
std::string unit_of(const std::string& name) {
  std::string upper;
  for (char c : name) upper += char(std::toupper(static_cast<unsigned char>(c)));
  for (const char* clock : {"PERF::TASK-CLOCK", "PERF::CPU-CLOCK"}) {
    std::string prefix = clock;
    if (upper.compare(0, prefix.size(), prefix) == 0 &&
        (upper.size() == prefix.size() || upper[prefix.size()] == ':'))
      return "ns";
  }
  return "";
}

struct PapiEvent {
  std::string name;
  EventStatus status = EventStatus::not_counted;
  std::string reason;
  bool failed = false;  // status and reason are final
  long long total = 0;  // summed over event sets and over stopped enable/disable spans
};

// One PAPI event set: the target task, or one CPU of a system-wide run.
struct EventSet {
  int id = PAPI_NULL;
  std::vector<int> position;  // per requested event: its index in PAPI's values, -1 if not added
  int added = 0;
};

// A step that failed while building an event set: every event not yet failed inherits it.
struct SetupFailure {
  std::string what;
  int code = PAPI_OK;
  std::string hint = "";  // appended to PAPI's error text: what it means here
};

class PapiCounters final : public Counters {
 public:
  PapiCounters(std::vector<std::string> names, std::shared_ptr<const PapiLibrary> library)
      : library_(std::move(library)) {
    for (auto& n : names) {
      PapiEvent e;
      e.name = std::move(n);
      events_.push_back(std::move(e));
    }
    if (!library_->api()) {
      fail_all(EventStatus::not_supported, "PAPI not available: " + library_->load_error());
      return;
    }
    api_ = library_->api();
    if (const auto& error = library_->initialize(); !error.empty()) throw std::runtime_error(error);
    locate_component();
    notes_.push_back(
        "PAPI backend: multiplexed counts are scaled by PAPI; time_enabled and "
        "time_running are the real time counted");
  }

  ~PapiCounters() override {
    if (!api_) return;
    for (auto& set : sets_) {
      if (running_) {
        std::vector<long long> values(size_t(std::max(set.added, 1)));
        api_->stop(set.id, values.data());
      }
      api_->cleanup_eventset(set.id);
      api_->destroy_eventset(&set.id);
    }
  }

  void open(const Target& target) override {
    if (!api_) return;
    if (target.kind == Target::Kind::cgroup) {
      fail_all(EventStatus::not_supported,
               "PAPI cannot count a cgroup; use --backend perf_event for -G");
      return;
    }
    check_names();
    if (component_index_ < 0) {
      fail_all(EventStatus::not_supported, std::string("PAPI has no ") + kComponent + " component");
      return;
    }
    if (!component_disabled_.empty()) {
      fail_all(EventStatus::not_supported, "PAPI cannot count here: " + component_disabled_text());
      return;
    }
    if (std::all_of(events_.begin(), events_.end(), [](const PapiEvent& e) { return e.failed; }))
      return;
    switch (target.kind) {
      case Target::Kind::command:
      case Target::Kind::pid:
        open_task(target);
        break;
      case Target::Kind::system_wide:
        open_cpus(target.cpus);
        break;
      case Target::Kind::cgroup:
        return;
    }
    if (target.kind == Target::Kind::command) {
      // The child waits on a pipe before exec, so it runs nothing while counting starts here;
      // the session's enable() just before releasing it is then a no-op. PAPI has no
      // enable_on_exec: the child's few instructions between its release and exec are counted.
      enable();
      notes_.push_back(
          "PAPI backend: counting starts before the command's exec (PAPI has no "
          "enable_on_exec), so a few instructions of the launcher are counted");
    }
  }

  void enable() override {
    if (!api_ || running_ || sets_.empty()) return;
    for (auto& set : sets_) {
      if (int r = api_->start(set.id); r != PAPI_OK) fail_set(set, SetupFailure{"PAPI_start", r});
    }
    started_ = true;
    running_ = true;
    start_ns_ = api_->get_real_nsec();
  }

  void disable() override {
    if (!api_ || !running_) return;
    for (auto& set : sets_) {
      std::vector<long long> values(size_t(std::max(set.added, 1)));
      if (int r = api_->stop(set.id, values.data()); r != PAPI_OK) {
        fail_set(set, SetupFailure{"PAPI_stop", r});
        continue;
      }
      accumulate(set, values);
    }
    elapsed_ns_ += api_->get_real_nsec() - start_ns_;
    running_ = false;
  }

  std::vector<EventCount> read() override {
    std::vector<long long> running_totals(events_.size(), 0);
    long long elapsed = elapsed_ns_;
    if (running_) {
      for (auto& set : sets_) {
        std::vector<long long> values(size_t(std::max(set.added, 1)));
        if (int r = api_->read(set.id, values.data()); r != PAPI_OK) {
          fail_set(set, SetupFailure{"PAPI_read", r});
          continue;
        }
        for (size_t i = 0; i < events_.size(); ++i)
          if (set.position[i] >= 0) running_totals[i] += values[size_t(set.position[i])];
      }
      elapsed += api_->get_real_nsec() - start_ns_;
    }
    std::vector<EventCount> counts;
    counts.reserve(events_.size());
    for (size_t i = 0; i < events_.size(); ++i)
      counts.push_back(count_of(i, running_totals[i], elapsed));
    return counts;
  }

  std::vector<std::string> notes() const override { return notes_; }

 private:
  EventCount count_of(size_t i, long long running_total, long long elapsed_ns) const {
    const auto& e = events_[i];
    EventCount c;
    c.name = e.name;
    c.pmu = component_name_.empty() ? "papi" : component_name_;
    c.unit = unit_of(e.name);
    if (e.failed) {
      c.status = e.status;
      c.reason = e.reason;
      return c;
    }
    if (!started_) {
      c.status = EventStatus::not_counted;
      c.reason = "the PAPI event set was never started";
      return c;
    }
    long long value = e.total + running_total;
    c.raw = value < 0 ? 0 : uint64_t(value);
    c.value = double(c.raw);
    // PAPI scales multiplexed counts itself and hides enabled/running times: both are the
    // real time counted, so running_fraction() is 1 and nothing scales the value again.
    c.time_enabled_ns = c.time_running_ns = elapsed_ns < 0 ? 0 : uint64_t(elapsed_ns);
    c.status = EventStatus::counted;
    return c;
  }

  void locate_component() {
    component_index_ = api_->get_component_index(kComponent);
    if (component_index_ < 0) return;
    const PAPI_component_info_t* info = api_->get_component_info(component_index_);
    if (!info) return;
    component_name_ = info->name;
    if (info->disabled != 0)
      component_disabled_ =
          info->disabled_reason[0] ? info->disabled_reason : library_->error_text(info->disabled);
  }

  // Why PAPI disabled its perf_event component, and what to do: PAPI disables it when libpfm4
  // finds no core PMU ("Unknown processor"), as in a VM without a virtual PMU, while the
  // default backend still counts the kernel's software events there.
  std::string component_disabled_text() const {
    return std::string(kComponent) + " component disabled: " + component_disabled_ +
           " (PAPI needs a CPU whose counters libpfm4 recognises; pmcmodel doctor shows what this "
           "machine has): use --backend perf_event for the software events (task-clock, "
           "page-faults), or run where hardware counters are exposed";
  }

  std::string reason_for(const std::string& what, int code, const std::string& hint = "") const {
    std::string reason = what + ": " + library_->error_text(code) + hint;
    return component_disabled_.empty() ? reason : reason + "; " + component_disabled_text();
  }

  static EventStatus status_for(int code) {
    return code == PAPI_EPERM ? EventStatus::permission_denied : EventStatus::not_supported;
  }

  void fail(PapiEvent& e, EventStatus status, std::string reason) {
    if (e.failed) return;
    e.failed = true;
    e.status = status;
    e.reason = std::move(reason);
  }

  void fail_all(EventStatus status, const std::string& reason) {
    for (auto& e : events_) fail(e, status, reason);
  }

  void fail_set(EventSet& set, const SetupFailure& failure) {
    for (size_t i = 0; i < events_.size(); ++i)
      if (set.position[i] >= 0)
        fail(events_[i], status_for(failure.code), reason_for(failure.what, failure.code));
  }

  // Names PAPI does not know fail on their own, with the name in the reason.
  void check_names() {
    for (auto& e : events_) {
      int code = 0;
      if (int r = api_->event_name_to_code(e.name.c_str(), &code); r != PAPI_OK)
        fail(e, EventStatus::not_supported,
             reason_for("PAPI does not know event '" + e.name + "'", r));
    }
  }

  std::optional<SetupFailure> create_set(EventSet& set) {
    set.position.assign(events_.size(), -1);
    if (int r = api_->create_eventset(&set.id); r != PAPI_OK)
      return SetupFailure{"PAPI_create_eventset", r};
    if (int r = api_->assign_eventset_component(set.id, component_index_); r != PAPI_OK)
      return SetupFailure{"PAPI_assign_eventset_component", r};
    return std::nullopt;
  }

  // Multiplexing lets more events than counters share the set; without it they fail to add.
  void allow_multiplexing(EventSet& set) {
    if (int r = api_->set_multiplex(set.id); r != PAPI_OK && !multiplex_noted_) {
      multiplex_noted_ = true;
      notes_.push_back("PAPI backend: multiplexing not available: " + library_->error_text(r) +
                       (r == PAPI_ENOEVNT ? kHardwareProbe : "") +
                       "; events beyond the hardware counters cannot be added");
    }
  }

  void add_events(EventSet& set) {
    for (size_t i = 0; i < events_.size(); ++i) {
      auto& e = events_[i];
      if (e.failed) continue;
      if (int r = api_->add_named_event(set.id, e.name.c_str()); r != PAPI_OK) {
        fail(e, status_for(r), reason_for("PAPI cannot add " + e.name, r));
        continue;
      }
      set.position[i] = set.added++;
    }
  }

  void keep_or_fail(EventSet set, const std::optional<SetupFailure>& failure) {
    if (failure) {
      for (auto& e : events_)
        fail(e, status_for(failure->code), reason_for(failure->what, failure->code, failure->hint));
      if (set.id != PAPI_NULL) {
        api_->cleanup_eventset(set.id);
        api_->destroy_eventset(&set.id);
      }
      return;
    }
    sets_.push_back(std::move(set));
  }

  void open_task(const Target& target) {
    EventSet set;
    auto failure = create_set(set);
    if (!failure && target.kind == Target::Kind::command) {
      PAPI_option_t opt{};
      opt.inherit.eventset = set.id;
      opt.inherit.inherit = PAPI_INHERIT_ALL;
      if (int r = api_->set_opt(PAPI_INHERIT, &opt); r != PAPI_OK)
        notes_.push_back("PAPI backend: inherit not supported by PAPI here (" +
                         library_->error_text(r) + "): children of the command are not counted");
    }
    if (!failure) {
      if (int r = api_->attach(set.id, static_cast<unsigned long>(target.pid)); r != PAPI_OK)
        failure = set_opt_failure("PAPI_attach to pid " + std::to_string(target.pid), r);
    }
    if (!failure) {
      allow_multiplexing(set);
      add_events(set);
    }
    keep_or_fail(std::move(set), failure);
  }

  // PAPI_set_opt's granularity, domain and CPU options run the same hardware test-open as
  // PAPI_attach (check_permissions in PAPI's perf_event.c), so ENOEVNT there means no PMU too.
  static SetupFailure set_opt_failure(std::string what, int code) {
    return SetupFailure{std::move(what), code, code == PAPI_ENOEVNT ? kHardwareProbe : ""};
  }

  std::optional<SetupFailure> bind_to_cpu(EventSet& set, int cpu) {
    PAPI_option_t opt{};
    opt.granularity.def_cidx = component_index_;
    opt.granularity.eventset = set.id;
    opt.granularity.granularity = PAPI_GRN_SYS;
    if (int r = api_->set_opt(PAPI_GRANUL, &opt); r != PAPI_OK)
      return set_opt_failure("PAPI_set_opt(PAPI_GRANUL, PAPI_GRN_SYS)", r);
    opt = {};
    opt.domain.def_cidx = component_index_;
    opt.domain.eventset = set.id;
    opt.domain.domain = PAPI_DOM_ALL;
    if (int r = api_->set_opt(PAPI_DOMAIN, &opt); r != PAPI_OK)
      return set_opt_failure("PAPI_set_opt(PAPI_DOMAIN, PAPI_DOM_ALL)", r);
    opt = {};
    opt.cpu.eventset = set.id;
    opt.cpu.cpu_num = static_cast<unsigned int>(cpu);
    if (int r = api_->set_opt(PAPI_CPU_ATTACH, &opt); r != PAPI_OK)
      return set_opt_failure("PAPI_set_opt(PAPI_CPU_ATTACH, cpu " + std::to_string(cpu) + ")", r);
    return std::nullopt;
  }

  // One event set per CPU, summed at read: a PAPI event set attaches to a single CPU.
  void open_cpus(std::vector<int> cpus) {
    if (cpus.empty())
      for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); ++c) cpus.push_back(int(c));
    for (int cpu : cpus) {
      EventSet set;
      auto failure = create_set(set);
      if (!failure) failure = bind_to_cpu(set, cpu);
      if (!failure) {
        allow_multiplexing(set);
        add_events(set);
      }
      keep_or_fail(std::move(set), failure);
      if (failure) return;
    }
  }

  void accumulate(const EventSet& set, const std::vector<long long>& values) {
    for (size_t i = 0; i < events_.size(); ++i)
      if (set.position[i] >= 0) events_[i].total += values[size_t(set.position[i])];
  }

  std::shared_ptr<const PapiLibrary> library_;
  const PapiApi* api_ = nullptr;
  std::vector<PapiEvent> events_;
  std::vector<EventSet> sets_;
  std::vector<std::string> notes_;
  int component_index_ = -1;
  std::string component_name_;
  std::string component_disabled_;
  bool multiplex_noted_ = false;
  bool started_ = false;
  bool running_ = false;
  long long start_ns_ = 0;
  long long elapsed_ns_ = 0;
};

}  // namespace

std::unique_ptr<Counters> make_papi_counters(std::vector<std::string> event_names) {
  return std::make_unique<PapiCounters>(std::move(event_names), default_papi_library());
}

std::unique_ptr<Counters> make_papi_counters(std::vector<std::string> event_names,
                                             const std::vector<std::string>& library_names) {
  return std::make_unique<PapiCounters>(std::move(event_names), papi_library(library_names));
}

PapiStatus papi_status() {
  PapiStatus status;
  auto library = default_papi_library();
  const PapiApi* api = library->api();
  if (!api) {
    status.reason = library->load_error();
    return status;
  }
  if (const auto& error = library->initialize(); !error.empty()) {
    status.reason = error;
    return status;
  }
  status.available = true;
  status.version = papi_version_text(api->get_opt(PAPI_LIB_VERSION, nullptr));
  for (int i = 0; i < api->num_components(); ++i) {
    const PAPI_component_info_t* info = api->get_component_info(i);
    if (!info) continue;
    std::string reason;
    if (info->disabled != 0)
      reason =
          info->disabled_reason[0] ? info->disabled_reason : library->error_text(info->disabled);
    status.components.emplace_back(info->name, reason);
  }
  return status;
}

}  // namespace pmc
