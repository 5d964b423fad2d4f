#include "engine/power/nvml.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pmc {

// The few NVML declarations used here, as NVIDIA's nvml.h documents them (NVML API Reference,
// "Device Queries", "Field Value Queries"); declared rather than included so that no CUDA or
// driver package is needed to build.
namespace nvml_api {

using Return = int;
constexpr Return kSuccess = 0;
constexpr Return kNotSupported = 3;
constexpr Return kNoPermission = 4;
constexpr Return kInsufficientSize = 7;

struct DeviceSt;
using Device = DeviceSt*;

struct Utilization {
  unsigned gpu;
  unsigned memory;
};
struct Memory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
// nvmlProcessInfo_t of the _v2/_v3 process queries.
struct ProcessInfo {
  unsigned pid;
  unsigned long long used_gpu_memory;
  unsigned gpu_instance_id;
  unsigned compute_instance_id;
};
struct ProcessUtilizationSample {
  unsigned pid;
  unsigned long long time_stamp_us;  // CPU time stamp, µs since the epoch
  unsigned sm_util;
  unsigned mem_util;
  unsigned enc_util;
  unsigned dec_util;
};
union Value {
  double d;
  unsigned ui;
  unsigned long ul;
  unsigned long long ull;
  long long sll;
  int si;
  unsigned short us;
};
struct FieldValue {
  unsigned field_id;
  unsigned scope_id;
  long long timestamp;
  long long latency_usec;
  int value_type;
  Return nvml_return;
  Value value;
};
constexpr unsigned kFieldPowerInstant = 186;  // NVML_FI_DEV_POWER_INSTANT, mW
constexpr int kValueUnsignedInt = 1;
constexpr int kValueUnsignedLongLong = 3;
constexpr int kClockSm = 1;                 // NVML_CLOCK_SM
constexpr int kClockMem = 2;                // NVML_CLOCK_MEM
constexpr int kTemperatureGpu = 0;          // NVML_TEMPERATURE_GPU, the die's sensor
constexpr unsigned kNameBufferSize = 96;    // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned kUuidBufferSize = 96;    // NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned kDriverBufferSize = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

struct Api {
  Return (*init)();
  Return (*shutdown)();
  const char* (*error_string)(Return);
  Return (*device_count)(unsigned*);
  Return (*handle_by_index)(unsigned, Device*);
  Return (*name)(Device, char*, unsigned);
  Return (*uuid)(Device, char*, unsigned);
  Return (*power_usage)(Device, unsigned*);
  // Optional: each absent one loses only its own feature.
  Return (*total_energy)(Device, unsigned long long*);
  Return (*field_values)(Device, int, FieldValue*);
  Return (*utilization)(Device, Utilization*);
  Return (*clock_info)(Device, int, unsigned*);
  Return (*max_clock_info)(Device, int, unsigned*);
  Return (*power_management_limit)(Device, unsigned*);
  Return (*enforced_power_limit)(Device, unsigned*);
  Return (*memory_info)(Device, Memory*);
  Return (*temperature)(Device, int, unsigned*);
  Return (*compute_processes)(Device, unsigned*, ProcessInfo*);
  Return (*process_utilization)(Device, ProcessUtilizationSample*, unsigned*, unsigned long long);
  Return (*driver_version)(char*, unsigned);
};

}  // namespace nvml_api

