// libpfm4 loaded on first use. Linking libpfm.so.4 costs every run ~5 ms at startup (42,000
// relocations of its event tables, measured with LD_DEBUG=statistics), paid even by runs that
// use only perf's generic names. These definitions stand in for libpfm4's entry points, load the
// library with dlopen the first time one is called, and forward to it; callers are unchanged.
#include <dlfcn.h>
#include <perfmon/pfmlib.h>

#include <mutex>

namespace {

struct Libpfm {
  void* handle = nullptr;
  pfm_err_t (*initialize)() = nullptr;
  void (*terminate)() = nullptr;
  const char* (*strerror)(int) = nullptr;
  pfm_err_t (*get_pmu_info)(pfm_pmu_t, pfm_pmu_info_t*) = nullptr;
  int (*get_event_next)(int) = nullptr;
  int (*find_event)(const char*) = nullptr;
  pfm_err_t (*get_event_info)(int, pfm_os_t, pfm_event_info_t*) = nullptr;
  pfm_err_t (*get_os_event_encoding)(const char*, int, pfm_os_t, void*) = nullptr;
};

template <class F>
void bind(void* handle, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(handle, name));
}

const Libpfm& lib() {
  static Libpfm l;
  static std::once_flag once;
  std::call_once(once, [] {
    l.handle = dlopen("libpfm.so.4", RTLD_NOW | RTLD_LOCAL);
    if (l.handle == nullptr) return;
    bind(l.handle, l.initialize, "pfm_initialize");
    bind(l.handle, l.terminate, "pfm_terminate");
    bind(l.handle, l.strerror, "pfm_strerror");
    bind(l.handle, l.get_pmu_info, "pfm_get_pmu_info");
    bind(l.handle, l.get_event_next, "pfm_get_event_next");
    bind(l.handle, l.find_event, "pfm_find_event");
    bind(l.handle, l.get_event_info, "pfm_get_event_info");
    bind(l.handle, l.get_os_event_encoding, "pfm_get_os_event_encoding");
  });
  return l;
}

}  // namespace

extern "C" {

pfm_err_t pfm_initialize(void) { return lib().initialize ? lib().initialize() : PFM_ERR_NOINIT; }
void pfm_terminate(void) {
  if (lib().terminate) lib().terminate();
}
const char* pfm_strerror(int code) {
  return lib().strerror ? lib().strerror(code) : "libpfm4 (libpfm.so.4) could not be loaded";
}
pfm_err_t pfm_get_pmu_info(pfm_pmu_t pmu, pfm_pmu_info_t* output) {
  return lib().get_pmu_info ? lib().get_pmu_info(pmu, output) : PFM_ERR_NOINIT;
}
int pfm_get_event_next(int idx) { return lib().get_event_next ? lib().get_event_next(idx) : -1; }
int pfm_find_event(const char* str) {
  return lib().find_event ? lib().find_event(str) : PFM_ERR_NOINIT;
}
pfm_err_t pfm_get_event_info(int idx, pfm_os_t os, pfm_event_info_t* output) {
  return lib().get_event_info ? lib().get_event_info(idx, os, output) : PFM_ERR_NOINIT;
}
pfm_err_t pfm_get_os_event_encoding(const char* str, int dfl_plm, pfm_os_t os, void* args) {
  return lib().get_os_event_encoding ? lib().get_os_event_encoding(str, dfl_plm, os, args)
                                     : PFM_ERR_NOINIT;
}

}  // extern "C"
