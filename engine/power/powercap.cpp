#include "engine/power/powercap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <span>

#include "engine/power/energy_math.h"
#include "engine/system/fd.h"
#include "events/text/text.h"

namespace pmc {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The first run of digits in `text` after leading blanks; a counter file holds one decimal number.
std::optional<uint64_t> parse_counter(std::string_view text) {
  size_t i = text.find_first_not_of(" \t");
  if (i == std::string_view::npos) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() + i) return std::nullopt;
  return value;
}

// One pread at offset 0 into a stack buffer: sysfs regenerates the value on every read from 0.
std::optional<uint64_t> read_counter(int fd) {
  char buf[32];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  return parse_counter(std::string_view(buf, size_t(n)));
}

// "intel-rapl:0:1" → {"intel-rapl", {0, 1}}; nullopt for names without ":N" or without "rapl".
struct ZoneId {
  std::string type;
  std::vector<int> path;
};
std::optional<ZoneId> parse_zone_id(const std::string& id) {
  auto colon = id.find(':');
  if (colon == std::string::npos || id.find("rapl") == std::string::npos) return std::nullopt;
  ZoneId z{id.substr(0, colon), {}};
  std::string_view rest(id);
  rest.remove_prefix(colon + 1);
  while (true) {
    int n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc()) return std::nullopt;
    z.path.push_back(n);
    rest.remove_prefix(size_t(end - rest.data()));
    if (rest.empty()) break;
    if (rest.front() != ':') return std::nullopt;
    rest.remove_prefix(1);
  }
  return z;
}

bool is_mmio(const std::string& type) {
  return type.find("mmio") != std::string::npos;
}

bool is_package(const PowercapZone& z) {
  return z.parent.empty() && z.name.rfind("package", 0) == 0;
}

// Report names: package zones keep the kernel's name ("package-0", "package-0-die-1"); a child
// takes its parent's suffix when several packages each have one ("dram" → "dram-1").
void name_domains(std::vector<PowercapZone>& zones) {
  size_t packages = size_t(std::count_if(zones.begin(), zones.end(), is_package));
  for (auto& z : zones) {
    z.domain = z.name;
    if (z.parent.empty() || packages < 2) continue;
    auto parent = std::find_if(zones.begin(), zones.end(),
                               [&](const PowercapZone& p) { return p.id == z.parent; });
    if (parent != zones.end() && parent->name.rfind("package", 0) == 0)
      z.domain = z.name + parent->name.substr(std::string_view("package").size());
    else
      z.domain = z.name + "-" + z.parent.substr(z.parent.rfind(':') + 1);
  }
}

struct ZoneCounter {
  Fd fd;
  uint64_t range = 0;
  uint64_t last = 0;
  uint64_t total_uj = 0;        // since start()
  uint64_t at_interval_uj = 0;  // total_uj at the previous read_interval
};

class PowercapSource final : public PowerSource {
 public:
  PowercapSource(std::vector<PowercapZone> zones, std::vector<ZoneCounter> counters,
                 std::vector<std::string> notes)
      : zones_(std::move(zones)), counters_(std::move(counters)), notes_(std::move(notes)) {
    for (size_t i = 0; i < zones_.size(); ++i)
      if (is_package(zones_[i])) packages_.push_back(i);
    start();
  }

  std::string method() const override { return "measured:powercap"; }

  void start() override {
    for (auto& c : counters_) {
      if (auto v = read_counter(c.fd.get())) c.last = *v;
      c.total_uj = c.at_interval_uj = 0;
    }
    wraps_ = bad_reads_ = 0;
    started_ = last_interval_ = Clock::now();
  }

  void sample() override {
    first_bad_ = kNone;
    for (size_t i = 0; i < counters_.size(); ++i) {
      auto& c = counters_[i];
      auto now = read_counter(c.fd.get());
      if (!now) {
        ++bad_reads_;
        if (first_bad_ == kNone) {
          first_bad_ = i;
          first_bad_out_of_range_ = false;
        }
        continue;
      }
      auto delta = wrapped_delta(c.last, *now, c.range);
      if (!delta) {
        // Above the range (not this counter's value) or backwards with no known range: the
        // energy of this step is unknown; restart from the new value when it is plausible.
        ++bad_reads_;
        if (first_bad_ == kNone) {
          first_bad_ = i;
          first_bad_out_of_range_ = true;
        }
        if (c.range == 0) c.last = *now;
        continue;
      }
      if (*now < c.last) ++wraps_;
      c.total_uj += *delta;
      c.last = *now;
    }
  }

  std::vector<EnergyReading> read_since_start() override {
    sample();
    std::vector<uint64_t> uj;
    uj.reserve(counters_.size());
    for (const auto& c : counters_) uj.push_back(c.total_uj);
    return readings(uj, seconds_between(started_, Clock::now()));
  }

