#include "cli/failsafe.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

namespace pmc::cli {
namespace {

// Fixed storage only: the handlers run when allocation has failed or inside a signal handler.
constexpr int kTempSlots = 16;
constexpr size_t kPathBytes = 4096;
char g_temp_paths[kTempSlots][kPathBytes];
// 0 free, 1 taken while its path is copied in, 2 registered.
std::atomic<int> g_temp_state[kTempSlots];
std::atomic<pid_t> g_owner{0};
char g_command[64] = "";
char g_activity[256] = "";
std::atomic<int> g_deferred_signal{0};

void write_stderr(const char* text) {
  size_t n = std::strlen(text);
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, text, n);
    if (w <= 0) return;
    text += w;
    n -= size_t(w);
  }
}

void remove_temp_files() {
  // A forked child that has not exec'd yet shares these handlers: it must not remove the
  // parent's files.
  if (::getpid() != g_owner.load()) return;
  for (int i = 0; i < kTempSlots; ++i)
    if (g_temp_state[i].load() == 2) ::unlink(g_temp_paths[i]);
}

[[noreturn]] void out_of_memory() {
  write_stderr("pmcmodel");
  if (g_command[0] != '\0') {
    write_stderr(" ");
    write_stderr(g_command);
  }
  write_stderr(": out of memory");
  if (g_activity[0] != '\0') {
    write_stderr(" while ");
    write_stderr(g_activity);
  }
  write_stderr(" (free memory or raise the process's limit, ulimit -v)\n");
  remove_temp_files();
  ::_exit(1);
}

void on_terminate() {
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::bad_alloc&) {
      out_of_memory();
    } catch (...) {
    }
  }
  remove_temp_files();
  std::abort();
}

void on_signal(int sig) {
  remove_temp_files();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void copy_bounded(char* to, size_t size, std::string_view from) {
  size_t n = std::min(size - 1, from.size());
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

}  // namespace

void exit_out_of_memory() {
  out_of_memory();
}

void install_failsafe(std::string_view command) {
  g_owner.store(::getpid());
  copy_bounded(g_command, sizeof g_command, command);
  std::set_new_handler(out_of_memory);
  std::set_terminate(on_terminate);
  for (int sig : {SIGTERM, SIGHUP, SIGINT}) {
    struct sigaction current {};
    // A signal ignored by whoever started pmcmodel (nohup) stays ignored.
    if (::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(sig, &action, nullptr);
  }
}

void defer_signal(int sig) {
  if (sig > 0 && sig < 64) g_deferred_signal.store(sig);
}

void die_of_deferred_signal() {
  int sig = g_deferred_signal.load();
  if (sig == 0) return;
  remove_temp_files();
  ::signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
}

Activity::Activity(std::string_view what) {
  std::memcpy(previous_, g_activity, sizeof previous_);
  copy_bounded(g_activity, sizeof g_activity, what);
}

Activity::~Activity() {
  std::memcpy(g_activity, previous_, sizeof previous_);
}

TempFileGuard::TempFileGuard(std::string_view path) {
  if (path.size() >= kPathBytes) return;
  for (int i = 0; i < kTempSlots; ++i) {
    int expected = 0;
    if (!g_temp_state[i].compare_exchange_strong(expected, 1)) continue;
    copy_bounded(g_temp_paths[i], kPathBytes, path);
    g_temp_state[i].store(2);
    slot_ = i;
    return;
  }
}

TempFileGuard::~TempFileGuard() {
  if (slot_ >= 0) g_temp_state[slot_].store(0);
}

}  // namespace pmc::cli
