#include "engine/power/energy_accounting.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "engine/power/gpu_source.h"
#include "engine/power/power_source.h"
#include "engine/system/cache_sizes.h"
#include "engine/system/proc_stat.h"
#include "engine/system/quiet_thread.h"
#include "models/fleet/cpu_identity.h"
#include "models/fleet/energy_estimate.h"
#include "models/fleet/grid.h"
#include "models/fleet/power_curve.h"
#include "models/fleet/projection.h"
#include "models/fleet/sku_catalog.h"
#include "models/fleet/sku_curve.h"
#include "models/fleet/sku_suggest.h"
#include "models/shipped/shipped_tables.h"

namespace pmc {
namespace fs = std::filesystem;

namespace {

// Sampling period while a source is open: well inside the fastest RAPL wrap (65 s at 1 kW,
// engine/power/powercap.h) and "every ≤ 100 ms".
constexpr int kSampleMs = 100;

// The CPU time of the measured target from its events (task-clock or cpu-clock, msec); nullopt
// when neither was counted. A per-task clock that was never enabled in an interval (time_enabled
// advances only while the task runs) means the task did not run: 0 s, an idle interval.
std::optional<double> task_clock_s(const std::vector<EventCount>& events) {
  for (const auto& e : events) {
    if (e.name != "task-clock" && e.name != "cpu-clock") continue;
    if (e.counted()) return e.value / 1e3;
    if (e.status == EventStatus::not_counted && e.time_enabled_ns == 0 && e.raw == 0) return 0.0;
  }
  return std::nullopt;
}

std::optional<double> instructions(const std::vector<EventCount>& events) {
  for (const auto& e : events)
    if ((e.name == "instructions" || e.name == "PAPI_TOT_INS") && e.counted()) return e.value;
  return std::nullopt;
}

std::string percent(double fraction) {
  return fmt::format("{:.1f}%", fraction * 100);
}

// A RAPL counter updates about every millisecond (Intel SDM vol. 3B, 14.10 "Platform Specific
// Power Management Support", MSR_PKG_ENERGY_STATUS) and every domain draws some power even at
// idle, so a window this long that reads exactly 0 J is a counter that exists and does not count:
// a hypervisor exposing the perf power PMU (energy-psys) without the MSR behind it, or a zone
// whose firmware never updates it.
constexpr double kNotCountingWindowS = 0.02;

// The CPU-side domains that read exactly 0 J over a run of at least kNotCountingWindowS: their
// names, all of them; those that could stand for the machine are removed from `readings` (a 0 J
// psys would otherwise become the run's energy), the others (dram, core…) stay with their 0 J.
// A run's intervals are judged by the same rule over the run so far (SilenceTracker below).
std::vector<std::string> drop_not_counting(std::vector<EnergyReading>& readings, double window_s) {
  std::vector<std::string> silent;
  if (!(window_s >= kNotCountingWindowS)) return silent;
  for (const auto& r : readings)
    if (r.joules == 0 && !is_gpu_card_domain(r.domain)) silent.push_back(r.domain);
  std::erase_if(readings, [](const EnergyReading& r) {
    return r.joules == 0 && stands_for_machine(r.domain);
  });
  return silent;
}

bool any_stands_for_machine(const std::vector<EnergyReading>& readings) {
  return std::any_of(readings.begin(), readings.end(),
                     [](const EnergyReading& r) { return stands_for_machine(r.domain); });
}

// The rule of a run (drop_not_counting) applied to each interval over the run so far, so that the
// intervals make the run's choice: a domain that has read 0 J since the run began is not
// counting, leaves the interval, and where no domain that stands for the machine is left the
// interval carries the estimate, as the run will if the domain never counts. One interval alone
// is not judged: a counter that updates slowly reads 0 J over some intervals and is counting.
class SilenceTracker {
 public:
  void restart() { *this = {}; }
  // Removes from `readings` (one interval's, of `window_s`) the domains not counting so far;
  // true when the interval should carry the estimate instead.
  bool judge(std::vector<EnergyReading>& readings, double window_s) {
    ++intervals_;
    window_s_ += window_s;
    std::vector<EnergyReading> so_far = readings;
    for (auto& r : so_far) r.joules = (joules_[r.domain] += r.joules);
    auto silent = drop_not_counting(so_far, window_s_);
    if (silent.empty()) return false;
    std::erase_if(readings, [&](const EnergyReading& r) {
      return stands_for_machine(r.domain) &&
             std::find(silent.begin(), silent.end(), r.domain) != silent.end();
    });
    if (any_stands_for_machine(readings)) return false;
    ++estimated_;
    estimated_until_s_ = window_s_;
    silent_ = silent;
    return true;
  }
  // How many intervals were judged and how many carried the estimate, the end of the last of
  // those (seconds into the run), and the domains that had read 0 J until then.
  size_t intervals() const { return intervals_; }
  size_t estimated() const { return estimated_; }
  double estimated_until_s() const { return estimated_until_s_; }
  const std::vector<std::string>& silent() const { return silent_; }

