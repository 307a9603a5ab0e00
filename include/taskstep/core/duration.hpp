#pragma once
//! \file
//! Go's `time.ParseDuration` (`1h30m`, `90s`, `1.5h`, `500ms`) and `Duration.String()` for whole
//! seconds — the syntax of Concourse's `timeout:` and of its "waited" messages.

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "taskstep/core/result.hpp"

namespace taskstep {

namespace detail {

// Go's time.quote: `"` + s + `"`, with `"` and `\` escaped and every byte of a non-ASCII or control
// character written as \xNN.
inline std::string go_time_quote(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || c < 0x20) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace detail

//! Parses a Go duration exactly as `time.ParseDuration` does: `[-+]?([0-9]*(\.[0-9]*)?unit)+` with
//! units ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h, or a bare `0`; the whole range of Go's
//! Duration (int64 nanoseconds, `-2562047h47m16.854775808s` … `2562047h47m16.854775807s`), fractions
//! accurate to the nanosecond. Errors read as Go's: `time: invalid duration "<text>"` (also on
//! overflow), `time: missing unit in duration "1"`, `time: unknown unit "d" in duration "1d"`.
inline result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  constexpr std::uint64_t limit = std::uint64_t{1} << 63;  // |min int64|
  auto invalid = [&] { return fail(errc::usage, "time: invalid duration " + detail::go_time_quote(text)); };
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || digit(s[0]))) return invalid();
    // Whole part: an error past 2^63.
    std::uint64_t whole = 0;
    std::size_t i = 0;
    for (; i < s.size() && digit(s[i]); ++i) {
      if (whole > limit / 10) return invalid();
      whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
      if (whole > limit) return invalid();
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction: digits past int64 precision are ignored, not an error.
    std::uint64_t frac = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      std::size_t j = 0;
      for (; j < s.size() && digit(s[j]); ++j) {
        if (overflow) continue;
        if (frac > (limit - 1) / 10) {
          overflow = true;
          continue;
        }
        const std::uint64_t next = frac * 10 + static_cast<std::uint64_t>(s[j] - '0');
        if (next > limit) {
          overflow = true;
          continue;
        }
        frac = next;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return invalid();
    std::size_t u = 0;
    while (u < s.size() && s[u] != '.' && !digit(s[u])) ++u;
    if (u == 0) return fail(errc::usage, "time: missing unit in duration " + detail::go_time_quote(text));
    const std::string_view unit_text = s.substr(0, u);
    s.remove_prefix(u);
    std::uint64_t unit;
    if (unit_text == "ns") unit = 1;
    else if (unit_text == "us" || unit_text == "\xC2\xB5s" || unit_text == "\xCE\xBCs") unit = 1'000;
    else if (unit_text == "ms") unit = 1'000'000;
    else if (unit_text == "s") unit = 1'000'000'000;
    else if (unit_text == "m") unit = 60'000'000'000;
    else if (unit_text == "h") unit = 3'600'000'000'000;
    else
      return fail(errc::usage, "time: unknown unit " + detail::go_time_quote(unit_text) + " in duration " +
                                   detail::go_time_quote(text));
    if (whole > limit / unit) return invalid();
    std::uint64_t v = whole * unit;
    if (frac > 0) {
      // A double is nanosecond-accurate here: frac/scale < 1, so the term is below 3.6e12 (an hour).
      v += static_cast<std::uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (v > limit) return invalid();
    }
    total += v;
    if (total > limit) return invalid();
  }
  if (neg) return std::chrono::nanoseconds(total == limit ? std::numeric_limits<std::int64_t>::min()
                                                          : -static_cast<std::int64_t>(total));
  if (total > limit - 1) return invalid();
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

//! The longest wait taskstep hands to a clock (100 years): `now() + d` for any Go duration would
//! overflow a `time_point` of int64 nanoseconds, so longer timeouts are clamped to this.
inline constexpr std::chrono::hours max_wait{24 * 365 * 100};

//! `d` clamped to [0, max_wait], safe to add to `steady_clock::now()` or pass to `wait_for`.
template <class Rep, class Period>
constexpr std::chrono::milliseconds clamp_wait(std::chrono::duration<Rep, Period> d) {
  if (d <= d.zero()) return std::chrono::milliseconds(0);
  if (d >= max_wait) return std::chrono::duration_cast<std::chrono::milliseconds>(max_wait);
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

//! Go's `Duration.String()` of a whole number of seconds: `0s`, `5s`, `1m0s`, `1h2m3s`.
inline std::string format_duration_seconds(std::chrono::seconds d) {
  auto s = d.count();
  std::string out;
  if (s < 0) {
    out = "-";
    s = -s;
  }
  const auto h = s / 3600, m = (s / 60) % 60, sec = s % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(sec) + "s";
  return out;
}

}  // namespace taskstep
