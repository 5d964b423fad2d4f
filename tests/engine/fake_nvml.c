/* A stand-in for libnvidia-ml.so, built only for tests: the NVML functions engine/power/nvml.cpp
 * binds, with the types and values of NVIDIA's documented API (nvml.h, NVML API Reference). It
 * replays a real NVML trace of one H200 (tests/data/gpu/h200-trace1-samples.csv, one row every
 * ~13 ms) by the time since nvmlInit_v2: every reading returns the last row at or before that
 * time (the first row before it, the last row after it; past the end the energy counter goes on
 * at the last instant power).
 *
 * Environment (read at nvmlInit_v2):
 *   PMC_FAKE_NVML_TRACE      the samples CSV (default: the one compiled in as FAKE_NVML_TRACE)
 *   PMC_FAKE_NVML_START      seconds of the trace at nvmlInit_v2 (default 0)
 *   PMC_FAKE_NVML_CLOCK      a file holding the trace time in seconds; when it can be read, every
 *                            reading takes its time from it instead of the clock, so that a test
 *                            decides exactly which rows a run sees (a command can write it)
 *   PMC_FAKE_NVML_NO_ENERGY  nvmlDeviceGetTotalEnergyConsumption answers NOT_SUPPORTED
 *   PMC_FAKE_NVML_NO_FIELDS  nvmlDeviceGetFieldValues answers NOT_SUPPORTED
 *   PMC_FAKE_NVML_NO_MEM_CLOCK    nvmlDeviceGetClockInfo(NVML_CLOCK_MEM) answers NOT_SUPPORTED
 *   PMC_FAKE_NVML_NO_TEMPERATURE  nvmlDeviceGetTemperature answers NOT_SUPPORTED
 *   PMC_FAKE_NVML_GPUS       the number of GPUs (1 or 2; both replay the trace)
 *   PMC_FAKE_NVML_INIT_FAIL  nvmlInit_v2 answers DRIVER_NOT_LOADED
 *   PMC_FAKE_NVML_LOST       a file: while it exists, the energy counter and both power readings
 *                            answer GPU_IS_LOST (a GPU fallen off the bus), as a test decides
 *   PMC_FAKE_NVML_RESET      a file holding a trace time in seconds: when it can be read, the
 *                            energy counter restarted from 0 then (a driver reload, a GPU reset)
 *                            and reads the trace's counter less its value at that time
 *   PMC_FAKE_NVML_NO_PERMISSION  nvmlInit_v2 answers NO_PERMISSION (a user who may not open
 *                            /dev/nvidia*)
 *   PMC_FAKE_NVML_OTHER_PID  a process that is not the caller's child also computes on GPU 0
 *   PMC_FAKE_NVML_OTHER_WHILE  a file: the PMC_FAKE_NVML_OTHER_PID process is listed only while
 *                            it exists, as a test decides
 *   PMC_FAKE_NVML_CHILD_SM   SM utilisation of each child process in nvmlDeviceGetProcessUtilization
 *                            (default 80); the other process gets 100 minus that
 *   PMC_FAKE_NVML_PROCESSES  "GPU:PID:SM,…": exactly these compute processes, each on its GPU
 *                            with its SM utilisation, instead of the children and the other
 *                            process (any PIDs: a test with a procfs fixture names its own)
 *
 * Built with FAKE_NVML_NO_TEMPERATURE_SYMBOL, the library has no nvmlDeviceGetTemperature at all;
 * with FAKE_NVML_NO_FIELDS_SYMBOL, no nvmlDeviceGetFieldValues (an NVML older than R418).
 *
 * Compute processes: the caller's child processes (those whose parent in /proc/<pid>/stat is the
 * caller), on GPU 0 only, and the PMC_FAKE_NVML_OTHER_PID process when set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_gpu_processes.h"

typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_UNKNOWN = 999
};

typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct {
  unsigned int gpu;
  unsigned int memory;
} nvmlUtilization_t;
typedef struct {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
} nvmlProcessUtilizationSample_t;
typedef union {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  long long sllVal;
  int siVal;
  unsigned short usVal;
} nvmlValue_t;
typedef struct {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t;

#define NVML_FI_DEV_POWER_AVERAGE 185
#define NVML_FI_DEV_POWER_INSTANT 186
#define NVML_VALUE_TYPE_UNSIGNED_INT 1
#define NVML_CLOCK_SM 1
#define NVML_CLOCK_MEM 2

struct row {
  double t_s;
  unsigned power_mw, power_avg_mw, power_instant_mw;
  unsigned long long energy_mj;
  unsigned sm_mhz, mem_mhz, util_gpu, util_mem, temp_c;
};

static struct row* rows;
static size_t row_count;
static int initialized;
static struct timespec init_time;
static double start_s;
static const char* clock_file;
static const char* lost_file;
static const char* reset_file;
static const char* other_while_file;
static int gpus = 1;
static int no_energy, no_fields, no_mem_clock, no_temperature;
static unsigned other_pid;
static unsigned child_sm = 80;
/* PMC_FAKE_NVML_PROCESSES, when set: each process's SM utilisation. */
static struct fake_process_list listed = {.count = -1};
/* Two device handles: the address of an element is the handle. */
static char devices[2];