namespace {

using namespace nvml_api;
using Clock = std::chrono::steady_clock;

constexpr const char* kDefaultLibrary = "libnvidia-ml.so.1";

// The sampling period while a GPU's power is integrated: 20 Hz nominal, so that the >= 10 Hz the
// instant field needs holds even when a sample is late.
constexpr int kIntegrateSampleMs = 50;
constexpr int kCounterSampleMs = 100;

// Judgements, stated in docs/energy.md: the counter steps about every 100 ms, so each end of a
// window is off by at most one step; the instant field sampled at 20 Hz misses what changes
// faster (±5 %, as Zeus found ≤ 1 % against the counter over long runs); the 1 s average lags by
// about half a second and read 40-90 % high after a load on the H200 trace (±15 % plus the lag).
constexpr double kCounterStepS = 0.1;
constexpr double kInstantUncertainty = 0.05;
constexpr double kAverageUncertainty = 0.15;
constexpr double kAverageLagS = 1.0;
// A shared GPU split by the SM utilisation of NVML's per-process samples; the split also splits
// the GPU's idle and memory power by SM time (±25 %, judgement).
const ShareSplit kSmSplit{
    "sm-util", "NVML", "nvmlDeviceGetProcessUtilization gave no sample to split it by",
    [](int samples, double percent) {
      return fmt::format(
          "their SM utilisation in {} per-process samples of nvmlDeviceGetProcessUtilization: the "
          "command's {:.1f}% of the SM time they recorded",
          samples, percent);
    },
    0.25};

// The loaded library and its initialisation; nvmlShutdown when destroyed. The library is never
// unloaded (RTLD_NODELETE): NVML keeps threads of its own.
class Library {
 public:
  // Empty problem() when NVML is loaded and initialised.
  Library() {
    // NVML reaches GPUs only through /dev/nvidiactl (/dev/dxg under WSL 2).
    GpuLibrary lib = load_gpu_library("PMCMODEL_NVML_LIBRARY", {kDefaultLibrary},
                                      {"/dev/nvidiactl", "/dev/dxg"});
    name_ = lib.name;
    void* handle = lib.handle;
    if (handle == nullptr) {
      problem_ = lib.problem;
      return;
    }
    found_ = true;
    std::vector<std::string> missing;
    bind_gpu_symbol(handle, "nvmlInit_v2", api_.init, &missing);
    bind_gpu_symbol(handle, "nvmlShutdown", api_.shutdown, &missing);
    bind_gpu_symbol(handle, "nvmlErrorString", api_.error_string, &missing);
    bind_gpu_symbol(handle, "nvmlDeviceGetCount_v2", api_.device_count, &missing);
    bind_gpu_symbol(handle, "nvmlDeviceGetHandleByIndex_v2", api_.handle_by_index, &missing);
    bind_gpu_symbol(handle, "nvmlDeviceGetName", api_.name, &missing);
    bind_gpu_symbol(handle, "nvmlDeviceGetUUID", api_.uuid, &missing);
    bind_gpu_symbol(handle, "nvmlDeviceGetPowerUsage", api_.power_usage, &missing);
    if (!missing.empty()) {
      problem_ = name_ + " lacks " + fmt::format("{}", fmt::join(missing, ", ")) +
                 " (not NVIDIA's NVML, or older than the R450 driver)";
      return;
    }
    bind_gpu_symbol(handle, "nvmlDeviceGetTotalEnergyConsumption", api_.total_energy,
                    &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetFieldValues", api_.field_values, &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetUtilizationRates", api_.utilization, &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetClockInfo", api_.clock_info, &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetMaxClockInfo", api_.max_clock_info, &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetPowerManagementLimit", api_.power_management_limit,
                    &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetEnforcedPowerLimit", api_.enforced_power_limit,
                    &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetMemoryInfo", api_.memory_info, &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetTemperature", api_.temperature, &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetComputeRunningProcesses_v3", api_.compute_processes,
                    &optional_missing_);
    bind_gpu_symbol(handle, "nvmlDeviceGetProcessUtilization", api_.process_utilization,
                    &optional_missing_);
    bind_gpu_symbol(handle, "nvmlSystemGetDriverVersion", api_.driver_version, &optional_missing_);
    Return r = api_.init();
    if (r != kSuccess) {
      problem_ = fmt::format("nvmlInit_v2 failed: {} (NVML error {}){}", error(r), r,
                             r == kNoPermission ? "; this user may not open /dev/nvidia*: add it "
                                                  "to the group that owns them (often 'video'), "
                                                  "or run as root"
                                                : "");
      return;
    }
    initialised_ = true;
  }
  ~Library() {
    if (initialised_) api_.shutdown();
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  bool found() const { return found_; }
  bool usable() const { return initialised_; }
  const std::string& name() const { return name_; }
  const std::string& problem() const { return problem_; }
  const Api& api() const { return api_; }
  const std::vector<std::string>& optional_missing() const { return optional_missing_; }
  std::string error(Return r) const {
    const char* s = api_.error_string != nullptr ? api_.error_string(r) : nullptr;
    return s != nullptr ? s : fmt::format("error {}", r);
  }
  std::string driver() const {
    char buf[kDriverBufferSize] = {};
    if (api_.driver_version == nullptr || api_.driver_version(buf, sizeof buf) != kSuccess)
      return {};
    return buf;
  }

 private:
  std::string name_;
  std::string problem_;
  Api api_{};
  bool found_ = false;
  bool initialised_ = false;
  std::vector<std::string> optional_missing_;
};

enum class EnergyKind { counter, instant, average };

const char* method_of(EnergyKind kind) {
  switch (kind) {
    case EnergyKind::counter:
      return "measured:nvml";
    case EnergyKind::instant:
      return "measured:nvml-power";
    case EnergyKind::average:
      return "measured:nvml-average";
  }
  return "measured:nvml";
}

std::optional<uint64_t> read_counter_mj(const Api& api, Device d, Return* error = nullptr) {
  unsigned long long mj = 0;
  if (api.total_energy == nullptr) return std::nullopt;
  if (Return r = api.total_energy(d, &mj); r != kSuccess) {
    if (error != nullptr) *error = r;
    return std::nullopt;
  }
  return mj;
}

std::optional<double> read_instant_w(const Api& api, Device d) {
  if (api.field_values == nullptr) return std::nullopt;
  FieldValue v{};
  v.field_id = kFieldPowerInstant;
  if (api.field_values(d, 1, &v) != kSuccess || v.nvml_return != kSuccess) return std::nullopt;
  if (v.value_type == kValueUnsignedLongLong) return double(v.value.ull) / 1e3;
  if (v.value_type != kValueUnsignedInt) return std::nullopt;
  return double(v.value.ui) / 1e3;
}

std::optional<double> read_average_w(const Api& api, Device d) {
  unsigned mw = 0;
  if (api.power_usage(d, &mw) != kSuccess) return std::nullopt;
  return double(mw) / 1e3;
}

// Describes a GPU and decides how its energy is read. nullopt kind: no reading answers.
struct Probe {
  GpuInfo info;
  Device handle = nullptr;
  std::optional<EnergyKind> kind;
  std::string counter_problem;  // why the counter is not used
};

Probe probe_gpu(const Library& lib, unsigned index, const std::string& driver) {
  const Api& api = lib.api();
  Probe p;
  p.info.index = index;
  p.info.driver = driver;
  if (Return r = api.handle_by_index(index, &p.handle); r != kSuccess) {
    p.counter_problem = "nvmlDeviceGetHandleByIndex_v2: " + lib.error(r);
    p.handle = nullptr;
    return p;
  }
  char buf[std::max(kNameBufferSize, kUuidBufferSize)] = {};
  if (api.name(p.handle, buf, kNameBufferSize) == kSuccess) p.info.name = buf;
  buf[0] = '\0';
  if (api.uuid(p.handle, buf, kUuidBufferSize) == kSuccess) p.info.uuid = buf;
  unsigned mw = 0;
  if ((api.enforced_power_limit != nullptr &&
       api.enforced_power_limit(p.handle, &mw) == kSuccess) ||
      (api.power_management_limit != nullptr &&
       api.power_management_limit(p.handle, &mw) == kSuccess))
    p.info.power_limit_w = mw / 1e3;
  Memory mem{};
  if (api.memory_info != nullptr && api.memory_info(p.handle, &mem) == kSuccess)
    p.info.memory_mib = double(mem.total) / (1024.0 * 1024.0);
  unsigned long long mj = 0;
  if (api.total_energy == nullptr) {
    p.counter_problem = "this NVML lacks nvmlDeviceGetTotalEnergyConsumption";
  } else if (Return r = api.total_energy(p.handle, &mj); r == kSuccess) {
    p.kind = EnergyKind::counter;
  } else {
    p.counter_problem = "nvmlDeviceGetTotalEnergyConsumption: " + lib.error(r);
  }
  if (!p.kind && read_instant_w(api, p.handle)) p.kind = EnergyKind::instant;
  if (!p.kind && read_average_w(api, p.handle)) p.kind = EnergyKind::average;
  if (p.kind) p.info.energy_method = method_of(*p.kind);
  return p;
}

double now_s() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

unsigned long long wall_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
         static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
}

// What one window (the run, or the current interval) accumulates for one GPU.
struct Window {
  double start_s = 0;
  uint64_t counter_mj = 0;  // the energy counter's advance over the window
  double integrated_j = 0;
  double util_sum = 0, memory_util_sum = 0, clock_sum = 0, memory_clock_sum = 0;
  int util_n = 0, clock_n = 0, memory_clock_n = 0;
  TemperatureWindow temperature;
  // Whether any activity reading was taken in the window.
  bool sampled() const {
    return util_n > 0 || clock_n > 0 || memory_clock_n > 0 || temperature.readings > 0;
  }
  ProcessWindow processes;  // use: summed SM % of the per-process samples

