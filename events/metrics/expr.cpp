#include "events/metrics/expr.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include <regex.h>

namespace pmc {
namespace {

// Deeper trees are refused so that evaluation's recursion stays bounded.
constexpr int kMaxDepth = 200;

// ASCII only, as perf's event names are; std::tolower's locale lookup per character showed in
// profiles of per-interval metric evaluation.
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// perf's expr.l: sym [0-9a-zA-Z_\.:@?]+
bool is_symbol_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
         c == '@' || c == '?';
}

// perf's expr.l: literal #[0-9a-zA-Z_\.\-]+
bool is_literal_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// perf's generic hardware and software event names and their aliases, folded to one name.
std::string_view fold_alias(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kAliases[] = {
      {"cpu-cycles", "cycles"},
      {"branch-instructions", "branches"},
      {"idle-cycles-frontend", "stalled-cycles-frontend"},
      {"idle-cycles-backend", "stalled-cycles-backend"},
      {"bus-cycles", "bus-cycles"},
      {"faults", "page-faults"},
      {"cs", "context-switches"},
      {"migrations", "cpu-migrations"},
  };
  for (auto [alias, name_of] : kAliases)
    if (name == alias) return name_of;
  return name;
}

}  // namespace

ExprError::ExprError(size_t column, const std::string& what)
    : std::runtime_error("column " + std::to_string(column) + ": " + what), column_(column) {}

std::string unescape_event_name(std::string_view spelling) {
  std::string out;
  out.reserve(spelling.size());
  for (size_t i = 0; i < spelling.size(); ++i) {
    char c = spelling[i];
    if (c == '\\' && i + 1 < spelling.size()) {
      out += spelling[++i];
    } else if (c == '@') {
      out += '/';
    } else {
      out += c;
    }
  }
  return out;
}

std::string canonical_event_name(std::string_view spelling) {
  // Most names ("cycles", "L1-dcache-loads") need only lower case and the alias fold: no
  // escapes, '@', PMU or modifiers. Metric evaluation per interval calls this for every count.
  bool simple = spelling.find_first_of("\\@/:") == std::string_view::npos;
  if (simple) {
    std::string name = lower(spelling);
    std::string_view folded = fold_alias(name);
    return folded.data() == name.data() ? name : std::string(folded);
  }
  std::string name = lower(unescape_event_name(spelling));
  // "pmu/…,name=X/" is known by X, as perf names the event (and the resolver its count): a
  // metric file's own event given as its encoding, "cpu/event=0xc0,name='ex_ret_instr'/".
  if (auto slash = name.find('/'); slash != std::string::npos) {
    for (size_t at = name.find("name=", slash); at != std::string::npos;
         at = name.find("name=", at + 1)) {
      if (name[at - 1] != '/' && name[at - 1] != ',') continue;
      size_t begin = at + 5;
      char quote =
          begin < name.size() && (name[begin] == '\'' || name[begin] == '"') ? name[begin] : 0;
      size_t end = quote ? name.find(quote, begin + 1) : name.find_first_of(",/", begin);
      if (end == std::string::npos) break;
      std::string value = name.substr(begin + (quote ? 1 : 0), end - begin - (quote ? 1 : 0));
      if (!value.empty()) return canonical_event_name(value);
    }
  }
  // "cpu/X/" and "cpu/X/mods" are the default core PMU's event X; terms ("cpu/X,cmask=1/")
  // make a different event and keep the PMU form.
  if (name.rfind("cpu/", 0) == 0) {
    auto close = name.find('/', 4);
    if (close != std::string::npos) {
      std::string_view body(name.data() + 4, close - 4);
      std::string_view mods(name.data() + close + 1, name.size() - close - 1);
      if (body.find_first_of(",=") == std::string_view::npos && !body.empty()) {
        std::string plain(body);
        if (!mods.empty()) plain += ":" + std::string(mods);
        name = std::move(plain);
      }
    }
  }
  if (name == "msr/tsc/") return "tsc";
  auto colon = name.find(':');
  if (colon == std::string::npos) return std::string(fold_alias(name));
  return std::string(fold_alias(std::string_view(name).substr(0, colon))) + name.substr(colon);
}

MetricAbsence absence_of(EventStatus status) {
  switch (status) {
    case EventStatus::counted:
      return MetricAbsence::none;
    case EventStatus::not_supported:
      return MetricAbsence::event_not_supported;
    case EventStatus::permission_denied:
      return MetricAbsence::event_permission_denied;
    case EventStatus::not_counted:
      return MetricAbsence::event_not_counted;
  }
  return MetricAbsence::event_not_counted;
}

bool lacks_event_for_good(MetricAbsence absence) {
  return absence == MetricAbsence::event_not_measured ||
         absence == MetricAbsence::event_not_supported ||
         absence == MetricAbsence::event_permission_denied;
}

