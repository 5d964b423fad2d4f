/* A stand-in for libamd_smi.so, built only for tests: the AMD SMI functions
 * engine/power/amdsmi.cpp binds, with the types and values of AMD's documented API (amdsmi.h,
 * ROCm 6.x layouts). Each GPU's energy accumulator advances at a set power from a set start:
 *   accumulator(t) = (START + floor(t × WATTS × 1e6 / RESOLUTION)) mod 2^WRAP_BITS
 * where t is the time since amdsmi_init, or the clock file's time, so a test can work out by
 * hand what a run must read.
 *
 * Environment (read at amdsmi_init):
 *   PMC_FAKE_AMDSMI_GPUS        the number of GPUs (1 to 8, default 1)
 *   PMC_FAKE_AMDSMI_DUAL_DIE    GPUs come in pairs on one socket (an MI250X's two GCDs): the first
 *                               of a pair reports the package's energy, the second reads 0
 *   PMC_FAKE_AMDSMI_WATTS       each reporting GPU's power (default 300)
 *   PMC_FAKE_AMDSMI_RESOLUTION  counter_resolution in µJ (default 15.625, exact in a float)
 *   PMC_FAKE_AMDSMI_START       the accumulator at t = 0 (default 1000000)
 *   PMC_FAKE_AMDSMI_WRAP_BITS   the accumulator's width (default 64)
 *   PMC_FAKE_AMDSMI_CLOCK       a file holding t in seconds; when it can be read, every reading
 *                               takes its time from it (a command can write it)
 *   PMC_FAKE_AMDSMI_INIT_FAIL   amdsmi_init answers AMDSMI_STATUS_INIT_ERROR
 *   PMC_FAKE_AMDSMI_NO_ENERGY   amdsmi_get_energy_count answers NOT_SUPPORTED (as in a VM guest)
 *   PMC_FAKE_AMDSMI_NO_POWER    amdsmi_get_power_info answers NOT_SUPPORTED
 *   PMC_FAKE_AMDSMI_LOST        a file: while it exists, amdsmi_get_energy_count and
 *                               amdsmi_get_power_info answer AMDSMI_STATUS_DRM_ERROR (a GPU that
 *                               stops answering), as a test decides
 *   PMC_FAKE_AMDSMI_REPLAY      current_socket_power replays the instant power (field 186, rounded
 *                               to whole watts as AMD SMI reports them) of the H200 trace compiled
 *                               in as FAKE_AMDSMI_TRACE (or the file this names) by the time since
 *                               amdsmi_init plus PMC_FAKE_AMDSMI_TRACE_START seconds; otherwise it
 *                               is PMC_FAKE_AMDSMI_WATTS
 *   PMC_FAKE_AMDSMI_TEMP        the junction (hotspot) temperature in °C (default 45); the edge
 *                               sensor reads 10 °C less. With PMC_FAKE_AMDSMI_REPLAY the junction
 *                               replays the trace's temp_c column instead
 *   PMC_FAKE_AMDSMI_TEMP_MILLI  temperatures are written in millidegrees, rounded to whole m°C
 *                               (the unit amdsmi.h's text gave through ROCm 6.2, and ROCm 5.5's
 *                               amdsmi_dev_get_temp_metric returned); otherwise in whole °C, the
 *                               fraction dropped (what the library returns since ROCm 5.6)
 *   PMC_FAKE_AMDSMI_NO_HOTSPOT  the junction sensor answers NOT_SUPPORTED (the edge one answers)
 *   PMC_FAKE_AMDSMI_NO_TEMP     amdsmi_get_temp_metric answers NOT_SUPPORTED for every sensor
 *   PMC_FAKE_AMDSMI_OTHER_PID   a process that is not the caller's child also computes on GPU 0
 *   PMC_FAKE_AMDSMI_OTHER_WHILE a file: the PMC_FAKE_AMDSMI_OTHER_PID process is listed only
 *                               while it exists, as a test decides
 *   PMC_FAKE_AMDSMI_CHILD_GFX   the share (%) of GFX engine time each child uses (default 80); the
 *                               other process uses 100 minus that
 *   PMC_FAKE_AMDSMI_PROCESSES   "GPU:PID:GFX,…": exactly these processes, each on its GPU with
 *                               its share (%) of GFX engine time, instead of the children and
 *                               the other process (any PIDs: a test with a procfs fixture names
 *                               its own)
 * Processes (amdsmi_get_gpu_process_list): the caller's child processes (parent in
 * /proc/<pid>/stat is the caller) and the other process, on GPU 0 only, each with GFX engine time
 * t × its share × 1e9 ns.
 * Built with FAKE_AMDSMI_NO_ENERGY_SYMBOL, the library has no amdsmi_get_energy_count at all;
 * with FAKE_AMDSMI_NO_TEMP_SYMBOL, no amdsmi_get_temp_metric.
 * fake_amdsmi_now() gives a test the time every reading uses.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_gpu_processes.h"

typedef int amdsmi_status_t;
enum {
  AMDSMI_STATUS_SUCCESS = 0,
  AMDSMI_STATUS_INVAL = 1,
  AMDSMI_STATUS_NOT_SUPPORTED = 2,
  AMDSMI_STATUS_DRM_ERROR = 5,
  AMDSMI_STATUS_INIT_ERROR = 18,
  AMDSMI_STATUS_NOT_INIT = 32
};
#define AMDSMI_INIT_AMD_GPUS (1u << 1)
/* amdsmi_temperature_type_t and amdsmi_temperature_metric_t, the values read here; amdsmi.h
 * gives temperatures in °C. */
