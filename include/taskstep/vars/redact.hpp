#pragma once
//! \file
//! Streaming redaction of credential values from task output (`((redacted))`).
//!
//! Concourse splits each recorded value on newlines, trims each piece and redacts pieces longer than
//! one byte. Concourse holds output back until a newline; this redactor is live instead: it emits
//! everything except a tail that could still be the start of a secret, so a secret split across two
//! writes is still caught and output without newlines still streams.

#include <algorithm>
#include <array>
#include <cstdint>
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
//!
//! At each position the first secret (in the order given) that starts there is replaced, and the
//! search resumes after it; a position where no secret starts is shown as is. The secrets are compiled
//! once into an Aho–Corasick automaton (a dense DFA over the bytes that occur in secrets), so the cost
//! per byte does not depend on how many secrets there are; text between matches is appended in bulk.
//! Only a tail that could still become a secret is held back, so the output of any split of the
//! stream into writes equals that of one write. The table takes 4 bytes per (trie state, byte class):
//! 100 secrets of 32 letters and digits ≈ 0.8 MB, 1,000 ≈ 8 MB.
class redactor {
 public:
  redactor() = default;
  explicit redactor(std::vector<std::string> secrets) {
    std::erase(secrets, std::string());  // an empty secret matches everywhere and never advances
    if (!secrets.empty()) build(secrets);
  }

  [[nodiscard]] bool empty() const noexcept { return delta_.empty(); }

  std::string write(std::string_view chunk) {
    if (empty()) return std::string(chunk);
    if (pending_.empty()) return drain(chunk, false);
    pending_.append(chunk);
    return drain_pending(false);
  }

  //! The end of the stream: whatever was held back, redacted.
  std::string flush() { return empty() ? std::string() : drain_pending(true); }

 private:
  static constexpr std::uint32_t match_bit = 0x80000000u;  // set on a transition into a state that ends a secret
  static constexpr std::uint32_t no_secret = 0xFFFFFFFFu;

  struct state {
    std::uint32_t depth = 0;             // length of the prefix this state stands for
    std::uint32_t ends = no_secret;      // the index of the secret that is exactly this prefix
    std::uint32_t best_below = no_secret;  // the lowest index of a secret this prefix starts
  };

  void build(const std::vector<std::string>& secrets) {
    for (auto& c : class_) c = 0;
    std::uint32_t classes = 1;  // class 0: every byte that occurs in no secret
    std::size_t longest = 0;
    for (const auto& s : secrets) {
      longest = std::max(longest, s.size());
      for (unsigned char b : s)
        if (class_[b] == 0) class_[b] = static_cast<std::uint16_t>(classes++);
    }
    classes_ = classes;
    longest_ = longest;
    // The trie first: `delta_` holds the child transitions, `none` where there is no child.
    constexpr std::uint32_t none = 0x7FFFFFFFu;
    states_.assign(1, state{});
    delta_.assign(classes, none);
    for (std::uint32_t index = 0; index < secrets.size(); ++index) {
      std::uint32_t at = 0;
      states_[0].best_below = std::min(states_[0].best_below, index);
      for (unsigned char b : secrets[index]) {
        std::uint32_t& next = delta_[at * classes + class_[b]];
        if (next == none) {
          next = static_cast<std::uint32_t>(states_.size());
          states_.push_back(state{states_[at].depth + 1, no_secret, no_secret});
          delta_.resize(delta_.size() + classes, none);
        }
        at = delta_[at * classes + class_[b]];
        states_[at].best_below = std::min(states_[at].best_below, index);
      }
      states_[at].ends = std::min(states_[at].ends, index);
    }
    // Then the failure links, breadth first, turning the trie into a DFA whose state is the longest
    // suffix of the text that is a prefix of a secret; `matches` marks states with a secret as a suffix.
    std::vector<std::uint32_t> fail(states_.size(), 0), queue;
    std::vector<bool> matches(states_.size(), false);
    queue.reserve(states_.size());
    for (std::uint32_t c = 0; c < classes; ++c) {
      std::uint32_t& next = delta_[c];
      if (next == none) {
        next = 0;
      } else {
        queue.push_back(next);
      }
    }
    for (std::size_t q = 0; q < queue.size(); ++q) {
      const std::uint32_t u = queue[q];
      matches[u] = states_[u].ends != no_secret || matches[fail[u]];
      for (std::uint32_t c = 0; c < classes; ++c) {
        std::uint32_t& next = delta_[u * classes + c];
        if (next == none) {
          next = delta_[fail[u] * classes + c];
        } else {
          fail[next] = delta_[fail[u] * classes + c];
          queue.push_back(next);
        }
      }
    }
    // Premultiply the targets (a state's row starts at id × classes) and mark those that end a secret.
    for (auto& next : delta_) next = next * classes | (matches[next] ? match_bit : 0);
  }

