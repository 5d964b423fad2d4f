#include "engine/power/external_meter.h"

#include "engine/system/quiet_thread.h"

#include "events/text/input_file.h"
#include "events/text/text.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "engine/system/fd.h"

extern char** environ;

namespace pmc {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<double> parse_number(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Exactly `n` digits at s[pos...]; advances pos.
std::optional<int> take_digits(std::string_view s, size_t& pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool take(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
// days_from_civil, http://howardhinnant.github.io/date_algorithms.html).
long days_from_civil(long y, unsigned m, unsigned d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = unsigned(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + long(doe) - 719468;
}

// YYYY-MM-DD[T ]hh:mm:ss[.fff][Z|±hh[:mm]]
std::optional<double> parse_iso8601(std::string_view s, bool* had_zone) {
  size_t p = 0;
  auto y = take_digits(s, p, 4);
  if (!y || !take(s, p, '-')) return std::nullopt;
  auto mo = take_digits(s, p, 2);
  if (!mo || !take(s, p, '-')) return std::nullopt;
  auto d = take_digits(s, p, 2);
  if (!d || !(take(s, p, 'T') || take(s, p, 't') || take(s, p, ' '))) return std::nullopt;
  auto h = take_digits(s, p, 2);
  if (!h || !take(s, p, ':')) return std::nullopt;
  auto mi = take_digits(s, p, 2);
  if (!mi || !take(s, p, ':')) return std::nullopt;
  auto sec = take_digits(s, p, 2);
  if (!sec || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *sec > 60)
    return std::nullopt;
  double fraction = 0;
  if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
    size_t start = p + 1;
    size_t end = start;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    if (end == start) return std::nullopt;
    fraction = *parse_number("0." + std::string(s.substr(start, end - start)));
    p = end;
  }
  long offset_s = 0;
  bool zone = false;
  if (take(s, p, 'Z') || take(s, p, 'z')) {
    zone = true;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p] == '-' ? -1 : 1;
    ++p;
    auto oh = take_digits(s, p, 2);
    if (!oh) return std::nullopt;
    take(s, p, ':');
    int om = 0;
    if (p < s.size()) {
      auto m = take_digits(s, p, 2);
      if (!m) return std::nullopt;
      om = *m;
    }
    offset_s = sign * (long(*oh) * 3600 + long(om) * 60);
    zone = true;
  }
  if (p != s.size()) return std::nullopt;
  if (had_zone) *had_zone = zone;
  long days = days_from_civil(*y, unsigned(*mo), unsigned(*d));
  return double(days * 86400 + long(*h) * 3600 + long(*mi) * 60 + *sec - offset_s) + fraction;
}

std::string format_time(double unix_s) {
  time_t t = time_t(std::floor(unix_s));
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%06.3fZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec + (unix_s - std::floor(unix_s)));
  return buf;
}

struct Row {
  MeterSample sample;
  size_t line = 0;
};

// A value below 0 is refused with the rest: the message says so, since '-5' is a number.
std::string row_error(const std::string& name, size_t line, MeterKind kind) {
  const char* unit = kind == MeterKind::watts ? "watts" : "joules";
  return name + ":" + std::to_string(line) + ": expected 'timestamp," + unit +
         "' with numbers, the " + unit + " >= 0";
}

// Sorts rows by time, drops exact repeats and rejects conflicting ones.
void order_rows(std::vector<Row>& rows, MeterLog& log, const std::string& name) {
  auto unordered = std::adjacent_find(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return b.sample.time_s < a.sample.time_s;
  });
  if (unordered != rows.end()) {
    log.notes.push_back(name + ": rows are not in time order (line " +
                        std::to_string((unordered + 1)->line) + " goes back in time): sorted");
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.sample.time_s < b.sample.time_s; });
  }
  size_t repeats = 0;
  std::vector<Row> kept;
  for (const auto& r : rows) {
    if (!kept.empty() && kept.back().sample.time_s == r.sample.time_s) {
      if (kept.back().sample.value != r.sample.value)
        throw std::runtime_error(name + ":" + std::to_string(r.line) + ": timestamp repeats line " +
                                 std::to_string(kept.back().line) + " with a different value");
      ++repeats;
      continue;
    }
    kept.push_back(r);
  }
  if (repeats > 0)
    log.notes.push_back(name + ": " + std::to_string(repeats) +
                        " row(s) repeat an earlier timestamp and value: dropped");
  rows = std::move(kept);
}

}  // namespace

