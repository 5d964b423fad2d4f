#include "events/names/event_list.h"

#include <fmt/format.h>

#include "events/names/resolver.h"
#include "events/text/text.h"

namespace pmc {
namespace {

// The white space of an event list.
constexpr std::string_view kSpace = " \t\n\r";

bool is_space(char c) {
  return kSpace.find(c) != std::string_view::npos;
}

class ListParser {
 public:
  explicit ListParser(std::string_view list) : list_(list) {}

  std::vector<EventListItem> parse() {
    std::vector<EventListItem> items;
    if (trim_any(list_, kSpace).empty()) throw ResolveError("empty event list");
    while (true) {
      skip_space();
      items.push_back(at('{') ? group() : EventListItem{{name()}, false, {}});
      skip_space();
      if (pos_ == list_.size()) return items;
      if (at('}')) fail("unbalanced '}'");
      if (!at(',')) fail(fmt::format("unexpected '{}'", list_[pos_]));
      ++pos_;
    }
  }

 private:
  bool at(char c) const { return pos_ < list_.size() && list_[pos_] == c; }
  void skip_space() {
    while (pos_ < list_.size() && is_space(list_[pos_])) ++pos_;
  }
  [[noreturn]] void fail(std::string_view what) const {
    throw ResolveError(fmt::format("{} in event list '{}'", what, list_));
  }

  // Up to the next ',' or '}' outside pmu/…/; braces inside a name are errors.
  std::string name() {
    size_t start = pos_;
    bool in_terms = false;
    for (; pos_ < list_.size(); ++pos_) {
      char c = list_[pos_];
      if (c == '/') in_terms = !in_terms;
      if (in_terms) continue;
      if (c == ',' || c == '}') break;
      if (c == '{') fail("unexpected '{' (groups cannot nest)");
    }
    if (in_terms) fail("unterminated 'pmu/…/'");
    std::string text(trim_any(list_.substr(start, pos_ - start), kSpace));
    if (text.empty()) fail("empty event name");
    return text;
  }

  EventListItem group() {
    ++pos_;  // '{'
    EventListItem item;
    item.group = true;
    skip_space();
    if (at('}')) fail("empty group '{}'");
    while (true) {
      item.names.push_back(name());
      if (pos_ == list_.size()) fail("unbalanced '{'");
      if (at('}')) break;
      ++pos_;  // ','
    }
    ++pos_;  // '}'
    if (at(':')) {
      size_t start = ++pos_;
      while (pos_ < list_.size() && list_[pos_] != ',' && !is_space(list_[pos_])) ++pos_;
      item.group_modifiers = std::string(list_.substr(start, pos_ - start));
      if (item.group_modifiers.empty()) fail("empty group modifier after '}:'");
    }
    return item;
  }

  std::string_view list_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<EventListItem> parse_event_list(std::string_view list) {
  return ListParser(list).parse();
}

}  // namespace pmc
