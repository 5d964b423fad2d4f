#pragma once
// Counting through PAPI (`--backend papi`): presets (PAPI_TOT_INS) and native names
// (perf::TASK-CLOCK) in one multiplexed event set of PAPI's perf_event component.
// libpapi is loaded with dlopen on first use, so runs that do not ask for PAPI never load it.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/counting/counters.h"

namespace pmc {

// Counters for PAPI event names, in request order. An event PAPI cannot add keeps its status and
// PAPI's reason (plus the component's disabled reason); when libpapi cannot be loaded, every event
// is not_supported with "PAPI not available: <dlerror>". Throws std::runtime_error only for errors
// that stop the command (PAPI_library_init refusing this build's PAPI version).
std::unique_ptr<Counters> make_papi_counters(std::vector<std::string> event_names);

// The same, loading the first of `library_names` that dlopen finds (tests use a missing name to
// see the not-available path; the default is $PMCMODEL_PAPI_LIBRARY when set, else
// libpapi.so.7.0, libpapi.so.7, libpapi.so).
std::unique_ptr<Counters> make_papi_counters(std::vector<std::string> event_names,
                                             const std::vector<std::string>& library_names);

// What `pmcmodel doctor` says about PAPI.
struct PapiStatus {
  bool available = false;  // libpapi loaded and initialised
  std::string version;     // "7.0.0.0"
  // name, and why PAPI disabled it ("" when active), in PAPI's component order.
  std::vector<std::pair<std::string, std::string>> components;
  std::string reason;  // why it is not available (dlerror, PAPI_library_init error)
};
PapiStatus papi_status();

}  // namespace pmc
