#include "cli/output.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/failsafe.h"
#include "cli/measure_energy.h"
#include "events/document/measurement_io.h"
#include "events/text/input_file.h"
#include "models/fleet/recommendations.h"

namespace pmc::cli {
namespace {

// What IntervalSpool gathers before a write, and reads back at a time.
constexpr size_t kSpoolBufferBytes = size_t(1) << 20;

[[noreturn]] void throw_write_error(const std::string& path, int error) {
  throw CommandError(fmt::format("{}: write failed: {}", path, std::strerror(error)),
                     ExitStatus::environment);
}

// Every byte of `piece`, or a CommandError (exit 1) naming `name` and the errno.
void write_all(int fd, std::string_view piece, const std::string& name) {
  size_t done = 0;
  while (done < piece.size()) {
    ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) throw_write_error(name, n < 0 ? errno : EIO);
    done += size_t(n);
  }
}

// The process's umask, read without changing it (umask(2) sets it, which races other threads).
mode_t current_umask() {
  if (FILE* f = std::fopen("/proc/self/status", "re")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "Umask:", 6) == 0) {
        std::fclose(f);
        return mode_t(std::strtoul(line + 6, nullptr, 8));
      }
    std::fclose(f);
  }
  return 022;
}

// Which metric is printed beside which event, as perf stat does.
const std::map<std::string, std::string>& metric_beside_event() {
  static const std::map<std::string, std::string> m = {
      {"task-clock", "cpus_utilized"},
      {"cpu-clock", "cpus_utilized"},
      {"cycles", "ghz"},
      {"cpu-cycles", "ghz"},
      {"instructions", "ipc"},
      {"branch-misses", "branch_miss_rate"},
      {"cache-misses", "cache_miss_rate"},
      // perf's "frontend cycles idle", "% of all L1-dcache accesses"… (stat-shadow.c).
      {"stalled-cycles-frontend", "frontend_stall_ratio"},
      {"stalled-cycles-backend", "backend_stall_ratio"},
      {"L1-dcache-load-misses", "l1d_miss_ratio"},
      {"L1-icache-load-misses", "l1i_miss_ratio"},
      {"LLC-load-misses", "llc_miss_ratio"},
      {"dTLB-load-misses", "dtlb_miss_ratio"},
      {"iTLB-load-misses", "itlb_miss_ratio"},
  };
  return m;
}

// A row's event as perf's metrics see it, with what was before it: "cycles" of "cycles:u";
// of "cpu_core/cycles/" and "armv8_pmuv3_1/cycles/u" with the PMU; of an import's per-CPU or
// per-cgroup row "CPU3/cycles" with its aggregate ("CPU3", whose metrics are "CPU3/ghz"). A
// tracepoint's "sched:sched_switch" keeps its name: only modifier letters are cut.
struct BareEvent {
  std::string_view prefix;
  std::string_view event;
  bool pmu = false;  // the prefix is a PMU: its rows' metrics may be named without it
};

bool modifier_letters(std::string_view text) {
  return text.find_first_not_of("ukhGHpPSDIWe") == std::string_view::npos;
}

BareEvent bare_event(std::string_view name) {
  bool pmu = false;
  auto last = name.rfind('/');
  if (last != std::string_view::npos && modifier_letters(name.substr(last + 1))) {
    name = name.substr(0, last);  // "cpu_core/cycles/u" → "cpu_core/cycles"
    pmu = true;
  } else if (auto colon = name.rfind(':');
             colon != std::string_view::npos && (last == std::string_view::npos || colon > last) &&
             colon + 1 < name.size() && modifier_letters(name.substr(colon + 1))) {
    name = name.substr(0, colon);
  }
  auto slash = name.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return {{}, name, false};
  return {name.substr(0, slash), name.substr(slash + 1), pmu};
}

