#include "engine/session/session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>

#include "engine/counting/scaling.h"
#include "engine/system/fd.h"
#include "engine/system/processes.h"

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

// Watches a process that is not our child (the -p target) for its end. A pidfd becomes readable
// when the process exits, zombie or not (pidfd_open(2)); without pidfds (Linux < 5.3) kill(pid,
// 0) says ESRCH once it is reaped.
class ProcessWatch {
 public:
  explicit ProcessWatch(pid_t pid) : pid_(pid) {
#ifdef SYS_pidfd_open
    fd_.reset(int(::syscall(SYS_pidfd_open, pid, 0)));
#endif
  }
  bool ended() const {
    if (fd_) {
      pollfd p{fd_.get(), POLLIN, 0};
      return ::poll(&p, 1, 0) > 0;
    }
    return ::kill(pid_, 0) != 0 && errno == ESRCH;
  }

 private:
  pid_t pid_;
  Fd fd_;
};

// Sends `sig` to the command and every process under it, as timeout(1) reaches the command's
// whole process group: a shell script's programs would otherwise run on after the shell ended.
// The live processes: the kernel's own /proc, not a fixture root.
void signal_tree(pid_t root, int sig) {
  for (pid_t pid : process_tree(SysRoot{}, root)) ::kill(pid, sig);
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

// The sentinel of a clock that never fires: no tick, no deadline, no sample, no kill.
constexpr Clock::time_point kNever = Clock::time_point::max();

Clock::duration seconds_as_duration(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// One run_counted call: the child and its signals, the clocks of the wait loop, the counters'
// previous reads and the result being filled. run() takes its steps in order: start the command
// and attach the counters, release it, wait and tick until it ends, then read the final counts
// and the command's exit.
class CountedRun {
 public:
  CountedRun(Counters& counters, RunOptions options, const IntervalSink& on_interval)
      : counters_(counters), options_(std::move(options)), on_interval_(on_interval) {}

  RunResult run() {
    start_and_attach();
    release();
    while (!done_) step();
    finish();
    return std::move(result_);
  }

 private:
  void sample() {
    if (options_.on_sample) options_.on_sample();
  }

  // Passes an interval to the sink, then keeps it unless RunOptions::keep_intervals is false.
  void deliver(Interval& iv) {
    if (on_interval_) on_interval_(iv);
    if (options_.keep_intervals) result_.intervals.push_back(std::move(iv));
  }

  // Forks the command (held on its pipe before exec) and opens the counters on the target.
  void start_and_attach() {
    if (!options_.argv.empty()) {
      child_ = std::make_unique<Child>(options_.argv, signals_.previous(), options_.kill_on_exit);
      if (options_.target.kind == Target::Kind::command) options_.target.pid = child_->pid();
    }
    counters_.open(options_.target);
    by_exec_ = options_.target.kind == Target::Kind::command;
    // -p without a command ends when the process does, as perf stat -p does.
    if (!child_ && options_.target.kind == Target::Kind::pid)
      target_watch_ = std::make_unique<ProcessWatch>(options_.target.pid);
    // Every target is enabled here; for a command that starts only what its exec cannot (the
    // CPU-wide copies of RAPL and uncore events), its task counters start at exec.
    counters_.enable();
  }

  // Starts the clock and lets the command exec; throws ExecError when exec failed.
  void release() {
    result_.start_time = iso8601_now();
    if (options_.on_start)
      options_.on_start();
    else
      sample();
    t0_ = Clock::now();
    if (child_) {
      if (int e = child_->release(); e != 0) {
        int status;
        rusage usage{};
        child_->try_reap(true, status, usage);
        throw ExecError("cannot run '" + options_.argv[0] + "': " + std::strerror(e),
                        e == ENOENT ? 127 : 126);
      }
    }
    interval_ = std::chrono::milliseconds(options_.interval_ms);
    next_tick_ = t0_ + interval_;
    sample_period_ = std::chrono::milliseconds(options_.sample_ms);
    next_sample_ = options_.sample_ms > 0 ? t0_ + sample_period_ : kNever;
    deadline_ = options_.duration_s > 0 ? t0_ + seconds_as_duration(options_.duration_s) : kNever;
    record_ = counters_.raw_record_size();
    last_tick_ = t0_;
    next_reap_ = t0_ + std::chrono::seconds(1);
    next_watch_ = target_watch_ ? t0_ + kWatchPeriod : kNever;
  }

  // One turn of the loop: sleep until a signal or the next clock, then do what is due.
  void step() {
    take_signals();
    auto now = Clock::now();
    reap_if_due(now);
    watch_if_due(now);
    kill_if_overdue(now);
    bool tick = tick_due(now);
    // At a tick the interval sink reads the power source, which samples it (every source's
    // read_interval does): sampling here too would read each meter three times per interval.
    if (now >= next_sample_) {
      if (!tick) sample();
      while (next_sample_ <= now) next_sample_ += sample_period_;
    }
    if (tick) take_tick(now);
    if (now >= deadline_ && !done_) stop_at_deadline(now);
  }

  // Waits for a signal or the earliest clock, then takes every signal pending.
  void take_signals() {
    auto wake = std::min({options_.interval_ms > 0 ? next_tick_ : kNever, deadline_, next_sample_,
                          kill_at_, next_watch_});
    timespec timeout{};
    if (wake != kNever) {
      auto ns = std::max<long long>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now()).count());
      timeout.tv_sec = time_t(ns / 1000000000);
      timeout.tv_nsec = long(ns % 1000000000);
    }
    siginfo_t info{};
    for (int sig = signals_.wait(wake == kNever ? nullptr : &timeout, info); sig > 0;
         sig = signals_.take_pending(info))
      on_signal(sig, info);
  }

  void on_signal(int sig, const siginfo_t& info) {
    if (sig == SIGCHLD) {
      child_signalled_ = true;
      return;
    }
    result_.interrupted_by = sig;
    if (child_ && first_signal_ == kNever) {
      first_signal_ = Clock::now();
      if (options_.kill_after_s > 0)
        kill_at_ = first_signal_ + seconds_as_duration(options_.kill_after_s);
    }
    if (!child_) {
      done_ = true;
    } else if (info.si_code != SI_KERNEL) {
      // A terminal's ^C already reached the command (same process group, si_code SI_KERNEL);
      // a kill(1) aimed at pmcmodel did not, so pass it on.
      kill(child_->pid(), sig);
    }
  }

  // wait4 only when SIGCHLD came (a syscall per interval saved), and once a second whatever
  // came, so that a lost signal can only delay the end, never hang the session.
  void reap_if_due(Clock::time_point now) {
    if (!child_ || !(child_signalled_ || now >= next_reap_)) return;
    child_signalled_ = false;
    next_reap_ = now + std::chrono::seconds(1);
    if (child_->try_reap(false, status_, usage_)) done_ = true;
  }

  // The -p target is looked at every kWatchPeriod: a process that ended ends the run, so the
  // counts and the elapsed time are those of its life, not of however long pmcmodel waited.
  void watch_if_due(Clock::time_point now) {
    if (!target_watch_ || done_ || now < next_watch_) return;
    next_watch_ = now + kWatchPeriod;
    if (target_watch_->ended()) {
      result_.target_ended = true;
      done_ = true;
    }
  }

  // The command outlived the first signal by RunOptions::kill_after_s: SIGKILL, and the record
  // says so.
  void kill_if_overdue(Clock::time_point now) {
    if (!child_ || done_ || now < kill_at_) return;
    signal_tree(child_->pid(), SIGKILL);
    result_.killed_after_s = seconds_between(first_signal_, now);
    kill_at_ = kNever;
  }

  // Whether an interval ends now. A command that ended before this tick ends the run instead:
  // its last interval is the one from the previous tick to the exit, not an empty one after it.
  bool tick_due(Clock::time_point now) {
    if (done_ || options_.interval_ms <= 0 || now < next_tick_) return false;
    if (child_ && child_->has_exited()) {
      child_->try_reap(true, status_, usage_);
      done_ = true;
      return false;
    }
    if (target_watch_ && target_watch_->ended()) {  // likewise for a -p process
      result_.target_ended = true;
      done_ = true;
      return false;
    }
    return true;
  }

  // Reads the counters at a tick: with on_tick and a backend with raw records only the record is
  // kept (its interval is built later, in build_ticks); otherwise the interval is built now.
  void take_tick(Clock::time_point now) {
    double t = seconds_between(t0_, now);
    double d = seconds_between(last_tick_, now);
    if (options_.on_tick && counters_.read_raw(raw_ticks_)) {
      tick_times_.push_back(t);
      tick_times_.push_back(d);
      options_.on_tick();
      if (options_.ticks_per_batch > 0 && tick_times_.size() / 2 >= options_.ticks_per_batch) {
        build_ticks();
        if (options_.on_batch) options_.on_batch();
      }
    } else if (record_ > 0) {
      raw_now_.clear();
      counters_.read_raw(raw_now_);
      auto iv = raw_interval(counters_, raw_now_.data(),
                             raw_before_.empty() ? nullptr : raw_before_.data(), t, d);
      if (options_.on_tick) options_.on_tick();
      deliver(iv);
      std::swap(raw_now_, raw_before_);
    } else {
      counters_.read_into(current_);
      auto iv = make_interval(current_, previous_, t, d);
      if (options_.on_tick) options_.on_tick();
      deliver(iv);
      std::swap(previous_, current_);
    }
    last_tick_ = now;
    while (next_tick_ <= now) next_tick_ += interval_;
  }

  // The intervals of the ticks recorded so far, built as a tick would have built them, each
  // delivered; raw_before_ then holds the last tick's record, from which the next interval starts.
  void build_ticks() {
    size_t ticks = tick_times_.size() / 2;
    if (ticks == 0) return;
    if (options_.keep_intervals) result_.intervals.reserve(result_.intervals.size() + ticks + 1);
    for (size_t k = 0; k < ticks; ++k) {
      const uint64_t* earlier = k > 0                 ? raw_ticks_.data() + (k - 1) * record_
                                : raw_before_.empty() ? nullptr
                                                      : raw_before_.data();
      auto iv = raw_interval(counters_, raw_ticks_.data() + k * record_, earlier,
                             tick_times_[2 * k], tick_times_[2 * k + 1]);
      deliver(iv);
    }
    raw_before_.assign(raw_ticks_.end() - long(record_), raw_ticks_.end());
    raw_ticks_.clear();
    tick_times_.clear();
  }

  // --duration ends a command-less run; a command is stopped then as timeout(1) stops it:
  // SIGTERM, and SIGKILL kStopGrace later if it is still running.
  void stop_at_deadline(Clock::time_point now) {
    constexpr auto kStopGrace = std::chrono::seconds(2);
    if (!child_) {
      done_ = true;
    } else if (!result_.stopped_at_duration) {
      result_.stopped_at_duration = true;
      signal_tree(child_->pid(), SIGTERM);
      deadline_ = now + kStopGrace;
    } else {
      signal_tree(child_->pid(), SIGKILL);
      deadline_ = kNever;
    }
  }

  // The run has ended: the final counts, the intervals still owed, the command's exit.
  void finish() {
    auto t1 = Clock::now();
    if (!by_exec_) counters_.disable();
    if (options_.on_stop) options_.on_stop();
    result_.duration_s = seconds_between(t0_, t1);
    if (record_ > 0) {
      raw_now_.clear();
      counters_.read_raw(raw_now_);
      counters_.counts_from_raw(raw_now_.data(), result_.events);
    } else {
      result_.events = counters_.read();
    }
    sample();
    if (record_ > 0) build_ticks();
    if (options_.interval_ms > 0 && t1 > last_tick_) deliver_last_interval(t1);
    if (child_) record_exit();
  }

  // The last, partial interval, so that the intervals add up to the whole run.
  void deliver_last_interval(Clock::time_point t1) {
    double d = seconds_between(last_tick_, t1);
    auto iv = record_ > 0 ? raw_interval(counters_, raw_now_.data(),
                                         raw_before_.empty() ? nullptr : raw_before_.data(),
                                         result_.duration_s, d)
                          : make_interval(result_.events, previous_, result_.duration_s, d);
    iv.partial = true;
    if ((child_ || result_.target_ended) && last_tick_ > t0_ && nothing_ran(iv.events)) {
      // The command (or -p process) exited before the previous tick's read (between the exit
      // check and the read): nothing was counted after it, which is not a count of 0. A -p
      // process still alive at the end (--duration, a signal) may just have slept: its 0 stands.
      for (EventCount& e : iv.events) {
        if (!e.counted()) continue;
        e.status = EventStatus::not_counted;
        e.reason = "the command had ended before this interval: its counters were stopped";
      }
    }
    if (options_.on_tick) options_.on_tick();
    deliver(iv);
  }

  void record_exit() {
    result_.user_s = seconds(usage_.ru_utime);
    result_.sys_s = seconds(usage_.ru_stime);
    if (WIFEXITED(status_)) {
      result_.exit_status = WEXITSTATUS(status_);
    } else if (WIFSIGNALED(status_)) {
      result_.term_signal = WTERMSIG(status_);
      result_.exit_status = 128 + WTERMSIG(status_);
    }
  }

  Counters& counters_;
  RunOptions options_;
  const IntervalSink& on_interval_;
  RunResult result_;
  // Declared before child_, so the child is killed and reaped before the mask is restored.
  BlockedSignals signals_;
  // On the heap: GCC (-O2 with -fsanitize) warns that a std::optional<Child> member may be
  // used uninitialized.
  std::unique_ptr<Child> child_;
  std::unique_ptr<ProcessWatch> target_watch_;  // -p without a command
  bool by_exec_ = false;  // the target is the command, whose counters start at its exec
  bool done_ = false;

  Clock::time_point t0_;
  Clock::duration interval_{};
  Clock::time_point next_tick_ = kNever;
  Clock::time_point last_tick_;
  Clock::duration sample_period_{};
  Clock::time_point next_sample_ = kNever;
  Clock::time_point deadline_ = kNever;
  Clock::time_point next_reap_ = kNever;
  static constexpr auto kWatchPeriod = std::chrono::milliseconds(50);
  Clock::time_point next_watch_ = kNever;
  // RunOptions::kill_after_s: when the command is sent SIGKILL, counted from the first signal.
  Clock::time_point first_signal_ = kNever;
  Clock::time_point kill_at_ = kNever;
  bool child_signalled_ = false;
  int status_ = 0;  // the command's wait status and resource usage, once reaped
  rusage usage_{};

  std::vector<EventCount> previous_, current_;  // swapped at each tick, their storage reused
  // A backend with raw records builds each interval from two of them, copy by copy.
  size_t record_ = 0;
  std::vector<uint64_t> raw_now_, raw_before_;
  std::vector<uint64_t> raw_ticks_;  // RunOptions::on_tick: each tick's raw record
  std::vector<double> tick_times_;   // and its time and duration
};

}  // namespace

bool process_exists(int pid) {
  return !(::kill(pid, 0) != 0 && errno == ESRCH);
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

RunResult run_counted(Counters& counters, RunOptions options, const IntervalSink& on_interval) {
  return CountedRun(counters, std::move(options), on_interval).run();
}

}  // namespace pmc
