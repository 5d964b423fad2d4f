#include "events/metrics/metric_set.h"

#include "events/document/json_position.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace pmc {
namespace {

using json = nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split_groups(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ';')) {
    part = trim(part);
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// The lines where each `key` appears, in order: nlohmann::json keeps no positions.
std::vector<size_t> key_lines(std::string_view text, std::string_view key) {
  std::vector<size_t> lines;
  size_t line = 1, counted_to = 0;
  for (size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    line += size_t(std::count(text.begin() + std::ptrdiff_t(counted_to),
                              text.begin() + std::ptrdiff_t(at), '\n'));
    counted_to = at;
    lines.push_back(line);
  }
  return lines;
}

std::vector<size_t> metric_name_lines(std::string_view text) {
  return key_lines(text, "\"MetricName\"");
}

std::optional<std::string> string_field(const json& object, const char* key,
                                        const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (!it->is_string())
    throw std::runtime_error(where + ": expected \"" + key + "\" to be a string");
  return it->get<std::string>();
}

// A number field of an event entry, as perf's files write them ("0xc0", "4"): the text for a
// sysfs term, checked to be a number.
std::optional<std::string> number_field(const json& object, const char* key,
                                        const std::string& where) {
  auto text = string_field(object, key, where);
  if (!text) return std::nullopt;
  std::string_view digits = *text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
    digits.remove_prefix(2), base = 16;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    throw std::runtime_error(where + ": expected \"" + key + "\" to be a number, got \"" + *text +
                             "\"");
  return *text;
}

// The sysfs PMU of an event entry's Unit, as perf names it (tools/perf/pmu-events/jevents.py,
// unit_to_pmu): the core PMUs and AMD's L3/DF/UMC by name, any other Unit is an Intel uncore
// box type, "uncore_" + its name in lower case ("CHA" → uncore_cha, "iMC" → uncore_imc, "cbox_0"
// → uncore_cbox_0). A Unit that already names a sysfs PMU (uncore_*, amd_*) is kept.
std::string unit_pmu(const std::string& unit) {
  static constexpr std::pair<std::string_view, std::string_view> kUnits[] = {
      {"CBO", "uncore_cbox"},
      {"QPI LL", "uncore_qpi"},
      {"SBO", "uncore_sbox"},
      {"iMPH-U", "uncore_arb"},
      {"UPI LL", "uncore_upi"},
      {"L3PMC", "amd_l3"},
      {"DFPMC", "amd_df"},
      {"UMCPMC", "amd_umc"},
      {"cpu_core", "cpu_core"},
      {"cpu_atom", "cpu_atom"},
      {"cpu", "cpu"}};
  if (unit.empty()) return unit;
  for (auto [name, pmu] : kUnits)
    if (unit == name) return std::string(pmu);
  if (unit.rfind("uncore_", 0) == 0 || unit.rfind("amd_", 0) == 0) return unit;
  std::string pmu = "uncore_";
  for (char c : unit) pmu += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return pmu;
}

// Whether a number field's text ("0x00", "0") is zero.
bool is_zero_number(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    text.remove_prefix(2);
  return text.find_first_not_of('0') == std::string_view::npos;
}

// perf's pmu-events fields and the sysfs terms of the x86 and Arm core PMUs they fill
// (tools/perf/pmu-events/jevents.py, JsonEvent: EventCode → event, UMask → umask, CounterMask →
// cmask, Invert → inv, EdgeDetect → edge, AnyThread → any).
EventDef parse_event(const json& entry, const std::string& where_line) {
  EventDef def;
  def.origin = where_line;
  def.name = *string_field(entry, "EventName", where_line);
  std::string where = where_line + ": event " + def.name;
  auto code = number_field(entry, "EventCode", where);
  if (!code) throw std::runtime_error(where + ": expected an EventCode");
  def.terms = "event=" + *code;
  // and for uncore PMUs PortMask → ch_mask, FCMask → fc_mask (Intel IIO), RdWrMask → rdwrmask
  // (AMD UMC), EnAllCores, EnAllSlices, SliceId, ThreadMask (AMD L3).
  static constexpr std::pair<const char*, const char*> kTerms[] = {{"UMask", "umask"},
                                                                   {"CounterMask", "cmask"},
                                                                   {"Invert", "inv"},
                                                                   {"EdgeDetect", "edge"},
                                                                   {"AnyThread", "any"},
                                                                   {"PortMask", "ch_mask"},
                                                                   {"FCMask", "fc_mask"},
                                                                   {"RdWrMask", "rdwrmask"},
                                                                   {"EnAllCores", "enallcores"},
                                                                   {"EnAllSlices", "enallslices"},
                                                                   {"SliceId", "sliceid"},
                                                                   {"ThreadMask", "threadmask"}};
  for (auto [field, term] : kTerms)
    if (auto value = number_field(entry, field, where))
      if (*value != "0" || std::string_view(term) == "umask")
        def.terms += std::string(",") + term + "=" + *value;
  // An event that also programs an MSR: perf writes MSRValue as the core PMU's sysfs term for
  // that MSR (jevents.py lookup_msr; the kernel's skl_format_attr in
  // arch/x86/events/intel/core.c defines the terms). MSRIndex "0x1a6,0x1a7" is either
  // offcore-response MSR (the kernel picks the free one); the first names the term.
  if (auto value = number_field(entry, "MSRValue", where); value && !is_zero_number(*value)) {
    auto index = string_field(entry, "MSRIndex", where);
    if (!index) throw std::runtime_error(where + ": MSRValue without an MSRIndex");
    std::string first = trim(std::string_view(*index).substr(0, index->find(',')));
    uint64_t msr = 0;
    auto [end, ec] = std::from_chars(first.data() + (first.rfind("0x", 0) == 0 ? 2 : 0),
                                     first.data() + first.size(), msr, 16);
    const char* term = nullptr;
    if (ec == std::errc() && end == first.data() + first.size()) {
      if (msr == 0x1a6 || msr == 0x1a7) term = "offcore_rsp";
      if (msr == 0x3f6) term = "ldlat";
      if (msr == 0x3f7) term = "frontend";
    }
    if (term == nullptr)
      throw std::runtime_error(where + ": MSRIndex \"" + *index +
                               "\" is none of the offcore-response (0x1a6, 0x1a7), load-latency "
                               "(0x3f6) or frontend (0x3f7) MSRs");
    def.terms += std::string(",") + term + "=" + *value;
  }
  // Filter: sysfs terms written out ("config1=0x4043300000000"), appended as jevents.py does;
  // Intel's perfmon files write "na" for none.
  if (auto filter = string_field(entry, "Filter", where);
      filter && !filter->empty() && *filter != "na")
    def.terms += "," + *filter;
  def.pmu = unit_pmu(string_field(entry, "Unit", where).value_or(""));
  return def;
}

}  // namespace

void MetricSet::add_event(EventDef def) {
  auto same = std::find_if(events_.begin(), events_.end(), [&](const EventDef& e) {
    return iequals(e.name, def.name) && e.pmu == def.pmu;
  });
  if (same != events_.end())
    *same = std::move(def);
  else
    events_.push_back(std::move(def));
}