 private:
  std::map<std::string, double> joules_;  // each domain's joules since the run began
  double window_s_ = 0;
  size_t intervals_ = 0;
  size_t estimated_ = 0;
  double estimated_until_s_ = 0;
  std::vector<std::string> silent_;
};

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The GPUs' metrics over a window: utilisation, SM and memory clocks, temperature and average
// watts of each GPU; a reading the GPU did not give is left out.
void add_gpu_metrics(const std::vector<GpuActivity>& activity,
                     const std::vector<EnergyReading>& energy, std::vector<Metric>& metrics) {
  for (const auto& a : activity) {
    if (a.util_pct) metrics.push_back({"gpu_util." + a.domain, *a.util_pct / 100, "ratio"});
    if (a.sm_clock_mhz) metrics.push_back({"gpu_sm_clock_mhz." + a.domain, *a.sm_clock_mhz, "MHz"});
    if (a.memory_clock_mhz)
      metrics.push_back({"gpu_memory_clock_mhz." + a.domain, *a.memory_clock_mhz, "MHz"});
    if (a.temperature_c)
      metrics.push_back({"gpu_temperature_c." + a.domain, *a.temperature_c, "°C"});
    for (const auto& e : energy)
      if (e.domain == a.domain && e.scope == EnergyScope::machine)
        metrics.push_back({"gpu_watts." + a.domain, e.average_watts, "W"});
  }
}

// A GPU whose energy the last read could not read (NVML's "GPU is lost" after an Xid 79, a
// driver reset): its source keeps the last good value, so its reading would give the window only
// what came before the loss (0 J for a counter read only at the window's ends) as if it were
// measured, and joules_per_run would count that. Its readings, both scopes, are dropped; each
// GPU dropped is said in `notes` (when given), as `window` ("the run's", "an interval's") end.
void drop_unread_gpus(std::vector<EnergyReading>& readings,
                      const std::vector<GpuReadProblem>& problems, std::string_view window,
                      std::vector<std::string>* notes) {
  for (const auto& p : problems) {
    std::erase_if(readings, [&](const EnergyReading& r) { return r.domain == p.domain; });
    if (notes)
      notes->push_back(fmt::format(
          "{}: no energy: it could not be read at {} end ({}), so what it drew is not known and "
          "no total counts it",
          p.domain, window, p.problem));
  }
}

// Each GPU's activity over several runs (-r N): each reading the mean of the runs' means that
// have it, as the runs' energy is their mean, rather than the last run's.
std::vector<GpuActivity> mean_activity(const std::vector<std::vector<GpuActivity>>& runs) {
  static constexpr std::optional<double> GpuActivity::*kFields[] = {
      &GpuActivity::util_pct,      &GpuActivity::memory_util_pct,
      &GpuActivity::sm_clock_mhz,  &GpuActivity::memory_clock_mhz,
      &GpuActivity::temperature_c, &GpuActivity::temperature_rise_c_per_s};
  constexpr size_t kCount = std::size(kFields);
  struct Sums {
    GpuActivity first;
    std::array<double, kCount> sum{};
    std::array<int, kCount> n{};
  };
  std::vector<Sums> each;  // in the order the GPUs first appear
  for (const auto& run : runs)
    for (const auto& a : run) {
      auto it = std::find_if(each.begin(), each.end(),
                             [&](const Sums& x) { return x.first.domain == a.domain; });
      if (it == each.end()) it = each.insert(each.end(), Sums{a, {}, {}});
      for (size_t k = 0; k < kCount; ++k)
        if (const auto& v = a.*kFields[k]) {
          it->sum[k] += *v;
          ++it->n[k];
        }
    }
  std::vector<GpuActivity> out;
  for (const auto& x : each) {
    GpuActivity a = x.first;
    for (size_t k = 0; k < kCount; ++k)
      a.*kFields[k] = x.n[k] > 0 ? std::optional(x.sum[k] / x.n[k]) : std::nullopt;
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

struct EnergyRecorder::State {
  EnergySettings options;
  SysRoot root;
  bool system_wide = false;
  MachineInfo machine;
  PowerChoice choice;
  GpuSources gpu;
  std::vector<GpuActivity> run_activity;
  std::vector<std::vector<GpuActivity>> runs_activity;  // each run's, for add_derived
  std::optional<SkuCatalog> catalog;
  std::string catalog_problem;  // why there is no catalog
  const Sku* sku = nullptr;
  bool sku_matched = false;  // from the CPU model string rather than --sku
  // A CPU model string that matches no SKU (a VM masking it): the host CPU identified from
  // /proc/cpuinfo, and the tables that identification and its curve need.
  std::optional<CpuIdentity> identity;
  std::string identity_problem;  // why the CPU was not identified
  std::optional<CpuGenerationTable> generations;
  std::optional<CpuFactsTable> cpu_facts;
  std::optional<SkuCurveModel> sku_curve_model;
  std::optional<double> g_per_kwh;
  std::string grid_basis;
  std::optional<EstimateCurve> curve;
  std::optional<CpuTimes> cpu_at_start;
  // finish_intervals: /proc/stat where the batch of intervals it finishes began (the run's start,
  // then where the previous batch ended), and whether its notes were given in this run.
  std::optional<CpuTimes> cpu_at_batch;
  bool batch_notes_given = false;
  bool batch_coverage_noted = false;
  std::optional<CpuTimes> cpu_at_interval;
  std::optional<double> task_at_start;             // the root cgroup's CPU time at begin_run
  std::vector<std::optional<double>> marked_util;  // mark_interval, estimate of a system-wide
                                                   // target: each interval's utilisation
  std::optional<double> idle_fraction;
  std::optional<ProcStatReader> proc_stat;         // <proc>/stat, kept open between intervals
  std::vector<std::optional<double>> marked_busy;  // mark_interval: busy CPU s of each interval
  // The root cgroup's CPU time of all tasks: what a mark reads instead of /proc/stat, when it
  // exists (see TaskCpuReader); marked_task holds its advance in each interval.
  std::optional<TaskCpuReader> task_cpu;
  std::optional<double> task_at_interval;
  std::vector<double> marked_task;
  std::pair<double, double> idle_range{0, 0};
  std::string idle_basis;
  SilenceTracker silence;  // the intervals' domains that have not counted so far
  // What end_run read at the run's end, for complete_run: the window of the run's energy and
  // CPU time is then the run's duration, not also what pmcmodel does after it.
  struct RunEnd {
    std::optional<CpuTimes> cpu;
    std::optional<double> task;  // the root cgroup's CPU time, for a system-wide estimate
    std::vector<EnergyReading> machine;
    std::exception_ptr machine_error;
    std::vector<EnergyReading> gpus;
    std::vector<GpuReadProblem> gpu_problems;
    std::vector<GpuActivity> gpu_activity;
    std::exception_ptr gpu_error;
  };
  // mark_interval: the GPUs each marked interval could not read at its end.
  std::vector<std::vector<GpuReadProblem>> marked_gpu_problems;
  std::optional<RunEnd> run_end;

  std::future<void> catalog_ready;  // while the shipped catalog is read in the background

  int cpus() const { return std::max(1, machine.logical_cpus); }
  void await_catalog() {
    if (catalog_ready.valid()) catalog_ready.get();
  }

  void load_catalog() {
    fs::path skus, grid_dir;
    if (!options.catalog.empty()) {
      fs::path p(options.catalog);
      std::error_code ec;
      bool dir = fs::is_directory(p, ec);
      skus = dir ? p / "skus.csv" : p;
      grid_dir = dir ? p : p.parent_path();
    } else if (!options.data_dir.empty()) {
      skus = fs::path(options.data_dir) / "skus.csv";
      grid_dir = options.data_dir;
    }
    if (skus.empty()) {
      catalog_problem = "no SKU catalog found (set PMCMODEL_DATA_DIR or give --catalog)";
    } else {
      try {
        catalog = load_sku_catalog(skus, options.data_dir);
      } catch (const std::exception& e) {
        // A catalog the user named must be right; a broken shipped one only loses the estimates.
        if (!options.catalog.empty()) throw EnergyError(e.what());
        catalog_problem = e.what();
      }
    }
    if (options.grid_g_per_kwh) {
      g_per_kwh = options.grid_g_per_kwh;
      grid_basis = fmt::format("--grid-intensity {} g/kWh", *g_per_kwh);
    } else if (!options.region.empty()) {
      load_grid(grid_dir / "grid.csv");
    }
  }

  void load_grid(fs::path file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec) && !options.data_dir.empty())
      file = fs::path(options.data_dir) / "grid.csv";
    GridTable table;
    try {
      table = GridTable::load(file);
    } catch (const std::exception& e) {
      throw EnergyError(e.what());
    }
    const GridIntensity* g = table.find(options.region);
    if (g == nullptr)
      throw EnergyError(
          fmt::format("--region {}: not in {} (a cloud region such as us-east-1 "
                      "or an ISO-3 country code such as FRA)",
                      options.region, file.string()));
    g_per_kwh = g->g_per_kwh;
    grid_basis = fmt::format("region {} ({} g/kWh, {}; {})", g->region, g->g_per_kwh,
                             table.origin(), g->source);
  }

  void choose_sku() {
    if (!options.sku.empty()) {
      if (!catalog) throw EnergyError("--sku " + options.sku + ": " + catalog_problem);
      sku = catalog->find(options.sku);
      if (sku == nullptr)
        throw EnergyError(fmt::format("--sku {}: no such SKU id in {} (ids are like '{}')",
                                      options.sku, catalog->origin(), catalog->skus().front().id));
    } else if (catalog) {
      sku = catalog->match_cpu_model(machine.cpu_model);
      sku_matched = sku != nullptr;
    }
  }

  // What identifying a VM's host CPU reads: /proc/cpuinfo and, on a VM, the generation and CPU
  // facts tables.
  struct HostTables {
    std::optional<CpuInfo> info;  // only on a VM (the "hypervisor" flag)
    std::optional<CpuGenerationTable> generations;
    std::optional<CpuFactsTable> facts;
    std::string problem;
  };
  HostTables read_host_tables() const {
    HostTables t;
    if (options.data_dir.empty()) return t;
    auto text = read_text(root.proc_path("cpuinfo"));
    if (!text) {
      t.problem = "cannot read " + root.proc_path("cpuinfo").string();
      return t;
    }
    CpuInfo info = parse_cpuinfo(*text);
    // cpu0's cpufreq, where the VM has one (few do): its maximum is the turbo clock for some
    // drivers (max_turbo_ghz), a sign the cpuinfo fields do not give.
    const fs::path freq = root.sys_path("devices/system/cpu/cpu0/cpufreq");
    if (auto khz = read_text(freq / "cpuinfo_max_freq")) {
      const std::string_view digits = *khz;
      double v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec == std::errc() && end == digits.data() + digits.size() && v > 0)
        info.max_mhz = v / 1000;
    }
    if (auto driver = read_text(freq / "scaling_driver")) info.freq_driver = *driver;
    // cpu0's L3 instance (an AMD CCX's), where sysfs has a level-3 cache.
    CacheSizes caches = read_cache_sizes(root);
    if (caches.llc_level == 3 && std::find(caches.defaulted.begin(), caches.defaulted.end(),
                                           "LLC") == caches.defaulted.end())
      info.l3_instance_kb = double(caches.llc) / 1024;
    // The host assumptions (a 2-socket server, this machine a share of its threads) are a
    // cloud VM's; bare metal keeps the TDP curve of its own CPUs.
    if (!info.flags.count("hypervisor")) return t;
    fs::path dir(options.data_dir);
    try {
      t.generations = CpuGenerationTable::load(dir / "cpu_generations.csv");
      // identify_cpu reads the facts for a CPU named by its model or of a known generation; a
      // masked CPU of an unknown generation ("Intel(R) Xeon(R) Processor", family 6 model 167)
      // needs none, and building the table's 2,784 rows costs ~150 page faults at start-up.
      bool named = !cpu_model_key(info.model_name).empty();
      bool known =
          t.generations->find(info.vendor, info.family, info.model, info.stepping) != nullptr;
      t.facts = named || known ? load_cpu_facts(dir / "cpu_facts.csv") : CpuFactsTable{};
      t.info = std::move(info);
    } catch (const std::exception& e) {
      t.problem = e.what();
    }
    return t;
  }

