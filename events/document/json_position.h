#pragma once
// Where a value stands in a JSON text, for the line of an error about it: the documents are read
// into nlohmann::json, which keeps no positions, so the text is walked again when (and only when)
// a value is refused.
#include <cstddef>
#include <string_view>

namespace pmc {

// The byte offset of the value at `path` in `text`, a path as the document reader names records
// and fields: "duration_s", "events[3].value", "intervals[0].events[2]", "machine.gpus[1]" (a
// leading "the document." is ignored). Where the path is not found (a key written with escapes,
// a field that is absent), the offset of the nearest record on the path that is; 0 when none.
// `text` must be JSON that a parser accepted.
size_t json_value_offset(std::string_view text, std::string_view path);

// The 1-based line of byte `offset` in `text`.
size_t line_of_offset(std::string_view text, size_t offset);

}  // namespace pmc
