// Whole-value references keep their type; inline references take strings and integers only (§4.2, §14.5.2).
#include <catch2/catch.hpp>

#include "common/vars_support.hpp"

using namespace taskstep;
using taskstep::test::eval_yaml;
using taskstep::test::outcome;
using taskstep::test::static_from_yaml;
using taskstep::test::yaml_value;

namespace {

const vars::static_vars& typed_vars() {
  static const vars::static_vars v = static_from_yaml(
      "s: text\n"
      "i: 8080\n"
      "neg: -3\n"
      "u: 18446744073709551615\n"
      "f: 1.5\n"
      "whole_float: 8080.0\n"
      "b: true\n"
      "nil: ~\n"
      "m: {user: u, pass: p}\n"
      "l: [1, a]\n"
      "e: ''\n");
  return v;
}

value whole(std::string_view name) {
  auto r = vars::evaluate(value("((" + std::string(name) + "))"), typed_vars());
  if (!r) throw std::runtime_error(r.error().message());
  return *r;
}

std::string inline_outcome(std::string_view name) {
  return outcome(vars::evaluate(value("x-((" + std::string(name) + "))-y"), typed_vars()));
}

}  // namespace

TEST_CASE("a whole-value reference keeps the value's type", "[vars][evaluate]") {
  CHECK(whole("s") == value("text"));
  CHECK(whole("i") == value(8080));
  CHECK(whole("u") == value(std::uint64_t{18446744073709551615ULL}));
  CHECK(whole("f") == value(1.5));
  CHECK(whole("whole_float").type() == value::kind::floating);
  CHECK(whole("b") == value(true));
  CHECK(whole("nil").is_null());
  CHECK(whole("e") == value(""));
  CHECK(whole("l") == yaml_value("[1, a]"));
  const value m = whole("m");
  REQUIRE(m.is_mapping());
  CHECK(test::json_of(m) == R"({"pass":"p","user":"u"})");
}

TEST_CASE("a whole-value reference inside a document replaces the node", "[vars][evaluate]") {
  auto r = eval_yaml("a: ((i))\nb: [((b)), ((m))]\nc: ((nil))\n", typed_vars());
  CHECK(outcome(r) == R"({"a":8080,"b":[true,{"pass":"p","user":"u"}],"c":null})");
}

TEST_CASE("inline references accept strings and integers", "[vars][evaluate]") {
  CHECK(inline_outcome("s") == R"("x-text-y")");
  CHECK(inline_outcome("i") == R"("x-8080-y")");
  CHECK(inline_outcome("neg") == R"("x--3-y")");
  CHECK(inline_outcome("u") == R"("x-18446744073709551615-y")");
  CHECK(inline_outcome("e") == R"("x--y")");
}

TEST_CASE("inline references reject floats, bools, nulls, lists and maps with Go's type name", "[vars][evaluate]") {
  CHECK(inline_outcome("f") == "error: cannot interpolate non-primitive value (float64) from var: f");
  CHECK(inline_outcome("whole_float") ==
        "error: cannot interpolate non-primitive value (float64) from var: whole_float");
  CHECK(inline_outcome("b") == "error: cannot interpolate non-primitive value (bool) from var: b");
  CHECK(inline_outcome("nil") == "error: cannot interpolate non-primitive value (<nil>) from var: nil");
  CHECK(inline_outcome("m") ==
        "error: cannot interpolate non-primitive value (map[interface {}]interface {}) from var: m");
  CHECK(inline_outcome("l") == "error: cannot interpolate non-primitive value ([]interface {}) from var: l");
}

TEST_CASE("a JSON-sourced map is reported as map[string]interface {}", "[vars][evaluate]") {
  vars::static_vars v;
  v.set("jm", value(mapping{map_entry{value("a"), value(1.0)}}, value::map_kind::json));
  auto r = vars::evaluate(value("x((jm))"), v);
  CHECK(outcome(r) == "error: cannot interpolate non-primitive value (map[string]interface {}) from var: jm");
}

TEST_CASE("an inline error names the full reference including fields and source", "[vars][evaluate]") {
  auto v = static_from_yaml("m: {port: 1.5}");
  CHECK(outcome(vars::evaluate(value("h:((src:m.port))"), v)) ==
        "error: cannot interpolate non-primitive value (float64) from var: src:m.port");
}

TEST_CASE("a field reached through a whole-value reference keeps its type", "[vars][evaluate]") {
  auto v = static_from_yaml("m: {port: 5432, tls: false, inner: {k: [x]}}");
  CHECK(outcome(eval_yaml("a: ((m.port))\nb: ((m.tls))\nc: ((m.inner))\nd: ((m.inner.k))", v)) ==
        R"({"a":5432,"b":false,"c":{"k":["x"]},"d":["x"]})");
}