void EventValues::set(std::string_view name, double value) {
  entries_[canonical_event_name(name)] = Entry{value, MetricAbsence::none, {}};
}

void EventValues::set_missing(std::string_view name, EventStatus status, std::string_view reason) {
  auto& entry = entries_[canonical_event_name(name)];
  if (entry.value) return;
  entry.absence = absence_of(status);
  entry.reason = to_string(status);
  if (!reason.empty()) entry.reason.append(": ").append(reason);
}

const EventValues::Entry* EventValues::find(std::string_view name) const {
  return find_key(canonical_event_name(name));
}

const EventValues::Entry* EventValues::find_key(std::string_view key) const {
  auto it = entries_.find(key);
  if (it != entries_.end()) return &it->second;
  // Intel's unhalted core cycles are the same count under perf's generic name: the kernel's
  // `cycles` is event 0x3c umask 0 (CPU_CLK_UNHALTED.THREAD_P; arch/x86/events/intel/core.c
  // intel_perfmon_event_map), CPU_CLK_UNHALTED.THREAD its fixed-counter twin (SDM vol. 3B
  // 20.2.2). perf's Skylake-era metric files of 4.x-5.x wrote the level-1 top-down formulas over
  // `cycles` (skl-metrics.json: "IDQ_UOPS_NOT_DELIVERED.CORE / (4 * cycles)"), so perf -M
  // recordings of those years hold only `cycles`: the current files read it for
  // CPU_CLK_UNHALTED.THREAD where that was not recorded at all.
  constexpr std::string_view kThread = "cpu_clk_unhalted.thread";
  size_t at = key.find(kThread);
  if (at == std::string_view::npos || (at != 0 && key[at - 1] != '/') ||
      (at + kThread.size() != key.size() && key.substr(at + kThread.size()) != "/"))
    return nullptr;
  std::string cycles(key.substr(0, at));
  cycles.append("cycles").append(key.substr(at + kThread.size()));
  it = entries_.find(cycles);
  return it == entries_.end() ? nullptr : &it->second;
}

EventValues EventValues::from_counts(const std::vector<EventCount>& counts, double duration_s) {
  std::vector<Binding> bindings;
  return from_counts(counts, duration_s, bindings);
}

EventValues EventValues::from_counts(const std::vector<EventCount>& counts, double duration_s,
                                     std::vector<Binding>& bindings) {
  EventValues out;
  bindings.clear();
  for (size_t i = 0; i < counts.size(); ++i) {
    const auto& count = counts[i];
    // A hybrid core type's count is only known with its PMU: the same name on cpu_core and
    // cpu_atom are different counts.
    bool hybrid = count.pmu == "cpu_core" || count.pmu == "cpu_atom";
    bool default_pmu = count.pmu.empty() || count.pmu == "cpu";
    std::vector<std::string> names;
    if (!hybrid || count.name.find('/') != std::string::npos) names.push_back(count.name);
    if (!default_pmu && count.name.find('/') == std::string::npos)
      names.push_back(count.pmu + "/" + count.name + "/");
    for (const auto& name : names) {
      if (!count.counted()) {
        out.set_missing(name, count.status, count.reason);
        continue;
      }
      double divisor = 1;
      std::string key = canonical_event_name(count.name);
      // perf evaluates metrics on clock events' nanosecond counts; the resolver shows msec.
      // A count whose unit says msec (or us) but that carries no scale (a document written by
      // hand or by another tool) is taken in the unit it names.
      if (key == "task-clock" || key == "cpu-clock") {
        if (count.unit_scale != 0 && count.unit_scale != 1.0)
          divisor = count.unit_scale;
        else if (count.unit == "msec" || count.unit == "ms")
          divisor = 1e-6;
        else if (count.unit == "us" || count.unit == "usec")
          divisor = 1e-3;
      } else if (key == "duration_time" || key == "user_time" || key == "system_time") {
        // perf's tool events count nanoseconds, and its metrics see them in seconds
        // (stat-shadow.c scales them by 1e-9): a recording's duration_time row in ns.
        if (count.unit == "ns" || count.unit == "nsec")
          divisor = 1e9;
        else if (count.unit == "us" || count.unit == "usec")
          divisor = 1e6;
        else if (count.unit == "ms" || count.unit == "msec")
          divisor = 1e3;
      }
      out.set(name, count.value / divisor);
      bindings.push_back({canonical_event_name(name), i, divisor});
    }
  }
  if (duration_s > 0 && !out.find("duration_time")) {
    out.set("duration_time", duration_s);
    bindings.push_back({"duration_time", kDuration, 1});
  }
  return out;
}

