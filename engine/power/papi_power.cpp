#include "engine/power/papi_power.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

#include "engine/counting/papi_library.h"
#include "engine/power/energy_math.h"
#include "events/text/text.h"

namespace pmc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kComponents[] = {"rapl", "powercap", "nvml"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The digits right after `prefix` in `s` ("PACKAGE3" → 3); nullopt when there are none.
std::optional<int> number_after(std::string_view s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return std::nullopt;
  s.remove_prefix(prefix.size());
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  return n;
}

// Joules per count for an energy unit, watts per unit for a power unit; 0 when not one of them.
double energy_scale(std::string_view units) {
  std::string u = upper(trim_space(units));
  if (u == "NJ") return 1e-9;
  if (u == "UJ" || u == "µJ") return 1e-6;
  if (u == "MJ") return 1e-3;  // millijoules: PAPI never reports megajoules
  if (u == "J") return 1;
  return 0;
}
double power_scale(std::string_view units) {
  std::string u = upper(trim_space(units));
  if (u == "MW") return 1e-3;  // milliwatts, NVML's unit
  if (u == "UW" || u == "µW") return 1e-6;
  if (u == "W") return 1;
  return 0;
}

std::optional<PapiEnergyEvent> classify_rapl(std::string_view name, std::string_view units) {
  // linux-rapl.c: "<DOMAIN>_ENERGY:PACKAGE<N>" in nJ; "<DOMAIN>_ENERGY_CNT:…" are raw counts.
  static const std::pair<const char*, const char*> kDomains[] = {{"PACKAGE_ENERGY:", "package"},
                                                                 {"DRAM_ENERGY:", "dram"},
                                                                 {"PP0_ENERGY:", "core"},
                                                                 {"PP1_ENERGY:", "uncore"},
                                                                 {"PSYS_ENERGY:", "psys"}};
  for (const auto& [prefix, kind] : kDomains) {
    std::string_view p(prefix);
    if (name.substr(0, p.size()) != p) continue;
    auto package = number_after(name.substr(p.size()), "PACKAGE");
    if (!package) return std::nullopt;
    PapiEnergyEvent e;
    e.kind_name = kind;
    e.index = *package;
    e.scale = units.empty() ? 1e-9 : energy_scale(units);
    if (e.scale == 0) return std::nullopt;
    return e;
  }
  return std::nullopt;
}

std::optional<PapiEnergyEvent> classify_powercap(std::string_view name, std::string_view units) {
  // linux-powercap.c: "ENERGY_UJ:ZONE<N>" (intel-rapl:N) and "ENERGY_UJ:ZONE<N>_SUBZONE<M>"
  // (intel-rapl:N:M), no unit string; the wrap is MAX_ENERGY_RANGE_UJ of the same zone.
  constexpr std::string_view kEnergy = "ENERGY_UJ:";
  if (name.substr(0, kEnergy.size()) != kEnergy) return std::nullopt;
  std::string_view zone = name.substr(kEnergy.size());
  auto package = number_after(zone, "ZONE");
  if (!package) return std::nullopt;
  PapiEnergyEvent e;
  e.kind_name = zone.find("_SUBZONE") == std::string_view::npos ? "package" : "zone";
  e.index = *package;
  e.scale = units.empty() ? 1e-6 : energy_scale(units);
  if (e.scale == 0) return std::nullopt;
  e.zone = std::string(zone);
  e.range_event = "MAX_ENERGY_RANGE_UJ:" + e.zone;
  return e;
}

std::optional<PapiEnergyEvent> classify_nvml(std::string_view name, std::string_view units) {
  // linux-nvml.c: "<device name>:device_<N>:power" in mW (an instantaneous reading); newer
  // NVML also has a total energy counter, in mJ.
  auto last = name.rfind(':');
  if (last == std::string_view::npos) return std::nullopt;
  std::string_view what = name.substr(last + 1);
  std::string_view rest = name.substr(0, last);
  auto device_at = rest.rfind(":device_");
  if (device_at == std::string_view::npos) return std::nullopt;
  auto device = number_after(rest.substr(device_at + 1), "device_");
  if (!device) return std::nullopt;
  PapiEnergyEvent e;
  e.kind_name = "gpu";
  e.index = *device;
  if (what == "power") {
    e.kind = PapiEnergyEvent::Kind::power;
    e.scale = units.empty() ? 1e-3 : power_scale(units);
  } else if (what.substr(0, 6) == "energy") {
    e.scale = units.empty() ? 1e-3 : energy_scale(units);
  } else {
    return std::nullopt;
  }
  if (e.scale == 0) return std::nullopt;
  return e;
}

// "powercap:::ENERGY_UJ:ZONE0" → "ENERGY_UJ:ZONE0"; names without the prefix are kept.
std::string_view strip_component(std::string_view name) {
  auto at = name.find(":::");
  return at == std::string_view::npos ? name : name.substr(at + 3);
}

// One energy or power reading of the source.
struct Meter {
  std::string event;  // PAPI's full name
  std::string component;
  std::string domain;
  PapiEnergyEvent info;
  size_t set = 0;     // index in sets_
  int position = -1;  // in that set's values
  int range_position = -1;
  uint64_t range = 0;     // counts; 0 when the value does not wrap
  uint64_t last = 0;      // PAPI's since-PAPI_start value at the previous read
  double last_watts = 0;  // power: the previous reading
  double joules = 0;      // since start()
  double at_interval = 0;
};

struct ComponentSet {
  std::string component;
  int id = PAPI_NULL;
  std::vector<long long> values;
  bool ok = false;  // the last PAPI_read succeeded
};

class PapiPowerSource final : public PowerSource {
 public:
  PapiPowerSource(std::shared_ptr<const PapiLibrary> library, std::vector<ComponentSet> sets,
                  std::vector<Meter> meters, std::vector<std::string> notes)
      : library_(std::move(library)),
        api_(library_->api()),
        sets_(std::move(sets)),
        meters_(std::move(meters)),
        notes_(std::move(notes)) {
    std::vector<std::string> components;
    for (const auto& s : sets_) components.push_back(s.component);
    method_ = "measured:papi:" + join(components, "+");
    for (size_t i = 0; i < meters_.size(); ++i)
      if (meters_[i].info.kind_name == "package" && meters_[i].domain.rfind("package-", 0) == 0)
        packages_.push_back(i);
    started_ = last_interval_ = last_read_ = Clock::now();
  }

