#pragma once
// A table of named numeric columns (plus optional text columns such as a `workload` label), loaded
// from CSV with a header. Every row remembers the line it came from so that later refusals (a
// feature that cannot be computed, a constant column) can point at "FILE:LINE".
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace pmc {

struct CsvOptions {
  // Columns kept as text (group labels); every other column must hold a number in every row.
  std::vector<std::string> string_columns;
  // Columns that must be present (the target, the inputs of the features); a missing one is
  // refused.
  std::vector<std::string> required_columns;
  // Numeric columns whose empty cells mean "no value" and are read as NaN (predict's target: a row
  // without one is still predicted).
  std::vector<std::string> empty_is_missing = {};
};

// The header of a CSV file and a look at its first data row, to decide which columns are text
// before loading (`pmcmodel fit --features auto` on any table). `comments` are the `#` lines
// before the header, without the `#` (calibrate writes the machine identity there).
struct CsvPreview {
  std::vector<std::string> names;
  std::vector<bool> numeric_in_first_row;  // false also when there is no data row
  std::vector<std::string> comments;
};

class Dataset {
 public:
  Dataset() = default;
  explicit Dataset(std::string origin) : origin_(std::move(origin)) {}

  // Throws std::runtime_error "FILE:LINE: what was expected" for an empty file, a ragged row, a
  // cell that is not a finite number (naming the column), a duplicate or missing column.
  static Dataset load_csv(const std::filesystem::path& file, const CsvOptions& options = {});
  static Dataset parse_csv(std::string_view text, const std::string& origin,
                           const CsvOptions& options = {});
  // Throws std::runtime_error "FILE:LINE: …" when the file cannot be read, has no header or a
  // line has an unterminated quote.
  static CsvPreview preview_csv(const std::filesystem::path& file);

  size_t rows() const { return rows_; }
  const std::string& origin() const { return origin_; }
  // "FILE:LINE" of a row as loaded (rows added in memory count from line 2).
  std::string where(size_t row) const;
  // "FILE:LINE" of the header.
  std::string where_header() const;

  const std::vector<std::string>& names() const { return names_; }
  bool has_column(std::string_view name) const;
  // Throws std::runtime_error "FILE:1: expected a column 'name' (columns: …)" when absent.
  const std::vector<double>& column(std::string_view name) const;
  // Adds a numeric column (replacing one of the same name); its size must equal rows() unless the
  // dataset is still empty.
  void add_column(const std::string& name, std::vector<double> values);

  const std::vector<std::string>& label_names() const { return label_names_; }
  bool has_labels(std::string_view name) const;
  const std::vector<std::string>& labels(std::string_view name) const;
  void add_labels(const std::string& name, std::vector<std::string> values);

  // Group index of every row for a text column, in order of first appearance; `group_names`
  // (when given) receives the label of each group.
  std::vector<uint32_t> group_ids(std::string_view label_column,
                                  std::vector<std::string>* group_names = nullptr) const;

  // The rows at `indices`, in that order (they keep their source lines).
  Dataset select_rows(const std::vector<size_t>& indices) const;
  // Rows [begin, end).
  Dataset slice(size_t begin, size_t end) const;
  // Rows ordered by a numeric column (stable), e.g. by timestamp before time-ordered CV.
  Dataset sorted_by(std::string_view column) const;

 private:
  size_t index_of(std::string_view name) const;  // names_.size() when absent
  void check_size(const std::string& name, size_t size);

  std::string origin_ = "<memory>";
  size_t header_line_ = 1;
  size_t rows_ = 0;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> columns_;
  std::vector<std::string> label_names_;
  std::vector<std::vector<std::string>> label_columns_;
  std::vector<size_t> lines_;  // source line of each row
};

// Whether every value equals the first (true for no values): a column that cannot explain
// anything.
bool is_constant(const std::vector<double>& values);

}  // namespace pmc