TEST_CASE("every occurrence of a repeated reference is replaced", "[vars][evaluate]") {
  auto v = static_from_yaml("a: A\nb: B");
  CHECK(outcome(vars::evaluate(value("((a))-((b))-((a))"), v)) == R"("A-B-A")");
  CHECK(outcome(vars::evaluate(value("((a))((a))"), v)) == R"("AA")");
}

TEST_CASE("a repeated whole value is still inline", "[vars][evaluate]") {
  auto v = static_from_yaml("i: 1");
  CHECK(outcome(vars::evaluate(value("((i))((i))"), v)) == R"("11")");
}

TEST_CASE("a substituted value that contains a later reference of the same string is substituted too", "[vars][evaluate]") {
  auto v = static_from_yaml("a: '((b))'\nb: B");
  CHECK(outcome(vars::evaluate(value("((a)) ((b))"), v)) == R"("B B")");
}

TEST_CASE("a substituted value is not evaluated again otherwise", "[vars][evaluate]") {
  auto v = static_from_yaml("a: '((b))'\nb: B");
  CHECK(outcome(vars::evaluate(value("((a))"), v)) == R"j("((b))")j");
  CHECK(outcome(vars::evaluate(value("x((b))((a))"), v)) == R"j("xB((b))")j");
}

TEST_CASE("the whole-value check looks at the string as substituted so far", "[vars][evaluate]") {
  // Go checks the anchored pattern against the partly substituted string: once `((e))` became empty,
  // `((m))` spans the whole string and keeps its map type.
  auto v = static_from_yaml("e: ''\nm: {k: v}");
  CHECK(outcome(vars::evaluate(value("((e))((m))"), v)) == R"({"k":"v"})");
}

TEST_CASE("text that is not a reference is left alone", "[vars][evaluate]") {
  auto v = static_from_yaml("x: X\nkey: K");
  CHECK(outcome(vars::evaluate(value("((a b)) (( x )) ((!x)) (() ((x)))"), v)) ==
        R"j("((a b)) (( x )) ((!x)) (() X)")j");
  CHECK(outcome(vars::evaluate(value("(((key))"), v)) == R"("(K")");
}

TEST_CASE("non-string scalars are not touched", "[vars][evaluate]") {
  auto r = eval_yaml("a: 1\nb: true\nc: ~\nd: 1.5\n", vars::no_vars{});
  CHECK(outcome(r) == R"({"a":1,"b":true,"c":null,"d":1.5})");
}

TEST_CASE("map values and keys are both interpolated", "[vars][evaluate]") {
  auto v = static_from_yaml("k: key\nv: val\nseven: 7");
  CHECK(outcome(eval_yaml("((k)): ((v))\nx-((k)): y-((v))\n", v)) == R"({"key":"val","x-key":"y-val"})");
  auto typed = eval_yaml("((seven)): a\n", v);
  REQUIRE(typed);
  REQUIRE(typed->is_mapping());
  REQUIRE(typed->as_mapping().size() == 1);
  CHECK(typed->as_mapping()[0].key == value(7));  // a whole-value key keeps its type too
}

TEST_CASE("a map entry's value is interpolated before its key", "[vars][evaluate]") {
  auto v = static_from_yaml("kf: 1.5\nvf: 2.5");
  CHECK(outcome(eval_yaml("x((kf)): x((vf))\n", v)) ==
        "error: cannot interpolate non-primitive value (float64) from var: vf");
}

TEST_CASE("references inside lists and nested maps are interpolated", "[vars][evaluate]") {
  auto v = static_from_yaml("a: A");
  CHECK(outcome(eval_yaml("l: [((a)), [x((a))], {k: ((a))}]\n", v)) == R"({"l":["A",["xA"],{"k":"A"}]})");
}

TEST_CASE("Unicode names and 6.7 path characters resolve", "[vars][evaluate]") {
  vars::static_vars v;
  v.set("pässwörd", value("P"));
  v.set("foo/bar@x.com", value("mail"));
  v.set("a.b", value("dotted"));
  v.set("with.dot:colon", value(mapping{map_entry{value("buzz"), value("B")}}));
  CHECK(outcome(vars::evaluate(value("((pässwörd))"), v)) == R"("P")");
  CHECK(outcome(vars::evaluate(value(R"((("foo/bar@x.com")))"), v)) == R"("mail")");
  CHECK(outcome(vars::evaluate(value("((foo/bar@x.com))"), v)) == "error: undefined vars: foo/bar@x.com");
  CHECK(outcome(vars::evaluate(value(R"((("a.b")))"), v)) == R"("dotted")");
  CHECK(outcome(vars::evaluate(value(R"(((foo:"with.dot:colon".buzz)))"), v)) == R"("B")");
}
