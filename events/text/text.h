#pragma once
// Small text helpers that readers of sysfs, procfs, CSV and perf output share.
#include <string_view>

namespace pmc {

// `s` without leading spaces and tabs and without trailing spaces, tabs and '\r' (a CRLF line).
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace pmc