typedef enum {
  AMDSMI_TEMPERATURE_TYPE_EDGE = 0,
  AMDSMI_TEMPERATURE_TYPE_HOTSPOT = 1,
  AMDSMI_TEMPERATURE_TYPE_VRAM = 2
} amdsmi_temperature_type_t;
typedef enum { AMDSMI_TEMP_CURRENT = 0 } amdsmi_temperature_metric_t;
typedef void* amdsmi_socket_handle;
typedef void* amdsmi_processor_handle;

/* amdsmi_asic_info_t as ROCm 6.2 lays it out. */
typedef struct {
  char market_name[256];
  uint32_t vendor_id;
  char vendor_name[64];
  uint32_t subvendor_id;
  uint64_t device_id;
  uint32_t rev_id;
  char asic_serial[32];
  uint32_t oam_id;
  uint32_t num_of_compute_units;
  uint64_t target_graphics_version;
  uint32_t reserved[15];
} amdsmi_asic_info_t;
typedef struct {
  uint32_t gfx_activity;
  uint32_t umc_activity;
  uint32_t mm_activity;
  uint32_t reserved[13];
} amdsmi_engine_usage_t;
typedef struct {
  uint32_t clk;
  uint32_t min_clk;
  uint32_t max_clk;
  uint8_t clk_locked;
  uint8_t clk_deep_sleep;
  uint32_t reserved[4];
} amdsmi_clk_info_t;
typedef struct {
  uint64_t power_cap;  /* µW */
  uint64_t default_power_cap;
  uint64_t dpm_cap;
  uint64_t min_power_cap;
  uint64_t max_power_cap;
  uint64_t reserved[3];
} amdsmi_power_cap_info_t;
typedef struct {
  char driver_version[256];
  char driver_date[256];
  char driver_name[256];
} amdsmi_driver_info_t;
/* amdsmi_power_info_t as ROCm 6.2 and later lay it out; unsupported members read UINT32_MAX. */
typedef struct {
  uint64_t socket_power;
  uint32_t current_socket_power;
  uint32_t average_socket_power;
  uint64_t gfx_voltage;
  uint64_t soc_voltage;
  uint64_t mem_voltage;
  uint32_t power_limit;
  uint64_t reserved[18];
} amdsmi_power_info_t;
/* amdsmi_proc_info_t as ROCm 6.1 and later lay it out (AMDSMI_MAX_STRING_LENGTH = 64). */
typedef struct {
  char name[64];
  uint32_t pid;
  uint64_t mem;
  struct {
    uint64_t gfx; /* ns */
    uint64_t enc;
    uint32_t reserved[12];
  } engine_usage;
  struct {
    uint64_t gtt_mem;
    uint64_t cpu_mem;
    uint64_t vram_mem;
    uint32_t reserved[10];
  } memory_usage;
  char container_name[64];
  uint32_t cu_occupancy;
  uint32_t evicted_time;
  uint32_t reserved[10];
} amdsmi_proc_info_t;
#define AMDSMI_STATUS_OUT_OF_RESOURCES 15

