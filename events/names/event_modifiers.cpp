#include "events/names/event_modifiers.h"

namespace pmc {

std::optional<EventModifiers> parse_modifiers(std::string_view letters) {
  if (letters.empty()) return std::nullopt;
  EventModifiers mods;
  for (char c : letters) {
    switch (c) {
      case 'u':
        mods.user = true;
        break;
      case 'k':
        mods.kernel = true;
        break;
      case 'h':
        mods.hypervisor = true;
        break;
      case 'G':
        mods.guest = true;
        break;
      case 'H':
        mods.host = true;
        break;
      case 'p':
        if (++mods.precise > 3) return std::nullopt;  // precise_ip is 0..3
        break;
      case 'I':
        mods.exclude_idle = true;
        break;
      case 'e':
        mods.exclusive = true;
        break;
      case 'W':
        mods.weak = true;
        break;
      default:
        return std::nullopt;
    }
  }
  return mods;
}

void apply_modifiers(const EventModifiers& mods, perf_event_attr& attr) {
  if (mods.user || mods.kernel || mods.hypervisor) {
    attr.exclude_user = !mods.user;
    attr.exclude_kernel = !mods.kernel;
    attr.exclude_hv = !mods.hypervisor;
  }
  // Both bits are set, as perf's modifier parser sets them (parse-events.c: G clears
  // exclude_guest, H clears exclude_host, GH counts both): libpfm4 encodes with exclude_guest on
  // by default, and a G that only added exclude_host would leave both on, which counts nothing.
  if (mods.guest || mods.host) {
    attr.exclude_host = !mods.host;
    attr.exclude_guest = !mods.guest;
  }
  if (mods.precise > 0) attr.precise_ip = static_cast<unsigned>(mods.precise);
  if (mods.exclude_idle) attr.exclude_idle = 1;
  if (mods.exclusive) attr.exclusive = 1;
}

std::optional<EventModifiers> combine_group_modifiers(const EventModifiers& member,
                                                      const EventModifiers& group) {
  EventModifiers out = member;
  if (group.levels()) {
    out.user |= group.user;
    out.kernel |= group.kernel;
    out.hypervisor |= group.hypervisor;
  }
  if (group.guest_host()) {
    out.guest |= group.guest;
    out.host |= group.host;
  }
  out.precise += group.precise;
  if (out.precise > 3) return std::nullopt;
  out.exclude_idle |= group.exclude_idle;
  out.exclusive |= group.exclusive;
  out.weak |= group.weak;
  return out;
}

std::optional<std::string_view> refused_modifier_reason(char letter) {
  switch (letter) {
    case 'D':
      return "D (pinned) is not supported: a pinned event that loses its counter stops counting "
             "and reads as end of file, which pmcmodel does not report";
    case 'S':
      return "S (sample read) is for perf record's sampling; pmcmodel only counts";
    case 'P':
      return "P (maximum precision) is for sampling; pmcmodel only counts";
    default:
      return std::nullopt;
  }
}

}  // namespace pmc
