#include "events/document/measurement.h"

namespace pmc {

// Each enum's text is the one the documents carry (docs/formats.md); the parsers accept exactly
// that text and nothing else.

const char* to_string(EventStatus status) {
  switch (status) {
    case EventStatus::counted:
      return "counted";
    case EventStatus::not_supported:
      return "not_supported";
    case EventStatus::permission_denied:
      return "permission_denied";
    case EventStatus::not_counted:
      return "not_counted";
  }
  return "not_counted";
}

std::optional<EventStatus> parse_event_status(std::string_view text) {
  for (auto s : {EventStatus::counted, EventStatus::not_supported, EventStatus::permission_denied,
                 EventStatus::not_counted})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

const char* to_string(EnergyScope scope) {
  switch (scope) {
    case EnergyScope::machine:
      return "machine";
    case EnergyScope::command:
      return "command";
  }
  return "machine";
}

std::optional<EnergyScope> parse_energy_scope(std::string_view text) {
  for (auto s : {EnergyScope::machine, EnergyScope::command})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

const char* to_string(MeasurementTarget target) {
  switch (target) {
    case MeasurementTarget::command:
      return "command";
    case MeasurementTarget::pid:
      return "pid";
    case MeasurementTarget::system_wide:
      return "system-wide";
    case MeasurementTarget::cgroup:
      return "cgroup";
  }
  return "command";
}

std::optional<MeasurementTarget> parse_measurement_target(std::string_view text) {
  for (auto t : {MeasurementTarget::command, MeasurementTarget::pid, MeasurementTarget::system_wide,
                 MeasurementTarget::cgroup})
    if (text == to_string(t)) return t;
  return std::nullopt;
}

MethodKind classify_method(std::string_view method) {
  std::string_view word = method.substr(0, method.find(':'));
  if (word == "measured") return MethodKind::measured;
  if (word == "estimated") return MethodKind::estimated;
  if (word == "model") return MethodKind::model;
  if (word == "projected") return MethodKind::projected;
  return MethodKind::other;
}

}  // namespace pmc