std::vector<EventValues::Entry*> EventValues::entries_of(const std::vector<Binding>& bindings) {
  std::vector<Entry*> out;
  out.reserve(bindings.size());
  for (const auto& b : bindings) {
    auto it = entries_.find(std::string_view(b.key));
    out.push_back(it == entries_.end() ? nullptr : &it->second);
  }
  return out;
}

void EventValues::update(const std::vector<Binding>& bindings, const std::vector<Entry*>& entries,
                         const std::vector<EventCount>& counts, double duration_s) {
  for (size_t i = 0; i < bindings.size(); ++i) {
    if (!entries[i]) continue;
    const auto& b = bindings[i];
    entries[i]->value = b.count == kDuration ? duration_s : counts[b.count].value / b.divisor;
  }
}

void Literals::set(std::string_view name, double value) {
  if (!name.empty() && name.front() == '#') name.remove_prefix(1);
  values_[lower(name)] = value;
}

std::optional<double> Literals::find(std::string_view name) const {
  if (!name.empty() && name.front() == '#') name.remove_prefix(1);
  auto it = values_.find(lower(name));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

const EventValues::Entry* SymbolLookupCache::find(const EventValues& events,
                                                  const ExprSymbol& symbol) {
  auto [it, inserted] = found_.try_emplace(&symbol, nullptr);
  if (inserted) it->second = events.find_key(symbol.key);
  return it->second;
}

const EventValues::Entry* ValuesEnv::find(const ExprSymbol& symbol) const {
  return cache_ != nullptr ? cache_->find(events_, symbol) : events_.find_key(symbol.key);
}

ExprValue ValuesEnv::identifier(size_t, const ExprSymbol& symbol) const {
  const auto* entry = find(symbol);
  if (entry && entry->value) return {entry->value, MetricAbsence::none, {}};
  MetricAbsence absence = entry ? entry->absence : MetricAbsence::event_not_measured;
  if (!reasons_) return {std::nullopt, absence, {}};
  if (!entry) return {std::nullopt, absence, "event " + symbol.spelling + " not counted"};
  return {std::nullopt, absence,
          "event " + symbol.spelling + " not counted (" + entry->reason + ")"};
}

std::optional<double> ValuesEnv::literal(std::string_view name) const {
  return literals_.find(name);
}

bool ValuesEnv::has_event(const ExprSymbol& symbol) const {
  const auto* entry = find(symbol);
  return entry && entry->value;
}

std::optional<std::string> ValuesEnv::cpuid() const {
  if (!cpuid_.empty()) return cpuid_;
  if (!literals_.cpuid().empty()) return literals_.cpuid();
  return std::nullopt;
}

// Recursive descent over perf's expr.y precedence, lowest first:
//   if/else, |, ^, &, comparisons, + -, * / %, unary minus.
class ExprParser {
 public:
  ExprParser(Expr& expr, int runtime) : expr_(expr), text_(expr.text_), runtime_(runtime) {}

  void parse() {
    next();
    Built root = parse_if(0);
    if (token_.kind != Kind::end)
      fail(token_, "expected an operator or the end, found " + describe(token_));
    expr_.root_ = root.node;
  }

 private:
  enum class Kind { end, number, symbol, literal, keyword, op };
  struct Token {
    Kind kind = Kind::end;
    std::string_view text;
    size_t pos = 0;
    double number = 0;
  };
  struct Built {
    int32_t node;
    int depth;
    size_t begin;  // where its text starts, '(' included
  };

  [[noreturn]] void fail(const Token& at, const std::string& what) {
    throw ExprError(at.pos + 1, what);
  }

  std::string describe(const Token& t) {
    if (t.kind == Kind::end) return "the end of the expression";
    return "'" + std::string(t.text) + "'";
  }

  // The longest run of symbol characters (with backslash escapes) starting at `pos`.
  size_t symbol_length(size_t pos) {
    size_t i = pos;
    while (i < text_.size()) {
      if (text_[i] == '\\' && i + 1 < text_.size() &&
          !std::isspace(static_cast<unsigned char>(text_[i + 1]))) {
        i += 2;
      } else if (is_symbol_char(text_[i])) {
        ++i;
      } else {
        break;
      }
    }
    return i - pos;
  }

  // perf's expr.l: ([0-9]+\.?[0-9]*|[0-9]*\.?[0-9]+)(e-?[0-9]+)? and 0x hex.
  size_t number_length(size_t pos) {
    auto digit = [&](size_t i) {
      return i < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i]));
    };
    size_t i = pos;
    if (i + 1 < text_.size() && text_[i] == '0' && (text_[i + 1] == 'x' || text_[i + 1] == 'X') &&
        i + 2 < text_.size() && std::isxdigit(static_cast<unsigned char>(text_[i + 2]))) {
      i += 2;
      while (i < text_.size() && std::isxdigit(static_cast<unsigned char>(text_[i]))) ++i;
      return i - pos;
    }
    size_t digits = 0;
    while (digit(i)) ++i, ++digits;
    if (i < text_.size() && text_[i] == '.') {
      ++i;
      while (digit(i)) ++i, ++digits;
    }
    if (digits == 0) return 0;
    if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
      size_t j = i + 1;
      if (j < text_.size() && (text_[j] == '-' || text_[j] == '+')) ++j;
      if (digit(j)) {
        while (digit(j)) ++j;
        i = j;
      }
    }
    return i - pos;
  }

  double number_value(const Token& t) {
    std::string_view s = t.text;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      uint64_t v = 0;
      auto [ptr, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
      if (ec != std::errc() || ptr != s.data() + s.size())
        fail(t, "number " + std::string(s) + " out of range");
      return double(v);
    }
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v))
      fail(t, "number " + std::string(s) + " out of range");
    return v;
  }

  void next() {
    size_t pos = pos_;
    while (pos < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos]))) ++pos;
    token_ = Token{};
    token_.pos = pos;
    if (pos >= text_.size()) {
      pos_ = pos;
      return;
    }
    char c = text_[pos];
    if (c == '#') {
      size_t i = pos + 1;
      while (i < text_.size() && is_literal_char(text_[i])) ++i;
      if (i == pos + 1) fail(token_, "expected a literal name after '#'");
      token_.kind = Kind::literal;
      token_.text = text_.substr(pos, i - pos);
      pos_ = i;
      return;
    }
    size_t num = number_length(pos);
    size_t sym = symbol_length(pos);
    if (num > 0 && num >= sym) {  // flex takes the longest match; on a tie, the number rule
      token_.kind = Kind::number;
      token_.text = text_.substr(pos, num);
      token_.number = number_value(token_);
      pos_ = pos + num;
      return;
    }
    if (sym > 0) {
      token_.text = text_.substr(pos, sym);
      static constexpr std::string_view kKeywords[] = {
          "if", "else", "min", "max", "d_ratio", "source_count", "has_event", "strcmp_cpuid_str"};
      token_.kind = Kind::symbol;
      for (auto k : kKeywords)
        if (token_.text == k) token_.kind = Kind::keyword;
      if (token_.text == "NaN") {
        token_.kind = Kind::number;
        token_.number = std::numeric_limits<double>::quiet_NaN();
      }
      pos_ = pos + sym;
      return;
    }
    static constexpr std::string_view kTwoChar[] = {"<=", ">=", "==", "!="};
    for (auto op : kTwoChar) {
      if (text_.substr(pos, 2) == op) {
        token_.kind = Kind::op;
        token_.text = text_.substr(pos, 2);
        pos_ = pos + 2;
        return;
      }
    }
    if (std::string_view("+-*/%<>|&^(),").find(c) != std::string_view::npos) {
      token_.kind = Kind::op;
      token_.text = text_.substr(pos, 1);
      pos_ = pos + 1;
      return;
    }
    if (c == '\\') fail(token_, "a backslash must escape a character of an event name");
    fail(token_, "unexpected character '" + std::string(1, c) + "'");
  }

  bool at_op(std::string_view op) const { return token_.kind == Kind::op && token_.text == op; }
  bool at_keyword(std::string_view k) const {
    return token_.kind == Kind::keyword && token_.text == k;
  }

  void expect_op(std::string_view op) {
    if (!at_op(op)) fail(token_, "expected '" + std::string(op) + "', found " + describe(token_));
    next();
  }

  Built add(Expr::Node node, std::initializer_list<Built> children, size_t begin) {
    int depth = 1;
    for (const auto& child : children) depth = std::max(depth, child.depth + 1);
    if (depth > kMaxDepth) fail(token_, "expression nested too deeply");
    node.begin = uint32_t(begin);
    node.end = uint32_t(last_end_);
    expr_.nodes_.push_back(node);
    return {int32_t(expr_.nodes_.size() - 1), depth, begin};
  }

  static size_t begin_of(const Built& b) { return b.begin; }

  Built parse_if(int nesting) {
    Built value = parse_binary(0, nesting);
    if (!at_keyword("if")) return value;
    next();
    Built cond = parse_binary(0, nesting);
    if (!at_keyword("else")) fail(token_, "expected 'else', found " + describe(token_));
    next();
    Built otherwise = parse_if(nesting);
    Expr::Node node;
    node.op = Expr::Op::choose;
    node.a = value.node;
    node.b = cond.node;
    node.c = otherwise.node;
    return add(node, {value, cond, otherwise}, begin_of(value));
  }

  struct Binary {
    std::string_view text;
    int level;
    Expr::Op op;
  };

  const Binary* binary_at() const {
    static const Binary kOps[] = {
        {"|", 0, Expr::Op::bit_or},         {"^", 1, Expr::Op::bit_xor},
        {"&", 2, Expr::Op::bit_and},        {"<", 3, Expr::Op::less},
        {">", 3, Expr::Op::greater},        {"<=", 3, Expr::Op::less_equal},
        {">=", 3, Expr::Op::greater_equal}, {"==", 3, Expr::Op::equal},
        {"!=", 3, Expr::Op::not_equal},     {"+", 4, Expr::Op::add},
        {"-", 4, Expr::Op::subtract},       {"*", 5, Expr::Op::multiply},
        {"/", 5, Expr::Op::divide},         {"%", 5, Expr::Op::modulo},
    };
    if (token_.kind != Kind::op) return nullptr;
    for (const auto& b : kOps)
      if (token_.text == b.text) return &b;
    return nullptr;
  }

  // Left-associative binary operators from `level` up.
  Built parse_binary(int level, int nesting) {
    if (level > 5) return parse_unary(nesting);
    Built left = parse_binary(level + 1, nesting);
    while (const Binary* b = binary_at()) {
      if (b->level != level) break;
      next();
      Built right = parse_binary(level + 1, nesting);
      Expr::Node node;
      node.op = b->op;
      node.a = left.node;
      node.b = right.node;
      left = add(node, {left, right}, begin_of(left));
    }
    return left;
  }

  Built parse_unary(int nesting) {
    if (at_op("-")) {
      size_t begin = token_.pos;
      next();
      Built operand = parse_unary(nesting + 1);
      Expr::Node node;
      node.op = Expr::Op::negate;
      node.a = operand.node;
      return add(node, {operand}, begin);
    }
    return parse_primary(nesting);
  }

  int32_t intern_symbol(std::vector<ExprSymbol>& into, std::string_view written) {
    // perf's expr.l (normalize): each '?' of an event name is the runtime parameter's value.
    // A '?' escaped with a backslash stays itself.
    std::string spelling;
    for (size_t i = 0; i < written.size(); ++i) {
      if (written[i] == '\\' && i + 1 < written.size()) {
        spelling += written.substr(i, 2);
        ++i;
      } else if (written[i] == '?') {
        spelling += std::to_string(runtime_);
      } else {
        spelling += written[i];
      }
    }
    ExprSymbol symbol{unescape_event_name(spelling), canonical_event_name(spelling)};
    for (size_t i = 0; i < into.size(); ++i)
      if (into[i].key == symbol.key) return int32_t(i);
    into.push_back(std::move(symbol));
    return int32_t(into.size() - 1);
  }

  int32_t intern_name(std::string name) {
    auto& names = expr_.names_;
    auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return int32_t(it - names.begin());
    names.push_back(std::move(name));
    return int32_t(names.size() - 1);
  }

  void consume() {
    last_end_ = token_.pos + token_.text.size();
    next();
  }

  Built parse_primary(int nesting) {
    if (nesting > kMaxDepth) fail(token_, "expression nested too deeply");
    Token t = token_;
    Expr::Node node;
    switch (t.kind) {
      case Kind::number:
        consume();
        node.op = Expr::Op::number;
        node.number = t.number;
        return add(node, {}, t.pos);
      case Kind::literal:
        consume();
        node.op = Expr::Op::literal;
        node.symbol = intern_name(lower(t.text.substr(1)));
        return add(node, {}, t.pos);
      case Kind::symbol:
        consume();
        if (at_op("(")) fail(t, "unknown function '" + std::string(t.text) + "'");
        node.op = Expr::Op::identifier;
        node.symbol = intern_symbol(expr_.symbols_, t.text);
        return add(node, {}, t.pos);
      case Kind::keyword:
        return parse_function(t, nesting);
      case Kind::op:
        if (t.text == "(") {
          next();
          Built inner = parse_if(nesting + 1);
          if (!at_op(")")) fail(token_, "expected ')', found " + describe(token_));
          consume();
          inner.begin = t.pos;
          return inner;
        }
        break;
      case Kind::end:
        break;
    }
    fail(t, "expected a number, an event, a #literal or '(', found " + describe(t));
  }

  std::string_view symbol_argument(const Token& function) {
    // perf's lexer has no hex numbers, so strcmp_cpuid_str(0x410fd490) reads an identifier.
    bool cpuid_number = function.text == "strcmp_cpuid_str" && token_.kind == Kind::number;
    if (token_.kind != Kind::symbol && !cpuid_number)
      fail(token_,
           std::string(function.text) + "() takes an event name, found " + describe(token_));
    std::string_view spelling = token_.text;
    next();
    return spelling;
  }

  Built parse_function(const Token& t, int nesting) {
    if (t.text == "if" || t.text == "else")
      fail(t, "'" + std::string(t.text) + "' must follow a value: VALUE if CONDITION else OTHER");
    next();
    expect_op("(");
    Expr::Node node;
    if (t.text == "has_event" || t.text == "source_count" || t.text == "strcmp_cpuid_str") {
      std::string_view spelling = symbol_argument(t);
      if (!at_op(")")) fail(token_, "expected ')', found " + describe(token_));
      consume();
      if (t.text == "has_event") {
        node.op = Expr::Op::has_event;
        node.symbol = intern_symbol(expr_.tested_, spelling);
      } else if (t.text == "source_count") {
        node.op = Expr::Op::source_count;
        node.symbol = intern_symbol(expr_.symbols_, spelling);
      } else {
        node.op = Expr::Op::cpuid_is;
        node.symbol = intern_name(unescape_event_name(spelling));
      }
      return add(node, {}, t.pos);
    }
    Built first = parse_if(nesting + 1);
    expect_op(",");
    Built second = parse_if(nesting + 1);
    if (!at_op(")")) fail(token_, "expected ')', found " + describe(token_));
    consume();
    node.op = t.text == "min" ? Expr::Op::min : t.text == "max" ? Expr::Op::max : Expr::Op::d_ratio;
    node.a = first.node;
    node.b = second.node;
    return add(node, {first, second}, t.pos);
  }

  Expr& expr_;
  std::string_view text_;
  size_t pos_ = 0;
  size_t last_end_ = 0;
  Token token_;
  int runtime_;
};