  // No SKU has this CPU's name: which CPU the host has, from what /proc/cpuinfo shows.
  void identify_host_cpu(HostTables tables) {
    if (sku || options.data_dir.empty()) return;
    if (!tables.problem.empty()) {
      identity_problem = std::move(tables.problem);
      return;
    }
    if (!tables.info) return;
    generations = std::move(tables.generations);
    cpu_facts = std::move(tables.facts);
    try {
      identity =
          identify_cpu(*tables.info, *generations, *cpu_facts, catalog ? &*catalog : nullptr);
      if (!identity) {
        identity_problem = "its vendor, family and model are not in " + generations->origin();
        return;
      }
      if (!identity->sku)
        sku_curve_model = SkuCurveModel::load(fs::path(options.data_dir) / "sku_curve.json");
    } catch (const std::exception& e) {
      identity.reset();
      identity_problem = e.what();
    }
  }

  // Also with a source: a domain that is present but does not count hands over to the estimate.
  void choose_estimate() {
    if (!catalog) return;
    try {
      if (sku) {
        curve = sku_estimate_curve(*sku, cpus());
        return;
      }
      if (identity) {
        try {
          curve = identified_host_curve(*identity, sku_curve_model ? &*sku_curve_model : nullptr,
                                        *cpu_facts, cpus());
          return;
        } catch (const std::exception& e) {
          identity_problem = identity->describe() + ", but no curve for it: " + e.what();
          identity.reset();
        }
      }
      curve = tdp_estimate_curve(*catalog, cpus());
    } catch (const std::exception& e) {
      catalog_problem = e.what();
    }
  }

