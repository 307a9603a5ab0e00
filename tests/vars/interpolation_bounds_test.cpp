// Bounds on interpolation: Concourse substitutes a string's references one after another over the
// result, so `x: ((x))((x))` doubles the string per reference. Below the bounds results are what
// they always were; past them evaluation fails with an error naming the bound.
#include <string>

#include <catch2/catch.hpp>

#include "taskstep/vars/template.hpp"

using namespace taskstep;

namespace {

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

const std::string too_large = "interpolated config exceeds " + std::to_string(vars::max_interpolated_bytes) + " bytes";

}  // namespace

TEST_CASE("self-doubling references give Concourse's result below the bound", "[vars][hostile]") {
  vars::static_vars v;
  v.set("x", value("((x))((x))"));
  // 3 references: each pass replaces every ((x)) of the string so far.
  auto out = vars::evaluate(value("a((x))b((x))c((x))"), v);
  REQUIRE(out);
  CHECK(out->as_string() == "a" + repeat("((x))", 8) + "b" + repeat("((x))", 8) + "c" + repeat("((x))", 8));
}

TEST_CASE("self-doubling references past the bound fail quickly with the bound in the error", "[vars][hostile]") {
  vars::static_vars v;
  v.set("x", value("((x))((x))"));
  // 24 references would make 120 bytes * 2^24 = 1.9 GiB (13.6 GB of memory before the bound).
  auto out = vars::evaluate(value(repeat("((x))", 24)), v);
  REQUIRE_FALSE(out);
  CHECK(out.error().message() == too_large);
  // Spread over many strings of a document, the total is bounded too.
  sequence many;
  for (int i = 0; i < 40; ++i) many.push_back(value(repeat("((x))", 18)));  // 90 B * 2^18 = 22.5 MiB each
  auto doc = vars::evaluate(value(std::move(many)), v);
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message() == too_large);
}

TEST_CASE("the byte bound is exact for a substituted string", "[vars][hostile]") {
  const std::size_t max = vars::max_interpolated_bytes;
  vars::static_vars v;
  v.set("fits", value(std::string(max - 1, 'x')));
  v.set("over", value(std::string(max, 'x')));
  auto fits = vars::evaluate(value("a((fits))"), v);
  REQUIRE(fits);
  CHECK(fits->as_string().size() == max);
  auto over = vars::evaluate(value("a((over))"), v);
  REQUIRE_FALSE(over);
  CHECK(over.error().message() == too_large);
  // A whole-value reference counts the value it inserts.
  sequence twice{value("((fits))"), value("((fits))")};
  auto both = vars::evaluate(value(std::move(twice)), v);
  REQUIRE_FALSE(both);
  CHECK(both.error().message() == too_large);
}

TEST_CASE("a large var inserted by many references is bounded", "[vars][hostile]") {
  vars::static_vars v;
  v.set("big", value(std::string(1 << 20, 'b')));
  sequence refs;
  for (int i = 0; i < 63; ++i) refs.push_back(value("((big))"));
  auto fits = vars::evaluate(value(refs), v);
  REQUIRE(fits);
  CHECK(fits->as_sequence().size() == 63);
  for (int i = 0; i < 2; ++i) refs.push_back(value("((big))"));
  auto over = vars::evaluate(value(std::move(refs)), v);
  REQUIRE_FALSE(over);
  CHECK(over.error().message() == too_large);
  // Old-style {{big}} inserts the JSON text: bounded the same way.
  auto old_style = vars::evaluate(value(repeat("{{big}}", 70)), v);
  REQUIRE_FALSE(old_style);
  CHECK_THAT(old_style.error().message(), Catch::Contains(too_large));
  auto old_ok = vars::evaluate(value(repeat("{{big}}", 3)), v);
  REQUIRE(old_ok);
  CHECK(old_ok->as_string().size() == 3 * ((1 << 20) + 2));
}

TEST_CASE("a var cannot nest the interpolated tree deeper than the depth bound", "[vars][hostile]") {
  value deep("leaf");
  for (int i = 0; i < max_depth - 1; ++i) deep = value(sequence{std::move(deep)});
  vars::static_vars v;
  v.set("deep", deep);  // max_depth - 1 levels
  auto fits = vars::evaluate(value(sequence{value("((deep))")}), v);
  CHECK(fits);
  auto over = vars::evaluate(value(sequence{value(sequence{value("((deep))")})}), v);
  REQUIRE_FALSE(over);
  CHECK(over.error().message() == "exceeded max depth of " + std::to_string(max_depth) + " interpolating var: deep");
}

