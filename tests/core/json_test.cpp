// taskstep::to_json(value) = Go's json.Marshal of an interface{} tree: compact, sorted keys,
// HTML-safe escaping, Go float formatting, and Go's error for NaN and infinities.

#include <cstdint>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "taskstep/core/json.hpp"

using taskstep::mapping;
using taskstep::map_entry;
using taskstep::sequence;
using taskstep::value;

namespace {

std::string json(const value& v) {
  auto r = taskstep::to_json(v);
  return r ? *r : "error: " + r.error().message();
}

std::string json_string(std::string_view s) {
  std::string out;
  taskstep::append_json_string(out, s);
  return out;
}

}  // namespace

TEST_CASE("scalars marshal as Go writes them", "[core][json]") {
  CHECK(json(value()) == "null");
  CHECK(json(value(true)) == "true");
  CHECK(json(value(false)) == "false");
  CHECK(json(value(std::numeric_limits<std::int64_t>::min())) == "-9223372036854775808");
  CHECK(json(value(std::numeric_limits<std::uint64_t>::max())) == "18446744073709551615");
  CHECK(json(value(1.0)) == "1");
  CHECK(json(value(1e21)) == "1e+21");
  CHECK(json(value(1e-7)) == "1e-7");
  CHECK(json(value("text")) == "\"text\"");
}

TEST_CASE("NaN and infinities cannot be marshalled", "[core][json]") {
  CHECK(json(value(std::numeric_limits<double>::quiet_NaN())) == "error: json: unsupported value: NaN");
  CHECK(json(value(std::numeric_limits<double>::infinity())) == "error: json: unsupported value: +Inf");
  CHECK(json(value(-std::numeric_limits<double>::infinity())) == "error: json: unsupported value: -Inf");
  CHECK(json(value(sequence{value(1), value(std::numeric_limits<double>::infinity())})) ==
        "error: json: unsupported value: +Inf");
  auto r = taskstep::to_json(value(std::numeric_limits<double>::quiet_NaN()));
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == taskstep::errc::decode);
}

TEST_CASE("strings escape quotes, backslashes, controls and HTML characters", "[core][json]") {
  CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_string("\n\r\t") == R"("\n\r\t")");
  CHECK(json_string(std::string("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(json_string("\b\f") == R"("\u0008\u000c")");  // Go before 1.22
  CHECK(json_string("<a href='x'>&</a>") == R"("\u003ca href='x'\u003e\u0026\u003c/a\u003e")");
  CHECK(json_string("\x7f/") == "\"\x7f/\"");
  CHECK(json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST_CASE("U+2028 and U+2029 are escaped", "[core][json]") {
  CHECK(json_string("a\xE2\x80\xA8" "b\xE2\x80\xA9") == R"("a\u2028b\u2029")");
}

TEST_CASE("each byte of invalid UTF-8 becomes U+FFFD", "[core][json]") {
  CHECK(json_string("\xff") == R"("\ufffd")");
  CHECK(json_string("a\xE2\x82") == R"("a\ufffd\ufffd")");          // truncated sequence
  CHECK(json_string("\xED\xA0\x80") == R"("\ufffd\ufffd\ufffd")");  // surrogate
  CHECK(json_string("\xC0\x80") == R"("\ufffd\ufffd")");            // overlong
  CHECK(json_string("\xF4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
}

TEST_CASE("maps marshal with keys sorted bytewise, lists in order", "[core][json]") {
  value m(mapping{map_entry{value("b"), value(1)}, map_entry{value("a"), value(sequence{value("x"), value()})},
                  map_entry{value("B"), value(true)}});
  CHECK(json(m) == R"({"B":true,"a":["x",null],"b":1})");
  CHECK(json(value(mapping{})) == "{}");
  CHECK(json(value(sequence{})) == "[]");
}

TEST_CASE("YAML map keys are stringified as sigs.k8s.io/yaml does", "[core][json]") {
  value m(mapping{map_entry{value(1), value("i")}, map_entry{value(true), value("b")},
                  map_entry{value(1.5), value("f")}, map_entry{value(std::numeric_limits<double>::infinity()), value("inf")},
                  map_entry{value(1e21), value("big")}});
  CHECK(json(m) == R"({".inf":"inf","1":"i","1.5":"f","1e+21":"big","true":"b"})");
}

TEST_CASE("a null or unsigned map key cannot be marshalled", "[core][json]") {
  CHECK(json(value(mapping{map_entry{value(), value("a")}})) ==
        "error: Unsupported map key of type: %!s(<nil>), key: <nil>, value: \"a\"");
  CHECK(json(value(mapping{map_entry{value(std::uint64_t{255}), value(1)}})) ==
        "error: Unsupported map key of type: uint64, key: 0xff, value: 1");
}

TEST_CASE("a record keeps its field order instead of sorting", "[core][json]") {
  value r(mapping{map_entry{value("z"), value(1)}, map_entry{value("a"), value(2)}}, value::map_kind::record);
  CHECK(json(r) == R"({"z":1,"a":2})");
}

TEST_CASE("two keys that stringify alike keep the later value", "[core][json]") {
  value m(mapping{map_entry{value(1), value("int")}, map_entry{value("1"), value("string")}});
  CHECK(json(m) == R"({"1":"string"})");
}

TEST_CASE("go_sharp_v prints values as Go's %#v", "[core][json]") {
  CHECK(taskstep::go_sharp_v(value()) == "<nil>");
  CHECK(taskstep::go_sharp_v(value("a")) == "\"a\"");
  CHECK(taskstep::go_sharp_v(value(-3)) == "-3");
  CHECK(taskstep::go_sharp_v(value(std::uint64_t{18446744073709551615u})) == "0xffffffffffffffff");
  CHECK(taskstep::go_sharp_v(value(1.5)) == "1.5");
  CHECK(taskstep::go_sharp_v(value(1e21)) == "1e+21");
  CHECK(taskstep::go_sharp_v(value(sequence{value("a"), value(1)})) == "[]interface {}{\"a\", 1}");
  CHECK(taskstep::go_sharp_v(value(mapping{map_entry{value("a"), value(1)}})) ==
        "map[interface {}]interface {}{\"a\":1}");
}

TEST_CASE("go_type_name gives Go's %T of decoded values", "[core][json]") {
  CHECK(taskstep::go_type_name(value()) == "<nil>");
  CHECK(taskstep::go_type_name(value(1)) == "int");
  CHECK(taskstep::go_type_name(value(std::uint64_t{1})) == "uint64");
  CHECK(taskstep::go_type_name(value(1.0)) == "float64");
  CHECK(taskstep::go_type_name(value(sequence{})) == "[]interface {}");
  CHECK(taskstep::go_type_name(value(mapping{})) == "map[interface {}]interface {}");
  CHECK(taskstep::go_type_name(value(mapping{}, value::map_kind::json)) == "map[string]interface {}");
}
