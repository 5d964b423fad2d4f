// pmcmodel measure: count a command, a process, the whole system or a cgroup.
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/failsafe.h"
#include "cli/measure_energy.h"
#include "cli/measure_metrics.h"
#include "cli/measure_model.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "engine/counting/papi_counters.h"
#include "engine/counting/perf_event.h"
#include "engine/session/machine.h"
#include "engine/session/repeated_runs.h"
#include "engine/session/session.h"
#include "engine/system/self_exe.h"
#include "engine/workloads/workloads.h"
#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/names/resolver.h"
#include "events/names/sysfs_pmu.h"
#include "events/text/text.h"

namespace pmc::cli {
namespace {

struct MeasureOptions {
  std::vector<std::string> events;
  pid_t pid = -1;
  bool all_cpus = false;
  std::string cgroup;
  std::string cpu_list;
  int interval_ms = 0;
  std::string interval_out;
  std::string interval_format = "jsonl";
  int repeat = 1;
  double kill_after_s = 10;      // --kill-after: SIGKILL this long after a forwarded signal
  bool no_kill_on_exit = false;  // --no-kill-on-exit: no PR_SET_PDEATHSIG on the command
  double duration_s = 0;
  std::string json_path;
  std::string csv_path;
  std::string backend = "perf_event";
  std::string workload = "mixed";
  double workload_seconds = 0.5;
  bool quiet = false;
  std::vector<std::string> command;
  // Power and energy : cli/measure_energy.h.
  EnergyOptions energy;
  // Calibrated models : --model FILE, estimates labelled model:<file>;
  // cli/measure_model.h.
  std::vector<std::string> model_paths;
  // Metric sets : -m NAME[,NAME…] and --cpu MODEL; cli/measure_metrics.h.
  std::vector<std::string> metric_names;
  std::string cpu_model;
  std::vector<std::string> metric_paths;  // --metrics: perf's metric files or directories
};

// Deferred intervals (no live output) are derived this many at a time: 60 s at -I 100, a few
// hundred kilobytes of raw records, and few enough calls that the caches stay warm for each.
constexpr size_t kTicksPerBatch = 600;

// Streams each interval as it is taken (each write reaches the file at once), so a killed run
// keeps what it measured. The path is checked at once, but the file is created (or an existing
// one truncated) only when the first interval comes: a run refused before it measured anything
// (an unknown event, no such process, a command that cannot run) leaves no empty stream behind
// and an earlier one intact. A write that fails (a full disk) is said once on stderr; the run
// goes on without the stream, and the command exits 1 at the end.
class IntervalStream {
 public:
  // `runs`: N of -r N. With more than one, every record names its run (1-based): JSONL's
  // leading "run", the CSV's first column `run`, a "# run K of N" line in the table.
  IntervalStream(const std::string& path, const std::string& format, bool human, int runs = 1)
      : path_(path), csv_(format == "csv"), human_(human), runs_(runs) {
    if (path.empty() || path == "-") return;
    if (check_output_path(path) && ::access(path.c_str(), W_OK) != 0)
      throw CommandError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  }

  // Whether anything shows the intervals while the run goes on.
  bool live() const { return human_ || !path_.empty(); }
  // The write error that stopped the stream, empty when none.
  const std::string& failure() const { return failure_; }

  // The run (1-based) whose intervals come next.
  void begin_run(int run) {
    run_ = run;
    run_shown_ = false;
  }

  void operator()(const Interval& iv) {
    if (human_) {
      if (runs_ > 1 && !run_shown_) std::fprintf(stderr, "# run %d of %d\n", run_, runs_);
      std::fputs(format_interval_rows(iv).c_str(), stderr);
      std::fflush(stderr);
    }
    run_shown_ = true;
    if (path_.empty()) return;
    if (runs_ == 1) {
      write(csv_ ? interval_to_csv(iv) : interval_to_jsonl(iv));
    } else if (csv_) {
      std::string rows = interval_to_csv(iv), prefixed, prefix = fmt::format("{},", run_);
      prefixed.reserve(rows.size() + 64);
      for (size_t at = 0; at < rows.size();) {
        size_t end = rows.find('\n', at);
        end = end == std::string::npos ? rows.size() : end + 1;
        prefixed.append(prefix).append(rows, at, end - at);
        at = end;
      }
      write(prefixed);
    } else {
      std::string line = interval_to_jsonl(iv);  // "{...}\n": the run goes first
      write(fmt::format("{{\"run\":{},{}", run_, std::string_view(line).substr(1)));
    }
  }

