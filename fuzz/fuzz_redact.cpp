// The redactor, with properties checked on every input:
//  1. with no secrets the output is the input, byte for byte;
//  2. the output does not depend on how the input is split into writes (each split is compared with
//     one write of the whole input);
//  3. `redact` (which scans short strings directly) gives what the redactor gives;
//  4. no secret piece survives in the output. Pieces are checked when they share no byte with the
//     `((redacted))` marker, so that a match is certainly in text the redactor let through.
// Secrets reach the redactor as Concourse's pieces of credential values (`redaction_pieces`), or,
// chosen by the input, as raw strings straight to the constructor (any length, any order).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "taskstep/vars/redact.hpp"

namespace {

[[noreturn]] void violation(const char* what) {
  std::fprintf(stderr, "redactor property violated: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace taskstep;
  FuzzedDataProvider in(data, size);
  const bool raw = in.ConsumeBool();
  std::map<std::string, std::string> creds;
  const int n = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < n; ++i) creds["s" + std::to_string(i)] = in.ConsumeRandomLengthString(48);
  std::vector<std::size_t> cuts;
  const int writes = in.ConsumeIntegralInRange(1, 16);
  for (int i = 0; i + 1 < writes; ++i) cuts.push_back(in.ConsumeIntegralInRange<std::size_t>(0, 64));
  const std::string input = in.ConsumeRemainingBytesAsString();

  std::vector<std::string> pieces;
  if (raw) {
    for (const auto& [name, v] : creds) pieces.push_back(v);
  } else {
    pieces = vars::redaction_pieces(creds);
  }

  vars::redactor split(pieces);
  std::string out;
  std::size_t pos = 0;
  for (std::size_t c : cuts) {
    const std::size_t len = std::min(c, input.size() - pos);
    out += split.write(std::string_view(input).substr(pos, len));
    pos += len;
  }
  out += split.write(std::string_view(input).substr(pos));
  out += split.flush();

  vars::redactor whole(pieces);
  std::string once = whole.write(input);
  once += whole.flush();

  bool any = false;
  for (const auto& p : pieces) any = any || !p.empty();
  if (!any && out != input) violation("output differs from input without secrets");
  if (out != once) violation("output depends on how the input was split into writes");
  if (vars::redact(input, pieces) != once) violation("redact of the whole string differs from the redactor");
  for (const auto& p : pieces) {
    if (p.empty() || p.find_first_of(vars::redacted_text) != std::string::npos) continue;
    if (out.find(p) != std::string::npos) violation("a secret appears in the output");
  }
  return 0;
}