// The metric perf prints beside event row `e`, if the metrics hold it and it is not shown yet:
// "ghz" beside cycles:u, "cpu_core/ghz" (else "ghz") beside cpu_core/cycles/, "CPU3/ghz" (only)
// beside CPU3/cycles, so that the total's "ghz" stays beside the total's row.
std::optional<size_t> metric_beside(const EventCount& e, const std::vector<Metric>& metrics,
                                    const std::vector<bool>& shown) {
  auto bare = bare_event(e.name);
  auto it = metric_beside_event().find(std::string(bare.event));
  if (it == metric_beside_event().end() || !e.counted()) return std::nullopt;
  std::vector<std::string> names;
  if (!bare.prefix.empty()) names.push_back(fmt::format("{}/{}", bare.prefix, it->second));
  if (bare.prefix.empty() || bare.pmu) names.push_back(it->second);
  for (const auto& name : names)
    for (size_t i = 0; i < metrics.size(); ++i)
      if (!shown[i] && metrics[i].name == name) return i;
  return std::nullopt;
}

// A metric's figure, 8 wide, with `decimals` (at most 9: a double holds no more that a table
// can show), in e-notation from 1e15 up, where fixed notation would print up to 300 digits of
// noise (a division by a count near zero; a document's value).
std::string figure(double value, int decimals) {
  if (std::abs(value) >= 1e15) return fmt::format("{:8.3e}", value);
  return fmt::format("{:8.{}f}", value, std::clamp(decimals, 0, 9));
}

std::string metric_text(const Metric& m) {
  // NaN (a division by zero) is shown "nan", as perf prints it, with where it came from.
  if (std::isnan(m.value)) {
    std::string why = m.note->reason ? " [" + *m.note->reason + "]" : "";
    if (m.unit == "ratio") return fmt::format("{:>8}% {}{}", "nan", m.name, why);
    return fmt::format("{:>8} {} ({}){}", "nan", m.name, m.unit, why);
  }
  if (m.unit == "ratio") return fmt::format("{}% {}", figure(m.value * 100, 2), m.name);
  // A run's cost and CO2e below 0.01 are said per 1,000 or per million runs, as compare says
  // costs (human_cost_usd): "5.42 cost_usd (USD/1M runs)", not "5.42e-06 cost_usd (USD)".
  if (m.name == "cost_usd" || m.name == "co2_g") {
    double runs = runs_to_say(m.value);
    if (runs > 1)
      return fmt::format("{:8.3g} {} ({}/{})", m.value * runs, m.name, m.unit, runs_word(runs));
  }
  // Three decimals hide other small figures (the joules of a short run): below 0.01 they are
  // shown with three significant digits instead.
  if (m.value != 0 && std::abs(m.value) < 0.01)
    return fmt::format("{:8.3g} {} ({})", m.value, m.name, m.unit);
  return fmt::format("{} {} ({})", figure(m.value, 3), m.name, m.unit);
}

