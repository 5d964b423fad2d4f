#include "engine/power/amdsmi.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pmc {

// The few AMD SMI declarations used here, as AMD's amdsmi.h documents them (AMD SMI C++ API
// reference: "Initialization and Shutdown", "Discovery Queries", "Power Queries", "Clock,
// Power and Performance Queries"); declared rather than included so that no ROCm is needed to
// build. The info structs have grown between ROCm releases, but the field read here has stayed
// first in each (market_name, gfx_activity/umc_activity, the current clock, power_cap,
// driver_version), so each is read into a buffer larger than any release's struct.
namespace amdsmi_api {

using Status = int;  // amdsmi_status_t
constexpr Status kSuccess = 0;
constexpr Status kNotSupported = 2;
constexpr Status kNoPerm = 10;
constexpr Status kOutOfResources = 15;  // a list filled, but more entries exist
using Handle = void*;                   // amdsmi_socket_handle, amdsmi_processor_handle

constexpr uint64_t kInitAmdGpus = 1u << 1;  // AMDSMI_INIT_AMD_GPUS
constexpr int kClockSys = 0;                // AMDSMI_CLK_TYPE_SYS, the graphics clock
constexpr int kClockMem = 4;                // AMDSMI_CLK_TYPE_MEM, the memory clock
constexpr int kMemoryVram = 0;              // AMDSMI_MEM_TYPE_VRAM
// amdsmi_temperature_type_t: the junction (hotspot, the die's hottest point, the counterpart of
// NVML_TEMPERATURE_GPU) is read, or the edge sensor on a part without it; AMDSMI_TEMP_CURRENT of
// amdsmi_temperature_metric_t. The unit of the value, by release (github.com/ROCm/amdsmi,
// include/amd_smi/amdsmi.h and src/amd_smi/amd_smi.cc at the rocm-* tags; read_temperature_c
// takes both units):
// - ROCm 5.5: the function is amdsmi_dev_get_temp_metric (not bound here) and passes on
//   rsmi_dev_temp_metric_get's millidegrees, as its header says.
// - ROCm 5.6 on: the library divides rocm_smi's millidegrees by 1000 (SWDEV-381227, "SMILIB
//   returns wrong temperature value", commit db9d879 of 2023-02-21): whole °C, the fraction
//   dropped. From 5.7 the function is amdsmi_get_temp_metric. The header still said "in
//   millidegrees Celcius" through rocm-6.2.2 and the tree of 2024-10-23; a later amdsmi.h (the
//   one filing it under "GPU Monitoring", as rocm.docs.amd.com/projects/amdsmi/en/latest does)
//   says "the temperature is in Celsius".
// Not checked on real AMD hardware: docs/energy.md.
constexpr int kTemperatureEdge = 0;     // AMDSMI_TEMPERATURE_TYPE_EDGE
constexpr int kTemperatureHotspot = 1;  // AMDSMI_TEMPERATURE_TYPE_HOTSPOT (= _JUNCTION)
constexpr int kTemperatureCurrent = 0;  // AMDSMI_TEMP_CURRENT
constexpr unsigned kNameLength = 256;   // AMDSMI_256_LENGTH, market_name's longest
constexpr unsigned kUuidLength = 38;    // AMDSMI_GPU_UUID_SIZE

// Room for any release's amdsmi_asic_info_t, amdsmi_driver_info_t and the smaller structs.
struct alignas(8) InfoBuffer {
  unsigned char bytes[4096];
};
struct EngineUsage {  // amdsmi_engine_usage_t's leading fields, percent
  uint32_t gfx_activity;
  uint32_t umc_activity;
};
// amdsmi_power_info_t's leading fields as amdsmi.h lays them out since ROCm 6.2, in watts;
// current_socket_power answers on MI300 and later, and a member a GPU does not support reads
// UINT32_MAX. Releases before 6.2 began the struct with two 32-bit fields (current and average
// socket power), which read here as a socket_power of 2^32 or more.
struct PowerInfoHead {
  uint64_t socket_power;
  uint32_t current_socket_power;
  uint32_t average_socket_power;
};
// amdsmi_proc_info_t as amdsmi.h lays it out since ROCm 6.1 (AMDSMI_MAX_STRING_LENGTH 64, 320
// bytes): the process list's stride. engine_usage.gfx is the GFX engine time the process has
// used on the GPU, in ns.
struct ProcInfo {
  char name[64];
  uint32_t pid;
  uint64_t mem;
  uint64_t gfx_ns;
  uint64_t enc_ns;
  uint32_t engine_reserved[12];
  uint64_t gtt_mem, cpu_mem, vram_mem;
  uint32_t memory_reserved[10];
  char container_name[64];
  uint32_t cu_occupancy;
  uint32_t evicted_time;
  uint32_t reserved[10];
};
static_assert(sizeof(ProcInfo) == 320, "amdsmi_proc_info_t is 320 bytes");

struct Api {
  Status (*init)(uint64_t);
  Status (*shut_down)();
  Status (*socket_handles)(uint32_t*, Handle*);
  Status (*processor_handles)(Handle, uint32_t*, Handle*);
  // Optional: each absent one loses only its own feature.
  Status (*energy_count)(Handle, uint64_t*, float*, uint64_t*);
  Status (*status_string)(Status, const char**);
  Status (*asic_info)(Handle, void*);
  Status (*device_uuid)(Handle, unsigned*, char*);
  Status (*activity)(Handle, void*);
  Status (*clock_info)(Handle, int, void*);
  Status (*power_cap_info)(Handle, uint32_t, void*);
  Status (*memory_total)(Handle, int, uint64_t*);
  Status (*driver_info)(Handle, void*);
  Status (*power_info)(Handle, void*);
  Status (*process_list)(Handle, uint32_t*, ProcInfo*);
  Status (*temp_metric)(Handle, int, int, int64_t*);
};

}  // namespace amdsmi_api

