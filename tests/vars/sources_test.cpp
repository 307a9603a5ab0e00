// Variable sources: static, lists, named, multi, tracked (§4.4, §4.5, §14.5.3, §14.5.4).
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/vars_support.hpp"

using namespace taskstep;
using taskstep::test::outcome;
using taskstep::test::static_from_yaml;

namespace {

std::string get_outcome(const auto& source, std::string_view name) {
  auto r = source.get(vars::parse_reference(name));
  if (!r) return "error: " + r.error().message();
  if (!r->has_value()) return "<not found>";
  return test::json_of(**r);
}

std::string eval_text(std::string_view s, const auto& source) { return outcome(vars::evaluate(value(s), source)); }

}  // namespace

TEST_CASE("a static source looks up the path and ignores the source prefix", "[vars][sources]") {
  auto v = static_from_yaml("key: K");
  CHECK(get_outcome(v, "key") == R"("K")");
  CHECK(get_outcome(v, "src:key") == R"("K")");
  CHECK(get_outcome(v, ".:key") == R"("K")");
  CHECK(get_outcome(v, "vault:key.f") == R"("K")");  // fields are walked by the template, not the source
  CHECK(get_outcome(v, "nope") == "<not found>");
  CHECK(eval_text("((src:key))", v) == R"("K")");
  CHECK(eval_text("((.:key))", v) == R"("K")");
}

TEST_CASE("a static source finds a var whose value is null", "[vars][sources]") {
  auto v = static_from_yaml("nil: ~");
  CHECK(get_outcome(v, "nil") == "null");
  CHECK(eval_text("((nil))", v) == "null");
}

TEST_CASE("the colon quirk resolves a quoted name with a colon to the text after it", "[vars][sources]") {
  auto v = static_from_yaml("var: V");
  CHECK(eval_text(R"((("my:var")))", v) == R"("V")");
}

TEST_CASE("a static source lists its names as plain paths", "[vars][sources]") {
  auto v = static_from_yaml("b: 1\na: 2");
  auto list = v.list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].path == "a");
  CHECK(list[0].source.empty());
  CHECK(list[1].path == "b");
}

TEST_CASE("a list of static sources answers from the first that has the var", "[vars][sources]") {
  vars::static_vars_list list({static_from_yaml("a: first"), static_from_yaml("a: second\nb: B")});
  CHECK(get_outcome(list, "a") == R"("first")");
  CHECK(get_outcome(list, "b") == R"("B")");
  CHECK(get_outcome(list, "c") == "<not found>");
  CHECK(list.list().size() == 3);
}

TEST_CASE("multi_vars asks its sources in order and the first that finds wins", "[vars][sources]") {
  vars::multi_vars<vars::static_vars, vars::static_vars> m(static_from_yaml("a: first"),
                                                           static_from_yaml("a: second\nb: B"));
  CHECK(eval_text("((a)) ((b))", m) == R"("first B")");
  CHECK(eval_text("((c))", m) == "error: undefined vars: c");
}

TEST_CASE("multi_vars stops at the first source that fails", "[vars][sources]") {
  vars::named_vars<vars::static_vars> named;
  named.add("src", static_from_yaml("key: from-src"));
  vars::multi_vars<vars::named_vars<vars::static_vars>, vars::static_vars> m(named, static_from_yaml("key: global"));
  CHECK(eval_text("((other:key))", m) == "error: missing source 'other' in var: other:key");
  CHECK(eval_text("((src:key))", m) == R"("from-src")");
  CHECK(eval_text("((key))", m) == R"("global")");  // no source: the named layer says not found
  CHECK(eval_text("((src:nope))", m) == "error: undefined vars: src:nope");
}

TEST_CASE("a known source that lacks the var passes the lookup on to the next source", "[vars][sources]") {
  vars::named_vars<vars::static_vars> named;
  named.add("src", static_from_yaml("only: x"));
  vars::multi_vars<vars::named_vars<vars::static_vars>, vars::static_vars> m(named, static_from_yaml("key: global"));
  CHECK(eval_text("((src:key))", m) == R"("global")");  // the global layer ignores the source
}

TEST_CASE("a source that finds first hides a later failing one", "[vars][sources]") {
  vars::named_vars<vars::static_vars> named;
  vars::multi_vars<vars::static_vars, vars::named_vars<vars::static_vars>> m(static_from_yaml("key: global"), named);
  CHECK(eval_text("((other:key))", m) == R"("global")");
}

TEST_CASE("multi_vars lists every source's vars", "[vars][sources]") {
  vars::multi_vars<vars::static_vars, vars::static_vars> m(static_from_yaml("a: 1"), static_from_yaml("b: 2"));
  CHECK(m.list().size() == 2);
}