  void reset(double t) {
    *this = Window{};
    start_s = t;
  }
};

struct Gpu {
  GpuInfo info;
  Device handle = nullptr;
  EnergyKind kind = EnergyKind::counter;
  std::optional<uint64_t> last_counter_mj;  // the last good reading of the energy counter
  bool counter_failed = false;
  // Times the counter went back (it counts from 0 again when the driver reloads or the GPU is
  // reset): the reading after each is taken as its advance.
  unsigned counter_resets = 0;
  // Times it went back to more than it could have counted since the last reading: no restart
  // from 0, so nothing is counted across them.
  unsigned counter_jumps = 0;
  double last_counter_t = 0;  // when last_counter_mj was read
  // Whose processes the last list showed: they were on the GPU when the next interval began.
  bool listed_command = false, listed_other = false;
  std::string read_error;  // why the last energy read failed; empty when it did not
  std::optional<double> last_w;
  double last_t = 0;
  unsigned long long last_seen_us = 0;       // nvmlDeviceGetProcessUtilization's lastSeenTimeStamp
  unsigned long long processes_seen_us = 0;  // the same, for read_processes()
  std::optional<std::pair<double, double>> last_temperature;  // °C and when, at the last sample
  // The memory clock and the temperature are read: false where the GPU answered NOT_SUPPORTED
  // when the source opened (or the library lacks the call), which a note says.
  bool reads_memory_clock = true, reads_temperature = true;
  Window run, interval;
  std::string domain() const { return "gpu" + std::to_string(info.index); }
};

// The library's lack of an optional reading that measure's intervals and calibrate's columns
// carry: one note for every GPU.
void note_missing_readings(const Library& lib, std::vector<std::string>& notes) {
  const Api& api = lib.api();
  if (api.clock_info == nullptr)
    notes.push_back(fmt::format(
        "{} lacks nvmlDeviceGetClockInfo: no GPU's SM or memory clock is read "
        "(gpu_sm_clock_mhz.gpuN, gpu_memory_clock_mhz.gpuN and calibrate's gpuN_sm_clock_mhz, "
        "gpuN_memory_clock_mhz are left out)",
        lib.name()));
  if (api.temperature == nullptr)
    notes.push_back(
        fmt::format("{} lacks nvmlDeviceGetTemperature: no GPU's temperature is read "
                    "(gpu_temperature_c.gpuN and calibrate's gpuN_temperature_c, "
                    "gpuN_temperature_rise_c_per_s are left out)",
                    lib.name()));
}

// Whether g's memory clock and temperature answer: one that answers NOT_SUPPORTED now is not
// read again, and a note says so (any other failure leaves it read: a sample that fails is
// only left out of the means).
void probe_readings(const Library& lib, Gpu& g, std::vector<std::string>& notes) {
  const Api& api = lib.api();
  unsigned value = 0;
  if (api.clock_info != nullptr) {
    if (Return r = api.clock_info(g.handle, kClockMem, &value); r == kNotSupported) {
      g.reads_memory_clock = false;
      notes.push_back(fmt::format(
          "{}: no memory clock: nvmlDeviceGetClockInfo(NVML_CLOCK_MEM) answers {} (gpu_memory_"
          "clock_mhz.{} and calibrate's {}_memory_clock_mhz are left out)",
          g.domain(), lib.error(r), g.domain(), g.domain()));
    }
  }
  if (api.temperature != nullptr) {
    if (Return r = api.temperature(g.handle, kTemperatureGpu, &value); r == kNotSupported) {
      g.reads_temperature = false;
      notes.push_back(fmt::format(
          "{}: no temperature: nvmlDeviceGetTemperature(NVML_TEMPERATURE_GPU) answers {} "
          "(gpu_temperature_c.{} and calibrate's {}_temperature_c, "
          "{}_temperature_rise_c_per_s are left out)",
          g.domain(), lib.error(r), g.domain(), g.domain(), g.domain()));
    }
  }
}

class NvmlSourceImpl final : public GpuSource {
 public:
  NvmlSourceImpl(std::unique_ptr<Library> lib, std::vector<Gpu> gpus)
      : lib_(std::move(lib)), gpus_(std::move(gpus)) {
    for (const auto& g : gpus_) infos_.push_back(g.info);
  }