namespace {

// Whether `written` names the entry's PMU `pmu` as perf matches PMU names (pmu.c
// perf_pmu__match): without the "uncore_" prefix, and an instance (cha_0) for its type (cha).
bool names_pmu(std::string_view pmu, std::string_view written) {
  if (pmu == written) return true;
  if (pmu.starts_with("uncore_")) pmu.remove_prefix(7);
  if (written.starts_with("uncore_")) written.remove_prefix(7);
  if (pmu == written) return true;
  if (written.size() <= pmu.size() + 1 || !written.starts_with(pmu) || written[pmu.size()] != '_')
    return false;
  return written.find_first_not_of("0123456789", pmu.size() + 1) == std::string_view::npos;
}

}  // namespace

const EventDef* MetricSet::find_event(std::string_view name, std::string_view pmu) const {
  for (const EventDef& e : events_)
    if (iequals(e.name, name) && (e.pmu.empty() || names_pmu(e.pmu, pmu))) return &e;
  return nullptr;
}

// perf matches a bare event name against every PMU's events: an uncore event (UNC_CHA_…,
// AMD's dram_channel_…) is named without its PMU in the metrics, and its entry gives the PMU.
// The core PMUs' entries are left to find_event's rules.
const EventDef* MetricSet::find_uncore_event(std::string_view name) const {
  for (const EventDef& e : events_)
    if (iequals(e.name, name) && !e.pmu.empty() && e.pmu != "cpu" && e.pmu != "cpu_core" &&
        e.pmu != "cpu_atom")
      return &e;
  return nullptr;
}

std::string MetricSet::resolver_spelling(const std::string& spelling) const {
  if (events_.empty()) return spelling;
  size_t slash = spelling.find('/');
  if (slash == std::string::npos) {
    // perf's modifiers after a bare name ("BR_INST_RETIRED.FAR_BRANCH:u", parse-events.l's
    // modifier_event letters): the entry is the name before them, and they follow the terms.
    std::string base = spelling;
    std::string mods;
    if (size_t colon = spelling.rfind(':');
        colon != std::string::npos && colon + 1 < spelling.size() &&
        spelling.find_first_not_of("ukhpPGHSDIWebR", colon + 1) == std::string::npos) {
      base = spelling.substr(0, colon);
      mods = spelling.substr(colon + 1);
    }
    const EventDef* def = find_event(base, "");
    if (def == nullptr) def = find_event(base, "cpu");
    if (def == nullptr) def = find_uncore_event(base);
    if (def == nullptr) return spelling;
    return (def->pmu.empty() ? "cpu" : def->pmu) + "/" + def->terms + ",name='" + spelling + "'/" +
           mods;
  }
  size_t close = spelling.rfind('/');
  if (close == slash) return spelling;
  std::string pmu = spelling.substr(0, slash);
  std::string body = spelling.substr(slash + 1, close - slash - 1);
  std::string mods = spelling.substr(close + 1);
  // perf's "EVENT/terms/" (a metric's EVENT@terms@): a name that is no PMU is an event, on each
  // PMU that has it, with the terms added (parse-events.y, parse_events_multi_pmu_add_or_add_pmu).
  if (const EventDef* def = find_uncore_event(pmu);
      def != nullptr && body.find('=') != std::string::npos)
    return def->pmu + "/" + def->terms + "," + body + ",name='" + spelling + "'/" + mods;
  size_t comma = body.find(',');
  std::string first = body.substr(0, comma);
  if (first.find('=') != std::string::npos) return spelling;
  const EventDef* def = find_event(first, pmu);
  if (def == nullptr) return spelling;
  std::string rest = comma == std::string::npos ? "" : body.substr(comma);
  return pmu + "/" + def->terms + rest + ",name='" + spelling + "'/" + mods;
}

std::pair<double, std::string> parse_scale_unit(std::string_view text) {
  std::string s = trim(text);
  double number = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (ec != std::errc() || ptr == s.data())
    throw std::runtime_error("ScaleUnit \"" + std::string(text) +
                             "\": expected a number followed by a unit, e.g. \"100%\"");
  return {number, trim(std::string_view(ptr, size_t(s.data() + s.size() - ptr)))};
}

// The fields of one metric entry that the file gives; an ArchStdEvent entry takes the others
// from the standard metric it names.
struct MetricFields {
  std::optional<std::string> expr, threshold, groups, description, pmu, scale_unit;
};

namespace {

MetricFields metric_fields(const json& entry, const std::string& where) {
  MetricFields f;
  f.expr = string_field(entry, "MetricExpr", where);
  f.threshold = string_field(entry, "MetricThreshold", where);
  f.groups = string_field(entry, "MetricGroup", where);
  f.description = string_field(entry, "BriefDescription", where);
  f.pmu = string_field(entry, "Unit", where);
  f.scale_unit = string_field(entry, "ScaleUnit", where);
  return f;
}

// Sets the fields `f` gives on `def`; throws std::runtime_error "what was expected" (without
// the place) for one that does not parse.
void apply_fields(const MetricFields& f, MetricDef& def) {
  if (f.expr) {
    try {
      def.expr = Expr::parse(*f.expr);
    } catch (const ExprError& e) {
      throw std::runtime_error("MetricExpr \"" + *f.expr + "\": " + e.what());
    }
  }
  if (f.threshold) {
    try {
      def.threshold = Expr::parse(*f.threshold);
    } catch (const ExprError& e) {
      throw std::runtime_error("MetricThreshold \"" + *f.threshold + "\": " + e.what());
    }
  }
  if (f.groups) def.groups = split_groups(*f.groups);
  if (f.description) def.description = *f.description;
  if (f.pmu) def.pmu = *f.pmu;
  if (f.scale_unit) {
    std::tie(def.scale, def.unit) = parse_scale_unit(*f.scale_unit);
    def.scale_unit = *f.scale_unit;
  }
}

MetricDef parse_metric(const json& entry, const std::string& where_line) {
  MetricDef def;
  def.origin = where_line;
  def.name = *string_field(entry, "MetricName", where_line);
  if (def.name.empty()) throw std::runtime_error(where_line + ": expected a non-empty MetricName");
  std::string where = where_line + ": metric " + def.name;
  MetricFields fields = metric_fields(entry, where);
  if (!fields.expr) throw std::runtime_error(where + ": expected a MetricExpr");
  if (!fields.scale_unit) fields.scale_unit = "1";
  try {
    apply_fields(fields, def);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
  def.aggregation_mode = string_field(entry, "AggregationMode", where).value_or("");
  return def;
}

// The fields an ArchStdEvent entry gives, checked now so that a bad expression is noted where it
// is written.
MetricFields parse_override(const json& entry, const std::string& where) {
  MetricFields fields = metric_fields(entry, where);
  MetricDef check;
  try {
    apply_fields(fields, check);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
  return fields;
}

}  // namespace

MetricSet MetricSet::parse(std::string_view text, const std::string& origin) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    size_t line = line_of_offset(text, e.byte == 0 ? 0 : e.byte - 1);
    throw std::runtime_error(origin + ":" + std::to_string(line) +
                             ": expected a JSON array of metric objects (" + e.what() + ")");
  }
  if (!document.is_array())
    throw std::runtime_error(origin + ":1: expected a JSON array of metric objects");
  auto lines = metric_name_lines(text);
  auto event_lines = key_lines(text, "\"EventName\"");
  auto standard_lines = key_lines(text, "\"ArchStdEvent\"");
  MetricSet set;
  // Name and Unit of each metric so far: a file of several hundred metrics (perf's Intel files)
  // would spend most of its load comparing every pair.
  std::unordered_set<std::string> seen_names;
  size_t named = 0, events = 0, standard = 0;
  auto at_line = [&](const std::vector<size_t>& found, size_t& k) {
    size_t line = k < found.size() ? found[k] : 0;
    ++k;
    return origin + ":" + std::to_string(line);
  };
  for (const auto& entry : document) {
    if (!entry.is_object())
      throw std::runtime_error(origin + ": expected each array element to be an object");
    // One entry that is not right is left out with a note; the file's other entries stay.
    if (!entry.contains("MetricName")) {
      if (entry.contains("EventName")) {
        std::string where = at_line(event_lines, events);
        try {
          set.add_event(parse_event(entry, where));
        } catch (const std::runtime_error& e) {
          set.notes_.push_back(std::string(e.what()) + "; the event is left out");
        }
      } else if (entry.contains("ArchStdEvent")) {
        std::string where = at_line(standard_lines, standard);
        try {
          std::string name = *string_field(entry, "ArchStdEvent", where);
          auto fields = parse_override(entry, where + ": ArchStdEvent " + name);
          set.overrides_.push_back(
              {std::move(name), where, std::make_shared<const MetricFields>(std::move(fields))});
        } catch (const std::runtime_error& e) {
          set.notes_.push_back(std::string(e.what()) + "; the entry is left out");
        }
      }
      continue;
    }
    std::string where = at_line(lines, named);
    try {
      MetricDef def = parse_metric(entry, where);
      if (!seen_names.insert(lower(def.name) + '\0' + def.pmu).second)
        for (const auto& existing : set.metrics_)
          if (iequals(existing.name, def.name) && existing.pmu == def.pmu)
            throw std::runtime_error(where + ": metric " + def.name + ": defined twice (first at " +
                                     existing.origin + ")");
      set.metrics_.push_back(std::move(def));
    } catch (const std::runtime_error& e) {
      set.notes_.push_back(std::string(e.what()) + "; the metric is left out");
      if (entry["MetricName"].is_string())
        set.left_out_.emplace_back(entry["MetricName"].get<std::string>(), set.notes_.back());
    }
  }
  set.link();
  return set;
}

