#include "events/names/sysfs_pmu.h"
#include "events/text/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <system_error>

namespace pmc {
namespace fs = std::filesystem;
namespace {

template <typename Int>
std::optional<Int> parse_int(std::string_view text, int base = 10) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// perf's term lexer: 0x… is hex, anything else decimal.
std::optional<uint64_t> parse_term_value(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    return parse_int<uint64_t>(text.substr(2), 16);
  return parse_int<uint64_t>(text);
}

// Files under events/ that describe an event rather than name one.
bool is_event_attribute_file(std::string_view name) {
  for (std::string_view suffix : {".scale", ".unit", ".snapshot", ".per-pkg"})
    if (name.size() > suffix.size() && name.ends_with(suffix)) return true;
  return false;
}

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

SysfsPmu read_pmu(const fs::path& dir) {
  SysfsPmu pmu;
  pmu.dir = dir;
  pmu.info.name = dir.filename().string();
  if (auto type = read_text(dir / "type")) pmu.info.type = parse_int<int>(*type).value_or(-1);
  std::error_code ec;
  bool has_cpus = fs::exists(dir / "cpus", ec);
  pmu.core = pmu.info.name == "cpu" || has_cpus;
  auto mask = read_text(dir / (has_cpus ? "cpus" : "cpumask"));
  if (mask) pmu.info.cpus = parse_cpu_list(*mask).value_or(std::vector<int>{});
  pmu.info.cpu_wide_only = !pmu.core && !pmu.info.cpus.empty();
  for (std::string& name : list_dir(dir / "events"))
    if (!is_event_attribute_file(name)) pmu.info.events.push_back(std::move(name));
  return pmu;
}

uint64_t field_mask(int width) {
  return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
}

void pack(uint64_t& word, const FormatField& field, uint64_t value) {
  for (auto [lo, hi] : field.ranges) {
    int width = hi - lo + 1;
    uint64_t mask = field_mask(width) << lo;
    word = (word & ~mask) | ((value << lo) & mask);
    value = width >= 64 ? 0 : value >> width;
  }
}

void encode_term(const SysfsPmu& pmu, const Term& term, PmuConfig& config,
                 const std::vector<Term>* user_terms);

// An alias's `term=?` (arm_cmn's nodeid, hisi's cfg) needs its value from the user's own terms,
// which encode_terms packs after the alias, in the order written.
void encode_alias(const SysfsPmu& pmu, const std::string& name, PmuConfig& config,
                  const std::vector<Term>& user_terms) {
  auto text = read_text(pmu.dir / "events" / name);
  if (!text)
    throw ResolveError(fmt::format("cannot read event '{}' of PMU '{}'", name, pmu.info.name));
  for (const Term& term : split_terms(*text)) {
    if (term.value == "?") {
      bool given = std::any_of(user_terms.begin(), user_terms.end(), [&](const Term& t) {
        return t.name == term.name && t.value && *t.value != "?";
      });
      if (!given)
        throw MissingTermError(fmt::format("event '{}/{}/' needs a value for term '{}' (give {}=…)",
                                           pmu.info.name, name, term.name, term.name),
                               term.name);
      continue;
    }
    encode_term(pmu, term, config, nullptr);
  }
  config.alias = name;
}

void encode_term(const SysfsPmu& pmu, const Term& term, PmuConfig& config,
                 const std::vector<Term>* user_terms) {
  const std::string& pmu_name = pmu.info.name;
  if (term.name.empty()) throw ResolveError(fmt::format("empty term for PMU '{}'", pmu_name));
  if (!term.value && user_terms != nullptr) {
    if (auto alias = find_event_alias(pmu, term.name)) {
      encode_alias(pmu, *alias, config, *user_terms);
      return;
    }
  }
  auto term_value = [&] {
    std::optional<uint64_t> value = term.value ? parse_term_value(*term.value) : uint64_t{1};
    if (!value)
      throw ResolveError(fmt::format("bad value '{}' for term '{}' of PMU '{}'", *term.value,
                                     term.name, pmu_name));
    return *value;
  };
  if (has_format(pmu, term.name)) {
    uint64_t value = term_value();
    auto text = read_text(pmu.dir / "format" / term.name).value_or("");
    auto field = parse_format(text);
    if (!field)
      throw ResolveError(fmt::format("PMU '{}' has an unreadable format for term '{}': '{}'",
                                     pmu_name, term.name, text));
    if (field->width() < 64 && (value >> field->width()) != 0)
      throw ResolveError(
          fmt::format("value {:#x} of term '{}' does not fit in {} bits of PMU '{}' "
                      "(format {})",
                      value, term.name, field->width(), pmu_name, field->text));
    pack(config.words[field->word], *field, value);
    return;
  }
  // perf's built-in terms that set a whole config word (parse-events.c config_term_common).
  constexpr std::string_view kWords[] = {"config", "config1", "config2"};
  for (int i = 0; i < 3; ++i) {
    if (term.name == kWords[i]) {
      config.words[i] = term_value();
      return;
    }
  }
  throw ResolveError(fmt::format("unknown term '{}' for PMU '{}' (terms: {})", term.name, pmu_name,
                                 join(list_dir(pmu.dir / "format"))));
}

}  // namespace

std::vector<SysfsPmu> scan_pmus(const SysRoot& root) {
  std::vector<SysfsPmu> pmus;
  fs::path devices = root.sys_path("bus/event_source/devices");
  for (const std::string& name : list_dir(devices)) pmus.push_back(read_pmu(devices / name));
  return pmus;
}

std::optional<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  text = trim_space(text);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = trim_space(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    size_t dash = part.find('-');
    auto first = parse_int<int>(part.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : parse_int<int>(part.substr(dash + 1));
    if (!first || !last || *first < 0 || *last < *first || *last > kMaxCpuNumber)
      return std::nullopt;
    for (int cpu = *first; cpu <= *last; ++cpu) cpus.push_back(cpu);
  }
  return cpus;
}

int FormatField::width() const {
  int bits = 0;
  for (auto [lo, hi] : ranges) bits += hi - lo + 1;
  return bits;
}

std::optional<FormatField> parse_format(std::string_view text) {
  text = trim_space(text);
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  FormatField field;
  field.text = std::string(text);
  std::string_view word = text.substr(0, colon);
  if (word == "config")
    field.word = 0;
  else if (word == "config1")
    field.word = 1;
  else if (word == "config2")
    field.word = 2;
  else
    return std::nullopt;
  std::string_view bits = text.substr(colon + 1);
  while (!bits.empty()) {
    size_t comma = bits.find(',');
    std::string_view part = bits.substr(0, comma);
    bits = comma == std::string_view::npos ? std::string_view{} : bits.substr(comma + 1);
    size_t dash = part.find('-');
    auto lo = parse_int<int>(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : parse_int<int>(part.substr(dash + 1));
    if (!lo || !hi || *lo < 0 || *hi < *lo || *hi > 63) return std::nullopt;
    field.ranges.emplace_back(*lo, *hi);
  }
  if (field.ranges.empty() || field.width() > 64) return std::nullopt;
  return field;
}

std::vector<Term> split_terms(std::string_view text) {
  std::vector<Term> terms;
  text = trim_space(text);
  if (text.empty()) return terms;
  while (true) {
    // A quoted value (name='cpu/X,cmask=0x6/') may hold commas.
    size_t comma = std::string_view::npos;
    char quote = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == ',') {
        comma = i;
        break;
      }
    }
    std::string_view part = trim_space(text.substr(0, comma));
    Term term;
    size_t eq = part.find('=');
    term.name = std::string(trim_space(part.substr(0, eq)));
    if (eq != std::string_view::npos) term.value = std::string(trim_space(part.substr(eq + 1)));
    terms.push_back(std::move(term));
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return terms;
}

PmuConfig encode_terms(const SysfsPmu& pmu, const std::vector<Term>& terms) {
  if (terms.empty()) throw ResolveError(fmt::format("no terms for PMU '{}'", pmu.info.name));
  PmuConfig config;
  for (const Term& term : terms) encode_term(pmu, term, config, &terms);
  return config;
}

std::optional<std::string> find_event_alias(const SysfsPmu& pmu, std::string_view name) {
  for (const std::string& event : pmu.info.events)
    if (event == name) return event;
  // perf matches aliases without regard to case (perf_pmu__find_alias, strcasecmp): the Arm
  // PMU's sysfs names are lower case (cpu_cycles), Arm's event lists upper case (CPU_CYCLES).
  auto same = [&](const std::string& event) {
    return event.size() == name.size() &&
           std::equal(event.begin(), event.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  for (const std::string& event : pmu.info.events)
    if (same(event)) return event;
  return std::nullopt;
}

bool has_event_alias(const SysfsPmu& pmu, std::string_view name) {
  return find_event_alias(pmu, name).has_value();
}

bool has_format(const SysfsPmu& pmu, std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..")
    return false;
  std::error_code ec;
  return fs::is_regular_file(pmu.dir / "format" / std::string(name), ec);
}

}  // namespace pmc
