#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "taskstep/vars/reference.hpp"

using namespace taskstep::vars;

namespace {

// The names of all references found in `s`, leftmost first.
std::vector<std::string> names(std::string_view s) {
  std::vector<std::string> out;
  for (const auto& m : find_references(s)) out.push_back(m.name);
  return out;
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("a reference splits into source, path with quotes removed, and verbatim fields", "[vars][reference]") {
  auto r = parse_reference(R"(foo:"with.dot:colon".buzz)");
  CHECK(r.source == "foo");
  CHECK(r.path == "with.dot:colon");
  CHECK(r.fields == std::vector<std::string>{"buzz"});
}

TEST_CASE("a plain reference is found with its position and name", "[vars][reference]") {
  auto refs = find_references("a ((key)) b");
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].begin == 2);
  CHECK(refs[0].end == 9);
  CHECK(refs[0].name == "key");
}

TEST_CASE("names may use dashes, slashes, dots, underscores and digits", "[vars][reference]") {
  CHECK(names("((a-b/c.d_e9))") == strings{"a-b/c.d_e9"});
  CHECK(names("((_))") == strings{"_"});
  CHECK(names("((9))") == strings{"9"});
}

TEST_CASE("paths may contain colons, at signs and double quotes since 6.7", "[vars][reference]") {
  CHECK(names("((foo/bar@x.com))") == strings{"foo/bar@x.com"});
  CHECK(names("((a:b:c))") == strings{"a:b:c"});
  CHECK(names("((:key))") == strings{":key"});
  CHECK(names(R"((("a.b")))") == strings{R"("a.b")"});
  CHECK(names(R"(((m."a.b")))") == strings{R"(m."a.b")"});
}

TEST_CASE("text that does not match the 6.7 pattern stays literal without error", "[vars][reference]") {
  CHECK(names("((a b))").empty());
  CHECK(names("(( x ))").empty());
  CHECK(names("((!x))").empty());  // `!` is no longer accepted (6.7)
  CHECK(names("(()").empty());
  CHECK(names("(())").empty());
  CHECK(names(R"((("a b")))").empty());  // spaces are impossible even inside quotes
  CHECK(names("((a'b))").empty());
  CHECK(names("((a))b").size() == 1);
  CHECK(names("((a)").empty());
  CHECK(names("(a)").empty());
  CHECK(names("((a\nb))").empty());
  CHECK(names("((a\tb))").empty());
  CHECK(names("((a$b))").empty());
  CHECK(names("((a+b))").empty());
}

TEST_CASE("a surplus closing parenthesis stays after the reference", "[vars][reference]") {
  auto refs = find_references("((x)))");
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].name == "x");
  CHECK(refs[0].begin == 0);
  CHECK(refs[0].end == 5);
}

TEST_CASE("a surplus opening parenthesis stays before the reference", "[vars][reference]") {
  auto refs = find_references("(((x))");
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].name == "x");
  CHECK(refs[0].begin == 1);
  CHECK(refs[0].end == 6);
}

TEST_CASE("references are found leftmost first, without overlap, duplicates included", "[vars][reference]") {
  CHECK(names("((a))((b))") == strings{"a", "b"});
  CHECK(names("((b)) and ((a)) and ((b))") == strings{"b", "a", "b"});
  CHECK(names("((a((b))") == strings{"b"});
  CHECK(names("((a))b))") == strings{"a"});
  CHECK(names("x((a)) ((a b)) ((c))y") == strings{"a", "c"});
}

TEST_CASE("Unicode letters are name characters", "[vars][reference]") {
  CHECK(names("((pässwörd))") == strings{"pässwörd"});
  CHECK(names("((名前))") == strings{"名前"});
  CHECK(names("((ключ.поле))") == strings{"ключ.поле"});
  CHECK(names("((ªµ))") == strings{"ªµ"});  // Lo and Ll outside the big scripts
}

TEST_CASE("Unicode characters that are not letters end a name", "[vars][reference]") {
  // \w is ASCII only and \pL is letters only: symbols, marks and non-ASCII digits are not name characters.
  CHECK(names("((a€))").empty());
  CHECK(names("((a😀))").empty());
  CHECK(names("((a\u00a0b))").empty());   // no-break space
  CHECK(names("((e\u0301))").empty());    // COMBINING ACUTE ACCENT (Mn)
}

TEST_CASE("non-ASCII digits and letter-like numbers are not name characters", "[vars][reference]") {
  // \w is ASCII-only in RE2 and \pL excludes the N* categories.
  CHECK(names("((a\u0663))").empty());    // ARABIC-INDIC DIGIT THREE (Nd)
  CHECK(names("((\u2160))").empty());     // ROMAN NUMERAL ONE (Nl)
}

