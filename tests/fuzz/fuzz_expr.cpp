// libFuzzer target: a MetricExpr either fails to parse with ExprError or evaluates to a value or
// an absence with a reason; nothing else (no crash, no other exception, no unbounded recursion).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "events/metrics/expr.h"
#include "events/metrics/metric_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  pmc::Expr expr;
  try {
    expr = pmc::Expr::parse(text);
  } catch (const pmc::ExprError&) {
    return 0;
  }
  // Give every identifier and literal a value, with zeros to reach the division paths.
  pmc::EventValues events;
  pmc::Literals literals;
  double value = 0;
  for (const auto& symbol : expr.symbols()) {
    events.set(symbol.spelling, value);
    value = value == 0 ? 3 : 0;
  }
  for (const auto& name : expr.literals()) literals.set(name, 1);
  (void)expr.evaluate(events, literals);
  (void)expr.evaluate(pmc::EventValues{}, pmc::Literals{});
  (void)expr.needed_symbols(pmc::ValuesEnv(events, literals, "0x0"));
  for (const auto& symbol : expr.symbols()) {
    (void)pmc::is_fixed_counter_event(symbol.spelling);
    (void)pmc::is_off_core_event(symbol.spelling);
  }
  return 0;
}
