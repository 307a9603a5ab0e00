// The deprecated `{{name}}` templates (§4.6, §14.4.2).
#include <catch2/catch.hpp>

#include <memory>

#include "common/vars_support.hpp"

using namespace taskstep;
using taskstep::test::eval_yaml;
using taskstep::test::outcome;
using taskstep::test::static_from_yaml;

namespace {

vars::evaluate_options strict_old_style() {
  vars::evaluate_options o;
  o.allow_empty_old_style = false;
  return o;
}

}  // namespace

TEST_CASE("an old-style var becomes the JSON text of its value", "[vars][old-style]") {
  auto v = static_from_yaml("old: value\nnum: 1\nb: true\nl: [1, a]");
  // step vars come from the JSON-decoded pipeline, so their maps are map[string]interface {}
  v.set("m", value(mapping{map_entry{value("k"), value("v")}}, value::map_kind::json));
  CHECK(outcome(eval_yaml("a: '{{old}}'\n", v)) == R"({"a":"\"value\""})");
  CHECK(outcome(eval_yaml("a: 'x-{{old}}-y'\n", v)) == R"({"a":"x-\"value\"-y"})");
  CHECK(outcome(eval_yaml("a: '{{num}}'\nb: '{{b}}'\n", v)) == R"({"a":"1","b":"true"})");
  CHECK(outcome(eval_yaml("a: '{{l}}'\nb: '{{m}}'\n", v)) == R"({"a":"[1,\"a\"]","b":"{\"k\":\"v\"}"})");
}

TEST_CASE("a missing old-style var becomes null when empty is allowed", "[vars][old-style]") {
  CHECK(outcome(eval_yaml("args: ['{{foo}}', 'x{{foo}}']\n", vars::no_vars{})) == R"({"args":["null","xnull"]})");
}

TEST_CASE("a missing old-style var is an error when empty is not allowed", "[vars][old-style]") {
  CHECK(outcome(eval_yaml("a: '{{foo}}'\n", vars::no_vars{}, strict_old_style())) ==
        "error: 1 error occurred:\n\t* unbound variable in template: 'foo'\n\n");
}

TEST_CASE("every missing old-style var gets its own line", "[vars][old-style]") {
  CHECK(outcome(vars::evaluate(value("{{a}} and {{b}}"), vars::no_vars{}, strict_old_style())) ==
        "error: 2 errors occurred:\n\t* unbound variable in template: 'a'\n"
        "\t* unbound variable in template: 'b'\n\n");
}

TEST_CASE("found old-style vars are fine when empty is not allowed", "[vars][old-style]") {
  auto v = static_from_yaml("a: A");
  CHECK(outcome(vars::evaluate(value("{{a}}"), v, strict_old_style())) == R"("\"A\"")");
}

TEST_CASE("old-style names allow dashes, underscores and Unicode letters only", "[vars][old-style]") {
  vars::static_vars v;
  v.set("a-b_c", value("1"));
  v.set("ключ", value("2"));
  CHECK(outcome(vars::evaluate(value("{{a-b_c}}{{ключ}}"), v)) == R"("\"1\"\"2\"")");
  CHECK(outcome(vars::evaluate(value("{{}} {{ a }} {{a.b}} {{a/b}} {a}"), v, strict_old_style())) ==
        R"("{{}} {{ a }} {{a.b}} {{a/b}} {a}")");
}

TEST_CASE("only static sources answer old-style vars", "[vars][old-style]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::tracked_vars<vars::static_vars> creds(static_from_yaml("old: secret"), tracker);
  CHECK(outcome(vars::evaluate(value("{{old}}"), creds)) == R"("null")");
  CHECK(outcome(vars::evaluate(value("{{old}}"), creds, strict_old_style())) ==
        "error: 1 error occurred:\n\t* unbound variable in template: 'old'\n\n");

  vars::named_vars<vars::static_vars> named;
  named.add("old", static_from_yaml("old: x"));
  CHECK(outcome(vars::evaluate(value("{{old}}"), named)) == R"("null")");
}

TEST_CASE("the first static source that has an old-style var wins", "[vars][old-style]") {
  vars::static_vars_list list({static_from_yaml("a: first"), static_from_yaml("a: second\nb: only-second")});
  CHECK(outcome(vars::evaluate(value("{{a}} {{b}}"), list)) == R"("\"first\" \"only-second\"")");

  vars::multi_vars<vars::static_vars, vars::static_vars> multi(static_from_yaml("a: first"),
                                                               static_from_yaml("a: second"));
  CHECK(outcome(vars::evaluate(value("{{a}}"), multi)) == R"("\"first\"")");
}

TEST_CASE("static sources inside multi_vars answer old-style vars next to credential sources", "[vars][old-style]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::multi_vars<vars::tracked_vars<vars::static_vars>, vars::static_vars> multi(
      vars::tracked_vars<vars::static_vars>(static_from_yaml("a: cred"), tracker), static_from_yaml("a: static"));
  CHECK(outcome(vars::evaluate(value("{{a}}"), multi)) == R"("\"static\"")");
}

TEST_CASE("old-style vars are resolved before ((var)) references", "[vars][old-style]") {
  auto v = static_from_yaml("old: '((new))'\nnew: NEW");
  CHECK(outcome(vars::evaluate(value("x{{old}}"), v)) == R"("x\"NEW\"")");
}

TEST_CASE("old-style vars are resolved in map keys", "[vars][old-style]") {
  auto v = static_from_yaml("k: key");
  CHECK(outcome(eval_yaml("'{{k}}': v\n", v)) == R"({"\"key\"":"v"})");
}
