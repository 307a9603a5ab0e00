// §2.4 and §14.2.4: atc.ParseContainerLimits over the generic JSON value (numbers are float64),
// the memory unit regex, and the pointer that makes an absent `container_limits` disappear.

#include <cstdint>
#include <optional>

#include <catch2/catch.hpp>

#include "task_yaml.hpp"

using taskstep::test::error_of;
using taskstep::test::json_of;
using taskstep::test::with_base;
namespace yaml = taskstep::yaml;

namespace {

constexpr std::uint64_t max_u64 = 18446744073709551615u;

struct limits_outcome {
  bool present = false;
  std::optional<std::uint64_t> cpu, memory;
  std::string error;
};

limits_outcome limits_of(const std::string& yaml_value) {
  limits_outcome out;
  auto c = yaml::parse_task_config(with_base("container_limits: " + yaml_value + "\n"));
  if (!c) {
    out.error = c.error().message();
    return out;
  }
  out.present = c->container_limits.has_value();
  if (out.present) {
    out.cpu = c->container_limits->cpu;
    out.memory = c->container_limits->memory;
  }
  return out;
}

std::uint64_t memory_of(const std::string& yaml_value) {
  auto l = limits_of("{memory: " + yaml_value + "}");
  INFO(l.error);
  REQUIRE(l.memory);
  return *l.memory;
}

std::string memory_error_of(const std::string& yaml_value) { return limits_of("{memory: " + yaml_value + "}").error; }

const std::string wrap = "error unmarshaling JSON: while decoding JSON: ";

}  // namespace

TEST_CASE("a numeric cpu limit is truncated toward zero and reinterpreted as unsigned", "[yaml][limits]") {
  CHECK(limits_of("{cpu: 512}").cpu == std::uint64_t{512});
  CHECK(limits_of("{cpu: 1.9}").cpu == std::uint64_t{1});
  CHECK(limits_of("{cpu: 0}").cpu == std::uint64_t{0});
  CHECK(limits_of("{cpu: -1}").cpu == max_u64);
  CHECK(limits_of("{cpu: -1.5}").cpu == max_u64);
  CHECK(limits_of("{cpu: 0x10}").cpu == std::uint64_t{16});
}

TEST_CASE("a cpu limit that is not a number is rejected", "[yaml][limits]") {
  for (const char* v : {"'1'", "true", "null", "~", "[1]", "{a: 1}", "abc"}) {
    INFO(v);
    CHECK(limits_of(std::string("{cpu: ") + v + "}").error == wrap + "cpu limit must be an integer");
  }
}

TEST_CASE("a memory limit in bytes or with a KB, MB or GB suffix is parsed in any case", "[yaml][limits]") {
  CHECK(memory_of("1024") == 1024u);
  CHECK(memory_of("'1024'") == 1024u);
  CHECK(memory_of("1GB") == 1073741824u);
  CHECK(memory_of("1gb") == 1073741824u);
  CHECK(memory_of("1Gb") == 1073741824u);
  CHECK(memory_of("1gB") == 1073741824u);
  CHECK(memory_of("2MB") == 2097152u);
  CHECK(memory_of("1mb") == 1048576u);
  CHECK(memory_of("1KB") == 1024u);
  CHECK(memory_of("3kb") == 3072u);
  CHECK(memory_of("1B") == 1u);
  CHECK(memory_of("1b") == 1u);
  CHECK(memory_of("007") == 7u);
}

TEST_CASE("the literal | in the memory regex's character classes is accepted as a unit", "[yaml][limits]") {
  CHECK(memory_of("1|B") == 1u);
  CHECK(memory_of("'1|'") == 1u);
  CHECK(memory_of("'1||'") == 1u);
  CHECK(memory_of("1|b") == 1u);
}

TEST_CASE("memory strings outside the regex are rejected", "[yaml][limits]") {
  for (const char* v : {"1G", "1 GB", "1.5GB", "1TB", "''", "GB", "-1GB", "1GBB", "1BG", "' 1'", "1K", "1M"}) {
    INFO(v);
    CHECK(memory_error_of(v) == wrap + "could not parse container memory limit");
  }
}

TEST_CASE("a memory digit string beyond uint64 is ParseUint's range error", "[yaml][limits]") {
  CHECK(memory_error_of("'99999999999999999999'") ==
        wrap + "strconv.ParseUint: parsing \"99999999999999999999\": value out of range");
  CHECK(memory_error_of("99999999999999999999GB") ==
        wrap + "strconv.ParseUint: parsing \"99999999999999999999\": value out of range");
  CHECK(memory_of("'18446744073709551615'") == max_u64);
}