  // Idle / full-load ratio for splitting a measured reading: the SKU's, else the catalog median;
  // with the catalog's SPECpower range for its uncertainty. Once, not per interval.
  void choose_idle_fraction() {
    if (!choice.source || system_wide || !catalog) return;
    try {
      idle_range = idle_fraction_range(*catalog);
      if (sku) {
        idle_fraction = sku->watts.front() / sku->watts.back();
        idle_basis =
            fmt::format("f = {:.4f}, idle/100%-load watts of SKU {}", *idle_fraction, sku->id);
      } else {
        auto c = tdp_curve_from_specpower(*catalog, 1.0);
        idle_fraction = c.idle_fraction;
        idle_basis = fmt::format("f = {:.4f}, the {}", c.idle_fraction, c.idle_fraction_source);
      }
    } catch (const std::exception& e) {
      catalog_problem = e.what();
    }
  }

  void open_gpus() {
    auto selection = parse_gpu_selection(options.gpus);
    if (!selection)
      throw EnergyError("--gpus " + options.gpus +
                        ": expected all, none or a list of GPU indices such as 0,2 or 0-3");
    try {
      gpu = open_gpu_sources(*selection);
    } catch (const std::invalid_argument& e) {
      throw EnergyError(e.what());
    }
    if (gpu.source && !system_wide)
      gpu.source->set_command_processes(
          descendants_of(root, options.command_root > 0 ? options.command_root : getpid()));
  }

  static std::optional<double> busy_between(const std::optional<CpuTimes>& a,
                                            const std::optional<CpuTimes>& b) {
    if (!a || !b) return std::nullopt;
    return std::max(0.0, b->busy_s - a->busy_s);
  }

  // Machine readings plus, for a target that shares the machine, the command's share of each.
  std::vector<EnergyReading> with_shares(std::vector<EnergyReading> machine_readings,
                                         double window_s, std::optional<double> command_cpu_s,
                                         std::optional<double> busy_cpu_s,
                                         std::vector<std::string>* notes) const {
    if (system_wide || !command_cpu_s || !(window_s > 0)) return machine_readings;
    std::vector<EnergyReading> out = machine_readings;
    out.reserve(2 * machine_readings.size());
    const auto& f = idle_fraction;
    if (!f) {
      if (notes) notes->push_back("no command share of the energy: " + catalog_problem);
      return out;
    }
    ShareBasis basis{window_s, *command_cpu_s, busy_cpu_s.value_or(*command_cpu_s), cpus()};
    double u = basis.machine_utilisation();
    const auto& range = idle_range;
    for (const auto& r : machine_readings) {
      auto share_at = [&](double fraction) {
        return command_share_joules(r.joules, idle_watts_from_average(r.average_watts, u, fraction),
                                    basis);
      };
      EnergyReading s = r;
      s.scope = EnergyScope::command;
      s.method = r.method + "+share:cpu-time";
      s.joules = share_at(*f);
      s.average_watts = s.joules / window_s;
      double spread = std::max(std::abs(share_at(range.first) - s.joules),
                               std::abs(share_at(range.second) - s.joules));
      s.uncertainty = r.uncertainty + (s.joules > 0 ? spread / s.joules : 0);
      out.push_back(s);
    }
    if (notes)
      notes->push_back(fmt::format(
          "command share (scope \"command\", +share:cpu-time) = (E − P_idle·T)·c/B + "
          "P_idle·T·c/(N·T) "
          "per domain, with T = {:.3f} s, c = {:.3f} s CPU time of the command, B = {:.3f} s busy "
          "CPU time of all tasks ({}), N = {} CPUs, machine utilisation U = B/(N·T) = {}, "
          "P_idle = f·P̄/(f + (1 − f)·U) with {}; its uncertainty spans f from {:.3f} to {:.3f} "
          "(the catalog's SPECpower range)",
          window_s, *command_cpu_s, std::max(basis.machine_busy_cpu_s, *command_cpu_s),
          busy_cpu_s ? "/proc/stat" : "/proc/stat unreadable: taken as the command's", cpus(),
          percent(u), idle_basis, range.first, range.second));
    return out;
  }

  // The utilisation an estimate uses: of a command, its own CPU time over the window (other
  // load is not seen); of the whole machine, /proc/stat's busy time less steal over its total,
  // else the root cgroup's CPU time over N·T; never the system-wide task-clock, which counts
  // every CPU's idle time as well. nullopt when none can be read.
  struct Utilisation {
    double u = 0;
    std::string source;
  };
  // `command_cpu_what` names where command_cpu_s came from, for the note.
  std::optional<Utilisation> utilisation(double window_s, std::optional<double> command_cpu_s,
                                         const std::optional<CpuTimes>& from,
                                         const std::optional<CpuTimes>& to,
                                         std::optional<double> task_from = std::nullopt,
                                         std::optional<double> task_to = std::nullopt,
                                         std::string_view command_cpu_what = "task-clock") const {
    if (!(window_s > 0)) return std::nullopt;
    if (!system_wide) {
      if (!command_cpu_s) return std::nullopt;
      return Utilisation{
          std::clamp(*command_cpu_s / (cpus() * window_s), 0.0, 1.0),
          fmt::format("{} / (duration × {} logical CPUs)", command_cpu_what, cpus())};
    }
    if (from && to)
      if (auto u = utilisation_between(*from, *to))
        return Utilisation{*u, "(busy − steal) / total CPU time of /proc/stat's cpu line"};
    if (task_from && task_to)
      return Utilisation{
          std::clamp((*task_to - *task_from) / (cpus() * window_s), 0.0, 1.0),
          fmt::format("CPU time of {} / (duration × {} logical CPUs) (/proc/stat did not advance "
                      "or is unreadable)",
                      task_cpu->path(), cpus())};
    return std::nullopt;
  }

