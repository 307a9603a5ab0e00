// parse_duration against the facts of Go's time.ParseDuration (its parseDurationTests and
// parseDurationErrorTests in time/time_test.go): every unit, fractions to the nanosecond, signs, the
// whole int64 range, and Go's error texts.

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "taskstep/core/duration.hpp"

using namespace std::chrono;
using taskstep::parse_duration;

namespace {
constexpr std::int64_t ns_ = 1, us_ = 1'000, ms_ = 1'000'000, s_ = 1'000'000'000, m_ = 60 * s_, h_ = 60 * m_;
}

TEST_CASE("parse_duration accepts what Go's ParseDuration accepts, to the nanosecond", "[core][duration]") {
  struct row {
    const char* in;
    std::int64_t want;
  };
  const row rows[] = {
      {"0", 0}, {"5s", 5 * s_}, {"30s", 30 * s_}, {"1478s", 1478 * s_},
      {"-5s", -5 * s_}, {"+5s", 5 * s_}, {"-0", 0}, {"+0", 0},
      {"5.0s", 5 * s_}, {"5.6s", 5 * s_ + 600 * ms_}, {"5.s", 5 * s_}, {".5s", 500 * ms_},
      {"1.0s", s_}, {"1.00s", s_}, {"1.004s", s_ + 4 * ms_}, {"1.0040s", s_ + 4 * ms_},
      {"100.00100s", 100 * s_ + 1 * ms_},
      {"10ns", 10 * ns_}, {"11us", 11 * us_}, {"12\xC2\xB5s", 12 * us_}, {"12\xCE\xBCs", 12 * us_},
      {"13ms", 13 * ms_}, {"14s", 14 * s_}, {"15m", 15 * m_}, {"16h", 16 * h_},
      {"3h30m", 3 * h_ + 30 * m_}, {"10.5s4m", 4 * m_ + 10 * s_ + 500 * ms_},
      {"-2m3.4s", -(2 * m_ + 3 * s_ + 400 * ms_)},
      {"1h2m3s4ms5us6ns", h_ + 2 * m_ + 3 * s_ + 4 * ms_ + 5 * us_ + 6 * ns_},
      {"39h9m14.425s", 39 * h_ + 9 * m_ + 14 * s_ + 425 * ms_},
      {"52763797000ns", 52 * s_ + 763797 * us_},
      {"0.3333333333333333333h", 20 * m_},
      {"9007199254740993ns", (std::int64_t{1} << 53) + 1},
      {"9223372036854775807ns", std::numeric_limits<std::int64_t>::max()},
      {"9223372036854775.807us", std::numeric_limits<std::int64_t>::max()},
      {"9223372036s854ms775us807ns", std::numeric_limits<std::int64_t>::max()},
      {"-9223372036854775808ns", std::numeric_limits<std::int64_t>::min()},
      {"-9223372036854775.808us", std::numeric_limits<std::int64_t>::min()},
      {"-9223372036s854ms775us808ns", std::numeric_limits<std::int64_t>::min()},
      {"-2562047h47m16.854775808s", std::numeric_limits<std::int64_t>::min()},
      {"2562047h47m16.854775807s", std::numeric_limits<std::int64_t>::max()},
      {"2562047h", 2562047 * h_},
      {"0.100000000000000000000h", 6 * m_},
      {"0.830103483285477580700h", 49 * m_ + 48 * s_ + 372539827 * ns_},
  };
  for (const auto& r : rows) {
    INFO(r.in);
    auto d = parse_duration(r.in);
    REQUIRE(d);
    CHECK(d->count() == r.want);
  }
}

TEST_CASE("parse_duration rejects what Go rejects, in Go's words", "[core][duration]") {
  struct row {
    const char* in;
    const char* message;
  };
  const row rows[] = {
      {"", R"(time: invalid duration "")"},
      {"3", R"(time: missing unit in duration "3")"},
      {"-", R"(time: invalid duration "-")"},
      {"s", R"(time: invalid duration "s")"},
      {".", R"(time: invalid duration ".")"},
      {"-.", R"(time: invalid duration "-.")"},
      {".s", R"(time: invalid duration ".s")"},
      {"+.s", R"(time: invalid duration "+.s")"},
      {"1d", R"(time: unknown unit "d" in duration "1d")"},
      {"\x85\x85", R"(time: invalid duration "\x85\x85")"},
      {"\xff" "ff", R"(time: invalid duration "\xffff")"},
      {"hello \xff" "ff world", R"(time: invalid duration "hello \xffff world")"},
      {"\xEF\xBF\xBD", R"(time: invalid duration "\xef\xbf\xbd")"},
      {"\xEF\xBF\xBD hello \xEF\xBF\xBD world", R"(time: invalid duration "\xef\xbf\xbd hello \xef\xbf\xbd world")"},
      {"1\xC3\xA9", R"(time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9")"},
      // overflow
      {"9223372036854775810ns", R"(time: invalid duration "9223372036854775810ns")"},
      {"9223372036854775808ns", R"(time: invalid duration "9223372036854775808ns")"},
      {"-9223372036854775809ns", R"(time: invalid duration "-9223372036854775809ns")"},
      {"9223372036854776us", R"(time: invalid duration "9223372036854776us")"},
      {"3000000h", R"(time: invalid duration "3000000h")"},
      {"9223372036854775.808us", R"(time: invalid duration "9223372036854775.808us")"},
      {"9223372036854ms775us808ns", R"(time: invalid duration "9223372036854ms775us808ns")"},
      {"2562048h", R"(time: invalid duration "2562048h")"},
      {"99999999999999999999s", R"(time: invalid duration "99999999999999999999s")"},
  };
  for (const auto& r : rows) {
    INFO(r.in);
    auto d = parse_duration(r.in);
    REQUIRE_FALSE(d);
    CHECK(d.error().message() == r.message);
  }
}

TEST_CASE("clamp_wait keeps any Go duration safe to add to a clock", "[core][duration]") {
  const auto longest = *parse_duration("2562047h47m16.854775807s");
  const auto clamped = taskstep::clamp_wait(longest);
  CHECK(clamped == duration_cast<milliseconds>(taskstep::max_wait));
  const auto later = steady_clock::now() + clamped;  // would overflow unclamped
  CHECK(later > steady_clock::now());
  CHECK(taskstep::clamp_wait(*parse_duration("-5s")) == milliseconds(0));
  CHECK(taskstep::clamp_wait(*parse_duration("1.5s")) == milliseconds(1500));
}