TEST_CASE("named vars route a reference to its source", "[vars][sources][named]") {
  vars::named_vars<vars::static_vars> named;
  named.add("src", static_from_yaml("key: K\nm: {f: F}"));
  CHECK(eval_text("((src:key))", named) == R"("K")");
  CHECK(eval_text("((src:m.f))", named) == R"("F")");
  CHECK(eval_text("((src:nope.f))", named) == "error: undefined vars: src:nope.f");
  CHECK(eval_text("((key))", named) == "error: undefined vars: key");
}

TEST_CASE("named vars fail for an unknown source with the full reference", "[vars][sources][named]") {
  vars::named_vars<vars::static_vars> named;
  named.add("src", static_from_yaml("key: K"));
  CHECK(eval_text("((other:key.f))", named) == "error: missing source 'other' in var: other:key.f");
  CHECK(eval_text("((s3:foo))", named) == "error: missing source 's3' in var: s3:foo");
  CHECK(eval_text(R"((("my:var")))", named) == R"(error: missing source '"my' in var: "my:var")");
  CHECK(eval_text("((.:name))", named) == "error: missing source '.' in var: .:name");
}

TEST_CASE("named vars list their vars with the source name", "[vars][sources][named]") {
  vars::named_vars<vars::static_vars> named;
  named.add("src", static_from_yaml("key: K"));
  auto list = named.list();
  REQUIRE(list.size() == 1);
  CHECK(list[0].source == "src");
  CHECK(list[0].path == "key");
}

TEST_CASE("no_vars finds nothing", "[vars][sources]") {
  CHECK(get_outcome(vars::no_vars{}, "a") == "<not found>");
  CHECK(vars::no_vars{}.list().empty());
}

TEST_CASE("tracked vars record the string values they hand out", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::tracked_vars<vars::static_vars> creds(static_from_yaml("s: secret\nunused: other"), tracker);
  CHECK(eval_text("x((s))", creds) == R"("xsecret")");
  CHECK(tracker->values() == std::map<std::string, std::string>{{"s", "secret"}});
}

TEST_CASE("tracked vars record maps recursively by dotted name and skip non-string leaves", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::tracked_vars<vars::static_vars> creds(
      static_from_yaml("m: {user: u, pass: p, port: 5432, tls: true, hosts: [h1], inner: {k: deep}}\n"
                       "num: 1\nb: true\nl: [a, b]\nz: ~"),
      tracker);
  REQUIRE(vars::evaluate(test::yaml_value("a: ((m))\nb: ((num))\nc: ((b))\nd: ((l))\ne: ((z))"), creds));
  CHECK(tracker->values() ==
        std::map<std::string, std::string>{{"m.user", "u"}, {"m.pass", "p"}, {"m.inner.k", "deep"}});
}

TEST_CASE("tracked vars record JSON-flavoured maps too", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::static_vars v;
  v.set("j", value(mapping{map_entry{value("pw"), value("hunter2")}}, value::map_kind::json));
  vars::tracked_vars<vars::static_vars> creds(v, tracker);
  REQUIRE(vars::evaluate(value("((j))"), creds));
  CHECK(tracker->values() == std::map<std::string, std::string>{{"j.pw", "hunter2"}});
}

TEST_CASE("a field reference records the values of the whole var", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::tracked_vars<vars::static_vars> creds(static_from_yaml("m: {user: u, pass: p}"), tracker);
  CHECK(eval_text("((m.user))", creds) == R"("u")");
  std::set<std::string> recorded;
  for (const auto& [name, v] : tracker->values()) recorded.insert(v);
  CHECK(recorded == std::set<std::string>{"u", "p"});
}

TEST_CASE("tracked vars record under the path without the source", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::tracked_vars<vars::static_vars> creds(static_from_yaml("s: secret"), tracker);
  CHECK(eval_text("((vault:s))", creds) == R"("secret")");
  CHECK(tracker->values() == std::map<std::string, std::string>{{"s", "secret"}});
}

TEST_CASE("values from static sources next to tracked ones are not recorded", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::multi_vars<vars::static_vars, vars::tracked_vars<vars::static_vars>> m(
      static_from_yaml("step: plain"),
      vars::tracked_vars<vars::static_vars>(static_from_yaml("cred: secret\nstep: shadowed"), tracker));
  CHECK(eval_text("((step)) ((cred))", m) == R"("plain secret")");
  CHECK(tracker->values() == std::map<std::string, std::string>{{"cred", "secret"}});
}

TEST_CASE("nothing is recorded for vars that are not found", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::tracked_vars<vars::static_vars> creds(static_from_yaml("s: secret"), tracker);
  CHECK(eval_text("((nope))", creds) == "error: undefined vars: nope");
  CHECK(tracker->values().empty());
}

TEST_CASE("tracked vars list what the wrapped source lists", "[vars][sources][tracking]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::tracked_vars<vars::static_vars> creds(static_from_yaml("a: 1\nb: 2"), tracker);
  CHECK(creds.list().size() == 2);
  CHECK(creds.tracker() == tracker);
}
