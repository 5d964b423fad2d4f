#pragma once
// A linear pass over a JSON text before it is parsed, for what nlohmann::json does not refuse on
// its own: nesting deep enough to exhaust the stack (150,000 nested arrays crashed `report`), a
// key given twice in one object (the parser keeps the last one silently: a model's "target"
// relabelled), and a number outside a double (1e400, a raw parser message). Each is refused with
// the line it is on.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pmc {

// Far deeper than any document pmcmodel writes (6 levels) or reads (perf's metric files: 4).
inline constexpr size_t kMaxJsonDepth = 256;

struct JsonProblem {
  size_t line = 0;   // 1-based
  std::string what;  // "nesting deeper than 256 levels", "key \"target\" given twice in an object"…
};

// The first problem in `text`, or nullopt. Malformed JSON that is none of these is left to the
// parser (its message says what was expected).
std::optional<JsonProblem> find_json_problem(std::string_view text,
                                             size_t max_depth = kMaxJsonDepth);

}  // namespace pmc
