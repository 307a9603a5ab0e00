// §2.3: how each YAML scalar/collection in `params:` becomes an environment string (go-yaml v2
// resolution → sigs.k8s.io/yaml → atc.CoercedString), checked through `parse_task_config`.

#include <algorithm>

#include <catch2/catch.hpp>

#include "task_yaml.hpp"

using taskstep::test::env_of;
using taskstep::test::param_of;
using taskstep::test::with_base;

TEST_CASE("strings in params are kept verbatim, quoted or not", "[yaml][params]") {
  CHECK(param_of("\"quoted\"") == "quoted");
  CHECK(param_of("'1.8446744e+19'") == "1.8446744e+19");
  CHECK(param_of("hello world") == "hello world");
  CHECK(param_of("\"true\"") == "true");
  CHECK(param_of("'1'") == "1");
  CHECK(param_of("'~'") == "~");
  CHECK(param_of("'0x1F'") == "0x1F");
  CHECK(param_of("\"<&>\"") == "<&>");
  CHECK(param_of("((foo))") == "((foo))");
  CHECK(param_of("caf\xC3\xA9") == "caf\xC3\xA9");
}

TEST_CASE("timestamps and sexagesimal-looking values stay the text that was written", "[yaml][params]") {
  CHECK(param_of("12:30") == "12:30");
  CHECK(param_of("2001-12-14") == "2001-12-14");
  CHECK(param_of("2001-12-14T21:59:43.10Z") == "2001-12-14T21:59:43.10Z");
  CHECK(param_of("2001-12-14 21:59:43.10 -5") == "2001-12-14 21:59:43.10 -5");
}

TEST_CASE("YAML 1.1 booleans in params become true or false", "[yaml][params]") {
  for (const char* yes : {"yes", "Yes", "YES", "on", "On", "ON", "y", "Y", "true", "True", "TRUE"}) {
    INFO(yes);
    CHECK(param_of(yes) == "true");
  }
  for (const char* no : {"no", "No", "NO", "off", "Off", "OFF", "n", "N", "false", "False", "FALSE"}) {
    INFO(no);
    CHECK(param_of(no) == "false");
  }
}

TEST_CASE("words that only look like booleans stay strings", "[yaml][params]") {
  CHECK(param_of("tRUE") == "tRUE");
  CHECK(param_of("oN") == "oN");
  CHECK(param_of("yEs") == "yEs");
  CHECK(param_of("nope") == "nope");
}

TEST_CASE("every null form in params becomes the empty string", "[yaml][params]") {
  for (const char* null_form : {"~", "null", "Null", "NULL", "''", "\"\""}) {
    INFO(null_form);
    CHECK(param_of(null_form) == "");
  }
  auto env = env_of(with_base("params:\n  EMPTY:\n  OTHER: x\n"));
  CHECK(env == std::vector<std::string>{"EMPTY=", "OTHER=x"});
}

TEST_CASE("integers in params are printed in decimal, whatever base they were written in", "[yaml][params]") {
  CHECK(param_of("-1") == "-1");
  CHECK(param_of("+1") == "1");
  CHECK(param_of("0") == "0");
  CHECK(param_of("0x1F") == "31");
  CHECK(param_of("-0x1F") == "-31");
  CHECK(param_of("017") == "15");
  CHECK(param_of("0o17") == "15");
  CHECK(param_of("0b101") == "5");
  CHECK(param_of("-0b101") == "-5");
  CHECK(param_of("1_000") == "1000");
  CHECK(param_of("9223372036854775807") == "9223372036854775807");
  CHECK(param_of("-9223372036854775808") == "-9223372036854775808");
  CHECK(param_of("18446744073709551615") == "18446744073709551615");
}

TEST_CASE("a leading zero with a non-octal digit makes a float, printed without the zero", "[yaml][params]") {
  CHECK(param_of("08") == "8");
  CHECK(param_of("09.5") == "9.5");
}

TEST_CASE("floats in params use Go's JSON float rendering", "[yaml][params]") {
  CHECK(param_of("1.0") == "1");
  CHECK(param_of("1.50") == "1.5");
  CHECK(param_of("0.1") == "0.1");
  CHECK(param_of(".5") == "0.5");
  CHECK(param_of("-.5") == "-0.5");
  CHECK(param_of("1e3") == "1000");
  CHECK(param_of("1.5e-7") == "1.5e-7");
  CHECK(param_of("1e-7") == "1e-7");
  CHECK(param_of("0.000001") == "0.000001");
  CHECK(param_of("1e20") == "100000000000000000000");
  CHECK(param_of("1e21") == "1e+21");
  CHECK(param_of("1.8446744e+19") == "18446744000000000000");
  CHECK(param_of("3.14159265358979") == "3.14159265358979");
  CHECK(param_of("1059262.987345987") == "1059262.987345987");
}

TEST_CASE("integers beyond uint64 or below int64 become floats", "[yaml][params]") {
  CHECK(param_of("18446744073709551616") == "18446744073709552000");
  CHECK(param_of("-9223372036854775809") == "-9223372036854776000");
  CHECK(param_of("123456789012345678901234567890") == "1.2345678901234568e+29");
}

TEST_CASE("text that is not quite a number stays a string", "[yaml][params]") {
  CHECK(param_of("1.2.3") == "1.2.3");
  CHECK(param_of("0x") == "0x");
  CHECK(param_of("0b2") == "0b2");
  CHECK(param_of("1e") == "1e");
  CHECK(param_of("123abc") == "123abc");
}