// What a metric shown on its own line (no event beside it) is: the table names it, so that
// "2.300 joules_per_run (J)" is not a bare figure.
std::string metric_meaning(const Metric& m) {
  static const std::map<std::string, std::string, std::less<>> meanings = {
      {"joules_per_run", "energy of the run, from the widest energy domain (see Energy)"},
      {"co2_g", "CO2e of that energy at the grid's carbon intensity"},
      {"cost_usd", "the run's cost: price per hour × time elapsed"},
      {"cpus_utilized", "CPUs busy on average: task-clock / time elapsed"},
      {"ghz", "cycles / task-clock"},
      {"ipc", "instructions per cycle"},
      {"branch_miss_rate", "branch-misses / branches"},
      {"cache_miss_rate", "cache-misses / cache-references"},
  };
  // A hybrid PMU's "cpu_core/ghz" is the same formula over that PMU's events.
  std::string_view name = m.name;
  if (auto slash = name.find('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  if (auto it = meanings.find(name); it != meanings.end()) return it->second;
  if (m.name.rfind("model:", 0) == 0) return "estimated by the model file named in it";
  // gpu_util.gpu0, gpu_temperature_c.gpu1…: the means of the GPU library's readings.
  if (m.name.rfind("gpu_", 0) == 0)
    return "read by the GPU's library, NVML or AMD SMI (docs/energy.md)";
  return "derived from the counts (docs/metrics.md)";
}

// perf stat prints a count with two decimals where its event's scale is not a whole number
// (msec, Joules, MiB: stat-display.c abs_printout, "%'*.2f") and as a whole number otherwise, a
// multiplexed estimate or the mean of -r runs included; both with thousands separators. An
// imported count keeps the decimals perf printed beside its unit (its scale is not known).
bool count_has_decimals(const EventCount& e) {
  bool fractional = std::abs(e.value - std::round(e.value)) > 1e-9;
  return e.unit == "msec" || std::floor(e.unit_scale) != e.unit_scale ||
         (!e.unit.empty() && fractional);
}

std::string count_text(const EventCount& e) {
  switch (e.status) {
    case EventStatus::counted:
      return group_thousands(e.value, count_has_decimals(e) ? 2 : 0);
    case EventStatus::not_supported:
      return "<not supported>";
    case EventStatus::permission_denied:
      return "<permission denied>";
    case EventStatus::not_counted:
      return "<not counted>";
  }
  return "";
}

std::string event_rows(const std::vector<EventCount>& events, const std::vector<Metric>& metrics,
                       std::string_view prefix, std::vector<bool>* shown_metric) {
  std::string out;
  std::vector<bool> shown(metrics.size(), false);
  for (const auto& e : events) {
    std::string line = fmt::format("{}{:>20} {:<6} {:<30}", prefix, count_text(e), e.unit, e.name);
    if (auto i = metric_beside(e, metrics, shown)) {
      line += " # " + metric_text(metrics[*i]);
      shown[*i] = true;
    }
    // perf's "+-": the standard error of the mean, as a percentage of the mean.
    if (e.counted() && e.spread->sem && e.value != 0)
      line += fmt::format("  ( +- {:5.2f}% )", *e.spread->sem / std::abs(e.value) * 100);
    if (e.counted() && e.time_running_ns < e.time_enabled_ns)
      line += fmt::format("  ({:.2f}%)", e.running_fraction() * 100);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (shown_metric) *shown_metric = shown;
  return out;
}

// A metric perf printed, in perf's form: a rate in /sec, K/sec, M/sec or G/sec as perf chooses
// the prefix (stat-shadow.c, convert_unit_double: above 1e3, 1e6, 1e9), and every value with the
// decimals perf printed (reported[].decimals, counted in the document's units: -3 is "40.005
// M/sec", 4 of a ratio is "0.14%"), never digits perf did not print.
std::string reported_text(const Metric& r) {
  if (!std::isfinite(r.value)) return metric_text(r);
  auto digits = [&](int shift, int otherwise) {
    return r.decimals ? int(*r.decimals) + shift : otherwise;
  };
  if (r.unit == "/s") {
    struct Prefix {
      double scale;
      int exponent;
      const char* name;
    };
    static constexpr Prefix prefixes[] = {{1e9, 9, "G"}, {1e6, 6, "M"}, {1e3, 3, "K"}};
    Prefix p{1, 0, ""};
    for (const auto& q : prefixes)
      if (std::abs(r.value) > q.scale) {
        p = q;
        break;
      }
    return fmt::format("{} {} ({}/sec)", figure(r.value / p.scale, digits(p.exponent, 3)), r.name,
                       p.name);
  }
  if (!r.decimals) return metric_text(r);
  if (r.unit == "ratio") return fmt::format("{}% {}", figure(r.value * 100, digits(-2, 2)), r.name);
  return fmt::format("{} {} ({})", figure(r.value, digits(0, 3)), r.name, r.unit);
}

// perf's own metric comments an import kept (reported[]), as perf printed them: the LLC ratio,
// TopdownL1, CPUs utilized... beside pmcmodel's derived metrics above.
std::string reported_rows(const std::vector<Metric>& reported) {
  if (reported.empty()) return "";
  std::string out = "\n As perf printed them (reported):\n";
  for (const auto& r : reported)
    out += fmt::format("{:>20} {:<6} {:<30} # {}\n", "", "", "", reported_text(r));
  return out;
}

// perf's time lines, each only when the source gave it: a recording trimmed before them has no
// times, and 0 would read as a measured figure.
std::string time_rows(const Measurement& m) {
  std::string out;
  if (m.has_duration && m.duration_sem_s && m.runs > 1) {
    // perf's -r line: " %17.*f +- %.*f seconds time elapsed  ( +-%6.2f%% )", both figures with
    // 2 more decimals than the spread's first significant digit (get_precision).
    double sem = *m.duration_sem_s;
    int decimals = sem >= 1 ? 2 : sem > 0 ? std::min(9, int(std::ceil(-std::log10(sem))) + 2) : 9;
    out += fmt::format("\n {:>17.{}f} +- {:.{}f} seconds time elapsed", m.duration_s, decimals, sem,
                       decimals);
    if (m.duration_s > 0) out += fmt::format("  ( +-{:6.2f}% )", 100 * sem / m.duration_s);
    out += "\n";
  } else if (m.has_duration) {
    out += fmt::format("\n{:>20.9f} seconds time elapsed\n", m.duration_s);
  } else
    out += fmt::format("\n{:>20} seconds time elapsed: absent from the source\n", "-");
  if (m.target != MeasurementTarget::command || (!m.has_user && !m.has_sys)) return out;
  out += "\n";
  for (auto [name, value, given] :
       {std::tuple{"user", m.user_s, m.has_user}, std::tuple{"sys", m.sys_s, m.has_sys}}) {
    if (given)
      out += fmt::format("{:>20.9f} seconds {}\n", value, name);
    else
      out += fmt::format("{:>20} seconds {}: absent from the source\n", "-", name);
  }
  return out;
}

}  // namespace

std::string group_thousands(double value, int decimals) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  auto text = fmt::format("{:.{}f}", std::abs(value), decimals);
  auto point = text.find('.');
  std::string_view digits = std::string_view(text).substr(0, point);
  std::string out;
  int n = int(digits.size());
  for (int i = 0; i < n; ++i) {
    out += digits[size_t(i)];
    if ((n - i - 1) % 3 == 0 && i != n - 1) out += ',';
  }
  if (point != std::string::npos) out += text.substr(point);
  if (value < 0 && out.find_first_not_of("0.,") != std::string::npos) out.insert(out.begin(), '-');
  return out;
}

namespace {

// An output written to a temporary file beside its path, complete and synced, renamed over the
// path by commit(); removed if it never is, so that nothing of a failed command is left.
class StagedFile {
 public:
  StagedFile(const std::string& path, const std::function<void(const FileAppender&)>& produce)
      : path_(path) {
    auto existing = check_output_path(path);
    remove_stale_temp_files(path);
    std::filesystem::path target(path);
    tmp_ = (target.parent_path() / temp_file_name(target.filename().string())).string();
    int fd = ::mkostemp(tmp_.data(), O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      throw CommandError(
          fmt::format("{}: cannot create a file beside it: {}", path, std::strerror(e)),
          e == ENOSPC || e == EIO || e == EDQUOT ? 1 : 2);
    }
    guard_.emplace(tmp_);
    try {
      write(fd, produce, existing);
    } catch (...) {
      ::unlink(tmp_.c_str());
      throw;
    }
  }
  ~StagedFile() {
    if (!committed_) ::unlink(tmp_.c_str());
  }
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  void commit() {
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) throw_write_error(path_, errno);
    committed_ = true;
  }

 private:
  // Closes fd whatever happens.
  void write(int fd, const std::function<void(const FileAppender&)>& produce,
             const std::optional<struct stat>& existing) {
    // Writeback of what is written is started every few megabytes, so that the fsync at the end
    // waits for the last of them only, not for the whole of a 400 MB document (0.17 s on a VM).
    constexpr off_t kWritebackBytes = 8 << 20;
    off_t written = 0, flushed = 0;
    auto append = [&](std::string_view piece) {
      write_all(fd, piece, path_);
      written += off_t(piece.size());
      if (written - flushed >= kWritebackBytes) {
        ::sync_file_range(fd, flushed, written - flushed, SYNC_FILE_RANGE_WRITE);
        flushed = written;
      }
    };
    try {
      Activity activity("writing " + path_);
      produce(append);
      // A rewritten file keeps its permission bits (and, for root, its owner); a new one gets
      // what open(2) would give it, 0666 less the umask.
      if (existing) {
        if (::fchmod(fd, existing->st_mode & 07777) != 0) throw_write_error(path_, errno);
        if (::geteuid() == 0) (void)!::fchown(fd, existing->st_uid, existing->st_gid);
      } else if (::fchmod(fd, 0666 & ~current_umask()) != 0) {
        throw_write_error(path_, errno);
      }
      if (::fsync(fd) != 0) throw_write_error(path_, errno);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (::close(fd) != 0) throw_write_error(path_, errno);
  }

  std::string path_, tmp_;
  std::optional<TempFileGuard> guard_;
  bool committed_ = false;
};

void write_to_stdout(const std::function<void(const FileAppender&)>& produce) {
  // What went to stdout through stdio goes first, then the pieces with write(2), each checked.
  if (std::fflush(stdout) != 0) throw_write_error("standard output", errno);
  produce([](std::string_view piece) { write_all(STDOUT_FILENO, piece, "standard output"); });
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view content) {
  write_file_atomically(path, [&](const FileAppender& append) { append(content); });
}

void write_file_atomically(const std::string& path,
                           const std::function<void(const FileAppender&)>& produce) {
  const OutputFile one{path, produce};
  write_files_atomically({&one, 1});
}

void write_files_atomically(std::span<const OutputFile> files) {
  for (const auto& f : files) check_output_path(f.path);
  std::vector<std::unique_ptr<StagedFile>> staged;
  for (const auto& f : files)
    if (f.path != "-") staged.push_back(std::make_unique<StagedFile>(f.path, f.produce));
  for (const auto& f : files)
    if (f.path == "-") write_to_stdout(f.produce);
  for (auto& s : staged) s->commit();
}

void check_distinct_outputs(std::span<const NamedOutput> outputs) {
  auto place = [](const std::string& path) {
    if (path == "-") return path;
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
    return ec ? path : canonical.string();
  };
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      const auto &a = outputs[i], &b = outputs[j];
      if (a.path.empty() || b.path.empty() || place(a.path) != place(b.path)) continue;
      throw CommandError(
          a.path == "-" && b.path == "-"
              ? fmt::format("{} and {} both write to stdout (-), which would mix them: give one "
                            "of them a file",
                            a.option, b.option)
              : fmt::format("{} {} and {} {} are the same file, which one would overwrite: give "
                            "each its own",
                            a.option, a.path, b.option, b.path));
    }
}

std::optional<struct stat> check_output_path(const std::string& path) {
  if (path == "-") return std::nullopt;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode)) return st;
    if (S_ISDIR(st.st_mode))
      throw CommandError(fmt::format("{}: is a directory; expected a file name to write", path));
    throw CommandError(fmt::format(
        "{}: is {}; pmcmodel writes only regular files (remove it, or give - for stdout)", path,
        file_kind_name(st.st_mode)));
  }
  if (errno != ENOENT)
    throw CommandError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode))
    throw CommandError(fmt::format("{}: the folder {} does not exist", path, dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw CommandError(
        fmt::format("{}: cannot write in {}: {}", path, dir.string(), std::strerror(errno)));
  return std::nullopt;
}

std::string temp_file_name(const std::string& file_name) {
  return fmt::format(".{}{}{}.XXXXXX", file_name, kTempMarker, ::getpid());
}

void remove_stale_temp_files(const std::string& path) {
  std::filesystem::path target(path);
  auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  std::string prefix = "." + target.filename().string() + std::string(kTempMarker);
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + 7 || name.compare(0, prefix.size(), prefix) != 0) continue;
    // .NAME.pmcmodel-tmp.PID.XXXXXX: removed when PID no longer runs.
    std::string_view rest = std::string_view(name).substr(prefix.size());
    auto dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0 || rest.size() - dot != 7) continue;
    pid_t pid = 0;
    auto [p, err] = std::from_chars(rest.data(), rest.data() + dot, pid);
    if (err != std::errc() || p != rest.data() + dot || pid <= 0) continue;
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(it->path().c_str());
  }
}

