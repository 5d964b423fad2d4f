/* What the stand-in GPU libraries (fake_nvml.c, fake_amdsmi.c) share: the compute processes they
 * report, either the caller's children or a list given in the environment, and the trace time
 * read from a clock file the tests write. Static functions: each stand-in is a shared object of
 * its own and exports only its library's symbols. */
#ifndef PMC_FAKE_GPU_PROCESSES_H
#define PMC_FAKE_GPU_PROCESSES_H

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAKE_MAX_LISTED 64

/* One process a test lists on a GPU, with its share of the GPU's engine time in %. */
struct fake_listed {
  int gpu;
  unsigned pid, share;
};

struct fake_process_list {
  struct fake_listed rows[FAKE_MAX_LISTED];
  int count; /* -1: no list given */
};

/* "GPU:PID:SHARE,…" (PMC_FAKE_NVML_PROCESSES, PMC_FAKE_AMDSMI_PROCESSES) into `list`, up to the
 * first entry that does not parse; count -1 when `text` is NULL. */
static void fake_parse_processes(const char* text, struct fake_process_list* list) {
  const char* p = text;
  list->count = -1;
  if (p == NULL) return;
  list->count = 0;
  while (*p != '\0' && list->count < FAKE_MAX_LISTED) {
    struct fake_listed* l = &list->rows[list->count];
    int used = 0;
    if (sscanf(p, "%d:%u:%u%n", &l->gpu, &l->pid, &l->share, &used) != 3) break;
    ++list->count;
    p += used;
    if (*p == ',') ++p;
  }
}

/* The caller's children, up to `capacity` of them into `out`; returns how many there are.
 * /proc/<pid>/stat's fourth field is the parent. */
static unsigned fake_children(unsigned* out, unsigned capacity) {
  DIR* d = opendir("/proc");
  struct dirent* e;
  unsigned n = 0;
  pid_t self = getpid();
  if (d == NULL) return 0;
  while ((e = readdir(d)) != NULL) {
    char path[300], buf[512];
    FILE* f;
    char* close_paren;
    int ppid = 0;
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    f = fopen(path, "r");
    if (f == NULL) continue;
    buf[0] = '\0';
    if (fgets(buf, sizeof buf, f) == NULL) buf[0] = '\0';
    fclose(f);
    close_paren = strrchr(buf, ')');
    if (close_paren == NULL || sscanf(close_paren + 1, " %*c %d", &ppid) != 1) continue;
    if (ppid != self) continue;
    if (n < capacity) out[n] = (unsigned)atoi(e->d_name);
    ++n;
  }
  closedir(d);
  return n;
}

/* The trace time a test wrote to the clock file `path` (seconds): 1 and *t set when it could be
 * read, else 0 (the stand-in then runs on its own clock). */
static int fake_read_clock(const char* path, double* t) {
  FILE* f;
  int ok;
  if (path == NULL || *path == '\0') return 0;
  f = fopen(path, "r");
  if (f == NULL) return 0;
  ok = fscanf(f, "%lf", t) == 1;
  fclose(f);
  return ok;
}

#endif