  std::string method() const override { return method_of(gpus_.front().kind); }
  const std::vector<GpuInfo>& gpus() const override { return infos_; }
  void set_command_processes(CommandProcesses is_command) override {
    is_command_ = std::move(is_command);
  }
  int sample_ms() const override {
    for (const auto& g : gpus_)
      if (g.kind != EnergyKind::counter) return kIntegrateSampleMs;
    return kCounterSampleMs;
  }

  void start() override {
    double t = now_s();
    unsigned long long stamp = wall_us();
    for (auto& g : gpus_) {
      g.last_w.reset();
      read_energy(g, t);
      g.run.reset(t);
      g.interval.reset(t);
      g.last_seen_us = stamp;
      g.processes_seen_us = stamp;
      g.listed_command = g.listed_other = false;
    }
    share_notes_.clear();
  }

  void sample() override {
    double t = now_s();
    for (auto& g : gpus_) {
      // The counter too: a reset (it restarts from 0) is told from a reading that went back, so
      // the sooner it is read after one, the less of its energy is missed.
      read_energy(g, t);
      sample_activity(g);
      sample_processes(g);
    }
  }

  std::vector<EnergyReading> read_since_start() override {
    double t = now_s();
    std::vector<EnergyReading> machine, shares;
    last_activity_.clear();
    share_notes_.clear();
    for (auto& g : gpus_) {
      read_energy(g, t);
      // A run shorter than the sample period was never sampled: one reading at its end, as an
      // interval has (a longer run's mean is left as its samples give it).
      if (!g.run.sampled()) sample_activity(g);
      sample_processes(g, /*run_over=*/true);
      machine.push_back(reading(g, g.run, t));
      if (auto s = share(g.run, machine.back(), &share_notes_)) shares.push_back(*s);
      last_activity_.push_back(activity(g, g.run));
    }
    machine.insert(machine.end(), shares.begin(), shares.end());
    return machine;
  }