TEST_CASE("invalid UTF-8 inside the parentheses is not a name", "[vars][reference]") {
  CHECK(names("((a\xff))").empty());
  CHECK(names("((a\xc3))").empty());
}

TEST_CASE("whole-value detection needs exactly one reference spanning the string", "[vars][reference]") {
  CHECK(is_whole_reference("((a))"));
  CHECK(is_whole_reference("((src:m.\"x.y\"))"));
  CHECK_FALSE(is_whole_reference(" ((a))"));
  CHECK_FALSE(is_whole_reference("((a)) "));
  CHECK_FALSE(is_whole_reference("((a))((b))"));
  CHECK_FALSE(is_whole_reference("((a)))"));
  CHECK_FALSE(is_whole_reference("(((a))"));
  CHECK_FALSE(is_whole_reference("((a b))"));
  CHECK_FALSE(is_whole_reference("((!a))"));
  CHECK_FALSE(is_whole_reference(""));
  CHECK_FALSE(is_whole_reference("a"));
}

TEST_CASE("a name without source or dots is just a path", "[vars][reference]") {
  auto r = parse_reference("key");
  CHECK(r.name == "key");
  CHECK(r.source.empty());
  CHECK(r.path == "key");
  CHECK(r.fields.empty());
}

TEST_CASE("dots split the path from its fields", "[vars][reference]") {
  auto r = parse_reference("foo.bar.baz");
  CHECK(r.source.empty());
  CHECK(r.path == "foo");
  CHECK(r.fields == strings{"bar", "baz"});
}

TEST_CASE("the source is the text before the first colon and may contain dots", "[vars][reference]") {
  auto r = parse_reference("my.src:key");
  CHECK(r.source == "my.src");
  CHECK(r.path == "key");
  CHECK(r.fields.empty());

  auto s = parse_reference("src:key.f");
  CHECK(s.source == "src");
  CHECK(s.path == "key");
  CHECK(s.fields == strings{"f"});
}

TEST_CASE("a colon after the first one belongs to the path", "[vars][reference]") {
  auto r = parse_reference("a:b:c");
  CHECK(r.source == "a");
  CHECK(r.path == "b:c");
  CHECK(r.fields.empty());
}

TEST_CASE("a leading colon is part of the path, not an empty source", "[vars][reference]") {
  auto r = parse_reference(":key");
  CHECK(r.source.empty());
  CHECK(r.path == ":key");
  CHECK(r.fields.empty());
}

TEST_CASE("a local reference has the source dot", "[vars][reference]") {
  auto r = parse_reference(".:name");
  CHECK(r.source == ".");
  CHECK(r.path == "name");
}

TEST_CASE("a quoted path keeps its dots and loses its quotes", "[vars][reference]") {
  auto r = parse_reference(R"("a.b")");
  CHECK(r.path == "a.b");
  CHECK(r.fields.empty());
}

TEST_CASE("a quoted field keeps its dots and its quotes", "[vars][reference]") {
  auto r = parse_reference(R"(m."a.b")");
  CHECK(r.path == "m");
  CHECK(r.fields == strings{R"("a.b")"});

  auto s = parse_reference(R"("a.b".c."d.e")");
  CHECK(s.path == "a.b");
  CHECK(s.fields == strings{"c", R"("d.e")"});
}

TEST_CASE("a quoted run followed by plain text is one segment", "[vars][reference]") {
  auto r = parse_reference(R"("a.b"c.d)");
  CHECK(r.path == "a.bc");
  CHECK(r.fields == strings{"d"});
}

TEST_CASE("an unclosed quote does not protect dots", "[vars][reference]") {
  auto r = parse_reference(R"("a.b)");
  CHECK(r.path == "a");
  CHECK(r.fields == strings{"b"});
}

TEST_CASE("empty segments between dots are skipped", "[vars][reference]") {
  auto r = parse_reference("a..b.");
  CHECK(r.path == "a");
  CHECK(r.fields == strings{"b"});
}

TEST_CASE("the colon split ignores quotes (the 6.7 quirk)", "[vars][reference]") {
  auto r = parse_reference(R"("my:var")");
  CHECK(r.source == R"("my)");
  CHECK(r.path == "var");
  CHECK(r.fields.empty());
}

TEST_CASE("unused-var identifiers are source:path or path", "[vars][reference]") {
  CHECK(identifier(parse_reference("src:m.f")) == "src:m");
  CHECK(identifier(parse_reference("m.f")) == "m");
  CHECK(identifier(parse_reference(R"("a.b".c)")) == "a.b");
}
