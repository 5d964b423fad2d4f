#include "events/document/json_position.h"

#include <algorithm>

#include <charconv>
#include <string>
#include <variant>
#include <vector>

namespace pmc {
namespace {

using Step = std::variant<std::string_view, size_t>;  // an object's key or an array's index

// "events[3].value" as {"events", 3, "value"}; empty when the path is not of that form.
std::vector<Step> steps_of(std::string_view path) {
  constexpr std::string_view kDocument = "the document";
  if (path.starts_with(kDocument)) {
    path.remove_prefix(kDocument.size());
    if (path.starts_with('.')) path.remove_prefix(1);
  }
  std::vector<Step> steps;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      size_t index = 0;
      if (close == std::string_view::npos) return {};
      auto [p, err] = std::from_chars(path.data() + i + 1, path.data() + close, index);
      if (err != std::errc() || p != path.data() + close) return {};
      steps.emplace_back(index);
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string_view::npos) end = path.size();
    steps.emplace_back(path.substr(i, end - i));
    i = end;
  }
  return steps;
}

// A cursor over JSON text a parser has accepted: no error checks.
struct Cursor {
  std::string_view text;
  size_t at = 0;

  bool more() const { return at < text.size(); }
  void skip_space() {
    while (more() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
      ++at;
  }
  // At an opening quote: the raw characters up to the closing one, which is passed.
  std::string_view string() {
    size_t start = ++at;
    while (more() && text[at] != '"') at += text[at] == '\\' ? 2 : 1;
    std::string_view s = text.substr(start, std::min(at, text.size()) - start);
    ++at;
    return s;
  }
  void skip_value() {
    skip_space();
    if (!more()) return;
    if (text[at] == '"') {
      string();
      return;
    }
    if (text[at] == '{' || text[at] == '[') {
      int depth = 0;
      do {
        char c = text[at];
        if (c == '"') {
          string();
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        ++at;
      } while (depth > 0 && more());
      return;
    }
    while (more() && text[at] != ',' && text[at] != '}' && text[at] != ']' && text[at] != ' ' &&
           text[at] != '\n' && text[at] != '\r' && text[at] != '\t')
      ++at;
  }
  // Past the ',' between members or elements; false at the closing bracket.
  bool next() {
    skip_space();
    if (more() && text[at] == ',') {
      ++at;
      return true;
    }
    return false;
  }
  // In the object at the cursor, to the value of `key`.
  bool enter_key(std::string_view key) {
    skip_space();
    if (!more() || text[at] != '{') return false;
    ++at;
    skip_space();
    if (more() && text[at] == '}') return false;
    do {
      skip_space();
      if (!more() || text[at] != '"') return false;
      std::string_view name = string();
      skip_space();
      ++at;  // ':'
      skip_space();
      if (name == key) return true;
      skip_value();
    } while (next());
    return false;
  }
  // In the array at the cursor, to element `index`.
  bool enter_index(size_t index) {
    skip_space();
    if (!more() || text[at] != '[') return false;
    ++at;
    skip_space();
    if (more() && text[at] == ']') return false;
    size_t i = 0;
    do {
      skip_space();
      if (i++ == index) return true;
      skip_value();
    } while (next());
    return false;
  }
};

}  // namespace

size_t json_value_offset(std::string_view text, std::string_view path) {
  Cursor c{text};
  c.skip_space();
  size_t found = c.at < text.size() ? c.at : 0;
  for (const Step& step : steps_of(path)) {
    bool entered = std::holds_alternative<size_t>(step)
                       ? c.enter_index(std::get<size_t>(step))
                       : c.enter_key(std::get<std::string_view>(step));
    if (!entered) break;
    found = c.at;
  }
  return found;
}

size_t line_of_offset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return size_t(std::count(text.begin(), text.begin() + std::ptrdiff_t(offset), '\n')) + 1;
}

}  // namespace pmc