const MetricSet& MetricSet::builtin_generic() {
  static const MetricSet set = parse(
#include "generic_metrics.inc"
      , "generic.json (built in)");
  return set;
}

MetricSet MetricSet::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open metric file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), file.string());
}

MetricSet MetricSet::load(const std::vector<std::filesystem::path>& files) {
  MetricSet set;
  for (const auto& file : files) set.merge(load(file));
  return set;
}

void MetricSet::replace_metric(MetricDef def, std::unordered_map<std::string, size_t>& index) {
  auto [it, added] = index.emplace(lower(def.name) + '\0' + def.pmu, metrics_.size());
  if (added) {
    metrics_.push_back(std::move(def));
    return;
  }
  MetricDef& same = metrics_[it->second];
  MetricDef earlier = std::move(same);
  def.replaced = std::move(earlier.replaced);
  // The same formula again (an ArchStdEvent entry that only names its standard metric) would
  // give nothing the first try did not.
  if (earlier.expr.text() != def.expr.text())
    def.replaced.insert(def.replaced.begin(), std::move(earlier));
  same = std::move(def);
}

const std::string* MetricSet::left_out(std::string_view name) const {
  for (const auto& [metric, note] : left_out_)
    if (iequals(metric, name)) return &note;
  return nullptr;
}

void MetricSet::merge(const MetricSet& other) {
  notes_.insert(notes_.end(), other.notes_.begin(), other.notes_.end());
  left_out_.insert(left_out_.end(), other.left_out_.begin(), other.left_out_.end());
  for (const auto& def : other.events_) add_event(def);
  // Name and Unit → index, so that merging a CPU file of several hundred metrics compares each
  // once rather than with every metric before it.
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < metrics_.size(); ++i)
    index.emplace(lower(metrics_[i].name) + '\0' + metrics_[i].pmu, i);
  for (const auto& def : other.metrics_) replace_metric(def, index);
  for (const auto& o : other.overrides_) {
    auto standard = std::find_if(metrics_.begin(), metrics_.end(),
                                 [&](const MetricDef& m) { return iequals(m.name, o.name); });
    if (standard == metrics_.end()) {
      // Without a formula the entry is most likely an event's (perf's arm64 event files name
      // their standard events the same way).
      if (o.fields->expr)
        notes_.push_back(o.origin + ": ArchStdEvent " + o.name +
                         ": expected a standard metric of that name in the metric files loaded "
                         "before; the entry is left out");
      continue;
    }
    MetricDef def = *standard;
    def.replaced.clear();
    def.origin = o.origin;
    apply_fields(*o.fields, def);  // checked when the entry was read
    replace_metric(std::move(def), index);
  }
  link();
}