TEST_CASE("infinities and NaN in params are rejected by the JSON conversion", "[yaml][params]") {
  const std::string prefix = "error: error converting YAML to JSON: json: unsupported value: ";
  CHECK(param_of(".inf") == prefix + "+Inf");
  CHECK(param_of("+.inf") == prefix + "+Inf");
  CHECK(param_of(".Inf") == prefix + "+Inf");
  CHECK(param_of("-.inf") == prefix + "-Inf");
  CHECK(param_of(".nan") == prefix + "NaN");
  CHECK(param_of(".NaN") == prefix + "NaN");
  CHECK(param_of("[1, .inf]") == prefix + "+Inf");
  CHECK(param_of("{a: .nan}") == prefix + "NaN");
}

TEST_CASE("lists and maps in params become compact JSON with sorted keys and HTML escapes", "[yaml][params]") {
  CHECK(param_of("[1, a, true, null, 1.5]") == "[1,\"a\",true,null,1.5]");
  CHECK(param_of("{b: 1, a: '<&>', c: {z: [x]}}") == "{\"a\":\"\\u003c\\u0026\\u003e\",\"b\":1,\"c\":{\"z\":[\"x\"]}}");
  CHECK(param_of("[]") == "[]");
  CHECK(param_of("{}") == "{}");
  CHECK(param_of("[\"\\u2028\"]") == "[\"\\u2028\"]");
}

TEST_CASE("numbers nested in list and map params keep their literal JSON text", "[yaml][params]") {
  CHECK(param_of("[18446744073709551615, -9223372036854775808, 0x10, 1e21, 1.0, 08]") ==
        "[18446744073709551615,-9223372036854775808,16,1e+21,1,8]");
  CHECK(param_of("{num: 1.5e-7, b: yes, k: ~}") == "{\"b\":true,\"k\":null,\"num\":1.5e-7}");
}

TEST_CASE("non-string keys inside a map param are stringified", "[yaml][params]") {
  CHECK(param_of("{1: a, true: b, 1.5: c, no: d}") == "{\"1\":\"a\",\"1.5\":\"c\",\"false\":\"d\",\"true\":\"b\"}");
}

TEST_CASE("non-string param names become strings", "[yaml][params]") {
  CHECK(env_of(with_base("params: {1: a, true: b}\n")) == std::vector<std::string>{"1=a", "true=b"});
  CHECK(env_of(with_base("params: {Y: a, n: b, 0x10: c, 1.5: d, .inf: e}\n")) ==
        std::vector<std::string>{".inf=e", "1.5=d", "16=c", "false=b", "true=a"});
}

TEST_CASE("two param names that resolve to the same boolean collide", "[yaml][params]") {
  CHECK(env_of(with_base("params:\n  y: a\n  yes: b\n")) ==
        std::vector<std::string>{"error: error converting YAML to JSON: yaml: unmarshal errors:\n"
                                 "  line 5: key true already set in map"});
  CHECK(env_of(with_base("params:\n  1: a\n  0x1: b\n")) ==
        std::vector<std::string>{"error: error converting YAML to JSON: yaml: unmarshal errors:\n"
                                 "  line 5: key 1 already set in map"});
}

TEST_CASE("a null or uint64 param name is an unsupported map key", "[yaml][params]") {
  CHECK(env_of(with_base("params: {~: a}\n")) ==
        std::vector<std::string>{"error: error converting YAML to JSON: Unsupported map key of type: %!s(<nil>), "
                                 "key: <nil>, value: \"a\""});
  CHECK(env_of(with_base("params: {18446744073709551615: a}\n")) ==
        std::vector<std::string>{"error: error converting YAML to JSON: Unsupported map key of type: uint64, "
                                 "key: 0xffffffffffffffff, value: \"a\""});
}

TEST_CASE("multi-line strings in params keep their line breaks", "[yaml][params]") {
  auto env = env_of(with_base("params:\n  LIT: |\n    echo a\n    echo b\n  FOLD: >\n    a\n    b\n  PLAIN: one\n    two\n"));
  CHECK(env == std::vector<std::string>{"FOLD=a b\n", "LIT=echo a\necho b\n", "PLAIN=one two"});
}

TEST_CASE("null or empty params give no environment", "[yaml][params]") {
  CHECK(env_of(with_base("params: ~\n")).empty());
  CHECK(env_of(with_base("params:\n")).empty());
  CHECK(env_of(with_base("params: {}\n")).empty());
}

TEST_CASE("params that are not a map are rejected with the field's Go type", "[yaml][params]") {
  const std::string prefix = "error: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ";
  CHECK(env_of(with_base("params: [a]\n")) ==
        std::vector<std::string>{prefix + "array into Go struct field TaskConfig.params of type map[string]atc.CoercedString"});
  CHECK(env_of(with_base("params: 5\n")) ==
        std::vector<std::string>{prefix + "number into Go struct field TaskConfig.params of type map[string]atc.CoercedString"});
  CHECK(env_of(with_base("params: foo\n")) ==
        std::vector<std::string>{prefix + "string into Go struct field TaskConfig.params of type map[string]atc.CoercedString"});
  CHECK(env_of(with_base("params: true\n")) ==
        std::vector<std::string>{prefix + "bool into Go struct field TaskConfig.params of type map[string]atc.CoercedString"});
}

TEST_CASE("the environment lists NAME=value for every param", "[yaml][params]") {
  auto env = env_of(with_base("params:\n  B: 2\n  A: one\n  C: [x]\n"));
  std::sort(env.begin(), env.end());
  CHECK(env == std::vector<std::string>{"A=one", "B=2", "C=[\"x\"]"});
}
