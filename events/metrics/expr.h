#pragma once
// An evaluator for the MetricExpr language of Linux perf's pmu-events JSON files
// (tools/perf/util/expr.l and expr.y): numbers (1e9, 0x10, NaN), + - * / %, unary minus,
// parentheses, comparisons < > (and, as an extension, <= >= == !=), logical | & ^ (| and & lazy),
// `a if cond else b`, min, max, d_ratio, source_count, has_event, strcmp_cpuid_str,
// #literals, and identifiers naming events (INST_RETIRED.ANY, cpu_core@INST_RETIRED.ANY@,
// topdown\-retiring, BR_INST_RETIRED.FAR_BRANCH:u, msr@tsc@) or other metrics.
//
// An expression is parsed once into a tree and evaluated many times (once per interval).
// Evaluation never throws and never invents a value: it returns a number or an absence, as a kind
// (MetricAbsence) and a reason (an event that was not counted, a literal nobody supplied). As in
// perf's expr.y, a division by zero gives NaN, a value that perf prints as "nan": the reason
// then says which division it was.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

// A syntax error; `column` is the 1-based character position in the expression.
class ExprError : public std::runtime_error {
 public:
  ExprError(size_t column, const std::string& what);
  size_t column() const { return column_; }

 private:
  size_t column_;
};

// Why an expression, and so a metric, has no value: what code decides on. The reason beside it
// says the same for people and is never read back.
enum class MetricAbsence : uint8_t {
  none,                     // there is a value
  event_not_measured,       // the counts have no event of that name (never asked for, not named)
  event_not_supported,      // EventStatus::not_supported: this machine cannot count it
  event_permission_denied,  // EventStatus::permission_denied: the kernel refused it
  event_not_counted,        // EventStatus::not_counted: opened but never on a counter
  literal_unknown,          // a #literal nobody supplied
  cpuid_unknown,            // strcmp_cpuid_str() without the CPU's identifier
  division_by_zero,         // a % whose divisor is 0 (perf's expr.y gives up there; / gives NaN)
  not_an_integer,           // % of a value outside long's range
  not_a_number,             // the expression's own NaN constant: "no value here"
  reference_cycle,          // metrics that name each other
  internal,                 // an operation the evaluator does not know: a bug
};

// The absence an event's status gives the expressions that read it (none when counted).
MetricAbsence absence_of(EventStatus status);

// Whether the absence comes from an event that no other reading of the same run can have: the
// run does not count it at all, or the kernel could not or would not open it. An event not
// counted in one interval (multiplexed away) can be counted in the next, a zero denominator can
// be another number, and neither is for good.
bool lacks_event_for_good(MetricAbsence absence);

// The key under which an event name is looked up: perf's escapes removed, '@' read as '/',
// lower case (perf matches event names case-insensitively), the default core PMU ("cpu/X/")
// dropped, and perf's generic aliases folded (cpu-cycles → cycles, branch-instructions →
// branches, …).
std::string canonical_event_name(std::string_view spelling);

// An event name as perf's parser would be given it: escapes removed, '@' read as '/'.
std::string unescape_event_name(std::string_view spelling);

// Event values an expression reads, by canonical name.
class EventValues {
 public:
  struct Entry {
    std::optional<double> value;  // absent when the event was asked for but not counted
    MetricAbsence absence = MetricAbsence::none;  // absence_of() its status
    std::string reason;                           // why it is absent: "status: the count's reason"
  };
  void set(std::string_view name, double value);
  // An event of the counts that has no value: `status` is not counted, `reason` the count's.
  void set_missing(std::string_view name, EventStatus status, std::string_view reason);
  const Entry* find(std::string_view name) const;  // any spelling; nullptr when never set
  // A canonical_event_name() already. CPU_CLK_UNHALTED.THREAD ("cpu_core/…/" too) that was not
  // set is found as `cycles` where that was (the same count on Intel; perf 5.x's metric files
  // named it so).
  const Entry* find_key(std::string_view key) const;
  size_t size() const { return entries_.size(); }

