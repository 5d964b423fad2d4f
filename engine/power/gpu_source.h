#pragma once
// GPUs as power sources, whatever their vendor's library: the interface each library's source
// implements (NVML, engine/power/nvml.h; AMD SMI, engine/power/amdsmi.h), the --gpus selection,
// and every library's GPUs opened as one source. GPUs are numbered across the libraries in a
// fixed order: NVML's first, by NVML index, then AMD SMI's, by their order in AMD SMI's sockets;
// each is the energy domain gpuN, which no RAPL domain contains.
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

// --gpus: every GPU the libraries see (the default), none, or a list of indices ("0,2", "0-3").
struct GpuSelection {
  enum class Kind { all, none, list };
  Kind kind = Kind::all;
  std::vector<unsigned> indices;  // for list, sorted, distinct
};
// nullopt for text that is neither all, none nor a list of indices and ranges.
std::optional<GpuSelection> parse_gpu_selection(std::string_view text);
// Whether `selection` takes GPU `index`.
bool selects(const GpuSelection& selection, unsigned index);

// Averages over a window of what each GPU reported at the samples: utilisation (% of time a
// kernel ran), memory-controller activity, the SM (NVIDIA) or graphics (AMD) clock, the memory
// clock, the GPU's temperature and how fast it rose (the change from the sample before the
// window, or its first, to its last over the time between them). Absent where the GPU did not
// answer or nothing was sampled.
struct GpuActivity {
  unsigned index = 0;
  std::string domain;  // "gpu0"…
  std::optional<double> util_pct;
  std::optional<double> memory_util_pct;
  std::optional<double> sm_clock_mhz;
  std::optional<double> memory_clock_mhz;
  std::optional<double> temperature_c;
  std::optional<double> temperature_rise_c_per_s;
};

// A GPU's temperature over one window (a run, an interval), as each vendor's source keeps it:
// the mean of the readings taken in the window, and the rise from the reading before the window
// (or, without one, its first) to its last over the time between them, so that a window with a
// single reading has a rise too.
struct TemperatureWindow {
  double sum_c = 0;
  int readings = 0;
  double from_c = 0, from_s = 0;  // where the rise starts
  double last_c = 0, last_s = 0;
  // A reading of `celsius` at `t_s`; `before`: the GPU's reading before it (°C, s), if any.
  void add(double celsius, double t_s, std::optional<std::pair<double, double>> before);
  // temperature_c and temperature_rise_c_per_s of `a`, where the readings give them.
  void fill(GpuActivity& a) const;
};

// Which processes are the command's: true for a PID (as this process sees it) that belongs to
// the measured command.
using CommandProcesses = std::function<bool(unsigned pid)>;

// What one window (a run, an interval) saw of the compute processes on one GPU: whether the
// command's and others' were listed, and the use each side recorded where both were (NVML: SM
// utilisation summed over per-process samples; AMD SMI: GFX engine time).
struct ProcessWindow {
  bool command_seen = false, other_seen = false;
  double command_use = 0, other_use = 0;
  int use_samples = 0;
};

// How a library's use splits a shared GPU: the method's suffix ("sm-util" gives
// "+share:sm-util"), the library's name for the notes, what says there is no use to split by, the
// sentence on the split (from the samples and the command's percentage), and the uncertainty a
// split adds (idle and memory power split like the use).
struct ShareSplit {
  std::string method;
  std::string library;
  std::string no_samples;
  std::function<std::string(int samples, double percent)> describe;
  double uncertainty = 0;
};

// One GPU's compute processes over a window that ends now, for splitting its energy among
// several workloads (serve's cgroups): the PIDs its library lists on it and, per PID, the use the
// library recorded over the window (NVML: SM % summed over nvmlDeviceGetProcessUtilization's
// samples; AMD SMI: GFX engine ns), with the library's rule for splitting by that use.
struct GpuProcesses {
  unsigned index = 0;
  std::string domain;   // "gpu0"…
  bool listed = false;  // the process list answered
  std::vector<unsigned> pids;
  std::vector<std::pair<unsigned, double>> use;  // pid, its use over the window
  int use_samples = 0;
  const ShareSplit* split = nullptr;  // the library's; never null where listed
};

// The command's share of `machine`, the GPU's reading over the window: all of it when only the
// command's processes were listed on the GPU (+share:sole-process), the command's part of the
// use when others' were too (+share:<split.method>, uncertainty + split.uncertainty), none when
// the command was never listed or no use was recorded. Each outcome is said in `notes` (when
// given).
std::optional<EnergyReading> command_share(const ProcessWindow& w, const EnergyReading& machine,
                                           const ShareSplit& split,
                                           std::vector<std::string>* notes);

// The window `processes` describe, seen from the workload whose processes `is_command` picks:
// whether its processes and others' were listed or sampled, and the use each side recorded when
// both were. Fed to command_share() with processes.split, this is measure's rule for any set of
// processes (serve's cgroups).
ProcessWindow process_window(const GpuProcesses& processes, const CommandProcesses& is_command);

// The processes under `ancestor` (itself included) by their parent links in <proc>/PID/stat;
// each PID is looked up once per run.
CommandProcesses descendants_of(const SysRoot& root, pid_t ancestor);