  // The estimate over a window at machine utilisation `u`; for a command target, with the
  // command's share from its CPU time `cpu_s`.
  std::vector<EnergyReading> estimate(double window_s, double u, double cpu_s) const {
    EnergyReading m;
    m.domain = curve->domain;
    m.average_watts = watts_at_load(curve->watts, u);
    m.joules = m.average_watts * window_s;
    m.method = curve->method;
    m.uncertainty = curve->uncertainty_at(u);
    std::vector<EnergyReading> out{m};
    if (!system_wide) {
      EnergyReading s = m;
      s.scope = EnergyScope::command;
      s.method = m.method + "+share:cpu-time";
      s.joules =
          command_share_joules(m.joules, curve->watts.front(), {window_s, cpu_s, cpu_s, cpus()});
      s.average_watts = s.joules / window_s;
      out.push_back(s);
    }
    return out;
  }

  // One interval's energy from the source's readings, with the command's shares; the estimate
  // (at the machine's utilisation `machine_u` for a system-wide target) where the source's
  // domains have not counted since the run began, as the run's energy will be if they never do.
  std::vector<EnergyReading> interval_energy(std::vector<EnergyReading> readings, double window_s,
                                             std::optional<double> cpu, std::optional<double> busy,
                                             std::optional<double> machine_u) {
    if (silence.judge(readings, window_s)) return interval_estimate(window_s, cpu, machine_u);
    return with_shares(std::move(readings), window_s, cpu, busy, nullptr);
  }

  std::vector<EnergyReading> interval_estimate(double window_s, std::optional<double> cpu,
                                               std::optional<double> machine_u) const {
    if (!curve || !(window_s > 0)) return {};
    std::optional<double> u = machine_u;
    if (!system_wide) {
      auto own = utilisation(window_s, cpu, std::nullopt, std::nullopt);
      u = own ? std::optional<double>(own->u) : std::nullopt;
    }
    if (!u) return {};
    return estimate(window_s, *u, cpu.value_or(0));
  }

  // The CPU side of one run: the machine's source with the command's share, else the estimate.
  void complete_cpu_run(Measurement& m) {
    auto cpu = task_clock_s(m.events);
    std::string_view cpu_what = "task-clock";
    if (!cpu && !system_wide && (m.user_s > 0 || m.sys_s > 0)) {
      cpu = m.user_s + m.sys_s;
      cpu_what = "the command's user + system CPU time (rusage; task-clock was not counted)";
    }
    for (const auto& n : choice.notes) m.notes.push_back(n);
    auto cpu_now = run_end ? run_end->cpu : proc_stat->read();
    if (choice.source) {
      std::vector<EnergyReading> readings;
      try {
        if (run_end && run_end->machine_error) std::rethrow_exception(run_end->machine_error);
        readings = run_end ? run_end->machine : choice.source->read_since_start();
      } catch (const std::exception& e) {
        throw EnergyError(e.what());
      }
      auto silent = drop_not_counting(readings, m.duration_s);
      std::string silent_text;
      if (!silent.empty()) {
        silent_text = fmt::format("power domain{} {} ({}) present, not counting: 0 J over {:.3f} s",
                                  silent.size() > 1 ? "s" : "", join_names(silent),
                                  choice.source->method(), m.duration_s);
        m.notes.push_back(silent_text);
      }
      for (const auto& n : choice.source->notes()) m.notes.push_back(n);
      if (!silent.empty() && !any_stands_for_machine(readings)) {
        complete_estimate_run(m, cpu, cpu_now, silent_text, cpu_what);
        if (size_t early = silence.intervals() - silence.estimated(); early > 0)
          m.notes.push_back(fmt::format(
              "the intervals carry the same estimate, but for the first {}: they ended within "
              "{:.3f} s of the start, too soon to tell a domain that does not count, and keep what "
              "the source read",
              early, kNotCountingWindowS));
        return;
      }
      if (silence.estimated() > 0)
        m.notes.push_back(fmt::format(
            "the estimate stands for the intervals until {:.3f} s into the run ({} of them): "
            "power domain{} {} had read 0 J since the run began, and counted after",
            silence.estimated_until_s(), silence.estimated(),
            silence.silent().size() > 1 ? "s" : "", join_names(silence.silent())));
      auto busy = busy_between(cpu_at_start, cpu_now);
      m.energy = with_shares(std::move(readings), m.duration_s, cpu, busy, &m.notes);
      if (!system_wide)
        m.notes.push_back(
            "energy of scope \"machine\" is what the whole machine drew during the run, "
            "the command's and every other task's");
      return;
    }
    complete_estimate_run(m, cpu, cpu_now, "no power meter was read: " + choice.reason_if_none,
                          cpu_what);
  }

  // The estimate of one run, `why` saying why no meter stands for it; `cpu_what` where the
  // command's CPU time `cpu` came from.
  void complete_estimate_run(Measurement& m, std::optional<double> cpu,
                             const std::optional<CpuTimes>& cpu_now, const std::string& why,
                             std::string_view cpu_what) {
    if (!curve) {
      m.notes.push_back("no energy: " + why + "; and no estimate: " + catalog_problem);
      return;
    }
    std::optional<double> task_now;
    if (system_wide && task_at_start) task_now = run_end ? run_end->task : task_cpu->read();
    auto u =
        utilisation(m.duration_s, cpu, cpu_at_start, cpu_now, task_at_start, task_now, cpu_what);
    if (!u) {
      m.notes.push_back("no energy: " + why + "; and no estimate: " +
                        (system_wide
                             ? "the machine's utilisation could not be read (/proc/stat, the root "
                               "cgroup's CPU time)"
                             : "the command's CPU time is not known (task-clock was not counted, "
                               "and rusage gave none)"));
      return;
    }
    m.energy = estimate(m.duration_s, u->u, cpu.value_or(0));
    m.notes.push_back(fmt::format("energy is an ESTIMATE ({}, ±{}): {}", curve->method,
                                  percent(curve->uncertainty_at(u->u)), why));
    m.notes.push_back(
        fmt::format("estimate: watts at utilisation U = {} = {} interpolated on the {}{}{}",
                    u->source, percent(u->u), curve->basis,
                    sku_matched ? " (matched from the CPU model '" + machine.cpu_model + "')" : "",
                    sku        ? ""
                    : identity ? "; " + no_sku_for_model()
                               : "; " + unmatched_cpu_text()));
    if (!system_wide)
      m.notes.push_back(
          "estimate: the machine's utilisation is the command's own CPU time (other load "
          "is not seen); the command's share is P(U)·T − P_idle·T·(1 − c/(N·T))");
  }

