#pragma once
// Energy from outside the CPU: a wall meter's, PDU's or BMC's log file (--power-from FILE), or the
// BMC polled through `ipmitool dcmi power reading` (--power-from ipmi). Domain "wall".
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/power/energy_math.h"
#include "engine/power/power_source.h"

namespace pmc {

// A meter log: CSV with a header `timestamp,watts` (instantaneous power) or `timestamp,joules`
// (a cumulative energy counter). A timestamp is unix seconds ("1714564800.25") or ISO 8601
// ("2024-05-01T12:00:00.250Z", "+02:00" offsets; no zone is taken as UTC and noted). Blank
// lines and lines starting with '#' are skipped.
// Decisions: rows out of time order are sorted (noted); a repeated timestamp with the same value
// is dropped (noted), with a different value it is an error; cumulative joules that decrease are
// an error (a meter reset: split the file); an unterminated last line that does not parse is
// taken as a row still being written and skipped (noted).
struct MeterLog {
  MeterKind kind = MeterKind::watts;
  std::vector<MeterSample> samples;  // sorted by time, distinct times
  std::vector<std::string> notes;
};

// `name` is the file name used in errors. Throws std::runtime_error, one line:
// "NAME:LINE: expected 'timestamp,watts' with numbers, the watts >= 0".
MeterLog parse_meter_csv(std::string_view text, const std::string& name);
// Reads and parses `path`; throws std::runtime_error when it cannot be read or parsed.
MeterLog read_meter_file(const std::string& path);

// Unix seconds from "1714564800.25" or ISO 8601; nullopt when neither. `had_zone` (optional) is
// set to false for an ISO time without Z or an offset.
std::optional<double> parse_timestamp(std::string_view text, bool* had_zone = nullptr);

// Seconds since the epoch on the clock the log's timestamps use (CLOCK_REALTIME by default).
using UnixClock = std::function<double()>;

// A source that integrates the log over [start(), read time], re-reading the file when it grows
// (a meter that logs while the run goes on). Throws std::runtime_error when the file cannot be read
// or parsed; a log with fewer than two rows is accepted here, since a live log may just have begun.
// read_since_start() throws std::runtime_error when the log does not overlap the run.
std::unique_ptr<PowerSource> open_meter_file_source(const std::string& path, UnixClock clock = {});

// What `ipmitool dcmi power reading` printed: the "Instantaneous power reading: N Watts" line.
struct IpmiReading {
  std::optional<double> watts;
  std::string error;  // why there is no reading
};
IpmiReading parse_ipmi_power_reading(std::string_view output);

struct IpmiOptions {
  std::vector<std::string> argv = {"ipmitool", "dcmi", "power", "reading"};
  // BMCs refresh the DCMI reading about once a second and one ipmitool call takes tens to hundreds
  // of milliseconds, so polling faster than the session's 100 ms samples would only queue calls.
  double poll_interval_s = 1.0;
  double timeout_s = 5.0;  // per call
};

// Runs the command once to check it works, then polls it on a thread of its own (all signals
// blocked, so the session's signal handling is unchanged). No source when ipmitool is missing or
// fails: reason_if_none says why.
PowerChoice open_ipmi_source(const IpmiOptions& options = {});

}  // namespace pmc
