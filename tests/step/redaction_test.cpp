// Credentials never reach the delegate: errors, warnings, the configs events show and the output
// streams are redacted, and the streams are handed on in whole UTF-8 characters.
#include <catch2/catch.hpp>

#include "step/step_support.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/yaml/decode.hpp"

using namespace taskstep;
using step_test::memory_artifacts;
using step_test::scripted_worker;

namespace {

// A worker that fails the way the local worker does for a missing executable, naming the path.
struct missing_executable_worker {
  worker_info description{"w1", "linux", {}, {}, {}, 0, 0, {}};
  const worker_info& info() const { return description; }
  template <process_io IO>
  result<run_result> run(const container_spec&, const process_spec& p, IO&, std::stop_token) {
    return fail(errc::worker, "exec: \"" + p.path + "\" in dir \"" + p.dir + "\" as user \"" + p.user +
                                  "\": executable file not found in $PATH");
  }
};

// Keeps the configs of initializing/starting and every write as its own chunk.
struct keeping_delegate : step::recording_delegate {
  std::vector<task_config> configs;
  std::vector<std::string> out_chunks;
  void initializing(const task_config& c) {
    configs.push_back(c);
    recording_delegate::initializing(c);
  }
  void starting(const task_config& c) {
    configs.push_back(c);
    recording_delegate::starting(c);
  }
  void out(std::string_view s) {
    out_chunks.emplace_back(s);
    recording_delegate::out(s);
  }
};

task_plan plan_with(const std::string& yaml_text) {
  task_plan p;
  auto c = yaml::parse_task_config(yaml_text);
  REQUIRE(c);
  p.config = *c;
  return p;
}

step::step_options with_secret(const std::string& value_text) {
  step::step_options o;
  o.credentials = std::make_shared<vars::credential_tracker>();
  o.credentials->track("x", value(value_text));
  return o;
}

template <class Worker>
auto make_step(task_plan plan, step::single_worker<Worker>& set, step::step_options options) {
  auto source = config::static_source(plan.config) | config::validating();
  return step::basic_task_step(std::move(plan), std::move(source), image::concourse_resolver{},
                               placement::first_fit{}, set, std::move(options));
}

// Every string the configs of the events carry, in one text.
std::string config_strings(const task_config& c) {
  std::string all = c.platform + c.rootfs_uri + c.run.path + c.run.dir + c.run.user;
  for (const auto& a : c.run.args) all += a;
  for (const auto& [k, v] : c.params) all += v;
  for (const auto& i : c.inputs) all += i.name + i.path;
  for (const auto& o : c.outputs) all += o.name + o.path;
  for (const auto& k : c.caches) all += k.path;
  return all;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a worker error that quotes run.path, dir and user built from a secret is redacted", "[step][redaction]") {
  missing_executable_worker w;
  step::single_worker set(w);
  auto s = make_step(plan_with("platform: linux\nrun: {path: /bin/supersecret, dir: d-supersecret, user: supersecret}\n"),
                     set, with_secret("supersecret"));
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::worker);
  CHECK(r.error().message() ==
        "exec: \"/bin/((redacted))\" in dir \"d-((redacted))\" as user \"((redacted))\": executable file not found in $PATH");
  REQUIRE(d.events.size() == 3);
  CHECK(d.events.back() == "errored " + r.error().message());
}

TEST_CASE("the configs of initializing and starting show no secret in any string field", "[step][redaction]") {
  scripted_worker w;
  step::single_worker set(w);
  auto p = plan_with(
      "platform: linux\nrootfs_uri: docker:///supersecret\nparams: {P: supersecret}\n"
      "run: {path: supersecret, args: [a-supersecret], dir: supersecret, user: supersecret}\n"
      "inputs: [{name: in, path: supersecret/in}]\noutputs: [{name: out, path: o/supersecret}]\n"
      "caches: [{path: c/supersecret}]\n");
  auto s = make_step(p, set, with_secret("supersecret"));
  memory_artifacts a;
  a.add("in", "/a/in");
  keeping_delegate d;
  REQUIRE(s.run(a, d));
  REQUIRE(d.configs.size() == 2);
  for (const auto& c : d.configs) {
    const std::string all = config_strings(c);
    CHECK_FALSE(contains(all, "supersecret"));
    CHECK(c.inputs.at(0).path == "((redacted))/in");
    CHECK(c.run.args == std::vector<std::string>{"a-((redacted))"});
    CHECK(c.caches.at(0).path == "c/((redacted))");
  }
  CHECK(w.last_process.path == "supersecret");  // the worker still runs the real command
  CHECK(w.last_spec.inputs.at(0).path == "supersecret/in");
}

TEST_CASE("a value that is a prefix of a secret is shown whole, not dropped", "[step][redaction]") {
  // `s = r.write(s) + r.flush()` evaluated flush() first under g++ and lost the held-back `pass`.
  CHECK(vars::redact("pass", {"password"}) == "pass");
  CHECK(vars::redact("my password is pass", {"password"}) == "my ((redacted)) is pass");
  scripted_worker w;
  step::single_worker set(w);
  auto s = make_step(plan_with("platform: linux\nrun: {path: echo, args: [pass, passwor]}\n"), set, with_secret("password"));
  memory_artifacts a;
  keeping_delegate d;
  REQUIRE(s.run(a, d));
  REQUIRE(d.configs.size() == 2);
  CHECK(d.configs[1].run.path == "echo");
  CHECK(d.configs[1].run.args == std::vector<std::string>{"pass", "passwor"});
}