  std::vector<EnergyReading> read_interval() override {
    sample();
    auto now = Clock::now();
    std::vector<uint64_t> uj;
    uj.reserve(counters_.size());
    for (auto& c : counters_) {
      uj.push_back(c.total_uj - c.at_interval_uj);
      c.at_interval_uj = c.total_uj;
    }
    double seconds = seconds_between(last_interval_, now);
    last_interval_ = now;
    return readings(uj, seconds);
  }

  // One subtraction per zone into flat arrays: no reading, string or vector is built at the tick.
  void mark_interval() override {
    sample();
    auto now = Clock::now();
    for (auto& c : counters_) {
      marked_uj_.push_back(c.total_uj - c.at_interval_uj);
      c.at_interval_uj = c.total_uj;
    }
    marked_seconds_.push_back(seconds_between(last_interval_, now));
    last_interval_ = now;
  }

  std::vector<std::vector<EnergyReading>> take_marked_intervals() override {
    std::vector<std::vector<EnergyReading>> out;
    out.reserve(marked_seconds_.size());
    std::span<const uint64_t> uj(marked_uj_);
    for (size_t k = 0; k < marked_seconds_.size(); ++k)
      out.push_back(
          readings(uj.subspan(k * counters_.size(), counters_.size()), marked_seconds_[k]));
    marked_uj_.clear();
    marked_seconds_.clear();
    return out;
  }

  // A counter file removed after it was opened still reads its last text through the open
  // descriptor, so removal is seen by its link count; a read that gave no number is the last
  // sample's.
  std::string read_problem() const override {
    for (size_t i = 0; i < counters_.size(); ++i) {
      struct stat st {};
      if (::fstat(counters_[i].fd.get(), &st) == 0 && st.st_nlink == 0)
        return zones_[i].id + "/energy_uj was removed";
    }
    if (first_bad_ == kNone) return "";
    return zones_[first_bad_].id + "/energy_uj: " +
           (first_bad_out_of_range_ ? "a value above max_energy_range_uj"
                                    : "unreadable or not a number");
  }

  std::vector<std::string> notes() const override {
    auto out = notes_;
    if (wraps_ > 0)
      out.push_back("energy_uj wrapped past max_energy_range_uj " + std::to_string(wraps_) +
                    " time(s) during the run; each wrap was counted");
    if (bad_reads_ > 0)
      out.push_back(std::to_string(bad_reads_) +
                    " energy_uj read(s) failed or were out of range and were skipped");
    return out;
  }

 private:
  static EnergyReading reading(std::string domain, uint64_t uj, double seconds) {
    EnergyReading r;
    r.domain = std::move(domain);
    r.joules = double(uj) / 1e6;
    r.average_watts = seconds > 0 ? r.joules / seconds : 0;
    r.method = "measured:powercap";
    return r;
  }

  std::vector<EnergyReading> readings(std::span<const uint64_t> uj, double seconds) const {
    std::vector<EnergyReading> out;
    out.reserve(zones_.size() + 1);
    for (size_t i = 0; i < zones_.size(); ++i)
      out.push_back(reading(zones_[i].domain, uj[i], seconds));
    if (packages_.size() > 1) {
      uint64_t sum = 0;
      for (size_t i : packages_) sum += uj[i];
      out.push_back(reading("package", sum, seconds));
    }
    return out;
  }

  std::vector<PowercapZone> zones_;
  std::vector<ZoneCounter> counters_;  // parallel to zones_
  std::vector<size_t> packages_;       // indices of top-level package zones
  std::vector<std::string> notes_;
  uint64_t wraps_ = 0;
  uint64_t bad_reads_ = 0;
  static constexpr size_t kNone = size_t(-1);
  size_t first_bad_ = kNone;  // the first counter the last sample could not read
  bool first_bad_out_of_range_ = false;
  std::vector<uint64_t> marked_uj_;     // mark_interval: zones_.size() deltas per interval
  std::vector<double> marked_seconds_;  // and each interval's length
  Clock::time_point started_;
  Clock::time_point last_interval_;
};

}  // namespace