#define MAX_GPUS 8
struct gpu {
  int index;
  int socket;
  int reports; /* 0: the second die of a pair, whose accumulator reads 0 */
};
static struct gpu gpus[MAX_GPUS];
static int sockets[MAX_GPUS];
static int n_gpus, n_sockets, initialised, no_energy, no_power, replay, no_hotspot, no_temp,
    temp_milli;
static double temp_c = 45;
static unsigned other_pid, child_gfx = 80;
static const char* other_while;
/* PMC_FAKE_AMDSMI_PROCESSES, when set: each process's share of the GFX engine's time. */
static struct fake_process_list listed = {.count = -1};
static double trace_start;
#define MAX_ROWS 4096
static double trace_t[MAX_ROWS], trace_w[MAX_ROWS], trace_c[MAX_ROWS];
static int trace_rows;
static double watts = 300, resolution = 15.625, start_counts = 1000000;
static int wrap_bits = 64;
static struct timespec t0;
static char clock_path[4096];
static const char* lost_path;

static double env_double(const char* name, double fallback) {
  const char* v = getenv(name);
  return v != NULL && *v != '\0' ? atof(v) : fallback;
}

static double now_s(void) {
  double t = 0;
  if (fake_read_clock(clock_path, &t)) return t;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)(ts.tv_sec - t0.tv_sec) + (double)(ts.tv_nsec - t0.tv_nsec) / 1e9;
}

double fake_amdsmi_now(void) {
  return now_s();
}

/* The trace's t_s, power_instant_mw (rounded to whole watts) and temp_c columns (the 1st, 5th
 * and 10th). */
static void load_trace(const char* path) {
  FILE* f = fopen(path, "r");
  char line[512];
  trace_rows = 0;
  if (f == NULL) return;
  if (fgets(line, sizeof line, f) == NULL) line[0] = '\0'; /* the header */
  while (trace_rows < MAX_ROWS && fgets(line, sizeof line, f) != NULL) {
    double t, mw, c;
    if (sscanf(line, "%lf,%*f,%*f,%*f,%lf,%*f,%*f,%*f,%*f,%lf", &t, &mw, &c) != 3) continue;
    trace_t[trace_rows] = t;
    trace_w[trace_rows] = floor(mw / 1000 + 0.5);
    trace_c[trace_rows] = c;
    ++trace_rows;
  }
  fclose(f);
}

/* The row in force at trace time t: the last one at or before t (the first before it). */
static int replayed_row(double t) {
  int row = 0;
  for (int i = 0; i < trace_rows && trace_t[i] <= t; ++i) row = i;
  return row;
}

static double replayed_watts(double t) {
  return trace_rows > 0 ? trace_w[replayed_row(t)] : 0;
}

static struct gpu* gpu_of(amdsmi_processor_handle h) {
  for (int i = 0; i < n_gpus; ++i)
    if (h == (void*)&gpus[i]) return &gpus[i];
  return NULL;
}

