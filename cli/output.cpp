#include "cli/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "cli/measure_energy.h"

namespace pmc::cli {
namespace {

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
  };
  return m;
}

std::string metric_text(const Metric& m) {
  if (m.unit == "ratio") return fmt::format("{:8.2f}% {}", m.value * 100, m.name);
  // Three decimals hide small figures (a run's cost in USD, g CO2e of a short run): below 0.01
  // they are shown with three significant digits instead.
  if (m.value != 0 && std::abs(m.value) < 0.01)
    return fmt::format("{:8.3g} {} ({})", m.value, m.name, m.unit);
  return fmt::format("{:8.3f} {} ({})", m.value, m.name, m.unit);
}

std::string count_text(const EventCount& e) {
  switch (e.status) {
    case EventStatus::counted:
      return e.unit == "msec" || std::abs(e.value - std::round(e.value)) > 1e-9
                 ? fmt::format("{:.2f}", e.value)
                 : group_thousands(e.value);
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
  for (const auto& e : events) {
    std::string line = fmt::format("{}{:>20} {:<6} {:<30}", prefix, count_text(e), e.unit, e.name);
    auto it = metric_beside_event().find(e.name);
    if (it != metric_beside_event().end() && e.counted()) {
      for (size_t i = 0; i < metrics.size(); ++i)
        if (metrics[i].name == it->second) {
          line += " # " + metric_text(metrics[i]);
          if (shown_metric) (*shown_metric)[i] = true;
        }
    }
    if (e.counted() && e.stddev && e.value != 0)
      line += fmt::format("  ( +- {:5.2f}% )", *e.stddev / std::abs(e.value) * 100);
    if (e.counted() && e.time_running_ns < e.time_enabled_ns)
      line += fmt::format("  ({:.2f}%)", e.running_fraction() * 100);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string group_thousands(double value) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  auto digits = fmt::format("{:.0f}", std::abs(value));
  std::string out;
  int n = int(digits.size());
  for (int i = 0; i < n; ++i) {
    out += digits[size_t(i)];
    if ((n - i - 1) % 3 == 0 && i != n - 1) out += ',';
  }
  if (value < 0) out.insert(out.begin(), '-');
  return out;
}

void write_file_atomically(const std::string& path, std::string_view content) {
  write_file_atomically(path, [&](const FileAppender& append) { append(content); });
}

void write_file_atomically(const std::string& path,
                           const std::function<void(const FileAppender&)>& produce) {
  if (path == "-") {
    produce([](std::string_view piece) {
      if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size())
        throw std::runtime_error(std::string("stdout: write failed: ") + std::strerror(errno));
    });
    fflush(stdout);
    return;
  }
  std::filesystem::path target(path);
  std::string name = fmt::format(".{}.XXXXXX", target.filename().string());
  std::string tmp = (target.parent_path() / name).string();
  int fd = mkstemp(tmp.data());
  if (fd < 0)
    throw std::runtime_error(path + ": cannot create a temporary file: " + std::strerror(errno));
  // Writeback of what is written is started every few megabytes, so that the fsync at the end
  // waits for the last of them only, not for the whole of a 400 MB document (0.17 s on a VM).
  constexpr off_t kWritebackBytes = 8 << 20;
  off_t written = 0, flushed = 0;
  auto append = [&](std::string_view piece) {
    size_t done = 0;
    while (done < piece.size()) {
      ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(path + ": write failed: " + std::strerror(errno));
      done += size_t(n);
      written += n;
    }
    if (written - flushed >= kWritebackBytes) {
      ::sync_file_range(fd, flushed, written - flushed, SYNC_FILE_RANGE_WRITE);
      flushed = written;
    }
  };
  try {
    produce(append);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot write: " + std::strerror(e));
  }
}

std::string format_table(const Measurement& m) {
  std::string cmd;
  for (const auto& a : m.command) cmd += (cmd.empty() ? "" : " ") + a;
  std::string what = m.target == "system-wide" ? "system wide"
                     : m.target == "pid"       ? "process id '" + cmd + "'"
                     : m.target == "cgroup"    ? "cgroup '" + cmd + "'"
                                               : "'" + cmd + "'";
  std::string out = fmt::format("\n Performance counter stats for {}{}:\n\n", what,
                                m.runs > 1 ? fmt::format(" ({} runs)", m.runs) : "");
  std::vector<bool> shown(m.metrics.size(), false);
  out += event_rows(m.events, m.metrics, "", &shown);
  bool any_other = false;
  for (size_t i = 0; i < m.metrics.size(); ++i) {
    if (shown[i]) continue;
    if (!any_other) out += "\n";
    any_other = true;
    out += fmt::format("{:>20} {:<6} {:<30} # {}\n", "", "", "", metric_text(m.metrics[i]));
  }
  out += fmt::format("\n{:>20.9f} seconds time elapsed\n", m.duration_s);
  if (m.target == "command") {
    out += fmt::format("\n{:>20.9f} seconds user\n", m.user_s);
    out += fmt::format("{:>20.9f} seconds sys\n", m.sys_s);
  }
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
  return event_rows(iv.events, iv.metrics, prefix, nullptr) + format_energy_rows(iv.energy, prefix);
}

}  // namespace pmc::cli
