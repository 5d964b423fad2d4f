#pragma once
// Reading an input file with bounds: what is not a regular file (a directory, a FIFO, /dev/zero)
// is refused with what it is before a byte is read, and so is a file larger than the input limit
// (--max-input-bytes), so that no input can make pmcmodel grow without end. Text readers also
// refuse a line or a CSV header beyond the limits below (docs/security.md).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pmc {

// An input refused for what it is or how large it is: "PATH: what it is / what was expected".
// Commands exit 2 for it (bad input), like for a malformed line.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// 1 GiB: ten times the largest recording the import benchmark reads (docs/PERFORMANCE.md), and
// little enough that reading it whole stays within a small machine's memory.
inline constexpr uint64_t kDefaultMaxInputBytes = uint64_t(1) << 30;
// A text line (CSV row, meter sample, perf stat line) longer than this is refused: the longest
// real one, a 300-column dataset row, is under 10 KB.
inline constexpr size_t kMaxLineBytes = size_t(1) << 20;
// A CSV line with more fields than this is refused (the widest real table has about 300).
inline constexpr size_t kMaxCsvFields = 10000;

// The limit every reader applies, set once at start from --max-input-bytes.
uint64_t max_input_bytes();
void set_max_input_bytes(uint64_t bytes);

// Throws InputError when `path` is not a regular file (naming what it is: a directory, a FIFO, a
// character device…), cannot be opened ("PATH: cannot open: <errno text>"), or is larger than
// max_input_bytes(). Reads nothing; opening never blocks on a FIFO.
void check_input_file(const std::string& path);

// check_input_file, then the whole file. "-" reads standard input, refused once it passes the
// limit (a pipe has no size to check first).
std::string read_input_file(const std::string& path);

// Whether `path` is a regular file holding exactly `bytes`; false when it differs or cannot be
// read (read_input_file then says why). The file is mapped, not copied: a program that keeps a
// copy of a data file finds it is that file without touching a page of heap.
bool file_holds(const std::string& path, std::string_view bytes);

// "a directory", "a FIFO", "a character device", "a block device", "a socket", "a regular file".
std::string file_kind_name(unsigned mode);

// The first line of `text` longer than kMaxLineBytes or with more than `max_fields` commas
// outside double quotes (0: no field limit), as "ORIGIN:LINE: …"; empty when none. Linear in the
// size of `text`.
std::string find_oversized_line(std::string_view text, std::string_view origin,
                                size_t max_fields = kMaxCsvFields);

}  // namespace pmc
