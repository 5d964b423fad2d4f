#include "events/perfstat/import_perfstat_common.h"

#include <fast_float/fast_float.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>

#include "events/document/energy_basis.h"
#include "events/text/ordered_parallel.h"
#include "events/text/text.h"

namespace pmc::perfstat {

void Context::fail(size_t line, std::string_view what) const {
  throw ImportError(fmt::format("{}:{}: {}", file_, line, what));
}

void Context::fail_overlong(size_t line) const {
  fail(line, fmt::format("a line longer than {} bytes; expected perf stat output, whose lines are "
                         "at most a few hundred bytes",
                         kMaxLineBytes));
}

void Context::fail_second_run(size_t line) const {
  fail(line,
       "a second perf stat run starts here (perf stat --append adds each run to the file); "
       "expected one run per file: import each run from a file of its own");
}

void Context::reject(size_t line, std::string_view what) {
  if (!lenient_) fail(line, what);
  skipped_.push_back(fmt::format("{}:{}: {}", file_, line, what));
}

std::string quote(std::string_view text) {
  std::string out = "'";
  size_t shown = 0;
  for (unsigned char c : text) {
    if (shown++ == 40) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += char(c);
    }
  }
  return out + "'";
}

bool LineReader::next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  size_t end = text_.find('\n', pos_);
  if (end == std::string_view::npos) end = text_.size();
  line = text_.substr(pos_, end - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = end + 1;
  ++line_no_;
  return true;
}

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}
}  // namespace

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view trim(std::string_view s) {
  return trim_right(trim_left(s));
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != lower(prefix[i])) return false;
  }
  return true;
}

namespace {

// U+00A0 and U+202F: glibc's grouping for fr_FR and others.
size_t nbsp_length(std::string_view s, size_t i) {
  if (i + 1 < s.size() && uint8_t(s[i]) == 0xc2 && uint8_t(s[i + 1]) == 0xa0) return 2;
  if (i + 2 < s.size() && uint8_t(s[i]) == 0xe2 && uint8_t(s[i + 1]) == 0x80 &&
      uint8_t(s[i + 2]) == 0xaf) {
    return 3;
  }
  return 0;
}

// One vote from a number token: +1 for '.' decimal, -1 for ',' decimal, 0 when it cannot tell.
int decimal_vote(std::string_view tok) {
  size_t dots = 0, commas = 0, last_dot = 0, last_comma = 0;
  for (size_t i = 0; i < tok.size(); ++i) {
    if (tok[i] == '.') {
      ++dots;
      last_dot = i;
    } else if (tok[i] == ',') {
      ++commas;
      last_comma = i;
    }
  }
  if (dots && commas) return last_dot > last_comma ? 1 : -1;
  if (dots >= 2) return -1;
  if (commas >= 2) return 1;
  size_t sep = dots ? last_dot : last_comma;
  if (!dots && !commas) return 0;
  size_t after = tok.size() - sep - 1;
  if (after == 3) return 0;  // 1,234 or 1.234: grouping or three decimals
  // -I timestamps are "%lu.%09lu" in every locale: they say nothing about it.
  if (dots && after == 9) return 0;
  return dots ? 1 : -1;
}

}  // namespace

std::string iso_start_time(std::string_view when) {
  auto is_integer = [](std::string_view w) {
    return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return is_digit(c); });
  };
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < when.size()) {
    while (i < when.size() && when[i] == ' ') ++i;
    size_t start = i;
    while (i < when.size() && when[i] != ' ') ++i;
    if (i > start) words.push_back(when.substr(start, i - start));
  }
  if (words.size() != 5) return "";
  auto month = std::find(kMonths.begin(), kMonths.end(), words[1]);
  if (month == kMonths.end() || !is_integer(words[2]) || !is_integer(words[4]) ||
      words[3].size() != 8) {
    return "";
  }
  return fmt::format("{}-{:02}-{:02}T{}", words[4], int(month - kMonths.begin()) + 1,
                     parse_small_int(words[2]), words[3]);
}

bool is_started_on(std::string_view comment) {
  std::string_view body = trim(comment);
  if (!body.empty() && body.front() == '#') body = trim(body.substr(1));
  return body.starts_with("started on");
}

void read_started_on(std::string_view comment, Builder& out, bool sets_start_time) {
  if (!is_started_on(comment)) return;
  std::string_view body = trim(comment);
  if (!body.empty() && body.front() == '#') body = trim(body.substr(1));
  std::string when(trim(body.substr(10)));
  if (sets_start_time) out.measurement().start_time = iso_start_time(when);
  out.add_note("started on " + when + " (local time of the recording machine)");
}

namespace {

// Whether a line of a recording is one of perf's whose numbers are printed in its locale: the
// text and -x rows (a count, a timestamp, a "<not counted>", an aggregate id such as CPU3 or
// S0-D0-C1 first), a metric's continuation ("    #    0,100 M/sec") and the time lines. The
// command's own output pasted with them ("result: 3.14159") and perf's header, which quotes the
// command line ("… for './app --ratio 1,5':"), are not: their numbers say nothing of the locale.
bool votes_for_decimal(std::string_view line, char csv_sep) {
  std::string_view t = trim(line);
  if (t.empty()) return false;
  if (t.front() == '#') {
    std::string_view rest = trim_left(t.substr(1));
    return !rest.empty() && is_digit(rest.front());
  }
  if (is_digit(t.front()) || t.front() == '<') return true;
  if (csv_sep != 0) return t.front() == csv_sep || is_aggregate_id(t.substr(0, t.find(csv_sep)));
  return is_aggregate_id(t.substr(0, t.find_first_of(" \t")));
}

}  // namespace

char detect_decimal(std::string_view text, char csv_sep) {
  text = text.substr(0, std::min<size_t>(text.size(), 256 * 1024));
  long votes = 0;
  LineReader lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (!votes_for_decimal(line, csv_sep)) continue;
    size_t i = 0;
    while (i < line.size()) {
      if (!is_digit(line[i]) ||
          (i > 0 && (std::isalnum(uint8_t(line[i - 1])) || line[i - 1] == '_'))) {
        ++i;
        continue;
      }
      size_t start = i;
      while (i < line.size() &&
             (is_digit(line[i]) || ((line[i] == '.' || line[i] == ',') && line[i] != csv_sep &&
                                    i + 1 < line.size() && is_digit(line[i + 1])))) {
        ++i;
      }
      // Part of a name ("armv8_pmuv3_0", "l2_rqsts", "S0-D0") rather than a number.
      if (i < line.size() && (std::isalpha(uint8_t(line[i])) || line[i] == '_' || line[i] == '-')) {
        continue;
      }
      votes += decimal_vote(line.substr(start, i - start));
    }
  }
  return votes < 0 ? ',' : '.';
}

namespace {

enum class NumberKind { none, nan, inf, digits };

// The digits of a printed number with grouping removed and the decimal as '.', in `buffer`; the
// one scan both parse_number and is_number_text use, so they accept the same texts.
NumberKind scan_number(std::string_view token, char decimal, std::array<char, 80>& buffer,
                       size_t& n, bool& negative) {
  n = 0;
  negative = false;
  if (token.empty()) return NumberKind::none;
  std::string_view t = token;
  if (t.front() == '-' || t.front() == '+') {
    negative = t.front() == '-';
    t.remove_prefix(1);
  }
  if (t.empty()) return NumberKind::none;
  if (!is_digit(t.front())) {
    if (t == "nan" || t == "NaN" || t == "-nan") return NumberKind::nan;
    if (t == "inf" || t == "Inf") return NumberKind::inf;
    return NumberKind::none;
  }
  bool seen_decimal = false;
  for (size_t i = 0; i < t.size();) {
    char c = t[i];
    if (is_digit(c)) {
      if (n == buffer.size()) return NumberKind::none;
      buffer[n++] = c;
      ++i;
    } else if (c == decimal) {
      if (seen_decimal || n == buffer.size()) return NumberKind::none;
      seen_decimal = true;
      buffer[n++] = '.';
      ++i;
    } else if (c == ',' || c == '.' || c == '\'') {
      if (seen_decimal || i + 1 >= t.size() || !is_digit(t[i + 1])) return NumberKind::none;
      ++i;
    } else if (size_t len = nbsp_length(t, i); len != 0) {
      if (seen_decimal) return NumberKind::none;
      i += len;
    } else {
      return NumberKind::none;
    }
  }
  if (n == 0 || buffer[n - 1] == '.') return NumberKind::none;
  return NumberKind::digits;
}

}  // namespace

namespace {

// Digits with at most one '.' between digits: what perf prints in the C locale and in -x/-j,
// which fast_float reads in place.
bool is_plain_number(std::string_view t) {
  if (t.empty() || !is_digit(t.front()) || !is_digit(t.back())) return false;
  bool dot = false;
  for (char c : t) {
    if (is_digit(c)) continue;
    if (c != '.' || dot) return false;
    dot = true;
  }
  return true;
}

}  // namespace

