#include "events/document/aggregate_id.h"

#include <algorithm>

namespace pmc {

namespace {

bool is_decimal_digit(char c) {
  return c >= '0' && c <= '9';
}

// "<letters><digits>" at the start of `s`, e.g. "S0", "D12", "CPU3", "ID0".
bool eat_tagged_number(std::string_view& s, std::string_view tag) {
  if (s.substr(0, tag.size()) != tag) return false;
  size_t i = tag.size();
  size_t digits = 0;
  while (i < s.size() && is_decimal_digit(s[i])) ++i, ++digits;
  if (digits == 0) return false;
  s.remove_prefix(i);
  return true;
}
}  // namespace

bool is_aggregate_id(std::string_view token) {
  std::string_view s = token;
  if (eat_tagged_number(s, "CPU") || eat_tagged_number(s, "N")) return s.empty();
  if (eat_tagged_number(s, "S")) {
    // S0, S0-D0, S0-D0-C1 (per-core), S0-D0-L3-ID0 (per-cache), S0-D0-CLS0 (per-cluster), S0-C0
    // (4.x).
    if (s.empty()) return true;
    if (s.substr(0, 1) != "-") return false;
    s.remove_prefix(1);
    if (eat_tagged_number(s, "C") || eat_tagged_number(s, "CLS")) return s.empty();
    if (!eat_tagged_number(s, "D")) return false;
    if (s.empty()) return true;
    if (s.substr(0, 1) != "-") return false;
    s.remove_prefix(1);
    if (eat_tagged_number(s, "CLS") || eat_tagged_number(s, "C")) return s.empty();
    if (eat_tagged_number(s, "L"))
      return s.substr(0, 1) == "-" && (s.remove_prefix(1), eat_tagged_number(s, "ID")) && s.empty();
    return false;
  }
  // --per-thread prints "comm-pid".
  size_t dash = token.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == token.size()) return false;
  return std::all_of(token.begin() + long(dash) + 1, token.end(), is_decimal_digit);
}

}  // namespace pmc