TEST_CASE("config source warnings naming a secret are redacted", "[step][redaction]") {
  scripted_worker w;
  step::single_worker set(w);
  task_plan p = plan_with("platform: linux\nrun: {path: x}\n");
  auto source = config::static_source(p.config) | config::override_params({{"supersecret", "1"}}) | config::validating();
  step::basic_task_step s(p, std::move(source), image::concourse_resolver{}, placement::first_fit{}, set,
                          with_secret("supersecret"));
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(d.stderr_text == "[WARNING] ((redacted)) was defined in pipeline but missing from task file\n");
}

TEST_CASE("a selected worker name holding a secret is redacted", "[step][redaction]") {
  scripted_worker w;
  w.description.name = "host-supersecret";
  step::single_worker set(w);
  auto s = make_step(plan_with("platform: linux\nrun: {path: x}\n"), set, with_secret("supersecret"));
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(d.events.at(1) == "selected host-((redacted))");
}

namespace {

// True when `s` holds no truncated UTF-8 sequence at either end (invalid bytes in the middle are
// the input's own and may stay).
bool whole_characters(std::string_view s) {
  if (s.empty()) return true;
  if ((static_cast<unsigned char>(s.front()) & 0xC0) == 0x80) return false;
  return step::detail::complete_utf8_prefix(s) == s.size();
}

// Writes `text` through a redacting_io in pieces cut at `cuts`, then flushes.
keeping_delegate write_in_pieces(std::string_view text, const std::vector<std::size_t>& cuts,
                                 const std::vector<std::string>& secrets) {
  keeping_delegate d;
  task_config c;
  step::detail::redacting_io<keeping_delegate> io(d, c, secrets);
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    io.out(text.substr(from, cut - from));
    from = cut;
  }
  io.out(text.substr(from));
  io.flush();
  return d;
}

}  // namespace

TEST_CASE("the output streams are handed on in whole UTF-8 characters for every split", "[step][redaction][utf8]") {
  // 2, 3 and 4 byte characters, a secret made of them, and ASCII between.
  const std::string text = "a\u00e9b\u20ac\u00e9\u00e9c\U0001F600d\u00e9t\u00e9-\u20ac\U0001F600\u00e9";
  for (const std::vector<std::string>& secrets : {std::vector<std::string>{}, std::vector<std::string>{"\u20ac\U0001F600"}}) {
    const std::string expected = secrets.empty() ? text : vars::redact(text, secrets);
    for (std::size_t i = 0; i <= text.size(); ++i) {
      for (std::size_t j = i; j <= text.size(); ++j) {
        auto d = write_in_pieces(text, {i, j}, secrets);
        INFO("cuts at " << i << " and " << j << ", " << secrets.size() << " secrets");
        CHECK(d.stdout_text == expected);
        for (const auto& chunk : d.out_chunks) CHECK(whole_characters(chunk));
      }
    }
  }
}

TEST_CASE("invalid UTF-8 bytes pass through the output streams unchanged", "[step][redaction][utf8]") {
  // A stray continuation byte, a byte that is never UTF-8, an overlong lead, and a truncated
  // character at the very end (given out at the flush).
  const std::string text = "x\x80y\xffz\xc0\xaf\xe0\x80!\xe2\x82";
  for (std::size_t i = 0; i <= text.size(); ++i) {
    auto d = write_in_pieces(text, {i}, {});
    INFO("cut at " << i);
    CHECK(d.stdout_text == text);
  }
  auto d = write_in_pieces("ok\xe2\x82", {}, {});
  CHECK(d.out_chunks == std::vector<std::string>{"ok", "\xe2\x82"});
  // A lead byte followed by a byte that cannot continue it is not held back.
  CHECK(step::detail::complete_utf8_prefix("a\xe0\x80") == 3);
  CHECK(step::detail::complete_utf8_prefix("a\xed\xa0") == 3);
  CHECK(step::detail::complete_utf8_prefix("a\xf4\x90") == 3);
  CHECK(step::detail::complete_utf8_prefix("a\xf0\x9f\x98") == 1);
  CHECK(step::detail::complete_utf8_prefix("a\xc3") == 1);
}

namespace {

// Busy for the first `busy_calls` descriptions, free afterwards (single-threaded: placement asks
// from the step's thread).
struct busy_then_free_worker : scripted_worker {
  mutable int calls = 0;
  int busy_calls = 2;
  mutable worker_info shown;
  const worker_info& info() const {
    shown = description;
    shown.active_tasks = calls++ < busy_calls ? 1 : 0;
    return shown;
  }
};

}  // namespace

TEST_CASE("the busy status lines written while waiting for a worker go through the redactor", "[step][redaction]") {
  busy_then_free_worker w;
  step::single_worker set(w);
  task_plan p = plan_with("platform: linux\nrun: {path: x}\n");
  auto source = config::static_source(p.config) | config::validating();
  auto o = with_secret("workers");  // a word of the busy message itself
  o.poll_interval = std::chrono::milliseconds(20);
  o.status_interval = std::chrono::milliseconds(1);
  step::basic_task_step s(p, std::move(source), image::concourse_resolver{}, placement::limit_active_tasks{1}, set,
                          std::move(o));
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(w.runs == 1);
  CHECK(contains(d.stdout_text, "All ((redacted)) are busy at the moment, please stand-by.\n"));
  CHECK_FALSE(contains(d.stdout_text, "workers"));
}