static int env_flag(const char* name) {
  const char* v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

static int load_trace(const char* path) {
  FILE* f = fopen(path, "r");
  char line[512];
  size_t capacity = 0;
  if (!f) return 0;
  row_count = 0;
  if (!fgets(line, sizeof line, f)) { /* the header */
    fclose(f);
    return 0;
  }
  while (fgets(line, sizeof line, f)) {
    struct row r;
    unsigned pstate, throttle;
    if (sscanf(line, "%lf,%u,%llu,%u,%u,%u,%u,%u,%u,%u,%u,%u", &r.t_s, &r.power_mw, &r.energy_mj,
               &r.power_avg_mw, &r.power_instant_mw, &r.sm_mhz, &r.mem_mhz, &r.util_gpu,
               &r.util_mem, &r.temp_c, &pstate, &throttle) != 12)
      continue;
    if (row_count == capacity) {
      capacity = capacity ? 2 * capacity : 4096;
      rows = realloc(rows, capacity * sizeof *rows);
      if (!rows) {
        fclose(f);
        return 0;
      }
    }
    rows[row_count++] = r;
  }
  fclose(f);
  return row_count > 0;
}

static double trace_time(void) {
  struct timespec now;
  double t;
  if (fake_read_clock(clock_file, &t)) return t;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return start_s + (double)(now.tv_sec - init_time.tv_sec) +
         (double)(now.tv_nsec - init_time.tv_nsec) / 1e9;
}

/* The row in force at trace time t: the last one at or before t. */
static const struct row* row_at(double t) {
  size_t lo = 0, hi = row_count;
  if (t < rows[0].t_s) return &rows[0];
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (rows[mid].t_s <= t)
      lo = mid;
    else
      hi = mid;
  }
  return &rows[lo];
}

static int device_index(nvmlDevice_t device) {
  if (device == (nvmlDevice_t)&devices[0]) return 0;
  if (device == (nvmlDevice_t)&devices[1] && gpus > 1) return 1;
  return -1;
}

#define CHECK_DEVICE(device)                                \
  do {                                                      \
    if (!initialized) return NVML_ERROR_UNINITIALIZED;      \
    if (device_index(device) < 0) return NVML_ERROR_INVALID_ARGUMENT; \
  } while (0)

