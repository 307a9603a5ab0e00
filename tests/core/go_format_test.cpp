// Go's number formatting and parsing rules (strconv, encoding/json) in core/detail/go_format.hpp,
// each checked against a table of what Go prints.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "taskstep/core/detail/go_format.hpp"

namespace detail = taskstep::detail;

TEST_CASE("format_float32_g prints strconv.FormatFloat(float32(f), 'g', -1, 32)", "[core][go_format]") {
  struct row { double in; const char* out; };
  const row rows[] = {
      {3.14159265358979, "3.1415927"}, {1000000.0, "1e+06"},      {1e21, "1e+21"},
      {100000.0, "100000"},            {123456.0, "123456"},      {1234567.0, "1.234567e+06"},
      {123456789.0, "1.2345679e+08"},  {12345678.0, "1.2345678e+07"},
      {1.0, "1"},                      {0.1, "0.1"},              {0.0001, "0.0001"},
      {0.00001, "1e-05"},              {1.5e-7, "1.5e-07"},       {0.0, "0"},
      {-0.0, "-0"},                    {-2.5, "-2.5"},            {16777217.0, "1.6777216e+07"},
      {18446744073709551616.0, "1.8446744e+19"},                  {3.4028234663852886e38, "3.4028235e+38"},
      {1e-45, "1e-45"},                {1e39, "+Inf"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const auto& r : rows) {
    INFO(r.in);
    CHECK(detail::format_float32_g(r.in) == r.out);
  }
}

TEST_CASE("format_g at 64 bits prints strconv.FormatFloat(f, 'g', -1, 64)", "[core][go_format]") {
  CHECK(detail::format_g(3.14159265358979) == "3.14159265358979");
  CHECK(detail::format_g(1e21) == "1e+21");
  CHECK(detail::format_g(1e20) == "1e+20");
  CHECK(detail::format_g(100000.0) == "100000");
  CHECK(detail::format_g(1e6) == "1e+06");
  CHECK(detail::format_g(0.0001) == "0.0001");
  CHECK(detail::format_g(0.00001) == "1e-05");
  CHECK(detail::format_g(5e-324) == "5e-324");
  CHECK(detail::format_g(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(detail::format_g(0.1 + 0.2) == "0.30000000000000004");
}

TEST_CASE("format_json_float prints floats the way encoding/json does", "[core][go_format]") {
  struct row { double in; const char* out; };
  const row rows[] = {
      {1.0, "1"},
      {1.5, "1.5"},
      {0.1, "0.1"},
      {1000.0, "1000"},
      {1.5e-7, "1.5e-7"},
      {1e-7, "1e-7"},
      {-1.5e-7, "-1.5e-7"},
      {1e-10, "1e-10"},
      {0.000001, "0.000001"},
      {0.0000015, "0.0000015"},
      {1e20, "100000000000000000000"},
      {1e21, "1e+21"},
      {-1e21, "-1e+21"},
      {1.8446744e+19, "18446744000000000000"},
      {18446744073709551616.0, "18446744073709552000"},
      {9223372036854775808.0, "9223372036854776000"},
      {1.2345678901234568e+29, "1.2345678901234568e+29"},
      {123.456, "123.456"},
      {0.1 + 0.2, "0.30000000000000004"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.0, "0"},
      {-0.0, "-0"},
  };
  for (const auto& r : rows) {
    INFO(r.in);
    CHECK(detail::format_json_float(r.in) == r.out);
  }
}

TEST_CASE("parse_go_int accepts what strconv.ParseInt(s, 0, 64) accepts", "[core][go_format]") {
  using opt = std::optional<std::int64_t>;
  CHECK(detail::parse_go_int("0") == opt{0});
  CHECK(detail::parse_go_int("-0") == opt{0});
  CHECK(detail::parse_go_int("+1") == opt{1});
  CHECK(detail::parse_go_int("-1") == opt{-1});
  CHECK(detail::parse_go_int("0x1F") == opt{31});
  CHECK(detail::parse_go_int("0X1f") == opt{31});
  CHECK(detail::parse_go_int("-0x1F") == opt{-31});
  CHECK(detail::parse_go_int("017") == opt{15});
  CHECK(detail::parse_go_int("0o17") == opt{15});
  CHECK(detail::parse_go_int("0O17") == opt{15});
  CHECK(detail::parse_go_int("0b101") == opt{5});
  CHECK(detail::parse_go_int("0B101") == opt{5});
  CHECK(detail::parse_go_int("-0b101") == opt{-5});
  CHECK(detail::parse_go_int("00") == opt{0});
  CHECK(detail::parse_go_int("9223372036854775807") == opt{std::numeric_limits<std::int64_t>::max()});
  CHECK(detail::parse_go_int("-9223372036854775808") == opt{std::numeric_limits<std::int64_t>::min()});
  CHECK(detail::parse_go_int("0x7fffffffffffffff") == opt{std::numeric_limits<std::int64_t>::max()});
}

TEST_CASE("parse_go_int rejects what strconv.ParseInt(s, 0, 64) rejects", "[core][go_format]") {
  for (const char* s : {"", "+", "-", "08", "09", "0x", "0b", "0o", "0b2", "0o8", "0xg", "1.0", "1e3", " 1", "1 ",
                        "9223372036854775808", "-9223372036854775809", "18446744073709551615", "--1", "+-1",
                        "abc"}) {
    INFO(s);
    CHECK_FALSE(detail::parse_go_int(s));
  }
}

TEST_CASE("parse_go_int allows underscores where Go's literal syntax does", "[core][go_format]") {
  // strconv.ParseInt with base 0 accepts "1_000" and "0x_1F", and rejects "_1", "1_", "1__0".
  using opt = std::optional<std::int64_t>;
  CHECK(detail::parse_go_int("1_000") == opt{1000});
  CHECK(detail::parse_go_int("0x_1F") == opt{31});
  CHECK(detail::parse_go_int("-1_000") == opt{-1000});
  CHECK_FALSE(detail::parse_go_int("_1"));
  CHECK_FALSE(detail::parse_go_int("1_"));
  CHECK_FALSE(detail::parse_go_int("1__0"));
}

TEST_CASE("parse_go_uint covers the whole uint64 range and no signs", "[core][go_format]") {
  using opt = std::optional<std::uint64_t>;
  CHECK(detail::parse_go_uint("18446744073709551615") == opt{std::numeric_limits<std::uint64_t>::max()});
  CHECK(detail::parse_go_uint("0xFFFFFFFFFFFFFFFF") == opt{std::numeric_limits<std::uint64_t>::max()});
  CHECK(detail::parse_go_uint("01777777777777777777777") == opt{std::numeric_limits<std::uint64_t>::max()});
  CHECK(detail::parse_go_uint("9223372036854775808") == opt{9223372036854775808u});
  CHECK(detail::parse_go_uint("0b1") == opt{1});
  CHECK_FALSE(detail::parse_go_uint("18446744073709551616"));
  CHECK_FALSE(detail::parse_go_uint("0x10000000000000000"));
  CHECK_FALSE(detail::parse_go_uint("-1"));
  CHECK_FALSE(detail::parse_go_uint("+1"));
  CHECK_FALSE(detail::parse_go_uint(""));
  CHECK_FALSE(detail::parse_go_uint("08"));
}

TEST_CASE("parse_go_float reads decimal text and refuses junk", "[core][go_format]") {
  CHECK(detail::parse_go_float("1.5") == std::optional<double>{1.5});
  CHECK(detail::parse_go_float("+1.5") == std::optional<double>{1.5});
  CHECK(detail::parse_go_float("-.5") == std::optional<double>{-0.5});
  CHECK(detail::parse_go_float("1e3") == std::optional<double>{1000.0});
  CHECK(detail::parse_go_float("08") == std::optional<double>{8.0});
  CHECK_FALSE(detail::parse_go_float(""));
  CHECK_FALSE(detail::parse_go_float("1.2.3"));
  CHECK_FALSE(detail::parse_go_float("abc"));
}

TEST_CASE("go_float_to_uint_via_int mirrors uint64(int(f)) on amd64", "[core][go_format]") {
  CHECK(detail::go_float_to_uint_via_int(1.9) == 1u);
  CHECK(detail::go_float_to_uint_via_int(-1.0) == std::numeric_limits<std::uint64_t>::max());
  CHECK(detail::go_float_to_uint_via_int(-0.5) == 0u);
  CHECK(detail::go_float_to_uint_via_int(1e19) == 9223372036854775808u);
  CHECK(detail::go_float_to_uint_via_int(1e20) == 9223372036854775808u);
  CHECK(detail::go_float_to_uint_via_int(-1e20) == 9223372036854775808u);
  CHECK(detail::go_float_to_uint_via_int(std::numeric_limits<double>::quiet_NaN()) == 9223372036854775808u);
}

TEST_CASE("go_quote writes strconv.Quote's escapes", "[core][go_format]") {
  CHECK(detail::go_quote("intputs") == "\"intputs\"");
  CHECK(detail::go_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(detail::go_quote("\n\t\r\a\b\f\v") == "\"\\n\\t\\r\\a\\b\\f\\v\"");
  CHECK(detail::go_quote(std::string("\x01\x7f", 2)) == "\"\\x01\\x7f\"");
  CHECK(detail::go_quote("") == "\"\"");
}