std::optional<double> parse_number(std::string_view token, char decimal) {
  if (decimal == '.' && is_plain_number(token)) {
    double value = 0;
    auto [ptr, ec] = fast_float::from_chars(token.data(), token.data() + token.size(), value);
    if (ec == std::errc() && ptr == token.data() + token.size()) return value;
  }
  std::array<char, 80> buffer;
  size_t n = 0;
  bool negative = false;
  switch (scan_number(token, decimal, buffer, n, negative)) {
    case NumberKind::none:
      return std::nullopt;
    case NumberKind::nan:
      return std::numeric_limits<double>::quiet_NaN();
    case NumberKind::inf:
      return negative ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity();
    case NumberKind::digits:
      break;
  }
  double value = 0;
  auto [ptr, ec] = fast_float::from_chars(buffer.data(), buffer.data() + n, value);
  if (ec != std::errc() || ptr != buffer.data() + n) return std::nullopt;
  return negative ? -value : value;
}

bool is_number_text(std::string_view token, char decimal) {
  if (decimal == '.' && is_plain_number(token)) return true;
  std::array<char, 80> buffer;
  size_t n = 0;
  bool negative = false;
  // Digits with at most one '.' that neither starts nor ends them always convert.
  return scan_number(token, decimal, buffer, n, negative) != NumberKind::none;
}

int parse_small_int(std::string_view digits) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<int>::max();
  return ec == std::errc() ? value : 0;
}

uint64_t to_count(double value) {
  if (!(value >= 0)) return 0;
  if (value >= 18446744073709549568.0) return std::numeric_limits<uint64_t>::max();
  return uint64_t(std::round(value));
}

const char* invalid_count(double count, std::string_view unit) {
  if (std::isinf(count) && count > 0) return "the count is infinite; expected a finite count";
  if (!(count < 0)) return nullptr;
  if (unit == "Joules") return "the energy is negative; expected an energy of 0 or more";
  // task-clock and cpu-clock in msec, duration_time in ns (perf 6.x), us and ms in some PMUs'
  // event files.
  if (unit == "msec" || unit == "ns" || unit == "us" || unit == "ms")
    return "the time is negative; expected a time of 0 or more";
  return "the count is negative; expected a count of 0 or more";
}

const char* invalid_running_pct(double pct) {
  if (std::isnan(pct) || (pct >= 0 && pct <= 100)) return nullptr;
  return "expected the percentage of the time the counter ran, 0 to 100";
}

bool is_events_toggle(std::string_view trimmed_line) {
  return trimmed_line == "Events disabled" || trimmed_line == "Events enabled";
}

bool timestamp_goes_back(std::optional<double>& last, double ts) {
  if (last && ts < *last) return true;
  last = ts;
  return false;
}

bool looks_like_timestamp(std::string_view token) {
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || token.size() - dot - 1 != 9) return false;
  for (size_t i = 0; i < token.size(); ++i) {
    if (i != dot && !is_digit(token[i])) return false;
  }
  return true;
}

std::optional<double> parse_timestamp(std::string_view token) {
  token = trim(token);
  if (token.empty()) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = fast_float::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || ptr != token.data() + token.size() || !(value >= 0)) return std::nullopt;
  return value;
}

bool read_cpuid_line(std::string_view line, MachineInfo& machine) {
  constexpr std::string_view kPrefix = "Using CPUID ";
  line = trim(line);
  if (!line.starts_with(kPrefix)) return false;
  std::string_view id = trim(line.substr(kPrefix.size()));
  auto hex = [](std::string_view text, unsigned long long& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
  };
  unsigned long long value = 0;
  if (id.starts_with("0x") && hex(id.substr(2), value)) {
    machine.vendor = "ARM";
    machine.family = int((value >> 24) & 0xff);  // MIDR_EL1.Implementer
    machine.model = int((value >> 4) & 0xfff);   // MIDR_EL1.PartNum
    return true;
  }
  // tools/perf/arch/x86/util/header.c: "%s-%u-%X-%X" (vendor, family, model, stepping); the
  // family is decimal there, so it is read as such.
  std::vector<std::string_view> parts;
  for (size_t from = 0;;) {
    size_t dash = id.find('-', from);
    parts.push_back(id.substr(from, dash - from));
    if (dash == std::string_view::npos) break;
    from = dash + 1;
  }
  if (parts.size() < 3 || parts[0].empty()) return false;
  unsigned long long family = 0, model = 0, stepping = 0;
  auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), family);
  if (ec != std::errc() || end != parts[1].data() + parts[1].size() || !hex(parts[2], model))
    return false;
  if (parts.size() > 3 && !hex(parts[3], stepping)) return false;
  machine.vendor = std::string(parts[0]);
  machine.family = int(family);
  machine.model = int(model);
  if (parts.size() > 3) machine.stepping = int(stepping);
  return true;
}

bool read_cpuid_line_row(std::string_view t, Builder& out) {
  if (!t.starts_with("Using CPUID ") || !read_cpuid_line(t, out.measurement().machine))
    return false;
  out.add_note(std::string(t));
  return true;
}

std::optional<EventStatus> parse_count_status(std::string_view token) {
  if (token == "<not counted>") return EventStatus::not_counted;
  if (token == "<not supported>") return EventStatus::not_supported;
  return std::nullopt;
}

EventCount make_event(std::string_view name, std::string_view unit, std::optional<double> count,
                      EventStatus status, std::optional<double> pct,
                      std::optional<double> noise_pct) {
  EventCount e;
  e.name = std::string(name);
  // "cpu_core/cycles/", "power/energy-pkg/", "armv8_pmuv3_1/branches/u": the PMU before the first
  // '/'.
  if (size_t slash = name.find('/'); slash != std::string_view::npos && slash > 0 &&
                                     name.find('/', slash + 1) != std::string_view::npos) {
    e.pmu = std::string(name.substr(0, slash));
  }
  e.unit = std::string(unit);
  e.status = status;
  if (unit == "msec") e.unit_scale = 1e-6;  // task-clock and cpu-clock count ns
  if (status == EventStatus::not_supported) {
    e.reason = "perf printed <not supported>";
    return e;
  }
  e.time_enabled_ns = 1'000'000'000;
  if (pct && std::isnan(*pct)) pct.reset();
  // A <not counted> row never ran, whatever percentage perf printed beside it (-j prints its
  // "pcnt-running" 100.00 there).
  if (status != EventStatus::counted) pct = 0.0;
  if (pct) {
    e.time_running_ns = uint64_t(std::llround(std::clamp(*pct, 0.0, 100.0) * 1e7));
  } else {
    e.time_running_ns = status == EventStatus::counted ? e.time_enabled_ns : 0;
  }
  if (status != EventStatus::counted || !count) {
    if (e.reason.empty()) e.reason = "perf printed <not counted>";
    e.status = status == EventStatus::counted ? EventStatus::not_counted : status;
    return e;
  }
  e.value = *count;
  // perf 3.x printed task-clock in msec without a unit; perf 6.x on some machines prints ns
  // without one. A fraction tells msec.
  std::string_view base = name.substr(0, name.find(':'));
  if (unit.empty() && (base == "task-clock" || base == "cpu-clock") &&
      *count != std::floor(*count)) {
    e.unit = "msec";
    e.unit_scale = 1e-6;
  }
  if (std::isfinite(*count) && *count >= 0) {
    e.raw = to_count(*count / e.unit_scale * e.running_fraction());
  }
  // perf's "+- x%" is the standard error of the mean as a percentage of it (stat.c:
  // stddev_stats is sqrt(variance / n)), not the runs' standard deviation.
  if (noise_pct) e.spread.set().sem = *count * *noise_pct / 100.0;
  return e;
}

bool strip_percent_unit(std::string_view& description) {
  description = trim(description);
  if (description.empty() || description.front() != '%') return false;
  description = trim_left(description.substr(1));
  return true;
}