amdsmi_status_t amdsmi_init(uint64_t flags) {
  if (getenv("PMC_FAKE_AMDSMI_INIT_FAIL") != NULL) return AMDSMI_STATUS_INIT_ERROR;
  if ((flags & AMDSMI_INIT_AMD_GPUS) == 0) return AMDSMI_STATUS_INVAL;
  n_gpus = (int)env_double("PMC_FAKE_AMDSMI_GPUS", 1);
  if (n_gpus < 1) n_gpus = 1;
  if (n_gpus > MAX_GPUS) n_gpus = MAX_GPUS;
  int dual = getenv("PMC_FAKE_AMDSMI_DUAL_DIE") != NULL;
  n_sockets = 0;
  for (int i = 0; i < n_gpus; ++i) {
    gpus[i].index = i;
    gpus[i].socket = dual ? i / 2 : i;
    gpus[i].reports = !dual || i % 2 == 0;
    if (gpus[i].socket + 1 > n_sockets) n_sockets = gpus[i].socket + 1;
  }
  for (int s = 0; s < n_sockets; ++s) sockets[s] = s;
  watts = env_double("PMC_FAKE_AMDSMI_WATTS", 300);
  resolution = env_double("PMC_FAKE_AMDSMI_RESOLUTION", 15.625);
  start_counts = env_double("PMC_FAKE_AMDSMI_START", 1000000);
  wrap_bits = (int)env_double("PMC_FAKE_AMDSMI_WRAP_BITS", 64);
  no_energy = getenv("PMC_FAKE_AMDSMI_NO_ENERGY") != NULL;
  no_power = getenv("PMC_FAKE_AMDSMI_NO_POWER") != NULL;
  lost_path = getenv("PMC_FAKE_AMDSMI_LOST");
  replay = getenv("PMC_FAKE_AMDSMI_REPLAY") != NULL;
  temp_c = env_double("PMC_FAKE_AMDSMI_TEMP", 45);
  no_hotspot = getenv("PMC_FAKE_AMDSMI_NO_HOTSPOT") != NULL;
  no_temp = getenv("PMC_FAKE_AMDSMI_NO_TEMP") != NULL;
  temp_milli = getenv("PMC_FAKE_AMDSMI_TEMP_MILLI") != NULL;
  trace_start = env_double("PMC_FAKE_AMDSMI_TRACE_START", 0);
  other_pid = (unsigned)env_double("PMC_FAKE_AMDSMI_OTHER_PID", 0);
  other_while = getenv("PMC_FAKE_AMDSMI_OTHER_WHILE");
  if (other_while != NULL && *other_while == '\0') other_while = NULL;
  child_gfx = (unsigned)env_double("PMC_FAKE_AMDSMI_CHILD_GFX", 80);
  if (child_gfx > 100) child_gfx = 100;
  fake_parse_processes(getenv("PMC_FAKE_AMDSMI_PROCESSES"), &listed);
  if (replay) {
    const char* trace = getenv("PMC_FAKE_AMDSMI_TRACE");
#ifdef FAKE_AMDSMI_TRACE
    if (trace == NULL || *trace == '\0') trace = FAKE_AMDSMI_TRACE;
#endif
    if (trace != NULL) load_trace(trace);
  }
  const char* clock = getenv("PMC_FAKE_AMDSMI_CLOCK");
  snprintf(clock_path, sizeof clock_path, "%s", clock != NULL ? clock : "");
  clock_gettime(CLOCK_MONOTONIC, &t0);
  initialised = 1;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_shut_down(void) {
  initialised = 0;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_status_code_to_string(amdsmi_status_t status, const char** text) {
  switch (status) {
    case AMDSMI_STATUS_SUCCESS: *text = "AMDSMI_STATUS_SUCCESS: Call succeeded"; break;
    case AMDSMI_STATUS_NOT_SUPPORTED: *text = "AMDSMI_STATUS_NOT_SUPPORTED: Feature not supported"; break;
    case AMDSMI_STATUS_DRM_ERROR: *text = "AMDSMI_STATUS_DRM_ERROR: Error when calling libdrm"; break;
    case AMDSMI_STATUS_INIT_ERROR: *text = "AMDSMI_STATUS_INIT_ERROR: Initialization error"; break;
    default: *text = "AMDSMI_STATUS_UNKNOWN_ERROR: An unknown error occurred"; break;
  }
  return AMDSMI_STATUS_SUCCESS;
}

/* The count-then-fill protocol of AMD SMI's listings: a NULL array asks for the count. */
amdsmi_status_t amdsmi_get_socket_handles(uint32_t* count, amdsmi_socket_handle* handles) {
  if (!initialised) return AMDSMI_STATUS_NOT_INIT;
  if (count == NULL) return AMDSMI_STATUS_INVAL;
  if (handles == NULL) {
    *count = (uint32_t)n_sockets;
    return AMDSMI_STATUS_SUCCESS;
  }
  uint32_t n = *count < (uint32_t)n_sockets ? *count : (uint32_t)n_sockets;
  for (uint32_t s = 0; s < n; ++s) handles[s] = &sockets[s];
  *count = n;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_processor_handles(amdsmi_socket_handle socket, uint32_t* count,
                                             amdsmi_processor_handle* handles) {
  if (!initialised) return AMDSMI_STATUS_NOT_INIT;
  if (count == NULL || socket == NULL) return AMDSMI_STATUS_INVAL;
  int s = *(int*)socket;
  uint32_t n = 0;
  for (int i = 0; i < n_gpus; ++i) {
    if (gpus[i].socket != s) continue;
    if (handles != NULL && n < *count) handles[n] = &gpus[i];
    ++n;
  }
  if (handles != NULL && n > *count) n = *count;
  *count = n;
  return AMDSMI_STATUS_SUCCESS;
}

/* PMC_FAKE_AMDSMI_LOST's file exists now. */
static int lost(void) {
  return lost_path != NULL && *lost_path != '\0' && access(lost_path, F_OK) == 0;
}

#ifndef FAKE_AMDSMI_NO_ENERGY_SYMBOL
amdsmi_status_t amdsmi_get_energy_count(amdsmi_processor_handle h, uint64_t* energy_accumulator,
                                        float* counter_resolution, uint64_t* timestamp) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || energy_accumulator == NULL || counter_resolution == NULL || timestamp == NULL)
    return AMDSMI_STATUS_INVAL;
  if (no_energy) return AMDSMI_STATUS_NOT_SUPPORTED;
  if (lost()) return AMDSMI_STATUS_DRM_ERROR;
  double t = now_s();
  uint64_t counts = 0;
  if (g->reports) {
    counts = (uint64_t)start_counts + (uint64_t)floor(t * watts * 1e6 / resolution);
    if (wrap_bits < 64) counts &= (((uint64_t)1) << wrap_bits) - 1;
  }
  *energy_accumulator = counts;
  *counter_resolution = (float)resolution;
  *timestamp = (uint64_t)(t * 1e9);
  return AMDSMI_STATUS_SUCCESS;
}
#endif

amdsmi_status_t amdsmi_get_gpu_asic_info(amdsmi_processor_handle h, amdsmi_asic_info_t* info) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || info == NULL) return AMDSMI_STATUS_INVAL;
  memset(info, 0, sizeof *info);
  snprintf(info->market_name, sizeof info->market_name, "%s",
           getenv("PMC_FAKE_AMDSMI_DUAL_DIE") != NULL ? "AMD Instinct MI250X" : "AMD Instinct MI300X");
  info->vendor_id = 0x1002;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_device_uuid(amdsmi_processor_handle h, unsigned int* length,
                                           char* uuid) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || length == NULL || uuid == NULL || *length < 38) return AMDSMI_STATUS_INVAL;
  snprintf(uuid, *length, "%02xff74a1-0000-1000-80b2-c3b4d1f7a60%d", g->index, g->index);
  *length = (unsigned)strlen(uuid);
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_activity(amdsmi_processor_handle h, amdsmi_engine_usage_t* usage) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || usage == NULL) return AMDSMI_STATUS_INVAL;
  memset(usage, 0, sizeof *usage);
  usage->gfx_activity = 90;
  usage->umc_activity = 40;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_clock_info(amdsmi_processor_handle h, int type, amdsmi_clk_info_t* info) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || info == NULL) return AMDSMI_STATUS_INVAL;
  memset(info, 0, sizeof *info);
  info->clk = type == 0 ? 2100 : 1300;
  info->max_clk = 2100;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_power_cap_info(amdsmi_processor_handle h, uint32_t sensor,
                                          amdsmi_power_cap_info_t* info) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || info == NULL || sensor != 0) return AMDSMI_STATUS_INVAL;
  memset(info, 0, sizeof *info);
  info->power_cap = 750000000ULL;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_memory_total(amdsmi_processor_handle h, int type, uint64_t* total) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || total == NULL || type != 0) return AMDSMI_STATUS_INVAL;
  *total = 192ULL << 30;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_driver_info(amdsmi_processor_handle h, amdsmi_driver_info_t* info) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || info == NULL) return AMDSMI_STATUS_INVAL;
  memset(info, 0, sizeof *info);
  snprintf(info->driver_version, sizeof info->driver_version, "6.8.5");
  snprintf(info->driver_name, sizeof info->driver_name, "amdgpu");
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_power_info(amdsmi_processor_handle h, amdsmi_power_info_t* info) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || info == NULL) return AMDSMI_STATUS_INVAL;
  if (no_power) return AMDSMI_STATUS_NOT_SUPPORTED;
  if (lost()) return AMDSMI_STATUS_DRM_ERROR;
  memset(info, 0xff, sizeof *info);
  double w = replay ? replayed_watts(now_s() + trace_start) : watts;
  uint32_t reported = g->reports ? (uint32_t)floor(w + 0.5) : 0;
  info->socket_power = reported;
  info->current_socket_power = reported;
  info->power_limit = 750;
  return AMDSMI_STATUS_SUCCESS;
}