  ~PapiPowerSource() override {
    for (auto& set : sets_) {
      api_->stop(set.id, set.values.data());
      api_->cleanup_eventset(set.id);
      api_->destroy_eventset(&set.id);
    }
  }

  std::string method() const override { return method_; }

  // The event sets run from their opening; PAPI_start's own baseline is 0, so the first read
  // is left to the session's first sample (PAPI 7.0's powercap read returns the raw counter
  // instead of 0 while it has not moved since PAPI_start: linux-powercap.c _powercap_read).
  void start() override {
    if (read_once_) sample();
    for (auto& m : meters_) m.joules = m.at_interval = 0;
    bad_reads_ = wraps_ = 0;
    started_ = last_interval_ = Clock::now();
  }

  void sample() override {
    auto now = Clock::now();
    double dt = std::chrono::duration<double>(now - last_read_).count();
    last_read_ = now;
    for (auto& set : sets_) {
      set.ok = api_->read(set.id, set.values.data()) == PAPI_OK;
      if (!set.ok) ++bad_reads_;
    }
    for (auto& m : meters_) {
      const auto& set = sets_[m.set];
      if (!set.ok) continue;
      long long value = set.values[size_t(m.position)];
      if (m.info.kind == PapiEnergyEvent::Kind::power) {
        double watts = double(value) * m.info.scale;
        // Trapezoids between reads; the first read has no earlier one to pair with.
        if (read_once_) m.joules += 0.5 * (m.last_watts + watts) * dt;
        m.last_watts = watts;
        continue;
      }
      if (m.range_position >= 0 && m.range == 0)
        m.range = uint64_t(std::max(0LL, set.values[size_t(m.range_position)]));
      uint64_t now_count = uint64_t(std::max(0LL, value));
      auto delta = wrapped_delta(m.last, now_count, m.range);
      if (!delta) {
        ++bad_reads_;
        if (m.range == 0) m.last = now_count;
        continue;
      }
      if (now_count < m.last) ++wraps_;
      m.joules += double(*delta) * m.info.scale;
      m.last = now_count;
    }
    read_once_ = true;
  }