void MetricSet::link() {
  std::unordered_map<std::string, std::vector<size_t>> by_name;
  for (size_t i = 0; i < metrics_.size(); ++i) {
    by_name[lower(metrics_[i].name)].push_back(i);
    // A '?' metric's name stands for its instance of the referring metric's runtime value.
    if (!metrics_[i].runtime_of.empty()) by_name[lower(metrics_[i].runtime_of)].push_back(i);
  }
  // A reference resolves to the metric of the same Unit, else a Unit-less one, else any; to a
  // '?' metric's instance of `runtime` only (none: the reference is left to the events).
  auto resolve = [&](const ExprSymbol& symbol, const MetricDef& from) -> int {
    auto it = by_name.find(lower(symbol.spelling));
    if (it == by_name.end()) return -1;
    auto fits = [&](size_t i) {
      return metrics_[i].runtime_of.empty() || metrics_[i].runtime == from.runtime ||
             iequals(metrics_[i].name, symbol.spelling);
    };
    for (size_t i : it->second)
      if (fits(i) && metrics_[i].pmu == from.pmu) return int(i);
    for (size_t i : it->second)
      if (fits(i) && metrics_[i].pmu.empty()) return int(i);
    for (size_t i : it->second)
      if (fits(i)) return int(i);
    return -1;
  };
  tree_copies_.clear();
  expr_refs_.assign(metrics_.size(), {});
  threshold_refs_.assign(metrics_.size(), {});
  replaced_refs_.assign(metrics_.size(), {});
  auto link_node = [&](size_t i, const MetricDef& def) {
    for (const auto& symbol : def.expr.symbols()) expr_refs_[i].push_back(resolve(symbol, def));
    for (const auto& earlier : def.replaced) {
      auto& refs = replaced_refs_[i].emplace_back();
      for (const auto& symbol : earlier.expr.symbols()) refs.push_back(resolve(symbol, def));
    }
    if (def.threshold)
      for (const auto& symbol : def.threshold->symbols())
        threshold_refs_[i].push_back(resolve(symbol, def));
  };
  for (size_t i = 0; i < metrics_.size(); ++i) link_node(i, metrics_[i]);

  // Which metrics read a '?' instance somewhere in their tree (a fixed point: trees may be
  // deep, and a cycle is reported when evaluated, not here).
  const size_t n = metrics_.size();
  std::vector<char> reads_runtime(n, 0);
  bool any_instance_above_0 = false;
  for (size_t i = 0; i < n; ++i) {
    reads_runtime[i] = !metrics_[i].runtime_of.empty();
    any_instance_above_0 = any_instance_above_0 || metrics_[i].runtime > 0;
  }
  if (!any_instance_above_0) return;
  auto names_one = [&](const std::vector<int>& refs) {
    return std::any_of(refs.begin(), refs.end(), [&](int r) { return r >= 0 && reads_runtime[r]; });
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (reads_runtime[i]) continue;
      bool reads = names_one(expr_refs_[i]) || names_one(threshold_refs_[i]) ||
                   std::any_of(replaced_refs_[i].begin(), replaced_refs_[i].end(), names_one);
      if (reads) reads_runtime[i] = 1, changed = true;
    }
  }
  // Instances of runtime i > 0 name a copy of such a metric made for i, and so on down.
  std::vector<size_t> original;  // per tree copy, the metric it copies
  std::map<std::pair<size_t, int>, size_t> copy_of;
  // Takes the references by value and gives them back: a copy made here grows expr_refs_ and
  // its siblings, which would leave a reference into them dangling.
  auto retarget = [&](std::vector<int> refs, int runtime, std::vector<size_t>& work) {
    for (int& r : refs) {
      if (r < 0) continue;
      size_t target = size_t(r) < n ? size_t(r) : original[size_t(r) - n];
      if (!reads_runtime[target] || !metrics_[target].runtime_of.empty() ||
          metrics_[target].runtime == runtime)
        continue;
      auto [it, added] = copy_of.emplace(std::pair{target, runtime}, n + tree_copies_.size());
      if (added) {
        MetricDef copy = metrics_[target];
        copy.runtime = runtime;
        tree_copies_.push_back(std::move(copy));
        original.push_back(target);
        expr_refs_.emplace_back();
        threshold_refs_.emplace_back();
        replaced_refs_.emplace_back();
        link_node(it->second, tree_copies_.back());
        work.push_back(it->second);
      }
      r = int(it->second);
    }
    return refs;
  };
  std::vector<size_t> work;
  for (size_t i = 0; i < n; ++i)
    if (metrics_[i].runtime > 0) work.push_back(i);
  while (!work.empty()) {
    size_t i = work.back();
    work.pop_back();
    int runtime = node(i).runtime;
    expr_refs_[i] = retarget(expr_refs_[i], runtime, work);
    threshold_refs_[i] = retarget(threshold_refs_[i], runtime, work);
    for (size_t k = 0; k < replaced_refs_[i].size(); ++k)
      replaced_refs_[i][k] = retarget(replaced_refs_[i][k], runtime, work);
  }
}

namespace {
bool has_runtime_param(const MetricDef& def) {
  return def.expr.text().find('?') != std::string::npos;
}

// `def` with each '?' read as `runtime`; its replaced definitions too.
MetricDef runtime_instance(const MetricDef& def, int runtime) {
  MetricDef out = def;
  out.expr = Expr::parse(def.expr.text(), runtime);
  if (def.threshold) out.threshold = Expr::parse(def.threshold->text(), runtime);
  for (auto& r : out.replaced)
    if (has_runtime_param(r)) r = runtime_instance(r, runtime);
  return out;
}
}  // namespace

size_t MetricSet::instantiate_runtime(const RuntimeParamCounts& counts) {
  std::vector<MetricDef> out;
  size_t made = 0;
  for (auto& def : metrics_) {
    if (!def.runtime_of.empty() || !has_runtime_param(def)) {
      out.push_back(std::move(def));
      continue;
    }
    ++made;
    for (int i = 0; i < std::max(counts.of(def), 1); ++i) {
      MetricDef instance = runtime_instance(def, i);
      instance.runtime_of = def.name;
      instance.runtime = i;
      instance.name = def.name + "_" + std::to_string(i);
      out.push_back(std::move(instance));
    }
  }
  metrics_ = std::move(out);
  if (made > 0) link();
  return made;
}

std::vector<size_t> MetricSet::select(const std::vector<std::string>& names_or_groups) const {
  std::vector<char> chosen(metrics_.size(), 0);
  for (const auto& want : names_or_groups) {
    bool found = false;
    for (size_t i = 0; i < metrics_.size(); ++i) {
      bool match = iequals(metrics_[i].name, want) ||
                   (!metrics_[i].runtime_of.empty() && iequals(metrics_[i].runtime_of, want));
      for (const auto& group : metrics_[i].groups) match = match || iequals(group, want);
      if (match) chosen[i] = 1, found = true;
    }
    if (!found) throw std::runtime_error("unknown metric or metric group: " + want);
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < metrics_.size(); ++i)
    if (chosen[i]) out.push_back(i);
  return out;
}

namespace {

// What is known before counting: #literals, no events, and has_event() as `available` answers
// (true without it).
class ConstantEnv : public ValuesEnv {
 public:
  ConstantEnv(const Literals& literals, const MetricSet& set, const EventAvailable& available)
      : ValuesEnv(empty_, literals), set_(set), available_(available) {}
  bool has_event(const ExprSymbol& symbol) const override {
    return !available_ || available_(set_.resolver_spelling(symbol.spelling));
  }

 private:
  static inline const EventValues empty_{};
  const MetricSet& set_;
  const EventAvailable& available_;
};

}  // namespace

void MetricSet::collect_events(size_t metric, const ExprEnv& constants,
                               std::vector<std::string>& keys, std::vector<std::string>& spellings,
                               std::vector<char>& seen) const {
  if (seen[metric]) return;  // done, or a cycle that evaluation reports
  seen[metric] = 1;
  collect_expr_events(node(metric).expr, expr_refs_[metric], constants, keys, spellings, seen);
}

void MetricSet::collect_expr_events(const Expr& expr, const std::vector<int>& refs,
                                    const ExprEnv& constants, std::vector<std::string>& keys,
                                    std::vector<std::string>& spellings,
                                    std::vector<char>& seen) const {
  const auto& symbols = expr.symbols();
  for (size_t i : expr.needed_symbols(constants)) {
    int ref = refs[i];
    if (ref >= 0) {
      collect_events(size_t(ref), constants, keys, spellings, seen);
    } else if (std::find(keys.begin(), keys.end(), symbols[i].key) == keys.end()) {
      keys.push_back(symbols[i].key);
      spellings.push_back(resolver_spelling(symbols[i].spelling));
    }
  }
}

