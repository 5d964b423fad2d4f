#pragma once
// perf's event modifiers (tools/perf/Documentation/perf-list.txt "EVENT MODIFIERS"): the letters
// after "name:" or "pmu/…/" that choose privilege levels, precision and guest/host counting.
#include <linux/perf_event.h>

#include <optional>
#include <string_view>

namespace pmc {

struct EventModifiers {
  bool user = false, kernel = false, hypervisor = false;  // u, k, h
  bool guest = false, host = false;                       // G, H
  int precise = 0;                                        // p, pp, ppp
  bool exclude_idle = false;                              // I
  bool exclusive = false;                                 // e: a group leader's attr.exclusive
  bool weak = false;  // W, groups only: a group the kernel refuses is counted ungrouped
  bool levels() const { return user || kernel || hypervisor; }
  bool guest_host() const { return guest || host; }
  bool empty() const {
    return !levels() && !guest_host() && precise == 0 && !exclude_idle && !exclusive && !weak;
  }
};

// nullopt when `letters` is empty or holds a letter that is not a modifier.
std::optional<EventModifiers> parse_modifiers(std::string_view letters);

// As perf: naming any of u/k/h excludes the levels not named (":u" sets exclude_kernel and
// exclude_hv); G counts only in the guest, H only on the host, GH in both, whatever the
// encoding's own exclude_guest/exclude_host were (libpfm4 sets exclude_guest).
void apply_modifiers(const EventModifiers& mods, perf_event_attr& attr);

// A group's modifiers on a member that has its own, as perf's parser combines them
// (parse-events.c starts a group modifier from the member's exclude bits; tests/parse-events.c
// test__group2: in {faults:k,cache-references}:u faults counts user and kernel, cache-references
// user only). A member that chose privilege levels gains the group's; one that chose none takes
// the group's; G/H likewise; precision adds up ({cycles:p}:p is pp). nullopt past ppp.
std::optional<EventModifiers> combine_group_modifiers(const EventModifiers& member,
                                                      const EventModifiers& group);

// Why perf's `letter` is refused, for the modifiers pmcmodel knows but does not take; nullopt
// for any other letter.
std::optional<std::string_view> refused_modifier_reason(char letter);

}  // namespace pmc