std::optional<double> parse_timestamp(std::string_view text, bool* had_zone) {
  text = trim(text);
  if (had_zone) *had_zone = true;
  if (auto unix_s = parse_number(text)) return unix_s;
  return parse_iso8601(text, had_zone);
}

MeterLog parse_meter_csv(std::string_view text, const std::string& name) {
  if (auto problem = find_oversized_line(text, name); !problem.empty())
    throw std::runtime_error(problem);
  // A log saved by a spreadsheet (Excel's "CSV UTF-8") starts with a byte order mark, which
  // would otherwise be part of the header's first name.
  text = without_bom(text);
  MeterLog log;
  std::vector<Row> rows;
  bool header = false;
  bool zoneless = false;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    bool terminated = nl != std::string_view::npos;
    std::string_view line = trim(text.substr(pos, terminated ? nl - pos : text.size() - pos));
    pos = terminated ? nl + 1 : text.size();
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto comma = line.find(',');
    std::string_view a = trim(line.substr(0, comma));
    std::string_view b = comma == std::string_view::npos ? "" : trim(line.substr(comma + 1));
    if (!header) {
      std::string unit = lower(b);
      if (lower(a) != "timestamp" || (unit != "watts" && unit != "joules"))
        throw std::runtime_error(name + ":" + std::to_string(line_no) +
                                 ": expected the header 'timestamp,watts' or 'timestamp,joules'");
      log.kind = unit == "watts" ? MeterKind::watts : MeterKind::joules;
      header = true;
      continue;
    }
    bool had_zone = true;
    auto t = comma == std::string_view::npos ? std::nullopt : parse_timestamp(a, &had_zone);
    auto v = b.find(',') == std::string_view::npos ? parse_number(b) : std::nullopt;
    if (!t || !v || *v < 0) {
      if (!terminated) {
        log.notes.push_back(name + ":" + std::to_string(line_no) +
                            ": the last line is unterminated and does not parse: taken as a row "
                            "still being written, skipped");
        break;
      }
      throw std::runtime_error(row_error(name, line_no, log.kind));
    }
    zoneless = zoneless || !had_zone;
    rows.push_back({{*t, *v}, line_no});
  }
  if (!header)
    throw std::runtime_error(name +
                             ":1: expected the header 'timestamp,watts' or 'timestamp,joules'");
  order_rows(rows, log, name);
  if (log.kind == MeterKind::joules) {
    for (size_t i = 1; i < rows.size(); ++i)
      if (rows[i].sample.value < rows[i - 1].sample.value)
        throw std::runtime_error(
            name + ":" + std::to_string(rows[i].line) +
            ": cumulative joules decrease (a meter reset?): split the file there");
  }
  if (zoneless)
    log.notes.push_back(name + ": ISO 8601 timestamps without a zone were taken as UTC");
  for (const auto& r : rows) log.samples.push_back(r.sample);
  return log;
}

MeterLog read_meter_file(const std::string& path) {
  // Refuses a directory, FIFO or device before reading, and a file over the input limit.
  return parse_meter_csv(read_input_file(path), path);
}

namespace {

double realtime_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

EnergyReading wall_reading(const WindowEstimate& e, double window_s, const char* method) {
  EnergyReading r;
  r.domain = "wall";
  r.joules = e.joules;
  r.average_watts = window_s > 0 ? e.joules / window_s : 0;
  r.method = method;
  r.uncertainty = e.uncertainty;
  return r;
}

std::string coverage_note(const std::string& what, const MeterEnergy& e) {
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.1f%%", e.coverage * 100);
  return what + " covers " + pct +
         " of the run: wall energy is the covered part's average power over the whole run, with "
         "the uncovered fraction (plus one sample period over the run) as its uncertainty";
}

// Where an interval read at `now` ends. measure reads the run at its end, then its last, partial
// interval: that interval ends where the run did, not after what ran between the two reads (the
// poll of the BMC that read_since_start waits for, a log re-read).
double interval_end(double now, double last_interval, std::optional<double> run_ended) {
  if (run_ended && *run_ended >= last_interval) return std::min(now, *run_ended);
  return now;
}

class MeterFileSource final : public PowerSource {
 public:
  MeterFileSource(std::string path, MeterLog log, UnixClock clock)
      : path_(std::move(path)), log_(std::move(log)), clock_(std::move(clock)) {
    file_version_ = current_version();
  }