namespace {

// lowercase, runs of spaces and '_' as one '_': "Bad Speculation" and "bad_speculation" meet.
// Written into `out` (no allocation per row); descriptions longer than it are cut, which only
// makes a long unknown description's name shorter.
std::string_view metric_key(std::string_view s, std::array<char, 96>& out) {
  size_t n = 0;
  for (char c : s) {
    if (n == out.size()) break;
    if (c == ' ' || c == '_' || c == '\t') {
      if (n != 0 && out[n - 1] != '_') out[n++] = '_';
    } else {
      out[n++] = lower(c);
    }
  }
  while (n != 0 && out[n - 1] == '_') --n;
  return {out.data(), n};
}

struct KnownMetric {
  std::string_view key;   // metric_key of perf's description
  std::string_view name;  // pmcmodel's
  std::string_view unit;
  bool percent_kind;  // perf prints it as a percentage (CSV/JSON drop the '%')
};

// From tools/perf/util/stat-shadow.c (4.x-6.x) and the topdown rows of stat-display.c.
constexpr KnownMetric kKnownMetrics[] = {
    {"insn_per_cycle", "ipc", "insn/cycle", false},
    {"insns_per_cycle", "ipc", "insn/cycle", false},
    {"ghz", "ghz", "GHz", false},
    {"cycles_frequency", "ghz", "GHz", false},  // perf 6.19's names for its default metrics
    {"branch_miss_rate", "branch_miss_rate", "ratio", true},
    {"cpus_utilized", "cpus_utilized", "CPUs", false},
    {"stalled_cycles_per_insn", "stalled_cycles_per_insn", "cycles/insn", false},
    {"of_all_branches", "branch_miss_rate", "ratio", true},
    {"of_all_cache_refs", "cache_miss_rate", "ratio", true},
    {"frontend_cycles_idle", "frontend_stall_ratio", "ratio", true},
    {"backend_cycles_idle", "backend_stall_ratio", "ratio", true},
    {"of_all_l1-dcache_accesses", "l1d_miss_ratio", "ratio", true},
    {"of_all_l1-dcache_hits", "l1d_miss_ratio", "ratio", true},
    {"of_all_l1-icache_accesses", "l1i_miss_ratio", "ratio", true},
    {"of_all_l1-icache_hits", "l1i_miss_ratio", "ratio", true},
    {"of_all_ll-cache_accesses", "llc_miss_ratio", "ratio", true},
    {"of_all_ll-cache_hits", "llc_miss_ratio", "ratio", true},
    {"of_all_dtlb_cache_accesses", "dtlb_miss_ratio", "ratio", true},
    {"of_all_dtlb_cache_hits", "dtlb_miss_ratio", "ratio", true},
    {"of_all_itlb_cache_accesses", "itlb_miss_ratio", "ratio", true},
    {"of_all_itlb_cache_hits", "itlb_miss_ratio", "ratio", true},
    // Top-down level 1 and 2 as perf's topdown-* rows, the legacy --topdown table, old -M
    // (Backend_Bound as a fraction) and AMD's PipelineL1 (frontend_bound) name them.
    {"retiring", "tma_retiring", "ratio", true},
    {"bad_speculation", "tma_bad_speculation", "ratio", true},
    {"frontend_bound", "tma_frontend_bound", "ratio", true},
    {"backend_bound", "tma_backend_bound", "ratio", true},
    {"heavy_operations", "tma_heavy_operations", "ratio", true},
    {"light_operations", "tma_light_operations", "ratio", true},
    {"branch_mispredict", "tma_branch_mispredicts", "ratio", true},
    {"branch_mispredicts", "tma_branch_mispredicts", "ratio", true},
    {"machine_clears", "tma_machine_clears", "ratio", true},
    {"fetch_latency", "tma_fetch_latency", "ratio", true},
    {"fetch_bandwidth", "tma_fetch_bandwidth", "ratio", true},
    {"memory_bound", "tma_memory_bound", "ratio", true},
    {"core_bound", "tma_core_bound", "ratio", true},
};

std::optional<double> rate_multiplier(std::string_view description) {
  if (description == "/sec") return 1.0;
  if (description == "K/sec") return 1e3;
  if (description == "M/sec") return 1e6;
  if (description == "G/sec") return 1e9;
  return std::nullopt;
}

}  // namespace

// Without the logarithm for the exact powers of ten that scales are (1 for most metrics, 0.01
// for a percentage, 1e3/1e6/1e9 for K/M/G per second): the logarithm of every printed metric's
// scale was ~2 % of a long recording's import.
int scale_exponent(double scale) {
  if (!(scale > 0) || !std::isfinite(scale)) return 0;
  static constexpr double kPowers[] = {1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
                                       1e-3,  1e-2,  1e-1,  1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                       1e6,   1e7,   1e8,   1e9,  1e10, 1e11, 1e12};
  if (scale == 1.0) return 0;
  for (size_t i = 0; i < std::size(kPowers); ++i)
    if (scale == kPowers[i]) return int(i) - 12;
  return int(std::lround(std::log10(scale)));
}

void keep_printed_decimals(Metric& m, std::string_view text, char decimal, double scale) {
  keep_printed_decimals_shifted(m, text, decimal, scale_exponent(scale));
}

void keep_printed_decimals_shifted(Metric& m, std::string_view text, char decimal, int exponent) {
  size_t point = text.find(decimal);
  int decimals = 0;
  if (point != std::string_view::npos)
    for (size_t i = point + 1; i < text.size() && std::isdigit((unsigned char)text[i]); ++i)
      ++decimals;
  decimals -= exponent;
  // Negative for a rate printed in M/sec: 1.234 M is to 1,000. A number of more digits than a
  // record holds (only a damaged file has them) says nothing of its precision.
  if (SmallOptional<int16_t>::holds(decimals)) m.decimals = decimals;
}

Metric normalise_metric(double value, bool percent, std::string_view description,
                        std::string_view event, bool percent_shown) {
  description = trim(description);
  if (strip_percent_unit(description)) percent = true;
  // perf 6.19 prints its default metrics as "<unit>  <name>": "GHz  cycles_frequency",
  // "CPUs  CPUs_utilized", "K/sec  branch_frequency", "faults/sec  page_faults_per_second".
  if (size_t gap = description.find("  "); gap != std::string_view::npos) {
    std::string_view unit = trim(description.substr(0, gap));
    std::string_view name = trim(description.substr(gap));
    bool identifier = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(uint8_t(c)) || c == '_';
    });
    if (identifier && !unit.empty() && unit.find(' ') == std::string_view::npos) {
      if (unit.ends_with("/sec")) {
        std::string_view prefix = unit.substr(0, unit.size() - 4);
        double multiplier = prefix == "K" ? 1e3 : prefix == "M" ? 1e6 : prefix == "G" ? 1e9 : 1.0;
        if (event.size() > 1 && event.back() == '/') event.remove_suffix(1);
        return {std::string(event.empty() ? name : event) + "_per_sec", value * multiplier, "/s"};
      }
      description = name;
    }
  }
  if (auto multiplier = rate_multiplier(description)) {
    // "armv8_pmuv3_1/branches/" → "armv8_pmuv3_1/branches_per_sec"
    if (event.size() > 1 && event.back() == '/') event.remove_suffix(1);
    return {std::string(event.empty() ? "rate" : event) + "_per_sec", value * *multiplier, "/s"};
  }
  std::array<char, 96> buffer;
  std::string_view key = metric_key(description, buffer);
  for (const auto& known : kKnownMetrics) {
    if (key != known.key) continue;
    bool fraction_already = !percent && known.percent_kind &&
                            (percent_shown || description.find('_') != std::string_view::npos) &&
                            known.name.starts_with("tma_");
    // CSV and JSON drop the '%' of perf's percentage metrics; old -M printed Backend_Bound as a
    // fraction, with the '_' that the topdown rows ("Backend Bound") do not have.
    bool as_percent = percent || (known.percent_kind && !fraction_already);
    return {std::string(known.name), as_percent && known.unit == "ratio" ? value / 100.0 : value,
            std::string(known.unit)};
  }
  if (key.starts_with("tma_")) return {std::string(key), percent ? value / 100.0 : value, "ratio"};
  if (percent) return {std::string(key), value / 100.0, "ratio"};
  return {std::string(key), value, ""};
}

namespace {
bool is_hybrid_pmu(std::string_view pmu) {
  return pmu == "cpu_core" || pmu == "cpu_atom" || pmu == "cpu_lowpower";
}
}  // namespace

std::string_view hybrid_pmu_of_event(std::string_view event) {
  size_t slash = event.find('/');
  if (slash == std::string_view::npos) return {};
  std::string_view pmu = event.substr(0, slash);
  return is_hybrid_pmu(pmu) ? pmu : std::string_view();
}

std::string_view hybrid_pmu_of_group(std::string_view label) {
  size_t open = label.rfind('(');
  if (open == std::string_view::npos || !label.ends_with(')')) return {};
  std::string_view pmu = trim(label.substr(open + 1, label.size() - open - 2));
  return is_hybrid_pmu(pmu) ? pmu : std::string_view();
}

void qualify_by_pmu(Metric& metric, std::string_view pmu) {
  if (pmu.empty() || (metric.name.size() > pmu.size() && metric.name.starts_with(pmu) &&
                      metric.name[pmu.size()] == '/')) {
    return;
  }
  metric.name = fmt::format("{}/{}", pmu, metric.name);
}

