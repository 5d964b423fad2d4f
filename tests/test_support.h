#pragma once
// Helpers shared by tests: the test binary as a child command, running pmcmodel.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace pmc::test {

// argv that re-executes this test binary doing `spec` (see test_main.cpp), via env.
std::vector<std::string> child_command(const std::string& spec);

// A body a test runs in a fresh process: this test binary executed again, not a fork of the test
// process, so no library state of the test process reaches it (libpfm4 keeps the core table it
// detected active across pfm_terminate(), so a forked child that forces another CPU's table with
// LIBPFM_FORCE_PMU still resolves names on the host's). A body gets the input text its caller
// passed and returns the text the caller reads back; an exception becomes "exception: <what>".
using ChildBody = std::string (*)(const std::string& input);

// Registers `body` under `name`; call it from a namespace-scope initializer:
//   const bool registered = pmc::test::register_child_body("encode", encode_body);
bool register_child_body(const std::string& name, ChildBody body);

// Runs the body registered as `name` in a fresh process with `input` and the extra environment
// entries `env` ("NAME=value"; "NAME" alone removes NAME). Returns what the body returned; the
// calling test fails when the child does not exit 0.
std::string run_child_body(const std::string& name, const std::string& input,
                           const std::vector<std::string>& env = {});

// The child side (test_main.cpp): runs body `name` on $PMC_TEST_CHILD_INPUT, prints its text.
int child_body_main(const std::string& name);

struct ProcessResult {
  int exit_code = -1;   // 128+N when killed by signal N
  int term_signal = 0;  // N when killed by signal N (an exit(128+N) leaves it 0)
  std::string out;
  std::string err;
};

// Runs argv with extra environment entries ("NAME=value"), capturing stdout and stderr.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env = {},
                          double send_sigint_after_s = -1);

// argv for the pmcmodel binary under test with `args`.
std::vector<std::string> pmcmodel(std::vector<std::string> args);

std::string read_file(const std::string& path);

// Steal time of the whole machine so far, in seconds: the "steal" field of /proc/stat's cpu line
// (0 when unreadable). On a VM, perf's task-clock counts the time the hypervisor took from a
// running task (it reads the task's clock, local_clock), while the kernel's rusage does not (with
// steal accounting, sum_exec_runtime runs on the rq's clock_task, which excludes steal): tests
// that compare the two allow the steal that happened during the run.
double machine_steal_s();

// Whether this test binary (and the pmcmodel it runs) is built with AddressSanitizer, whose
// runtime makes system calls of its own (LeakSanitizer's exit check stops the process's threads
// with a tracer that calls getppid).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUnderAsan = true;
#else
constexpr bool kUnderAsan = false;
#endif
#else
constexpr bool kUnderAsan = false;
#endif

// The CPU time process `pid`'s threads have had so far, in seconds (/proc/PID/schedstat's first
// field for each task, the scheduler's sum_exec_runtime; steal excluded as in rusage); 0 when
// unreadable. What a test bounds a count by when it cannot assume the process had a CPU to itself.
double process_cpu_s(pid_t pid);

// The uid and gid tests drop to with setpriv (nobody) when they need a user without root's
// permission to read any file.
constexpr uid_t kNobody = 65534;

// argv prefix that runs a command as kNobody with no supplementary groups.
std::vector<std::string> as_nobody();

// A fresh folder (mkdtemp, mode 0700) under $TMPDIR, or /tmp when it is unset; the caller
// removes it.
std::filesystem::path make_temp_dir(const std::string& name);

// A fresh folder that another user can reach, removed on destruction. A test that runs pmcmodel as
// another user cannot rely on where the checkout, the build tree or $TMPDIR lives: any of them may
// be under a mode-0700 folder (a home, a `mktemp -d`). The folder is made under $TMPDIR when every
// folder above it lets others through, else under /tmp or /var/tmp; it is mode 0755 (0777 with
// `writable`). When no such place exists, `path` is empty and `why` says what was tried.
struct ReachableDir {
  std::filesystem::path path;
  std::string why;
  explicit ReachableDir(const std::string& name, bool writable = false);
  ~ReachableDir();
  ReachableDir(const ReachableDir&) = delete;
  ReachableDir& operator=(const ReachableDir&) = delete;
};

// Whether every folder above `path` (and `path` itself when it is a folder) lets others through
// (mode o+x); `why` names the first that does not.
bool others_can_reach(const std::filesystem::path& path, std::string* why = nullptr);

// pmcmodel as an installed copy another user can run: `dir`/bin/pmcmodel and its data under
// `dir`/share/pmcmodel (skus.csv, grid.csv, metrics/…), all world-readable. Returns the binary's
// path and the environment entry `data_dir_env` that points PMCMODEL_DATA_DIR at the copied data.
struct InstalledCopy {
  std::string binary;
  std::string data_dir_env;  // "PMCMODEL_DATA_DIR=…"
};
InstalledCopy install_copy(const std::filesystem::path& dir);

// Checks, as kNobody, that `paths` can be read (and the first one executed); empty when they can,
// else the reason. Run it before a test that depends on it and skip with the reason printed.
std::string nobody_cannot_use(const std::vector<std::string>& paths);

// Makes sure tracefs can be read at /sys/kernel/tracing (or /sys/kernel/debug/tracing), mounting
// it as root when it is not mounted: empty when it can, else why not (the test then skips and
// prints it). Tests that count tracepoints for real call it first.
std::string tracefs_unavailable();

}  // namespace pmc::test
