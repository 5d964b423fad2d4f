#include "engine/counting/papi_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <iterator>
#include <map>

namespace pmc {
namespace {

// PAPI 7.0's soname first; a constant array, so no static initialisation order to get wrong.
constexpr const char* kDefaultLibraries[] = {"libpapi.so.7.0", "libpapi.so.7", "libpapi.so"};

template <typename F>
bool bind(void* handle, const char* symbol, F& fn, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(handle, symbol));
  if (!fn) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
  return fn != nullptr;
}

bool bind_all(void* handle, PapiApi& a, std::string& missing) {
  bool ok = true;
  ok &= bind(handle, "PAPI_is_initialized", a.is_initialized, missing);
  ok &= bind(handle, "PAPI_library_init", a.library_init, missing);
  ok &= bind(handle, "PAPI_multiplex_init", a.multiplex_init, missing);
  ok &= bind(handle, "PAPI_get_opt", a.get_opt, missing);
  ok &= bind(handle, "PAPI_set_opt", a.set_opt, missing);
  ok &= bind(handle, "PAPI_strerror", a.strerror, missing);
  ok &= bind(handle, "PAPI_num_components", a.num_components, missing);
  ok &= bind(handle, "PAPI_get_component_info", a.get_component_info, missing);
  ok &= bind(handle, "PAPI_get_component_index", a.get_component_index, missing);
  ok &= bind(handle, "PAPI_event_name_to_code", a.event_name_to_code, missing);
  ok &= bind(handle, "PAPI_enum_cmp_event", a.enum_cmp_event, missing);
  ok &= bind(handle, "PAPI_get_event_info", a.get_event_info, missing);
  ok &= bind(handle, "PAPI_create_eventset", a.create_eventset, missing);
  ok &= bind(handle, "PAPI_assign_eventset_component", a.assign_eventset_component, missing);
  ok &= bind(handle, "PAPI_set_multiplex", a.set_multiplex, missing);
  ok &= bind(handle, "PAPI_attach", a.attach, missing);
  ok &= bind(handle, "PAPI_add_event", a.add_event, missing);
  ok &= bind(handle, "PAPI_add_named_event", a.add_named_event, missing);
  ok &= bind(handle, "PAPI_start", a.start, missing);
  ok &= bind(handle, "PAPI_stop", a.stop, missing);
  ok &= bind(handle, "PAPI_read", a.read, missing);
  ok &= bind(handle, "PAPI_cleanup_eventset", a.cleanup_eventset, missing);
  ok &= bind(handle, "PAPI_destroy_eventset", a.destroy_eventset, missing);
  ok &= bind(handle, "PAPI_get_real_nsec", a.get_real_nsec, missing);
  return ok;
}

std::vector<std::string> default_names() {
  if (const char* path = std::getenv("PMCMODEL_PAPI_LIBRARY"); path && *path) return {path};
  return std::vector<std::string>(std::begin(kDefaultLibraries), std::end(kDefaultLibraries));
}

}  // namespace

PapiLibrary::PapiLibrary(const std::vector<std::string>& names) {
  std::string errors;
  for (const auto& name : names) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + std::string(e ? e : name + ": cannot load");
      continue;
    }
    std::string missing;
    if (bind_all(handle, api_, missing)) {
      loaded_ = true;
      return;
    }
    errors += (errors.empty() ? "" : "; ") + name + " lacks " + missing;
  }
  load_error_ = errors.empty() ? "no library name to load" : errors;
}

const std::string& PapiLibrary::initialize() const {
  std::call_once(init_once_, [this] { init_error_ = run_init(); });
  return init_error_;
}

std::string PapiLibrary::error_text(int code) const {
  const char* text = api_.strerror(code);
  return text ? text : "PAPI error " + std::to_string(code);
}

std::string PapiLibrary::run_init() const {
  if (api_.is_initialized() == PAPI_NOT_INITED) {
    int version = api_.library_init(PAPI_VER_CURRENT);
    if (version > 0 && version != PAPI_VER_CURRENT)
      return "PAPI_library_init: libpapi is version " + papi_version_text(version) +
             " but pmcmodel was built for " + papi_version_text(PAPI_VER_CURRENT);
    if (version != PAPI_VER_CURRENT) return "PAPI_library_init: " + error_text(version);
  }
  if (int r = api_.multiplex_init(); r != PAPI_OK) return "PAPI_multiplex_init: " + error_text(r);
  return "";
}

std::shared_ptr<const PapiLibrary> default_papi_library() {
  static const auto library = papi_library(default_names());
  return library;
}

std::shared_ptr<const PapiLibrary> papi_library(const std::vector<std::string>& names) {
  static std::mutex mutex;
  static std::map<std::vector<std::string>, std::shared_ptr<const PapiLibrary>> loaded;
  std::lock_guard lock(mutex);
  auto& library = loaded[names];
  if (!library) library = std::make_shared<const PapiLibrary>(names);
  return library;
}

std::string papi_version_text(int v) {
  return std::to_string(PAPI_VERSION_MAJOR(v)) + "." + std::to_string(PAPI_VERSION_MINOR(v)) + "." +
         std::to_string(PAPI_VERSION_REVISION(v)) + "." + std::to_string(PAPI_VERSION_INCREMENT(v));
}

}  // namespace pmc