// A GPU whose energy could not be read at the last read_interval() or read_since_start(): the
// library's source name ("nvml", "amdsmi"), the GPU's domain, and why. Its energy stands at its
// last good reading meanwhile (a counter's advance is taken up when it reads again), so a source
// that keeps running (serve) shows the library down and no power for that GPU.
struct GpuReadProblem {
  std::string source;
  std::string domain;
  std::string problem;
};

// The GPUs' energy as a PowerSource: one reading per selected GPU (domain gpuN, scope machine),
// followed, once set_command_processes() was called, by the command's share of each GPU it used
// (scope command) where the library can tell. Not thread-safe, like every PowerSource.
class GpuSource : public PowerSource {
 public:
  ~GpuSource() override;
  virtual const std::vector<GpuInfo>& gpus() const = 0;
  // Before start(): which compute processes are the command's. Without it no share is given.
  virtual void set_command_processes(CommandProcesses is_command) = 0;
  // The sampling period the readings need: shorter where a GPU's power is integrated.
  virtual int sample_ms() const = 0;
  // The activity over the window the last read_since_start() or read_interval() covered;
  // read_interval() takes a sample at the window's end, so that no interval lacks one.
  virtual std::vector<GpuActivity> last_activity() const = 0;
  // The activity of each interval mark_interval() ended, in order, and forgets them.
  virtual std::vector<std::vector<GpuActivity>> take_marked_activity() = 0;
  // Each GPU's compute processes now and their use since the last call (or start()).
  // Independent of set_command_processes(). listed is false where the library cannot tell.
  virtual std::vector<GpuProcesses> read_processes() = 0;
  // The GPUs whose energy the last read could not read; none by default.
  virtual std::vector<GpuReadProblem> read_problems() const { return {}; }
};

// The note every GPU source gives once: where its domains stand beside the CPU's.
extern const char* const kGpuDomainsNote;

// What one library gave.
struct GpuChoice {
  std::unique_ptr<GpuSource> source;  // null when no GPU can be read
  std::string reason_if_none;         // why: no library, init failed, no GPU, none selected
  std::vector<std::string> notes;     // a GPU's reading that is missing, and what replaces it
  bool library_found = false;         // the library was loaded (whether or not it then worked)
  // The library answered how many GPUs it sees (`seen`, selected or not): the next library's
  // GPUs are numbered after them.
  bool counted = false;
  unsigned seen = 0;
};

// Throws std::invalid_argument when `selection` names a GPU that none of the libraries that
// counted their GPUs sees. `libraries`: each library's name ("NVML") and choice, in numbering
// order starting at GPU 0. A selection is not checked when no library counted.
void check_gpu_selection(const GpuSelection& selection,
                         const std::vector<std::pair<std::string, const GpuChoice*>>& libraries);

// Every library's GPUs: one source over all of them, and each library's own outcome (for serve,
// which reports each library as a source that is up or down).
struct GpuLibraryOutcome {
  std::string name;  // "nvml", "amdsmi"
  bool library_found = false;
  bool up = false;     // at least one of its GPUs is read
  std::string reason;  // why not, when !up
  std::vector<std::string> notes;
};
struct GpuSources {
  std::unique_ptr<GpuSource> source;  // null when no library reads a GPU
  // Why there is none: the reasons of the libraries that were found, or of every library when
  // none was.
  std::string reason_if_none;
  // The libraries' notes, and why a library that was found reads no GPU while another does.
  std::vector<std::string> notes;
  bool library_found = false;  // some library was loaded
  std::vector<GpuLibraryOutcome> libraries;
};

// For `doctor`: a GPU library found or why not, the driver, each GPU and its energy method.
struct GpuLibraryStatus {
  bool loaded = false;  // dlopen found the library (it may still not initialise: see problem)
  std::string library;  // the name that was loaded, or tried
  std::string problem;  // why the library cannot be used; empty when it can
  std::string driver;
  std::vector<GpuInfo> gpus;
};

// Loads NVML and AMD SMI and opens the selected GPUs. Throws std::invalid_argument when
// `selection` names an index no library sees; every other failure is a reason.
GpuSources open_gpu_sources(const GpuSelection& selection);

// A vendor's GPU library loaded with dlopen (never unloaded: RTLD_NODELETE, as NVML and AMD SMI
// keep threads of their own). `handle` is null when it was not loaded, and `problem` says why.
struct GpuLibrary {
  void* handle = nullptr;
  std::string name;  // the path or soname loaded, or the one that could not be
  std::string problem;
};
// The library `$env_var` names (any path or soname, always tried), else the first of `defaults`
// that loads. The defaults are not looked for when none of `devices` exists: a vendor's library
// reaches its GPUs only through its driver's device files, and the loader's search of its path
// costs dozens of failed opens at every start-up.
GpuLibrary load_gpu_library(const char* env_var, const std::vector<const char*>& defaults,
                            const std::vector<const char*>& devices);

// fn = the library's `symbol`, or nullptr with `symbol` added to `missing` (when given).
void* gpu_symbol(void* handle, const char* symbol, std::vector<std::string>* missing);
template <typename F>
void bind_gpu_symbol(void* handle, const char* symbol, F& fn, std::vector<std::string>* missing) {
  fn = reinterpret_cast<F>(gpu_symbol(handle, symbol, missing));
}

}  // namespace pmc
