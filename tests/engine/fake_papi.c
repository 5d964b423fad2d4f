/* A stand-in for libpapi, built only for tests: exactly the PAPI functions engine/papi_library.cpp
 * binds, with three components as PAPI 7.0's papi_component_avail would list them on an Intel
 * machine whose MSRs are closed: perf_event (disabled), powercap (enabled, unless built with
 * FAKE_PAPI_POWERCAP_DISABLED) and rapl (disabled). nvml is absent, as in a PAPI built without
 * CUDA.
 *
 * powercap has the events linux-powercap.c creates for intel-rapl:0 and its child
 * intel-rapl:0:0: ENERGY_UJ, MAX_ENERGY_RANGE_UJ and NAME of ZONE0 and ZONE0_SUBZONE0. Each
 * ENERGY_UJ value is read at PAPI_start and PAPI_read from a file the test writes,
 * $PMC_FAKE_PAPI_DIR/zone0 and zone0_0 (one decimal number, like sysfs energy_uj), and reported
 * as linux-powercap.c reports it: the advance since PAPI_start, with one wrap at
 * MAX_ENERGY_RANGE_UJ added back. The range is 262143328850 µJ, the max_energy_range_uj of an
 * Intel server package zone (2^32 units of 61.035 µJ).
 */
#include <papi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RANGE_UJ 262143328850LL
#define MAX_SETS 16
#define MAX_SET_EVENTS 16
#define NATIVE(cidx, i) ((int)(PAPI_NATIVE_MASK | ((cidx) << 16) | (i)))

enum { PERF_EVENT, POWERCAP, RAPL, COMPONENTS };

struct event {
  const char* name;  /* without the "powercap:::" prefix */
  const char* descr; /* NAME events: the zone's name, as read from sysfs (newline kept) */
  const char* file;  /* ENERGY_UJ: the file under $PMC_FAKE_PAPI_DIR */
  int range;         /* MAX_ENERGY_RANGE_UJ */
};

static const struct event powercap_events[] = {
    {"ENERGY_UJ:ZONE0", "", "zone0", 0},
    {"MAX_ENERGY_RANGE_UJ:ZONE0", "", NULL, 1},
    {"NAME:ZONE0", "package-0\n", NULL, 0},
    {"ENERGY_UJ:ZONE0_SUBZONE0", "", "zone0_0", 0},
    {"MAX_ENERGY_RANGE_UJ:ZONE0_SUBZONE0", "", NULL, 1},
    {"NAME:ZONE0_SUBZONE0", "dram\n", NULL, 0},
};
#define POWERCAP_EVENTS ((int)(sizeof powercap_events / sizeof powercap_events[0]))

static int initialized = PAPI_NOT_INITED;
static PAPI_component_info_t components[COMPONENTS];

struct set {
  int used;
  int count;
  int events[MAX_SET_EVENTS]; /* indices into powercap_events */
  long long start[MAX_SET_EVENTS];
  int running;
};
static struct set sets[MAX_SETS];

static long long read_energy(const char* file) {
  const char* dir = getenv("PMC_FAKE_PAPI_DIR");
  char path[4096];
  long long value = 0;
  FILE* f;
  if (!dir) return 0;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  f = fopen(path, "r");
  if (!f) return 0;
  if (fscanf(f, "%lld", &value) != 1) value = 0;
  fclose(f);
  return value;
}

static long long raw_value(int e) {
  if (powercap_events[e].file) return read_energy(powercap_events[e].file);
  return powercap_events[e].range ? RANGE_UJ : 0;
}

static void set_component(int i, const char* name, const char* disabled_reason) {
  memset(&components[i], 0, sizeof components[i]);
  snprintf(components[i].name, sizeof components[i].name, "%s", name);
  snprintf(components[i].short_name, sizeof components[i].short_name, "%s", name);
  components[i].CmpIdx = i;
  if (disabled_reason) {
    components[i].disabled = PAPI_ECMP;
    snprintf(components[i].disabled_reason, sizeof components[i].disabled_reason, "%s",
             disabled_reason);
  }
  components[i].num_native_events = i == POWERCAP ? POWERCAP_EVENTS : 0;
}

