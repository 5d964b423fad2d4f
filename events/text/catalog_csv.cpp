#include "events/text/catalog_csv.h"

#include "events/text/input_file.h"
#include "events/text/text.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pmc {
namespace {

template <typename T>
bool parse_whole(std::string_view text, T& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_double(std::string_view text, double& out) {
  return parse_whole(text, out) && std::isfinite(out);
}

}  // namespace

bool split_csv_fields(std::string_view line, std::vector<std::string_view>& fields,
                      std::deque<std::string>& unescaped) {
  fields.clear();
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      std::string text;
      size_t j = i + 1;
      bool closed = false;
      for (; j < line.size(); ++j) {
        if (line[j] != '"') {
          text += line[j];
        } else if (j + 1 < line.size() && line[j + 1] == '"') {
          text += '"';
          ++j;
        } else {
          closed = true;
          break;
        }
      }
      if (!closed) return false;
      unescaped.push_back(std::move(text));
      fields.emplace_back(unescaped.back());
      size_t comma = line.find(',', j + 1);
      if (comma == std::string_view::npos) return true;
      i = comma + 1;
      continue;
    }
    size_t comma = line.find(',', i);
    if (comma == std::string_view::npos) {
      fields.push_back(trim(line.substr(i)));
      return true;
    }
    fields.push_back(trim(line.substr(i, comma - i)));
    i = comma + 1;
  }
}

std::optional<std::vector<std::string>> split_csv_line(std::string_view line) {
  std::vector<std::string_view> views;
  std::deque<std::string> unescaped;
  if (!split_csv_fields(line, views, unescaped)) return std::nullopt;
  return std::vector<std::string>(views.begin(), views.end());
}

std::string CatalogRow::where() const {
  return fmt::format("{}:{}", *origin_, line_);
}

void CatalogRow::fail(const std::string& what) const {
  throw std::runtime_error(fmt::format("{}: {}", where(), what));
}

std::string_view CatalogRow::text(size_t column) const {
  if (fields_[column].empty())
    fail(fmt::format("expected a value in {}, found an empty field", name(column)));
  return fields_[column];
}

double CatalogRow::number(size_t column) const {
  double value = 0;
  if (!parse_double(text(column), value))
    fail(fmt::format("expected a number in {}, found '{}'", name(column), fields_[column]));
  return value;
}

int CatalogRow::whole_number(size_t column) const {
  int value = 0;
  if (!parse_whole(text(column), value))
    fail(fmt::format("expected a whole number in {}, found '{}'", name(column), fields_[column]));
  return value;
}

std::optional<double> CatalogRow::optional_number(size_t column) const {
  if (fields_[column].empty()) return std::nullopt;
  return number(column);
}

std::optional<int> CatalogRow::optional_whole_number(size_t column) const {
  if (fields_[column].empty()) return std::nullopt;
  return whole_number(column);
}

void CatalogTable::fail(size_t line, const std::string& what) const {
  throw std::runtime_error(fmt::format("{}:{}: {}", origin_, line, what));
}

std::optional<std::string_view> CatalogTable::next_line(std::string_view text, size_t& pos,
                                                        size_t& line_no) {
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!trim(line).empty()) return line;
  }
  return std::nullopt;
}

void CatalogTable::split(std::string_view line, size_t line_no,
                         std::vector<std::string_view>& fields,
                         std::deque<std::string>& unescaped) const {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  unescaped.clear();
  if (!split_csv_fields(line, fields, unescaped))
    fail(line_no, "expected a closing quote (\") before the end of the line");
}

std::string CatalogTable::header() const {
  std::string out;
  for (auto c : columns_) out += (out.empty() ? "" : ",") + std::string(c);
  return out;
}

void CatalogTable::check_header(const std::vector<std::string_view>& fields, size_t line_no) const {
  std::string_view first = fields.empty() ? std::string_view() : without_bom(fields[0]);
  for (size_t i = 0; i < columns_.size() || i < fields.size(); ++i) {
    std::string_view found = i == 0 ? first : i < fields.size() ? std::string_view(fields[i]) : "";
    if (i >= columns_.size())
      fail(line_no,
           fmt::format("expected the header {}, found an extra column '{}'", header(), found));
    if (i >= fields.size())
      fail(line_no,
           fmt::format("expected the header {}, found no column '{}'", header(), columns_[i]));
    if (found != columns_[i])
      fail(line_no, fmt::format("expected column {} of the header to be '{}', found '{}'", i + 1,
                                columns_[i], found));
  }
}

void CatalogTable::check_width(const std::vector<std::string_view>& fields, size_t line_no) const {
  if (fields.size() != columns_.size())
    fail(line_no, fmt::format("expected {} fields as in the header, found {}", columns_.size(),
                              fields.size()));
}

std::string read_catalog_file(const std::filesystem::path& file) {
  // Refuses a directory, FIFO or device before reading, and a file over the input limit.
  std::string text = read_input_file(file.string());
  if (auto problem = find_oversized_line(text, file.string()); !problem.empty())
    throw std::runtime_error(problem);
  return text;
}

}  // namespace pmc