void Builder::add_note(std::string note) {
  m_.notes.push_back(std::move(note));
}

bool Builder::empty() const {
  return m_.events.empty() && m_.reported.empty() && m_.intervals.empty() && taken_ == 0;
}

bool Builder::can_append(const Builder& later) const {
  // An interval of this part can go on in the next only when both have the same timestamp;
  // parts are cut where the timestamp changes, and a part that printed anything else (a note,
  // rows without a timestamp), or whose first timestamp is below this part's last (which the
  // reader refuses, kTimestampGoesBack, with its line), is read in sequence instead.
  return later.m_.events.empty() && later.m_.reported.empty() && later.m_.notes.empty() &&
         later.top_totals_.empty() && !later.m_.intervals.empty() && !m_.intervals.empty() &&
         m_.intervals.back().time_s < later.m_.intervals.front().time_s;
}

void Builder::append(Builder&& later) {
  size_t offset = m_.intervals.size();
  m_.intervals.insert(m_.intervals.end(), std::make_move_iterator(later.m_.intervals.begin()),
                      std::make_move_iterator(later.m_.intervals.end()));
  interval_totals_.insert(interval_totals_.end(),
                          std::make_move_iterator(later.interval_totals_.begin()),
                          std::make_move_iterator(later.interval_totals_.end()));
  sealed_.insert(sealed_.end(), later.sealed_.begin(), later.sealed_.end());
  if (later.last_.event != npos) {
    last_ = later.last_;
    if (last_.interval != npos) last_.interval += offset;
  }
}

std::vector<Builder::Total>& Builder::totals_of(std::optional<double> ts,
                                                std::vector<EventCount>*& events,
                                                std::vector<Metric>*& reported) {
  if (!ts) {
    events = &m_.events;
    reported = &m_.reported;
    return top_totals_;
  }
  if (m_.intervals.empty() || m_.intervals.back().time_s != *ts) {
    // The interval before the last is complete (rows only go to the last; a -r continuation
    // line amends the last event, at most one interval back): sealed now, while its rows are
    // still in this thread's cache, not in a later pass over the whole recording.
    if (size_t n = m_.intervals.size(); n >= 2 && sealed_[n - 2] == 0) seal_one(n - 2);
    Interval iv;
    iv.time_s = *ts;
    // Intervals repeat the same rows: size each like the one before, one allocation per list.
    if (!m_.intervals.empty()) {
      iv.events.reserve(m_.intervals.back().events.size() + interval_totals_.back().size());
      iv.reported.reserve(m_.intervals.back().reported.size());
    }
    m_.intervals.push_back(std::move(iv));
    interval_totals_.emplace_back();
    sealed_.push_back(0);
  }
  events = &m_.intervals.back().events;
  reported = &m_.intervals.back().reported;
  return interval_totals_.back();
}

void Builder::accumulate(Total& total, const EventCount& e, bool over_time) {
  if (total.parts++ == 0) {
    total.sum = e;
    total.sum.spread.reset();
  } else if (e.counted()) {
    if (total.sum.counted()) {
      total.sum.value += e.value;
      total.sum.raw += e.raw;
    } else {
      total.sum.value = e.value;
      total.sum.raw = e.raw;
      total.sum.status = EventStatus::counted;
    }
  }
  // A <not counted> interval adds nothing to the run's count, nor to its running time: perf
  // prints <not counted> for a task's counter in an interval the task spent off the CPU, which
  // enabled nothing. The run's running fraction is that of the intervals that counted, as its
  // value (the sum of theirs, each already scaled) is. A --per-thread thread or a -G cgroup that
  // never ran is the same (add_event passes over_time). A <not counted> CPU aggregate (a CPU
  // whose counter never ran) does lower it: its share is missing from the sum.
  if (e.time_enabled_ns != 0 && (e.counted() || !over_time)) {
    ++total.enabled_parts;
    total.running_fraction_sum += e.running_fraction();
  }
}