Expr Expr::parse(std::string_view text, int runtime) {
  Expr expr;
  expr.text_ = std::string(text);
  ExprParser(expr, runtime).parse();
  return expr;
}

std::vector<std::string> Expr::literals() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_)
    if (node.op == Op::literal) {
      const auto& name = names_[size_t(node.symbol)];
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  return out;
}

std::vector<size_t> Expr::needed_symbols(const ExprEnv& env) const {
  std::vector<size_t> out;
  if (root_ >= 0) collect_needed(root_, env, out);
  return out;
}

void Expr::collect_needed(int32_t index, const ExprEnv& env, std::vector<size_t>& out) const {
  const Node& n = nodes_[size_t(index)];
  if (n.op == Op::identifier || n.op == Op::source_count) {
    if (std::find(out.begin(), out.end(), size_t(n.symbol)) == out.end())
      out.push_back(size_t(n.symbol));
    return;
  }
  if (n.op == Op::choose) {
    ExprValue absent;
    if (auto cond = eval(n.b, env, absent)) {
      collect_needed(*cond != 0 ? n.a : n.c, env, out);
      return;
    }
    // Both branches the same constant: the condition decides nothing ("1.0 if EVENT1 > 100.0
    // else 1.0" needs no event, perf's tests/expr.c).
    ExprValue absent_a, absent_c;
    auto a = eval(n.a, env, absent_a), c = eval(n.c, env, absent_c);
    if (a && c && *a == *c) return;
  }
  if (n.op == Op::bit_or || n.op == Op::bit_and) {
    // A side known without events that decides the result (non-zero for |, zero for &) leaves
    // the other side unread: "0 & EVENT1 > 0" needs no event (perf's tests/expr.c).
    for (int32_t side : {n.a, n.b}) {
      ExprValue absent;
      auto v = eval(side, env, absent);
      if (v && (n.op == Op::bit_or ? *v != 0 : *v == 0)) return;
    }
  }
  for (int32_t child : {n.a, n.b, n.c})
    if (child >= 0) collect_needed(child, env, out);
}