nvmlReturn_t nvmlInit_v2(void) {
  const char* trace = getenv("PMC_FAKE_NVML_TRACE");
  const char* v;
  if (env_flag("PMC_FAKE_NVML_INIT_FAIL")) return NVML_ERROR_DRIVER_NOT_LOADED;
  if (env_flag("PMC_FAKE_NVML_NO_PERMISSION")) return NVML_ERROR_NO_PERMISSION;
#ifdef FAKE_NVML_TRACE
  if (!trace || !*trace) trace = FAKE_NVML_TRACE;
#endif
  if (!trace || !load_trace(trace)) return NVML_ERROR_UNKNOWN;
  v = getenv("PMC_FAKE_NVML_START");
  start_s = v ? atof(v) : 0.0;
  clock_file = getenv("PMC_FAKE_NVML_CLOCK");
  if (clock_file && !*clock_file) clock_file = NULL;
  lost_file = getenv("PMC_FAKE_NVML_LOST");
  if (lost_file && !*lost_file) lost_file = NULL;
  reset_file = getenv("PMC_FAKE_NVML_RESET");
  if (reset_file && !*reset_file) reset_file = NULL;
  other_while_file = getenv("PMC_FAKE_NVML_OTHER_WHILE");
  if (other_while_file && !*other_while_file) other_while_file = NULL;
  v = getenv("PMC_FAKE_NVML_GPUS");
  gpus = v && atoi(v) == 2 ? 2 : 1;
  no_energy = env_flag("PMC_FAKE_NVML_NO_ENERGY");
  no_fields = env_flag("PMC_FAKE_NVML_NO_FIELDS");
  no_mem_clock = env_flag("PMC_FAKE_NVML_NO_MEM_CLOCK");
  no_temperature = env_flag("PMC_FAKE_NVML_NO_TEMPERATURE");
  v = getenv("PMC_FAKE_NVML_OTHER_PID");
  other_pid = v ? (unsigned)atoi(v) : 0;
  v = getenv("PMC_FAKE_NVML_CHILD_SM");
  child_sm = v ? (unsigned)atoi(v) : 80;
  if (child_sm > 100) child_sm = 100;
  fake_parse_processes(getenv("PMC_FAKE_NVML_PROCESSES"), &listed);
  clock_gettime(CLOCK_MONOTONIC, &init_time);
  initialized = 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  initialized = 0;
  free(rows);
  rows = NULL;
  row_count = 0;
  return NVML_SUCCESS;
}

const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (length < 10) return NVML_ERROR_INSUFFICIENT_SIZE;
  snprintf(version, length, "%s", "580.159.04");
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  *count = (unsigned)gpus;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (index >= (unsigned)gpus) return NVML_ERROR_INVALID_ARGUMENT;
  *device = (nvmlDevice_t)&devices[index];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  CHECK_DEVICE(device);
  snprintf(name, length, "%s", "NVIDIA H200");
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  CHECK_DEVICE(device);
  snprintf(uuid, length, "GPU-00000000-fake-4e56-8d1c-00000000000%d", device_index(device));
  return NVML_SUCCESS;
}

/* PMC_FAKE_NVML_LOST's file exists now. */
static int lost(void) {
  return lost_file != NULL && access(lost_file, F_OK) == 0;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power) {
  CHECK_DEVICE(device);
  if (lost()) return NVML_ERROR_GPU_IS_LOST;
  *power = row_at(trace_time())->power_mw;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* energy) {
  double t, reset;
  const struct row* r;
  CHECK_DEVICE(device);
  if (no_energy) return NVML_ERROR_NOT_SUPPORTED;
  if (lost()) return NVML_ERROR_GPU_IS_LOST;
  t = trace_time();
  r = row_at(t);
  *energy = r->energy_mj;
  if (r == &rows[row_count - 1] && t > r->t_s)
    *energy += (unsigned long long)((t - r->t_s) * r->power_instant_mw);
  if (fake_read_clock(reset_file, &reset) && t >= reset) {
    unsigned long long at_reset = row_at(reset)->energy_mj;
    *energy = *energy > at_reset ? *energy - at_reset : 0;
  }
  return NVML_SUCCESS;
}

#ifndef FAKE_NVML_NO_FIELDS_SYMBOL
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int count, nvmlFieldValue_t* values) {
  const struct row* r;
  struct timespec now;
  int i;
  CHECK_DEVICE(device);
  if (no_fields) return NVML_ERROR_NOT_SUPPORTED;
  if (lost()) return NVML_ERROR_GPU_IS_LOST;
  r = row_at(trace_time());
  clock_gettime(CLOCK_REALTIME, &now);
  for (i = 0; i < count; ++i) {
    nvmlFieldValue_t* v = &values[i];
    v->timestamp = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    v->latencyUsec = 0;
    v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
    v->nvmlReturn = NVML_SUCCESS;
    if (v->fieldId == NVML_FI_DEV_POWER_INSTANT)
      v->value.uiVal = r->power_instant_mw;
    else if (v->fieldId == NVML_FI_DEV_POWER_AVERAGE)
      v->value.uiVal = r->power_avg_mw;
    else
      v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
  }
  return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* utilization) {
  const struct row* r;
  CHECK_DEVICE(device);
  r = row_at(trace_time());
  utilization->gpu = r->util_gpu;
  utilization->memory = r->util_mem;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned int* clock) {
  const struct row* r;
  CHECK_DEVICE(device);
  if (type == NVML_CLOCK_MEM && no_mem_clock) return NVML_ERROR_NOT_SUPPORTED;
  r = row_at(trace_time());
  if (type == NVML_CLOCK_MEM)
    *clock = r->mem_mhz;
  else
    *clock = r->sm_mhz;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, int type, unsigned int* clock) {
  CHECK_DEVICE(device);
  *clock = type == NVML_CLOCK_MEM ? 3201 : 1980;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int* limit) {
  CHECK_DEVICE(device);
  *limit = 700000;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* limit) {
  CHECK_DEVICE(device);
  *limit = 700000;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  CHECK_DEVICE(device);
  memory->total = 150754820096ULL; /* 143,771 MiB, as an H200 reports */
  memory->used = 0;
  memory->free = memory->total;
  return NVML_SUCCESS;
}