  std::string drain_pending(bool at_end) {
    std::string tail = std::move(pending_);
    pending_.clear();
    return drain(tail, at_end);
  }

  // Redacts `text` (the held-back tail and the new bytes); keeps in `pending_` what is still undecided.
  std::string drain(std::string_view text, bool at_end) {
    std::string out;
    out.reserve(text.size());
    const auto* data = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t shown = 0;  // [0, shown) is decided and in `out`
    std::size_t i = 0;      // the scan restarts from the start state here, after each match
    std::size_t base = 0;
    std::uint32_t at = 0;   // premultiplied state
    for (;;) {
      std::uint32_t next = 0;
      for (; i < n; ++i) {
        next = delta_[at + class_[data[i]]];
        at = next & ~match_bit;
        if (next & match_bit) break;
      }
      if (i == n) {  // no secret ends in [base, n): only a prefix of one at the very end may be held
        const std::size_t keep = at_end ? 0 : states_[at / classes_].depth;
        out.append(text.data() + shown, n - keep - shown);
        pending_.assign(text.data() + n - keep, keep);
        return out;
      }
      // A secret ends at i. The leftmost one that ends at or after i starts in [i + 1 - longest, i].
      std::size_t p = std::max(base, i + 1 >= longest_ ? i + 1 - longest_ : std::size_t{0});
      for (;; ++p) {
        const auto [secret, length, undecided] = first_secret_at(data, p, n, at_end);
        if (undecided) {  // a higher-priority secret may still complete with the next write
          out.append(text.data() + shown, p - shown);
          pending_.assign(text.data() + p, n - p);
          return out;
        }
        if (secret == no_secret) continue;
        out.append(text.data() + shown, p - shown);
        out += redacted_text;
        shown = base = i = p + length;
        at = 0;
        break;
      }
    }
  }

  struct found {
    std::uint32_t secret;
    std::size_t length;
    bool undecided;
  };

  // The first secret (by index) that starts at p, found by walking the trie along the text.
  found first_secret_at(const unsigned char* data, std::size_t p, std::size_t n, bool at_end) const {
    std::uint32_t node = 0, best = no_secret;
    std::size_t length = 0;
    std::size_t j = p;
    for (; j < n; ++j) {
      const std::uint32_t next = (delta_[node * classes_ + class_[data[j]]] & ~match_bit) / classes_;
      if (states_[next].depth != states_[node].depth + 1) return {best, length, false};  // no child
      node = next;
      if (states_[node].ends < best) {
        best = states_[node].ends;
        length = states_[node].depth;
      }
      if (states_[node].best_below >= best) return {best, length, false};  // nothing better below
    }
    return {best, length, !at_end && states_[node].best_below < best};
  }

  std::array<std::uint16_t, 256> class_{};
  std::uint32_t classes_ = 0;
  std::size_t longest_ = 0;
  std::vector<std::uint32_t> delta_;  // classes_ entries per state: premultiplied target | match_bit
  std::vector<state> states_;
  std::string pending_;
};

//! `text` with every piece of `pieces` (from `redaction_pieces`) replaced by `((redacted))`: a whole
//! string through a fresh redactor, for messages and fields that are not streamed.
inline std::string redact(std::string_view text, const std::vector<std::string>& pieces) {
  if (pieces.empty()) return std::string(text);
  // A short string (a field, a message) is cheaper to scan directly than to build the automaton
  // for: the step redacts every field of the config this way, each with the same pieces.
  if (text.size() * pieces.size() <= (std::size_t{1} << 20)) {
    std::string out;
    out.reserve(text.size());
    std::size_t shown = 0, pos = 0;
    while (pos < text.size()) {
      const std::string_view rest = text.substr(pos);
      const std::string* hit = nullptr;
      for (const auto& s : pieces)  // the first piece (in order) that starts here, as the redactor picks
        if (!s.empty() && rest.size() >= s.size() && rest[0] == s[0] && rest.compare(0, s.size(), s) == 0) {
          hit = &s;
          break;
        }
      if (hit == nullptr) {
        ++pos;
        continue;
      }
      out.append(text.data() + shown, pos - shown);
      out += redacted_text;
      shown = pos += hit->size();
    }
    out.append(text.data() + shown, text.size() - shown);
    return out;
  }
  redactor r(pieces);
  std::string out = r.write(text);  // before flush(): the two calls must not be unsequenced operands
  out += r.flush();
  return out;
}

}  // namespace taskstep::vars