  std::vector<EnergyReading> read_since_start() override {
    sample();
    std::vector<double> joules;
    for (const auto& m : meters_) joules.push_back(m.joules);
    return readings(joules, std::chrono::duration<double>(Clock::now() - started_).count());
  }

  std::vector<EnergyReading> read_interval() override {
    sample();
    auto now = Clock::now();
    std::vector<double> joules;
    for (auto& m : meters_) {
      joules.push_back(m.joules - m.at_interval);
      m.at_interval = m.joules;
    }
    double seconds = std::chrono::duration<double>(now - last_interval_).count();
    last_interval_ = now;
    return readings(joules, seconds);
  }

  std::vector<std::string> notes() const override {
    auto out = notes_;
    if (wraps_ > 0)
      out.push_back(
          "a PAPI energy value (since PAPI_start, modulo the range) went round "
          "MAX_ENERGY_RANGE_UJ " +
          std::to_string(wraps_) + " time(s) during the run; each lap was counted");
    if (bad_reads_ > 0)
      out.push_back(std::to_string(bad_reads_) +
                    " PAPI energy read(s) failed or went backwards and were skipped");
    return out;
  }

 private:
  EnergyReading reading(const std::string& domain, const std::string& component, double joules,
                        double seconds) const {
    EnergyReading r;
    r.domain = domain;
    r.joules = joules;
    r.average_watts = seconds > 0 ? joules / seconds : 0;
    r.method = "measured:papi:" + component;
    return r;
  }

  std::vector<EnergyReading> readings(const std::vector<double>& joules, double seconds) const {
    std::vector<EnergyReading> out;
    for (size_t i = 0; i < meters_.size(); ++i)
      out.push_back(reading(meters_[i].domain, meters_[i].component, joules[i], seconds));
    if (packages_.size() > 1) {
      double sum = 0;
      for (size_t i : packages_) sum += joules[i];
      out.push_back(reading("package", meters_[packages_[0]].component, sum, seconds));
    }
    return out;
  }

