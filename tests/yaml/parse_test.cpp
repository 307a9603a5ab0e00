// yaml::parse: go-yaml v2 into interface{} — scalar types, syntax errors worded by libyaml,
// anchors, merge keys and strict-mode duplicate keys.

#include <cmath>
#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>

#include "taskstep/yaml/parse.hpp"

namespace yaml = taskstep::yaml;
using taskstep::value;

namespace {

value scalar(std::string_view text) {
  auto v = yaml::parse("k: " + std::string(text) + "\n");
  REQUIRE(v);
  const value* k = v->find(value("k"));
  REQUIRE(k);
  return *k;
}

std::string parse_error(std::string_view text, bool strict = true) {
  auto v = yaml::parse(text, strict);
  return v ? std::string("<no error>") : v.error().message();
}

}  // namespace

TEST_CASE("plain scalars resolve to go-yaml's types", "[yaml][parse]") {
  CHECK(scalar("yes") == value(true));
  CHECK(scalar("N") == value(false));
  CHECK(scalar("~") == value(nullptr));
  CHECK(scalar("") == value(nullptr));
  CHECK(scalar("0x1F") == value(std::int64_t{31}));
  CHECK(scalar("-0b101") == value(std::int64_t{-5}));
  CHECK(scalar("1_000") == value(std::int64_t{1000}));
  CHECK(scalar("-9223372036854775808") == value(std::numeric_limits<std::int64_t>::min()));
  CHECK(scalar("9223372036854775808") == value(std::uint64_t{9223372036854775808u}));
  CHECK(scalar("18446744073709551615") == value(std::numeric_limits<std::uint64_t>::max()));
  CHECK(scalar("18446744073709551616") == value(18446744073709551616.0));
  CHECK(scalar("08") == value(8.0));
  CHECK(scalar("1.5") == value(1.5));
  CHECK(scalar("2001-12-14") == value("2001-12-14"));
  CHECK(scalar("12:30") == value("12:30"));
  CHECK(scalar("'yes'") == value("yes"));
  CHECK(scalar("\"1\"") == value("1"));
}

TEST_CASE("infinities and NaN resolve to floats", "[yaml][parse]") {
  auto inf = scalar(".inf");
  REQUIRE(inf.type() == value::kind::floating);
  CHECK(std::get<double>(inf.data) == std::numeric_limits<double>::infinity());
  auto ninf = scalar("-.INF");
  REQUIRE(ninf.type() == value::kind::floating);
  CHECK(std::get<double>(ninf.data) == -std::numeric_limits<double>::infinity());
  auto nan = scalar(".NaN");
  REQUIRE(nan.type() == value::kind::floating);
  CHECK(std::isnan(std::get<double>(nan.data)));
}

TEST_CASE("explicit tags override plain resolution", "[yaml][parse]") {
  CHECK(scalar("!!str 1") == value("1"));
  CHECK(scalar("!!str yes") == value("yes"));
  CHECK(scalar("!!float 1") == value(1.0));
  CHECK(scalar("!!int 12") == value(std::int64_t{12}));
  CHECK(scalar("!!bool yes") == value(true));
}

TEST_CASE("an empty document or a document of comments is null", "[yaml][parse]") {
  for (const char* text : {"", "\n", "# just a comment\n", "---\n", "--- ~\n"}) {
    INFO(text);
    auto v = yaml::parse(text);
    REQUIRE(v);
    CHECK(v->is_null());
  }
}

TEST_CASE("only the first document of a stream is read", "[yaml][parse]") {
  auto v = yaml::parse("a: 1\n---\nb: 2\n");
  REQUIRE(v);
  CHECK(v->as_mapping().size() == 1);
  CHECK(v->find(value("a")) != nullptr);
}

TEST_CASE("syntax errors carry libyaml's problem and go-yaml's line number", "[yaml][parse]") {
  CHECK(parse_error("platform: [x\n") == "yaml: line 1: did not find expected ',' or ']'");
  CHECK(parse_error("platform: [x") == "yaml: line 1: did not find expected ',' or ']'");
  CHECK(parse_error("run:\n\tpath: x\n") == "yaml: line 2: found character that cannot start any token");
  CHECK(parse_error("platform: linux\n  run: x\n") == "yaml: line 2: mapping values are not allowed in this context");
  CHECK(parse_error("a: 1\nb: 2\nc: d: e\n") == "yaml: line 3: mapping values are not allowed in this context");
}

TEST_CASE("a syntax error on the first line has no line number, as in go-yaml", "[yaml][parse]") {
  CHECK(parse_error("platform: linux: x\n") == "yaml: mapping values are not allowed in this context");
}

TEST_CASE("aliases repeat their anchor's value", "[yaml][parse]") {
  auto v = yaml::parse("a: &x {n: 1}\nb: *x\nc: &s hello\nd: *s\n");
  REQUIRE(v);
  CHECK(*v->find(value("b")) == *v->find(value("a")));
  CHECK(*v->find(value("d")) == value("hello"));
}