  std::vector<EnergyReading> read_interval() override {
    double t = now_s();
    std::vector<EnergyReading> machine, shares;
    last_activity_.clear();
    for (auto& g : gpus_) {
      read_energy(g, t);
      // A sample at the window's end: the session does not sample at a tick (the sources sample
      // in read_interval), so an interval as short as the sample period would have none.
      sample_activity(g);
      sample_processes(g);
      machine.push_back(reading(g, g.interval, t));
      if (auto s = share(g.interval, machine.back(), nullptr)) shares.push_back(*s);
      last_activity_.push_back(activity(g, g.interval));
      g.interval.reset(t);
      // The processes listed at its end were there when the next one began: an interval with
      // no list of its own while the command ran (the last, cut short by its end) still has them.
      g.interval.processes.command_seen = g.listed_command;
      g.interval.processes.other_seen = g.listed_other;
    }
    machine.insert(machine.end(), shares.begin(), shares.end());
    return machine;
  }

  void mark_interval() override {
    PowerSource::mark_interval();
    marked_activity_.push_back(last_activity_);
  }
  std::vector<std::vector<GpuActivity>> take_marked_activity() override {
    return std::exchange(marked_activity_, {});
  }
  std::vector<GpuActivity> last_activity() const override { return last_activity_; }

  std::vector<GpuProcesses> read_processes() override {
    std::vector<GpuProcesses> out;
    for (auto& g : gpus_) {
      GpuProcesses p;
      p.index = g.info.index;
      p.domain = g.domain();
      p.split = &kSmSplit;
      list_processes(g, p);
      if (!p.pids.empty()) process_sm(g, p);
      out.push_back(std::move(p));
    }
    return out;
  }

  std::vector<GpuReadProblem> read_problems() const override {
    std::vector<GpuReadProblem> out;
    for (const auto& g : gpus_)
      if (!g.read_error.empty()) out.push_back({"nvml", g.domain(), g.read_error});
    return out;
  }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    for (const auto& g : gpus_) out.push_back(method_note(g));
    out.push_back(kGpuDomainsNote);
    out.insert(out.end(), share_notes_.begin(), share_notes_.end());
    return out;
  }

 private:
  // Reads the energy reading of g at time t: the counter, or one more trapezoid of power.
  void read_energy(Gpu& g, double t) {
    const Api& api = lib_->api();
    if (g.kind == EnergyKind::counter) {
      Return r = kSuccess;
      if (auto mj = read_counter_mj(api, g.handle, &r)) {
        if (g.last_counter_mj) {
          uint64_t advance = 0;
          if (*mj >= *g.last_counter_mj) {
            advance = *mj - *g.last_counter_mj;
          } else if (double(*mj) <= max_advance_mj(g, t)) {
            advance = *mj;  // restarted from 0: what it counted since
            ++g.counter_resets;
          } else {
            ++g.counter_jumps;
          }
          g.run.counter_mj += advance;
          g.interval.counter_mj += advance;
        }
        g.last_counter_mj = *mj;
        g.last_counter_t = t;
        g.read_error.clear();
      } else {
        g.counter_failed = true;  // the last good value stands
        g.read_error = "nvmlDeviceGetTotalEnergyConsumption: " + lib_->error(r);
      }
      return;
    }
    auto w = g.kind == EnergyKind::instant ? read_instant_w(api, g.handle)
                                           : read_average_w(api, g.handle);
    if (!w) {
      g.read_error = g.kind == EnergyKind::instant
                         ? "the instant power field (NVML_FI_DEV_POWER_INSTANT) did not answer"
                         : "nvmlDeviceGetPowerUsage did not answer";
      return;
    }
    g.read_error.clear();
    if (g.last_w) {
      double j = (*w + *g.last_w) / 2 * std::max(0.0, t - g.last_t);
      g.run.integrated_j += j;
      g.interval.integrated_j += j;
    }
    g.last_w = w;
    g.last_t = t;
  }

  // The most a counter restarted from 0 can have counted since g's last reading: twice the
  // power limit (1 kW where it is unknown) over the time since, and one counter step.
  static double max_advance_mj(const Gpu& g, double t) {
    double watts = 2 * g.info.power_limit_w.value_or(1000);
    return watts * (std::max(0.0, t - g.last_counter_t) + kCounterStepS) * 1e3;
  }

