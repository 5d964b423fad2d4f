#pragma once
// Writing results: atomic files, the human table, interval streams.
#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "events/document/measurement.h"

namespace pmc::cli {

// Every output goes through these (docs/security.md). Failures throw CommandError: exit 2 for a
// path that cannot be an output (a link, a FIFO, a device, a directory, a missing folder), exit 1
// for a write that fails (a full disk, an I/O error, /dev/full as stdout).

// Writes `content` to a temporary file beside `path` (.NAME.pmcmodel-tmp.PID.XXXXXX, removed on
// SIGTERM/SIGHUP/SIGINT) and renames it over `path`, so a reader never sees a partial file and a
// failed write leaves the old file as it was; a rewritten file keeps its mode. "-" writes to
// stdout, every write checked.
void write_file_atomically(const std::string& path, std::string_view content);
// The same for content made in pieces: `produce` is called once with a function that appends a
// piece to the file, so a large document is written as it is formatted instead of held whole.
using FileAppender = std::function<void(std::string_view)>;
void write_file_atomically(const std::string& path,
                           const std::function<void(const FileAppender&)>& produce);
// Several outputs of one command, all or none: every path is checked and every file written to
// its temporary file before any is renamed over its path ("-" goes to stdout after the files
// were written), so a path that cannot be written leaves none of the others behind.
struct OutputFile {
  std::string path;
  std::function<void(const FileAppender&)> produce;
};
void write_files_atomically(std::span<const OutputFile> files);

// Refuses (CommandError, exit 2) a path that is not a regular file or absent, or whose folder is
// missing or not writable; "-" is always accepted. Returns the existing file's stat. Commands
// call it before they start a run, so a bad path does not cost one.
std::optional<struct stat> check_output_path(const std::string& path);

// Refuses (CommandError, exit 2) two outputs of one command that go to the same place: both "-"
// (their contents would be mixed on stdout) or one file under two names (the second would
// replace the first). Empty paths are outputs not asked for. Commands call it before a run.
struct NamedOutput {
  std::string option;  // "--json"
  std::string path;
};
void check_distinct_outputs(std::span<const NamedOutput> outputs);

// Removes temporary files of `path` left by a pmcmodel that no longer runs (SIGKILL).
void remove_stale_temp_files(const std::string& path);
inline constexpr std::string_view kTempMarker = ".pmcmodel-tmp.";
// ".NAME.pmcmodel-tmp.PID.XXXXXX", a mkstemp template.
std::string temp_file_name(const std::string& file_name);

// A stream written as it goes (--interval-out): opened with O_NOFOLLOW and without blocking,
// refused unless a regular file (or "-" for stdout), truncated only then, its mode kept.
class OutputStream {
 public:
  explicit OutputStream(const std::string& path);
  ~OutputStream();
  OutputStream(const OutputStream&) = delete;
  OutputStream& operator=(const OutputStream&) = delete;
  // Throws CommandError (exit 1) when the write fails.
  void write(std::string_view text);
  // fsync and close, checked; stdout is left to finish_standard_output.
  void close();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string name_;
  int fd_ = -1;
  bool owned_ = false;
};

// The -I intervals of measure's document, formatted as they come (append_interval_element) and
// kept in an unlinked temporary file in the output's folder ($TMPDIR for stdout), so that a run
// of any length holds none of them in memory and a killed run leaves nothing behind; replayed
// into the document when the run ends.
class IntervalSpool {
 public:
  // Throws CommandError (exit 1) when no temporary file can be made there.
  explicit IntervalSpool(const std::string& output_path);
  ~IntervalSpool();
  IntervalSpool(const IntervalSpool&) = delete;
  IntervalSpool& operator=(const IntervalSpool&) = delete;
  // Never throws: a write that fails (a full disk) is kept and reported by replay().
  void add(const Interval& iv);
  size_t count() const { return count_; }
  // Hands the elements to `sink` in order, a megabyte at a time; throws CommandError (exit 1)
  // when a write or read of the spool failed.
  void replay(const std::function<void(std::string_view)>& sink);

 private:
  void flush();
  std::string where_;
  int fd_ = -1;
  std::string buffer_;
  size_t count_ = 0;
  std::string failure_;
};

// Flushes and closes stdout at the end of a command; throws CommandError (exit 1) when that fails.
void finish_standard_output();

// The perf-stat-like table: count, unit, event, derived metric, running % when multiplexed,
// then elapsed/user/sys seconds, then what could not be counted and why, then notes.
std::string format_table(const Measurement& m);

// One interval as table rows prefixed by the timestamp (the -I stream on stderr): its counts,
// its energy (each GPU's beside the CPU domains), then each GPU's utilisation and SM clock.
std::string format_interval_rows(const Interval& iv);

// `value` rounded to `decimals` with thousands separators in its whole part, as perf stat's
// "%'.2f" prints it: "1,234,567" (0 decimals), "21,945.59" (2).
std::string group_thousands(double value, int decimals = 0);

}  // namespace pmc::cli
