#include "models/fit/dataset.h"

#include "events/text/text.h"

#include "events/text/catalog_csv.h"
#include "events/text/input_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace pmc {
namespace {

[[noreturn]] void fail(const std::string& origin, size_t line, const std::string& what) {
  throw std::runtime_error(fmt::format("{}:{}: {}", origin, line, what));
}

bool parse_number(std::string_view cell, double& out) {
  if (!cell.empty() && cell.front() == '+') cell.remove_prefix(1);
  if (cell.empty()) return false;
  auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), out);
  return ec == std::errc() && end == cell.data() + cell.size() && std::isfinite(out);
}

}  // namespace

Dataset Dataset::load_csv(const std::filesystem::path& file, const CsvOptions& options) {
  // Refuses a directory, FIFO or device before reading, and a file over the input limit.
  std::string text = read_input_file(file.string());
  return parse_csv(text, file.string(), options);
}

CsvPreview Dataset::preview_csv(const std::filesystem::path& file) {
  check_input_file(file.string());
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open the file", file.string()));
  CsvPreview out;
  std::vector<std::string_view> fields;
  std::deque<std::string> unescaped;
  std::string line;
  size_t line_no = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1) line.erase(0, line.size() - without_bom(line).size());
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    if (line.front() == '#') {
      if (!have_header) out.comments.emplace_back(trim(std::string_view(line).substr(1)));
      continue;
    }
    unescaped.clear();
    if (!split_csv_fields(line, fields, unescaped))
      fail(file.string(), line_no, "expected a closing quote");
    if (!have_header) {
      have_header = true;
      for (auto f : fields) out.names.emplace_back(f);
      out.numeric_in_first_row.assign(out.names.size(), false);
      continue;
    }
    double v;
    for (size_t i = 0; i < fields.size() && i < out.names.size(); ++i)
      out.numeric_in_first_row[i] = parse_number(fields[i], v);
    break;
  }
  if (!have_header)
    fail(file.string(), std::max<size_t>(line_no, 1),
         "expected a CSV header line, found an empty file");
  return out;
}

Dataset Dataset::parse_csv(std::string_view text, const std::string& origin,
                           const CsvOptions& options) {
  Dataset ds(origin);
  std::vector<std::string_view> fields;
  std::deque<std::string> unescaped;
  std::vector<int> kind;  // per CSV field: index into columns_ (>= 0) or -1 - label index
  std::vector<char> empty_is_missing;  // per CSV field
  if (auto problem = find_oversized_line(text, origin); !problem.empty())
    throw std::runtime_error(problem);
  text = without_bom(text);
  // The header's names, so that a duplicate is found in linear time (100,000 columns took 12 s
  // when each name was looked up in the list of the ones before it).
  std::unordered_set<std::string_view> header_names;
  bool have_header = false;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty() || line.front() == '#') continue;  // blank lines and comments
    unescaped.clear();
    if (!split_csv_fields(line, fields, unescaped))
      fail(origin, line_no, "expected a closing quote");
    if (!have_header) {
      have_header = true;
      ds.header_line_ = line_no;
      for (auto f : fields) {
        std::string name(f);
        if (name.empty()) fail(origin, line_no, "expected a column name in every header field");
        if (!header_names.insert(f).second)
          fail(origin, line_no, "duplicate column '" + name + "'");
        bool is_label = std::find(options.string_columns.begin(), options.string_columns.end(),
                                  name) != options.string_columns.end();
        if (is_label) {
          kind.push_back(-1 - int(ds.label_names_.size()));
          ds.label_names_.push_back(name);
          ds.label_columns_.emplace_back();
        } else {
          kind.push_back(int(ds.names_.size()));
          ds.names_.push_back(name);
          ds.columns_.emplace_back();
        }
        empty_is_missing.push_back(std::find(options.empty_is_missing.begin(),
                                             options.empty_is_missing.end(),
                                             name) != options.empty_is_missing.end());
      }
      for (const auto& req : options.required_columns)
        if (!ds.has_column(req) && !ds.has_labels(req))
          fail(origin, line_no,
               fmt::format("expected a column '{}' (header has: {})", req,
                           join(std::vector<std::string>(fields.begin(), fields.end()))));
      continue;
    }
    if (fields.size() != kind.size())
      fail(
          origin, line_no,
          fmt::format("expected {} fields as in the header, found {}", kind.size(), fields.size()));
    for (size_t i = 0; i < fields.size(); ++i) {
      if (kind[i] < 0) {
        ds.label_columns_[size_t(-1 - kind[i])].emplace_back(fields[i]);
        continue;
      }
      double v;
      if (fields[i].empty() && empty_is_missing[i]) {
        ds.columns_[size_t(kind[i])].push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      if (!parse_number(fields[i], v))
        fail(origin, line_no,
             fmt::format("expected a finite number in column '{}', found '{}'",
                         ds.names_[size_t(kind[i])], fields[i]));
      ds.columns_[size_t(kind[i])].push_back(v);
    }
    ds.lines_.push_back(line_no);
    ++ds.rows_;
  }
  if (!have_header)
    fail(origin, std::max<size_t>(line_no, 1), "expected a CSV header line, found an empty file");
  if (ds.rows_ == 0)
    fail(origin, ds.header_line_, "expected data rows after the header, found none");
  return ds;
}