  void sample_activity(Gpu& g) {
    const Api& api = lib_->api();
    Utilization u{};
    if (api.utilization != nullptr && api.utilization(g.handle, &u) == kSuccess) {
      for (Window* w : {&g.run, &g.interval}) {
        w->util_sum += u.gpu;
        w->memory_util_sum += u.memory;
        ++w->util_n;
      }
    }
    unsigned mhz = 0;
    if (api.clock_info != nullptr && api.clock_info(g.handle, kClockSm, &mhz) == kSuccess) {
      for (Window* w : {&g.run, &g.interval}) {
        w->clock_sum += mhz;
        ++w->clock_n;
      }
    }
    if (g.reads_memory_clock && api.clock_info != nullptr &&
        api.clock_info(g.handle, kClockMem, &mhz) == kSuccess) {
      for (Window* w : {&g.run, &g.interval}) {
        w->memory_clock_sum += mhz;
        ++w->memory_clock_n;
      }
    }
    unsigned celsius = 0;
    if (g.reads_temperature && api.temperature != nullptr &&
        api.temperature(g.handle, kTemperatureGpu, &celsius) == kSuccess) {
      double t = now_s();
      for (Window* w : {&g.run, &g.interval}) w->temperature.add(celsius, t, g.last_temperature);
      g.last_temperature = {double(celsius), t};
    }
  }

  // Which compute processes run on g now: the command's, others', and when both, their SM
  // shares since the last look.
  // run_over: the run's end, read once its command has ended: a list without the command then
  // describes what follows the run, and is not counted.
  void sample_processes(Gpu& g, bool run_over = false) {
    const Api& api = lib_->api();
    if (!is_command_ || api.compute_processes == nullptr) return;
    unsigned count = unsigned(procs_.size());
    Return r = api.compute_processes(g.handle, &count, procs_.data());
    if (r == kInsufficientSize) {
      procs_.resize(count + 8);
      count = unsigned(procs_.size());
      r = api.compute_processes(g.handle, &count, procs_.data());
    }
    if (r != kSuccess) return;
    bool command = false, other = false;
    for (unsigned i = 0; i < count && i < procs_.size(); ++i)
      (is_command_(procs_[i].pid) ? command : other) = true;
    g.listed_command = command;
    g.listed_other = other;
    if (run_over && !command) return;
    for (Window* w : {&g.run, &g.interval}) {
      w->processes.command_seen |= command;
      w->processes.other_seen |= other;
    }
    // Whoever is listed: the split weighs the command's use against the others' over the whole
    // window, so the time either side computed alone counts too (a split from only the moments
    // both were listed would give the command the shared moments' fraction of all its energy).
    if (command || other) sample_process_utilization(g);
  }

  void sample_process_utilization(Gpu& g) {
    const Api& api = lib_->api();
    if (api.process_utilization == nullptr) return;
    unsigned count = unsigned(util_samples_.size());
    Return r = api.process_utilization(g.handle, util_samples_.data(), &count, g.last_seen_us);
    if (r == kInsufficientSize) {
      util_samples_.resize(count + 8);
      count = unsigned(util_samples_.size());
      r = api.process_utilization(g.handle, util_samples_.data(), &count, g.last_seen_us);
    }
    // NOT_FOUND: no sample newer than the last one, which is not an error.
    if (r != kSuccess) return;
    for (unsigned i = 0; i < count && i < util_samples_.size(); ++i) {
      const auto& s = util_samples_[i];
      if (s.time_stamp_us <= g.last_seen_us) continue;
      bool mine = is_command_(s.pid);
      for (Window* w : {&g.run, &g.interval}) {
        (mine ? w->processes.command_use : w->processes.other_use) += s.sm_util;
        ++w->processes.use_samples;
      }
    }
    for (unsigned i = 0; i < count && i < util_samples_.size(); ++i)
      g.last_seen_us = std::max(g.last_seen_us, util_samples_[i].time_stamp_us);
  }

  void list_processes(const Gpu& g, GpuProcesses& p) {
    const Api& api = lib_->api();
    if (api.compute_processes == nullptr) return;
    unsigned count = unsigned(procs_.size());
    Return r = api.compute_processes(g.handle, &count, procs_.data());
    if (r == kInsufficientSize) {
      procs_.resize(count + 8);
      count = unsigned(procs_.size());
      r = api.compute_processes(g.handle, &count, procs_.data());
    }
    if (r != kSuccess) return;
    p.listed = true;
    for (unsigned i = 0; i < count && i < procs_.size(); ++i) p.pids.push_back(procs_[i].pid);
  }