int PAPI_is_initialized(void) {
  return initialized;
}

int PAPI_library_init(int version) {
  if (version != PAPI_VER_CURRENT) return PAPI_EINVAL;
  set_component(PERF_EVENT, "perf_event", "Unknown processor");
#ifdef FAKE_PAPI_POWERCAP_DISABLED
  set_component(POWERCAP, "powercap", "Not an Intel processor");
#else
  set_component(POWERCAP, "powercap", NULL);
#endif
  set_component(RAPL, "rapl", "Can't open fd for cpu0: No such file or directory");
  initialized = PAPI_LOW_LEVEL_INITED;
  return PAPI_VER_CURRENT;
}

int PAPI_multiplex_init(void) {
  return PAPI_OK;
}

int PAPI_get_opt(int option, PAPI_option_t* ptr) {
  (void)ptr;
  return option == PAPI_LIB_VERSION ? PAPI_VERSION : PAPI_EINVAL;
}

int PAPI_set_opt(int option, PAPI_option_t* ptr) {
  (void)option;
  (void)ptr;
  return PAPI_ENOSUPP;
}

char* PAPI_strerror(int code) {
  switch (code) {
    case PAPI_OK:
      return "No error";
    case PAPI_EINVAL:
      return "Invalid argument";
    case PAPI_ENOEVNT:
      return "Event does not exist";
    case PAPI_ENOSUPP:
      return "Not supported by component";
    case PAPI_ECMP:
      return "Not supported by component";
    case PAPI_ENOEVST:
      return "No such EventSet available";
    case PAPI_EISRUN:
      return "EventSet is currently counting";
    case PAPI_ENOTRUN:
      return "EventSet is currently not running";
    default:
      return NULL;
  }
}

int PAPI_num_components(void) {
  return COMPONENTS;
}

const PAPI_component_info_t* PAPI_get_component_info(int cidx) {
  if (initialized == PAPI_NOT_INITED || cidx < 0 || cidx >= COMPONENTS) return NULL;
  return &components[cidx];
}

int PAPI_get_component_index(const char* name) {
  int i;
  for (i = 0; i < COMPONENTS; ++i)
    if (strcmp(components[i].name, name) == 0) return i;
  return PAPI_ENOCMP;
}

/* Only enabled components have events, as in PAPI. */
static int powercap_on(void) {
  return components[POWERCAP].disabled == 0;
}

static int event_index(int code) {
  int i = code & 0xffff;
  if (code != NATIVE(POWERCAP, i) || i >= POWERCAP_EVENTS || !powercap_on()) return -1;
  return i;
}

int PAPI_event_name_to_code(const char* name, int* code) {
  const char* prefix = "powercap:::";
  int i;
  if (strncmp(name, prefix, strlen(prefix)) == 0) name += strlen(prefix);
  for (i = 0; i < POWERCAP_EVENTS && powercap_on(); ++i)
    if (strcmp(powercap_events[i].name, name) == 0) {
      *code = NATIVE(POWERCAP, i);
      return PAPI_OK;
    }
  return PAPI_ENOEVNT;
}

int PAPI_enum_cmp_event(int* code, int modifier, int cidx) {
  int i;
  if (cidx != POWERCAP || !powercap_on()) return PAPI_ENOEVNT;
  if (modifier == PAPI_ENUM_FIRST) {
    *code = NATIVE(POWERCAP, 0);
    return PAPI_OK;
  }
  i = event_index(*code);
  if (modifier != PAPI_ENUM_EVENTS || i < 0) return PAPI_EINVAL;
  if (i + 1 >= POWERCAP_EVENTS) return PAPI_ENOEVNT;
  *code = NATIVE(POWERCAP, i + 1);
  return PAPI_OK;
}