#ifndef FAKE_AMDSMI_NO_TEMP_SYMBOL
amdsmi_status_t amdsmi_get_temp_metric(amdsmi_processor_handle h,
                                       amdsmi_temperature_type_t sensor_type,
                                       amdsmi_temperature_metric_t metric, int64_t* temperature) {
  struct gpu* g = gpu_of(h);
  double junction, celsius;
  if (g == NULL || temperature == NULL) return AMDSMI_STATUS_INVAL;
  if (no_temp || metric != AMDSMI_TEMP_CURRENT) return AMDSMI_STATUS_NOT_SUPPORTED;
  junction = replay && trace_rows > 0 ? trace_c[replayed_row(now_s() + trace_start)] : temp_c;
  if (sensor_type == AMDSMI_TEMPERATURE_TYPE_HOTSPOT && !no_hotspot)
    celsius = junction;
  else if (sensor_type == AMDSMI_TEMPERATURE_TYPE_EDGE)
    celsius = junction - 10;
  else
    return AMDSMI_STATUS_NOT_SUPPORTED;
  *temperature = temp_milli ? (int64_t)llround(celsius * 1000) : (int64_t)celsius;
  return AMDSMI_STATUS_SUCCESS;
}
#endif

/* AMD SMI's count-then-fill protocol: *max_processes 0 (or no list) asks for the count; a list
 * too short is filled and answers OUT_OF_RESOURCES with the count needed. */
