#include "engine/workloads/calibration.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pmc {
namespace {

std::string cpufreq_file(const SysRoot& root, int cpu, const char* name) {
  return root.sys_path("devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/" + name)
      .string();
}

void write_value(const std::string& file, const std::string& value) {
  std::ofstream out(file);
  out << value << '\n';
  out.flush();
  if (!out)
    throw std::runtime_error(file + ": cannot write '" + value + "': " + std::strerror(errno));
}

}  // namespace

FrequencyControl probe_frequency_control(const SysRoot& root, int logical_cpus) {
  FrequencyControl fc;
  auto dir = root.sys_path("devices/system/cpu/cpu0/cpufreq");
  auto min = read_text(dir / "cpuinfo_min_freq"), max = read_text(dir / "cpuinfo_max_freq");
  if (!read_text(dir / "scaling_max_freq") || !min || !max) {
    fc.reason =
        dir.string() + " has no scaling_max_freq/cpuinfo_{min,max}_freq (no cpufreq driver: a VM?)";
    return fc;
  }
  for (int cpu = 0; cpu < std::max(logical_cpus, 1); ++cpu) {
    auto file = cpufreq_file(root, cpu, "scaling_max_freq");
    if (access(file.c_str(), W_OK) != 0) {
      fc.reason =
          file + " is not writable (" + std::strerror(errno) + "; setting frequencies needs root)";
      fc.cpus.clear();
      return fc;
    }
    fc.cpus.push_back(cpu);
  }
  std::vector<int> khz;
  if (auto avail = read_text(dir / "scaling_available_frequencies")) {
    std::istringstream in(*avail);
    for (int f; in >> f;) khz.push_back(f);
  }
  if (khz.empty()) {
    int lo = std::atoi(min->c_str()), hi = std::atoi(max->c_str());
    if (lo <= 0 || hi <= lo) {
      fc.reason = dir.string() + ": cpuinfo_min_freq/cpuinfo_max_freq do not give a range";
      fc.cpus.clear();
      return fc;
    }
    khz = {lo, (lo + hi) / 2, hi};
  }
  std::sort(khz.begin(), khz.end());
  khz.erase(std::unique(khz.begin(), khz.end()), khz.end());
  fc.settings_khz = {khz.front()};
  if (khz.size() > 2) fc.settings_khz.push_back(khz[khz.size() / 2]);
  if (khz.size() > 1) fc.settings_khz.push_back(khz.back());
  fc.available = true;
  return fc;
}

FrequencyCap::FrequencyCap(const SysRoot& root, const FrequencyControl& control, int khz) {
  try {
    for (int cpu : control.cpus) {
      auto file = cpufreq_file(root, cpu, "scaling_max_freq");
      auto old = read_text(file);
      if (!old) continue;
      previous_.emplace_back(file, *old);
      write_value(file, std::to_string(khz));
    }
  } catch (...) {
    restore();
    throw;
  }
}

FrequencyCap::~FrequencyCap() {
  restore();
}

void FrequencyCap::restore() noexcept {
  for (const auto& [file, value] : previous_) {
    try {
      write_value(file, value);
    } catch (const std::exception&) {
      // Nothing more can be done from a destructor; the cap stays until the next boot or write.
    }
  }
}

}  // namespace pmc