int PAPI_get_event_info(int code, PAPI_event_info_t* info) {
  int i = event_index(code);
  if (i < 0) return PAPI_ENOEVNT;
  memset(info, 0, sizeof *info);
  info->event_code = (unsigned int)code;
  snprintf(info->symbol, sizeof info->symbol, "powercap:::%s", powercap_events[i].name);
  snprintf(info->long_descr, sizeof info->long_descr, "%s", powercap_events[i].descr);
  info->component_index = POWERCAP;
  info->data_type = PAPI_DATATYPE_UINT64;
  return PAPI_OK;
}

int PAPI_create_eventset(int* id) {
  int i;
  for (i = 0; i < MAX_SETS; ++i)
    if (!sets[i].used) {
      memset(&sets[i], 0, sizeof sets[i]);
      sets[i].used = 1;
      *id = i;
      return PAPI_OK;
    }
  return PAPI_ENOMEM;
}

static struct set* set_of(int id) {
  return id >= 0 && id < MAX_SETS && sets[id].used ? &sets[id] : NULL;
}

int PAPI_assign_eventset_component(int id, int cidx) {
  return set_of(id) && cidx == POWERCAP && powercap_on() ? PAPI_OK : PAPI_ENOCMP;
}

int PAPI_set_multiplex(int id) {
  (void)id;
  return PAPI_ENOSUPP;
}

int PAPI_attach(int id, unsigned long tid) {
  (void)id;
  (void)tid;
  return PAPI_ECMP;
}

int PAPI_add_event(int id, int code) {
  struct set* s = set_of(id);
  int i = event_index(code);
  if (!s) return PAPI_ENOEVST;
  if (i < 0) return PAPI_ENOEVNT;
  if (s->running) return PAPI_EISRUN;
  if (s->count >= MAX_SET_EVENTS) return PAPI_ECNFLCT;
  s->events[s->count++] = i;
  return PAPI_OK;
}

int PAPI_add_named_event(int id, const char* name) {
  int code = 0;
  int r = PAPI_event_name_to_code(name, &code);
  return r == PAPI_OK ? PAPI_add_event(id, code) : r;
}

int PAPI_start(int id) {
  struct set* s = set_of(id);
  int i;
  if (!s) return PAPI_ENOEVST;
  if (s->running) return PAPI_EISRUN;
  for (i = 0; i < s->count; ++i) s->start[i] = raw_value(s->events[i]);
  s->running = 1;
  return PAPI_OK;
}

/* linux-powercap.c _powercap_read: energy counters are reported since PAPI_start, one wrap added
 * back; the other events as they are. */
int PAPI_read(int id, long long* values) {
  struct set* s = set_of(id);
  int i;
  if (!s) return PAPI_ENOEVST;
  if (!s->running) return PAPI_ENOTRUN;
  for (i = 0; i < s->count; ++i) {
    int e = s->events[i];
    long long now = raw_value(e);
    if (powercap_events[e].file)
      now = now >= s->start[i] ? now - s->start[i] : now + (RANGE_UJ - s->start[i]);
    values[i] = now;
  }
  return PAPI_OK;
}

int PAPI_stop(int id, long long* values) {
  struct set* s = set_of(id);
  int r;
  if (!s) return PAPI_ENOEVST;
  if (!s->running) return PAPI_ENOTRUN;
  r = values ? PAPI_read(id, values) : PAPI_OK;
  s->running = 0;
  return r;
}

int PAPI_cleanup_eventset(int id) {
  struct set* s = set_of(id);
  if (!s) return PAPI_ENOEVST;
  if (s->running) return PAPI_EISRUN;
  s->count = 0;
  return PAPI_OK;
}

int PAPI_destroy_eventset(int* id) {
  struct set* s = set_of(*id);
  if (!s) return PAPI_ENOEVST;
  if (s->running) return PAPI_EISRUN;
  s->used = 0;
  *id = PAPI_NULL;
  return PAPI_OK;
}

long long PAPI_get_real_nsec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