  // Some /proc/cpuinfo (s390, RISC-V) have no line that names the model: say so, not "''".
  std::string no_sku_for_model() const {
    if (machine.cpu_model.empty())
      return "no catalog SKU matches this CPU: /proc/cpuinfo has no model name";
    return "no catalog SKU matches the CPU model '" + machine.cpu_model + "'";
  }

  // No SKU has this CPU (a VM says "AMD EPYC"): the closest by name and size, to give --sku.
  std::string unmatched_cpu_text() const {
    std::string text = no_sku_for_model();
    auto close = catalog ? closest_skus(*catalog, machine.cpu_model, machine.logical_cpus)
                         : std::vector<const Sku*>{};
    if (!identity_problem.empty()) text += "; the host CPU was not identified: " + identity_problem;
    if (close.empty()) return text + " (give --sku)";
    return text + "; closest by name and " + std::to_string(machine.logical_cpus) +
           " logical CPUs: " + describe_skus(close) + " (give one with --sku)";
  }

  // The GPUs of one run, after the CPU's readings; their notes, or why there are none.
  void complete_gpu_run(Measurement& m) {
    for (const auto& n : gpu.notes) m.notes.push_back(n);
    run_activity.clear();
    if (!gpu.source) {
      // A machine without a GPU library says nothing: it is the common case, not a fault.
      if (gpu.library_found || options.gpus != "all") m.notes.push_back(gpu.reason_if_none);
      return;
    }
    if (run_end && run_end->gpu_error) std::rethrow_exception(run_end->gpu_error);
    auto readings = run_end ? run_end->gpus : gpu.source->read_since_start();
    auto problems = run_end ? run_end->gpu_problems : gpu.source->read_problems();
    run_activity = run_end ? run_end->gpu_activity : gpu.source->last_activity();
    runs_activity.push_back(run_activity);
    std::vector<std::string> dropped;
    drop_unread_gpus(readings, problems, "the run's", &dropped);
    m.energy.insert(m.energy.end(), readings.begin(), readings.end());
    for (const auto& n : gpu.source->notes()) m.notes.push_back(n);
    m.notes.insert(m.notes.end(), dropped.begin(), dropped.end());
  }
};

EnergyRecorder::EnergyRecorder(const EnergySettings& options, const SysRoot& root,
                               const MachineInfo& machine, bool system_wide)
    : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = options;
  s.root = root;
  s.proc_stat.emplace(root.proc_path("stat").string());
  s.task_cpu.emplace(root.sys.string());
  s.system_wide = system_wide;
  if (options.grid_g_per_kwh && !options.region.empty())
    throw EnergyError("--grid-intensity and --region both give the grid's intensity: choose one");
  s.machine = machine;
  try {
    s.choice = choose_power_source(root, options.power_source, options.power_from);
  } catch (const std::exception& e) {
    throw EnergyError(e.what());
  }
  s.open_gpus();
  auto prepare = [&s] {
    s.load_catalog();
    s.choose_sku();
    if (s.sku == nullptr) s.identify_host_cpu(s.read_host_tables());
    s.choose_estimate();
    s.choose_idle_fraction();
  };
  // The shipped catalog (1,000 SPECpower rows, a fifth of measure's start-up) is read on a second
  // thread while the command starts: nothing needs it before the first interval ends. What the
  // user names (--catalog, --sku, --region) is read first, so that its errors stop the command
  // before it runs; errors in the shipped catalog only lose the estimates and never throw.
  // The thread starts with every signal blocked (engine/system/quiet_thread.h).
  if (options.catalog.empty() && options.sku.empty() && options.region.empty()) {
    s.catalog_ready =
        start_without_signals([&] { return std::async(std::launch::async, prepare); });
  } else {
    prepare();
  }
}

EnergyRecorder::~EnergyRecorder() = default;

EnergyRecorder::EstimatePlan EnergyRecorder::estimate_plan() {
  auto& s = *state_;
  s.await_catalog();
  EstimatePlan plan;
  if (!s.curve) {
    plan.problem =
        s.catalog_problem.empty() ? "no SKU catalog to estimate from" : s.catalog_problem;
    return plan;
  }
  const EstimateCurve& c = *s.curve;
  plan.method = c.method;
  plan.domain = c.domain;
  plan.idle_watts = c.watts.front();
  plan.full_watts = c.watts.back();
  plan.idle_uncertainty = c.uncertainty.front();
  plan.full_uncertainty = c.uncertainty.back();
  plan.basis = c.basis;
  return plan;
}

int EnergyRecorder::sample_ms() const {
  const auto& s = *state_;
  int ms = s.choice.source ? kSampleMs : 0;
  if (s.gpu.source)
    ms = ms > 0 ? std::min(ms, s.gpu.source->sample_ms()) : s.gpu.source->sample_ms();
  return ms;
}

void EnergyRecorder::sample() {
  if (state_->choice.source) state_->choice.source->sample();
  if (state_->gpu.source) state_->gpu.source->sample();
}

void EnergyRecorder::begin_run() {
  auto& s = *state_;
  s.cpu_at_start = s.cpu_at_interval = s.cpu_at_batch = s.proc_stat->read();
  s.batch_notes_given = s.batch_coverage_noted = false;
  s.silence.restart();
  s.marked_busy.clear();
  s.marked_task.clear();
  s.marked_util.clear();
  s.marked_gpu_problems.clear();
  if (s.choice.source && s.task_cpu->available()) s.task_at_interval = s.task_cpu->read();
  s.task_at_start.reset();
  if (s.system_wide && s.task_cpu->available()) s.task_at_start = s.task_cpu->read();
  if (s.choice.source) s.choice.source->start();
  if (s.gpu.source) s.gpu.source->start();
  s.run_end.reset();
}

void EnergyRecorder::end_run() {
  auto& s = *state_;
  State::RunEnd end;
  if (s.choice.source) {
    try {
      end.machine = s.choice.source->read_since_start();
    } catch (const std::exception&) {
      end.machine_error = std::current_exception();
    }
  }
  if (s.gpu.source) {
    try {
      end.gpus = s.gpu.source->read_since_start();
      end.gpu_problems = s.gpu.source->read_problems();
      end.gpu_activity = s.gpu.source->last_activity();
    } catch (const std::exception&) {
      end.gpu_error = std::current_exception();
    }
  }
  end.cpu = s.proc_stat->read();
  if (s.system_wide && s.task_at_start) end.task = s.task_cpu->read();
  s.run_end = std::move(end);
}