IntervalSpool::IntervalSpool(const std::string& output_path) {
  std::filesystem::path dir = output_path == "-" ? std::filesystem::temp_directory_path()
                                                 : std::filesystem::path(output_path).parent_path();
  if (dir.empty()) dir = ".";
  where_ = dir.string();
  // O_TMPFILE: a file with no name, gone with the last descriptor; where the filesystem lacks it,
  // a named one removed at once.
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    std::string tmp = (dir / temp_file_name("intervals")).string();
    fd_ = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(tmp.c_str());
  }
  if (fd_ < 0)
    throw CommandError(fmt::format("{}: cannot make a temporary file for the intervals: {}", where_,
                                   std::strerror(errno)),
                       ExitStatus::environment);
  buffer_.reserve(kSpoolBufferBytes);
}

IntervalSpool::~IntervalSpool() {
  if (fd_ >= 0) ::close(fd_);
}

void IntervalSpool::add(const Interval& iv) {
  append_interval_element(buffer_, iv, count_ == 0);
  ++count_;
  if (buffer_.size() >= kSpoolBufferBytes) flush();
}

void IntervalSpool::flush() {
  if (failure_.empty() && !buffer_.empty()) {
    try {
      write_all(fd_, buffer_, where_ + " (the intervals' temporary file)");
    } catch (const CommandError& e) {
      failure_ = e.what();
    }
  }
  buffer_.clear();
}