  void process_sm(Gpu& g, GpuProcesses& p) {
    const Api& api = lib_->api();
    if (api.process_utilization == nullptr) return;
    unsigned count = unsigned(util_samples_.size());
    Return r = api.process_utilization(g.handle, util_samples_.data(), &count, g.processes_seen_us);
    if (r == kInsufficientSize) {
      util_samples_.resize(count + 8);
      count = unsigned(util_samples_.size());
      r = api.process_utilization(g.handle, util_samples_.data(), &count, g.processes_seen_us);
    }
    if (r != kSuccess) return;  // NOT_FOUND: no sample newer than the last look
    unsigned long long newest = g.processes_seen_us;
    for (unsigned i = 0; i < count && i < util_samples_.size(); ++i) {
      const auto& s = util_samples_[i];
      newest = std::max(newest, s.time_stamp_us);
      if (s.time_stamp_us <= g.processes_seen_us) continue;
      auto it =
          std::find_if(p.use.begin(), p.use.end(), [&](const auto& e) { return e.first == s.pid; });
      if (it == p.use.end())
        p.use.emplace_back(s.pid, double(s.sm_util));
      else
        it->second += s.sm_util;
      ++p.use_samples;
    }
    g.processes_seen_us = newest;
  }

  EnergyReading reading(const Gpu& g, const Window& w, double t) const {
    EnergyReading e;
    e.domain = g.domain();
    e.method = method_of(g.kind);
    double window_s = std::max(0.0, t - w.start_s);
    e.joules = g.kind == EnergyKind::counter ? double(w.counter_mj) / 1e3 : w.integrated_j;
    e.average_watts = window_s > 0 ? e.joules / window_s : 0;
    double edge = window_s > 0 ? 1.0 / window_s : 1.0;
    switch (g.kind) {
      case EnergyKind::counter:
        e.uncertainty = std::min(1.0, kCounterStepS * edge);
        break;
      case EnergyKind::instant:
        e.uncertainty = std::min(1.0, kInstantUncertainty + kIntegrateSampleMs / 1e3 * edge);
        break;
      case EnergyKind::average:
        e.uncertainty = std::min(1.0, kAverageUncertainty + kAverageLagS * edge);
        break;
    }
    return e;
  }

  std::optional<EnergyReading> share(const Window& w, const EnergyReading& machine,
                                     std::vector<std::string>* notes) const {
    if (!is_command_) return std::nullopt;
    return command_share(w.processes, machine, kSmSplit, notes);
  }

  static GpuActivity activity(const Gpu& g, const Window& w) {
    GpuActivity a;
    a.index = g.info.index;
    a.domain = g.domain();
    if (w.util_n > 0) {
      a.util_pct = w.util_sum / w.util_n;
      a.memory_util_pct = w.memory_util_sum / w.util_n;
    }
    if (w.clock_n > 0) a.sm_clock_mhz = w.clock_sum / w.clock_n;
    if (w.memory_clock_n > 0) a.memory_clock_mhz = w.memory_clock_sum / w.memory_clock_n;
    w.temperature.fill(a);
    return a;
  }

  std::string method_note(const Gpu& g) const {
    std::string what = fmt::format("{} ({}{}{})", g.domain(), g.info.name,
                                   g.info.uuid.empty() ? "" : ", ", g.info.uuid);
    switch (g.kind) {
      case EnergyKind::counter:
        return what + ": energy from NVML's energy counter (nvmlDeviceGetTotalEnergyConsumption, " +
               "mJ; it advances about every 100 ms, so each end of a window may be off by one "
               "step)" +
               (g.counter_failed ? "; a read failed during the run and the last value was kept"
                                 : "") +
               (g.counter_resets > 0
                    ? fmt::format("; it went back {} time(s) (a driver reload or GPU reset "
                                  "restarts it from 0): each time its reading was taken as its "
                                  "advance, so up to one sample period ({} ms) of energy may be "
                                  "missing",
                                  g.counter_resets, kCounterSampleMs)
                    : "") +
               (g.counter_jumps > 0
                    ? fmt::format("; it went back {} time(s) to more than it could have counted "
                                  "since its last reading (no restart from 0): nothing is "
                                  "counted across those",
                                  g.counter_jumps)
                    : "");
      case EnergyKind::instant:
        return what +
               ": the energy counter does not answer, so energy integrates the instant "
               "power field (NVML_FI_DEV_POWER_INSTANT) sampled every " +
               std::to_string(kIntegrateSampleMs) + " ms (±5%)";
      case EnergyKind::average:
        return what +
               ": neither the energy counter nor the instant power field answers, so "
               "energy integrates nvmlDeviceGetPowerUsage, which on recent GPUs is a ~1 s "
               "moving average: it lags the load (40-90% high in the seconds after a load "
               "ends on an H200), hence ±15% plus 1 s of the window";
    }
    return what;
  }