namespace {

// A --per-thread row's "comm-tid" (the only aggregate id whose last '-' is followed by digits
// alone: "S0-D0-C1", "S0-D0-L3-ID0", "CPU3" are not).
bool is_thread_id(std::string_view aggregate) {
  size_t dash = aggregate.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == aggregate.size()) return false;
  return std::all_of(aggregate.begin() + std::ptrdiff_t(dash) + 1, aggregate.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// Whether an aggregate's counters are enabled only while what they watch runs: a --per-thread
// thread's, and a -G cgroup's ("audgrp", "CPU0/audgrp" with -A: perf's cgroup time moves only
// while the cgroup has a task on the CPU). Its <not counted> is a thread or cgroup that did not
// run, not a counter that missed its share of the time, as a CPU's, a core's or a socket's is.
bool runs_with_its_tasks(std::string_view aggregate) {
  return is_thread_id(aggregate) || !is_aggregate_id(aggregate);
}

}  // namespace

EventCount Builder::total_event(const Total& total, std::string reason) {
  EventCount e = total.sum;
  if (total.enabled_parts != 0) {
    e.time_enabled_ns = 1'000'000'000;
    e.time_running_ns =
        uint64_t(std::llround(total.running_fraction_sum / double(total.enabled_parts) * 1e9));
  }
  e.reason = e.counted() ? std::move(reason) : e.reason;
  return e;
}

void Builder::flush(std::vector<Total>& totals, std::vector<EventCount>& events) {
  for (const auto& t : totals) {
    // -G cg, (an event in a cgroup beside the same event in none): perf's row of no cgroup is
    // the event's own count; the cgroups' sum under its name would be a second, different one.
    if (std::any_of(events.begin(), events.end(),
                    [&](const EventCount& e) { return e.name == t.sum.name; }))
      continue;
    events.push_back(
        total_event(t, fmt::format("sum of {} aggregate{}", t.parts, t.parts == 1 ? "" : "s")));
  }
  totals.clear();
}

void Builder::add_event(std::optional<double> ts, std::string_view aggregate, int aggregate_cpus,
                        EventCount event) {
  std::vector<EventCount>* events = nullptr;
  std::vector<Metric>* reported = nullptr;
  auto& totals = totals_of(ts, events, reported);
  last_ = {ts ? m_.intervals.size() - 1 : npos, events->size(), npos};
  if (aggregate.empty()) {
    events->push_back(std::move(event));
    return;
  }
  auto it = std::find_if(totals.begin(), totals.end(),
                         [&](const Total& t) { return t.sum.name == event.name; });
  if (it == totals.end()) it = totals.insert(totals.end(), Total{});
  accumulate(*it, event, runs_with_its_tasks(aggregate));
  last_.total = size_t(it - totals.begin());
  event.name = fmt::format("{}/{}", aggregate, event.name);
  if (aggregate_cpus > 0 && event.reason.empty()) {
    event.reason =
        fmt::format("aggregate of {} CPU{}", aggregate_cpus, aggregate_cpus == 1 ? "" : "s");
  }
  events->push_back(std::move(event));
}

void Builder::amend_last_event(std::optional<double> pct, std::optional<double> noise_pct) {
  if (pct && std::isnan(*pct)) pct.reset();
  if (last_.event == npos || (!pct && !noise_pct)) return;
  bool in_interval = last_.interval != npos;
  auto& events = in_interval ? m_.intervals[last_.interval].events : m_.events;
  auto& totals = in_interval ? interval_totals_[last_.interval] : top_totals_;
  EventCount& e = events[last_.event];
  if (!e.counted()) return;
  if (noise_pct && !e.spread->sem) e.spread.set().sem = e.value * *noise_pct / 100.0;
  if (pct) {
    double before = e.running_fraction();
    e.time_running_ns = uint64_t(std::llround(std::clamp(*pct, 0.0, 100.0) * 1e7));
    if (std::isfinite(e.value) && e.value >= 0) {
      e.raw = to_count(e.value / e.unit_scale * e.running_fraction());
    }
    if (last_.total != npos)
      totals[last_.total].running_fraction_sum += e.running_fraction() - before;
  }
}

void Builder::add_reported(std::optional<double> ts, std::string_view aggregate, Metric metric) {
  if (!aggregate.empty()) metric.name = fmt::format("{}/{}", aggregate, metric.name);
  metric.group.reset();
  if (std::isnan(metric.value)) {
    // perf prints nan where a ratio has no denominator (an event that was not counted): there
    // is no value to keep, but the report says perf printed one.
    if (nan_noted_.insert(metric.name).second) {
      add_note(fmt::format("perf printed nan for {} (its inputs were not counted)", metric.name));
    }
    return;
  }
  std::vector<EventCount>* events = nullptr;
  std::vector<Metric>* reported = nullptr;
  totals_of(ts, events, reported);
  // Until assign_groups(): the row it was printed beside.
  if (!events->empty()) metric.group = int(events->size() - 1);
  reported->push_back(std::move(metric));
}

void Builder::add_unshown_metric(std::string_view aggregate, std::string_view name) {
  std::string full = aggregate.empty() ? std::string(name) : fmt::format("{}/{}", aggregate, name);
  if (!nan_noted_.insert(full).second) return;
  add_note(fmt::format(
      "perf's -x printed no value for {}: it prints nan, inf and negative values as an empty "
      "field (stat-display.c print_metric_csv), so its value is not known and none is kept in "
      "reported[]",
      full));
}

bool has_repeated_name(const std::vector<EventCount>& events) {
  // A few dozen rows are compared pairwise (most pairs differ in length); a per-CPU interval's
  // hundreds of rows are sorted.
  constexpr size_t kPairwiseRows = 32;
  if (events.size() <= kPairwiseRows) {
    for (size_t i = 1; i < events.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (events[i].name == events[j].name) return true;
    return false;
  }
  std::vector<std::string_view> names;
  names.reserve(events.size());
  for (const auto& e : events) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

bool same_names(const std::vector<EventCount>& a, const std::vector<EventCount>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name) return false;
  return true;
}

void assign_groups(std::vector<EventCount>& events, std::vector<Metric>& reported) {
  assign_groups(events, reported, has_repeated_name(events));
}

void assign_groups(std::vector<EventCount>& events, std::vector<Metric>& reported, bool repeats) {
  if (!repeats) {
    for (auto& r : reported) r.group.reset();
    return;
  }
  int group = 0;
  size_t first = 0;  // the current group's first row
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    if (i > 0) {
      const auto& before = events[i - 1];
      bool same_time = e.time_running_ns == before.time_running_ns &&
                       e.time_enabled_ns == before.time_enabled_ns;
      bool again =
          std::any_of(events.begin() + std::ptrdiff_t(first), events.begin() + std::ptrdiff_t(i),
                      [&](const EventCount& other) { return other.name == e.name; });
      if (!same_time || again) {
        ++group;
        first = i;
      }
    }
    e.group = group;
  }
  for (auto& r : reported) {
    if (r.group && size_t(*r.group) < events.size())
      r.group = events[size_t(*r.group)].group;
    else
      r.group.reset();
  }
}

void Builder::RunSums::add(const std::vector<EventCount>& events, bool names_as_before) {
  ++intervals;
  const bool names_in_place = names_as_before && all_in_place;
  all_in_place = true;
  for (size_t j = 0; j < events.size(); ++j) {
    const auto& e = events[j];
    // Intervals repeat the rows of the first in the same order: try that position first.
    if (j < sums.size() && (names_in_place || sums[j].sum.name == e.name) &&
        sums[j].sum.group == e.group) {
      accumulate(sums[j], e, true);
      continue;
    }
    all_in_place = false;
    // An event of several groups is summed per group.
    std::string key = e.group ? fmt::format("{}\x1f{}", e.name, *e.group) : e.name;
    auto [it, inserted] = index.try_emplace(std::move(key), sums.size());
    if (inserted) sums.emplace_back();
    accumulate(sums[it->second], e, true);
  }
}

namespace {
// energy[] from perf's power PMU totals ("power/energy-pkg/" in Joules: every socket's; the
// "S0/power/…" aggregates are parts of it), over `seconds`, as measure reads them through the
// same PMU (measured:rapl); nothing without a time to give the watts.
// A row add_power_energy reads: "power/<event>/", counted, in Joules.
bool is_power_energy(const EventCount& e) {
  std::string_view name = e.name;
  // Every event of every interval passes here: its first byte rules out most inline.
  return name.size() >= 8 && name.front() == 'p' && name.starts_with("power/") &&
         name.ends_with('/') && e.counted() && e.unit == "Joules";
}

bool has_power_energy(const std::vector<EventCount>& events) {
  return std::any_of(events.begin(), events.end(), is_power_energy);
}

void add_power_energy(const std::vector<EventCount>& events, double seconds,
                      std::vector<EnergyReading>& energy) {
  if (!(seconds > 0)) return;
  for (const auto& e : events) {
    if (!is_power_energy(e)) continue;
    std::string_view name = std::string_view(e.name).substr(6, e.name.size() - 7);
    for (const auto& power : kPowerEvents) {
      if (name != power.event) continue;
      EnergyReading r;
      r.domain = std::string(power.kind);
      r.joules = e.value;
      r.average_watts = e.value / seconds;
      r.method = "measured:rapl";
      energy.push_back(std::move(r));
    }
  }
}
}  // namespace

void Builder::seal_one(size_t i) {
  auto& iv = m_.intervals[i];
  flush(interval_totals_[i], iv.events);
  // Intervals mostly repeat the one before's rows: whether a name repeats is known then.
  bool same = i > 0 && sealed_[i - 1] != 0 && same_names(m_.intervals[i - 1].events, iv.events);
  bool repeats = same ? (sealed_[i - 1] & kRepeats) != 0 : has_repeated_name(iv.events);
  assign_groups(iv.events, iv.reported, repeats);
  sealed_[i] = char(kSealed | (same ? kSameNames : 0) | (repeats ? kRepeats : 0) |
                    (has_power_energy(iv.events) ? kPower : 0));
}

void Builder::seal(size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (sealed_[i] == 0) seal_one(i);
}

void Builder::seal_intervals() {
  if (!m_.intervals.empty()) seal(m_.intervals.size() - 1);
}

std::vector<Interval> Builder::take_intervals(bool keep_last, double& previous_time,
                                              RunSums& sums) {
  size_t n = m_.intervals.size();
  if (keep_last && n > 0) --n;
  seal(n);
  std::vector<Interval> out;
  if (n == m_.intervals.size()) {
    out = std::move(m_.intervals);
    m_.intervals.clear();
  } else {
    out.assign(std::make_move_iterator(m_.intervals.begin()),
               std::make_move_iterator(m_.intervals.begin() + std::ptrdiff_t(n)));
    m_.intervals.erase(m_.intervals.begin(), m_.intervals.begin() + std::ptrdiff_t(n));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    auto& iv = out[i];
    bool first = sums.intervals == 0;
    iv.duration_s = interval_length(iv.time_s, iv.time_s - previous_time, first, sums);
    // perf printed every interval's metrics over the period: each is printed by
    // process_interval(), which sets the wall time to it, the first and the last, short one too
    // (perf 5.10+ prints one when the command's SIGCHLD interrupts its poll: 068.txt's
    // 5.001590993 after 4.008895291), and those --control enable/disable print.
    iv.period_s = sums.step.period_s;
    if (first && iv.duration_s < iv.time_s) sums.start_s = iv.time_s - iv.duration_s;
    if ((sealed_[i] & kPower) != 0) add_power_energy(iv.events, iv.duration_s, iv.energy);
    previous_time = iv.time_s;
    // Names as the interval before: the one sums.add() had last, in this builder's order.
    sums.add(iv.events, (sealed_[i] & kSameNames) != 0);
  }
  interval_totals_.erase(interval_totals_.begin(),
                         interval_totals_.begin() + std::ptrdiff_t(out.size()));
  sealed_.erase(sealed_.begin(), sealed_.begin() + std::ptrdiff_t(out.size()));
  if (last_.interval != npos) last_.interval -= std::min(last_.interval, out.size());
  taken_ += out.size();
  return out;
}

double Builder::interval_length(double time_s, double gap_s, bool first, RunSums& sums) {
  // perf's timer fires late by a scheduling delay, not by another step: past 1.5 steps the
  // interval's counts are still one step's.
  constexpr double kFarPast = 1.5;
  const auto& step = sums.step.step_s;
  if (!step) return gap_s;
  if (!first) {
    if (gap_s <= kFarPast * *step) return gap_s;
    sums.notes.push_back(
        fmt::format("intervals are missing before t = {} s ({:g} s after the one before, -I "
                    "step {:g} s): that interval is taken as {:g} s long",
                    time_s, gap_s, *step, *step));
    return *step;
  }
  // perf sleeps a whole period before each print, so its k-th interval ends at k periods or
  // later: a first row before two periods is perf's first interval however late (wild/: 1.029 s
  // at the latest, 054.txt, for -I 1000). perf before 6.2 counted a -D delay into its
  // timestamps: there the first interval ends at delay + period, and counts one period.
  // A first row at or past delay + period (less perf's jitter) is such a timestamp, also where
  // delay + period is under two periods (-D 500 -I 1000: 1.5 s, not a 1.5 s interval).
  double period = sums.step.period_s.value_or(*step);
  double delay = sums.step.delay_s;
  if (delay > 0 && time_s >= delay + 0.9 * period && time_s < delay + 2 * period)
    return time_s - delay;
  if (time_s < 2 * period) return gap_s;
  sums.notes.push_back(fmt::format(
      "the recording starts at t = {} s, past its first -I interval of {:g} s: it was taken "
      "from the middle of a run: each interval is {:g} s long, and the run's time is the "
      "time its intervals span, not the time since perf started",
      time_s, *step, *step));
  return *step;
}

double nominal_period(double gap_s) {
  // perf's delay is not small: gaps of 1.0019 s (wild/052.txt), 1.025 s (054.txt, POWER10), up
  // to 1.065 s (053.txt) for -I 1000. A -I of 1000, 500, 250 or 20 ms is found from any delay
  // below a tenth of it; a period just above a round one (-I 1050) reads as the round one, and a
  // printed command gives it exactly.
  double ms = gap_s * 1000;
  for (double grid : {1000.0, 100.0, 10.0}) {
    double period = std::floor(ms / grid + 1e-9) * grid;
    if (period > 0 && ms - period < 0.1 * period) return period / 1000;
  }
  return std::max(1.0, std::floor(ms + 1e-6)) / 1000;
}

namespace {
// The timestamp of a row of the head of a recording, or nullopt. Text and -x rows start with it
// ("     1.001089747       16,045.28 msec task-clock", "1.001089747,16045.28,msec,…"), followed
// by more than perf's time lines' "seconds"; -j records hold it as "interval".
std::optional<double> head_timestamp(std::string_view line, PerfStatFormat format) {
  if (format == PerfStatFormat::json) {
    constexpr std::string_view kKey = "\"interval\"";
    size_t at = line.find(kKey);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = trim_left(line.substr(at + kKey.size()));
    if (rest.empty() || rest.front() != ':') return std::nullopt;
    rest = trim_left(rest.substr(1));
    auto ts = parse_timestamp(rest.substr(0, rest.find_first_of(",} \t")));
    return ts && std::isfinite(*ts) ? ts : std::nullopt;
  }
  std::string_view t = trim_left(line);
  size_t end = t.find_first_not_of("0123456789.");
  std::string_view token = t.substr(0, end);
  if (end == std::string_view::npos || !looks_like_timestamp(token)) return std::nullopt;
  std::string_view rest = trim_left(t.substr(end + 1));
  if (rest.empty() || rest.starts_with("seconds")) return std::nullopt;
  return parse_timestamp(token);
}
}  // namespace

IntervalStep interval_step_of(std::string_view text, PerfStatFormat format) {
  IntervalStep step;
  std::vector<double> stamps;
  LineReader lines(text);
  std::string_view line;
  // perf's "# started on" line (-o FILE writes it as the run starts, in every form): the rows
  // below it are the run's from its first interval on, not a paste from the middle of a run.
  bool started_on = false;
  while (stamps.size() < kStepTimestamps && lines.next(line)) {
    std::optional<double> ts = head_timestamp(line, format);
    if (ts) {
      if (stamps.empty() || *ts > stamps.back()) stamps.push_back(*ts);
    } else if (stamps.empty()) {
      if (is_started_on(trim(line))) started_on = true;
      auto printed = printed_command_of(line);
      if (printed.interval_s) return {printed.interval_s, printed.interval_s, printed.delay_s};
      // The head is over: a recording without -I is not read to its end for its step.
      if (size_t(line.data() + line.size() - text.data()) >= kStepHeadBytes) return step;
    }
  }
  if (stamps.size() == 1) {
    // A recording of one interval: perf's first timestamp is the period after the counters were
    // enabled, plus perf's delay (wild/051.json: 1.001089747 s for -I 1000).
    step.period_s = nominal_period(stamps.front());
    return step;
  }
  if (stamps.empty()) return step;
  if (stamps.size() == 2) {
    // One gap: a run of one whole interval and the short one perf prints when the command ends
    // (-I 1000 -- sleep 1.3: 1.001, 1.302), or two whole intervals. A first stamp past two gaps
    // is a recording from the middle of a run only where it is a whole number of them (perf's
    // k-th print is k periods plus k delays after the start); otherwise the first interval is
    // the run's first, a step long, and the gap is the last one's cut-short length.
    // Under perf's "# started on" the first interval is the run's first, whatever the ratio:
    // -I 1000 -- sleep 1.5 prints 1.001 and 1.502, two gaps' worth, not two periods of 0.5 s.
    double first = stamps[0], gap = stamps[1] - stamps[0];
    double ratio = first / gap;
    bool whole_number = ratio >= 2 && std::abs(ratio - std::round(ratio)) <= 0.1;
    if (ratio > 1.1 && (!whole_number || started_on)) {
      step.step_s = first;
      step.period_s = nominal_period(first);
      return step;
    }
  }
  std::vector<double> gaps;
  for (size_t i = 1; i < stamps.size(); ++i) gaps.push_back(stamps[i] - stamps[i - 1]);
  std::nth_element(gaps.begin(), gaps.begin() + std::ptrdiff_t(gaps.size() / 2), gaps.end());
  step.step_s = gaps[gaps.size() / 2];
  step.period_s = nominal_period(*step.step_s);
  return step;
}

namespace {
// The words of a printed command line, a quoted part ('…' or "…") kept in its word as a shell
// would ("-e '{cycles, instructions}'" is one option value).
std::vector<std::string_view> shell_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    char quote = 0;
    while (i < line.size() && (quote != 0 || (line[i] != ' ' && line[i] != '\t'))) {
      if (quote == 0 && (line[i] == '\'' || line[i] == '"'))
        quote = line[i];
      else if (line[i] == quote)
        quote = 0;
      ++i;
    }
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// perf stat's options that take a value (builtin-stat.c stat_options), short and long; every
// other option is a flag. perf's parse_options stops at the first word that is not an option or
// an option's value: the command perf runs, whose own -I or -D are not perf's.
constexpr std::string_view kShortWithValue = "eptrCxGoIDMb";
bool long_takes_value(std::string_view name) {
  static constexpr std::string_view kLong[] = {
      "event",   "filter",   "pid",     "tid",        "repeat",         "cpu",
      "cgroup",  "output",   "log-fd",  "pre",        "post",           "interval-print",
      "delay",   "metrics",  "timeout", "td-level",   "interval-count", "field-separator",
      "control", "bpf-prog", "cputype", "pfm-events", "for-each-cgroup"};
  return std::find(std::begin(kLong), std::end(kLong), name) != std::end(kLong);
}

std::optional<double> milliseconds(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  double ms = 0;  // from_chars, unlike stod, does not throw on 400 digits
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return ms > 0 ? std::optional<double>(ms / 1000) : std::nullopt;
}
}  // namespace

PrintedCommand printed_command_of(std::string_view line) {
  PrintedCommand printed;
  size_t at = line.find("perf ");
  if (at == std::string_view::npos || line.find(" stat", at) == std::string_view::npos)
    return printed;
  std::vector<std::string_view> words = shell_words(line.substr(at));
  size_t i = 1;
  while (i < words.size() && words[i] != "stat") ++i;  // perf's own options come before
  auto take = [&](char option, std::string_view value) {
    if (option == 'I')
      printed.interval_s = milliseconds(value);
    else if (option == 'D')
      printed.delay_s = milliseconds(value).value_or(0);
  };
  for (++i; i < words.size(); ++i) {
    std::string_view w = words[i];
    std::string_view next = i + 1 < words.size() ? words[i + 1] : std::string_view();
    if (w == "--" || w.size() < 2 || w[0] != '-') break;  // the command perf runs
    if (w.starts_with("--")) {
      std::string_view name = w.substr(2);
      size_t eq = name.find('=');
      std::string_view value =
          eq == std::string_view::npos ? std::string_view() : name.substr(eq + 1);
      name = name.substr(0, eq);
      if (eq == std::string_view::npos && long_takes_value(name)) value = next, ++i;
      if (name == "interval-print") take('I', value);
      if (name == "delay") take('D', value);
      continue;
    }
    // A cluster of short options ("-aA", "-ddd"); the first that takes a value takes the rest of
    // the word ("-I100", "-MPipelineL2"), else the next word.
    for (size_t k = 1; k < w.size(); ++k) {
      if (kShortWithValue.find(w[k]) == std::string_view::npos) continue;
      std::string_view value = w.substr(k + 1);
      if (value.empty()) value = next, ++i;
      take(w[k], value);
      break;
    }
  }
  return printed;
}

// The runs' standard deviation where the recording says how many runs there were (text's
// "(N runs)" header; -x and -j output does not): sem * sqrt(N).
namespace {
void add_run_stddev(std::vector<EventCount>& events, int runs) {
  if (runs <= 1) return;
  for (auto& e : events)
    if (e.spread->sem) e.spread.set().stddev = *e.spread->sem * std::sqrt(double(runs));
}
}  // namespace

void Builder::finish_run(RunSums& sums, double last_time) {
  add_run_stddev(m_.events, m_.runs);
  if (sums.intervals == 0) return;
  m_.notes.insert(m_.notes.end(), std::make_move_iterator(sums.notes.begin()),
                  std::make_move_iterator(sums.notes.end()));
  sums.notes.clear();
  m_.interval_step_s = sums.step.period_s;
  if (!m_.has_duration) {
    m_.duration_s = last_time - sums.start_s.value_or(0);
    m_.has_duration = true;
  }
  if (!m_.events.empty()) return;
  // The whole run is the sum of the interval deltas.
  for (const auto& t : sums.sums) {
    m_.events.push_back(
        total_event(t, fmt::format("sum of {} interval{}", t.parts, t.parts == 1 ? "" : "s")));
  }
  if (!sums.sums.empty()) {
    m_.notes.push_back(fmt::format("events are the sums of {} interval deltas", sums.intervals));
  }
}

Measurement Builder::finish() {
  flush(top_totals_, m_.events);
  assign_groups(m_.events, m_.reported);
  double previous = 0;
  RunSums sums(step_);
  size_t taken = taken_;
  auto intervals = take_intervals(false, previous, sums);
  finish_run(sums, previous);
  if (m_.has_duration) add_power_energy(m_.events, m_.duration_s, m_.energy);
  m_.intervals = std::move(intervals);
  taken_ = taken;
  return std::move(m_);
}

Measurement Builder::finish_streamed(RunSums& sums, double last_time) {
  flush(top_totals_, m_.events);
  assign_groups(m_.events, m_.reported);
  finish_run(sums, last_time);
  if (m_.has_duration) add_power_energy(m_.events, m_.duration_s, m_.energy);
  return std::move(m_);
}

void parse_stats_header(std::string_view line, Measurement& m) {
  line = trim(line);
  size_t open = line.find('\'');
  size_t close = line.rfind('\'');
  std::string_view before = open == std::string_view::npos ? line : line.substr(0, open);
  std::string_view target = (open != std::string_view::npos && close > open)
                                ? line.substr(open + 1, close - open - 1)
                                : "";
  std::string_view after = close == std::string_view::npos ? "" : line.substr(close + 1);
  m.command.clear();
  if (target == "system wide" || target.starts_with("CPU(s)")) {
    m.target = MeasurementTarget::system_wide;
    if (target != "system wide") m.command.emplace_back(target);
  } else if (before.find("process id") != std::string_view::npos ||
             before.find("thread id") != std::string_view::npos) {
    m.target = MeasurementTarget::pid;
    m.command.emplace_back(target);
  } else {
    m.target = MeasurementTarget::command;
    size_t i = 0;
    while (i < target.size()) {
      while (i < target.size() && target[i] == ' ') ++i;
      size_t start = i;
      while (i < target.size() && target[i] != ' ') ++i;
      if (i > start) m.command.emplace_back(target.substr(start, i - start));
    }
  }
  if (size_t runs = after.find('('); runs != std::string_view::npos) {
    std::string_view rest = after.substr(runs + 1);
    size_t digits = 0;
    while (digits < rest.size() && is_digit(rest[digits])) ++digits;
    if (digits > 0 && trim_left(rest.substr(digits)).starts_with("runs)")) {
      m.runs = parse_small_int(rest.substr(0, digits));
    }
  }
}

TimeLine parse_time_line(std::string_view line, char decimal, Measurement& m) {
  line = trim(line);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return TimeLine::not_one;
  auto value = parse_number(line.substr(0, sp), decimal);
  std::string_view rest = trim_left(line.substr(sp));
  std::optional<double> sd;
  if (rest.starts_with("+-")) {
    rest = trim_left(rest.substr(2));
    size_t end = rest.find(' ');
    if (end == std::string_view::npos) return TimeLine::not_one;
    sd = parse_number(rest.substr(0, end), decimal);
    rest = trim_left(rest.substr(end));
  }
  if (!value || !rest.starts_with("seconds ")) return TimeLine::not_one;
  rest = trim_left(rest.substr(8));
  bool is_time =
      rest.starts_with("time elapsed") || rest.starts_with("user") || rest.starts_with("sys");
  if (!is_time) return TimeLine::not_one;
  if (*value < 0) return TimeLine::negative;
  if (rest.starts_with("time elapsed")) {
    m.duration_s = *value;
    m.has_duration = true;
    if (sd) {
      if (*sd < 0) return TimeLine::negative;
      m.duration_sem_s = *sd;
    }
  } else if (rest.starts_with("user")) {
    m.user_s = *value;
    m.has_user = true;
  } else if (rest.starts_with("sys")) {
    m.sys_s = *value;
    m.has_sys = true;
  }
  return TimeLine::read;
}

}  // namespace pmc::perfstat

