#pragma once
// Small text helpers that readers of sysfs, procfs, CSV and perf output share.
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace pmc {

// `s` without leading spaces and tabs and without trailing spaces, tabs and '\r' (a CRLF line).
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// `s` without leading and trailing white space of any kind (std::isspace: also '\n', '\r', '\v',
// '\f'): sysfs and procfs values, event names as typed.
inline std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// `s` without leading and trailing characters of `chars`: for a syntax whose white space is a set
// of its own (" " alone in feature specs; " \t\n\r" in event lists).
inline std::string_view trim_any(std::string_view s, std::string_view chars) {
  size_t begin = s.find_first_not_of(chars);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(chars) + 1 - begin);
}

// `s` without a leading UTF-8 byte order mark (EF BB BF), which spreadsheet exports put before a
// CSV header and which would otherwise make its first name differ invisibly.
inline std::string_view without_bom(std::string_view s) {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  return s;
}

// The items with `sep` between them ("a, b, c"): the one join of lists in messages and notes.
inline std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace pmc
