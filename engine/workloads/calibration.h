#pragma once
// What calibration needs from the machine besides counting: the frequency settings cpufreq lets
// us impose (read and written through the SysRoot).
#include <string>
#include <string_view>
#include <vector>

#include "events/names/sysroot.h"
#include "models/calibration/calibration_dataset.h"  // rate_column, watts_column

namespace pmc {

// Frequency settings calibration can impose: the scaling_max_freq of every CPU, written through
// SYS/devices/system/cpu/cpuN/cpufreq. `available` is false with the reason when there is no
// cpufreq directory (most VMs) or the files are not writable (needs root).
struct FrequencyControl {
  bool available = false;
  std::string reason;
  std::vector<int> settings_khz;  // the lowest, a middle and the highest frequency
  std::vector<int> cpus;          // whose scaling_max_freq is written
};

FrequencyControl probe_frequency_control(const SysRoot& root, int logical_cpus);

// Caps every CPU of `control` at `khz` for its lifetime and restores each CPU's previous
// scaling_max_freq when destroyed. Throws std::runtime_error naming the file when a write fails.
class FrequencyCap {
 public:
  FrequencyCap(const SysRoot& root, const FrequencyControl& control, int khz);
  ~FrequencyCap();
  FrequencyCap(const FrequencyCap&) = delete;
  FrequencyCap& operator=(const FrequencyCap&) = delete;

 private:
  void restore() noexcept;
  std::vector<std::pair<std::string, std::string>> previous_;  // file, value to restore
};

}  // namespace pmc