  std::unique_ptr<Library> lib_;
  std::vector<Gpu> gpus_;
  std::vector<GpuInfo> infos_;
  CommandProcesses is_command_;
  std::vector<ProcessInfo> procs_ = std::vector<ProcessInfo>(16);
  std::vector<ProcessUtilizationSample> util_samples_ = std::vector<ProcessUtilizationSample>(16);
  std::vector<GpuActivity> last_activity_;
  std::vector<std::vector<GpuActivity>> marked_activity_;
  std::vector<std::string> share_notes_;
};

}  // namespace

GpuChoice open_nvml_gpus(const GpuSelection& selection, unsigned first_index) {
  GpuChoice choice;
  if (selection.kind == GpuSelection::Kind::none) {
    choice.reason_if_none = "GPUs not measured (--gpus none)";
    return choice;
  }
  auto lib = std::make_unique<Library>();
  choice.library_found = lib->found();
  if (!lib->usable()) {
    choice.reason_if_none = "no NVIDIA GPU read: " + lib->problem();
    return choice;
  }
  const Api& api = lib->api();
  unsigned count = 0;
  if (Return r = api.device_count(&count); r != kSuccess) {
    choice.reason_if_none = "no NVIDIA GPU read: nvmlDeviceGetCount_v2: " + lib->error(r);
    return choice;
  }
  choice.counted = true;
  choice.seen = count;
  std::vector<unsigned> wanted;  // NVML indices
  for (unsigned k = 0; k < count; ++k)
    if (selects(selection, first_index + k)) wanted.push_back(k);
  if (wanted.empty()) {
    choice.reason_if_none = count == 0 ? "no NVIDIA GPU read: NVML sees no GPU"
                                       : "no NVIDIA GPU read: none selected (--gpus)";
    return choice;
  }
  if (!lib->optional_missing().empty())
    choice.notes.push_back(fmt::format(
        "{} lacks {}: what each gives (energy counter, instant power, utilisation, clocks, "
        "limits, memory, processes, driver version) is not read",
        lib->name(), fmt::join(lib->optional_missing(), ", ")));
  note_missing_readings(*lib, choice.notes);
  std::string driver = lib->driver();
  std::vector<Gpu> gpus;
  for (unsigned k : wanted) {
    Probe p = probe_gpu(*lib, k, driver);
    unsigned i = first_index + k;
    p.info.index = i;
    if (!p.kind) {
      choice.notes.push_back(fmt::format("gpu{} ({}): no power reading answers ({}): not measured",
                                         i, p.info.name, p.counter_problem));
      continue;
    }
    if (*p.kind != EnergyKind::counter)
      choice.notes.push_back(fmt::format("gpu{}: no energy counter: {}", i, p.counter_problem));
    Gpu g;
    g.info = p.info;
    g.handle = p.handle;
    g.kind = *p.kind;
    probe_readings(*lib, g, choice.notes);
    gpus.push_back(std::move(g));
  }
  if (gpus.empty()) {
    choice.reason_if_none = "no NVIDIA GPU read: none answers";
    return choice;
  }
  choice.source = std::make_unique<NvmlSourceImpl>(std::move(lib), std::move(gpus));
  return choice;
}

GpuChoice open_nvml_source(const GpuSelection& selection) {
  GpuChoice choice = open_nvml_gpus(selection, 0);
  check_gpu_selection(selection, {{"NVML", &choice}});
  return choice;
}

GpuLibraryStatus nvml_status() {
  GpuLibraryStatus st;
  Library lib;
  st.library = lib.name();
  // Found but not initialised (nvmlInit_v2 refused, a required symbol missing) is loaded with a
  // problem: doctor then gives the driver's or the permission's fix, not the library's.
  st.loaded = lib.found();
  if (!lib.usable()) {
    st.problem = lib.problem();
    return st;
  }
  st.driver = lib.driver();
  unsigned count = 0;
  if (Return r = lib.api().device_count(&count); r != kSuccess) {
    st.problem = "nvmlDeviceGetCount_v2: " + lib.error(r);
    return st;
  }
  for (unsigned i = 0; i < count; ++i) {
    Probe p = probe_gpu(lib, i, st.driver);
    if (!p.kind)
      p.info.energy_method = "none (" + p.counter_problem + ")";
    else if (*p.kind != EnergyKind::counter)
      p.info.energy_method += " (no energy counter: " + p.counter_problem + ")";
    st.gpus.push_back(p.info);
  }
  if (count == 0) st.problem = "NVML sees no GPU";
  return st;
}

}  // namespace pmc