namespace {

using namespace amdsmi_api;
using Clock = std::chrono::steady_clock;

// The names ROCm's packages give the library (libamd_smi.so links to the versioned file; 6.x
// ships .so.24 and later releases higher), then its install directory, which not every system
// puts on the loader's path.
constexpr const char* kDefaultLibraries[] = {"libamd_smi.so", "libamd_smi.so.26",
                                             "libamd_smi.so.25", "libamd_smi.so.24",
                                             "/opt/rocm/lib/libamd_smi.so"};

constexpr int kSampleMs = 100;
// While a GPU's power is integrated: 20 Hz nominal, so that >= 10 Hz holds when a sample is late.
constexpr int kIntegrateSampleMs = 50;
// Judgements, stated in docs/energy.md (not measured on an AMD GPU here): the firmware refreshes
// the accumulator at least every 100 ms, so each end of a window is off by at most that much;
// the current socket power sampled at 20 Hz misses what changes faster (±5 %, as NVML's instant
// field), and AMD SMI gives it in whole watts (±0.5 W).
constexpr double kCounterStepS = 0.1;
constexpr double kPowerUncertainty = 0.05;
constexpr double kPowerResolutionW = 0.5;
// Above any accelerator's draw: a larger value is not a reading.
constexpr uint32_t kMostWatts = 5000;
// A shared GPU split by the GFX engine time each process used over the window (the process
// list's engine_usage.gfx); idle and memory power split the same way (±25 %, as NVML's SM split).
const ShareSplit kGfxSplit{
    "gfx-time", "AMD SMI", "amdsmi_get_gpu_process_list gave no GFX engine time to split it by",
    [](int samples, double percent) {
      return fmt::format(
          "the GFX engine time each process used in {} listings of amdsmi_get_gpu_process_list: "
          "the command's {:.1f}% of the engine time they used",
          samples, percent);
    },
    0.25};

// The loaded library and its initialisation; amdsmi_shut_down when destroyed. Never unloaded
// (RTLD_NODELETE): the library keeps threads of its own.
class Library {
 public:
  Library() {
    void* handle = open();
    if (handle == nullptr) return;
    found_ = true;
    std::vector<std::string> missing;
    bind_gpu_symbol(handle, "amdsmi_init", api_.init, &missing);
    bind_gpu_symbol(handle, "amdsmi_shut_down", api_.shut_down, &missing);
    bind_gpu_symbol(handle, "amdsmi_get_socket_handles", api_.socket_handles, &missing);
    bind_gpu_symbol(handle, "amdsmi_get_processor_handles", api_.processor_handles, &missing);
    if (!missing.empty()) {
      problem_ = name_ + " lacks " + fmt::format("{}", fmt::join(missing, ", ")) +
                 " (not AMD SMI, or older than ROCm 6)";
      return;
    }
    bind_gpu_symbol(handle, "amdsmi_get_energy_count", api_.energy_count, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_status_code_to_string", api_.status_string, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_gpu_asic_info", api_.asic_info, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_gpu_device_uuid", api_.device_uuid, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_gpu_activity", api_.activity, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_clock_info", api_.clock_info, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_power_cap_info", api_.power_cap_info, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_gpu_memory_total", api_.memory_total, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_gpu_driver_info", api_.driver_info, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_power_info", api_.power_info, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_gpu_process_list", api_.process_list, &optional_missing_);
    bind_gpu_symbol(handle, "amdsmi_get_temp_metric", api_.temp_metric, &optional_missing_);
    // Before ROCm 6.1 the process list gave handles, read one by one with
    // amdsmi_get_gpu_process_info: that form is not read.
    if (api_.process_list != nullptr &&
        gpu_symbol(handle, "amdsmi_get_gpu_process_info", nullptr) != nullptr) {
      api_.process_list = nullptr;
      older_process_list_ = true;
    }
    Status r = api_.init(kInitAmdGpus);
    if (r != kSuccess) {
      problem_ = fmt::format("amdsmi_init failed: {} (AMD SMI status {}){}", error(r), r,
                             r == kNoPerm ? "; this user may not open /dev/kfd or /dev/dri" : "");
      return;
    }
    initialised_ = true;
  }
  ~Library() {
    if (initialised_) api_.shut_down();
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  bool found() const { return found_; }
  bool usable() const { return initialised_; }
  const std::string& name() const { return name_; }
  const std::string& problem() const { return problem_; }
  const Api& api() const { return api_; }
  const std::vector<std::string>& optional_missing() const { return optional_missing_; }
  bool older_process_list() const { return older_process_list_; }
  std::string error(Status r) const {
    const char* s = nullptr;
    if (api_.status_string != nullptr && api_.status_string(r, &s) == kSuccess && s != nullptr)
      return s;
    return fmt::format("status {}", r);
  }

 private:
  // AMD SMI reaches GPUs only through the kernel driver's /dev/kfd.
  void* open() {
    GpuLibrary lib = load_gpu_library(
        "PMCMODEL_AMDSMI_LIBRARY",
        std::vector<const char*>(std::begin(kDefaultLibraries), std::end(kDefaultLibraries)),
        {"/dev/kfd"});
    name_ = lib.name;
    problem_ = lib.problem;
    return lib.handle;
  }

  std::string name_;
  std::string problem_;
  Api api_{};
  bool found_ = false;
  bool initialised_ = false;
  bool older_process_list_ = false;
  std::vector<std::string> optional_missing_;
};

struct Counter {
  uint64_t raw = 0;
  double resolution_uj = 0;
};

std::optional<Counter> read_counter(const Api& api, Handle h, Status* status = nullptr) {
  if (api.energy_count == nullptr) return std::nullopt;
  uint64_t raw = 0, stamp = 0;
  float resolution = 0;
  Status r = api.energy_count(h, &raw, &resolution, &stamp);
  if (status != nullptr) *status = r;
  if (r != kSuccess || !(resolution > 0)) return std::nullopt;
  return Counter{raw, double(resolution)};
}

// The current socket power in watts, or nullopt where it does not answer: not supported, 0 (no
// accelerator draws nothing), implausible, or a struct of the layout before ROCm 6.2.
std::optional<double> read_power_w(const Api& api, Handle h, Status* status = nullptr) {
  if (api.power_info == nullptr) return std::nullopt;
  InfoBuffer buf{};
  Status r = api.power_info(h, &buf);
  if (status != nullptr) *status = r;
  if (r != kSuccess) return std::nullopt;
  PowerInfoHead p{};
  std::memcpy(&p, buf.bytes, sizeof p);
  if (p.socket_power >= (uint64_t(1) << 32)) return std::nullopt;
  uint32_t w = p.current_socket_power;
  if (w == 0 || w > kMostWatts) return std::nullopt;
  return double(w);
}

// The temperature of `sensor` in °C, or nullopt where it does not answer or gives no reading.
std::optional<double> read_temperature_c(const Api& api, Handle h, int sensor,
                                         Status* status = nullptr) {
  if (api.temp_metric == nullptr) return std::nullopt;
  int64_t value = 0;
  Status r = api.temp_metric(h, sensor, kTemperatureCurrent, &value);
  if (status != nullptr) *status = r;
  if (r != kSuccess) return std::nullopt;
  // No GPU reads 1000 °C: a value from 1000 up is millidegrees (a library that does what the
  // header's old text says), anything below whole °C (what every release with this symbol
  // returns). 65535 is an all-ones uint16, what a gpu_metrics field the GPU does not fill reads
  // (Linux's smu_cmn_init_soft_gpu_metrics fills the table with 0xFF; AMD SMI reads its PLX
  // sensor from gpu_metrics), so it is no reading in either unit; nor is anything below -40 °C or
  // from 200 °C up.
  if (value == 65535) return std::nullopt;
  double c = value >= 1000 ? double(value) / 1000 : double(value);
  if (c < -40 || c >= 200) return std::nullopt;
  return c;
}

// One AMD SMI processor: its socket (dies of one package share it) and its place in the
// numbering.
struct Processor {
  Handle handle = nullptr;
  unsigned socket = 0;
  unsigned index = 0;  // first_index + its position
};

// Every processor of every socket, in AMD SMI's order; empty with `problem` set when a listing
// fails.
std::vector<Processor> list_processors(const Library& lib, unsigned first_index,
                                       std::string& problem) {
  const Api& api = lib.api();
  uint32_t sockets = 0;
  if (Status r = api.socket_handles(&sockets, nullptr); r != kSuccess) {
    problem = "amdsmi_get_socket_handles: " + lib.error(r);
    return {};
  }
  std::vector<Handle> socket_handles(sockets);
  if (Status r = api.socket_handles(&sockets, socket_handles.data()); r != kSuccess) {
    problem = "amdsmi_get_socket_handles: " + lib.error(r);
    return {};
  }
  socket_handles.resize(std::min<size_t>(sockets, socket_handles.size()));
  std::vector<Processor> out;
  for (unsigned s = 0; s < socket_handles.size(); ++s) {
    uint32_t n = 0;
    if (Status r = api.processor_handles(socket_handles[s], &n, nullptr); r != kSuccess) {
      problem = "amdsmi_get_processor_handles: " + lib.error(r);
      return {};
    }
    std::vector<Handle> handles(n);
    if (Status r = api.processor_handles(socket_handles[s], &n, handles.data()); r != kSuccess) {
      problem = "amdsmi_get_processor_handles: " + lib.error(r);
      return {};
    }
    handles.resize(std::min<size_t>(n, handles.size()));
    for (Handle h : handles) out.push_back({h, s, first_index + unsigned(out.size())});
  }
  return out;
}

std::string leading_string(const InfoBuffer& b, size_t max) {
  const char* s = reinterpret_cast<const char*>(b.bytes);
  return std::string(s, strnlen(s, std::min(max, sizeof b.bytes)));
}

GpuInfo describe(const Library& lib, const Processor& p) {
  const Api& api = lib.api();
  GpuInfo info;
  info.index = p.index;
  InfoBuffer buf{};
  if (api.asic_info != nullptr && api.asic_info(p.handle, &buf) == kSuccess)
    info.name = leading_string(buf, kNameLength);
  if (info.name.empty()) info.name = "AMD GPU";
  char uuid[kUuidLength + 26] = {};
  unsigned length = sizeof uuid - 1;
  if (api.device_uuid != nullptr && api.device_uuid(p.handle, &length, uuid) == kSuccess)
    info.uuid = std::string(uuid, strnlen(uuid, sizeof uuid - 1));
  buf = InfoBuffer{};
  if (api.driver_info != nullptr && api.driver_info(p.handle, &buf) == kSuccess)
    info.driver = leading_string(buf, kNameLength);
  buf = InfoBuffer{};
  if (api.power_cap_info != nullptr && api.power_cap_info(p.handle, 0, &buf) == kSuccess) {
    uint64_t cap_uw = 0;  // power_cap, µW
    std::memcpy(&cap_uw, buf.bytes, sizeof cap_uw);
    if (cap_uw > 0) info.power_limit_w = double(cap_uw) / 1e6;
  }
  uint64_t bytes = 0;
  if (api.memory_total != nullptr && api.memory_total(p.handle, kMemoryVram, &bytes) == kSuccess &&
      bytes > 0)
    info.memory_mib = double(bytes) / (1024.0 * 1024.0);
  return info;
}

double now_s() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

struct Window {
  double start_s = 0;
  double start_uj = 0;
  double integrated_j = 0;  // the power integrated over the window
  double util_sum = 0, memory_util_sum = 0, clock_sum = 0, memory_clock_sum = 0;
  int util_n = 0, clock_n = 0, memory_clock_n = 0;
  TemperatureWindow temperature;
  // Whether any activity reading was taken in the window.
  bool sampled() const {
    return util_n > 0 || clock_n > 0 || memory_clock_n > 0 || temperature.readings > 0;
  }
  ProcessWindow processes;  // use: GFX engine ns
  void reset(double t, double uj) {
    *this = Window{};
    start_s = t;
    start_uj = uj;
  }
};

// A die on the same socket, for telling a die that reads 0 because its sibling reports the
// package from one whose counter does not count.
struct Sibling {
  unsigned index = 0;
  Handle handle = nullptr;
  uint64_t raw_at_open = 0;
  bool selected = false;
};

struct Gpu {
  GpuInfo info;
  Handle handle = nullptr;
  double resolution_uj = 0;
  uint64_t last_raw = 0;
  double total_uj = 0;               // the accumulator's advance since the source opened, unwrapped
  bool zero_so_far = true;           // every read of the accumulator gave 0
  std::optional<unsigned> reporter;  // the sibling that reports this die's energy too
  std::vector<Sibling> siblings;
  unsigned wraps = 0, resets = 0;
  bool counter_failed = false;
  std::string read_error;         // why the last energy read failed; empty when it did not
  bool integrates_power = false;  // no energy counter: the current socket power integrated
  std::optional<double> last_w;
  double last_t = 0;
  unsigned power_misses = 0;            // samples at which the power did not answer
  std::map<unsigned, uint64_t> gfx_ns;  // each listed process's GFX engine time at the last look
  // Whose processes the last list showed: they were on the GPU when the next interval began.
  bool listed_command = false, listed_other = false;
  std::map<unsigned, uint64_t> read_gfx_ns;  // the same, at the last read_processes()
  // The sensor whose temperature is read (kTemperatureHotspot or kTemperatureEdge); none where
  // neither answered when the source opened, which a note says.
  std::optional<int> temperature_sensor;
  std::optional<std::pair<double, double>> last_temperature;  // °C and when, at the last sample
  Window run, interval;
  std::string domain() const { return "gpu" + std::to_string(info.index); }
  // A die whose counter never counted gets no reading: not 0 W.
  bool has_reading() const { return integrates_power || !zero_so_far; }
};

// Which of g's sensors gives its temperature: the junction, else the edge. Where neither answers
// (NOT_SUPPORTED, as in VM guests, or any other failure) the temperature is not read, and a note
// says so; a library without amdsmi_get_temp_metric gets the library's note instead.
void probe_temperature(const Library& lib, Gpu& g, std::vector<std::string>& notes) {
  if (lib.api().temp_metric == nullptr) return;
  Status status = kSuccess;
  for (int sensor : {kTemperatureHotspot, kTemperatureEdge}) {
    if (read_temperature_c(lib.api(), g.handle, sensor, &status)) {
      g.temperature_sensor = sensor;
      return;
    }
  }
  notes.push_back(fmt::format(
      "{}: no temperature: amdsmi_get_temp_metric answers {} for the junction and edge sensors "
      "(gpu_temperature_c.{} and calibrate's {}_temperature_c, {}_temperature_rise_c_per_s are "
      "left out)",
      g.domain(), status == kSuccess ? "no reading" : lib.error(status), g.domain(), g.domain(),
      g.domain()));
}

class AmdSmiSource final : public GpuSource {
 public:
  AmdSmiSource(std::unique_ptr<Library> lib, std::vector<Gpu> gpus)
      : lib_(std::move(lib)), gpus_(std::move(gpus)) {
    for (const auto& g : gpus_) infos_.push_back(g.info);
  }

