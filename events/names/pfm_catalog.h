#pragma once
// The native events libpfm4 knows for the PMUs it detects (or the one LIBPFM_FORCE_PMU names).
#include <string>
#include <vector>

namespace pmc {

struct NativeEvent {
  std::string name;         // "skl::INST_RETIRED"
  std::string description;  // libpfm4's one-line description
};

struct NativePmu {
  std::string name;  // "skl", "amd64_fam19h_zen3", "perf"
  std::string description;
  bool core = false;  // PFM_PMU_TYPE_CORE
};

std::vector<NativePmu> libpfm_pmus();
// Events of the present PMU `pmu` (all present PMUs when empty).
std::vector<NativeEvent> libpfm_events(const std::string& pmu);

}  // namespace pmc
