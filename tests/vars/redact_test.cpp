// Redaction of recorded credential values from task output (§4.5, §14.5.4).
#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "taskstep/vars/redact.hpp"

using namespace taskstep::vars;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

redactor redactor_for(std::map<std::string, std::string> creds) { return redactor(redaction_pieces(creds)); }

// Everything the redactor lets out for these writes, flush included.
std::string run(redactor r, std::initializer_list<std::string_view> writes) {
  std::string out;
  for (auto w : writes) out += r.write(w);
  return out + r.flush();
}

}  // namespace

TEST_CASE("redaction pieces are the lines of each value, trimmed, longer than one byte", "[vars][redact]") {
  auto pieces = redaction_pieces({{"a", "line-one\n  line-two \t\nx\n\n  y  \nzz"}, {"b", "s"}, {"c", "\tsecret\r"}});
  CHECK(sorted(pieces) == std::vector<std::string>{"line-one", "line-two", "secret", "zz"});
}

TEST_CASE("redaction pieces drop duplicates", "[vars][redact]") {
  CHECK(redaction_pieces({{"a", "same"}, {"b", "same"}}) == std::vector<std::string>{"same"});
}

TEST_CASE("redaction pieces are ordered longest first", "[vars][redact]") {
  CHECK(redaction_pieces({{"a", "pass"}, {"b", "password"}}) == std::vector<std::string>{"password", "pass"});
}

TEST_CASE("redaction pieces are trimmed of Unicode white space like Go's TrimSpace", "[vars][redact]") {
  CHECK(redaction_pieces({{"a", "\u00a0pw\u00a0"}}) == std::vector<std::string>{"pw"});
  CHECK(redaction_pieces({{"a", "\u0085pw"}}) == std::vector<std::string>{"pw"});
}

TEST_CASE("no credentials means no pieces and a pass-through redactor", "[vars][redact]") {
  CHECK(redaction_pieces({}).empty());
  redactor r;
  CHECK(r.empty());
  CHECK(r.write("anything ((at)) all") == "anything ((at)) all");
  CHECK(r.flush().empty());
}

TEST_CASE("a secret within one write is redacted", "[vars][redact]") {
  auto r = redactor_for({{"s", "super-secret-source"}});
  CHECK(r.write("ok super-secret-source ok\n") == "ok ((redacted)) ok\n");
  CHECK(r.flush().empty());
}

TEST_CASE("every occurrence of a secret is redacted", "[vars][redact]") {
  CHECK(run(redactor_for({{"s", "abc"}}), {"abc abc\nabcabc\n"}) ==
        "((redacted)) ((redacted))\n((redacted))((redacted))\n");
}

TEST_CASE("output without secrets passes through unchanged and immediately", "[vars][redact]") {
  auto r = redactor_for({{"s", "hunter2"}});
  CHECK_FALSE(r.empty());
  CHECK(r.write("no newline yet") == "no newline yet");
  CHECK(r.write(" and more\n") == " and more\n");
  CHECK(r.write("hun and hunte, not the pass") == "hun and hunte, not the pass");
  CHECK(r.flush().empty());
}

TEST_CASE("a secret split across two writes is redacted", "[vars][redact]") {
  auto r = redactor_for({{"s", "super-secret-source"}});
  const std::string first = r.write("ok super-sec");
  CHECK(first == "ok ");  // the possible start of a secret is held back
  const std::string second = r.write("ret-source ok");
  CHECK(first + second + r.flush() == "ok ((redacted)) ok");
}

TEST_CASE("a secret split across three writes is redacted", "[vars][redact]") {
  auto r = redactor_for({{"s", "123456"}});
  std::string out = r.write("x12");
  out += r.write("34");
  CHECK(out.find("1234") == std::string::npos);
  out += r.write("56y\n");
  CHECK(out + r.flush() == "x((redacted))y\n");
}

TEST_CASE("Concourse's multi-line example is redacted line by line", "[vars][redact]") {
  auto r = redactor_for({{"a", "123"}, {"b", "456"}, {"c", "789"}});
  CHECK(run(r, {"ok123ok\nok4", "56ok\nok789ok\n"}) == "ok((redacted))ok\nok((redacted))ok\nok((redacted))ok\n");
}

TEST_CASE("a multi-line secret is redacted piece by piece", "[vars][redact]") {
  auto r = redactor_for({{"key", "-----BEGIN KEY-----\nAAAABBBB\n-----END KEY-----\n"}});
  CHECK(run(r, {"-----BEGIN KEY-----\nAAAABBBB\n-----END KEY-----\n"}) ==
        "((redacted))\n((redacted))\n((redacted))\n");
}

