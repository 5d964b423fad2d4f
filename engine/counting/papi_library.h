#pragma once
// The loaded libpapi, shared by the PAPI counting backend (papi_counters.cpp) and the PAPI power
// source (papi_power.cpp). Internal to engine/: it exposes papi.h's types, which only these
// files are compiled with.
#include <papi.h>  // constants and types only: every call goes through PapiApi (dlsym)

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pmc {

// The PAPI functions pmcmodel calls, resolved from the loaded libpapi. A library lacking any of
// them is not loaded (tests/engine/fake_papi.c implements exactly these).
struct PapiApi {
  decltype(&::PAPI_is_initialized) is_initialized = nullptr;
  decltype(&::PAPI_library_init) library_init = nullptr;
  decltype(&::PAPI_multiplex_init) multiplex_init = nullptr;
  decltype(&::PAPI_get_opt) get_opt = nullptr;
  decltype(&::PAPI_set_opt) set_opt = nullptr;
  decltype(&::PAPI_strerror) strerror = nullptr;
  decltype(&::PAPI_num_components) num_components = nullptr;
  decltype(&::PAPI_get_component_info) get_component_info = nullptr;
  decltype(&::PAPI_get_component_index) get_component_index = nullptr;
  decltype(&::PAPI_event_name_to_code) event_name_to_code = nullptr;
  decltype(&::PAPI_enum_cmp_event) enum_cmp_event = nullptr;
  decltype(&::PAPI_get_event_info) get_event_info = nullptr;
  decltype(&::PAPI_create_eventset) create_eventset = nullptr;
  decltype(&::PAPI_assign_eventset_component) assign_eventset_component = nullptr;
  decltype(&::PAPI_set_multiplex) set_multiplex = nullptr;
  decltype(&::PAPI_attach) attach = nullptr;
  decltype(&::PAPI_add_event) add_event = nullptr;
  decltype(&::PAPI_add_named_event) add_named_event = nullptr;
  decltype(&::PAPI_start) start = nullptr;
  decltype(&::PAPI_stop) stop = nullptr;
  decltype(&::PAPI_read) read = nullptr;
  decltype(&::PAPI_cleanup_eventset) cleanup_eventset = nullptr;
  decltype(&::PAPI_destroy_eventset) destroy_eventset = nullptr;
  decltype(&::PAPI_get_real_nsec) get_real_nsec = nullptr;
};

// A loaded libpapi. PAPI keeps its state per process and PAPI_library_init may run only once, so
// the library is never unloaded (RTLD_NODELETE) and initialised once per process: initialize()
// skips PAPI_library_init when the library says it is already initialised.
class PapiLibrary {
 public:
  // Loads the first of `names` that dlopen finds and that has every PapiApi function.
  explicit PapiLibrary(const std::vector<std::string>& names);

  // nullptr when libpapi could not be loaded (load_error() says why).
  const PapiApi* api() const { return loaded_ ? &api_ : nullptr; }
  const std::string& load_error() const { return load_error_; }

  // PAPI_library_init and PAPI_multiplex_init, once; "" or why PAPI cannot be used.
  const std::string& initialize() const;

  std::string error_text(int code) const;

 private:
  std::string run_init() const;

  PapiApi api_;
  bool loaded_ = false;
  std::string load_error_;
  mutable std::once_flag init_once_;
  mutable std::string init_error_;
};

// The library named by $PMCMODEL_PAPI_LIBRARY (a path or soname) when set, else PAPI 7.0's
// sonames; loaded at the first PAPI request of the process and never before.
std::shared_ptr<const PapiLibrary> default_papi_library();

// The library loaded from `names`, one PapiLibrary per distinct list for the whole process.
std::shared_ptr<const PapiLibrary> papi_library(const std::vector<std::string>& names);

// "7.0.0.0" for PAPI_VERSION_NUMBER(7,0,0,0).
std::string papi_version_text(int version);

}  // namespace pmc