std::vector<std::vector<std::string>> MetricSet::replaced_events(
    size_t metric, const Literals& literals, const EventAvailable& available) const {
  ConstantEnv constants(literals, *this, available);
  std::vector<std::vector<std::string>> out;
  const auto& replaced = metrics_[metric].replaced;
  for (size_t k = 0; k < replaced.size(); ++k) {
    std::vector<std::string> keys, spellings;
    std::vector<char> seen(nodes(), 0);
    seen[metric] = 1;  // a formula naming its own metric reads the one that replaced it
    collect_expr_events(replaced[k].expr, replaced_refs_[metric][k], constants, keys, spellings,
                        seen);
    out.push_back(std::move(spellings));
  }
  return out;
}

std::vector<std::string> MetricSet::required_events(const std::vector<std::string>& names_or_groups,
                                                    const Literals& literals,
                                                    const EventAvailable& available) const {
  ConstantEnv constants(literals, *this, available);
  std::vector<std::string> keys, spellings;
  std::vector<char> seen(nodes(), 0);
  for (size_t i : select(names_or_groups)) collect_events(i, constants, keys, spellings, seen);
  return spellings;
}

std::vector<std::vector<std::string>> MetricSet::events_by_metric(
    const std::vector<std::string>& names_or_groups, const Literals& literals,
    const EventAvailable& available) const {
  return events_by_selected(select(names_or_groups), literals, available);
}

std::vector<std::vector<std::string>> MetricSet::events_by_selected(
    const std::vector<size_t>& selected, const Literals& literals,
    const EventAvailable& available) const {
  ConstantEnv constants(literals, *this, available);
  std::vector<std::vector<std::string>> out;
  for (size_t i : selected) {
    std::vector<std::string> keys, spellings;
    std::vector<char> seen(nodes(), 0);
    collect_events(i, constants, keys, spellings, seen);
    out.push_back(std::move(spellings));
  }
  return out;
}

// Resolves identifiers to events or to other metrics' (unscaled) values, each metric computed
// at most once per evaluation; a metric met again while it is being computed is a cycle.
// Per-metric memo and state, sized to the whole set (hundreds of metrics in a CPU's file) but
// touched only for the few an evaluation reads: kept between evaluations and reset entry by entry,
// since allocating and clearing them for every -I interval was most of the metric engine's cost.
struct MetricScratch {
  std::vector<std::optional<ExprValue>> memo;
  std::vector<char> state;       // 0 not yet, 1 being computed, 2 done
  std::vector<uint32_t> source;  // 0: the metric's own formula gave memo; k: its replaced[k-1]
  std::vector<size_t> touched;
  std::vector<size_t> stack;
  void reserve(size_t metrics) {
    if (memo.size() < metrics) {
      memo.resize(metrics);
      state.resize(metrics, 0);
      source.resize(metrics, 0);
    }
  }
  void reset() {
    for (size_t i : touched) {
      memo[i].reset();
      state[i] = 0;
      source[i] = 0;
    }
    touched.clear();
    stack.clear();
  }
};

// This thread's scratch, sized to `metrics` and reset when the evaluation ends.
struct ScratchLease {
  explicit ScratchLease(size_t metrics) : scratch(mine()) { scratch.reserve(metrics); }
  ~ScratchLease() { scratch.reset(); }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  static MetricScratch& mine() {
    thread_local MetricScratch s;
    return s;
  }
  MetricScratch& scratch;
};

class MetricEnv : public ExprEnv {
 public:
  MetricEnv(const MetricSet& set, const EventValues& events, const Literals& literals,
            const std::string& cpuid, MetricScratch& scratch, SymbolLookupCache* cache = nullptr,
            bool reasons = true)
      : set_(set),
        values_(events, literals, cpuid, cache, reasons),
        memo_(scratch.memo),
        state_(scratch.state),
        source_(scratch.source),
        touched_(scratch.touched),
        stack_(scratch.stack) {}

  ExprValue value_of(size_t metric) const {
    if (state_[metric] == 2) return *memo_[metric];
    if (state_[metric] == 0) touched_.push_back(metric);
    if (state_[metric] == 1) {
      if (!values_.wants_reasons()) return {std::nullopt, MetricAbsence::reference_cycle, {}};
      std::string cycle;
      auto start = std::find(stack_.begin(), stack_.end(), metric);
      for (auto it = start; it != stack_.end(); ++it) cycle += set_.node(*it).name + " -> ";
      return {std::nullopt, MetricAbsence::reference_cycle,
              "reference cycle: " + cycle + set_.node(metric).name};
    }
    state_[metric] = 1;
    stack_.push_back(metric);
    const auto& def = set_.node(metric);
    ExprValue value = evaluate_with(def.expr, set_.expr_refs_[metric]);
    for (size_t k = 0; !value.value && falls_back(value.absence) && k < def.replaced.size(); ++k) {
      ExprValue earlier = evaluate_with(def.replaced[k].expr, set_.replaced_refs_[metric][k]);
      if (!earlier.value) continue;
      value = std::move(earlier);
      source_[metric] = uint32_t(k + 1);
    }
    stack_.pop_back();
    state_[metric] = 2;
    memo_[metric] = value;
    return value;
  }

  // The "FILE:LINE" of the formula that gave value_of(metric).
  const std::string& origin_of(size_t metric) const {
    const auto& def = set_.node(metric);
    uint32_t k = source_[metric];
    return k == 0 ? def.origin : def.replaced[k - 1].origin;
  }

  std::optional<bool> threshold_of(size_t metric) const {
    const auto& threshold = set_.node(metric).threshold;
    if (!threshold) return std::nullopt;
    const auto* saved = refs_;
    refs_ = &set_.threshold_refs_[metric];
    ExprValue value = threshold->evaluate(*this);
    refs_ = saved;
    if (!value.value || std::isnan(*value.value)) return std::nullopt;
    return *value.value != 0;
  }

  ExprValue identifier(size_t index, const ExprSymbol& symbol) const override {
    int ref = refs_ && index < refs_->size() ? (*refs_)[index] : -1;
    if (ref < 0) return values_.identifier(index, symbol);
    ExprValue value = value_of(size_t(ref));
    bool explained = !value.value || std::isnan(*value.value);
    if (explained && values_.wants_reasons() && value.absence != MetricAbsence::reference_cycle)
      value.reason = set_.node(size_t(ref)).name + ": " + value.reason;
    return value;
  }
  std::optional<double> literal(std::string_view name) const override {
    return values_.literal(name);
  }
  bool has_event(const ExprSymbol& symbol) const override { return values_.has_event(symbol); }
  std::optional<std::string> cpuid() const override { return values_.cpuid(); }
  bool wants_reasons() const override { return values_.wants_reasons(); }

 private:
  const MetricSet& set_;
  ValuesEnv values_;
  ExprValue evaluate_with(const Expr& expr, const std::vector<int>& refs) const {
    const auto* saved = refs_;
    refs_ = &refs;
    ExprValue value = expr.evaluate(*this);
    refs_ = saved;
    return value;
  }