  std::shared_ptr<const PapiLibrary> library_;
  const PapiApi* api_;
  std::vector<ComponentSet> sets_;
  std::vector<Meter> meters_;
  std::vector<size_t> packages_;
  std::vector<std::string> notes_;
  std::string method_;
  bool read_once_ = false;
  uint64_t bad_reads_ = 0;
  uint64_t wraps_ = 0;
  Clock::time_point started_, last_interval_, last_read_;
};

struct NativeEvent {
  int code = 0;
  std::string name;  // PAPI's full name, "powercap:::ENERGY_UJ:ZONE0"
  std::string units;
  std::string description;
};

std::vector<NativeEvent> native_events(const PapiApi& api, int component) {
  std::vector<NativeEvent> out;
  int code = PAPI_NATIVE_MASK;
  if (api.enum_cmp_event(&code, PAPI_ENUM_FIRST, component) != PAPI_OK) return out;
  auto info = std::make_unique<PAPI_event_info_t>();  // about 10 KiB: not on the stack
  // The bound guards against a library whose enumeration never ends.
  for (size_t n = 0; n < 100000; ++n) {
    *info = {};
    if (api.get_event_info(code, info.get()) == PAPI_OK)
      out.push_back({code, info->symbol, info->units, info->long_descr});
    if (api.enum_cmp_event(&code, PAPI_ENUM_EVENTS, component) != PAPI_OK) break;
  }
  return out;
}

// PAPI's view of one wanted component, as papi_component_avail shows it.
struct ComponentState {
  std::string name;
  int index = -1;        // -1: not built into this PAPI
  std::string disabled;  // why PAPI disabled it, "" when enabled
  std::string text() const {
    if (index < 0) return name + " absent (not built into this PAPI)";
    return disabled.empty() ? name + " enabled" : name + " disabled: " + disabled;
  }
};

ComponentState component_state(const PapiLibrary& library, const std::string& name) {
  const PapiApi& api = *library.api();
  ComponentState state;
  state.name = name;
  for (int i = 0; i < api.num_components(); ++i) {
    const PAPI_component_info_t* info = api.get_component_info(i);
    if (!info || name != info->name) continue;
    state.index = i;
    if (info->disabled != 0)
      state.disabled =
          info->disabled_reason[0] ? info->disabled_reason : library.error_text(info->disabled);
  }
  return state;
}

// Report names: RAPL's domain names (rapl_domain_name), a powercap zone's own NAME, "gpu-N".
void name_domains(std::vector<Meter>& meters,
                  const std::map<std::string, std::string>& zone_names) {
  int packages = int(std::count_if(meters.begin(), meters.end(),
                                   [](const Meter& m) { return m.info.kind_name == "package"; }));
  for (auto& m : meters) {
    auto zone = zone_names.find(m.info.zone);
    std::string kind = zone != zone_names.end() ? zone->second : m.info.kind_name;
    if (m.info.kind_name == "gpu")
      m.domain = "gpu-" + std::to_string(m.info.index);
    else if (m.info.kind_name == "package" && kind.rfind("package", 0) == 0)
      m.domain = kind == "package" ? rapl_domain_name("package", m.info.index, packages) : kind;
    else if (kind == "zone")
      m.domain = "zone-" + m.info.zone;
    else
      m.domain = rapl_domain_name(kind, m.info.index, packages);
  }
}

std::vector<std::string> nesting_notes(const std::vector<Meter>& meters) {
  std::vector<std::string> parts, beside, notes;
  bool psys = false;
  for (const auto& m : meters) {
    std::string kind = m.domain.substr(0, m.domain.find('-'));
    if (kind == "core" || kind == "uncore") parts.push_back(m.domain);
    if (kind == "dram") beside.push_back(m.domain);
    psys = psys || kind == "psys";
  }
  // Intel SDM vol. 3B, "RAPL Interfaces": PP0 (core) and PP1 (uncore) are parts of the package
  // domain; DRAM is a domain of its own.
  if (!parts.empty())
    notes.push_back(join(parts) + " are parts of their package's energy: never add them to it");
  if (!beside.empty()) notes.push_back(join(beside) + " is DRAM energy, outside the package's");
  if (psys)
    notes.push_back(
        "psys is the platform domain: it covers the package, DRAM and more; never "
        "add the other domains to it");
  return notes;
}

// The meters of one enabled component, in one event set; "" or why none could be used.
std::string open_component(const PapiLibrary& library, const ComponentState& state,
                           std::vector<ComponentSet>& sets, std::vector<Meter>& meters,
                           std::vector<std::string>& notes) {
  const PapiApi& api = *library.api();
  auto events = native_events(api, state.index);
  std::vector<Meter> found;
  std::map<std::string, int> codes;  // short name → code, for range and NAME events
  std::map<std::string, std::string> zone_names;
  for (const auto& e : events) {
    std::string short_name(strip_component(e.name));
    codes[short_name] = e.code;
    if (short_name.rfind("NAME:", 0) == 0) {
      auto name = std::string(trim_space(e.description));
      if (!name.empty()) zone_names[short_name.substr(5)] = name;
    }
    auto info = classify_papi_event(state.name, e.name, e.units);
    if (!info) continue;
    Meter m;
    m.event = e.name;
    m.component = state.name;
    m.info = std::move(*info);
    m.position = e.code;  // the code until the event is added
    found.push_back(std::move(m));
  }
  // A domain with both an energy counter and a power reading (nvml) is read from the counter.
  std::vector<Meter> kept;
  for (auto& m : found) {
    bool counter_too = m.info.kind == PapiEnergyEvent::Kind::power &&
                       std::any_of(found.begin(), found.end(), [&](const Meter& o) {
                         return o.info.kind == PapiEnergyEvent::Kind::energy &&
                                o.info.kind_name == m.info.kind_name &&
                                o.info.index == m.info.index;
                       });
    if (!counter_too) kept.push_back(std::move(m));
  }
  if (kept.empty()) return state.name + " enabled but lists no energy or power event";
  ComponentSet set;
  set.component = state.name;
  if (int r = api.create_eventset(&set.id); r != PAPI_OK)
    return state.name + ": PAPI_create_eventset: " + library.error_text(r);
  int added = 0;
  std::vector<Meter> opened;
  for (auto& m : kept) {
    if (int r = api.add_event(set.id, m.position); r != PAPI_OK) {
      notes.push_back("PAPI " + m.event +
                      " left out: PAPI cannot add it: " + library.error_text(r));
      continue;
    }
    m.position = added++;
    if (auto range = codes.find(m.info.range_event); range != codes.end()) {
      if (api.add_event(set.id, range->second) == PAPI_OK) m.range_position = added++;
    }
    if (!m.info.range_event.empty() && m.range_position < 0)
      notes.push_back("PAPI " + m.event + ": no " + m.info.range_event +
                      ", so a wrap of this counter cannot be counted");
    m.set = sets.size();
    opened.push_back(std::move(m));
  }
  auto destroy = [&] {
    api.cleanup_eventset(set.id);
    api.destroy_eventset(&set.id);
  };
  if (opened.empty()) {
    destroy();
    return state.name + ": no energy event could be added to a PAPI event set";
  }
  if (int r = api.start(set.id); r != PAPI_OK) {
    destroy();
    return state.name + ": PAPI_start: " + library.error_text(r);
  }
  set.values.assign(size_t(added), 0);
  name_domains(opened, zone_names);
  sets.push_back(std::move(set));
  for (auto& m : opened) meters.push_back(std::move(m));
  return "";
}

PowerChoice open_with(const std::shared_ptr<const PapiLibrary>& library) {
  PowerChoice choice;
  const std::string prefix = "papi power source: ";
  if (!library->api()) {
    choice.reason_if_none = prefix + "PAPI is not available: " + library->load_error();
    return choice;
  }
  if (const auto& error = library->initialize(); !error.empty()) {
    choice.reason_if_none = prefix + "PAPI is not available: " + error;
    return choice;
  }
  std::string version = papi_version_text(library->api()->get_opt(PAPI_LIB_VERSION, nullptr));
  std::vector<ComponentSet> sets;
  std::vector<Meter> meters;
  std::vector<std::string> notes, states;
  bool rapl_read = false;
  for (const char* wanted : kComponents) {
    auto state = component_state(*library, wanted);
    if (state.index < 0 || !state.disabled.empty()) {
      states.push_back(state.text());
      if (state.index >= 0) notes.push_back("PAPI " + state.text());
      continue;
    }
    if (state.name == "powercap" && rapl_read) {
      notes.push_back(
          "PAPI powercap component not read: it reads the same RAPL counters as the "
          "rapl component, which is");
      continue;
    }
    if (auto why = open_component(*library, state, sets, meters, notes); !why.empty()) {
      states.push_back(why);
      notes.push_back("PAPI " + why);
      continue;
    }
    rapl_read = rapl_read || state.name == "rapl";
  }
  if (meters.empty()) {
    choice.reason_if_none =
        prefix + "no energy component of PAPI " + version + " can be read: " + join(states, "; ");
    return choice;
  }
  for (auto& n : nesting_notes(meters)) notes.push_back(std::move(n));
  choice.source = std::make_unique<PapiPowerSource>(library, std::move(sets), std::move(meters),
                                                    std::move(notes));
  return choice;
}

}  // namespace

std::optional<PapiEnergyEvent> classify_papi_event(std::string_view component,
                                                   std::string_view name, std::string_view units) {
  name = strip_component(name);
  if (component == "rapl") return classify_rapl(name, units);
  if (component == "powercap") return classify_powercap(name, units);
  if (component == "nvml") return classify_nvml(name, units);
  return std::nullopt;
}

PowerChoice open_papi_power_source() {
  return open_with(default_papi_library());
}

PowerChoice open_papi_power_source(const std::vector<std::string>& library_names) {
  return open_with(papi_library(library_names));
}

}  // namespace pmc