TEST_CASE("an alias to an unknown anchor is an error", "[yaml][parse]") {
  CHECK(parse_error("platform: *x\n") == "yaml: unknown anchor 'x' referenced");
}

TEST_CASE("merge keys copy the keys of a map, an alias or a list of maps", "[yaml][parse]") {
  auto v = yaml::parse("base: &b {p: 1, q: 2}\nm: {<<: *b, r: 3}\nmm: {<<: {s: 1}}\no: {<<: [*b, {w: 4}]}\n");
  REQUIRE(v);
  const value* m = v->find(value("m"));
  REQUIRE(m);
  CHECK(m->find(value("p")) != nullptr);
  CHECK(m->find(value("q")) != nullptr);
  REQUIRE(m->find(value("r")) != nullptr);
  CHECK(*m->find(value("r")) == value(std::int64_t{3}));
  CHECK(m->find(value("<<")) == nullptr);
  const value* mm = v->find(value("mm"));
  REQUIRE(mm);
  REQUIRE(mm->find(value("s")) != nullptr);
  CHECK(*mm->find(value("s")) == value(std::int64_t{1}));
  const value* o = v->find(value("o"));
  REQUIRE(o);
  CHECK(o->as_mapping().size() == 3);
}

TEST_CASE("a merged key set again explicitly is a duplicate in strict mode", "[yaml][parse]") {
  CHECK(parse_error("base: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n") ==
        "yaml: unmarshal errors:\n  line 4: key \"x\" already set in map");
}

TEST_CASE("outside strict mode a later key overrides a merged or repeated one", "[yaml][parse]") {
  auto v = yaml::parse("base: &b {x: 1}\nm:\n  <<: *b\n  x: 2\nk: a\nk: b\n", false);
  REQUIRE(v);
  CHECK(*v->find(value("m"))->find(value("x")) == value(std::int64_t{2}));
  CHECK(*v->find(value("k")) == value("b"));
}

TEST_CASE("merging something that is not a map is an error", "[yaml][parse]") {
  CHECK(parse_error("m: {<<: 5}\n") == "yaml: map merge requires map or sequence of maps as the value");
  CHECK(parse_error("a: &a [1]\nm: {<<: *a}\n") == "yaml: map merge requires map or sequence of maps as the value");
  CHECK(parse_error("m: {<<: [1]}\n") == "yaml: map merge requires map or sequence of maps as the value");
}

TEST_CASE("strict mode reports every duplicate key with the line of its value", "[yaml][parse]") {
  CHECK(parse_error("platform: a\nplatform: b\n") == "yaml: unmarshal errors:\n  line 2: key \"platform\" already set in map");
  CHECK(parse_error("run:\n  path: a\n  path: b\nrun: x\nk: 1\nk:\n  2\n") ==
        "yaml: unmarshal errors:\n"
        "  line 3: key \"path\" already set in map\n"
        "  line 4: key \"run\" already set in map\n"
        "  line 7: key \"k\" already set in map");
  CHECK(parse_error("a: 1\na: 2\n", false) == "<no error>");
}

TEST_CASE("duplicate keys are compared after resolution and printed with Go's %#v", "[yaml][parse]") {
  CHECK(parse_error("on: 1\nyes: 2\n") == "yaml: unmarshal errors:\n  line 2: key true already set in map");
  CHECK(parse_error("1: a\n0x1: b\n") == "yaml: unmarshal errors:\n  line 2: key 1 already set in map");
  CHECK(parse_error("1.5: a\n1.50: b\n") == "yaml: unmarshal errors:\n  line 2: key 1.5 already set in map");
  CHECK(parse_error("~: a\nnull: b\n") == "yaml: unmarshal errors:\n  line 2: key <nil> already set in map");
  CHECK(parse_error("18446744073709551615: a\n18446744073709551615: b\n") ==
        "yaml: unmarshal errors:\n  line 2: key 0xffffffffffffffff already set in map");
  // A quoted "1" is a string, not the integer 1.
  CHECK(parse_error("1: a\n'1': b\n") == "<no error>");
}

TEST_CASE("a collection used as a map key is rejected", "[yaml][parse]") {
  CHECK(parse_error("? [a]\n: b\n") == "yaml: invalid map key: []interface {}{\"a\"}");
  CHECK(parse_error("? {a: 1}\n: b\n") == "yaml: invalid map key: map[interface {}]interface {}{\"a\":1}");
}

TEST_CASE("an alias inside its own anchor's value is an error", "[yaml][parse]") {
  CHECK(parse_error("a: &a [*a]\n") == "yaml: anchor 'a' value contains itself");
}

TEST_CASE("a quoted << is an ordinary key, not a merge", "[yaml][parse]") {
  auto v = yaml::parse("'<<': {a: 1}\n");
  REQUIRE(v);
  REQUIRE(v->find(value("<<")) != nullptr);
  CHECK(v->find(value("a")) == nullptr);
}

TEST_CASE("a duplicate key in a flow mapping is reported on its line", "[yaml][parse]") {
  CHECK(parse_error("{a: 1, a: 2}\n") == "yaml: unmarshal errors:\n  line 1: key \"a\" already set in map");
}