PowercapScan scan_powercap(const SysRoot& root) {
  struct Found {
    ZoneId id;
    PowercapZone zone;
  };
  std::vector<Found> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root.sys_path("class/powercap"), ec)) {
    std::string id = entry.path().filename().string();
    auto parsed = parse_zone_id(id);
    if (!parsed || !fs::exists(entry.path() / "energy_uj")) continue;
    PowercapZone z;
    z.id = id;
    z.dir = entry.path();
    z.name = read_text(entry.path() / "name").value_or(id);
    if (auto range = read_text(entry.path() / "max_energy_range_uj"))
      z.max_energy_range_uj = parse_counter(*range).value_or(0);
    if (parsed->path.size() > 1) z.parent = parsed->type + ":" + std::to_string(parsed->path[0]);
    found.push_back({std::move(*parsed), std::move(z)});
  }
  // MSR zones before MMIO ones, then by index path: parents come before their children.
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    bool ma = is_mmio(a.id.type), mb = is_mmio(b.id.type);
    if (ma != mb) return mb;
    if (a.id.type != b.id.type) return a.id.type < b.id.type;
    return a.id.path < b.id.path;
  });
  PowercapScan scan;
  std::set<std::string> names;  // top-level zone names from the MSR interface
  std::set<std::string> skipped;
  for (auto& f : found) {
    // intel-rapl-mmio:0 is the same package counter as intel-rapl:0 read through MMIO
    // (drivers/thermal/intel/int340x_thermal/processor_thermal_rapl.c): count it once.
    bool duplicate =
        is_mmio(f.id.type) &&
        (f.zone.parent.empty() ? names.count(f.zone.name) > 0 : skipped.count(f.zone.parent) > 0);
    if (duplicate) {
      if (f.zone.parent.empty())
        scan.notes.push_back(
            f.zone.id + " (" + f.zone.name +
            ") is the MMIO view of a zone already read through MSRs: not counted twice");
      skipped.insert(f.zone.id);
      continue;
    }
    if (f.zone.parent.empty() && !is_mmio(f.id.type)) names.insert(f.zone.name);
    scan.zones.push_back(std::move(f.zone));
  }
  name_domains(scan.zones);
  return scan;
}

std::vector<std::string> describe_powercap_zones(const std::vector<PowercapZone>& zones) {
  std::vector<std::string> notes;
  std::vector<std::string> packages;
  bool psys = false;
  for (const auto& top : zones) {
    if (!top.parent.empty()) continue;
    if (is_package(top)) packages.push_back(top.domain);
    if (top.name == "psys") psys = true;
    std::vector<std::string> parts, beside;
    for (const auto& child : zones) {
      if (child.parent != top.id) continue;
      // Intel SDM vol. 3B, "RAPL Interfaces": PP0 (core) and PP1 (uncore/graphics) are parts of
      // the package domain; DRAM is a domain of its own, outside package energy.
      (child.name == "dram" ? beside : parts).push_back(child.domain);
    }
    if (!parts.empty())
      notes.push_back(top.domain + " contains " + join(parts) + " (" + top.id +
                      " is their parent zone): their energy is part of " + top.domain +
                      ", never add them to it");
    if (!beside.empty())
      notes.push_back(join(beside) + " (a child zone of " + top.id + ") is DRAM energy, which " +
                      top.domain + " does not include");
  }
  if (packages.size() > 1)
    notes.push_back("package is the sum of the top-level package zones " + join(packages) +
                    " (DRAM not included)");
  if (psys)
    notes.push_back(
        "psys is the platform domain: it covers the package, graphics, DRAM and "
        "whatever else the platform firmware includes, so it is the machine total "
        "here; never add the other domains to it");
  return notes;
}

std::string powercap_permission_reason(const fs::path& path) {
  return path.string() +
         " is readable by root only (Linux 5.10 and later, and stable kernels with the fix for "
         "CVE-2020-8694, PLATYPUS): run as root, or grant read access to one dedicated group, e.g. "
         "a "
         "udev rule SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chgrp power "
         "/sys%p/energy_uj\", RUN+=\"/bin/chmod g+r /sys%p/energy_uj\" and add the user to group "
         "power; never make it world-readable (that reopens the side channel)";
}

PowerChoice open_powercap_source(const SysRoot& root) {
  PowerChoice choice;
  auto scan = scan_powercap(root);
  if (scan.zones.empty()) {
    choice.reason_if_none = "no RAPL zones under " + root.sys_path("class/powercap").string() +
                            " (no RAPL on this CPU, or a VM that does not expose it)";
    return choice;
  }
  std::vector<PowercapZone> zones;
  std::vector<ZoneCounter> counters;
  std::vector<std::string> notes = scan.notes;
  std::optional<fs::path> denied;
  std::string other_error;
  for (auto& z : scan.zones) {
    fs::path file = z.dir / "energy_uj";
    ZoneCounter c;
    c.fd.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    int err = c.fd ? 0 : errno;
    errno = 0;
    std::optional<uint64_t> first = c.fd ? read_counter(c.fd.get()) : std::nullopt;
    if (!first) {
      if (c.fd) err = errno != 0 ? errno : EINVAL;
      if (err == EACCES || err == EPERM) {
        if (!denied) denied = file;
      } else if (other_error.empty()) {
        other_error = "cannot read " + file.string() + ": " + std::strerror(err);
      }
      notes.push_back(z.domain + " (" + z.id + ") left out: cannot read energy_uj (" +
                      std::strerror(err) + ")");
      continue;
    }
    c.range = z.max_energy_range_uj;
    c.last = *first;
    counters.push_back(std::move(c));
    zones.push_back(std::move(z));
  }
  if (zones.empty()) {
    choice.reason_if_none = denied ? powercap_permission_reason(*denied) : other_error;
    return choice;
  }
  for (auto& n : describe_powercap_zones(zones)) notes.push_back(std::move(n));
  choice.source =
      std::make_unique<PowercapSource>(std::move(zones), std::move(counters), std::move(notes));
  return choice;
}

}  // namespace pmc