namespace pmc {

namespace {
size_t first_content_line(std::string_view text, std::string_view& line) {
  perfstat::LineReader lines(text);
  while (lines.next(line)) {
    std::string_view t = perfstat::trim(line);
    if (!t.empty()) return lines.line_no();
  }
  return 0;
}

// The first line that is not blank and not the shell command that ran perf.
size_t first_output_line(std::string_view text, std::string_view& line) {
  perfstat::LineReader lines(text);
  while (lines.next(line)) {
    std::string_view t = perfstat::trim(line);
    // perf -v's CPUID line, captured with 2>&1 above a -x or -j recording, tells no format, nor
    // does the "# started on …" line that -o FILE writes first in every format, nor -D's
    // "Events disabled" on stderr above the rows.
    if (!t.empty() && t.front() != '#' && !perfstat::is_shell_command(t) &&
        !t.starts_with("Using CPUID ") && !perfstat::is_events_toggle(t))
      return lines.line_no();
  }
  return 0;
}
}  // namespace

namespace perfstat {

bool is_shell_command(std::string_view t) {
  if (t.empty() || std::isdigit(uint8_t(t.front())) || t.front() == '<' || t.front() == '{') {
    return false;
  }
  // A word naming perf ("perf", "./perf", "/usr/bin/perf", "./perf-after", "$sudo ./perf")
  // followed, at once or after options, by "stat".
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < t.size() && words.size() < 64) {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
    size_t start = i;
    while (i < t.size() && t[i] != ' ' && t[i] != '\t') ++i;
    if (i > start) words.push_back(t.substr(start, i - start));
  }
  for (size_t w = 0; w + 1 < words.size(); ++w) {
    std::string_view base = words[w];
    if (size_t slash = base.rfind('/'); slash != std::string_view::npos) {
      base = base.substr(slash + 1);
    } else if (size_t dollar = base.rfind('$'); dollar != std::string_view::npos) {
      base = base.substr(dollar + 1);
    }
    if (!base.starts_with("perf")) continue;
    for (size_t k = w + 1; k < words.size() && k < w + 4; ++k) {
      if (words[k] == "stat") return true;
      if (!words[k].starts_with('-')) break;
    }
  }
  return false;
}

std::optional<std::string> strip_quote_marks(std::string_view text, std::string& how) {
  // Mail readers quote with "> " (">> " and "> > " when nested); some authors quote output in a
  // commit message with "| ". Only when every line that is not empty carries the mark.
  std::optional<std::string> stripped;
  std::string_view current = text;
  for (int depth = 0; depth < 8; ++depth) {
    char mark = 0;
    bool all = true, any = false;
    LineReader lines(current);
    std::string_view line;
    while (lines.next(line)) {
      if (line.empty()) continue;
      char c = line.front();
      if (mark == 0 && (c == '>' || c == '|')) mark = c;
      if (c != mark || mark == 0) {
        all = false;
        break;
      }
      any = true;
    }
    if (!all || !any) break;
    std::string out;
    out.reserve(current.size());
    LineReader again(current);
    bool first = true;
    while (again.next(line)) {
      if (!first) out += '\n';
      first = false;
      if (!line.empty()) {
        line.remove_prefix(1);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      }
      out += line;
    }
    if (current.ends_with('\n')) out += '\n';
    if (!how.empty()) how += ' ';
    how += fmt::format("'{} '", mark);
    stripped = std::move(out);
    current = *stripped;
  }
  return stripped;
}

}  // namespace perfstat