  // From a measurement's counts. Units follow perf's metric evaluation: clock events
  // (task-clock, cpu-clock) in nanoseconds, duration_time in seconds, everything else as the
  // count's value. An event on a PMU other than the core one is also known as "pmu/name/".
  static EventValues from_counts(const std::vector<EventCount>& counts, double duration_s);

  // What from_counts() set from each count, in order: entry `key` = counts[count].value / divisor
  // (count == npos: duration_time = duration_s). With these, counts laid out the same way (the
  // next interval of a recording: same names, PMUs, units and statuses) update the table in place
  // instead of building it again.
  struct Binding {
    std::string key;
    size_t count = 0;
    double divisor = 1;
  };
  static constexpr size_t kDuration = size_t(-1);
  static EventValues from_counts(const std::vector<EventCount>& counts, double duration_s,
                                 std::vector<Binding>& bindings);
  // The entry of each binding's key (nullptr where none), for update(). Valid while this table
  // lives; a table that is moved keeps its entries (node-based), but take them after it is in
  // place.
  std::vector<Entry*> entries_of(const std::vector<Binding>& bindings);
  // Sets the bound entries from counts with the layout the bindings were made from.
  static void update(const std::vector<Binding>& bindings, const std::vector<Entry*>& entries,
                     const std::vector<EventCount>& counts, double duration_s);

 private:
  // Looked up by string_view without building a key string (C++20 heterogeneous lookup).
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries_;
};

// Values of #literals ("#smt_on", "#num_cpus", "#slots", "#SYSTEM_TSC_FREQ"…), matched without
// regard to case, with or without the '#'. Evaluation reports a literal nobody set as absent.
// The CPU's identifier travels with them for strcmp_cpuid_str(), in perf's form for the
// architecture (get_cpuid_str: arm64's MIDR "0x00000000410fd493", x86's "GenuineIntel-6-55-4").
class Literals {
 public:
  void set(std::string_view name, double value);
  std::optional<double> find(std::string_view name) const;
  void set_cpuid(std::string cpuid) { cpuid_ = std::move(cpuid); }
  const std::string& cpuid() const { return cpuid_; }  // empty when unknown

 private:
  std::unordered_map<std::string, double> values_;
  std::string cpuid_;
};

// The result of evaluating an expression: a value, or why there is none. A value may be NaN:
// a division by zero's, as perf computes and prints it. The NaN constant (`else NaN`), with which
// a metric file says it has no formula for the machine, gives no value (not_a_number).
struct ExprValue {
  std::optional<double> value;
  MetricAbsence absence = MetricAbsence::none;  // none exactly when value is there
  std::string reason;  // the absence in words; for a NaN value, where the NaN came from
};

// An identifier as written in an expression.
struct ExprSymbol {
  std::string spelling;  // unescaped, '@' read as '/': "cpu_core/INST_RETIRED.ANY/"
  std::string key;       // canonical_event_name(spelling)
};

// What an expression's identifiers, literals and cpuid tests resolve to.
class ExprEnv {
 public:
  virtual ~ExprEnv() = default;
  // The value of identifier number `index` of the expression being evaluated.
  virtual ExprValue identifier(size_t index, const ExprSymbol& symbol) const = 0;
  virtual std::optional<double> literal(std::string_view name) const = 0;
  virtual bool has_event(const ExprSymbol& symbol) const = 0;
  virtual std::optional<std::string> cpuid() const { return std::nullopt; }
  // False when only values are wanted: absent ones then come without the reason, which is
  // not built.
  virtual bool wants_reasons() const { return true; }
};

// The entries of one EventValues table that symbols named, remembered by the symbol's address:
// for the same expressions evaluated on one table again and again while only its values change
// (EventValues::update keeps the entries where they are). The symbols must outlive the cache,
// and a table rebuilt needs a cache cleared.
class SymbolLookupCache {
 public:
  const EventValues::Entry* find(const EventValues& events, const ExprSymbol& symbol);
  void clear() { found_.clear(); }

