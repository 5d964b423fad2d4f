// The floor of bench/startup_median.py: fork, open one task-clock event on the child (enabled on
// exec, as perf stat and pmcmodel open theirs), let it exec /bin/true, reap it. With an argument,
// prints how long perf_event_open took (the kernel's first open after a pause can take 10-20 ms).
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char** argv) {
  int go[2];
  pipe(go);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    read(go[0], &c, 1);
    execl("/bin/true", "true", NULL);
    _exit(127);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.disabled = 1;
  attr.enable_on_exec = 1;
  attr.inherit = 1;
  int fd = syscall(SYS_perf_event_open, &attr, pid, -1, -1, 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  write(go[1], "x", 1);
  int st;
  waitpid(pid, &st, 0);
  if (argc > 1)
    fprintf(stderr, "open %.3f ms fd %d\n",
            (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, fd);
  return 0;
}
