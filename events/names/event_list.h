#pragma once
// The -e list syntax, before any name is resolved: "a,b:u,{c,d}:k,pmu/t=1,u=2/".
// Commas split at top level only (not inside {} or between the slashes of pmu/…/).
#include <string>
#include <string_view>
#include <vector>

namespace pmc {

struct EventListItem {
  std::vector<std::string> names;  // one for a plain name, the members for a group
  bool group = false;              // written as {…}
  std::string group_modifiers;     // "u" for {a,b}:u
};

// Throws ResolveError with one line for an empty list, empty name or group, or unbalanced braces.
std::vector<EventListItem> parse_event_list(std::string_view list);

}  // namespace pmc