  // Whether an earlier definition is tried: the formula lacks one of its events.
  // The CPUID is the run's for good too: a recording holds none, and an earlier formula may not
  // need it (perf 6.4's Neoverse N2 top-down, data/metrics/earlier/).
  static bool falls_back(MetricAbsence absence) {
    return lacks_event_for_good(absence) || absence == MetricAbsence::event_not_counted ||
           absence == MetricAbsence::cpuid_unknown;
  }

  std::vector<std::optional<ExprValue>>& memo_;
  std::vector<char>& state_;
  std::vector<uint32_t>& source_;
  std::vector<size_t>& touched_;
  std::vector<size_t>& stack_;
  mutable const std::vector<int>* refs_ = nullptr;
};

std::vector<MetricResult> MetricSet::evaluate(const std::vector<std::string>& names_or_groups,
                                              const EventValues& events, const Literals& literals,
                                              const std::string& cpuid) const {
  return evaluate_selected(select(names_or_groups), events, literals, cpuid);
}

std::vector<MetricResult> MetricSet::evaluate_selected(const std::vector<size_t>& selected,
                                                       const EventValues& events,
                                                       const Literals& literals,
                                                       const std::string& cpuid) const {
  ScratchLease lease(nodes());
  MetricScratch& scratch = lease.scratch;
  MetricEnv env(*this, events, literals, cpuid, scratch);
  std::vector<MetricResult> out;
  out.reserve(selected.size());
  for (size_t i : selected) {
    const auto& def = metrics_[i];
    MetricResult result{def.name, def.pmu, std::nullopt, def.unit, {}, {}, std::nullopt, {}};
    ExprValue value = env.value_of(i);
    result.origin = env.origin_of(i);
    if (value.value) {
      result.value = *value.value * def.scale;
      result.threshold_exceeded = env.threshold_of(i);
      result.reason = std::move(value.reason);  // where a NaN came from
    } else {
      result.absence = value.absence;
      result.reason = value.reason;
    }
    out.push_back(std::move(result));
  }
  return out;
}

void MetricSet::evaluate_values(const std::vector<size_t>& selected, const EventValues& events,
                                const Literals& literals,
                                std::vector<std::optional<double>>& values,
                                SymbolLookupCache* cache) const {
  ScratchLease lease(nodes());
  MetricScratch& scratch = lease.scratch;
  MetricEnv env(*this, events, literals, {}, scratch, cache, false);
  values.resize(selected.size());
  for (size_t k = 0; k < selected.size(); ++k) {
    ExprValue value = env.value_of(selected[k]);
    values[k] = value.value ? std::optional<double>(*value.value * metrics_[selected[k]].scale)
                            : std::nullopt;
  }
}

namespace {

struct Model {
  int first, last;
  const char* file;
};

// Intel family 6 models as in perf's tools/perf/pmu-events/arch/x86/mapfile.csv (Arrow Lake: as
// in intel/perfmon's mapfile.csv, which v6.12's does not list).
constexpr Model kIntelFamily6[] = {
    {0x4e, 0x4e, "skylake.json"},         // Skylake mobile
    {0x5e, 0x5e, "skylake.json"},         // Skylake desktop
    {0x8e, 0x8e, "skylake.json"},         // Kaby, Whiskey, Amber Lake mobile
    {0x9e, 0x9e, "skylake.json"},         // Kaby, Coffee Lake desktop
    {0xa5, 0xa6, "skylake.json"},         // Comet Lake
    {0x55, 0x55, "skylakex.json"},        // Skylake-SP (Cascade Lake by stepping, above)
    {0x7d, 0x7e, "icelake.json"},         // Ice Lake client
    {0x6a, 0x6a, "icelakex.json"},        // Ice Lake-SP
    {0x6c, 0x6c, "icelakex.json"},        // Ice Lake-D
    {0x8c, 0x8d, "tigerlake.json"},       // Tiger Lake
    {0xa7, 0xa7, "rocketlake.json"},      // Rocket Lake
    {0x8f, 0x8f, "sapphirerapids.json"},  // Sapphire Rapids
    {0xcf, 0xcf, "emeraldrapids.json"},   // Emerald Rapids
    {0xad, 0xae, "graniterapids.json"},   // Granite Rapids
    {0xaf, 0xaf, "sierraforest.json"},    // Sierra Forest
    {0x97, 0x97, "alderlake.json"},       // Alder Lake desktop
    {0x9a, 0x9a, "alderlake.json"},       // Alder Lake mobile
    {0xb7, 0xb7, "alderlake.json"},       // Raptor Lake desktop
    {0xba, 0xba, "alderlake.json"},       // Raptor Lake mobile
    {0xbf, 0xbf, "alderlake.json"},       // Raptor Lake desktop (S refresh)
    {0xaa, 0xaa, "meteorlake.json"},      // Meteor Lake mobile
    {0xac, 0xac, "meteorlake.json"},      // Meteor Lake desktop
    {0xb5, 0xb5, "meteorlake.json"},      // Arrow Lake U (Meteor Lake's cores, as perf maps it)
    {0xbd, 0xbd, "lunarlake.json"},       // Lunar Lake
    {0xc5, 0xc6, "arrowlake.json"},       // Arrow Lake (H, S)
};

std::string squash(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != '-' && c != '_' && c != ' ') out += char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

// An event name without PMU wrapper and modifiers: "cpu_core/TOPDOWN.SLOTS/k" → "topdown.slots".
// An encoding named for a metric ("cpu/event=0xc0,name='INST_RETIRED.ANY'/") is that event:
// canonical_event_name() reads the name term.
std::pair<std::string, std::string> pmu_and_event(std::string_view name) {
  std::string key = canonical_event_name(name);
  std::string pmu;
  auto slash = key.find('/');
  if (slash != std::string::npos) {
    pmu = key.substr(0, slash);
    auto close = key.find('/', slash + 1);
    key = key.substr(slash + 1, close == std::string::npos ? std::string::npos : close - slash - 1);
    auto comma = key.find(',');
    if (comma != std::string::npos) key = key.substr(0, comma);
  }
  auto colon = key.find(':');
  if (colon != std::string::npos) key = key.substr(0, colon);
  return {pmu, key};
}

}  // namespace

