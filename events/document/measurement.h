#pragma once
// The measurement document: what `measure` produces and `import` reads, as plain data.
// Schema "pmcmodel.measurement/1" (docs/formats.md).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/shared_text.h"
#include "events/document/small_optional.h"
#include "events/document/spare.h"

namespace pmc {

inline constexpr const char* kMeasurementSchema = "pmcmodel.measurement/1";

enum class EventStatus : uint8_t { counted, not_supported, permission_denied, not_counted };
const char* to_string(EventStatus status);
std::optional<EventStatus> parse_event_status(std::string_view text);

// What -r repeats add to an event. stddev is the sample standard deviation of the runs' values
// (n - 1); sem the standard error of their mean, stddev / sqrt(runs), which is what perf prints
// as "( +- x% )" (x = 100 * sem / value). An import has perf's sem, and stddev only when the
// recording says how many runs there were.
struct RunSpread {
  std::optional<double> stddev;
  std::optional<double> sem;
  std::vector<double> run_values;  // each run's value, in order (measure -r; empty otherwise)
};

struct EventCount {
  std::string name;
  // The PMU ("cpu_core", "power"…) and the unit ("msec", "Joules"): few texts, each shared.
  SharedText pmu;
  double value = 0;  // scaled for multiplexing and by the event's scale; meaningless unless counted
  uint64_t raw = 0;  // as read from the kernel (summed over CPUs/threads)
  SharedText unit;
  uint64_t time_enabled_ns = 0;
  uint64_t time_running_ns = 0;
  EventStatus status = EventStatus::not_counted;
  // The event group of the recording it was counted in (0, 1, 2… in the order printed), set
  // where the recording holds an event in several groups (perf stat -M prints each metric's
  // events as a group, with a count of a repeated event in each); absent otherwise. (Beside the
  // status, where the two share 8 bytes.)
  SmallOptional<int32_t> group{};
  std::string reason;       // why it is not counted, or a note (e.g. "group split")
  double unit_scale = 1.0;  // raw → unit multiplier (sysfs `.scale`, 1e-6 for ns → msec)
  // Over -r repeats (absent without them): see RunSpread.
  Spare<RunSpread> spread;
  bool counted() const { return status == EventStatus::counted; }
  // Fraction of enabled time the event was on a counter; 1 when not multiplexed.
  double running_fraction() const {
    return time_enabled_ns == 0 ? 0.0 : double(time_running_ns) / double(time_enabled_ns);
  }
};

// What some metrics carry beside their value.
struct MetricNote {
  // Why the value is NaN, for people: "division by zero in cycles (in instructions / cycles)".
  std::optional<std::string> reason{};
  // The metric file and line of the formula that gave the value ("skylake.json:12"), for the
  // metric engine's values of a run (an interval's are the run's formulas).
  std::optional<std::string> origin{};
};

struct Metric {
  std::string name;
  // NaN where the formula gave NaN (a division by zero, as perf computes it and prints "nan").
  double value = 0;
  // "ratio" for fractions (shown as percent), "GHz", "CPUs", "insn/cycle"…: one of few texts,
  // shared (SharedText), so that a record stays 64 bytes.
  SharedText unit;
  // Why the value is NaN, and where its formula is (absent for most metrics): see MetricNote.
  Spare<MetricNote> note{};
  // For a metric perf printed (reported[]): the group (EventCount::group) of the rows it was
  // printed beside, whose counts perf computed it from. Set on every printed metric while a
  // recording is read, so it is kept on the record rather than in its note.
  SmallOptional<int32_t> group{};
  // For a metric perf printed (reported[]): how many decimals of `value` the printed text gave
  // (perf's "0.5 Backend_Bound" 1, "50.0 %" 3 of the fraction 0.500), so that it is compared at
  // the precision perf printed it; absent where the form does not show it.
  SmallOptional<int16_t> decimals{};
};

// Whose energy a reading is: what the domain drew (every task's), or the measured command's
// share of it. Written as "machine" and "command".
enum class EnergyScope { machine, command };
const char* to_string(EnergyScope scope);
std::optional<EnergyScope> parse_energy_scope(std::string_view text);

// How an energy figure was obtained: the word before the first ':' of its method
// ("measured:rapl+share:cpu-time" is measured). `other` is a method none of these begins.
enum class MethodKind { measured, estimated, model, projected, other };
MethodKind classify_method(std::string_view method);

// Energy of one power domain over a run or an interval, measured or estimated.
struct EnergyReading {
  std::string domain;  // as the source names it: "package-0", "core", "dram", "psys", "wall"…
  double joules = 0;
  double average_watts = 0;
  // measured:rapl | measured:powercap | measured:external | measured:ipmi | measured:papi |
  // estimated:sku-curve:<sku> | estimated:tdp | model:<file>; a command's share adds
  // "+share:cpu-time".
  std::string method;
  double uncertainty = 0;  // relative half-width: the true value is within joules × (1 ± u)
  EnergyScope scope = EnergyScope::machine;
};

// A GPU that was measured (machine.gpus[] of the document).
struct GpuInfo {
  unsigned index = 0;  // as NVML numbers it
  std::string name;    // "NVIDIA H200"
  std::string uuid;    // "GPU-…"
  std::string driver;  // the driver version
  std::optional<double> power_limit_w;
  std::optional<double> memory_mib;  // total memory
  std::string energy_method;         // measured:nvml, measured:nvml-power, measured:nvml-average
};

struct MachineInfo {
  std::string hostname;
  std::string cpu_model;  // /proc/cpuinfo "model name" (POWER: "cpu"; arm64: "Arm"), or empty
  std::string vendor;     // "GenuineIntel", "AuthenticAMD", "ARM"…
  int family = -1;
  int model = -1;
  int stepping = -1;
  std::vector<std::string> pmus;
  int logical_cpus = 0;
  std::string kernel_release;
  std::vector<GpuInfo> gpus;
  // A VM that masks its CPU model: the host CPU measure identified from what the VM shows
  // (models/fleet/cpu_identity.h), its clock (the CPU facts' or the catalog's turbo, else base
  // GHz, as compare takes a SKU's) and the identification's confidence ("high", "medium",
  // "low"). Absent when the CPU model names the CPU or nothing was identified.
  std::optional<std::string> host_cpu;
  std::optional<double> host_cpu_ghz;
  std::optional<std::string> host_cpu_confidence;
};

struct Interval {
  double time_s = 0;  // end of the interval, seconds since the start
  double duration_s = 0;
  bool partial = false;  // the last one, cut short by the end of the run
  // An imported interval: perf's -I period, the wall time perf computed its metrics with (perf
  // divides by the nominal period, not the measured gap: builtin-stat.c process_interval()).
  // Not written per interval: it is the document's interval_step_s. Unset: duration_s.
  std::optional<double> period_s;
  std::vector<EventCount> events;  // deltas over the interval
  std::vector<Metric> metrics;
  std::vector<Metric> reported;  // metrics as an imported tool printed them
  std::vector<EnergyReading> energy;
};

// The wall time an interval's metrics are computed with: perf's -I period for an imported one
// (CPUs utilized is task-clock over it, and duration_time in a metric expression is it),
// otherwise the interval's measured length.
inline double metric_seconds(const Interval& iv) {
  return iv.period_s.value_or(iv.duration_s);
}

// What a measurement counted: a command it started, a process (-p), the whole machine (-a), a
// cgroup (-G). Written as "command", "pid", "system-wide", "cgroup".
enum class MeasurementTarget { command, pid, system_wide, cgroup };
const char* to_string(MeasurementTarget target);
std::optional<MeasurementTarget> parse_measurement_target(std::string_view text);

struct Measurement {
  std::string source = "pmcmodel";  // "pmcmodel" for measure, "perf-stat" for import
  std::string backend = "perf_event";
  MachineInfo machine;
  MeasurementTarget target = MeasurementTarget::command;
  std::vector<std::string> command;  // argv, or the target named for -p/-a/-G
  // -p/-a/-G with a command: the target was counted while this command ran (perf stat's rule).
  std::vector<std::string> while_command;
  bool stopped_at_duration = false;  // the command was stopped (SIGTERM) at --duration
  std::optional<int> exit_status;
  std::optional<std::string> signal;  // e.g. "SIGSEGV" when the command was killed
  // pmcmodel sent SIGKILL this many seconds after forwarding a signal the command outlived
  // (measure --kill-after).
  std::optional<double> killed_after_s;
  std::string start_time;  // ISO 8601 UTC
  double duration_s = 0;
  double user_s = 0;
  double sys_s = 0;
  // Which of those times the source gave: an imported recording may lack perf's time lines
  // (trimmed before "seconds time elapsed", -x/-j output, which prints none, perf 3.x without
  // user and sys). An absent time holds 0, means nothing, and is written as null.
  bool has_duration = true;
  bool has_user = true;
  bool has_sys = true;
  int runs = 1;
  // With runs > 1: the standard error of the mean elapsed time, perf's "T +- SD seconds time
  // elapsed" (perf's stddev_stats is the mean's standard error); absent for one run.
  std::optional<double> duration_sem_s;
  // Import of a -I recording: perf's interval period (the printed -I N, else from the first
  // timestamps of the recording), each interval's metric wall time (Interval::period_s). Unset
  // for measure's own -I, whose metrics use each interval's measured duration_s.
  std::optional<double> interval_step_s;
  std::vector<EventCount> events;
  std::vector<Metric> metrics;
  std::vector<Metric> reported;  // metric comments perf printed (import only), beside ours
  std::vector<EnergyReading> energy;
  std::vector<Interval> intervals;
  std::vector<std::string> notes;  // what the report must say: exclude_kernel, split groups, …
};

}  // namespace pmc