TEST_CASE("secrets next to each other are both redacted", "[vars][redact]") {
  auto r = redactor_for({{"a", "abc"}, {"b", "def"}});
  CHECK(run(r, {"abcdef\n"}) == "((redacted))((redacted))\n");
  auto split = redactor_for({{"a", "abc"}, {"b", "def"}});
  CHECK(run(split, {"ab", "cd", "ef"}) == "((redacted))((redacted))");
}

TEST_CASE("a longer secret containing a shorter one is redacted whole", "[vars][redact]") {
  auto r = redactor_for({{"short", "pass"}, {"long", "password"}});
  CHECK(run(r, {"my password is pass\n"}) == "my ((redacted)) is ((redacted))\n");
  auto split = redactor_for({{"short", "pass"}, {"long", "password"}});
  CHECK(run(split, {"my pass", "word is pass"}) == "my ((redacted)) is ((redacted))");
}

TEST_CASE("a shorter secret is redacted when the longer one does not follow", "[vars][redact]") {
  auto r = redactor_for({{"short", "pass"}, {"long", "password"}});
  CHECK(run(r, {"my passw", "ay"}) == "my ((redacted))way");
}

TEST_CASE("a secret inside another word is still redacted", "[vars][redact]") {
  CHECK(run(redactor_for({{"s", "bc"}}), {"abce"}) == "a((redacted))e");
}

TEST_CASE("flush emits the held-back tail, redacted", "[vars][redact]") {
  auto r = redactor_for({{"s", "secret"}});
  CHECK(r.write("ends with sec") == "ends with ");
  CHECK(r.flush() == "sec");

  auto shorter = redactor_for({{"long", "abcdef"}, {"short", "abc"}});
  CHECK(shorter.write("xabc") == "x");
  CHECK(shorter.flush() == "((redacted))");
}

TEST_CASE("a secret at the very end of a write is redacted at once", "[vars][redact]") {
  auto r = redactor_for({{"s", "secret"}});
  CHECK(r.write("the secret") == "the ((redacted))");
  CHECK(r.flush().empty());
}

TEST_CASE("single-character secrets are never redacted", "[vars][redact]") {
  auto r = redactor_for({{"s", "x"}, {"t", "y\nz"}});
  CHECK(r.empty());
  CHECK(run(r, {"x y z\n"}) == "x y z\n");
}

TEST_CASE("equal pieces of different credentials are kept once, whatever lies between them", "[vars][redact]") {
  // Sorted by length only, [ab, cd, ab] stayed as it was and `unique` kept both `ab`.
  CHECK(redaction_pieces({{"a", "ab"}, {"b", "cd"}, {"c", "ab"}}) == std::vector<std::string>{"ab", "cd"});
  CHECK(redaction_pieces({{"a", "zz\nab"}, {"b", "longer"}, {"c", "ab\nzz"}}) ==
        std::vector<std::string>{"longer", "ab", "zz"});
}

TEST_CASE("with many secrets the first one starting at a position wins, in any split, and redact agrees", "[vars][redact]") {
  // 1,000 secrets that share prefixes (the automaton's worst shape), the raw constructor's order.
  std::vector<std::string> secrets;
  for (int i = 0; i < 1000; ++i) secrets.push_back("tok" + std::to_string(i * 7919 % 100000));
  secrets.insert(secrets.begin(), "tok1tok2");  // earlier in the list than "tok1": wins where both start
  std::string text;
  for (int i = 0; i < 3000; ++i) text += (i % 3 ? "x tok" : " tok") + std::to_string(i * 31 % 997) + (i % 5 ? "" : "tok2");
  redactor whole(secrets);
  std::string once = whole.write(text);  // before flush(): operands of + are unsequenced
  once += whole.flush();
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 4096u}) {
    redactor split(secrets);
    std::string out;
    for (std::size_t pos = 0; pos < text.size(); pos += chunk) out += split.write(std::string_view(text).substr(pos, chunk));
    out += split.flush();
    CHECK(out == once);
  }
  CHECK(redact(text, secrets) == once);  // long: through the automaton
  for (std::size_t pos = 0; pos < text.size(); pos += 40) {  // short strings are scanned directly
    const std::string piece = text.substr(pos, 40);
    redactor r(secrets);
    std::string streamed = r.write(piece);
    streamed += r.flush();
    CHECK(redact(piece, secrets) == streamed);
  }
  CHECK(once.find("tok1tok2") == std::string::npos);
  CHECK(redact("a tok1tok2 b", secrets) == "a ((redacted)) b");
}