amdsmi_status_t amdsmi_get_gpu_process_list(amdsmi_processor_handle h, uint32_t* max_processes,
                                            amdsmi_proc_info_t* list) {
  struct gpu* g = gpu_of(h);
  unsigned pids[64];
  unsigned n = 0;
  if (g == NULL || max_processes == NULL) return AMDSMI_STATUS_INVAL;
  unsigned shares[64];
  if (listed.count >= 0) {
    for (int i = 0; i < listed.count && n < 64; ++i)
      if (listed.rows[i].gpu == g->index) {
        pids[n] = listed.rows[i].pid;
        shares[n++] = listed.rows[i].share;
      }
  } else if (g->index == 0) {
    n = fake_children(pids, 64);
    if (n > 63) n = 63;
    if (other_pid != 0 && (other_while == NULL || access(other_while, F_OK) == 0))
      pids[n++] = other_pid;
    for (unsigned i = 0; i < n; ++i) shares[i] = pids[i] == other_pid ? 100 - child_gfx : child_gfx;
  }
  if (*max_processes == 0 || n == 0) {
    *max_processes = n;
    return AMDSMI_STATUS_SUCCESS;
  }
  if (list == NULL) return AMDSMI_STATUS_INVAL;
  double t = now_s();
  uint32_t filled = *max_processes < n ? *max_processes : n;
  for (uint32_t i = 0; i < filled; ++i) {
    unsigned share = shares[i];
    memset(&list[i], 0, sizeof list[i]);
    snprintf(list[i].name, sizeof list[i].name, "proc%u", pids[i]);
    list[i].pid = pids[i];
    list[i].mem = 1ULL << 30;
    list[i].engine_usage.gfx = (uint64_t)(t * share / 100.0 * 1e9);
  }
  uint32_t wanted = n;
  *max_processes = filled;
  if (filled < wanted) {
    *max_processes = wanted;
    return AMDSMI_STATUS_OUT_OF_RESOURCES;
  }
  return AMDSMI_STATUS_SUCCESS;
}
