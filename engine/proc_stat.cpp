#include "proc_stat.h"

#include <fcntl.h>
#include <unistd.h>

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
  return CpuTimes{double(busy) / ticks_per_s, double(busy + idle) / ticks_per_s};
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

}  // namespace pmc
