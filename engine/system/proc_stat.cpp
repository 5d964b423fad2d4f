#include "engine/system/proc_stat.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace pmc {

std::optional<CpuTimes> parse_proc_stat(std::string_view text, double ticks_per_s) {
  if (!(ticks_per_s > 0) || text.substr(0, 4) != "cpu ") return std::nullopt;
  auto eol = text.find('\n');
  std::string_view line = text.substr(4, eol == std::string_view::npos ? text.size() - 4 : eol - 4);
  // Only the first 8 fields are used: no vector, since this runs at every interval.
  uint64_t fields[8] = {};
  size_t count = 0;
  size_t pos = 0;
  while (pos < line.size() && count < 8) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos >= line.size()) break;
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(line.data() + pos, line.data() + line.size(), v);
    if (ec != std::errc()) return std::nullopt;
    fields[count++] = v;
    pos = size_t(end - line.data());
  }
  if (count < 8) return std::nullopt;
  // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already
  // included in user and nice, so it is not added again.
  uint64_t idle = fields[3] + fields[4];
  uint64_t busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7];
  return CpuTimes{double(busy) / ticks_per_s, double(busy + idle) / ticks_per_s,
                  double(fields[7]) / ticks_per_s};
}

std::optional<double> utilisation_between(const CpuTimes& before, const CpuTimes& after) {
  double total = after.total_s - before.total_s;
  if (!(total > 0)) return std::nullopt;
  double own = (after.busy_s - before.busy_s) - (after.steal_s - before.steal_s);
  return std::clamp(own / total, 0.0, 1.0);
}

ProcStatReader::ProcStatReader(std::string path)
    : path_(std::move(path)), ticks_per_s_(double(sysconf(_SC_CLK_TCK))) {}

std::optional<CpuTimes> ProcStatReader::read() {
  if (!fd_) fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) return std::nullopt;
  char buf[1024];
  ssize_t n = ::pread(fd_.get(), buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  return parse_proc_stat(std::string_view(buf, size_t(n)), ticks_per_s_);
}

std::optional<double> parse_cgroup_usage_usec(std::string_view text) {
  constexpr std::string_view key = "usage_usec ";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, eol == std::string_view::npos ? text.size() - pos : eol - pos);
    if (line.substr(0, key.size()) == key) {
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(line.data() + key.size(), line.data() + line.size(), v);
      if (ec != std::errc() || end != line.data() + line.size()) return std::nullopt;
      return double(v) / 1e6;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

TaskCpuReader::TaskCpuReader(const std::string& sys) {
  struct Candidate {
    const char* rel;
    bool usec;
  };
  for (auto [rel, usec] :
       {Candidate{"fs/cgroup/cpu.stat", true}, Candidate{"fs/cgroup/unified/cpu.stat", true},
        Candidate{"fs/cgroup/cpuacct/cpuacct.usage", false},
        Candidate{"fs/cgroup/cpu,cpuacct/cpuacct.usage", false}}) {
    std::string path = sys + "/" + rel;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    path_ = std::move(path);
    usec_ = usec;
    fd_ = std::move(fd);
    if (read()) return;
    path_.clear();  // there but not what it should be: try the next
    fd_.reset();
  }
}

std::optional<double> TaskCpuReader::read() {
  if (!fd_) return std::nullopt;
  char buf[512];
  ssize_t n = ::pread(fd_.get(), buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, size_t(n));
  if (usec_) return parse_cgroup_usage_usec(text);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  uint64_t ns = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return double(ns) / 1e9;
}

std::vector<double> apportion_busy(const std::vector<double>& deltas,
                                   const std::vector<double>& durations, double run_busy_s) {
  std::vector<double> out(deltas.size(), 0.0);
  double sum = 0, time = 0;
  for (double d : deltas) sum += std::max(0.0, d);
  for (size_t k = 0; k < out.size() && k < durations.size(); ++k)
    time += std::max(0.0, durations[k]);
  for (size_t k = 0; k < out.size(); ++k) {
    if (sum > 0)
      out[k] = run_busy_s * std::max(0.0, deltas[k]) / sum;
    else if (time > 0 && k < durations.size())
      out[k] = run_busy_s * std::max(0.0, durations[k]) / time;
  }
  return out;
}

}  // namespace pmc
