#include "events/document/energy_basis.h"

#include <fmt/format.h>

#include <algorithm>

namespace pmc {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "dram" or "dram-N" (one per package when there are several).
bool is_dram(std::string_view domain) {
  return domain == "dram" || (domain.starts_with("dram-") && all_digits(domain.substr(5)));
}

}  // namespace

DomainKind classify_domain(std::string_view domain) {
  if (domain == "wall") return DomainKind::wall;
  if (domain == "psys") return DomainKind::psys;
  if (domain == "package") return DomainKind::package_total;
  if (domain.starts_with("package-")) return DomainKind::package;
  if (is_dram(domain)) return DomainKind::dram;
  if (is_gpu_card_domain(domain)) return DomainKind::gpu_card;
  return DomainKind::other;
}

bool is_gpu_card_domain(std::string_view domain) {
  return domain.starts_with("gpu") && all_digits(domain.substr(3));
}

bool stands_for_machine(std::string_view domain) {
  switch (classify_domain(domain)) {
    case DomainKind::wall:
    case DomainKind::psys:
    case DomainKind::package_total:
    case DomainKind::package:
      return true;
    default:
      return false;
  }
}

std::string EnergyBasis::method() const {
  std::vector<std::string_view> seen;
  std::string out;
  for (const auto& p : parts) {
    if (std::find(seen.begin(), seen.end(), p.method) != seen.end()) continue;
    seen.push_back(p.method);
    out += (out.empty() ? "" : "+") + p.method;
  }
  return out;
}

std::string EnergyBasis::describe() const {
  std::string out;
  for (const auto& p : parts)
    out += fmt::format("{}{} ({}, ±{:.1f}%)", out.empty() ? "" : " + ", p.domain, p.method,
                       p.uncertainty * 100);
  return std::string(to_string(scope)) + " energy of domain" + (parts.size() > 1 ? "s " : " ") +
         out;
}

std::optional<EnergyBasis> energy_basis(const std::vector<EnergyReading>& energy) {
  EnergyBasis b;
  bool shared = std::any_of(energy.begin(), energy.end(),
                            [](const EnergyReading& e) { return e.scope == EnergyScope::command; });
  b.scope = shared ? EnergyScope::command : EnergyScope::machine;
  // A domain that could stand for the machine and read exactly 0 J is present, not counting
  // (docs/energy.md): measure leaves it out of energy[], and the rule passes over it in a
  // document that still holds it (perf stat's recording on a VM whose energy-psys reads 0) while
  // another such domain counts, so that the run's energy is not 0 J.
  bool some_count = std::any_of(energy.begin(), energy.end(), [&](const EnergyReading& e) {
    return e.scope == b.scope && stands_for_machine(e.domain) && e.joules > 0;
  });
  auto of_kind = [&](DomainKind kind) {
    std::vector<const EnergyReading*> out;
    for (const auto& e : energy)
      if (e.scope == b.scope && classify_domain(e.domain) == kind &&
          !(some_count && e.joules == 0 && stands_for_machine(e.domain)))
        out.push_back(&e);
    return out;
  };
  std::vector<const EnergyReading*> parts;
  auto wall = of_kind(DomainKind::wall);
  if (!wall.empty() && classify_method(wall.front()->method) == MethodKind::measured) {
    parts = {wall.front()};
  } else if (!wall.empty()) {
    // A SKU's curve read at the wall is a server without cards: the GPU cards come on top.
    parts = {wall.front()};
    for (const auto* g : of_kind(DomainKind::gpu_card)) parts.push_back(g);
  } else {
    if (auto psys = of_kind(DomainKind::psys); !psys.empty()) {
      parts = {psys.front()};
    } else {
      auto total = of_kind(DomainKind::package_total);
      parts = total.empty() ? of_kind(DomainKind::package)
                            : std::vector<const EnergyReading*>{total.front()};
      if (!parts.empty())
        for (const auto* d : of_kind(DomainKind::dram)) parts.push_back(d);
    }
    for (const auto* g : of_kind(DomainKind::gpu_card)) parts.push_back(g);
  }
  if (parts.empty()) return std::nullopt;
  double spread = 0;
  for (const auto* p : parts) {
    b.parts.push_back(*p);
    b.joules += p->joules;
    b.average_watts += p->average_watts;
    spread += p->uncertainty * p->joules;
  }
  b.uncertainty = b.joules > 0 ? spread / b.joules : b.parts.front().uncertainty;
  return b;
}

}  // namespace pmc
