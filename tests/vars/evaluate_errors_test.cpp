// Field walking, undefined and unused vars, and how their errors read (§4.2, §4.4, §14.5.2, §14.5.3).
#include <catch2/catch.hpp>

#include "common/vars_support.hpp"

using namespace taskstep;
using taskstep::test::eval_yaml;
using taskstep::test::outcome;
using taskstep::test::static_from_yaml;

namespace {

std::string eval_text(std::string_view s, const vars::static_vars& v, vars::evaluate_options o = {}) {
  return outcome(vars::evaluate(value(s), v, o));
}

}  // namespace

TEST_CASE("a missing field names the field and the full reference", "[vars][evaluate][fields]") {
  auto v = static_from_yaml("m: {x: 1}");
  CHECK(eval_text("((m.nope))", v) == "error: missing field 'nope' in var: m.nope");
  CHECK(eval_text("a-((m.nope))", v) == "error: missing field 'nope' in var: m.nope");
  CHECK(eval_text("((src:m.nope))", v) == "error: missing field 'nope' in var: src:m.nope");
}

TEST_CASE("a field of a non-map names Go's type of the value", "[vars][evaluate][fields]") {
  auto v = static_from_yaml("k: text\nl: [a]\ni: 1\nf: 1.5\nb: true\nnil: ~\nm: {s: str}");
  CHECK(eval_text("((k.x))", v) == "error: cannot access field 'x' of non-map value ('string') from var: k.x");
  CHECK(eval_text("((l.0))", v) == "error: cannot access field '0' of non-map value ('[]interface {}') from var: l.0");
  CHECK(eval_text("((i.x))", v) == "error: cannot access field 'x' of non-map value ('int') from var: i.x");
  CHECK(eval_text("((f.x))", v) == "error: cannot access field 'x' of non-map value ('float64') from var: f.x");
  CHECK(eval_text("((b.x))", v) == "error: cannot access field 'x' of non-map value ('bool') from var: b.x");
  CHECK(eval_text("((nil.x))", v) == "error: cannot access field 'x' of non-map value ('<nil>') from var: nil.x");
  CHECK(eval_text("((m.s.deeper))", v) ==
        "error: cannot access field 'deeper' of non-map value ('string') from var: m.s.deeper");
}

TEST_CASE("fields walk JSON-flavoured maps too", "[vars][evaluate][fields]") {
  vars::static_vars v;
  v.set("jm", value(mapping{map_entry{value("a"), value("A")}}, value::map_kind::json));
  CHECK(eval_text("((jm.a))", v) == R"("A")");
  CHECK(eval_text("((jm.b))", v) == "error: missing field 'b' in var: jm.b");
}

TEST_CASE("a field is matched as a string key only", "[vars][evaluate][fields]") {
  // go-yaml made the key an int; Go indexes the map with the string "1".
  auto v = static_from_yaml("m: {1: one, '2': two}");
  CHECK(eval_text("((m.1))", v) == "error: missing field '1' in var: m.1");
  CHECK(eval_text("((m.2))", v) == R"("two")");
}

TEST_CASE("a quoted field keeps its quotes when looked up", "[vars][evaluate][fields]") {
  auto v = static_from_yaml("m: {a.b: x}");
  CHECK(eval_text(R"(((m."a.b")))", v) == R"(error: missing field '"a.b"' in var: m."a.b")");
}

TEST_CASE("a lookup error stops the evaluation even when other vars are undefined", "[vars][evaluate][fields]") {
  auto v = static_from_yaml("m: {x: 1}");
  CHECK(outcome(eval_yaml("a: ((nope))\nb: ((m.y))\n", v)) == "error: missing field 'y' in var: m.y");
}

TEST_CASE("undefined vars are reported by full reference, sorted and unique", "[vars][evaluate][undefined]") {
  CHECK(outcome(eval_yaml("a: ((nope.sub)) ((nope.other)) ((zz))\nb: ((zz))\nc: ((nope.sub))\n",
                          vars::no_vars{})) == "error: undefined vars: nope.other, nope.sub, zz");
}

TEST_CASE("an undefined var with a source keeps the source in the report", "[vars][evaluate][undefined]") {
  CHECK(outcome(vars::evaluate(value("((src:nope.f))"), vars::no_vars{})) == "error: undefined vars: src:nope.f");
  CHECK(outcome(vars::evaluate(value("((:key))"), vars::no_vars{})) == "error: undefined vars: :key");
}