  std::string method() const override { return "measured:external"; }

  void start() override {
    started_ = last_interval_ = clock_();
    ended_at_.reset();
  }

  void sample() override {}

  std::vector<EnergyReading> read_since_start() override {
    double now = clock_();
    ended_at_ = now;
    reload_if_grown();
    auto e = integrate_meter(log_.samples, log_.kind, started_, now);
    if (!e)
      throw std::runtime_error(path_ + ": the meter samples (" + span_text() +
                               ") do not overlap the run (" + format_time(started_) + " to " +
                               format_time(now) + "); check the file and both clocks");
    coverage_note_ = e->coverage < 1 ? coverage_note(path_, *e) : "";
    return {wall_reading(extrapolate_to_window(*e, now - started_), now - started_,
                         "measured:external")};
  }

  std::vector<EnergyReading> read_interval() override {
    double now = interval_end(clock_(), last_interval_, ended_at_);
    double begin = std::exchange(last_interval_, now);
    reload_if_grown();
    ++intervals_;
    auto e = integrate_meter(log_.samples, log_.kind, begin, now);
    if (!e) {
      if (uncovered_intervals_++ == 0) first_uncovered_s_ = begin;
      last_uncovered_s_ = now;
      return {};
    }
    return {wall_reading(extrapolate_to_window(*e, now - begin), now - begin, "measured:external")};
  }

  std::vector<std::string> notes() const override {
    auto out = log_.notes;
    out.push_back("wall energy from " + path_ +
                  ", aligned to the run by its timestamps: the "
                  "meter's clock must agree with this machine's");
    if (!coverage_note_.empty()) out.push_back(coverage_note_);
    if (uncovered_intervals_ > 0) {
      bool none = uncovered_intervals_ == intervals_;
      out.push_back(path_ + ": the log (" + span_text() + ") does not cover " +
                    (none ? std::string("any") : std::to_string(uncovered_intervals_)) +
                    " of the run's " + std::to_string(intervals_) + " intervals (" +
                    format_time(first_uncovered_s_) + " to " + format_time(last_uncovered_s_) +
                    "): they carry no wall energy" +
                    (none ? "; check the file and both clocks" : ""));
    }
    return out;
  }

 private:
  std::string span_text() const {
    if (log_.samples.empty()) return "none";
    return format_time(log_.samples.front().time_s) + " to " +
           format_time(log_.samples.back().time_s);
  }

  // Size and modification time: what changes when a meter appends or rewrites its log.
  std::pair<off_t, int64_t> current_version() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return {-1, 0};
    return {st.st_size, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }

  // A meter that is still logging appends rows; read them before integrating.
  void reload_if_grown() {
    auto version = current_version();
    if (version == file_version_) return;
    log_ = read_meter_file(path_);
    file_version_ = version;
  }

  std::string path_;
  MeterLog log_;
  UnixClock clock_;
  std::pair<off_t, int64_t> file_version_{-1, 0};
  double started_ = 0;
  double last_interval_ = 0;
  std::optional<double> ended_at_;  // the end of the run's reading (read_since_start)
  std::string coverage_note_;
  size_t intervals_ = 0;
  size_t uncovered_intervals_ = 0;
  double first_uncovered_s_ = 0, last_uncovered_s_ = 0;
};

}  // namespace

std::unique_ptr<PowerSource> open_meter_file_source(const std::string& path, UnixClock clock) {
  auto log = read_meter_file(path);
  return std::make_unique<MeterFileSource>(path, std::move(log),
                                           clock ? std::move(clock) : UnixClock(realtime_now));
}