std::string_view Expr::span(const Node& node) const {
  std::string_view s(text_);
  if (node.begin >= s.size() || node.end <= node.begin) return s;
  return s.substr(node.begin, std::min<size_t>(node.end, s.size()) - node.begin);
}

ExprValue Expr::evaluate(const ExprEnv& env) const {
  ExprValue out;
  auto value = eval(root_, env, out);
  if (!value) return out;
  if (std::isnan(*value)) {
    // eval() marks a NaN that a division by zero made with that kind: a value, as perf gives
    // it. Any other NaN is the file's own NaN constant, which metric files write for "no value
    // on this machine" (generic.json's top-down without topdown events).
    if (out.absence == MetricAbsence::division_by_zero)
      return {value, MetricAbsence::none, std::move(out.reason)};
    return {std::nullopt, MetricAbsence::not_a_number,
            env.wants_reasons() ? "not a number: " + text_ : std::string()};
  }
  return {value, MetricAbsence::none, {}};
}

ExprValue Expr::evaluate(const EventValues& events, const Literals& literals) const {
  return evaluate(ValuesEnv(events, literals));
}

namespace {

// A CPU identifier as a number: perf's arm64 form, the MIDR in hex ("0x00000000410fd493").
std::optional<uint64_t> hex_cpuid(std::string_view text) {
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data() + 2, text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// strcmp_cpuid_str(wanted) on a CPU whose identifier is `cpuid`, as perf's strcmp_cpuid_str of
// each architecture answers it (tools/perf/arch/{arm64,x86}/util/header.c):
// - MIDRs (arm64): the same implementer, architecture and part, and the CPU's variant.revision
//   (r<variant>p<revision>) at least the wanted one: 0x410fd493 is "Neoverse N2 r0p3 or later".
// - otherwise `wanted` is a POSIX extended regular expression that must match the whole
//   identifier ("GenuineIntel-6-55-[01234]" against "GenuineIntel-6-55-4"), as on x86, where a
//   pattern without the stepping (fewer than three '-') matches the identifier without it, and
//   one with it never matches an identifier that lacks it.
bool cpuid_matches(std::string_view cpuid, const std::string& wanted) {
  auto cpu = hex_cpuid(cpuid), want = hex_cpuid(wanted);
  if (cpu && want) {
    constexpr uint64_t kVariant = 0xf00000, kRevision = 0xf;
    constexpr uint64_t kIdentity = 0xffffffff & ~(kVariant | kRevision);
    if ((*cpu & kIdentity) != (*want & kIdentity)) return false;
    auto version = [&](uint64_t midr) { return ((midr & kVariant) >> 16) | (midr & kRevision); };
    return version(*cpu) >= version(*want);
  }
  auto full = [](std::string_view id) { return std::count(id.begin(), id.end(), '-') == 3; };
  bool full_wanted = full(wanted), full_cpuid = full(cpuid);
  if (full_wanted && !full_cpuid) return false;
  size_t length = !full_wanted && full_cpuid ? cpuid.rfind('-') : cpuid.size();
  regex_t re;
  if (regcomp(&re, wanted.c_str(), REG_EXTENDED) != 0) return false;  // perf: no match
  std::string id(cpuid);
  regmatch_t match[1];
  bool whole = regexec(&re, id.c_str(), 1, match, 0) == 0 && match[0].rm_so == 0 &&
               size_t(match[0].rm_eo) == length;
  regfree(&re);
  return whole;
}

// perf casts to long for %; values outside long's range have no integer meaning.
std::optional<long long> as_integer(double v) {
  if (!std::isfinite(v) || v >= 9.2e18 || v <= -9.2e18) return std::nullopt;
  return static_cast<long long>(v);
}

}  // namespace

// `|` and `&` are logical and lazy, as in perf's expr.y since 6.5 ("Make the evaluation of & and |
// logical and lazy"): a side that decides the result (non-zero for `|`, zero for `&`; NaN is
// non-zero) gives it even when the other side cannot be computed, so a threshold such as
// `tma_retiring > 0.7 | tma_heavy_operations > 0.1` has an answer without every event.
std::optional<double> Expr::eval_logical(const Node& n, const ExprEnv& env,
                                         ExprValue& absent) const {
  const bool is_or = n.op == Op::bit_or;
  auto decides = [&](double v) { return is_or ? v != 0 : v == 0; };
  ExprValue absent_a, absent_b;
  auto a = eval(n.a, env, absent_a);
  if (a && decides(*a)) return is_or ? 1.0 : 0.0;
  auto b = eval(n.b, env, absent_b);
  if (b && decides(*b)) return is_or ? 1.0 : 0.0;
  if (!a) {
    absent = std::move(absent_a);
    return std::nullopt;
  }
  if (!b) {
    absent = std::move(absent_b);
    return std::nullopt;
  }
  return is_or ? 0.0 : 1.0;  // neither side decided: both zero for `|`, both non-zero for `&`
}

std::optional<double> Expr::eval(int32_t index, const ExprEnv& env, ExprValue& absent) const {
  const Node& n = nodes_[size_t(index)];
  switch (n.op) {
    case Op::number:
      return n.number;
    case Op::literal: {
      const auto& name = names_[size_t(n.symbol)];
      auto v = env.literal(name);
      if (!v) {
        absent.absence = MetricAbsence::literal_unknown;
        if (env.wants_reasons()) absent.reason = "literal #" + name + " not known";
      }
      return v;
    }
    case Op::identifier: {
      auto v = env.identifier(size_t(n.symbol), symbols_[size_t(n.symbol)]);
      if (v.value) {
        // Another metric's NaN (a division by zero's: any other is absent) brings its reason.
        if (std::isnan(*v.value) && absent.absence != MetricAbsence::division_by_zero) {
          absent.absence = MetricAbsence::division_by_zero;
          absent.reason = std::move(v.reason);
        }
        return v.value;
      }
      absent = std::move(v);
      return std::nullopt;
    }
    case Op::source_count: {
      auto v = env.identifier(size_t(n.symbol), symbols_[size_t(n.symbol)]);
      if (!v.value) {
        absent = std::move(v);
        return std::nullopt;
      }
      return 1.0;  // one source: pmcmodel reads each event as one aggregated count
    }
    case Op::has_event:
      return env.has_event(tested_[size_t(n.symbol)]) ? 1.0 : 0.0;
    case Op::cpuid_is: {
      auto cpuid = env.cpuid();
      if (!cpuid) {
        absent.absence = MetricAbsence::cpuid_unknown;
        if (env.wants_reasons()) absent.reason = "cpuid not known for " + std::string(span(n));
        return std::nullopt;
      }
      return cpuid_matches(*cpuid, names_[size_t(n.symbol)]) ? 1.0 : 0.0;
    }
    case Op::negate: {
      auto v = eval(n.a, env, absent);
      if (!v) return std::nullopt;
      return -*v;
    }
    case Op::choose: {
      auto cond = eval(n.b, env, absent);
      if (!cond) {
        // The same value either way needs no condition (what collect_needed() asks for).
        ExprValue absent_a, absent_c;
        auto a = eval(n.a, env, absent_a), c = eval(n.c, env, absent_c);
        if (a && c && *a == *c) return a;
        return std::nullopt;
      }
      return eval(*cond != 0 ? n.a : n.c, env, absent);
    }
    case Op::bit_or:
    case Op::bit_and:
      return eval_logical(n, env, absent);
    default:
      break;
  }
  auto a = eval(n.a, env, absent);
  if (!a) return std::nullopt;
  auto b = eval(n.b, env, absent);
  if (!b) return std::nullopt;
  double x = *a, y = *b;
  switch (n.op) {
    case Op::add:
      return x + y;
    case Op::subtract:
      return x - y;
    case Op::multiply:
      return x * y;
    // As perf's expr.y writes them: min(NaN, 2) is 2 and min(2, NaN) NaN.
    case Op::min:
      return x < y ? x : y;
    case Op::max:
      return x > y ? x : y;
    case Op::d_ratio:
      return y == 0 ? 0.0 : x / y;  // perf's documented semantics
    case Op::divide:
      // perf's expr.y: a zero divisor gives NaN, printed as "nan", rather than no value. The
      // first one met is marked in `absent` (its kind and reason) beside the value, for
      // evaluate(); an absent operand met later replaces the mark.
      if (y == 0) {
        if (absent.absence != MetricAbsence::division_by_zero) {
          absent.absence = MetricAbsence::division_by_zero;
          if (env.wants_reasons())
            absent.reason = "division by zero in " + std::string(span(nodes_[size_t(n.b)])) +
                            " (in " + std::string(span(n)) + ")";
        }
        return std::numeric_limits<double>::quiet_NaN();
      }
      return x / y;
    case Op::modulo: {
      auto xi = as_integer(x), yi = as_integer(y);
      if (!xi || !yi) {
        absent.absence = MetricAbsence::not_an_integer;
        if (env.wants_reasons())
          absent.reason = "value out of integer range in " + std::string(span(n));
        return std::nullopt;
      }
      if (*yi == 0) {
        absent.absence = MetricAbsence::division_by_zero;
        if (env.wants_reasons())
          absent.reason = "division by zero in " + std::string(span(nodes_[size_t(n.b)])) +
                          " (in " + std::string(span(n)) + ")";
        return std::nullopt;
      }
      if (*yi == -1) return 0.0;  // avoids LLONG_MIN % -1
      return double(*xi % *yi);
    }
    default:
      break;
  }
  // perf's expr.y gives NaN for a comparison or ^ with a NaN side, as for arithmetic.
  if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<double>::quiet_NaN();
  switch (n.op) {
    case Op::less:
      return x < y ? 1.0 : 0.0;
    case Op::greater:
      return x > y ? 1.0 : 0.0;
    case Op::less_equal:
      return x <= y ? 1.0 : 0.0;
    case Op::greater_equal:
      return x >= y ? 1.0 : 0.0;
    case Op::equal:
      return x == y ? 1.0 : 0.0;
    case Op::not_equal:
      return x != y ? 1.0 : 0.0;
    case Op::bit_xor:  // logical, as perf's expr.y since 6.5: exactly one side non-zero
      return ((x != 0) != (y != 0)) ? 1.0 : 0.0;
    default:
      break;
  }
  absent.absence = MetricAbsence::internal;
  if (env.wants_reasons()) absent.reason = "internal: unknown operation";
  return std::nullopt;
}

}  // namespace pmc
