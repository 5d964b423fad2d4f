#pragma once
// NVIDIA GPUs through NVML, loaded at run time with dlopen (the library $PMCMODEL_NVML_LIBRARY
// names, else libnvidia-ml.so.1), so that the build needs no CUDA and a machine without NVIDIA
// runs as before. Each GPU's energy comes from the best reading it answers:
//   measured:nvml        nvmlDeviceGetTotalEnergyConsumption, mJ since the driver loaded (Volta
//                        and later); it advances about every 100 ms and is right over any window;
//   measured:nvml-power  field NVML_FI_DEV_POWER_INSTANT (186), integrated by trapezoids between
//                        samples taken at >= 10 Hz, where the counter answers NOT_SUPPORTED;
//   measured:nvml-average  nvmlDeviceGetPowerUsage integrated the same way, only where neither
//                        answers: on Hopper it is a ~1 s moving average that reads 40-90% high in
//                        the seconds after a load ends, so a note says so and the uncertainty is
//                        wider (docs/energy.md, the H200 trace in tests/data/gpu/).
// The command's share of a GPU comes from the compute processes NVML lists on it.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/power/power_source.h"
#include "events/document/measurement.h"
#include "events/names/sysroot.h"

namespace pmc {

// --gpus: every GPU NVML sees (the default), none, or a list of NVML indices ("0,2", "0-3").
struct GpuSelection {
  enum class Kind { all, none, list };
  Kind kind = Kind::all;
  std::vector<unsigned> indices;  // for list, sorted, distinct
};
// nullopt for text that is neither all, none nor a list of indices and ranges.
std::optional<GpuSelection> parse_gpu_selection(std::string_view text);

// Averages over a window of what each GPU reported at the samples: utilisation (% of time a
// kernel ran) and the SM clock. Absent where the GPU did not answer or nothing was sampled.
struct GpuActivity {
  unsigned index = 0;
  std::string domain;  // "gpu0"…
  std::optional<double> util_pct;
  std::optional<double> memory_util_pct;
  std::optional<double> sm_clock_mhz;
};

// One GPU's compute processes, for splitting its energy among several workloads: the PIDs NVML
// lists on it (nvmlDeviceGetComputeRunningProcesses_v3) and, per PID, the SM utilisation (%)
// summed over NVML's per-process samples newer than the last look
// (nvmlDeviceGetProcessUtilization).
struct GpuProcesses {
  unsigned index = 0;
  std::string domain;   // "gpu0"…
  bool listed = false;  // the process list answered
  std::vector<unsigned> pids;
  std::vector<std::pair<unsigned, double>> sm_util_sum;  // pid, summed SM %
  unsigned sm_samples = 0;
};

// Which processes are the command's: true for a PID (as this process sees it) that belongs to
// the measured command.
using CommandProcesses = std::function<bool(unsigned pid)>;

// The processes under `ancestor` (itself included) by their parent links in <proc>/PID/stat;
// each PID is looked up once per run.
CommandProcesses descendants_of(const SysRoot& root, pid_t ancestor);

// The GPUs' energy as a PowerSource: one reading per selected GPU (domain gpuN, scope machine),
// followed, once set_command_processes() was called, by the command's share of each GPU it used
// (scope command). Not thread-safe, like every PowerSource.
class NvmlSource : public PowerSource {
 public:
  ~NvmlSource() override;
  virtual const std::vector<GpuInfo>& gpus() const = 0;
  // Before start(): which compute processes are the command's. Without it no share is given.
  virtual void set_command_processes(CommandProcesses is_command) = 0;
  // The sampling period the readings need: shorter where a GPU's power is integrated.
  virtual int sample_ms() const = 0;
  // The activity over the window the last read_since_start() or read_interval() covered.
  virtual std::vector<GpuActivity> last_activity() const = 0;
  // The activity of each interval mark_interval() ended, in order, and forgets them.
  virtual std::vector<std::vector<GpuActivity>> take_marked_activity() = 0;
  // Each GPU's compute processes now and their SM samples since the last call (or start()).
  // Independent of set_command_processes().
  virtual std::vector<GpuProcesses> read_processes() = 0;
};

struct NvmlChoice {
  std::unique_ptr<NvmlSource> source;  // null when no GPU can be read
  std::string reason_if_none;          // why: no library, init failed, no GPU, none selected
  std::vector<std::string> notes;      // a GPU's reading that is missing, and what replaces it
  bool library_found = false;          // NVML was loaded (whether or not it then worked)
};

// Loads NVML and opens the selected GPUs. Throws std::invalid_argument when `selection` names
// an index NVML does not see; every other failure is reason_if_none.
NvmlChoice open_nvml_source(const GpuSelection& selection);

// For `doctor`: the library found or why not, the driver, each GPU and its energy method.
struct NvmlStatus {
  bool loaded = false;
  std::string library;  // the name that was loaded, or tried
  std::string problem;  // why NVML cannot be used; empty when it can
  std::string driver;
  std::vector<GpuInfo> gpus;
};
NvmlStatus nvml_status();

}  // namespace pmc