IpmiReading parse_ipmi_power_reading(std::string_view output) {
  // ipmitool lib/ipmi_dcmi.c prints "Instantaneous power reading:   229 Watts" (1.8.18) or
  // "Instantaneous power reading              : 214      Watts" (1.8.19).
  constexpr std::string_view kLabel = "Instantaneous power reading";
  constexpr std::string_view kState = "Power reading state is";
  IpmiReading out;
  auto state_at = output.find(kState);
  if (state_at != std::string_view::npos) {
    auto rest = output.substr(state_at + kState.size());
    rest = trim(rest.substr(0, rest.find('\n')));
    if (!rest.empty() && rest.front() == ':') rest = trim(rest.substr(1));
    if (rest.rfind("deactivated", 0) == 0) {
      out.error = "the BMC reports its power reading state as deactivated";
      return out;
    }
  }
  auto at = output.find(kLabel);
  if (at == std::string_view::npos) {
    auto first = trim(output.substr(0, output.find('\n')));
    out.error = "no 'Instantaneous power reading' in the output" +
                (first.empty() ? std::string() : " (it said: " + std::string(first) + ")");
    return out;
  }
  auto line = output.substr(at + kLabel.size());
  line = line.substr(0, line.find('\n'));
  line = trim(line);
  if (!line.empty() && line.front() == ':') line = trim(line.substr(1));
  auto space = line.find_first_of(" \t");
  auto number = line.substr(0, space);
  auto unit = space == std::string_view::npos ? std::string_view() : trim(line.substr(space));
  auto watts = parse_number(number);
  if (!watts || lower(unit) != "watts") {
    out.error = "cannot read a number of Watts from '" + std::string(line) + "'";
    return out;
  }
  out.watts = *watts;
  return out;
}

