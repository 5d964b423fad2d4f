#pragma once
// What the tests of the GPU sources share: the stand-in libraries (tests/engine/fake_nvml.c, a
// libnvidia-ml replaying a real H200 trace; tests/engine/fake_amdsmi.c, an AMD SMI whose energy
// accumulator advances at a set power) pointed at with their switches for the life of an object,
// one sample of a source, and the readings and notes a test looks for.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine/power/gpu_source.h"
#include "engine/power/nvml.h"
#include "test_support.h"

namespace pmc::test {

// Environment variables set for the life of the object (the stand-ins read their switches at
// nvmlInit and amdsmi_init), then removed.
class ScopedEnvironment {
 public:
  ScopedEnvironment() = default;
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;
  ~ScopedEnvironment() {
    for (const auto& name : names_) ::unsetenv(name.c_str());
  }
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    names_.push_back(name);
  }

 private:
  std::vector<std::string> names_;
};

// A stand-in's switches: PMC_FAKE_NVML_GPUS=2, PMC_FAKE_AMDSMI_WATTS=400…
using FakeSwitches = std::initializer_list<std::pair<std::string, std::string>>;

// NVML pointed at the stand-in (or `library`, another build of it) with its switches.
struct FakeNvml {
  std::filesystem::path dir = make_temp_dir("nvml");
  ScopedEnvironment env;
  explicit FakeNvml(FakeSwitches switches = {}, const char* library = PMC_FAKE_NVML) {
    for (const auto& [name, value] : switches) env.set(name, value);
    env.set("PMCMODEL_NVML_LIBRARY", library);
  }
  ~FakeNvml() { std::filesystem::remove_all(dir); }
  // The trace's time is read from a clock file from now on (set before the source is opened: the
  // stand-in reads it at nvmlInit); its path.
  std::filesystem::path clock() {
    if (clock_file.empty()) {
      clock_file = dir / "clock";
      env.set("PMC_FAKE_NVML_CLOCK", clock_file.string());
    }
    return clock_file;
  }
  // Moves the stand-in's clock file to trace time `t`.
  void at(double t) { std::ofstream(clock()) << t << "\n"; }
  // The NVML source of every GPU, opened with the clock at trace time `t`.
  GpuChoice open_at(double t) {
    at(t);
    return open_nvml_source({});
  }
  // The same, started: the source, held by this object.
  GpuSource& started_at(double t) {
    opened = open_at(t);
    REQUIRE(opened.source);
    opened.source->start();
    return *opened.source;
  }

 private:
  std::filesystem::path clock_file;
  GpuChoice opened;
};

// AMD SMI pointed at the stand-in (and NVML nowhere) with its switches, its clock file at 0 s.
struct FakeAmdSmi {
  std::filesystem::path dir = make_temp_dir("amdsmi");
  std::filesystem::path clock = dir / "clock";
  ScopedEnvironment env;
  explicit FakeAmdSmi(FakeSwitches switches = {}, const char* library = PMC_FAKE_AMDSMI) {
    env.set("PMCMODEL_AMDSMI_LIBRARY", library);
    env.set("PMCMODEL_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1");
    env.set("PMC_FAKE_AMDSMI_CLOCK", clock.string());
    for (const auto& [name, value] : switches) env.set(name, value);
    at(0);
  }
  ~FakeAmdSmi() { std::filesystem::remove_all(dir); }
  void set(const std::string& name, const std::string& value) { env.set(name, value); }
  // Moves the stand-in's clock to `t` seconds.
  void at(double t) const { std::ofstream(clock) << t << "\n"; }
};

// The activity of one sample of `source` from its start: started, sampled once, read over the
// run, then each GPU's readings of that sample.
inline std::vector<GpuActivity> one_sample(GpuSource& source) {
  source.start();
  source.sample();
  source.read_since_start();
  return source.last_activity();
}

inline const EnergyReading* find_reading(const std::vector<EnergyReading>& readings,
                                         const std::string& domain,
                                         EnergyScope scope = EnergyScope::machine) {
  for (const auto& r : readings)
    if (r.domain == domain && r.scope == scope) return &r;
  return nullptr;
}

inline bool has_note(const std::vector<std::string>& notes, const std::string& part) {
  for (const auto& n : notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace pmc::test