void EnergyRecorder::complete_interval(Interval& iv) {
  auto& s = *state_;
  s.await_catalog();
  auto cpu = task_clock_s(iv.events);
  if (s.choice.source || s.system_wide) {
    auto from = s.cpu_at_interval;
    auto now = s.proc_stat->read();
    s.cpu_at_interval = now;
    std::optional<double> machine_u;
    if (from && now) machine_u = utilisation_between(*from, *now);
    if (s.choice.source)
      iv.energy = s.interval_energy(s.choice.source->read_interval(), iv.duration_s, cpu,
                                    State::busy_between(from, now), machine_u);
    else
      iv.energy = s.interval_estimate(iv.duration_s, cpu, machine_u);
  } else {
    iv.energy = s.interval_estimate(iv.duration_s, cpu, std::nullopt);
  }
  if (s.gpu.source) {
    auto readings = s.gpu.source->read_interval();
    drop_unread_gpus(readings, s.gpu.source->read_problems(), "the interval's", nullptr);
    add_gpu_metrics(s.gpu.source->last_activity(), readings, iv.metrics);
    iv.energy.insert(iv.energy.end(), readings.begin(), readings.end());
  }
}

void EnergyRecorder::mark_interval() {
  auto& s = *state_;
  if (s.gpu.source) {
    s.gpu.source->mark_interval();
    s.marked_gpu_problems.push_back(s.gpu.source->read_problems());
  }
  if (!s.choice.source) {
    // A system-wide estimate needs each interval's utilisation from /proc/stat.
    if (!s.system_wide) return;
    auto now = s.proc_stat->read();
    s.marked_util.push_back(s.cpu_at_interval && now ? utilisation_between(*s.cpu_at_interval, *now)
                                                     : std::nullopt);
    s.cpu_at_interval = now;
    return;
  }
  if (s.task_cpu->available()) {
    auto now = s.task_cpu->read();
    s.marked_task.push_back(now && s.task_at_interval ? std::max(0.0, *now - *s.task_at_interval)
                                                      : 0.0);
    if (now) s.task_at_interval = now;
  } else {
    auto now = s.proc_stat->read();
    s.marked_busy.push_back(State::busy_between(s.cpu_at_interval, now));
    s.cpu_at_interval = now;
  }
  s.choice.source->mark_interval();
}

void EnergyRecorder::finish_intervals(std::vector<Interval>& intervals,
                                      std::vector<std::string>& notes) {
  auto& s = *state_;
  s.await_catalog();
  if (s.choice.source) {
    auto readings = s.choice.source->take_marked_intervals();
    std::vector<std::optional<double>> busy = std::exchange(s.marked_busy, {});
    if (!s.marked_task.empty()) {
      // The marks read the cgroup counter; /proc/stat, read at the run's start and now, gives
      // the run's busy time, which the intervals share in proportion to the counter's advance.
      auto marks = std::exchange(s.marked_task, {});
      busy.assign(marks.size(), std::nullopt);
      auto batch_end = s.proc_stat->read();
      auto batch_start = std::exchange(s.cpu_at_batch, batch_end);
      if (auto run_busy = State::busy_between(batch_start, batch_end)) {
        std::vector<double> durations;
        double task_run = 0;
        for (size_t k = 0; k < marks.size(); ++k) {
          durations.push_back(k < intervals.size() ? intervals[k].duration_s : 0.0);
          task_run += marks[k];
        }
        auto b = apportion_busy(marks, durations, *run_busy);
        for (size_t k = 0; k < b.size(); ++k) busy[k] = b[k];
        if (!std::exchange(s.batch_notes_given, true))
          notes.push_back(fmt::format(
              "per-interval busy CPU time B follows {} (read at each tick instead of /proc/stat, "
              "which costs several times more to generate), scaled so that the intervals add up "
              "to /proc/stat's busy CPU time, read at the run's start and after each batch of "
              "intervals ({:.3f} s over the first {})",
              s.task_cpu->path(), *run_busy, marks.size()));
        double window = 0;
        for (double d : durations) window += d;
        // /proc/stat counts in ticks of 1/USER_HZ per CPU at each end; the cgroup counter leaves
        // out steal time (and cgroup v1 interrupts): 20 % and two ticks per CPU are allowed.
        double allowed = 0.2 * *run_busy + 2.0 * s.cpus() * 0.01;
        if (window > 0 && std::abs(task_run - *run_busy) > allowed &&
            !std::exchange(s.batch_coverage_noted, true))
          notes.push_back(fmt::format(
              "{} advanced {:.3f} s over {} intervals against /proc/stat's {:.3f} s of busy CPU "
              "time: "
              "it does not cover the whole machine (a container's cgroup?), so the per-interval "
              "shares follow its load rather than the machine's; the run's share uses /proc/stat",
              s.task_cpu->path(), task_run, marks.size(), *run_busy));
      }
    }
    for (size_t k = 0; k < intervals.size() && k < readings.size() && k < busy.size(); ++k) {
      auto& iv = intervals[k];
      // The machine's utilisation, should the estimate stand in: the busy time over N·T.
      std::optional<double> machine_u;
      if (busy[k] && iv.duration_s > 0)
        machine_u = std::clamp(*busy[k] / (s.cpus() * iv.duration_s), 0.0, 1.0);
      iv.energy = s.interval_energy(std::move(readings[k]), iv.duration_s, task_clock_s(iv.events),
                                    busy[k], machine_u);
    }
  } else {
    auto utils = std::exchange(s.marked_util, {});
    for (size_t k = 0; k < intervals.size(); ++k) {
      auto& iv = intervals[k];
      std::optional<double> machine_u;
      if (k < utils.size()) machine_u = utils[k];
      iv.energy = s.interval_estimate(iv.duration_s, task_clock_s(iv.events), machine_u);
    }
  }
  if (s.gpu.source) {
    auto readings = s.gpu.source->take_marked_intervals();
    auto activity = s.gpu.source->take_marked_activity();
    auto problems = std::exchange(s.marked_gpu_problems, {});
    for (size_t k = 0; k < intervals.size() && k < readings.size(); ++k) {
      auto& iv = intervals[k];
      if (k < problems.size())
        drop_unread_gpus(readings[k], problems[k], "the interval's", nullptr);
      if (k < activity.size()) add_gpu_metrics(activity[k], readings[k], iv.metrics);
      iv.energy.insert(iv.energy.end(), readings[k].begin(), readings[k].end());
    }
  }
}

