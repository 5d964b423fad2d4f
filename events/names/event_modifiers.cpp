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
  if (mods.guest && !mods.host) attr.exclude_host = 1;
  if (mods.host && !mods.guest) attr.exclude_guest = 1;
  if (mods.precise > 0) attr.precise_ip = static_cast<unsigned>(mods.precise);
}

}  // namespace pmc