TEST_CASE("an undefined var in a map key is reported", "[vars][evaluate][undefined]") {
  CHECK(outcome(eval_yaml("((k)): v\n", vars::no_vars{})) == "error: undefined vars: k");
}

TEST_CASE("static vars no longer expand dotted names", "[vars][evaluate][undefined]") {
  vars::static_vars v;
  v.set("a.b", value("x"));
  CHECK(eval_text("((a.b))", v) == "error: undefined vars: a.b");
  CHECK(eval_text(R"((("a.b")))", v) == R"("x")");
}

TEST_CASE("without expect_all_keys undefined references stay as they were", "[vars][evaluate][undefined]") {
  vars::evaluate_options lax;
  lax.expect_all_keys = false;
  auto v = static_from_yaml("a: A\nm: {k: 1}");
  CHECK(eval_text("((nope))", v, lax) == R"j("((nope))")j");
  CHECK(eval_text("x((nope))y((a))", v, lax) == R"j("x((nope))yA")j");
  CHECK(eval_text("((src:nope.f))", v, lax) == R"j("((src:nope.f))")j");
  CHECK(outcome(eval_yaml("((nope)): ((a))\n", v, lax)) == R"j({"((nope))":"A"})j");
}

TEST_CASE("without expect_all_keys lookup errors are still errors", "[vars][evaluate][undefined]") {
  vars::evaluate_options lax;
  lax.expect_all_keys = false;
  auto v = static_from_yaml("m: {k: 1}\nf: 1.5");
  CHECK(eval_text("((m.nope))", v, lax) == "error: missing field 'nope' in var: m.nope");
  CHECK(eval_text("x((f))", v, lax) == "error: cannot interpolate non-primitive value (float64) from var: f");
}

TEST_CASE("unused vars are reported when asked for", "[vars][evaluate][unused]") {
  vars::evaluate_options strict;
  strict.expect_all_used = true;
  auto v = static_from_yaml("a: A\nu: U\nw: W");
  CHECK(eval_text("((a))", v, strict) == "error: unused vars: u, w");
  CHECK(eval_text("((a)) ((u)) ((w))", v, strict) == R"("A U W")");
  CHECK(eval_text("((a))", v) == R"("A")");  // off by default
}

TEST_CASE("a var referenced only through a field counts as used", "[vars][evaluate][unused]") {
  vars::evaluate_options strict;
  strict.expect_all_used = true;
  auto v = static_from_yaml("m: {k: K}");
  CHECK(eval_text("((m.k))", v, strict) == R"("K")");
}

TEST_CASE("undefined and unused vars together make a multi-error", "[vars][evaluate][unused]") {
  vars::evaluate_options strict;
  strict.expect_all_used = true;
  auto v = static_from_yaml("u: U");
  CHECK(eval_text("((nope))", v, strict) ==
        "error: 2 errors occurred:\n\t* undefined vars: nope\n\t* unused vars: u\n\n");
}

TEST_CASE("unused named vars are identified as source:path", "[vars][evaluate][unused]") {
  vars::evaluate_options strict;
  strict.expect_all_used = true;
  vars::named_vars<vars::static_vars> named;
  named.add("src", static_from_yaml("key: K\nm: {f: 1}"));
  CHECK(outcome(vars::evaluate(value("((src:key))"), named, strict)) == "error: unused vars: src:m");
}

TEST_CASE("go-multierror's text for one and for several errors", "[vars][evaluate]") {
  CHECK(vars::multi_error_text({"a"}) == "1 error occurred:\n\t* a\n\n");
  CHECK(vars::multi_error_text({"a", "b"}) == "2 errors occurred:\n\t* a\n\t* b\n\n");
  CHECK(vars::multi_error_text({"a", "b", "c"}) == "3 errors occurred:\n\t* a\n\t* b\n\t* c\n\n");
}

TEST_CASE("evaluation errors carry their kind", "[vars][evaluate]") {
  auto v = static_from_yaml("m: {k: 1}\nf: 1.5");
  auto undefined = vars::evaluate(value("((nope))"), v);
  REQUIRE_FALSE(undefined);
  CHECK(undefined.error().code() == errc::undefined_vars);
  auto field = vars::evaluate(value("((m.x))"), v);
  REQUIRE_FALSE(field);
  CHECK(field.error().code() == errc::var_lookup);
  auto inl = vars::evaluate(value("x((f))"), v);
  REQUIRE_FALSE(inl);
  CHECK(inl.error().code() == errc::interpolation);
}
