#pragma once
// Reading the shipped catalog tables (data/skus.csv, data/grid.csv): one record per line, RFC 4180
// quoting within the line, a fixed header, and every refusal as one line "FILE:LINE: what was
// expected", so a bad edit to a data file points at the row to fix.
#include <cstddef>
#include <deque>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pmc {

// Splits one CSV line into fields: quoted fields lose their quotes and a doubled quote inside one
// becomes one quote. Returns nullopt for an unterminated quote.
std::optional<std::vector<std::string>> split_csv_line(std::string_view line);

// The same without copying: `fields` are views into `line`, except a quoted field with a doubled
// quote, whose unescaped text `unescaped` owns (so keep it alive as long as the views). Returns
// false for an unterminated quote. Dataset::load_csv reads a million rows with it.
bool split_csv_fields(std::string_view line, std::vector<std::string_view>& fields,
                      std::deque<std::string>& unescaped);

// One data row with its source position; the accessors throw std::runtime_error
// "ORIGIN:LINE: expected …" naming the column.
class CatalogRow {
 public:
  // `fields` are views into the line being read: a row lives only during the visit.
  CatalogRow(const std::string* origin, size_t line, std::span<const std::string_view> columns,
             std::span<const std::string_view> fields)
      : origin_(origin), line_(line), columns_(columns), fields_(fields) {}

  size_t line() const { return line_; }
  std::string where() const;
  [[noreturn]] void fail(const std::string& what) const;

  std::string_view name(size_t column) const { return columns_[column]; }
  // The field as written (possibly empty).
  std::string_view raw(size_t column) const { return fields_[column]; }
  // A required non-empty text field.
  std::string_view text(size_t column) const;
  // A required finite number / whole number; empty or text is refused.
  double number(size_t column) const;
  int whole_number(size_t column) const;
  // Empty means absent.
  std::optional<double> optional_number(size_t column) const;
  std::optional<int> optional_whole_number(size_t column) const;

 private:
  const std::string* origin_;
  size_t line_;
  std::span<const std::string_view> columns_;
  std::span<const std::string_view> fields_;
};

// Parses `text` whose first non-blank line must be exactly `columns` joined by commas; calls
// `visit(row)` for every following non-blank line after checking its field count.
class CatalogTable {
 public:
  CatalogTable(std::string origin, std::span<const std::string_view> columns)
      : origin_(std::move(origin)), columns_(columns) {}

  template <typename Visit>
  void parse(std::string_view text, Visit&& visit) const {
    size_t pos = 0, line_no = 0;
    bool header_seen = false;
    // Reused from line to line: a row's fields are views, so reading the 1,000-row SKU catalog
    // (on every `measure` start) allocates almost nothing per row.
    std::vector<std::string_view> fields;
    std::deque<std::string> unescaped;
    while (auto line = next_line(text, pos, line_no)) {
      split(*line, line_no, fields, unescaped);
      if (!header_seen) {
        check_header(fields, line_no);
        header_seen = true;
        continue;
      }
      check_width(fields, line_no);
      visit(CatalogRow(&origin_, line_no, columns_, fields));
    }
    if (!header_seen) fail(1, "expected a header line (" + header() + "), found an empty file");
  }

  const std::string& origin() const { return origin_; }
  [[noreturn]] void fail(size_t line, const std::string& what) const;

 private:
  // The next non-blank line (without its line ending), advancing `pos` and `line_no`.
  static std::optional<std::string_view> next_line(std::string_view text, size_t& pos,
                                                   size_t& line_no);
  void split(std::string_view line, size_t line_no, std::vector<std::string_view>& fields,
             std::deque<std::string>& unescaped) const;
  void check_header(const std::vector<std::string_view>& fields, size_t line_no) const;
  void check_width(const std::vector<std::string_view>& fields, size_t line_no) const;
  std::string header() const;

  std::string origin_;
  std::span<const std::string_view> columns_;
};

// The whole file as text; throws std::runtime_error "FILE: cannot open the file" when unreadable.
std::string read_catalog_file(const std::filesystem::path& file);

}  // namespace pmc
