#pragma once
// The fields of each record of the measurement document ("pmcmodel.measurement/1",
// docs/formats.md), in the order they are written: the one list the writer and the reader of
// measurement_io.cpp walk (field_table.h says how). Internal to pmc_document.
#include <tuple>

#include "events/document/field_table.h"

namespace pmc::fields {

inline constexpr const char* kUnknownStatus = "unknown status '{1}' in {0}";
inline constexpr const char* kUnknownScope =
    "{0}.scope: unknown scope '{1}'; expected \"machine\" or \"command\"";
inline constexpr const char* kUnknownTarget =
    "target: unknown target '{1}'; expected \"command\", \"pid\", \"system-wide\" or \"cgroup\"";

inline constexpr bool kRequired = true;

inline constexpr auto kEventFields = std::tuple{
    Text{"name", &EventCount::name, kRequired},
    Text{"pmu", &EventCount::pmu},
    // null unless counted: the value then means nothing.
    Number{"value", &EventCount::value, false, "a count",
           +[](const EventCount& e) { return e.counted(); }},
    Integer{"raw", &EventCount::raw},
    Text{"unit", &EventCount::unit},
    Number{"scale", &EventCount::unit_scale},
    Integer{"time_enabled_ns", &EventCount::time_enabled_ns},
    Integer{"time_running_ns", &EventCount::time_running_ns},
    Enum{"status", &EventCount::status, &to_string, &parse_event_status, kRequired, kUnknownStatus},
    Text{"reason", &EventCount::reason},
    InSpare{&EventCount::spread, Optional{"stddev", &RunSpread::stddev, Absent::omitted}},
    InSpare{&EventCount::spread, Optional{"sem", &RunSpread::sem, Absent::omitted}},
    InSpare{&EventCount::spread, List{"run_values", &RunSpread::run_values, true}},
    Optional{"group", &EventCount::group, Absent::omitted},
};

inline constexpr auto kMetricFields = std::tuple{
    Text{"name", &Metric::name, kRequired},
    // NaN (a division by zero) is null with "nan": true.
    MaybeNan{"value", &Metric::value, "nan"},
    Text{"unit", &Metric::unit},
    NanMark{"nan", &Metric::value},
    InSpare{&Metric::note, Optional{"reason", &MetricNote::reason, Absent::omitted}},
    InSpare{&Metric::note, Optional{"origin", &MetricNote::origin, Absent::omitted}},
    Optional{"group", &Metric::group, Absent::omitted},
    Optional{"decimals", &Metric::decimals, Absent::omitted},
};

inline constexpr auto kEnergyFields = std::tuple{
    Text{"domain", &EnergyReading::domain, kRequired},
    Number{"joules", &EnergyReading::joules, kRequired, "an energy"},
    Number{"average_watts", &EnergyReading::average_watts},
    Text{"method", &EnergyReading::method, kRequired},
    Number{"uncertainty", &EnergyReading::uncertainty},
    Enum{"scope", &EnergyReading::scope, &to_string, &parse_energy_scope, false, kUnknownScope},
};

inline constexpr auto kGpuFields = std::tuple{
    Integer{"index", &GpuInfo::index, kRequired},
    Text{"name", &GpuInfo::name},
    Text{"uuid", &GpuInfo::uuid},
    Text{"driver", &GpuInfo::driver},
    Optional{"power_limit_w", &GpuInfo::power_limit_w, Absent::null},
    Optional{"memory_mib", &GpuInfo::memory_mib, Absent::null},
    Text{"energy_method", &GpuInfo::energy_method},
};

// One line per interval: a long -I recording stays a file of one line per interval.
inline constexpr auto kIntervalFields = std::tuple{
    Number{"time_s", &Interval::time_s, kRequired},
    Number{"duration_s", &Interval::duration_s},
    Flag{"partial", &Interval::partial},
    records<kEventFields>("events", &Interval::events, kRequired),
    records<kMetricFields>("metrics", &Interval::metrics, false, false, ListPath::full, true),
    records<kMetricFields>("reported", &Interval::reported, false, true, ListPath::full),
    records<kEnergyFields>("energy", &Interval::energy, false, true, ListPath::full),
};

inline constexpr auto kMachineFields = std::tuple{
    Text{"hostname", &MachineInfo::hostname},
    Text{"cpu_model", &MachineInfo::cpu_model},
    Text{"vendor", &MachineInfo::vendor},
    Integer{"family", &MachineInfo::family},
    Integer{"model", &MachineInfo::model},
    Integer{"stepping", &MachineInfo::stepping},
    List{"pmus", &MachineInfo::pmus},
    Integer{"logical_cpus", &MachineInfo::logical_cpus},
    Text{"kernel_release", &MachineInfo::kernel_release},
    Optional{"host_cpu", &MachineInfo::host_cpu, Absent::omitted},
    Optional{"host_cpu_ghz", &MachineInfo::host_cpu_ghz, Absent::omitted},
    Optional{"host_cpu_confidence", &MachineInfo::host_cpu_confidence, Absent::omitted},
    // One object per measured GPU, on a line of its own; absent without GPUs.
    records<kGpuFields>("gpus", &MachineInfo::gpus, false, true),
};

// The run's figures follow the intervals: a long recording's import knows them only once it has
// read every interval.
inline constexpr auto kDocumentFields = std::tuple{
    Constant<Measurement>{"schema", kMeasurementSchema},
    Text{"source", &Measurement::source},
    Text{"backend", &Measurement::backend},
    nested<kMachineFields>("machine", &Measurement::machine),
    Enum{"target", &Measurement::target, &to_string, &parse_measurement_target, false,
         kUnknownTarget},
    List{"command", &Measurement::command},
    List{"while_command", &Measurement::while_command, true},
    Flag{"stopped_at_duration", &Measurement::stopped_at_duration},
    Optional{"exit_status", &Measurement::exit_status, Absent::null},
    Optional{"signal", &Measurement::signal, Absent::null},
    Optional{"killed_after_s", &Measurement::killed_after_s, Absent::omitted},
    Text{"start_time", &Measurement::start_time},
    records<kIntervalFields>("intervals", &Measurement::intervals),
    // null: a time the source did not give (an import of a trimmed recording).
    Time{"duration_s", &Measurement::duration_s, &Measurement::has_duration, kRequired},
    Time{"user_s", &Measurement::user_s, &Measurement::has_user},
    Time{"sys_s", &Measurement::sys_s, &Measurement::has_sys},
    Integer{"runs", &Measurement::runs},
    Optional{"duration_sem_s", &Measurement::duration_sem_s, Absent::omitted},
    // With the run's figures: the streamed writer's head is written before the import starts.
    Optional{"interval_step_s", &Measurement::interval_step_s, Absent::omitted},
    records<kEventFields>("events", &Measurement::events, kRequired),
    records<kMetricFields>("metrics", &Measurement::metrics, false, false, ListPath::full),
    records<kMetricFields>("reported", &Measurement::reported, false, true, ListPath::full),
    records<kEnergyFields>("energy", &Measurement::energy, false, false, ListPath::full),
    List{"notes", &Measurement::notes},
};

// The document is written in two parts around its intervals, which may be formatted elsewhere.
inline constexpr size_t kIntervalsField = field_index(kDocumentFields, "intervals");

}  // namespace pmc::fields