std::string metric_file_for_cpu(std::string_view vendor, int family, int model,
                                const std::vector<std::string>& pmu_names, int stepping) {
  if (vendor == "GenuineIntel" && family == 6) {
    // mapfile.csv: GenuineIntel-6-55-[56789ABCDEF] is Cascade Lake.
    if (model == 0x55 && stepping >= 5) return "cascadelake.json";
    for (const auto& m : kIntelFamily6)
      if (model >= m.first && model <= m.last) return m.file;
    return {};
  }
  if (vendor == "AuthenticAMD" || vendor == "HygonGenuine") {
    // perf's mapfile: AuthenticAMD-23-[[:xdigit:]]+ is Zen 1/2; Zen 2 from model 0x30 (Rome
    // 0x31, Renoir 0x60, Matisse 0x71). Family 0x19: Zen 3 and Zen 4 interleave by model.
    // Family 0x1a is Zen 5.
    if (family == 0x17 && model >= 0x30) return "zen2.json";
    if (family == 0x19) {
      if ((model >= 0x00 && model <= 0x0f) || (model >= 0x20 && model <= 0x5f)) return "zen3.json";
      if ((model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0xaf)) return "zen4.json";
    }
    if (family == 0x1a) return "zen5.json";
    return {};
  }
  bool arm_pmu = std::any_of(pmu_names.begin(), pmu_names.end(), [](const std::string& p) {
    return starts_with(p, "armv8_pmuv3") || starts_with(p, "armv9_") ||
           starts_with(p, "armv8_cortex") || starts_with(p, "armv8_neoverse");
  });
  if (lower(vendor) == "arm" || vendor == "0x41" || arm_pmu) {
    // Arm Ltd (implementer 0x41) part numbers, as the kernel's arm64 mapfile.csv lists them.
    if (family == 0x41) {
      switch (model) {
        case 0xd0c:
          return "neoverse-n1.json";
        case 0xd49:
          return "neoverse-n2.json";
        case 0xd40:
          return "neoverse-v1.json";
        case 0xd4f:
          return "neoverse-v2.json";
        default:
          break;
      }
    }
    return "neoverse.json";
  }
  return {};
}

std::string metric_file_for_name(std::string_view cpu_name) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"generic", "generic.json"},
      {"skylake", "skylake.json"},
      {"skl", "skylake.json"},
      {"skx", "skylakex.json"},
      {"skylakex", "skylakex.json"},
      {"skylakesp", "skylakex.json"},
      {"cascadelake", "cascadelake.json"},
      {"cascadelakex", "cascadelake.json"},
      {"clx", "cascadelake.json"},
      {"kabylake", "skylake.json"},
      {"kbl", "skylake.json"},
      {"coffeelake", "skylake.json"},
      {"cfl", "skylake.json"},
      {"cometlake", "skylake.json"},
      {"cml", "skylake.json"},
      {"icelake", "icelake.json"},
      {"icl", "icelake.json"},
      {"icx", "icelakex.json"},
      {"icelakex", "icelakex.json"},
      {"icelakesp", "icelakex.json"},
      {"tigerlake", "tigerlake.json"},
      {"tgl", "tigerlake.json"},
      {"rocketlake", "rocketlake.json"},
      {"rkl", "rocketlake.json"},
      {"sapphirerapids", "sapphirerapids.json"},
      {"spr", "sapphirerapids.json"},
      {"emeraldrapids", "emeraldrapids.json"},
      {"emr", "emeraldrapids.json"},
      {"graniterapids", "graniterapids.json"},
      {"gnr", "graniterapids.json"},
      {"sierraforest", "sierraforest.json"},
      {"srf", "sierraforest.json"},
      {"alderlake", "alderlake.json"},
      {"adl", "alderlake.json"},
      {"raptorlake", "alderlake.json"},
      {"rpl", "alderlake.json"},
      {"meteorlake", "meteorlake.json"},
      {"mtl", "meteorlake.json"},
      {"lunarlake", "lunarlake.json"},
      {"lnl", "lunarlake.json"},
      {"arrowlake", "arrowlake.json"},
      {"arl", "arrowlake.json"},
      {"zen2", "zen2.json"},
      {"amdzen2", "zen2.json"},
      {"rome", "zen2.json"},
      {"zen3", "zen3.json"},
      {"amdzen3", "zen3.json"},
      {"milan", "zen3.json"},
      {"zen4", "zen4.json"},
      {"amdzen4", "zen4.json"},
      {"genoa", "zen4.json"},
      {"zen5", "zen5.json"},
      {"amdzen5", "zen5.json"},
      {"turin", "zen5.json"},
      {"neoverse", "neoverse.json"},
      {"neoversen1", "neoverse-n1.json"},
      {"neoversen2", "neoverse-n2.json"},
      {"neoversev1", "neoverse-v1.json"},
      {"neoversev2", "neoverse-v2.json"},
      {"graviton2", "neoverse-n1.json"},
      {"graviton3", "neoverse-v1.json"},
      {"graviton4", "neoverse-v2.json"},
      {"sbsa", "neoverse.json"},
  };
  std::string key = squash(cpu_name);
  for (auto [name, file] : kNames)
    if (key == name) return std::string(file);
  return {};
}

namespace {

// Intel family 6 models whose core has 8 general counters per thread and perf metrics (Ice Lake
// and later big cores), from the models above and perf's mapfile.csv.
bool intel_perf_metrics_model(int model) {
  switch (model) {
    case 0x7d:
    case 0x7e:
    case 0x6a:
    case 0x6c:  // Ice Lake client and server
    case 0x8c:
    case 0x8d:
    case 0xa7:  // Tiger Lake, Rocket Lake
    case 0x8f:
    case 0xcf:
    case 0xad:
    case 0xae:  // Sapphire, Emerald, Granite Rapids
    case 0x97:
    case 0x9a:
    case 0xb7:
    case 0xba:
    case 0xbf:  // Alder Lake, Raptor Lake
    case 0xaa:
    case 0xac:
    case 0xb5:
    case 0xbd:
    case 0xc5:
    case 0xc6:  // Meteor Lake, Arrow Lake U, Lunar Lake, Arrow Lake
      return true;
    default:
      return false;
  }
}

}  // namespace

CounterModel counter_model(std::string_view vendor, int family, int model, bool smt_on, bool atom,
                           bool nmi_watchdog) {
  CounterModel m;
  if (vendor == "GenuineIntel") {
    bool modern = family == 6 && intel_perf_metrics_model(model);
    m.general = atom ? 6 : modern ? 8 : smt_on ? 4 : 8;
    m.perf_metrics = modern && !atom;
    if (nmi_watchdog) m.fixed_cycles = false;
  } else if (vendor == "AuthenticAMD" || vendor == "HygonGenuine") {
    m.general = nmi_watchdog ? 5 : 6;
    m.fixed_cycles = m.fixed_instructions = m.perf_metrics = false;
  } else {
    // Arm PMUv3 (or unknown: the same cautious model).
    m.general = 6;
    m.fixed_instructions = m.perf_metrics = false;
    m.fixed_cycles = !nmi_watchdog;
  }
  return m;
}

bool is_topdown_metric_event(std::string_view name) {
  auto [pmu, event] = pmu_and_event(name);
  // cpu_atom's topdown-* aliases are ordinary events on general counters (Gracemont has no
  // perf metrics: intel/core.c gives them "atom" encodings of event 0x71-0x74, 0xc2).
  if (!pmu.empty() && (!starts_with(pmu, "cpu") || starts_with(pmu, "cpu_atom"))) return false;
  static constexpr std::string_view kMetrics[] = {
      "topdown-retiring",  "topdown-bad-spec",      "topdown-fe-bound",  "topdown-be-bound",
      "topdown-heavy-ops", "topdown-br-mispredict", "topdown-fetch-lat", "topdown-mem-bound"};
  return std::find(std::begin(kMetrics), std::end(kMetrics), event) != std::end(kMetrics);
}