  std::string method() const override { return method_of(gpus_.front()); }
  const std::vector<GpuInfo>& gpus() const override { return infos_; }
  void set_command_processes(CommandProcesses is_command) override {
    is_command_ = std::move(is_command);
  }
  int sample_ms() const override {
    for (const auto& g : gpus_)
      if (g.integrates_power) return kIntegrateSampleMs;
    return kSampleMs;
  }

  void start() override {
    double t = now_s();
    share_notes_.clear();
    for (auto& g : gpus_) {
      g.last_w.reset();
      read_energy(g, t);
      g.gfx_ns.clear();
      g.listed_command = g.listed_other = false;
      if (is_command_) list_processes(g, false);  // the processes already there: their baseline
      g.read_gfx_ns.clear();
      if (auto n = list(g)) advance_gfx(g.read_gfx_ns, *n, nullptr);
      g.run.reset(t, g.total_uj);
      g.interval.reset(t, g.total_uj);
    }
  }

  void sample() override {
    double t = now_s();
    for (auto& g : gpus_) {
      read_energy(g, t);
      sample_activity(g);
      if (is_command_) list_processes(g, true);
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
      if (is_command_) list_processes(g, true, /*run_over=*/true);
      if (g.has_reading()) {
        machine.push_back(reading(g, g.run, t));
        if (auto s = share(g.run, machine.back(), &share_notes_)) shares.push_back(*s);
      }
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
      if (is_command_) list_processes(g, true);
      if (g.has_reading()) {
        machine.push_back(reading(g, g.interval, t));
        if (auto s = share(g.interval, machine.back(), nullptr)) shares.push_back(*s);
      }
      last_activity_.push_back(activity(g, g.interval));
      g.interval.reset(t, g.total_uj);
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
      p.split = &kGfxSplit;
      if (auto n = list(g)) {
        p.listed = true;
        for (uint32_t i = 0; i < *n; ++i) p.pids.push_back(procs_[i].pid);
        advance_gfx(g.read_gfx_ns, *n, &p.use);
        p.use_samples = 1;
      }
      out.push_back(std::move(p));
    }
    return out;
  }

