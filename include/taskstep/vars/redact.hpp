#pragma once
//! \file
//! Streaming redaction of credential values from task output (`((redacted))`).
//!
//! Concourse splits each recorded value on newlines, trims each piece and redacts pieces longer than
//! one byte. Concourse holds output back until a newline; this redactor is live instead: it emits
//! everything except a tail that could still be the start of a secret, so a secret split across two
//! writes is still caught and output without newlines still streams.

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskstep/core/json.hpp"

namespace taskstep::vars {

inline constexpr std::string_view redacted_text = "((redacted))";

//! Go's `unicode.IsSpace`.
inline bool is_go_space(long cp) {
  switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: return true;
    default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

//! Go's `strings.TrimSpace`: strips Unicode white space at both ends.
inline std::string_view trim_space(std::string_view s) {
  while (!s.empty()) {
    std::size_t i = 0;
    const long cp = taskstep::detail::decode_utf8(s, i);
    if (cp < 0 || !is_go_space(cp)) break;
    s.remove_prefix(i);
  }
  while (!s.empty()) {
    // find the start of the last code point
    std::size_t b = s.size() - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80 && s.size() - b < 4) --b;
    std::size_t i = b;
    const long cp = taskstep::detail::decode_utf8(s, i);
    if (cp < 0 || i != s.size() || !is_go_space(cp)) break;
    s.remove_suffix(s.size() - b);
  }
  return s;
}

//! The pieces of credential values that are redacted: each value split on `\n`, trimmed, length > 1.
inline std::vector<std::string> redaction_pieces(const std::map<std::string, std::string>& creds) {
  std::vector<std::string> out;
  for (const auto& [name, v] : creds) {
    std::size_t start = 0;
    while (start <= v.size()) {
      auto end = v.find('\n', start);
      if (end == std::string::npos) end = v.size();
      const std::string_view piece = trim_space(std::string_view(v.data() + start, end - start));
      if (piece.size() > 1) out.emplace_back(piece);
      start = end + 1;
    }
  }
  // Longest first, so a secret that contains another is redacted whole; equal lengths by value, so
  // that duplicates are adjacent and `unique` drops them.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() != b.size() ? a.size() > b.size() : a < b; });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

//! Replaces secrets in a byte stream written in arbitrary chunks. `write` returns what may be shown
//! now; `flush` returns the held-back tail at the end of the stream.
class redactor {
 public:
  redactor() = default;
  explicit redactor(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {
    std::erase(secrets_, std::string());  // an empty secret matches everywhere and never advances
  }

  [[nodiscard]] bool empty() const noexcept { return secrets_.empty(); }

  std::string write(std::string_view chunk) {
    if (secrets_.empty()) return std::string(chunk);
    pending_.append(chunk);
    return drain(false);
  }

  //! The end of the stream: whatever was held back, redacted.
  std::string flush() { return drain(true); }

 private:
  std::string drain(bool at_end) {
    std::string out;
    std::size_t pos = 0;
    while (pos < pending_.size()) {
      std::string_view rest(pending_.data() + pos, pending_.size() - pos);
      bool matched = false;
      bool partial = false;
      for (const auto& s : secrets_) {
        if (rest.size() >= s.size()) {
          if (rest.compare(0, s.size(), s) == 0) {
            out += redacted_text;
            pos += s.size();
            matched = true;
            break;
          }
        } else if (!at_end && s.compare(0, rest.size(), rest) == 0) {
          partial = true;  // may become a (longer) secret with the next write
          break;
        }
      }
      if (matched) continue;
      if (partial) break;
      out += pending_[pos++];
    }
    pending_.erase(0, pos);
    return out;
  }

  std::vector<std::string> secrets_;
  std::string pending_;
};

//! `text` with every piece of `pieces` (from `redaction_pieces`) replaced by `((redacted))`: a whole
//! string through a fresh redactor, for messages and fields that are not streamed.
inline std::string redact(std::string_view text, const std::vector<std::string>& pieces) {
  if (pieces.empty()) return std::string(text);
  redactor r(pieces);
  std::string out = r.write(text);  // before flush(): the two calls must not be unsequenced operands
  out += r.flush();
  return out;
}

}  // namespace taskstep::vars