  // At the end of the run: fsync and close, checked.
  void finish() {
    if (!out_) return;
    try {
      out_->close();
    } catch (const CommandError& e) {
      fail(e.what());
    }
  }

 private:
  void write(const std::string& s) {
    if (!failure_.empty()) return;
    try {
      if (!out_) {
        out_.emplace(path_);
        if (csv_) out_->write(runs_ > 1 ? "run," + csv_interval_header() : csv_interval_header());
      }
      out_->write(s);
    } catch (const CommandError& e) {
      fail(e.what());
    }
  }
  void fail(const std::string& what) {
    failure_ = what;
    std::fprintf(stderr, "pmcmodel measure: %s; intervals are no longer written, the run goes on\n",
                 what.c_str());
  }
  std::string path_;
  std::optional<OutputStream> out_;
  std::string failure_;
  bool csv_;
  bool human_;
  int runs_;
  int run_ = 1;
  bool run_shown_ = false;
};

std::vector<EventGroup> resolve_events(const MeasureOptions& o, const EventResolver& resolver,
                                       std::vector<std::string>& notes) {
  if (!o.events.empty()) {
    std::string list = join(o.events, ",");
    try {
      return resolver.resolve_list(list);
    } catch (const ResolveError& e) {
      throw CommandError(e.what());
    }
  }
  int hw_errno = probe_hardware_counters();
  auto names = default_event_names(hw_errno == 0);
  if (hw_errno != 0)
    notes.push_back(fmt::format(
        "no hardware counters: perf_event_open(PERF_TYPE_HARDWARE, cycles) failed with {} ({}); "
        "cycles, instructions, branches and cache events cannot be counted here (a VM without a "
        "virtual PMU?), so the default set is the kernel's software events",
        std::strerror(hw_errno), hw_errno == ENOENT ? "ENOENT" : std::to_string(hw_errno)));
  return resolver.resolve_list(join(names, ","));
}

std::unique_ptr<Counters> make_counters(const MeasureOptions& o, std::vector<EventGroup> groups,
                                        const SysRoot& root) {
  if (o.backend == "papi") {
    std::vector<std::string> names;
    if (o.events.empty()) {
      for (auto& g : groups)
        for (auto& e : g.events) names.push_back(e.name);
    } else {
      // PAPI takes its own names (PAPI_TOT_INS, perf::TASK-CLOCK), split at top-level commas.
      for (const auto& list : o.events) {
        size_t start = 0;
        while (start <= list.size()) {
          auto comma = list.find(',', start);
          auto name = list.substr(start, comma - start);
          if (!name.empty()) names.push_back(name);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
    }
    return make_papi_counters(std::move(names));
  }
  return make_perf_event_counters(std::move(groups), root);
}

std::vector<std::string> papi_default_names() {
  return {"perf::TASK-CLOCK", "perf::CONTEXT-SWITCHES", "perf::CPU-MIGRATIONS", "perf::PAGE-FAULTS",
          "PAPI_TOT_CYC",     "PAPI_TOT_INS",           "PAPI_BR_INS",          "PAPI_BR_MSP"};
}

// -C's CPUs, in order and each once (perf's cpu map is sorted and has no duplicates: a CPU named
// twice is counted once, not twice), every one of them online.
std::vector<int> target_cpus(const std::string& text, const SysRoot& root) {
  auto cpus = parse_cpu_list(text).value_or(std::vector<int>{});
  if (cpus.empty())
    throw CommandError(
        fmt::format("-C '{}': expected a CPU list like 0-3,8, CPUs 0 to {}", text, kMaxCpuNumber));
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  auto online = online_cpus(root);
  for (int cpu : cpus)
    if (!std::binary_search(online.begin(), online.end(), cpu))
      throw CommandError(fmt::format("-C '{}': CPU {} is not online (online CPUs: {}, from {})",
                                     text, cpu, cpu_list_text(online),
                                     root.sys_path("devices/system/cpu/online").string()));
  return cpus;
}

Target make_target(const MeasureOptions& o, const SysRoot& root) {
  Target t;
  int kinds = (o.pid >= 0) + o.all_cpus + !o.cgroup.empty();
  if (kinds > 1) throw CommandError("-p, -a and -G are exclusive: choose one target");
  if (o.pid >= 0) {
    if (!process_exists(o.pid)) throw CommandError(fmt::format("-p {}: no such process", o.pid));
    t.kind = Target::Kind::pid;
    t.pid = o.pid;
  } else if (o.all_cpus) {
    t.kind = Target::Kind::system_wide;
  } else if (!o.cgroup.empty()) {
    t.kind = Target::Kind::cgroup;
    t.cgroup_path = o.cgroup;
  }
  if (!o.cpu_list.empty()) {
    if (t.kind != Target::Kind::system_wide && t.kind != Target::Kind::cgroup)
      throw CommandError("-C needs -a or -G");
    t.cpus = target_cpus(o.cpu_list, root);
  }
  return t;
}

// What the run gave, into the measurement (its counts are moved): times, status, how it ended.
void record_run(const MeasureOptions& o, RunResult& r, Measurement& m) {
  m.backend = o.backend;
  m.events = std::move(r.events);
  m.duration_s = r.duration_s;
  m.user_s = r.user_s;
  m.sys_s = r.sys_s;
  m.start_time = r.start_time;
  m.exit_status = r.exit_status;
  if (r.term_signal) m.signal = signal_name(*r.term_signal);
  if (r.killed_after_s) {
    m.killed_after_s = r.killed_after_s;
    m.notes.push_back(fmt::format(
        "the command was still running {:.1f} s after the signal was forwarded: pmcmodel sent it "
        "SIGKILL (--kill-after)",
        *r.killed_after_s));
  }
  m.stopped_at_duration = r.stopped_at_duration;
  if (r.stopped_at_duration)
    m.notes.push_back(fmt::format(
        "the command was stopped at --duration {} s: sent SIGTERM, as timeout(1) does (and "
        "SIGKILL 2 s later had it not ended); counts are up to its end",
        o.duration_s));
  if (r.target_ended)
    m.notes.push_back(fmt::format(
        "process {} exited {:.3f} s into the run, which ended the run (as perf stat -p does)",
        o.pid, r.duration_s));
  if (r.interrupted_by)
    m.notes.push_back("interrupted by " + signal_name(*r.interrupted_by) +
                      (o.command.empty() ? "" : " (forwarded to the command)") +
                      ": counts are up to that point");
}

// How a run ended, beside the command's exit status: whether it should end the repeats.
struct RunEnd {
  bool interrupted = false;          // a signal to pmcmodel
  int signal = 0;                    // which
  bool target_ended = false;         // the -p process exited
  bool stopped_at_duration = false;  // --duration stopped the command, as asked
};

Measurement measure_once(const MeasureOptions& o, const SysRoot& root,
                         const EventResolver& resolver, IntervalStream& stream,
                         EnergyRecorder& energy, MeasureMetrics* metrics,
                         const std::vector<MeasureModel>& models, IntervalSpool* spool,
                         int& exit_code, RunEnd& end) {
  Measurement m;
  // PAPI takes its own names (PAPI_TOT_CYC, perf::TASK-CLOCK): perf's resolver does not know
  // them, and PAPI says for each why it cannot count it.
  auto groups =
      o.backend == "papi" ? std::vector<EventGroup>{} : resolve_events(o, resolver, m.notes);
  if (metrics && o.backend != "papi") metrics->schedule(groups, resolver);
  auto counters = make_counters(o, std::move(groups), root);
  RunOptions run;
  run.target = make_target(o, root);
  run.argv = o.command;
  run.interval_ms = o.interval_ms;
  run.kill_after_s = o.kill_after_s;
  run.kill_on_exit = !o.no_kill_on_exit;
  run.duration_s = o.duration_s;
  run.sample_ms = energy.sample_ms();
  run.on_sample = [&energy] { energy.sample(); };
  // The run's energy is read over the run's own window: from when the counters are open and the
  // command is about to exec to when it has ended, not also the opening of the counters.
  run.on_start = [&energy] { energy.begin_run(); };
  run.on_stop = [&energy] { energy.end_run(); };
  auto derive = [&](Interval& iv) {
    iv.metrics = metrics ? metrics->evaluate(iv.events, iv.duration_s)
                         : as_interval_metrics(derive_metrics(iv.events, iv.duration_s));
  };
  // Each interval goes to the outputs as it is completed and is not kept: a run of any length
  // measures in the same memory (the document's intervals wait in the spool, on disk).
  run.keep_intervals = false;
  RunResult r;
  try {
    if (stream.live()) {
      r = run_counted(*counters, run, [&](Interval& iv) {
        derive(iv);
        energy.complete_interval(iv);
        add_interval_model_estimates(models, iv);
        stream(iv);
        if (spool) spool->add(iv);
      });
    } else {
      // Nothing shows the intervals before the run ends: a tick only reads (counters, meter,
      // /proc/stat), and the figures are derived in batches of kTicksPerBatch intervals, with
      // warm caches, to the same values.
      std::vector<Interval> batch;
      auto finish_batch = [&] {
        for (auto& iv : batch) derive(iv);
        energy.finish_intervals(batch, m.notes);
        for (auto& iv : batch) {
          add_interval_model_estimates(models, iv);
          if (spool) spool->add(iv);
        }
        batch.clear();
      };
      run.on_tick = [&energy] { energy.mark_interval(); };
      run.ticks_per_batch = kTicksPerBatch;
      run.on_batch = finish_batch;
      r = run_counted(*counters, run, [&](Interval& iv) { batch.push_back(std::move(iv)); });
      finish_batch();
    }
  } catch (const ExecError& e) {
    throw CommandError(e.what(), e.exit_code);
  }
  record_run(o, r, m);
  end.interrupted = r.interrupted_by.has_value();
  end.signal = r.interrupted_by.value_or(0);
  end.target_ended = r.target_ended;
  end.stopped_at_duration = r.stopped_at_duration;
  for (auto& n : counters->notes()) m.notes.push_back(n);
  // A power source that fails once the command has run costs its energy figure, not the run:
  // the counts are kept and a note says what was lost.
  try {
    energy.complete_run(m);
  } catch (const EnergyError& e) {
    m.notes.push_back(std::string("energy not measured: ") + e.what());
  }
  exit_code = r.exit_status.value_or(0);
  return m;
}

// A run in which not one event could be counted fails, as perf stat does, after its outputs are
// written: one line on stderr (nothing_counted names the fix) and status 1. 0 when something was
// counted.
int nothing_counted_status(const Measurement& m) {
  auto why = nothing_counted(m);
  if (!why) return 0;
  std::fprintf(stderr, "pmcmodel measure: no event could be counted (%s)\n", why->c_str());
  return int(ExitStatus::environment);
}

// With no command and no other target, the embedded default workload: this binary re-executed
// as `pmcmodel workload NAME`, so it is counted from exec like any command. Returns the command
// as the document shows it.
std::vector<std::string> choose_command(MeasureOptions& o, bool no_target) {
  if (!o.command.empty() || !no_target) return o.command;
  o.command = {self_executable_or("pmcmodel"), "workload", o.workload, "--seconds",
               fmt::format("{}", o.workload_seconds)};
  return {"pmcmodel", "workload", o.workload, "--seconds", fmt::format("{}", o.workload_seconds)};
}

void open_energy_recorder(const MeasureOptions& o, const SysRoot& root, const MachineInfo& machine,
                          std::optional<EnergyRecorder>& recorder) {
  try {
    EnergySettings settings = o.energy;
    settings.data_dir = default_data_dir();
    if (o.pid >= 0) settings.command_root = o.pid;
    recorder.emplace(settings, root, machine, o.all_cpus);
  } catch (const EnergyError& e) {
    throw CommandError(e.what());
  }
}

// The document's command, target and window.
void describe_target(const MeasureOptions& o, bool no_target,
                     const std::vector<std::string>& shown_command, Measurement& m) {
  m.command = o.command.empty() ? std::vector<std::string>{} : shown_command;
  // With -p, -a or -G a command only sets the window, as in perf stat -p PID -- sleep 1: the
  // target is counted while the command runs, and the command itself is not counted (unless
  // it belongs to the target). `command` names the target, `while_command` the window.
  if (!no_target) {
    m.while_command = m.command;
    m.command.clear();
  }
  if (o.pid >= 0) {
    m.target = MeasurementTarget::pid;
    m.command = {std::to_string(o.pid)};
  } else if (o.all_cpus) {
    m.target = MeasurementTarget::system_wide;
  } else if (!o.cgroup.empty()) {
    m.target = MeasurementTarget::cgroup;
    m.command = {o.cgroup};
  }
}

// The table on stderr, then the JSON (its intervals replayed from the spool) and CSV files, both
// or neither.
void write_measure_outputs(const MeasureOptions& o, const Measurement& m,
                           std::optional<IntervalSpool>& spool) {
  if (!o.quiet) std::fputs(format_table(m).c_str(), stderr);
  std::vector<OutputFile> files;
  if (!o.json_path.empty())
    files.push_back({o.json_path, [&](const FileAppender& append) {
                       if (spool)
                         write_measurement_json_with_elements(
                             m, spool->count(), [&](const JsonSink& sink) { spool->replay(sink); },
                             append);
                       else
                         append(measurement_to_json(m));
                     }});
  if (!o.csv_path.empty())
    files.push_back(
        {o.csv_path, [&](const FileAppender& append) { append(measurement_to_csv(m)); }});
  write_files_atomically(files);
}

int run_measure(MeasureOptions o) {
  // Outputs are checked before anything runs: a bad path should not cost a run.
  for (const auto* path : {&o.json_path, &o.csv_path})
    if (!path->empty()) check_output_path(*path);
  check_distinct_outputs(std::vector<NamedOutput>{
      {"--json", o.json_path}, {"--csv", o.csv_path}, {"--interval-out", o.interval_out}});
  SysRoot root = SysRoot::from_env();
  auto models = load_measure_models(o.model_paths);
  bool no_target = o.pid < 0 && !o.all_cpus && o.cgroup.empty();
  std::vector<std::string> shown_command = choose_command(o, no_target);
  if (o.backend == "papi" && o.events.empty()) o.events = papi_default_names();
  EventResolver resolver(root);
  MeasureMetricsRequest request{o.metric_names, o.cpu_model, metric_paths(o.metric_paths),
                                o.all_cpus || !o.cgroup.empty(), o.cpu_list};
  auto metrics =
      make_measure_metrics(request, root, o.backend == "papi" || probe_hardware_counters() == 0);
  MachineInfo machine = read_machine_info(root);
  std::optional<EnergyRecorder> recorder;
  open_energy_recorder(o, root, machine, recorder);
  EnergyRecorder& energy = *recorder;
  IntervalStream stream(o.interval_out, o.interval_format, o.interval_ms > 0 && !o.quiet, o.repeat);

  // The document's intervals, kept on disk while the run goes on (one run only: -r N averages
  // runs, and its document has no intervals).
  std::optional<IntervalSpool> spool;
  if (o.interval_ms > 0 && o.repeat == 1 && !o.json_path.empty()) spool.emplace(o.json_path);

  std::vector<Measurement> runs;
  int exit_code = 0;
  RunEnd last_end;
  for (int i = 0; i < o.repeat; ++i) {
    RunEnd end;
    stream.begin_run(i + 1);
    runs.push_back(measure_once(o, root, resolver, stream, energy, metrics ? &*metrics : nullptr,
                                models, spool ? &*spool : nullptr, exit_code, end));
    last_end = end;
    // A command stopped at --duration ended as asked (each run lasts that long): the repeats go
    // on, as perf stat -r with --timeout does.
    bool failed = exit_code != 0 && !end.stopped_at_duration;
    if (failed || end.interrupted || end.target_ended) break;
  }
  stream.finish();
  Measurement m = average_runs(runs);
  // A failed or interrupted run ends the repeats, as does the exit of a -p process (the next
  // run would have nothing to count): the figures are those of the runs made, and the reader is
  // told that they are fewer than asked.
  if (int(runs.size()) < o.repeat) {
    const Measurement& last = runs.back();
    std::string why = last.signal      ? "the command was killed by " + *last.signal
                      : exit_code != 0 ? fmt::format("the command exited with status {}", exit_code)
                      : last_end.target_ended ? fmt::format("process {} exited", o.pid)
                                              : std::string("pmcmodel was interrupted");
    m.notes.push_back(fmt::format("-r {}: stopped after run {} of {}, as {}: the figures are {}",
                                  o.repeat, runs.size(), o.repeat, why,
                                  runs.size() == 1 ? "that run's" : "the mean of those runs"));
  }
  m.machine = machine;
  energy.describe(m.machine);
  describe_target(o, no_target, shown_command, m);
  if (metrics)
    metrics->finish(m);
  else
    m.metrics = derive_metrics(m.events, m.duration_s);
  energy.add_derived(m);
  add_model_estimates(models, m);

  write_measure_outputs(o, m, spool);
  if (!stream.failure().empty() && exit_code == 0) exit_code = 1;
  if (int status = nothing_counted_status(m); status != 0 && exit_code == 0) exit_code = status;
  // A run without a command of its own (-a, -p, -G, no -- CMD) has no command's status to give:
  // ended by a signal to pmcmodel, it dies of that signal once its outputs are written, as perf
  // stat does, so that ^C in a script stops the script. With a command the status is the
  // command's (128+N when the forwarded signal killed it).
  if (last_end.interrupted && o.command.empty()) defer_signal(last_end.signal);
  return exit_code;
}

}  // namespace

Runner add_measure(CLI::App& app) {
  auto o = std::make_shared<MeasureOptions>();
  auto* cmd = app.add_subcommand("measure", "Count a command (or a process, the system, a cgroup)");
  cmd->add_option("-e,--events", o->events,
                  "Events: perf names (cycles), pmu/event/ or pmu/config=0x1/, libpfm4 names "
                  "(INST_RETIRED:ANY_P), groups {a,b}, modifiers :u :k")
      ->delimiter('\0')
      ->allow_extra_args(false);
  // perf_event_open takes pid 0 for the calling process and -1 for "any": neither is a process
  // the user can mean (0 counted pmcmodel itself, a negative one was ignored).
  cmd->add_option("-p,--pid", o->pid, "Count an existing process (all its threads)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            int pid = 0;
            if (!CLI::detail::lexical_cast(text, pid) || pid <= 0)
              return "expected a process id (a number > 0), found '" + text + "'";
            return {};
          },
          "PID"));
  cmd->add_flag("-a,--all-cpus", o->all_cpus, "Count system-wide, on every CPU");
  cmd->add_option(
         "-G,--cgroup", o->cgroup,
         "Count a cgroup: its directory, or a path relative to the mount of the hierarchy that "
         "has the perf_event controller (cgroup2, or v1 where /proc/cgroups puts it)")
      ->check(not_empty("a cgroup path"));
  cmd->add_option("-C,--cpus", o->cpu_list, "CPUs for -a/-G, e.g. 0-3,8")
      ->check(not_empty("a CPU list like 0-3,8"));
  // Metric sets : docs/metrics.md.
  cmd->add_option("-m", o->metric_names,
                  "Metrics or metric groups: ipc, branch, cache, topdown, memory, stalls, perf's "
                  "(TopdownL1, TopdownL2, TmaL1, Default…), or a metric name (tma_retiring); "
                  "default ipc,branch,cache,topdown where countable")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--metrics", o->metric_paths,
                  "Metric files to add to generic.json: perf's pmu-events/arch/<arch>/<cpu>/ "
                  "directory, a folder of Intel perfmon files, or one metric file (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--cpu", o->cpu_model,
                  "CPU model whose metric file to use (skylake, icelake, spr, alderlake, zen4, "
                  "neoverse-n2…) instead of the detected one");
  auto* interval =
      cmd->add_option("-I,--interval", o->interval_ms, "Report deltas every MS milliseconds")
          ->check(CLI::Range(1, 86400000));
  // Without -I there are no intervals: the stream would be an empty file, silently.
  cmd->add_option("--interval-out", o->interval_out,
                  "Stream each interval to PATH as it is taken (- = stdout)")
      ->check(not_empty("a file name, or - for stdout"))
      ->needs(interval);
  cmd->add_option("--interval-format", o->interval_format, "jsonl (default) or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}))
      ->needs(interval);
  cmd->add_option("-r,--repeat", o->repeat,
                  "Run the command N times: the mean, and perf's +- (the standard error of the "
                  "mean)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option(
         "--duration", o->duration_s,
         "Stop after S seconds; a command and the processes under it are then sent SIGTERM "
         "(SIGKILL 2 s later), as timeout(1) does, and the document says so "
         "(stopped_at_duration)")
      ->check(positive_number());
  cmd->add_option("--json", o->json_path, "Write the measurement document (- = stdout)")
      ->check(not_empty("a file name, or - for stdout"));
  cmd->add_option("--csv", o->csv_path, "Write events and metrics as CSV (- = stdout)")
      ->check(not_empty("a file name, or - for stdout"));
  cmd->add_option("--backend", o->backend, "perf_event (default) or papi")
      ->check(CLI::IsMember({"perf_event", "papi"}));
  cmd->add_option("--workload", o->workload, "Embedded workload when no command is given")
      ->check(CLI::IsMember(workload_names()));
  cmd->add_option("--workload-seconds", o->workload_seconds, "Length of the embedded workload")
      ->check(positive_number());
  cmd->add_flag("-q,--quiet", o->quiet, "No table on stderr");
  cmd->add_option("--kill-after", o->kill_after_s,
                  "After forwarding a signal to the command, SIGKILL it if it still runs this many "
                  "seconds later (default 10; 0 = never)")
      ->check(non_negative_number());
  cmd->add_flag("--no-kill-on-exit", o->no_kill_on_exit,
                "Let the command run on if pmcmodel dies (by default it is killed with pmcmodel, "
                "PR_SET_PDEATHSIG)");
  add_energy_options(cmd, o->energy);
  // Calibrated models .
  cmd->add_option(
         "--model", o->model_paths,
         "Model file from calibrate/fit: its estimate (watts, CPI stack) from the counts, labelled "
         "model:<file> (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("command", o->command, "The command and its arguments, after --");
  cmd->positionals_at_end();
  cmd->footer(
      "Examples:\n"
      "  pmcmodel measure                                   embedded mixed workload, 0.5 s\n"
      "  pmcmodel measure -- ./app --size 10                count a command and its children\n"
      "  pmcmodel measure -e '{cycles,instructions},msr/tsc/' -r 5 -- ./app\n"
      "  pmcmodel measure -I 100 --interval-out run.jsonl -- ./app\n"
      "  pmcmodel measure -a --duration 2 --json sys.json   whole system for 2 s\n"
      "  pmcmodel measure --metrics linux/tools/perf/pmu-events/arch/x86/skylake -m TopdownL1 "
      "-- ./app\n"
      "  pmcmodel measure -p 1234 --duration 5              a running process\n"
      "  pmcmodel measure -p 1234 -- sleep 2                process 1234 while sleep 2 runs\n"
      "Exit status: the command's; 128+N when it was killed by signal N; 127 when it cannot be\n"
      "found, 126 when it cannot be executed; 2 for bad usage. Without a command (-a, -p, -G),\n"
      "a run ended by SIGINT, SIGTERM or SIGHUP writes its outputs, then dies of that signal\n"
      "(130 for ^C in a shell), as perf stat does.");
  return [o] { return run_measure(*o); };
}

}  // namespace pmc::cli