namespace {

struct CommandResult {
  int spawn_error = 0;  // errno of posix_spawnp (ENOENT: not installed)
  int exit_code = -1;   // 128+N when killed by signal N
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv with stdout and stderr captured, killing it after timeout_s or when *stop is set.
CommandResult run_command(const std::vector<std::string>& argv, double timeout_s,
                          const std::atomic<bool>* stop) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.spawn_error = errno;
    return result;
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.spawn_error = errno;
    return result;
  }
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    result.spawn_error = rc;
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (std::chrono::steady_clock::now() >= deadline || (stop && stop->load())) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, 100) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string first_line(std::string_view text) {
  text = trim(text);
  while (!text.empty() && text.front() == '\n') text = trim(text.substr(1));
  return std::string(trim(text.substr(0, text.find('\n'))));
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// One poll of the BMC: watts, or why not.
IpmiReading poll_ipmi(const IpmiOptions& options, const std::atomic<bool>* stop) {
  auto r = run_command(options.argv, options.timeout_s, stop);
  IpmiReading reading;
  std::string cmd = command_text(options.argv);
  if (r.spawn_error == ENOENT) {
    reading.error = options.argv[0] + " is not installed (not found in PATH)";
  } else if (r.spawn_error != 0) {
    reading.error = "cannot run " + cmd + ": " + std::strerror(r.spawn_error);
  } else if (r.timed_out) {
    reading.error = cmd + " did not answer within " + std::to_string(int(options.timeout_s)) + " s";
  } else if (r.exit_code != 0) {
    std::string why = first_line(r.err);
    if (why.empty()) why = first_line(r.out);
    reading.error = cmd + " failed (exit " + std::to_string(r.exit_code) + ")" +
                    (why.empty() ? "" : ": " + why);
  } else {
    reading = parse_ipmi_power_reading(r.out);
    if (!reading.watts) reading.error = cmd + ": " + reading.error;
  }
  return reading;
}

double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class IpmiSource final : public PowerSource {
 public:
  IpmiSource(IpmiOptions options, MeterSample first) : options_(std::move(options)) {
    samples_.push_back(first);
    // SIGINT/SIGTERM/SIGCHLD keep going to the session's thread, which waits for them.
    poller_ = start_without_signals([this] { return std::thread([this] { poll_loop(); }); });
  }

  ~IpmiSource() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    stop_flag_ = true;  // kills an ipmitool call in progress
    wake_.notify_all();
    poller_.join();
  }

  std::string method() const override { return "measured:ipmi"; }

  void start() override {
    std::lock_guard lock(mutex_);
    started_ = last_interval_ = steady_now();
    ended_at_.reset();
  }

  void sample() override {}

  std::vector<EnergyReading> read_since_start() override {
    double now = steady_now();
    std::unique_lock lock(mutex_);
    ended_at_ = now;
    // One reading taken after the end, so the whole run lies between samples.
    poll_now_ = true;
    wake_.notify_all();
    wake_.wait_for(lock, std::chrono::duration<double>(options_.timeout_s + 1.0),
                   [&] { return stop_ || last_poll_started_ >= now; });
    auto e = integrate_meter(samples_, MeterKind::watts, started_, now);
    if (!e) {
      coverage_note_ = "ipmitool gave no readings over the run" +
                       (last_error_.empty() ? std::string() : " (" + last_error_ + ")");
      return {};
    }
    coverage_note_ = e->coverage < 1 ? coverage_note("the BMC's readings", *e) : "";
    return {
        wall_reading(extrapolate_to_window(*e, now - started_), now - started_, "measured:ipmi")};
  }

  std::vector<EnergyReading> read_interval() override {
    double now = steady_now();
    std::lock_guard lock(mutex_);
    now = interval_end(now, last_interval_, ended_at_);
    double begin = std::exchange(last_interval_, now);
    auto e = integrate_meter(samples_, MeterKind::watts, begin, now);
    if (!e) {
      ++uncovered_intervals_;
      return {};
    }
    return {wall_reading(extrapolate_to_window(*e, now - begin), now - begin, "measured:ipmi")};
  }

  std::vector<std::string> notes() const override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    char every[32];
    std::snprintf(every, sizeof every, "%g", options_.poll_interval_s);
    out.push_back("wall power from `" + command_text(options_.argv) +
                  "` (the BMC's DCMI reading), "
                  "polled every " +
                  every + " s and integrated as a piecewise-linear curve");
    if (!coverage_note_.empty()) out.push_back(coverage_note_);
    if (failures_ > 0)
      out.push_back(std::to_string(failures_) +
                    " ipmitool poll(s) failed; the last: " + last_error_);
    if (uncovered_intervals_ > 0)
      out.push_back(std::to_string(uncovered_intervals_) +
                    " interval(s) had no BMC readings after them yet and carry no wall energy");
    return out;
  }

 private:
  void poll_loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::duration<double>(options_.poll_interval_s),
                     [&] { return stop_ || poll_now_; });
      if (stop_) break;
      poll_now_ = false;
      double begin = steady_now();
      lock.unlock();
      auto reading = poll_ipmi(options_, &stop_flag_);
      double end = steady_now();
      lock.lock();
      // The BMC's value is for an unknown moment of the call: take its middle.
      double t = 0.5 * (begin + end);
      if (reading.watts && t > samples_.back().time_s) {
        samples_.push_back({t, *reading.watts});
      } else if (!reading.watts) {
        ++failures_;
        last_error_ = reading.error;
      }
      last_poll_started_ = begin;
      wake_.notify_all();
    }
  }

  IpmiOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<MeterSample> samples_;  // steady-clock seconds, watts
  bool stop_ = false;
  std::atomic<bool> stop_flag_{false};
  bool poll_now_ = false;
  double last_poll_started_ = 0;
  double started_ = 0;
  double last_interval_ = 0;
  std::optional<double> ended_at_;  // the end of the run's reading (read_since_start)
  size_t failures_ = 0;
  size_t uncovered_intervals_ = 0;
  std::string last_error_;
  std::string coverage_note_;
  std::thread poller_;
};

}  // namespace

PowerChoice open_ipmi_source(const IpmiOptions& options) {
  PowerChoice choice;
  if (options.argv.empty()) {
    choice.reason_if_none = "no ipmitool command given";
    return choice;
  }
  double begin = steady_now();
  auto first = poll_ipmi(options, nullptr);
  double end = steady_now();
  if (!first.watts) {
    choice.reason_if_none = "--power-from ipmi: " + first.error;
    return choice;
  }
  choice.source =
      std::make_unique<IpmiSource>(options, MeterSample{0.5 * (begin + end), *first.watts});
  return choice;
}

}  // namespace pmc