  std::vector<GpuReadProblem> read_problems() const override {
    std::vector<GpuReadProblem> out;
    for (const auto& g : gpus_)
      if (!g.read_error.empty()) out.push_back({"amdsmi", g.domain(), g.read_error});
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
  static std::string method_of(const Gpu& g) {
    return g.integrates_power ? "measured:amdsmi-power" : "measured:amdsmi";
  }

  // The reading of g at time t: the accumulator, or one more trapezoid of power.
  void read_energy(Gpu& g, double t) {
    if (!g.integrates_power) {
      read_counter_energy(g);
      return;
    }
    Status r = kSuccess;
    auto w = read_power_w(lib_->api(), g.handle, &r);
    if (!w) {
      ++g.power_misses;  // the trapezoid spans the gap to the next reading
      g.read_error = r == kSuccess ? "amdsmi_get_power_info gave no current socket power"
                                   : "amdsmi_get_power_info: " + lib_->error(r);
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

  // The processes on g now: whether the command's and others' are there, and the GFX engine
  // time each side used since the last look (a process first seen after start() counts
  // all of its time, which it used since it started). `count` false takes the baseline only.
  // run_over: the run's end, read once its command has ended: a list without the command then
  // describes what follows the run, and is not counted.
  void list_processes(Gpu& g, bool count, bool run_over = false) {
    auto n = list(g);
    if (!n) return;
    std::vector<std::pair<unsigned, double>> used;
    advance_gfx(g.gfx_ns, *n, &used);
    bool command = false, other = false;
    double command_ns = 0, other_ns = 0;
    for (const auto& [pid, ns] : used) {
      bool mine = is_command_(pid);
      (mine ? command : other) = true;
      (mine ? command_ns : other_ns) += ns;
    }
    if (count) {
      g.listed_command = command;
      g.listed_other = other;
    }
    if (!count || (run_over && !command)) return;
    for (Window* w : {&g.run, &g.interval}) {
      w->processes.command_seen |= command;
      w->processes.other_seen |= other;
      // Whoever is listed: the time either side used the engine alone counts in the split too
      // (a split from only the moments both were listed would give the command the shared
      // moments' fraction of all its energy).
      if (command || other) {
        w->processes.command_use += command_ns;
        w->processes.other_use += other_ns;
        ++w->processes.use_samples;
      }
    }
  }

  // The processes on g now, into procs_: how many, or nullopt when the list does not answer.
  std::optional<uint32_t> list(const Gpu& g) {
    const Api& api = lib_->api();
    if (api.process_list == nullptr) return std::nullopt;
    uint32_t n = uint32_t(procs_.size());
    Status r = api.process_list(g.handle, &n, procs_.data());
    if (r == kOutOfResources && n > procs_.size()) {
      procs_.resize(n + 8);
      n = uint32_t(procs_.size());
      r = api.process_list(g.handle, &n, procs_.data());
    }
    if (r != kSuccess) return std::nullopt;
    return std::min<uint32_t>(n, uint32_t(procs_.size()));
  }

  // The GFX engine time each of the first n listed processes used since `last` saw it (a process
  // first seen counts all of its time, which it used since it started), into `used` (when given);
  // `last` then holds the times now.
  void advance_gfx(std::map<unsigned, uint64_t>& last, uint32_t n,
                   std::vector<std::pair<unsigned, double>>* used) {
    for (uint32_t i = 0; i < n; ++i) {
      const ProcInfo& p = procs_[i];
      auto it = last.try_emplace(p.pid, 0).first;
      uint64_t ns = p.gfx_ns >= it->second ? p.gfx_ns - it->second : p.gfx_ns;
      it->second = p.gfx_ns;
      if (used != nullptr) used->emplace_back(p.pid, double(ns));
    }
  }

  std::optional<EnergyReading> share(const Window& w, const EnergyReading& machine,
                                     std::vector<std::string>* notes) const {
    if (!is_command_) return std::nullopt;
    if (lib_->api().process_list == nullptr) {
      if (notes != nullptr)
        notes->push_back(fmt::format(
            "{}: no command share: {}", machine.domain,
            lib_->older_process_list()
                ? "this AMD SMI lists processes in the form before ROCm 6.1 (handles read with "
                  "amdsmi_get_gpu_process_info), which pmcmodel does not read"
                : "this AMD SMI lacks amdsmi_get_gpu_process_list"));
      return std::nullopt;
    }
    return command_share(w.processes, machine, kGfxSplit, notes);
  }

  // Adds the accumulator's advance since the last read; a die that has read only 0 looks for
  // the sibling that reports its energy.
  void read_counter_energy(Gpu& g) {
    Status r = kSuccess;
    auto c = read_counter(lib_->api(), g.handle, &r);
    if (!c) {
      g.counter_failed = true;  // the last good value stands
      g.read_error = r == kSuccess ? "amdsmi_get_energy_count gave no resolution"
                                   : "amdsmi_get_energy_count: " + lib_->error(r);
      return;
    }
    g.read_error.clear();
    CounterAdvance a = accumulator_advance(g.last_raw, c->raw);
    g.wraps += a.wrapped;
    g.resets += a.reset;
    g.total_uj += double(a.counts) * c->resolution_uj;
    g.last_raw = c->raw;
    g.resolution_uj = c->resolution_uj;
    if (c->raw != 0) g.zero_so_far = false;
    if (g.zero_so_far && !g.reporter) find_reporter(g);
  }

  void find_reporter(Gpu& g) {
    for (const auto& s : g.siblings) {
      auto c = read_counter(lib_->api(), s.handle);
      if (c && c->raw != s.raw_at_open) {
        g.reporter = s.index;
        return;
      }
    }
  }

  void sample_activity(Gpu& g) {
    const Api& api = lib_->api();
    InfoBuffer buf{};
    if (api.activity != nullptr && api.activity(g.handle, &buf) == kSuccess) {
      EngineUsage u{};
      std::memcpy(&u, buf.bytes, sizeof u);
      for (Window* w : {&g.run, &g.interval}) {
        w->util_sum += u.gfx_activity;
        w->memory_util_sum += u.umc_activity;
        ++w->util_n;
      }
    }
    buf = InfoBuffer{};
    if (api.clock_info != nullptr && api.clock_info(g.handle, kClockSys, &buf) == kSuccess) {
      uint32_t mhz = 0;  // the current clock, first in amdsmi_clk_info_t
      std::memcpy(&mhz, buf.bytes, sizeof mhz);
      for (Window* w : {&g.run, &g.interval}) {
        w->clock_sum += mhz;
        ++w->clock_n;
      }
    }
    buf = InfoBuffer{};
    if (api.clock_info != nullptr && api.clock_info(g.handle, kClockMem, &buf) == kSuccess) {
      uint32_t mhz = 0;
      std::memcpy(&mhz, buf.bytes, sizeof mhz);
      for (Window* w : {&g.run, &g.interval}) {
        w->memory_clock_sum += mhz;
        ++w->memory_clock_n;
      }
    }
    if (g.temperature_sensor) {
      if (auto celsius = read_temperature_c(api, g.handle, *g.temperature_sensor)) {
        double t = now_s();
        for (Window* w : {&g.run, &g.interval}) w->temperature.add(*celsius, t, g.last_temperature);
        g.last_temperature = {*celsius, t};
      }
    }
  }

  static EnergyReading reading(const Gpu& g, const Window& w, double t) {
    EnergyReading e;
    e.domain = g.domain();
    e.method = method_of(g);
    double window_s = std::max(0.0, t - w.start_s);
    double edge = window_s > 0 ? 1.0 / window_s : 1.0;
    if (!g.integrates_power) {
      e.joules = std::max(0.0, g.total_uj - w.start_uj) / 1e6;
      e.average_watts = window_s > 0 ? e.joules / window_s : 0;
      e.uncertainty = std::min(1.0, kCounterStepS * edge);
      return e;
    }
    e.joules = w.integrated_j;
    e.average_watts = window_s > 0 ? e.joules / window_s : 0;
    double resolution = e.average_watts > 0 ? kPowerResolutionW / e.average_watts : 0;
    e.uncertainty = std::min(1.0, kPowerUncertainty + kIntegrateSampleMs / 1e3 * edge + resolution);
    return e;
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
    if (g.integrates_power)
      return what + fmt::format(
                        ": the energy counter does not answer, so energy integrates the current "
                        "socket power (amdsmi_get_power_info, whole watts) sampled every {} ms "
                        "(±{:.0f}% and ±{} W){}",
                        kIntegrateSampleMs, kPowerUncertainty * 100, kPowerResolutionW,
                        g.power_misses > 0
                            ? fmt::format("; it did not answer at {} samples, which the "
                                          "trapezoids bridge",
                                          g.power_misses)
                            : "");
    if (g.zero_so_far && g.reporter) {
      bool selected = std::any_of(g.siblings.begin(), g.siblings.end(), [&](const Sibling& s) {
        return s.index == *g.reporter && s.selected;
      });
      return fmt::format(
          "{}: its energy counter stayed at 0 while gpu{}'s, on the same socket, advanced: on "
          "dual-die parts (MI250X) one die reports both dies' power and the other 0, so gpu{}'s "
          "reading{} holds this die's energy too; this die gets no reading of its own (it is "
          "not 0 W)",
          what, *g.reporter, *g.reporter, selected ? "" : " (not measured: --gpus left it out)");
    }
    if (g.zero_so_far)
      return what +
             ": its energy counter stayed at 0 and no die beside it on the same socket "
             "advanced: the counter does not count here (AMD SMI does not support it in VM "
             "guests), so this GPU gets no reading (it is not 0 W)";
    std::string note = fmt::format(
        "{}: energy from AMD SMI's energy accumulator (amdsmi_get_energy_count, × its resolution "
        "of {:.3f} µJ)",
        what, g.resolution_uj);
    if (g.wraps > 0)
      note += fmt::format("; it wrapped at 32 bits {} time{} and was unwrapped", g.wraps,
                          g.wraps == 1 ? "" : "s");
    if (g.resets > 0)
      note += fmt::format("; it went back {} time{} (a driver reload): counted from there",
                          g.resets, g.resets == 1 ? "" : "s");
    if (g.counter_failed) note += "; a read failed during the run and the last value was kept";
    return note;
  }

  std::unique_ptr<Library> lib_;
  std::vector<Gpu> gpus_;
  std::vector<GpuInfo> infos_;
  CommandProcesses is_command_;
  std::vector<ProcInfo> procs_ = std::vector<ProcInfo>(16);
  std::vector<std::string> share_notes_;
  std::vector<GpuActivity> last_activity_;
  std::vector<std::vector<GpuActivity>> marked_activity_;
};

std::vector<Sibling> siblings_of(const Library& lib, const std::vector<Processor>& all,
                                 const Processor& p, const GpuSelection& selection) {
  std::vector<Sibling> out;
  for (const auto& q : all) {
    if (q.socket != p.socket || q.handle == p.handle) continue;
    auto c = read_counter(lib.api(), q.handle);
    out.push_back({q.index, q.handle, c ? c->raw : 0, selects(selection, q.index)});
  }
  return out;
}

}  // namespace

CounterAdvance accumulator_advance(uint64_t previous, uint64_t now) {
  if (now >= previous) return {now - previous, false, false};
  constexpr uint64_t k32 = uint64_t(1) << 32;
  if (previous < k32) return {k32 - previous + now, true, false};
  return {now, false, true};
}

GpuChoice open_amdsmi_gpus(const GpuSelection& selection, unsigned first_index) {
  GpuChoice choice;
  if (selection.kind == GpuSelection::Kind::none) {
    choice.reason_if_none = "GPUs not measured (--gpus none)";
    return choice;
  }
  auto lib = std::make_unique<Library>();
  choice.library_found = lib->found();
  if (!lib->usable()) {
    choice.reason_if_none = "no AMD GPU read: " + lib->problem();
    return choice;
  }
  std::string problem;
  auto all = list_processors(*lib, first_index, problem);
  if (!problem.empty()) {
    choice.reason_if_none = "no AMD GPU read: " + problem;
    return choice;
  }
  choice.counted = true;
  choice.seen = unsigned(all.size());
  if (all.empty()) {
    choice.reason_if_none = "no AMD GPU read: AMD SMI sees no GPU";
    return choice;
  }
  if (!lib->optional_missing().empty())
    choice.notes.push_back(fmt::format(
        "{} lacks {}: what each gives (the energy counter, error text, name, uuid, utilisation, "
        "clock, power cap, memory, driver, current power, process list, temperature) is not read",
        lib->name(), fmt::join(lib->optional_missing(), ", ")));
  if (lib->api().temp_metric == nullptr)
    choice.notes.push_back(fmt::format(
        "{} lacks amdsmi_get_temp_metric: no AMD GPU's temperature is read (gpu_temperature_c.gpuN "
        "and calibrate's gpuN_temperature_c, gpuN_temperature_rise_c_per_s are left out)",
        lib->name()));
  std::vector<Gpu> gpus;
  for (const auto& p : all) {
    if (!selects(selection, p.index)) continue;
    Gpu g;
    g.info = describe(*lib, p);
    Status status = 0;
    auto c = read_counter(lib->api(), p.handle, &status);
    g.handle = p.handle;
    probe_temperature(*lib, g, choice.notes);
    if (!c) {
      std::string why = lib->api().energy_count == nullptr
                            ? "this AMD SMI lacks amdsmi_get_energy_count"
                            : "amdsmi_get_energy_count: " + lib->error(status);
      if (status == kNotSupported) why += " (AMD SMI does not support it in VM guests)";
      Status power_status = kSuccess;
      if (read_power_w(lib->api(), p.handle, &power_status)) {
        choice.notes.push_back(fmt::format(
            "gpu{} ({}): no energy counter ({}): its current socket power is integrated instead",
            p.index, g.info.name, why));
        g.integrates_power = true;
        g.zero_so_far = false;
        g.info.energy_method = "measured:amdsmi-power";
        gpus.push_back(std::move(g));
        continue;
      }
      std::string power_why =
          lib->api().power_info == nullptr ? "this AMD SMI lacks amdsmi_get_power_info"
          : power_status != kSuccess       ? "amdsmi_get_power_info: " + lib->error(power_status)
                                           : "amdsmi_get_power_info gives no current socket power";
      choice.notes.push_back(fmt::format(
          "gpu{} ({}): no energy counter ({}) and no power to integrate ({}): not measured",
          p.index, g.info.name, why, power_why));
      continue;
    }
    g.info.energy_method = "measured:amdsmi";
    g.last_raw = c->raw;
    g.resolution_uj = c->resolution_uj;
    g.zero_so_far = c->raw == 0;
    g.siblings = siblings_of(*lib, all, p, selection);
    gpus.push_back(std::move(g));
  }
  if (gpus.empty()) {
    bool any_selected = std::any_of(
        all.begin(), all.end(), [&](const Processor& p) { return selects(selection, p.index); });
    choice.reason_if_none =
        any_selected ? "no AMD GPU read: none answers" : "no AMD GPU read: none selected (--gpus)";
    return choice;
  }
  choice.source = std::make_unique<AmdSmiSource>(std::move(lib), std::move(gpus));
  return choice;
}

GpuLibraryStatus amdsmi_status(unsigned first_index) {
  GpuLibraryStatus st;
  Library lib;
  st.library = lib.name();
  st.loaded = lib.found();  // found but not initialised: loaded with a problem, as nvml_status
  if (!lib.usable()) {
    st.problem = lib.problem();
    return st;
  }
  auto all = list_processors(lib, first_index, st.problem);
  if (!st.problem.empty()) return st;
  for (const auto& p : all) {
    GpuInfo info = describe(lib, p);
    if (st.driver.empty()) st.driver = info.driver;
    Status status = 0;
    auto c = read_counter(lib.api(), p.handle, &status);
    if (!c) {
      std::string why = lib.api().energy_count == nullptr
                            ? "this AMD SMI lacks amdsmi_get_energy_count"
                            : "amdsmi_get_energy_count: " + lib.error(status);
      info.energy_method = read_power_w(lib.api(), p.handle)
                               ? "measured:amdsmi-power (no energy counter: " + why + ")"
                               : "none (" + why + ")";
    } else if (c->raw == 0) {
      // A die reading 0 beside one that counts: the sibling reports the package.
      std::optional<unsigned> reporter;
      for (const auto& q : all) {
        if (q.socket != p.socket || q.handle == p.handle) continue;
        if (auto qc = read_counter(lib.api(), q.handle); qc && qc->raw != 0) reporter = q.index;
      }
      info.energy_method =
          reporter ? fmt::format(
                         "measured:amdsmi on gpu{} (dual-die: this die's counter reads 0, "
                         "its sibling reports both)",
                         *reporter)
                   : "none (the energy counter reads 0)";
    } else {
      info.energy_method = "measured:amdsmi";
    }
    st.gpus.push_back(std::move(info));
  }
  if (all.empty()) st.problem = "AMD SMI sees no GPU";
  return st;
}

}  // namespace pmc