std::string Dataset::where(size_t row) const {
  size_t line = row < lines_.size() ? lines_[row] : header_line_ + 1 + row;
  return fmt::format("{}:{}", origin_, line);
}

std::string Dataset::where_header() const {
  return fmt::format("{}:{}", origin_, header_line_);
}

size_t Dataset::index_of(std::string_view name) const {
  return size_t(std::find(names_.begin(), names_.end(), name) - names_.begin());
}

bool Dataset::has_column(std::string_view name) const {
  return index_of(name) < names_.size();
}

const std::vector<double>& Dataset::column(std::string_view name) const {
  size_t i = index_of(name);
  if (i == names_.size())
    throw std::runtime_error(fmt::format("{}: expected a column '{}' (columns: {})", where_header(),
                                         name, join(names_)));
  return columns_[i];
}

void Dataset::check_size(const std::string& name, size_t size) {
  bool empty = names_.empty() && label_names_.empty();
  if (!empty && size != rows_)
    throw std::runtime_error(
        fmt::format("{}: column '{}' has {} values, expected {}", origin_, name, size, rows_));
  rows_ = size;
}

void Dataset::add_column(const std::string& name, std::vector<double> values) {
  check_size(name, values.size());
  size_t i = index_of(name);
  if (i < names_.size()) {
    columns_[i] = std::move(values);
    return;
  }
  names_.push_back(name);
  columns_.push_back(std::move(values));
}

bool Dataset::has_labels(std::string_view name) const {
  return std::find(label_names_.begin(), label_names_.end(), name) != label_names_.end();
}

const std::vector<std::string>& Dataset::labels(std::string_view name) const {
  auto it = std::find(label_names_.begin(), label_names_.end(), name);
  if (it == label_names_.end())
    throw std::runtime_error(fmt::format("{}: expected a text column '{}' (text columns: {})",
                                         where_header(), name, join(label_names_)));
  return label_columns_[size_t(it - label_names_.begin())];
}

void Dataset::add_labels(const std::string& name, std::vector<std::string> values) {
  check_size(name, values.size());
  auto it = std::find(label_names_.begin(), label_names_.end(), name);
  if (it != label_names_.end()) {
    label_columns_[size_t(it - label_names_.begin())] = std::move(values);
    return;
  }
  label_names_.push_back(name);
  label_columns_.push_back(std::move(values));
}

std::vector<uint32_t> Dataset::group_ids(std::string_view label_column,
                                         std::vector<std::string>* group_names) const {
  const auto& values = labels(label_column);
  std::unordered_map<std::string_view, uint32_t> index;
  std::vector<uint32_t> ids(values.size());
  std::vector<std::string> names;
  for (size_t r = 0; r < values.size(); ++r) {
    auto [it, inserted] = index.emplace(values[r], uint32_t(names.size()));
    if (inserted) names.push_back(values[r]);
    ids[r] = it->second;
  }
  if (group_names) *group_names = std::move(names);
  return ids;
}

Dataset Dataset::select_rows(const std::vector<size_t>& indices) const {
  Dataset out(origin_);
  out.header_line_ = header_line_;
  out.rows_ = indices.size();
  out.names_ = names_;
  out.label_names_ = label_names_;
  for (size_t r : indices)
    if (r >= rows_) throw std::out_of_range(fmt::format("{}: row {} of {}", origin_, r, rows_));
  for (const auto& col : columns_) {
    std::vector<double> c(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) c[i] = col[indices[i]];
    out.columns_.push_back(std::move(c));
  }
  for (const auto& col : label_columns_) {
    std::vector<std::string> c(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) c[i] = col[indices[i]];
    out.label_columns_.push_back(std::move(c));
  }
  out.lines_.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i)
    out.lines_[i] = indices[i] < lines_.size() ? lines_[indices[i]] : header_line_ + 1 + indices[i];
  return out;
}

Dataset Dataset::slice(size_t begin, size_t end) const {
  end = std::min(end, rows_);
  std::vector<size_t> idx(begin < end ? end - begin : 0);
  std::iota(idx.begin(), idx.end(), begin);
  return select_rows(idx);
}

Dataset Dataset::sorted_by(std::string_view name) const {
  const auto& key = column(name);
  std::vector<size_t> idx(rows_);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return key[a] < key[b]; });
  return select_rows(idx);
}

bool is_constant(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [&](double x) { return x == values.front(); });
}

}  // namespace pmc