PerfStatFormat detect_format(std::string_view text) {
  // A UTF-8 byte order mark an editor on another system may have added is not part of the first
  // line (line numbers stay as they were); every entry point below skips it.
  text = without_bom(text);
  std::string_view line;
  if (first_output_line(text, line) == 0) return PerfStatFormat::text;
  if (perfstat::trim(line).front() == '{') return PerfStatFormat::json;
  perfstat::LineReader lines(text);
  for (int seen = 0; seen < 50 && lines.next(line);) {
    // Left to the reader, which refuses it with its line, before splitting it into fields here.
    if (perfstat::is_overlong(line)) continue;
    std::string_view t = perfstat::trim(line);
    if (t.empty() || t.front() == '#' || perfstat::is_shell_command(t) ||
        t.starts_with("Using CPUID ") || perfstat::is_events_toggle(t))
      continue;
    if (t.find("Performance counter stats") != std::string_view::npos) return PerfStatFormat::text;
    ++seen;
    if (perfstat::detect_csv_separator(line) != 0 || perfstat::is_topdown_table_header(line))
      return PerfStatFormat::csv;
  }
  return PerfStatFormat::text;
}

namespace {

bool is_control_byte(unsigned char c) {
  return (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') || c == 0x7f;
}

// The first byte that perf never writes (controls other than \t \n \f \r, and DEL), or npos.
// Sixteen bytes at a time with GCC's vector extension (SSE2 on x86-64, NEON on Arm): a block is
// looked at bytewise only when it holds such a byte, so a 100 MB recording's check costs about
// what memchr over it does.
size_t find_control_byte(std::string_view text) {
  using Bytes = uint8_t __attribute__((vector_size(16)));
  const Bytes space = {0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
                       0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20};
  size_t i = 0;
  for (; i + 16 <= text.size(); i += 16) {
    Bytes x;
    std::memcpy(&x, text.data() + i, 16);
    // A control byte or DEL: below 0x20 and not one of \t \n \f \r, or 0x7f.
    auto bad = (x < space) & (x != '\t') & (x != '\n') & (x != '\f') & (x != '\r');
    bad |= (x == 0x7f);
    uint64_t halves[2];
    std::memcpy(halves, &bad, 16);
    if ((halves[0] | halves[1]) == 0) continue;
    for (size_t j = i; j < i + 16; ++j)
      if (is_control_byte(uint8_t(text[j]))) return j;
  }
  for (; i < text.size(); ++i)
    if (is_control_byte(uint8_t(text[i]))) return i;
  return std::string_view::npos;
}

// The same over `threads` shares of a long text at once (it is 30 ms of a 100 MB import); the
// shares are taken in order, and the first with a control byte ends the search.
size_t find_control_byte(std::string_view text, unsigned threads) {
  EvenShares shares(text.size(), 8u << 20, std::max(threads, 1u));
  if (shares.count <= 1) return find_control_byte(text);
  size_t found = std::string_view::npos;
  ordered_parallel<size_t>(
      shares.count, unsigned(shares.count), shares.count,
      [&](size_t i, size_t& at, unsigned) {
        at = find_control_byte(text.substr(shares.begin(i), shares.end(i) - shares.begin(i)));
      },
      [&](size_t i, size_t& at) {
        if (at == std::string_view::npos) return true;
        found = shares.begin(i) + at;
        return false;
      });
  return found;
}

}  // namespace

namespace {

// What every import checks first; the format to read.
PerfStatFormat check_input(std::string_view text, perfstat::Context& ctx,
                           const ImportOptions& options) {
  std::string_view first;
  if (first_content_line(text, first) == 0) {
    ctx.fail(1, "expected perf stat output, found an empty file");
  }
  if (!options.lenient) {
    // perf writes text; a control byte means a binary or corrupted file.
    if (size_t at = find_control_byte(text, options.threads); at != std::string_view::npos) {
      size_t line = size_t(std::count(text.begin(), text.begin() + std::ptrdiff_t(at), '\n')) + 1;
      ctx.fail(line, fmt::format("expected perf stat text, found binary byte 0x{:02x}",
                                 uint8_t(text[at])));
    }
  }
  return options.format == PerfStatFormat::automatic ? detect_format(text) : options.format;
}

void read_whole(std::string_view text, PerfStatFormat format, perfstat::Context& ctx,
                perfstat::Builder& builder) {
  switch (format) {
    case PerfStatFormat::json:
      perfstat::read_json(text, ctx, builder);
      break;
    case PerfStatFormat::csv:
      perfstat::read_csv(text, ctx, builder);
      break;
    default:
      perfstat::read_text(text, ctx, builder);
      break;
  }
}

bool sums_are_empty(const perfstat::Builder::RunSums& sums) {
  return sums.interval_count() == 0;
}

void check_not_empty(perfstat::Builder& builder, perfstat::Context& ctx,
                     const ImportResult& result) {
  // perf stat -n (a null run, -r N -n to time a command) prints its header and times only; a
  // recording whose rows were all skipped (--lenient) is not one.
  if (builder.empty() && builder.measurement().has_duration && result.skipped.empty()) {
    builder.add_note(
        "no counter rows: perf stat -n (a null run) times the command without counting");
    return;
  }
  if (builder.empty()) {
    if (!result.skipped.empty()) throw ImportError(result.skipped.front());
    ctx.fail(1, "expected perf stat counter rows, found none");
  }
}

// The recording read whole into `result`.
void import_whole(std::string_view text, PerfStatFormat format, perfstat::Context& ctx,
                  perfstat::Builder& builder, ImportResult& result) {
  read_whole(text, format, ctx, builder);
  check_not_empty(builder, ctx, result);
  result.measurement = builder.finish();
  result.parts = ctx.parts();
}

}  // namespace

namespace {
// An import has the times perf printed, and perf prints them last (text only).
void start_measurement(Measurement& m) {
  m.source = "perf-stat";
  m.has_duration = m.has_user = m.has_sys = false;
}
}  // namespace

// A recording quoted in a mail or a commit message is read without its quote marks.
void unquote(std::string_view& text, std::optional<std::string>& storage,
             perfstat::Builder& builder) {
  std::string how;
  storage = perfstat::strip_quote_marks(text, how);
  if (!storage) return;
  text = *storage;
  builder.add_note("the recording was quoted; its quote marks " + how + " were removed");
}

ImportResult import_perf_stat(std::string_view text, std::string_view file_name,
                              const ImportOptions& options) {
  text = without_bom(text);
  ImportResult result;
  perfstat::Context ctx(file_name, options.lenient, result.skipped, options.threads,
                        options.min_part_bytes);
  perfstat::Builder builder;
  start_measurement(builder.measurement());
  std::optional<std::string> unquoted;
  unquote(text, unquoted, builder);
  auto format = check_input(text, ctx, options);
  builder.set_interval_step(perfstat::interval_step_of(text, format));
  import_whole(text, format, ctx, builder, result);
  return result;
}

Measurement perf_stat_streamed_head(std::string_view text) {
  text = without_bom(text);
  Measurement head;
  head.source = "perf-stat";
  // The "# started on" line above the first row, as the -x reader takes it (read_started_on).
  {
    perfstat::LineReader lines(text);
    std::string_view line;
    while (lines.next(line)) {
      std::string_view t = perfstat::trim(line);
      if (t.empty()) continue;
      if (t.front() != '#') break;
      std::string_view body = perfstat::trim(t.substr(1));
      if (body.starts_with("started on")) {
        head.start_time = perfstat::iso_start_time(perfstat::trim(body.substr(10)));
        break;
      }
    }
  }
  // The rows' reader reads each trimmed line that starts with it, in order (read_cpuid_row).
  constexpr std::string_view kCpuid = "Using CPUID ";
  for (size_t at = text.find(kCpuid); at != std::string_view::npos;
       at = text.find(kCpuid, at + kCpuid.size())) {
    size_t start = text.rfind('\n', at);
    start = start == std::string_view::npos ? 0 : start + 1;
    size_t end = text.find('\n', at);
    std::string_view line =
        perfstat::trim(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (line.starts_with(kCpuid)) perfstat::read_cpuid_line(line, head.machine);
  }
  return head;
}

ImportResult import_perf_stat_streamed(std::string_view text, std::string_view file_name,
                                       const ImportOptions& options,
                                       const IntervalBatchSink& sink) {
  text = without_bom(text);
  ImportResult result;
  perfstat::Context ctx(file_name, options.lenient, result.skipped, options.threads,
                        options.min_part_bytes);
  perfstat::Builder builder;
  start_measurement(builder.measurement());
  std::optional<std::string> unquoted;
  unquote(text, unquoted, builder);
  auto format = check_input(text, ctx, options);
  auto step = perfstat::interval_step_of(text, format);
  builder.set_interval_step(step);
  if (format != PerfStatFormat::csv) {
    import_whole(text, format, ctx, builder, result);
    return result;
  }
  // Every batch's intervals are finished with this one step, whichever part's builder held them.
  perfstat::Builder::RunSums sums(step);
  double last_time = 0;
  perfstat::read_csv_streamed(text, ctx, builder, sink, sums, last_time);
  if (sums_are_empty(sums)) check_not_empty(builder, ctx, result);
  result.measurement = builder.finish_streamed(sums, last_time);
  result.parts = ctx.parts();
  return result;
}

}  // namespace pmc
