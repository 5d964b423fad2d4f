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
 * Built with FAKE_AMDSMI_NO_ENERGY_SYMBOL, the library has no amdsmi_get_energy_count at all.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int amdsmi_status_t;
enum {
  AMDSMI_STATUS_SUCCESS = 0,
  AMDSMI_STATUS_INVAL = 1,
  AMDSMI_STATUS_NOT_SUPPORTED = 2,
  AMDSMI_STATUS_INIT_ERROR = 18,
  AMDSMI_STATUS_NOT_INIT = 32
};
#define AMDSMI_INIT_AMD_GPUS (1u << 1)
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

#define MAX_GPUS 8
struct gpu {
  int index;
  int socket;
  int reports; /* 0: the second die of a pair, whose accumulator reads 0 */
};
static struct gpu gpus[MAX_GPUS];
static int sockets[MAX_GPUS];
static int n_gpus, n_sockets, initialised, no_energy;
static double watts = 300, resolution = 15.625, start_counts = 1000000;
static int wrap_bits = 64;
static struct timespec t0;
static char clock_path[4096];

static double env_double(const char* name, double fallback) {
  const char* v = getenv(name);
  return v != NULL && *v != '\0' ? atof(v) : fallback;
}

#ifndef FAKE_AMDSMI_NO_ENERGY_SYMBOL
static double now_s(void) {
  if (clock_path[0] != '\0') {
    FILE* f = fopen(clock_path, "r");
    if (f != NULL) {
      double t = 0;
      int ok = fscanf(f, "%lf", &t) == 1;
      fclose(f);
      if (ok) return t;
    }
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)(ts.tv_sec - t0.tv_sec) + (double)(ts.tv_nsec - t0.tv_nsec) / 1e9;
}
#endif

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

#ifndef FAKE_AMDSMI_NO_ENERGY_SYMBOL
amdsmi_status_t amdsmi_get_energy_count(amdsmi_processor_handle h, uint64_t* energy_accumulator,
                                        float* counter_resolution, uint64_t* timestamp) {
  struct gpu* g = gpu_of(h);
  if (g == NULL || energy_accumulator == NULL || counter_resolution == NULL || timestamp == NULL)
    return AMDSMI_STATUS_INVAL;
  if (no_energy) return AMDSMI_STATUS_NOT_SUPPORTED;
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
