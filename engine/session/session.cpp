#include "engine/session/session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "engine/counting/scaling.h"
#include "engine/system/fd.h"

namespace pmc {
namespace {

using Clock = std::chrono::steady_clock;

// Blocks the signals the session waits for (it takes them with sigtimedwait) and restores the
// previous mask on destruction.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigemptyset(&mask_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&mask_, s);
    pthread_sigmask(SIG_BLOCK, &mask_, &previous_);
  }
  ~BlockedSignals() {
    // Drop signals that arrived but were never taken, so they do not fire after restoring.
    timespec zero{0, 0};
    while (sigtimedwait(&mask_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  const sigset_t& previous() const { return previous_; }

  // Waits until one of the signals comes or `timeout` passes (forever when null): the signal
  // number, or 0 at the timeout or an interruption. One syscall that both sleeps and takes the
  // signal: a -I tick is this wait's timeout, so it runs ten times a second, and a poll on a
  // signalfd cost more (the poll table, signalfd_poll, then a read for each signal).
  int wait(const timespec* timeout, siginfo_t& info) const {
    int sig = timeout ? sigtimedwait(&mask_, &info, timeout) : sigwaitinfo(&mask_, &info);
    if (sig > 0) return sig;
    if (errno == EAGAIN || errno == EINTR) return 0;
    throw std::runtime_error(std::string("sigtimedwait: ") + std::strerror(errno));
  }
  // A signal already pending, without waiting; 0 when none.
  int take_pending(siginfo_t& info) const {
    timespec zero{0, 0};
    return wait(&zero, info);
  }

 private:
  sigset_t mask_{};
  sigset_t previous_{};
};

// A forked child that waits on a pipe before exec, so counters can be attached first.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const sigset_t& child_mask, bool kill_on_exit)
      : kill_on_exit_(kill_on_exit) {
    int go[2], err[2];
    pid_t parent = getpid();
    if (pipe2(go, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      ::close(go[1]);
      ::close(err[0]);
      sigprocmask(SIG_SETMASK, &child_mask, nullptr);
      // The command dies with pmcmodel, even when pmcmodel is SIGKILLed (the kernel clears this
      // at the exec of a set-user-ID program). A parent already gone before it took effect is
      // seen as a new parent.
      if (kill_on_exit && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
        _exit(127);
      char byte = 0;
      ssize_t n;
      do n = ::read(go[0], &byte, 1);
      while (n < 0 && errno == EINTR);
      if (n != 1) _exit(127);  // the parent gave up before releasing us
      execvp(args[0], args.data());
      int e = errno;
      (void)!::write(err[1], &e, sizeof e);
      _exit(e == ENOENT ? 127 : 126);
    }
    ::close(go[0]);
    ::close(err[1]);
    go_.reset(go[1]);
    exec_error_.reset(err[0]);
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      go_.reset();                              // an unreleased child exits on EOF
      if (released_ && !kill_on_exit_) return;  // --no-kill-on-exit: left running
      if (released_) kill(pid_, SIGKILL);
      int status;
      waitpid(pid_, &status, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // Lets the child exec. Returns 0 when exec succeeded, else its errno (the child has exited).
  int release() {
    char byte = 1;
    released_ = true;
    if (::write(go_.get(), &byte, 1) != 1) return errno;
    go_.reset();
    int e = 0;
    ssize_t n;
    do n = ::read(exec_error_.get(), &e, sizeof e);
    while (n < 0 && errno == EINTR);
    exec_error_.reset();
    return n == ssize_t(sizeof e) ? e : 0;
  }

  // Whether the child has exited, without reaping it (waitid WNOWAIT): its counters then hold
  // their final values, and a tick would read an interval in which nothing ran.
  bool has_exited() const {
    if (reaped_) return true;
    siginfo_t info{};
    return waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0;
  }

  // Reaps the child if it has exited; fills status and rusage.
  bool try_reap(bool block, int& status, rusage& usage) {
    if (reaped_) return true;
    pid_t r;
    do r = wait4(pid_, &status, block ? 0 : WNOHANG, &usage);
    while (r < 0 && errno == EINTR);
    if (r == pid_) reaped_ = true;
    return reaped_;
  }

 private:
  pid_t pid_ = -1;
  Fd go_;
  Fd exec_error_;
  bool released_ = false;
  bool reaped_ = false;
  bool kill_on_exit_ = true;
};

std::string iso8601_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, int(ms));
  return out;
}

double seconds(const timeval& tv) {
  return double(tv.tv_sec) + double(tv.tv_usec) * 1e-6;
}

// The events of an interval in which no counter ran at all (no count, no enabled time): for a
// command, the interval after its exit, read from counters that had already stopped.
bool nothing_ran(const std::vector<EventCount>& events) {
  bool any = false;
  for (const EventCount& e : events) {
    if (!e.counted()) continue;
    if (e.raw != 0 || e.time_enabled_ns != 0) return false;
    any = true;
  }
  return any;
}

Interval make_interval(const std::vector<EventCount>& now, const std::vector<EventCount>& before,
                       double t_s, double duration_s) {
  Interval iv;
  iv.time_s = t_s;
  iv.duration_s = duration_s;
  iv.events.reserve(now.size());
  for (size_t i = 0; i < now.size(); ++i)
    iv.events.push_back(i < before.size() ? delta_count(now[i], before[i]) : now[i]);
  return iv;
}

// The interval between two raw records of the counters (`earlier` null: since the start).
Interval raw_interval(const Counters& counters, const uint64_t* later, const uint64_t* earlier,
                      double t_s, double duration_s) {
  Interval iv;
  iv.time_s = t_s;
  iv.duration_s = duration_s;
  counters.interval_from_raw(later, earlier, iv.events);
  return iv;
}

}  // namespace

bool process_exists(int pid) {
  return !(::kill(pid, 0) != 0 && errno == ESRCH);
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

RunResult run_counted(Counters& counters, RunOptions options, const IntervalSink& on_interval) {
  BlockedSignals signals;
  RunResult result;
  std::optional<Child> child;
  if (!options.argv.empty()) {
    child.emplace(options.argv, signals.previous(), options.kill_on_exit);
    if (options.target.kind == Target::Kind::command) options.target.pid = child->pid();
  }
  counters.open(options.target);
  bool by_exec = options.target.kind == Target::Kind::command;
  // Every target is enabled here; for a command that starts only what its exec cannot (the
  // CPU-wide copies of RAPL and uncore events), its task counters start at exec.
  counters.enable();

  auto sample = [&] {
    if (options.on_sample) options.on_sample();
  };
  result.start_time = iso8601_now();
  sample();
  auto t0 = Clock::now();
  if (child) {
    if (int e = child->release(); e != 0) {
      int status;
      rusage usage{};
      child->try_reap(true, status, usage);
      throw ExecError("cannot run '" + options.argv[0] + "': " + std::strerror(e),
                      e == ENOENT ? 127 : 126);
    }
  }

  auto interval = std::chrono::milliseconds(options.interval_ms);
  auto next_tick = t0 + interval;
  auto sample_period = std::chrono::milliseconds(options.sample_ms);
  auto next_sample = options.sample_ms > 0 ? t0 + sample_period : Clock::time_point::max();
  // --duration ends a command-less run; a command is stopped then as timeout(1) stops it:
  // SIGTERM, and SIGKILL kStopGrace later if it is still running.
  constexpr auto kStopGrace = std::chrono::seconds(2);
  auto deadline = options.duration_s > 0
                      ? t0 + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(options.duration_s))
                      : Clock::time_point::max();
  std::vector<EventCount> previous, current;  // swapped at each tick, their storage reused
  // A backend with raw records builds each interval from two of them, copy by copy.
  const size_t record = counters.raw_record_size();
  std::vector<uint64_t> raw_now, raw_before;
  std::vector<uint64_t> raw_ticks;  // RunOptions::on_tick: each tick's raw record
  std::vector<double> tick_times;   // and its time and duration
  // The intervals of the ticks recorded so far, built as a tick would have built them, each
  // passed to the sink (and kept unless RunOptions::keep_intervals is false); raw_before then
  // holds the last tick's record, from which the next interval starts.
  auto build_ticks = [&] {
    size_t ticks = tick_times.size() / 2;
    if (ticks == 0) return;
    if (options.keep_intervals) result.intervals.reserve(result.intervals.size() + ticks + 1);
    for (size_t k = 0; k < ticks; ++k) {
      const uint64_t* earlier = k > 0                ? raw_ticks.data() + (k - 1) * record
                                : raw_before.empty() ? nullptr
                                                     : raw_before.data();
      auto iv = raw_interval(counters, raw_ticks.data() + k * record, earlier, tick_times[2 * k],
                             tick_times[2 * k + 1]);
      if (on_interval) on_interval(iv);
      if (options.keep_intervals) result.intervals.push_back(std::move(iv));
    }
    raw_before.assign(raw_ticks.end() - long(record), raw_ticks.end());
    raw_ticks.clear();
    tick_times.clear();
  };
  auto last_tick = t0;
  bool child_signalled = false;
  // RunOptions::kill_after_s: when the command is sent SIGKILL, counted from the first signal.
  auto first_signal = Clock::time_point::max();
  auto kill_at = Clock::time_point::max();
  auto next_reap = t0 + std::chrono::seconds(1);
  int status = 0;
  rusage usage{};
  bool done = false;
  while (!done) {
    auto now = Clock::now();
    auto wake = std::min({options.interval_ms > 0 ? next_tick : Clock::time_point::max(), deadline,
                          next_sample, kill_at});
    timespec timeout{};
    if (wake != Clock::time_point::max()) {
      auto ns = std::max<long long>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now).count());
      timeout.tv_sec = time_t(ns / 1000000000);
      timeout.tv_nsec = long(ns % 1000000000);
    }
    siginfo_t info{};
    for (int sig = signals.wait(wake == Clock::time_point::max() ? nullptr : &timeout, info);
         sig > 0; sig = signals.take_pending(info)) {
      if (sig == SIGCHLD) {
        child_signalled = true;
        continue;
      }
      result.interrupted_by = sig;
      if (child && first_signal == Clock::time_point::max()) {
        first_signal = Clock::now();
        if (options.kill_after_s > 0)
          kill_at = first_signal + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(options.kill_after_s));
      }
      if (!child) {
        done = true;
      } else if (info.si_code != SI_KERNEL) {
        // A terminal's ^C already reached the command (same process group, si_code
        // SI_KERNEL); a kill(1) aimed at pmcmodel did not, so pass it on.
        kill(child->pid(), sig);
      }
    }
    // wait4 only when SIGCHLD came (a syscall per interval saved), and once a second whatever
    // came, so that a lost signal can only delay the end, never hang the session.
    now = Clock::now();
    if (child && (child_signalled || now >= next_reap)) {
      child_signalled = false;
      next_reap = now + std::chrono::seconds(1);
      if (child->try_reap(false, status, usage)) done = true;
    }
    if (child && !done && now >= kill_at) {
      // The command outlived the signal by the grace period: SIGKILL, and the record says so.
      kill(child->pid(), SIGKILL);
      result.killed_after_s = std::chrono::duration<double>(now - first_signal).count();
      kill_at = Clock::time_point::max();
    }
    bool tick = !done && options.interval_ms > 0 && now >= next_tick;
    if (tick && child && child->has_exited()) {
      // The command ended before this tick: the run ends here, and its last interval is the
      // one from the previous tick to the exit, not an empty one after it.
      child->try_reap(true, status, usage);
      done = true;
      tick = false;
    }
    // At a tick the interval sink reads the power source, which samples it (every source's
    // read_interval does): sampling here too would read each meter three times per interval.
    if (now >= next_sample) {
      if (!tick) sample();
      while (next_sample <= now) next_sample += sample_period;
    }
    if (tick) {
      double t = std::chrono::duration<double>(now - t0).count();
      double d = std::chrono::duration<double>(now - last_tick).count();
      if (options.on_tick && counters.read_raw(raw_ticks)) {
        tick_times.push_back(t);
        tick_times.push_back(d);
        options.on_tick();
        if (options.ticks_per_batch > 0 && tick_times.size() / 2 >= options.ticks_per_batch) {
          build_ticks();
          if (options.on_batch) options.on_batch();
        }
      } else if (record > 0) {
        raw_now.clear();
        counters.read_raw(raw_now);
        auto iv = raw_interval(counters, raw_now.data(),
                               raw_before.empty() ? nullptr : raw_before.data(), t, d);
        if (options.on_tick) options.on_tick();
        if (on_interval) on_interval(iv);
        if (options.keep_intervals) result.intervals.push_back(std::move(iv));
        std::swap(raw_now, raw_before);
      } else {
        counters.read_into(current);
        auto iv = make_interval(current, previous, t, d);
        if (options.on_tick) options.on_tick();
        if (on_interval) on_interval(iv);
        if (options.keep_intervals) result.intervals.push_back(std::move(iv));
        std::swap(previous, current);
      }
      last_tick = now;
      while (next_tick <= now) next_tick += interval;
    }
    if (now >= deadline && !done) {
      if (!child) {
        done = true;
      } else if (!result.stopped_at_duration) {
        result.stopped_at_duration = true;
        kill(child->pid(), SIGTERM);
        deadline = now + kStopGrace;
      } else {
        kill(child->pid(), SIGKILL);
        deadline = Clock::time_point::max();
      }
    }
  }
  auto t1 = Clock::now();
  if (!by_exec) counters.disable();
  result.duration_s = std::chrono::duration<double>(t1 - t0).count();
  if (record > 0) {
    raw_now.clear();
    counters.read_raw(raw_now);
    counters.counts_from_raw(raw_now.data(), result.events);
  } else {
    result.events = counters.read();
  }
  sample();
  if (record > 0) build_ticks();
  if (options.interval_ms > 0 && t1 > last_tick) {
    // The last, partial interval, so that the intervals add up to the whole run.
    double d = std::chrono::duration<double>(t1 - last_tick).count();
    auto iv = record > 0 ? raw_interval(counters, raw_now.data(),
                                        raw_before.empty() ? nullptr : raw_before.data(),
                                        result.duration_s, d)
                         : make_interval(result.events, previous, result.duration_s, d);
    iv.partial = true;
    if (child && last_tick > t0 && nothing_ran(iv.events)) {
      // The command exited before the previous tick's read (between the exit check and the
      // read): nothing was counted after it, which is not a count of 0.
      for (EventCount& e : iv.events) {
        if (!e.counted()) continue;
        e.status = EventStatus::not_counted;
        e.reason = "the command had ended before this interval: its counters were stopped";
      }
    }
    if (options.on_tick) options.on_tick();
    if (on_interval) on_interval(iv);
    if (options.keep_intervals) result.intervals.push_back(std::move(iv));
  }
  if (child) {
    result.user_s = seconds(usage.ru_utime);
    result.sys_s = seconds(usage.ru_stime);
    if (WIFEXITED(status)) {
      result.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.term_signal = WTERMSIG(status);
      result.exit_status = 128 + WTERMSIG(status);
    }
  }
  return result;
}

}  // namespace pmc