 private:
  std::unordered_map<const ExprSymbol*, const EventValues::Entry*> found_;
};

// Identifiers are events from `events`; literals from `literals`; the CPU's identifier is
// `cpuid`, else the literals'.
class ValuesEnv : public ExprEnv {
 public:
  ValuesEnv(const EventValues& events, const Literals& literals, std::string cpuid = {},
            SymbolLookupCache* cache = nullptr, bool reasons = true)
      : events_(events),
        literals_(literals),
        cpuid_(std::move(cpuid)),
        cache_(cache),
        reasons_(reasons) {}
  bool wants_reasons() const override { return reasons_; }
  ExprValue identifier(size_t index, const ExprSymbol& symbol) const override;
  std::optional<double> literal(std::string_view name) const override;
  bool has_event(const ExprSymbol& symbol) const override;
  std::optional<std::string> cpuid() const override;

 private:
  const EventValues::Entry* find(const ExprSymbol& symbol) const;

  const EventValues& events_;
  const Literals& literals_;
  std::string cpuid_;
  SymbolLookupCache* cache_;
  bool reasons_;
};

class Expr {
 public:
  // Throws ExprError naming the column of the first thing that is not perf's grammar.
  // `runtime` is perf's runtime parameter: each '?' in an event name is its value
  // ("hv_24x7@PM_PB_CYC\,chip\=?@" reads hv_24x7/PM_PB_CYC,chip=0/). perf makes one instance of
  // such a metric per value from 0 to arch_get_runtimeparam() - 1, which is 1 but on POWER's
  // hv_24x7 (its sockets): metric files are parsed with 0.
  static Expr parse(std::string_view text, int runtime = 0);

  const std::string& text() const { return text_; }
  // Identifiers in order of first appearance, each once (by key). has_event() arguments are
  // not among them: they are tested, not read.
  const std::vector<ExprSymbol>& symbols() const { return symbols_; }
  // Literal names used, lower case without '#'.
  std::vector<std::string> literals() const;

  // Indices into symbols() that evaluation can read, given what `env` knows without events:
  // where an if/else condition evaluates (from #literals alone) only the branch it selects
  // counts, as in perf's expr.y when computing ids.
  std::vector<size_t> needed_symbols(const ExprEnv& env) const;

  ExprValue evaluate(const ExprEnv& env) const;
  ExprValue evaluate(const EventValues& events, const Literals& literals) const;

  enum class Op : uint8_t {
    number,
    literal,
    identifier,
    has_event,
    source_count,
    cpuid_is,
    negate,
    add,
    subtract,
    multiply,
    divide,
    modulo,
    less,
    greater,
    less_equal,
    greater_equal,
    equal,
    not_equal,
    bit_or,
    bit_and,
    bit_xor,
    min,
    max,
    d_ratio,
    choose
  };
  struct Node {
    Op op = Op::number;
    int32_t a = -1, b = -1, c = -1;  // operands; for choose: a if b else c
    double number = 0;
    int32_t symbol = -1;          // into symbols_ (identifier, source_count), tested_ (has_event),
                                  // or names_ (literal, cpuid_is)
    uint32_t begin = 0, end = 0;  // source span, for reasons
  };

 private:
  friend class ExprParser;
  // The value of `node`, or nullopt with `absent`'s absence and reason set.
  std::optional<double> eval(int32_t node, const ExprEnv& env, ExprValue& absent) const;
  std::optional<double> eval_logical(const Node& n, const ExprEnv& env, ExprValue& absent) const;
  std::string_view span(const Node& node) const;
  void collect_needed(int32_t node, const ExprEnv& env, std::vector<size_t>& out) const;

  std::string text_;
  std::vector<Node> nodes_;
  int32_t root_ = -1;
  std::vector<ExprSymbol> symbols_;  // identifiers read
  std::vector<ExprSymbol> tested_;   // has_event() arguments
  std::vector<std::string> names_;   // literal names and cpuid strings
};

}  // namespace pmc