TEST_CASE("re-scanning a grown string for each reference is bounded work", "[vars][hostile]") {
  // After ((big)) the string is 8 MiB; each later reference scans and rebuilds it (16 MiB of work).
  vars::static_vars v;
  v.set("big", value(std::string(8 << 20, 'b')));
  std::string small = "((big))", large = "((big))";
  for (int i = 0; i < 10; ++i) {
    v.set("e" + std::to_string(i), value(""));
    small += "((e" + std::to_string(i) + "))";
  }
  for (int i = 0; i < 40; ++i) {
    v.set("e" + std::to_string(i), value(""));
    large += "((e" + std::to_string(i) + "))";
  }
  auto fits = vars::evaluate(value(small), v);  // ~170 MiB of work
  REQUIRE(fits);
  CHECK(fits->as_string() == std::string(8 << 20, 'b'));
  auto over = vars::evaluate(value(large), v);  // ~650 MiB of work
  REQUIRE_FALSE(over);
  CHECK(over.error().message() == "interpolation exceeds " + std::to_string(vars::max_interpolation_work) + " bytes of work");
  CHECK(vars::max_interpolation_work == std::size_t{268435456});
  // A string that stays one whole reference shape is settled without a full scan per reference.
  vars::static_vars d;
  d.set("x", value("((x))((x))"));
  auto doubled = vars::evaluate(value("((x))((x))((x))((x))"), d);
  REQUIRE(doubled);
  CHECK(doubled->as_string() == repeat("((x))", 4 * 16));
}

TEST_CASE("smaller interpolation limits stop evaluation sooner with the bound in the error", "[vars][hostile]") {
  vars::static_vars v;
  v.set("x", value("((x))((x))"));
  v.set("kib", value(std::string(1024, 'k')));
  vars::evaluate_options small;
  small.limits = {.max_bytes = 4096, .max_work = 1 << 20};
  // 10 doublings: 25 bytes * 2^10 = 25 KiB, far below the default bound, past 4 KiB.
  const value doubling(repeat("((x))", 10));
  CHECK(vars::evaluate(doubling, v));
  auto over = vars::evaluate(doubling, v, small);
  REQUIRE_FALSE(over);
  CHECK(over.error().message() == "interpolated config exceeds 4096 bytes");
  // The byte bound is exact under the smaller limit too, for ((x)) and old-style {{x}} alike.
  auto fits = vars::evaluate(value("((kib))((kib))((kib))((kib))"), v, small);
  REQUIRE(fits);
  CHECK(fits->as_string().size() == 4096);
  auto one_more = vars::evaluate(value("((kib))((kib))((kib))((kib))+"), v, small);
  REQUIRE_FALSE(one_more);
  CHECK(one_more.error().message() == "interpolated config exceeds 4096 bytes");
  auto old_style = vars::evaluate(value("{{kib}}{{kib}}{{kib}}{{kib}}"), v, small);  // JSON adds quotes
  REQUIRE_FALSE(old_style);
  CHECK_THAT(old_style.error().message(), Catch::Contains("interpolated config exceeds 4096 bytes"));
  // The work bound: re-scanning a 64 KiB string for each of 40 references, past 1 MiB.
  vars::static_vars w;
  w.set("big", value(std::string(64 << 10, 'b')));
  std::string scans = "((big))";
  for (int i = 0; i < 40; ++i) {
    w.set("e" + std::to_string(i), value(""));
    scans += "((e" + std::to_string(i) + "))";
  }
  vars::evaluate_options roomy_bytes;
  roomy_bytes.limits = {.max_bytes = 1 << 20, .max_work = 1 << 20};
  CHECK(vars::evaluate(value(scans), w));
  auto slow = vars::evaluate(value(scans), w, roomy_bytes);
  REQUIRE_FALSE(slow);
  CHECK(slow.error().message() == "interpolation exceeds 1048576 bytes of work");
}
