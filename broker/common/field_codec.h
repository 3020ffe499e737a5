// The plaintext form of sealed records: fields as a 4-byte big-endian length
// and their bytes, numbers as decimal text. A format whose every copy of a
// secret the broker owns and can wipe (a JSON library would leave copies).
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace credbroker {

// Fields longer than this are refused when read.
inline constexpr std::size_t kMaxFieldBytes = 8192;

void PutField(std::string& out, absl::string_view value);
void PutIntField(std::string& out, int64_t value);
// Takes one field off the front of `in`; false when `in` does not start
// with a whole field.
bool TakeField(absl::string_view& in, absl::string_view* value);
// Takes one decimal field within [min, max].
bool TakeIntField(absl::string_view& in, int64_t min, int64_t max, int64_t* value);

}  // namespace credbroker
