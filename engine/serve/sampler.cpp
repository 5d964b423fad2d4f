#include "engine/serve/sampler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "engine/counting/perf_event.h"
#include "engine/power/energy_accounting.h"
#include "engine/power/power_source.h"
#include "engine/power/powercap.h"
#include "engine/system/fd.h"
#include "engine/system/proc_stat.h"
#include "events/document/energy_basis.h"
#include "events/names/resolver.h"

namespace pmc::serve {

namespace {

using Clock = std::chrono::steady_clock;

// The cgroup counters' events, in the order of their metric families.
constexpr const char* kCgroupEvents[] = {"instructions", "cycles", "cache-misses"};
constexpr const char* kCgroupFamilies[] = {"pmcmodel_cgroup_instructions", "pmcmodel_cgroup_cycles",
                                           "pmcmodel_cgroup_cache_misses"};
constexpr const char* kCgroupHelp[] = {
    "Instructions retired by the cgroup's tasks (perf_event in cgroup mode)",
    "CPU cycles of the cgroup's tasks (perf_event in cgroup mode)",
    "Cache misses of the cgroup's tasks (perf_event in cgroup mode)"};

struct EnergyKey {
  std::string domain;
  std::string method;
  auto operator<=>(const EnergyKey&) const = default;
};

struct EnergyTotal {
  double joules = 0;
  double watts = 0;
};

struct FollowedCgroup {
  Fd cpu_stat;
  std::optional<double> usage_s;  // cpu.stat usage_usec at the last sample
  std::unique_ptr<Counters> counters;
  std::vector<EventCount> counts;
  std::map<EnergyKey, double> joules;  // attributed since the cgroup was first seen
};

std::optional<double> read_usage_s(const Fd& fd) {
  char buf[1024];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  return parse_cgroup_usage_usec(std::string_view(buf, size_t(n)));
}

// The cgroup v2 path of a process ("/system.slice/a.service"), from the "0::" line of
// <proc>/PID/cgroup; nullopt when the process is gone or has no v2 line.
std::optional<std::string> cgroup_of(const SysRoot& root, unsigned pid) {
  std::ifstream in(root.proc_path(std::to_string(pid) + "/cgroup"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return std::nullopt;
}

// Whether `fd` (a followed cgroup's cpu.stat) is still the file at `path`: false once the cgroup
// was removed and made again under the same name (a restarted service), whose old file only
// answers ENODEV (kernfs) or, in a fixture tree, its last content. The old file is held open, so
// the new one cannot have its inode number.
bool still_at(const Fd& fd, const std::filesystem::path& path) {
  struct stat open_file {
  }, named{};
  if (::fstat(fd.get(), &open_file) != 0 || ::stat(path.c_str(), &named) != 0) return false;
  return open_file.st_ino == named.st_ino && open_file.st_dev == named.st_dev;
}

// Whether cgroup path `path` is `followed` or below it (a parent's cgroup holds its children's
// processes, as its cpu.stat counts their time).
bool within(const std::string& path, const std::string& followed) {
  return path == followed ||
         (path.size() > followed.size() && path.compare(0, followed.size(), followed) == 0 &&
          path[followed.size()] == '/');
}

Sample labelled(std::vector<std::pair<std::string, std::string>> labels, double value) {
  return Sample{std::move(labels), value};
}

}  // namespace

struct Sampler::State {
  SysRoot root;
  SamplerSettings settings;

  std::unique_ptr<PowerSource> power;
  std::unique_ptr<GpuSource> gpu;
  std::vector<EnergyReading> gpu_readings;  // the last interval's, one per GPU
  std::vector<GpuProcesses> gpu_processes;  // at the last sample
  std::vector<GpuActivity> gpu_activity;
  std::vector<std::string> gpu_sources;     // the GPU libraries that read a GPU at start
  std::set<std::string> gpu_unread;         // GPUs whose energy failed at the last sample
  std::set<std::string> gpu_watts_unknown;  // ... at this sample or the last
  ProcStatReader proc_stat;
  std::optional<CpuTimes> last_cpu;
  std::optional<std::filesystem::path> cgroup_root;
  std::vector<EventGroup> cgroup_groups;  // empty when the PMU cannot count for cgroups
  std::map<std::string, FollowedCgroup> cgroups;
  std::unique_ptr<Counters> machine_counters;
  std::vector<EventCount> machine_last;

  std::map<EnergyKey, EnergyTotal> energy;
  std::vector<EnergyKey> energy_order;  // first-seen order, for a stable exposition
  std::map<std::string, std::pair<bool, std::string>> sources;  // up, reason when down
  std::vector<std::string> source_order;
  uint64_t samples = 0;
  std::optional<Clock::time_point> last_time;
  bool powercap_was_down = false;       // at the last sample
  bool powercap_watts_unknown = false;  // down at this sample or the last

  mutable std::mutex snapshot_mutex;
  std::shared_ptr<const Snapshot> snapshot = std::make_shared<Snapshot>();

  std::mutex run_mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  State(SysRoot r, SamplerSettings s)
      : root(std::move(r)), settings(std::move(s)), proc_stat(root.proc_path("stat").string()) {}

  void set_source(const std::string& name, bool up, const std::string& reason) {
    auto [it, inserted] = sources.try_emplace(name, up, reason);
    if (inserted) source_order.push_back(name);
    bool changed = inserted || it->second.first != up || it->second.second != reason;
    it->second = {up, reason};
    if (changed && settings.log) settings.log(name + (up ? ": up" : ": down: " + reason));
  }

  void open_power() {
    PowerChoice choice = open_powercap_source(root);
    if (choice.source) {
      power = std::move(choice.source);
      power->start();
      set_source("powercap", true, "");
    } else {
      set_source("powercap", false, choice.reason_if_none);
    }
  }

  // No library at all is a machine without that vendor's GPUs: said once in the log, no
  // source. A library that loads but cannot read a GPU is a source that is down.
  void open_gpus() {
    if (settings.gpus.kind == GpuSelection::Kind::none) return;
    GpuSources choice = open_gpu_sources(settings.gpus);
    // GPUs named by index that no library reads would be exported as nothing, silently: a
    // server that exports what it was asked for or does not start.
    if (settings.gpus.kind == GpuSelection::Kind::list && !choice.source)
      throw std::invalid_argument(
          fmt::format("--gpus: GPU {} asked for, but no GPU library reads a GPU here ({})",
                      settings.gpus.indices.front(), choice.reason_if_none));
    for (const auto& lib : choice.libraries) {
      for (const auto& note : lib.notes)
        if (settings.log) settings.log(lib.name + ": " + note);
      if (lib.up) {
        set_source(lib.name, true, "");
        gpu_sources.push_back(lib.name);
      } else if (lib.library_found)
        set_source(lib.name, false, lib.reason);
      else if (settings.log)
        settings.log(lib.name + ": not used: " + lib.reason);
    }
    if (choice.source) {
      gpu = std::move(choice.source);
      gpu->start();
    }
  }

  void sample_gpus() {
    gpu_readings.clear();
    if (!gpu) return;
    gpu->sample();  // utilisation and SM clock at this instant
    for (auto& r : gpu->read_interval())
      if (r.scope == EnergyScope::machine) gpu_readings.push_back(std::move(r));
    gpu_activity = gpu->last_activity();
    gpu_processes = gpu->read_processes();
    for (const auto& r : gpu_readings) add_energy(r);
    // A GPU whose energy did not answer (fallen off the bus, a driver reset) has stood still
    // this interval: its library is down and its power unknown, as powercap's counters are; the
    // interval in which it answers again holds the whole outage's energy, so no power then
    // either.
    std::set<std::string> unread;
    std::map<std::string, std::string> why;
    for (const auto& p : gpu->read_problems()) {
      unread.insert(p.domain);
      auto& w = why[p.source];
      w += (w.empty() ? "" : "; ") + p.domain + ": " + p.problem;
    }
    for (const auto& name : gpu_sources) {
      auto it = why.find(name);
      set_source(name, it == why.end(), it == why.end() ? "" : it->second);
    }
    gpu_watts_unknown = unread;
    gpu_watts_unknown.insert(gpu_unread.begin(), gpu_unread.end());
    gpu_unread = std::move(unread);
  }

  void open_cgroups() {
    if (settings.cgroups.patterns.empty()) return;
    cgroup_root = find_cgroup2_root(root.sys);
    if (!cgroup_root) {
      set_source("cgroups", false,
                 "no cgroup v2 hierarchy at " + root.sys_path("fs/cgroup").string() +
                     " (cgroup.controllers not found); per-cgroup metrics need cgroup v2");
      return;
    }
    set_source("cgroups", true, "");
    if (!settings.cgroup_counters) return;
    if (int err = probe_hardware_counters(); err != 0) {
      set_source("perf", false,
                 std::string("no hardware counters for this process (") + std::strerror(err) +
                     "): a VM without a virtual PMU, or perf_event_paranoid/CAP_PERFMON; the "
                     "cgroup instruction, cycle and cache-miss counters are not exported");
      return;
    }
    try {
      EventResolver resolver(root);
      cgroup_groups = resolver.resolve_list("{instructions,cycles,cache-misses}");
      set_source("perf", true, "");
    } catch (const std::exception& e) {
      set_source("perf", false, e.what());
    }
  }

  void open_machine_counters() {
    if (settings.machine_events.empty()) return;
    std::string list;
    for (const auto& e : settings.machine_events) list += (list.empty() ? "" : ",") + e;
    try {
      EventResolver resolver(root);
      machine_counters = make_perf_event_counters(resolver.resolve_list(list), root);
      Target t;
      t.kind = Target::Kind::system_wide;
      machine_counters->open(t);
      machine_counters->enable();
      machine_last = machine_counters->read();
    } catch (const std::exception& e) {
      machine_counters.reset();
      if (settings.log) settings.log(std::string("machine counters for the models: ") + e.what());
    }
  }

  void follow(const std::string& rel, FollowedCgroup& cg) {
    std::filesystem::path dir = *cgroup_root / rel.substr(1);
    cg.cpu_stat.reset(::open((dir / "cpu.stat").c_str(), O_RDONLY | O_CLOEXEC));
    cg.usage_s = cg.cpu_stat ? read_usage_s(cg.cpu_stat) : std::nullopt;
    if (cgroup_groups.empty()) return;
    try {
      cg.counters = make_perf_event_counters(cgroup_groups, root);
      Target t;
      t.kind = Target::Kind::cgroup;
      t.cgroup_path = dir.string();
      cg.counters->open(t);
      cg.counters->enable();
    } catch (const std::exception& e) {
      cg.counters.reset();
      set_source("perf", false, "cgroup " + rel + ": " + e.what());
    }
  }

  void add_energy(const EnergyReading& r) {
    EnergyKey key{r.domain, r.method};
    auto [it, inserted] = energy.try_emplace(key);
    if (inserted) energy_order.push_back(key);
    it->second.joules += r.joules;
    it->second.watts = r.average_watts;
  }

  std::vector<EnergyReading> sample_energy(double seconds) {
    std::vector<EnergyReading> readings;
    if (power) {
      bool up = false;
      try {
        readings = power->read_interval();
        std::string problem = power->read_problem();
        // A counter that cannot be read adds nothing now, and its advance from its last good
        // read when it reads again; the counters that were read add theirs, which dropping
        // them would lose for good.
        up = problem.empty();
        set_source("powercap", up, problem);
      } catch (const std::exception& e) {
        set_source("powercap", false, e.what());
      }
      // The first interval after a counter comes back holds the energy of all the time it was
      // down: its average over one interval is no power, and is not exported either.
      powercap_watts_unknown = !up || powercap_was_down;
      powercap_was_down = !up;
    }
    for (const auto& r : readings) add_energy(r);
    if (!settings.estimators.empty() && seconds > 0) {  // the first sample is a baseline
      Measurement m;
      m.duration_s = seconds;
      m.energy = readings;
      if (machine_counters) {
        auto now = machine_counters->read();
        for (size_t i = 0; i < now.size() && i < machine_last.size(); ++i) {
          EventCount d = now[i];
          d.value = now[i].value - machine_last[i].value;
          d.raw = now[i].raw - machine_last[i].raw;
          m.events.push_back(std::move(d));
        }
        machine_last = std::move(now);
      }
      for (const auto& est : settings.estimators) {
        Estimate e = est.estimate(m);
        set_source(est.name, !e.energy.empty(), e.reason_if_none);
        for (auto& r : e.energy) {
          if (r.average_watts == 0 && seconds > 0) r.average_watts = r.joules / seconds;
          add_energy(r);
          readings.push_back(r);
        }
      }
    }
    return readings;
  }

  void sample_cgroups(const std::vector<EnergyReading>& readings, double busy_s) {
    if (!cgroup_root) return;
    auto now = expand_cgroups(*cgroup_root, settings.cgroups);
    auto process_cgroups = gpu_process_cgroups();
    for (auto it = cgroups.begin(); it != cgroups.end();) {
      if (std::binary_search(now.begin(), now.end(), it->first))
        ++it;
      else
        it = cgroups.erase(it);  // vanished: its counters close with it
    }
    for (const auto& rel : now) {
      auto [it, inserted] = cgroups.try_emplace(rel);
      FollowedCgroup& cg = it->second;
      // Removed and made again since the last sample (a service restarted within an interval):
      // a new cgroup, followed anew as one that appears, not read through the old one's files.
      if (!inserted && cg.cpu_stat &&
          !still_at(cg.cpu_stat, *cgroup_root / rel.substr(1) / "cpu.stat")) {
        cg = FollowedCgroup{};
        inserted = true;
      }
      if (inserted) {
        follow(rel, cg);
        continue;  // its baseline: nothing to attribute yet
      }
      std::optional<double> usage = cg.cpu_stat ? read_usage_s(cg.cpu_stat) : std::nullopt;
      if (usage && cg.usage_s && busy_s > 0) {
        double share = std::clamp((*usage - *cg.usage_s) / busy_s, 0.0, 1.0);
        for (const auto& r : readings) {
          if (r.scope != EnergyScope::machine || is_gpu_card_domain(r.domain)) continue;
          cg.joules[EnergyKey{r.domain, r.method + "+share:busy-cpu"}] += r.joules * share;
        }
      }
      attribute_gpus(rel, cg, process_cgroups);
      if (usage) cg.usage_s = usage;
      if (cg.counters) cg.counters->read_into(cg.counts);
    }
  }

  // The cgroup of every process a GPU library listed on a GPU or sampled there.
  std::map<unsigned, std::string> gpu_process_cgroups() const {
    std::map<unsigned, std::string> out;
    auto add = [&](unsigned pid) {
      if (out.count(pid)) return;
      if (auto path = cgroup_of(root, pid)) out[pid] = *path;
    };
    for (const auto& p : gpu_processes) {
      for (unsigned pid : p.pids) add(pid);
      for (const auto& [pid, use] : p.use) add(pid);
    }
    return out;
  }

  // measure's rule for a command's share of a GPU (command_share, engine/power/gpu_source.h),
  // with the cgroup's processes as the command.
  void attribute_gpus(const std::string& rel, FollowedCgroup& cg,
                      const std::map<unsigned, std::string>& process_cgroups) {
    auto mine = [&](unsigned pid) {
      auto it = process_cgroups.find(pid);
      return it != process_cgroups.end() && within(it->second, rel);
    };
    for (const auto& r : gpu_readings) {
      auto p = std::find_if(gpu_processes.begin(), gpu_processes.end(),
                            [&](const GpuProcesses& g) { return g.domain == r.domain; });
      if (p == gpu_processes.end() || p->split == nullptr) continue;
      if (auto share = command_share(process_window(*p, mine), r, *p->split, nullptr))
        cg.joules[EnergyKey{r.domain, share->method}] += share->joules;
    }
  }

  void sample() {
    ++samples;
    auto t = Clock::now();
    double seconds = last_time ? std::chrono::duration<double>(t - *last_time).count() : 0;
    last_time = t;
    auto readings = sample_energy(seconds);
    sample_gpus();
    double busy_s = 0;
    if (auto cpu = proc_stat.read()) {
      if (last_cpu) busy_s = cpu->busy_s - last_cpu->busy_s;
      last_cpu = cpu;
      set_source("procstat", true, "");
    } else {
      set_source("procstat", false,
                 "cannot read " + root.proc_path("stat").string() +
                     ": no machine CPU time, so no energy is attributed to cgroups");
    }
    sample_cgroups(readings, busy_s);
    publish();
  }
  void publish() {
    auto snap = std::make_shared<Snapshot>();
    snap->samples = samples;
    auto& f = snap->families;
    f.push_back({"pmcmodel_build_info",
                 MetricType::gauge,
                 "",
                 "pmcmodel's version; always 1",
                 {labelled({{"version", settings.version}}, 1)}});
    MetricFamily up{"pmcmodel_source_up",
                    MetricType::gauge,
                    "",
                    "1 when the source was read at the last sample, 0 when it is down (the "
                    "reason is in the log)",
                    {}};
    for (const auto& name : source_order)
      up.samples.push_back(labelled({{"source", name}}, sources[name].first ? 1 : 0));
    f.push_back(std::move(up));
    MetricFamily joules{"pmcmodel_energy_joules",
                        MetricType::counter,
                        "joules",
                        "Energy per domain since pmcmodel started, across counter wraps; "
                        "method says whether it is measured or a model's estimate",
                        {}};
    MetricFamily watts{"pmcmodel_power_watts",
                       MetricType::gauge,
                       "watts",
                       "Average power per domain over the last sampling interval",
                       {}};
    // A domain of powercap while it is down (and at the sample it comes back) has no power to
    // show: its series is left out (stale in Prometheus) rather than exported as the last watts,
    // 0, or the energy of the whole outage over one interval.
    bool powercap_down = power && powercap_watts_unknown;
    for (const auto& key : energy_order) {
      const auto& e = energy[key];
      joules.samples.push_back(
          labelled({{"domain", key.domain}, {"method", key.method}}, e.joules));
      if (!(powercap_down && key.method == power->method()) && !gpu_watts_unknown.count(key.domain))
        watts.samples.push_back(
            labelled({{"domain", key.domain}, {"method", key.method}}, e.watts));
    }
    f.push_back(std::move(joules));
    f.push_back(std::move(watts));
    if (gpu) publish_gpus(f);
    publish_cgroups(f);
    std::lock_guard lock(snapshot_mutex);
    snapshot = std::move(snap);
  }

  void publish_gpus(std::vector<MetricFamily>& f) {
    MetricFamily util{
        "pmcmodel_gpu_utilization_ratio",
        MetricType::gauge,
        "ratio",
        "Fraction of the last sample period in which a kernel ran on the GPU "
        "(nvmlDeviceGetUtilizationRates; AMD: amdsmi_get_gpu_activity's gfx_activity), 0 to 1",
        {}};
    MetricFamily clock{
        "pmcmodel_gpu_sm_clock_hertz",
        MetricType::gauge,
        "hertz",
        "The GPU's SM (AMD: graphics) clock at the last sample (nvmlDeviceGetClockInfo, "
        "amdsmi_get_clock_info)",
        {}};
    for (const auto& a : gpu_activity) {
      std::string index = std::to_string(a.index);
      if (a.util_pct) util.samples.push_back(labelled({{"gpu", index}}, *a.util_pct / 100));
      if (a.sm_clock_mhz)
        clock.samples.push_back(labelled({{"gpu", index}}, *a.sm_clock_mhz * 1e6));
    }
    f.push_back(std::move(util));
    f.push_back(std::move(clock));
  }

  void publish_cgroups(std::vector<MetricFamily>& f) {
    MetricFamily cpu{"pmcmodel_cgroup_cpu_seconds",
                     MetricType::counter,
                     "seconds",
                     "CPU time of the cgroup's tasks (cpu.stat usage_usec)",
                     {}};
    MetricFamily joules{"pmcmodel_cgroup_energy_joules",
                        MetricType::counter,
                        "joules",
                        "Energy attributed to the cgroup since it was first seen: each "
                        "interval's energy times the cgroup's share of the machine's busy CPU "
                        "time, or of a GPU by its processes there (method says which)",
                        {}};
    std::vector<MetricFamily> counters;
    for (size_t i = 0; i < std::size(kCgroupEvents); ++i)
      counters.push_back({kCgroupFamilies[i], MetricType::counter, "", kCgroupHelp[i], {}});
    for (const auto& [rel, cg] : cgroups) {
      if (cg.usage_s) cpu.samples.push_back(labelled({{"cgroup", rel}}, *cg.usage_s));
      for (const auto& [key, j] : cg.joules)
        joules.samples.push_back(
            labelled({{"cgroup", rel}, {"domain", key.domain}, {"method", key.method}}, j));
      for (const auto& c : cg.counts) {
        if (!c.counted()) continue;
        for (size_t i = 0; i < std::size(kCgroupEvents); ++i)
          if (c.name == kCgroupEvents[i])
            counters[i].samples.push_back(labelled({{"cgroup", rel}}, c.value));
      }
    }
    f.push_back(std::move(cpu));
    f.push_back(std::move(joules));
    if (!cgroup_groups.empty())
      for (auto& c : counters) f.push_back(std::move(c));
  }

  void run() {
    auto period = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(settings.interval_s));
    auto next = Clock::now() + period;
    std::unique_lock lock(run_mutex);
    while (!wake.wait_until(lock, next, [&] { return stopping; })) {
      lock.unlock();
      sample();
      lock.lock();
      next += period;
      auto now = Clock::now();
      if (next < now) next = now + period;  // fell behind (suspended): no burst of samples
    }
  }
};

Sampler::Sampler(SysRoot root, SamplerSettings settings)
    : state_(std::make_unique<State>(std::move(root), std::move(settings))) {
  state_->open_power();
  state_->open_gpus();
  state_->open_cgroups();
  state_->open_machine_counters();
}

Sampler::~Sampler() {
  stop();
}

void Sampler::start() {
  sample_once();
  state_->thread = std::thread([s = state_.get()] { s->run(); });
}

void Sampler::stop() {
  {
    std::lock_guard lock(state_->run_mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

std::shared_ptr<const Snapshot> Sampler::snapshot() const {
  std::lock_guard lock(state_->snapshot_mutex);
  return state_->snapshot;
}

void Sampler::sample_once() {
  state_->sample();
}

}  // namespace pmc::serve
