// fly execute's -v, -y and -l variables (§4.3, §4.4, §10, §14.11).
#include <catch2/catch.hpp>

#include "common/vars_support.hpp"
#include "taskstep/config/var_flags.hpp"

using namespace taskstep;
using taskstep::test::error_text;
using taskstep::test::outcome;

namespace {

vars::static_vars from_file(std::string_view text) {
  auto r = config::load_vars_file(text);
  if (!r) throw std::runtime_error(r.error().message());
  return *r;
}

}  // namespace

TEST_CASE("var flags: -v splits at the first equals sign and keeps the value a string", "[config][var-flags]") {
  auto p = config::parse_var_pair("name=value");
  REQUIRE(p);
  CHECK(p->name == "name");
  CHECK(p->val == value("value"));

  auto q = config::parse_var_pair("url=http://x?a=b");
  REQUIRE(q);
  CHECK(q->name == "url");
  CHECK(q->val == value("http://x?a=b"));

  auto n = config::parse_var_pair("port=8080");
  REQUIRE(n);
  CHECK(n->val == value("8080"));

  auto e = config::parse_var_pair("empty=");
  REQUIRE(e);
  CHECK(e->val == value(""));
}

TEST_CASE("var flags: -v without an equals sign is an invalid input pair", "[config][var-flags]") {
  auto p = config::parse_var_pair("novalue");
  CHECK(error_text(p) == "invalid input pair 'novalue' (must be name=value)");
  REQUIRE_FALSE(p);
  CHECK(p.error().code() == errc::usage);
  CHECK(error_text(config::parse_yaml_var_pair("novalue")) == "invalid input pair 'novalue' (must be name=value)");
}

TEST_CASE("var flags: -y values are typed by go-yaml", "[config][var-flags]") {
  auto get = [](std::string_view arg) {
    auto p = config::parse_yaml_var_pair(arg);
    if (!p) throw std::runtime_error(p.error().message());
    return p->val;
  };
  CHECK(get("port=8080") == value(8080));
  CHECK(get("on=yes") == value(true));
  CHECK(get("f=1.5") == value(1.5));
  CHECK(get("s=hello") == value("hello"));
  CHECK(get("q='8080'") == value("8080"));
  CHECK(get("n=~").is_null());
  CHECK(get("l=[1, a]") == test::yaml_value("[1, a]"));
  const value m = get("m={a: 1}");
  REQUIRE(m.is_mapping());
  CHECK(m.origin == value::map_kind::yaml);
}

TEST_CASE("var flags: -y values that are not YAML are an error", "[config][var-flags]") {
  CHECK_FALSE(config::parse_yaml_var_pair("x=[a"));
}

TEST_CASE("var flags: -y integers can be used inline, -v strings too", "[config][var-flags]") {
  vars::static_vars v;
  auto y = config::parse_yaml_var_pair("port=8080");
  auto s = config::parse_var_pair("host=example.com");
  REQUIRE(y);
  REQUIRE(s);
  v.set(y->name, y->val);
  v.set(s->name, s->val);
  CHECK(outcome(vars::evaluate(value("((host)):((port))"), v)) == R"("example.com:8080")");
}

TEST_CASE("var flags: -y maps are go-yaml maps in error texts", "[config][var-flags]") {
  vars::static_vars v;
  auto y = config::parse_yaml_var_pair("m={a: 1}");
  REQUIRE(y);
  v.set(y->name, y->val);
  CHECK(outcome(vars::evaluate(value("x((m))"), v)) ==
        "error: cannot interpolate non-primitive value (map[interface {}]interface {}) from var: m");
}

TEST_CASE("var flags: -v names are not expanded at dots in 6.7", "[config][var-flags]") {
  vars::static_vars v;
  auto p = config::parse_var_pair("a.b=c");
  REQUIRE(p);
  v.set(p->name, p->val);
  vars::evaluate_options lax;
  lax.expect_all_keys = false;
  CHECK(outcome(vars::evaluate(value("((a.b))"), v, lax)) == R"j("((a.b))")j");
  CHECK(outcome(vars::evaluate(value(R"((("a.b")))"), v, lax)) == R"("c")");
}

TEST_CASE("var flags: -l files hold float64 numbers, so inline use fails", "[config][var-flags]") {
  auto v = from_file("port: 8080\nhost: example.com\n");
  CHECK(outcome(vars::evaluate(value("((host)):((port))"), v)) ==
        "error: cannot interpolate non-primitive value (float64) from var: port");
  auto whole = vars::evaluate(value("((port))"), v);
  REQUIRE(whole);
  CHECK(whole->type() == value::kind::floating);
  CHECK(*whole == value(8080.0));
}

TEST_CASE("var flags: -l files hold JSON maps", "[config][var-flags]") {
  auto v = from_file("m: {a: 1, b: [x, 2]}\n");
  CHECK(outcome(vars::evaluate(value("x((m))"), v)) ==
        "error: cannot interpolate non-primitive value (map[string]interface {}) from var: m");
  CHECK(outcome(vars::evaluate(value("((m.b))"), v)) == R"(["x",2])");
  auto a = vars::evaluate(value("((m.a))"), v);
  REQUIRE(a);
  CHECK(a->type() == value::kind::floating);
}

TEST_CASE("var flags: -l files keep strings and bools and read YAML 1.1 words", "[config][var-flags]") {
  auto v = from_file("s: text\nq: '8080'\nb: yes\nnil: ~\n");
  CHECK(outcome(vars::evaluate(value("((s))-((q))"), v)) == R"("text-8080")");
  CHECK(outcome(vars::evaluate(value("((b))"), v)) == "true");
  CHECK(outcome(vars::evaluate(value("((nil))"), v)) == "null");
}

TEST_CASE("var flags: -l files stringify non-string keys", "[config][var-flags]") {
  auto v = from_file("1: one\ntrue: yes-key\n");
  CHECK(outcome(vars::evaluate(value("((1)) ((true))"), v)) == R"("one yes-key")");
}

TEST_CASE("an empty -l file holds no vars", "[config][var-flags]") {
  CHECK(from_file("").values().empty());
  CHECK(from_file("~\n").values().empty());
}

TEST_CASE("an -l file that is not a map cannot be unmarshalled", "[config][var-flags]") {
  // sigs.k8s.io/yaml v1.1.0 (6.7's go.mod): "error unmarshaling JSON: %v" around "while decoding JSON: %v".
  CHECK(error_text(config::load_vars_file("- a\n- b\n")) ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type vars.StaticVariables");
  CHECK(error_text(config::load_vars_file("just text\n")) ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type vars.StaticVariables");
}

TEST_CASE("an -l file that is not YAML is a conversion error", "[config][var-flags]") {
  auto r = config::load_vars_file("a: [b\n");
  CHECK(error_text(r) == "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'");
}

TEST_CASE("an -l file with infinite numbers cannot be converted to JSON", "[config][var-flags]") {
  CHECK(error_text(config::load_vars_file("a: .inf\n")) == "error converting YAML to JSON: json: unsupported value: +Inf");
}

TEST_CASE("var flags: -l files and flags chain with the first source winning", "[config][var-flags]") {
  vars::static_vars flags;
  auto p = config::parse_var_pair("a=flag");
  REQUIRE(p);
  flags.set(p->name, p->val);
  vars::static_vars_list list({flags, from_file("a: later-file\nb: later-file\n"), from_file("b: earlier-file\nc: c\n")});
  CHECK(outcome(vars::evaluate(value("((a)) ((b)) ((c))"), list)) == R"("flag later-file c")");
}