void EnergyRecorder::complete_run(Measurement& m) {
  auto& s = *state_;
  s.await_catalog();
  s.complete_cpu_run(m);
  s.complete_gpu_run(m);
}

void EnergyRecorder::add_derived(Measurement& m) const {
  state_->await_catalog();
  const auto& s = *state_;
  if (auto basis = energy_basis(m.energy)) {
    m.metrics.push_back({"joules_per_run", basis->joules, "J"});
    std::string text = "the " + basis->describe();
    if (is_gpu_card_domain(basis->parts.front().domain))
      text += " (the GPUs only: no CPU-side domain covers the machine)";
    if (basis->parts.size() > 1)
      text += fmt::format(", {:.6f} J in all (±{})", basis->joules, percent(basis->uncertainty));
    std::string what = "joules_per_run";
    if (auto insns = instructions(m.events); insns && *insns > 0) {
      m.metrics.push_back(
          {"nj_per_instruction", nanojoules_per_instruction(basis->joules, *insns), "nJ/insn"});
      what += ", nj_per_instruction";
    }
    if (s.g_per_kwh) {
      m.metrics.push_back({"co2_g", co2_grams(basis->joules, *s.g_per_kwh), "gCO2e"});
      what += ", co2_g";
      text += "; co2_g = joules / 3.6e6 × " + s.grid_basis;
    }
    m.notes.push_back(what + ": " + text);
  } else if (!m.energy.empty()) {
    m.notes.push_back("joules_per_run: no single domain covers the machine; see energy[]");
  }
  std::optional<double> price = s.options.price_per_hour_usd;
  std::string price_basis = "--price-per-hour";
  if (!price && s.sku && s.sku->price_per_hour_usd) {
    price = s.sku->price_per_hour_usd;
    price_basis = fmt::format("the price of SKU {} ({})", s.sku->id, s.sku->price_source);
  }
  if (price && m.duration_s > 0) {
    m.metrics.push_back({"cost_usd", cost_usd(*price, m.duration_s), "USD"});
    m.notes.push_back(fmt::format("cost_usd = {} USD/h ({}) × {:.6f} s elapsed / 3600", *price,
                                  price_basis, m.duration_s));
  }
  add_gpu_metrics(mean_activity(s.runs_activity), m.energy, m.metrics);
  add_peak_rss(m);
}

// The memory the command needed, which compare checks a SKU has before recommending it:
// ru_maxrss of RUSAGE_CHILDREN, the largest resident set among the descendants this process has
// waited for (getrusage(2); kilobytes on Linux). Only for a command this process started.
void EnergyRecorder::add_peak_rss(Measurement& m) {
  if (m.target != MeasurementTarget::command) return;
  struct rusage ru {};
  if (::getrusage(RUSAGE_CHILDREN, &ru) != 0 || ru.ru_maxrss <= 0) return;
  m.metrics.push_back({"peak_rss_mb", double(ru.ru_maxrss) / 1024, "MB"});
  m.notes.push_back(
      "peak_rss_mb: the largest resident set of the command's processes (getrusage "
      "RUSAGE_CHILDREN ru_maxrss; with -r, the largest of the runs)");
}

void EnergyRecorder::describe(MachineInfo& machine) const {
  if (state_->gpu.source) machine.gpus = state_->gpu.source->gpus();
  if (const auto& identity = state_->identity) {
    machine.host_cpu = identity->host_cpu;
    machine.host_cpu_confidence = identity->confidence;
    // As compare takes a SKU's clock (sku_ghz): the turbo, else the base.
    double ghz = identity->sku ? sku_ghz(*identity->sku) : 0;
    if (ghz <= 0 && identity->facts)
      ghz = identity->facts->turbo_ghz.value_or(identity->facts->base_ghz.value_or(0));
    if (ghz > 0) machine.host_cpu_ghz = ghz;
  }
}

std::vector<EnergyReading> EnergyRecorder::read_machine_interval(std::vector<std::string>& notes) {
  auto& source = state_->choice.source;
  if (!source) return {};
  try {
    return source->read_interval();
  } catch (const std::exception& e) {
    notes.push_back(fmt::format("an interval without energy: {} could not be read ({})",
                                source->method(), e.what()));
    return {};
  }
}

EnergyRecorder::GpuInterval EnergyRecorder::read_gpu_interval(std::vector<std::string>& notes) {
  GpuInterval out;
  auto& source = state_->gpu.source;
  if (!source) return out;
  try {
    // read_interval samples the activity at the window's end: no window is left without one.
    for (auto& r : source->read_interval())
      if (r.scope == EnergyScope::machine) out.energy.push_back(std::move(r));
    drop_unread_gpus(out.energy, source->read_problems(), "an interval's", &notes);
    out.activity = source->last_activity();
  } catch (const std::exception& e) {
    notes.push_back(fmt::format("an interval without GPU readings: {} could not be read ({})",
                                source->method(), e.what()));
    out = {};
  }
  return out;
}

std::string EnergyRecorder::machine_method() const {
  return state_->choice.source ? state_->choice.source->method() : std::string();
}

std::string EnergyRecorder::machine_reason_if_none() const {
  return state_->choice.reason_if_none;
}

std::vector<std::string> EnergyRecorder::choice_notes() const {
  return state_->choice.notes;
}

std::vector<std::string> EnergyRecorder::machine_source_notes() const {
  return state_->choice.source ? state_->choice.source->notes() : std::vector<std::string>{};
}

std::vector<EnergyReading> average_energy(const std::vector<std::vector<EnergyReading>>& runs) {
  if (runs.empty()) return {};
  std::vector<EnergyReading> out = runs.back();
  for (size_t i = 0; i < out.size(); ++i) {
    double joules = 0, watts = 0;
    size_t n = 0;
    for (const auto& run : runs) {
      if (i >= run.size() || run[i].domain != out[i].domain || run[i].scope != out[i].scope)
        continue;
      joules += run[i].joules;
      watts += run[i].average_watts;
      ++n;
    }
    out[i].joules = joules / double(n);
    out[i].average_watts = watts / double(n);
  }
  return out;
}

}  // namespace pmc