TEST_CASE("a memory unit multiplication wraps modulo 2^64", "[yaml][limits]") {
  CHECK(memory_of("17179869184GB") == 0u);
  CHECK(memory_of("17179869185GB") == 1073741824u);
  CHECK(memory_of("18446744073709551615KB") == max_u64 - 1023u);
}

TEST_CASE("a numeric memory limit is truncated and large values saturate like Go's conversion", "[yaml][limits]") {
  CHECK(memory_of("1.9") == 1u);
  CHECK(memory_of("-1") == max_u64);
  CHECK(memory_of("99999999999999999999") == 9223372036854775808u);
  CHECK(memory_of("1e19") == 9223372036854775808u);
}

TEST_CASE("a memory limit of null, a boolean or a collection is present but zero", "[yaml][limits]") {
  for (const char* v : {"null", "~", "true", "false", "[1]", "{a: 1}"}) {
    INFO(v);
    auto l = limits_of(std::string("{memory: ") + v + "}");
    CHECK(l.error.empty());
    CHECK(l.present);
    CHECK(l.memory == std::uint64_t{0});
    CHECK_FALSE(l.cpu);
  }
  CHECK(json_of(with_base("container_limits: {memory: null}\n")) ==
        "{\"platform\":\"linux\",\"container_limits\":{\"memory\":0},\"run\":{\"path\":\"x\"}}");
}

TEST_CASE("unknown keys inside container_limits are ignored, including other spellings of cpu", "[yaml][limits]") {
  auto l = limits_of("{cpu: 1, memory: 2, swap: 3, CPU: 'x', Memory: foo}");
  CHECK(l.error.empty());
  CHECK(l.cpu == std::uint64_t{1});
  CHECK(l.memory == std::uint64_t{2});
}

TEST_CASE("a container_limits value that is not a map is an empty, present limits object", "[yaml][limits]") {
  for (const char* v : {"5", "foo", "[1, 2]", "true", "{}"}) {
    INFO(v);
    auto l = limits_of(v);
    CHECK(l.error.empty());
    CHECK(l.present);
    CHECK_FALSE(l.cpu);
    CHECK_FALSE(l.memory);
  }
  CHECK(json_of(with_base("container_limits: 5\n")) ==
        "{\"platform\":\"linux\",\"container_limits\":{},\"run\":{\"path\":\"x\"}}");
}

TEST_CASE("an absent or null container_limits is omitted", "[yaml][limits]") {
  auto absent = yaml::parse_task_config(with_base(""));
  REQUIRE(absent);
  CHECK_FALSE(absent->container_limits);
  CHECK(json_of(with_base("")) == "{\"platform\":\"linux\",\"run\":{\"path\":\"x\"}}");
  CHECK_FALSE(limits_of("~").present);
  CHECK_FALSE(limits_of("null").present);
  CHECK(json_of(with_base("container_limits: ~\n")) == "{\"platform\":\"linux\",\"run\":{\"path\":\"x\"}}");
}

TEST_CASE("with both cpu and memory invalid, one of the two errors is reported", "[yaml][limits]") {
  // ParseContainerLimits ranges over a Go map, so which key fails first is unspecified.
  const auto e = limits_of("{memory: 1TB, cpu: '1'}").error;
  CHECK((e == wrap + "cpu limit must be an integer" || e == wrap + "could not parse container memory limit"));
  CHECK(limits_of("{memory: 1TB, cpu: 1}").error == wrap + "could not parse container memory limit");
}

TEST_CASE("parse_memory_limit on its own follows Concourse's unit rules", "[core][limits]") {
  CHECK(taskstep::parse_memory_limit("1gb").value() == 1073741824u);
  CHECK(taskstep::parse_memory_limit("5").value() == 5u);
  CHECK(taskstep::parse_memory_limit("1|B").value() == 1u);
  auto bad = taskstep::parse_memory_limit("1G");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "could not parse container memory limit");
  CHECK(bad.error().code() == taskstep::errc::decode);
  CHECK(taskstep::parse_memory_limit("").error().message() == "could not parse container memory limit");
  CHECK(taskstep::parse_memory_limit("18446744073709551616").error().message() ==
        "strconv.ParseUint: parsing \"18446744073709551616\": value out of range");
}
