#pragma once
//! \file
//! Go's `time.ParseDuration` (`1h30m`, `90s`, `1.5h`, `500ms`) and `Duration.String()` for whole
//! seconds — the syntax of Concourse's `timeout:` and of its "waited" messages.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "taskstep/core/result.hpp"

namespace taskstep {

//! Parses a Go duration; errors read `time: invalid duration "<text>"` as Go's do.
inline result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto invalid = [&] { return fail(errc::usage, "time: invalid duration \"" + std::string(text) + "\""); };
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return invalid();
    std::size_t j = i;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9') && s[j] != '.') ++j;
    const std::string_view unit = s.substr(i, j - i);
    long double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") mult = 1e3L;
    else if (unit == "ms") mult = 1e6L;
    else if (unit == "s") mult = 1e9L;
    else if (unit == "m") mult = 60e9L;
    else if (unit == "h") mult = 3600e9L;
    else if (unit.empty()) return fail(errc::usage, "time: missing unit in duration \"" + std::string(text) + "\"");
    else return fail(errc::usage, "time: unknown unit \"" + std::string(unit) + "\" in duration \"" + std::string(text) + "\"");
    total += v * mult;
    s.remove_prefix(j);
  }
  if (total > 9.2e18L) return invalid();
  const auto ns = static_cast<std::int64_t>(total);
  return std::chrono::nanoseconds(neg ? -ns : ns);
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