void IntervalSpool::replay(const std::function<void(std::string_view)>& sink) {
  flush();
  if (!failure_.empty()) throw CommandError(failure_, ExitStatus::environment);
  std::string chunk(kSpoolBufferBytes, '\0');
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd_, chunk.data(), chunk.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw CommandError(fmt::format("{}: cannot read the intervals' temporary file back: {}",
                                     where_, std::strerror(errno)),
                         ExitStatus::environment);
    if (n == 0) break;
    sink(std::string_view(chunk.data(), size_t(n)));
    at += n;
  }
}

OutputStream::OutputStream(const std::string& path) : path_(path) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
    name_ = "standard output";
    return;
  }
  name_ = path;
  check_output_path(path);
  // O_NOFOLLOW: a link put there since the check is not followed; O_NONBLOCK: a FIFO put there
  // does not hang the run (it fails, or is refused below); no O_TRUNC until it is known to be a
  // regular file.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                  0666);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      throw CommandError(
          fmt::format("{}: is a symbolic link; pmcmodel writes only regular files", path));
    throw CommandError(fmt::format("{}: cannot open for writing: {}", path, std::strerror(e)),
                       e == ENOSPC || e == EIO || e == EDQUOT ? 1 : 2);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw CommandError(fmt::format("{}: is {}; pmcmodel writes only regular files", path,
                                   file_kind_name(st.st_mode)));
  }
  if (::ftruncate(fd, 0) != 0) {
    int e = errno;
    ::close(fd);
    throw_write_error(path, e);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  fd_ = fd;
  owned_ = true;
}

