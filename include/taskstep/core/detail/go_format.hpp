#pragma once
// Go's number formatting and parsing rules (strconv, encoding/json), which decide how Concourse
// turns YAML numbers into strings. Shortest digits come from std::to_chars; the layout is Go's.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace taskstep::detail {

struct decimal_digits {
  std::string digits;  // no leading/trailing zeros; empty for zero
  int dp = 0;          // decimal point position: value = 0.digits * 10^dp
  bool neg = false;
};

template <class Float>
decimal_digits shortest_digits(Float v) {
  decimal_digits d;
  d.neg = std::signbit(v);
  if (v == 0) return d;
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v < 0 ? -v : v, std::chars_format::scientific);
  (void)ec;
  std::string_view s(buf, static_cast<std::size_t>(end - buf));
  auto e = s.find('e');
  for (char c : s.substr(0, e))
    if (c != '.') d.digits.push_back(c);
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  d.dp = exp + 1;
  return d;
}

inline std::string fmt_e(const decimal_digits& d) {
  std::string out = d.neg ? "-" : "";
  out += d.digits.empty() ? '0' : d.digits[0];
  if (d.digits.size() > 1) {
    out += '.';
    out.append(d.digits, 1);
  }
  int exp = d.digits.empty() ? 0 : d.dp - 1;
  out += 'e';
  out += exp < 0 ? '-' : '+';
  if (exp < 0) exp = -exp;
  if (exp < 10) out += '0';
  out += std::to_string(exp);
  return out;
}

inline std::string fmt_f(const decimal_digits& d) {
  std::string out = d.neg ? "-" : "";
  const int nd = static_cast<int>(d.digits.size());
  if (d.dp > 0) {
    for (int i = 0; i < d.dp; ++i) out += i < nd ? d.digits[static_cast<std::size_t>(i)] : '0';
  } else {
    out += '0';
  }
  const int prec = nd - d.dp > 0 ? nd - d.dp : 0;
  if (prec > 0) {
    out += '.';
    for (int i = 1; i <= prec; ++i) {
      int j = d.dp + i - 1;
      out += (j >= 0 && j < nd) ? d.digits[static_cast<std::size_t>(j)] : '0';
    }
  }
  return out;
}

template <class Float>
std::string special_float(Float v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

//! strconv.FormatFloat(v, 'g', -1, bits)
template <class Float>
std::string format_g(Float v) {
  if (!std::isfinite(v)) return special_float(v);
  auto d = shortest_digits(v);
  if (d.digits.empty()) return d.neg ? "-0" : "0";
  const int exp = d.dp - 1;
  if (exp < -4 || exp >= 6) return fmt_e(d);
  return fmt_f(d);
}

//! strconv.FormatFloat(float32(v), 'g', -1, 32): how sigs.k8s.io/yaml puts a YAML float into a string field.
inline std::string format_float32_g(double v) { return format_g(static_cast<float>(v)); }

//! encoding/json's rendering of a finite float64.
inline std::string format_json_float(double v) {
  auto d = shortest_digits(v);
  if (d.digits.empty()) return d.neg ? "-0" : "0";
  const double a = std::fabs(v);
  if (a < 1e-6 || a >= 1e21) {
    std::string s = fmt_e(d);
    const auto n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    return s;
  }
  return fmt_f(d);
}

// strconv's underscoreOK: underscores only between digits (or after a base prefix).
inline bool go_underscore_ok(std::string_view s) {
  auto lower = [](char c) { return static_cast<char>(c | 0x20); };
  char saw = '^';
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    if ((s[i] >= '0' && s[i] <= '9') || (hex && lower(s[i]) >= 'a' && lower(s[i]) <= 'f')) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

//! strconv.ParseUint(s, 0, 64)
inline std::optional<std::uint64_t> parse_go_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const std::string_view original = s;
  bool underscores = false;
  unsigned base = 10;
  if (s[0] == '0') {
    auto lower = [](char c) { return static_cast<char>(c | 0x20); };
    if (s.size() >= 3 && lower(s[1]) == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  std::uint64_t n = 0;
  for (char c : s) {
    if (c == '_') {
      underscores = true;
      continue;
    }
    unsigned dgt;
    if (c >= '0' && c <= '9') dgt = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'z') dgt = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'Z') dgt = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    if (dgt >= base) return std::nullopt;
    if (n > (std::numeric_limits<std::uint64_t>::max() - dgt) / base) return std::nullopt;
    n = n * base + dgt;
  }
  if (underscores && !go_underscore_ok(original)) return std::nullopt;
  return n;
}

//! strconv.ParseInt(s, 0, 64)
inline std::optional<std::int64_t> parse_go_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) return std::nullopt;
  auto u = parse_go_uint(s);
  if (!u) return std::nullopt;
  constexpr std::uint64_t limit = std::uint64_t{1} << 63;
  if (neg) {
    if (*u > limit) return std::nullopt;
    return *u == limit ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(*u);
  }
  if (*u >= limit) return std::nullopt;
  return static_cast<std::int64_t>(*u);
}

//! strconv.ParseFloat(s, 64) for decimal text (the only form go-yaml hands it); nullopt on range errors.
inline std::optional<double> parse_go_float(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

//! Go's uint64(int(f)) on amd64: truncate toward zero, out-of-range values become math.MinInt64.
inline std::uint64_t go_float_to_uint_via_int(double f) {
  if (!(f > -9223372036854775808.0 && f < 9223372036854775808.0))
    return std::uint64_t{1} << 63;
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(f));
}

//! strconv.Quote: a double-quoted Go string literal.
inline std::string go_quote(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace taskstep::detail