bool is_fixed_counter_event(std::string_view name, const CounterModel& model) {
  auto [pmu, event] = pmu_and_event(name);
  if (!pmu.empty() && !starts_with(pmu, "cpu") && !starts_with(pmu, "armv8") &&
      !starts_with(pmu, "armv9"))
    return false;
  static constexpr std::string_view kCycles[] = {"cycles", "cpu-cycles", "cpu_clk_unhalted.thread",
                                                 "cpu_clk_unhalted.core", "cpu_cycles"};
  static constexpr std::string_view kIntelFixed[] = {
      "instructions", "ref-cycles", "inst_retired.any", "cpu_clk_unhalted.ref_tsc"};
  if (std::find(std::begin(kCycles), std::end(kCycles), event) != std::end(kCycles))
    return model.fixed_cycles;
  if (std::find(std::begin(kIntelFixed), std::end(kIntelFixed), event) != std::end(kIntelFixed))
    return model.fixed_instructions;
  if (event == "slots" || event == "topdown.slots" || is_topdown_metric_event(name))
    return model.perf_metrics;
  return false;
}

bool is_fixed_counter_event(std::string_view name) {
  return is_fixed_counter_event(name, CounterModel{});
}

bool is_off_core_event(std::string_view name) {
  auto [pmu, event] = pmu_and_event(name);
  if (!pmu.empty())
    return !(starts_with(pmu, "cpu") || starts_with(pmu, "armv8") || starts_with(pmu, "armv9"));
  static constexpr std::string_view kSoftware[] = {
      "task-clock",  "cpu-clock",    "duration_time", "user_time",        "system_time",
      "page-faults", "minor-faults", "major-faults",  "context-switches", "cpu-migrations",
      "tsc"};
  for (auto software : kSoftware)
    if (event == software) return true;
  return starts_with(event, "unc_");
}

int general_purpose_counters(std::string_view vendor, bool smt_on) {
  if (vendor == "GenuineIntel") return smt_on ? 4 : 8;  // SDM vol. 3B 20.2.3: 8 per core, shared
  return 6;  // AMD Zen: 6 core PMCs (PPR 2.1.15); Arm Neoverse N1/V1/N2: 6 PMEVCNTR
}

namespace {

// perf's order for a group with a perf-metrics event (arch/x86/util/evlist.c arch_evlist__cmp):
// the slots event, then topdown events, then the others as they were; slots added when missing,
// since the kernel refuses a topdown metric event whose group slots does not lead.
void order_topdown_group(std::vector<std::string>& events) {
  auto it = std::find_if(events.begin(), events.end(),
                         [](const std::string& e) { return is_topdown_metric_event(e); });
  if (it == events.end()) return;
  auto rank = [](const std::string& e) {
    std::string event = pmu_and_event(e).second;
    if (event == "slots" || event == "topdown.slots") return 0;
    return event.find("topdown") != std::string::npos ? 1 : 2;
  };
  if (std::none_of(events.begin(), events.end(),
                   [&](const std::string& e) { return rank(e) == 0; })) {
    std::string pmu = pmu_and_event(*it).first;
    events.push_back(pmu.empty() || pmu == "cpu" ? std::string("slots") : pmu + "/slots/");
  }
  std::stable_sort(events.begin(), events.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
}

}  // namespace

std::vector<std::vector<std::string>> plan_event_groups(
    const std::vector<std::vector<std::string>>& events_per_metric, int general_counters) {
  CounterModel model;
  model.general = general_counters;
  return plan_event_groups(events_per_metric, model);
}

std::vector<std::vector<std::string>> plan_event_groups(
    const std::vector<std::vector<std::string>>& events_per_metric, const CounterModel& model) {
  // Two core PMUs at most: unit 0 the core PMU (cpu, cpu_core, Arm's), unit 1 a hybrid's
  // cpu_atom, each with its counters.
  CounterModel atom_model = model;
  if (model.atom) {
    atom_model.general = model.atom->general;
    atom_model.fixed_cycles = model.atom->fixed_cycles;
    atom_model.fixed_instructions = true;
    atom_model.perf_metrics = false;
  }
  const CounterModel* models[2] = {&model, &atom_model};
  auto general_counters = [&](int unit) { return std::max(models[unit]->general, 1); };
  auto fixed_event = [&](const std::string& e, int unit) {
    return is_fixed_counter_event(e, *models[unit]);
  };
  auto unit_of = [](const std::string& e) {
    return starts_with(pmu_and_event(e).first, "cpu_atom") ? 1 : 0;
  };
  struct Group {
    std::vector<std::string> events;
    std::vector<std::string> keys;
    int general = 0;
    int unit = 0;
  };
  std::vector<Group> groups;
  std::vector<std::string> off_core, off_core_keys;

  auto place = [&](const std::vector<std::string>& chunk, int unit) {
    std::vector<std::string> keys;
    int general = 0;
    for (const auto& e : chunk) {
      keys.push_back(canonical_event_name(e));
      if (!fixed_event(e, unit)) ++general;
    }
    for (auto& group : groups) {
      if (group.unit != unit) continue;
      int extra = 0;
      bool covered = true;
      for (size_t i = 0; i < chunk.size(); ++i) {
        if (std::find(group.keys.begin(), group.keys.end(), keys[i]) != group.keys.end()) continue;
        covered = false;
        if (!fixed_event(chunk[i], unit)) ++extra;
      }
      if (covered) return;
      if (group.general + extra > general_counters(unit)) continue;
      for (size_t i = 0; i < chunk.size(); ++i) {
        if (std::find(group.keys.begin(), group.keys.end(), keys[i]) != group.keys.end()) continue;
        group.events.push_back(chunk[i]);
        group.keys.push_back(keys[i]);
      }
      group.general += extra;
      return;
    }
    groups.push_back({chunk, keys, general, unit});
  };

  for (const auto& metric : events_per_metric) {
    std::vector<std::string> fixed[2], general[2], seen;
    for (const auto& e : metric) {
      std::string key = canonical_event_name(e);
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      int unit = unit_of(e);
      if (is_off_core_event(e)) {
        if (std::find(off_core_keys.begin(), off_core_keys.end(), key) == off_core_keys.end()) {
          off_core_keys.push_back(key);
          off_core.push_back(e);
        }
      } else if (fixed_event(e, unit)) {
        fixed[unit].push_back(e);
      } else {
        general[unit].push_back(e);
      }
    }
    for (int unit = 0; unit < 2; ++unit) {
      if (fixed[unit].empty() && general[unit].empty()) continue;
      size_t step = size_t(general_counters(unit));
      for (size_t start = 0; start == 0 || start < general[unit].size(); start += step) {
        std::vector<std::string> chunk;
        if (start == 0) chunk = fixed[unit];  // fixed events ride with the first chunk
        size_t end = std::min(general[unit].size(), start + step);
        for (size_t i = start; i < end; ++i) chunk.push_back(general[unit][i]);
        place(chunk, unit);
        if (general[unit].empty()) break;
      }
    }
  }

  std::vector<std::vector<std::string>> out;
  for (auto& group : groups) {
    order_topdown_group(group.events);
    out.push_back(std::move(group.events));
  }
  for (auto& e : off_core) out.push_back({std::move(e)});
  return out;
}

}  // namespace pmc