OutputStream::~OutputStream() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void OutputStream::write(std::string_view text) {
  if (fd_ < 0) return;
  if (fd_ == STDOUT_FILENO && std::fflush(stdout) != 0) throw_write_error(name_, errno);
  write_all(fd_, text, name_);
}

void OutputStream::close() {
  if (!owned_ || fd_ < 0) return;
  int fd = fd_;
  fd_ = -1;
  owned_ = false;
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int e = errno;
    ::close(fd);
    throw_write_error(name_, e);
  }
  if (::close(fd) != 0) throw_write_error(name_, errno);
}

void finish_standard_output() {
  // Buffered output (tables, --json -) is flushed and the descriptor closed, so that a full disk
  // or /dev/full behind stdout is an error, not a silent exit 0.
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw_write_error("standard output", errno != 0 ? errno : EIO);
  if (std::fclose(stdout) != 0 && errno != EBADF) throw_write_error("standard output", errno);
}

std::string format_table(const Measurement& m) {
  std::string cmd;
  for (const auto& a : m.command) cmd += (cmd.empty() ? "" : " ") + a;
  // perf's header (stat-display.c print_header_std): "for 'system wide'", "for process id
  // '1234'", "for 'CMD'"; a recording whose header was not kept (-x, -j) names no command.
  std::string what = m.target == MeasurementTarget::system_wide ? " for 'system wide'"
                     : m.target == MeasurementTarget::pid       ? " for process id '" + cmd + "'"
                     : m.target == MeasurementTarget::cgroup    ? " for cgroup '" + cmd + "'"
                     : cmd.empty() ? " (the recording does not name its command)"
                                   : " for '" + cmd + "'";
  if (!m.while_command.empty()) {
    std::string window;
    for (const auto& a : m.while_command) window += (window.empty() ? "" : " ") + a;
    what += " while '" + window + "' ran";
  }
  std::string out = fmt::format("\n Performance counter stats{}{}:\n\n", what,
                                m.runs > 1 ? fmt::format(" ({} runs)", m.runs) : "");
  std::vector<bool> shown(m.metrics.size(), false);
  out += event_rows(m.events, m.metrics, "", &shown);
  bool any_other = false;
  for (size_t i = 0; i < m.metrics.size(); ++i) {
    if (shown[i]) continue;
    if (!any_other) out += "\n";
    any_other = true;
    out += fmt::format("{:>20} {:<6} {:<30} # {}: {}\n", "", "", "", metric_text(m.metrics[i]),
                       metric_meaning(m.metrics[i]));
  }
  out += reported_rows(m.reported);
  out += time_rows(m);
  out += format_energy_block(m.energy);
  bool header = false;
  for (const auto& e : m.events) {
    if (e.counted()) continue;
    if (!header) out += "\n Not counted:\n";
    header = true;
    out += fmt::format("   {}: {} — {}\n", e.name, to_string(e.status), e.reason);
  }
  if (!m.notes.empty()) {
    out += "\n Notes:\n";
    for (const auto& n : m.notes) out += "   " + n + "\n";
  }
  if (m.signal) out += fmt::format("\n command terminated by signal {}\n", *m.signal);
  return out + "\n";
}

std::string format_interval_rows(const Interval& iv) {
  auto prefix = fmt::format("{:>14.6f} ", iv.time_s);
  std::string rows = event_rows(iv.events, iv.metrics, prefix, nullptr) +
                     format_energy_rows(iv.energy, prefix) +
                     format_gpu_activity_rows(iv.metrics, prefix);
  if (iv.partial)
    rows += fmt::format("{}(partial interval: {:.3f} ms, the run ended)\n", prefix,
                        iv.duration_s * 1e3);
  return rows;
}

}  // namespace pmc::cli