#ifndef FAKE_NVML_NO_TEMPERATURE_SYMBOL
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int* temp) {
  CHECK_DEVICE(device);
  (void)sensor;
  if (no_temperature) return NVML_ERROR_NOT_SUPPORTED;
  *temp = row_at(trace_time())->temp_c;
  return NVML_SUCCESS;
}
#endif

/* The compute processes of a device: those PMC_FAKE_NVML_PROCESSES lists for it, else children
 * (GPU 0) and the other process (GPU 0). */
static unsigned processes(nvmlDevice_t device, unsigned* pids, unsigned capacity) {
  unsigned n;
  int i;
  if (listed.count >= 0) {
    n = 0;
    for (i = 0; i < listed.count; ++i) {
      if (listed.rows[i].gpu != device_index(device)) continue;
      if (n < capacity) pids[n] = listed.rows[i].pid;
      ++n;
    }
    return n;
  }
  if (device_index(device) != 0) return 0;
  n = fake_children(pids, capacity);
  if (other_pid && (other_while_file == NULL || access(other_while_file, F_OK) == 0)) {
    if (n < capacity) pids[n] = other_pid;
    ++n;
  }
  return n;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
  unsigned pids[64];
  unsigned n, i;
  CHECK_DEVICE(device);
  n = processes(device, pids, 64);
  if (n > 64) n = 64;
  if (infos == NULL || *count < n) {
    *count = n;
    return n == 0 ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (i = 0; i < n; ++i) {
    infos[i].pid = pids[i];
    infos[i].usedGpuMemory = 1ULL << 30;
    infos[i].gpuInstanceId = 0xFFFFFFFFu;
    infos[i].computeInstanceId = 0xFFFFFFFFu;
  }
  *count = n;
  return NVML_SUCCESS;
}

static unsigned sm_of(nvmlDevice_t device, unsigned pid) {
  int i;
  if (listed.count >= 0) {
    for (i = 0; i < listed.count; ++i)
      if (listed.rows[i].gpu == device_index(device) && listed.rows[i].pid == pid)
        return listed.rows[i].share;
    return 0;
  }
  return other_pid && pid == other_pid ? 100 - child_sm : child_sm;
}

/* One sample per compute process, stamped now (µs); NOT_FOUND when none is newer than
 * lastSeenTimeStamp, which is how NVML says "no new sample". */
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device,
                                             nvmlProcessUtilizationSample_t* samples,
                                             unsigned int* count,
                                             unsigned long long lastSeenTimeStamp) {
  unsigned pids[64];
  unsigned n, i;
  struct timespec now;
  unsigned long long stamp;
  CHECK_DEVICE(device);
  clock_gettime(CLOCK_REALTIME, &now);
  stamp = (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000;
  n = processes(device, pids, 64);
  if (n > 64) n = 64;
  if (n == 0 || stamp <= lastSeenTimeStamp) return NVML_ERROR_NOT_FOUND;
  if (samples == NULL || *count < n) {
    *count = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (i = 0; i < n; ++i) {
    samples[i].pid = pids[i];
    samples[i].timeStamp = stamp;
    samples[i].smUtil = sm_of(device, pids[i]);
    samples[i].memUtil = samples[i].smUtil / 2;
    samples[i].encUtil = 0;
    samples[i].decUtil = 0;
  }
  *count = n;
  return NVML_SUCCESS;
}
