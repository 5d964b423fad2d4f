#pragma once
// calibrate's training dataset: its rows (one per sampled interval of a workload step), its
// columns, and the CSV text it is written as (docs/formats.md; read back by Dataset::load_csv).
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pmc {

// The dataset column of an event's rate: lower case, every run of characters other than a-z and
// 0-9 turned into one '_', then "_per_s": "L1-dcache-load-misses" → "l1_dcache_load_misses_per_s",
// "task-clock" → "task_clock_per_s" (the event's value in its unit, msec for task-clock, per
// second).
std::string rate_column(std::string_view event_name);
// The dataset column of a power domain's average watts: "package-0" → "package_0_watts".
std::string watts_column(std::string_view domain);

// What one GPU read over one interval: its average watts (the energy counter's advance over the
// interval, or its power integrated) and the averages of its samples. Absent where it did not
// answer.
struct GpuSample {
  std::optional<double> watts;
  std::optional<double> util_pct;
  std::optional<double> memory_util_pct;
  std::optional<double> sm_clock_mhz;
  std::optional<double> memory_clock_mhz;
  std::optional<double> temperature_c;
  std::optional<double> temperature_rise_c_per_s;
};

// The GPU quantities the dataset can hold, in column order, and each one's column suffix:
// "gpu0" → gpu0_watts, gpu0_util_pct, gpu0_memory_util_pct, gpu0_sm_clock_mhz,
// gpu0_memory_clock_mhz, gpu0_temperature_c, gpu0_temperature_rise_c_per_s.
struct GpuQuantity {
  const char* suffix;
  std::optional<double> GpuSample::*value;
};
extern const GpuQuantity kGpuQuantities[7];

// One sampled interval of one workload step.
struct CalibrationSample {
  double timestamp = 0;  // seconds since the epoch at the interval's end
  std::string workload;
  int threads = 0;
  int khz = 0;  // the frequency cap, 0 when none was set
  double duration_s = 0;
  std::vector<std::optional<double>> values;  // per event, nullopt when not counted
  std::map<std::string, double> watts;        // average watts per power domain
  std::map<std::string, GpuSample> gpus;      // per GPU domain ("gpu0"…)
};

// An event of the run: its name, and whether it was counted (with the reason when not).
struct CalibrationEvent {
  std::string name;
  bool counted = false;
  std::string reason;
};

// The dataset's columns: the counted events (index into the run's events, column, event name),
// the power domains, and where cycles and instructions are (for the ipc and cpi columns).
struct CalibrationColumns {
  std::vector<size_t> events;
  std::vector<std::string> event_columns;
  std::vector<std::string> event_names;
  std::vector<std::string> domains;
  // The GPU columns any sample has: the GPU's domain, the column, and its quantity (an index
  // into kGpuQuantities), by GPU then in kGpuQuantities' order.
  struct GpuColumn {
    std::string domain;
    std::string column;
    size_t quantity = 0;
  };
  std::vector<GpuColumn> gpu_columns;
  int cycles = -1, instructions = -1;  // index into events/event_columns
  std::vector<std::string> uncounted;  // "name (reason)" of each event left out
  bool has_ipc() const { return cycles >= 0 && instructions >= 0; }
};

// The columns for `events` (counted ones only), the domains any sample has watts for, and the
// GPU columns any sample has a value for.
CalibrationColumns calibration_columns(const std::vector<CalibrationEvent>& events,
                                       const std::vector<CalibrationSample>& samples);

// Whether a sample has every column of the dataset (and so is one of its rows).
bool complete_sample(const CalibrationSample& sample, const CalibrationColumns& columns);

// The dataset as CSV: `# KEY=VALUE` comment lines (the machine identity `identity` as
// machine.KEY, created_at, interval_ms, event.COLUMN=EVENT), the header, then one row per sample
// that has every column (event rates per second, ipc and cpi when both are counted, watts per
// domain, the GPU columns). `rows` is the number of rows written.
std::string calibration_csv(const std::vector<CalibrationSample>& samples,
                            const CalibrationColumns& columns,
                            const std::vector<std::pair<std::string, std::string>>& identity,
                            const std::string& created_at, int interval_ms, size_t& rows);

}  // namespace pmc
