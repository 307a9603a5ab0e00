// Hostile YAML: nesting deep enough to overflow a stack, alias bombs, maps with very many keys, null
// input. Each case gets an error (or the right answer), never a crash, a hang or gigabytes of memory.

#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include <catch2/catch.hpp>

#include "taskstep/core/json.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

namespace yaml = taskstep::yaml;
using taskstep::value;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool asan = true;
#else
constexpr bool asan = false;
#endif
#else
constexpr bool asan = false;
#endif

// The small thread stack the depth bound is chosen for; ASan's redzones make frames ~4x larger.
constexpr std::size_t small_stack_kib = asan ? 512 : 128;

// Runs `f` in a forked child, on a thread with a `stack_kib` KiB stack (0: the child's main thread),
// under a 1 GiB address-space limit; returns the child's exit code, or 128 + signal. A stack overflow
// or runaway allocation in `f` fails the test instead of killing the test binary.
int in_child(std::size_t stack_kib, const std::function<int()>& f) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (!asan) {
      rlimit lim{std::size_t{1} << 30, std::size_t{1} << 30};
      setrlimit(RLIMIT_AS, &lim);
    }
    if (stack_kib == 0) _exit(f());
    struct ctx {
      const std::function<int()>* f;
      int rc;
    } c{&f, 99};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_kib * 1024);
    pthread_t t;
    if (pthread_create(&t, &attr, [](void* p) -> void* {
          auto* x = static_cast<ctx*>(p);
          x->rc = (*x->f)();
          return nullptr;
        }, &c) != 0)
      _exit(98);
    pthread_join(t, nullptr);
    _exit(c.rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// `levels` nested flow sequences: [[[...]]].
std::string flow(int levels) { return std::string(static_cast<std::size_t>(levels), '[') + "x" + std::string(static_cast<std::size_t>(levels), ']'); }

// `levels` nested block sequences in compact form (`- - - x`), and the same as block mappings
// spread over indented lines (quadratic in size: keep `levels` small).
std::string block(int levels) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += "- ";
  return s + "x\n";
}
std::string indented(int levels) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  return s + std::string(static_cast<std::size_t>(levels), ' ') + "x\n";
}

// A task whose `params.P` holds `inner`: the tree nests inner + 2 levels (the task map and params).
std::string task_with_param(const std::string& inner_flow) {
  return "platform: linux\nrun: {path: x}\nparams:\n  P: " + inner_flow + "\n";
}

// Everything a task file goes through: parse, decode, validate, interpolate, JSON, copies.
int whole_pipeline(const std::string& task) {
  auto tree = yaml::parse(task);
  if (!tree) return 10;
  value copy = *tree;
  if (!(copy == *tree)) return 11;
  if (!taskstep::to_json(*tree)) return 12;
  auto config = yaml::parse_task_config(task);
  if (!config) return 13;
  auto input = yaml::to_interpolation_tree(*config);
  if (!input) return 14;
  taskstep::vars::static_vars none;
  auto evaluated = taskstep::vars::evaluate(std::move(*input), none);
  if (!evaluated) return 15;
  auto again = yaml::decode_task_config(yaml::after_interpolation(std::move(*evaluated)));
  if (!again) return 16;
  if (yaml::to_json(*again).empty()) return 17;
  return 0;
}

std::string parse_error(std::string_view text, bool strict = true) {
  auto v = yaml::parse(text, strict);
  return v ? std::string("<no error>") : v.error().message();
}

}  // namespace

TEST_CASE("nesting up to the depth bound works on a thread with a 128 KiB stack", "[yaml][hostile]") {
  constexpr int max = taskstep::max_depth;
  for (std::size_t stack : {small_stack_kib, std::size_t{0}}) {
    INFO("stack KiB (0 = main thread): " << stack);
    CHECK(in_child(stack, [] { return yaml::parse(flow(max)) ? 0 : 1; }) == 0);
    CHECK(in_child(stack, [] { return yaml::parse(block(max)) ? 0 : 1; }) == 0);
    CHECK(in_child(stack, [] { return yaml::parse(indented(max)) ? 0 : 1; }) == 0);
    // params.P at max - 2 levels makes the task tree exactly max deep.
    CHECK(in_child(stack, [] { return whole_pipeline(task_with_param(flow(max - 2))); }) == 0);
  }
}

TEST_CASE("nesting past the depth bound is an error naming it even at 100000 levels on a 128 KiB stack", "[yaml][hostile]") {
  constexpr int max = taskstep::max_depth;
  const std::string expected = "exceeded max depth of " + std::to_string(max);
  CHECK_THAT(parse_error(flow(max + 1)), Catch::Contains(expected));
  CHECK_THAT(parse_error(block(max + 1)), Catch::Contains(expected));
  CHECK_THAT(parse_error(indented(max + 1)), Catch::Contains(expected));
  CHECK(parse_error(flow(max + 1)) == "yaml: line 1: " + expected);
  auto task = yaml::parse_task_config(task_with_param(flow(max - 1)));
  REQUIRE_FALSE(task);
  CHECK_THAT(task.error().message(), Catch::Contains(expected));
  for (std::size_t stack : {small_stack_kib, std::size_t{0}}) {
    INFO("stack KiB (0 = main thread): " << stack);
    for (int levels : {8'000, 10'000, 100'000}) {
      INFO("levels " << levels);
      auto rejects = [&](const std::string& text) {
        return in_child(stack, [&] {
          auto v = yaml::parse(text);
          return !v && v.error().message().find(expected) != std::string::npos ? 0 : 1;
        });
      };
      CHECK(rejects(flow(levels)) == 0);
      CHECK(rejects(block(levels)) == 0);
      if (levels <= 8'000) CHECK(rejects(indented(levels)) == 0);
      CHECK(rejects(task_with_param(flow(levels))) == 0);
    }
  }
}

TEST_CASE("aliases cannot nest a tree deeper than the depth bound", "[yaml][hostile]") {
  constexpr int half = taskstep::max_depth / 2 + 1;
  // An anchor `half` deep, used `half` deep: the text never exceeds the bound, the tree would.
  const std::string text = "a: &a " + flow(half) + "\nb: " + std::string(half, '[') + "*a" + std::string(half, ']') + "\n";
  CHECK(parse_error(text) == "yaml: exceeded max depth of " + std::to_string(taskstep::max_depth));
  const std::string ok = "a: &a " + flow(10) + "\nb: " + std::string(10, '[') + "*a" + std::string(10, ']') + "\n";
  CHECK(yaml::parse(ok));
}

TEST_CASE("a billion-laughs alias bomb fails early with excessive aliasing and little memory", "[yaml][hostile]") {
  const std::string bomb =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
  REQUIRE(bomb.size() < 500);
  // In a child, under a 1 GiB address-space limit: before the fix this reached 2.1 GB.
  CHECK(in_child(0, [&] { return parse_error(bomb) == "yaml: document contains excessive aliasing" ? 0 : 1; }) == 0);
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  CHECK(ru.ru_maxrss < 256 * 1024);  // KiB: the largest child (this test's included) stayed small
  // A merge of a map into itself is the same error as an alias of itself, not a stack overflow.
  CHECK(in_child(0, [] { return parse_error("a: &a {b: 1, <<: *a}\n") == "yaml: anchor 'a' value contains itself" ? 0 : 1; }) == 0);
  // A long string aliased many times is bounded by bytes too (go-yaml shares the string; we copy it).
  CHECK(in_child(0, [] {
          std::string text = "a: &a " + std::string(1 << 20, 'x') + "\nb: [";
          for (int i = 0; i < 100; ++i) text += "*a,";
          text += "*a]\n";
          return parse_error(text) == "yaml: document contains excessive aliasing" ? 0 : 1;
        }) == 0);
  // Moderate aliasing still works.
  auto v = yaml::parse("a: &a [1, 2]\nb: [*a, *a, *a]\nc: &m {x: 1}\nd: {<<: *m, y: 2}\n");
  REQUIRE(v);
  CHECK(v->find(value("b"))->as_sequence().size() == 3);
  CHECK(*v->find(value("d"))->find(value("x")) == value(1));
}

TEST_CASE("a task with 200000 params keys parses and decodes and interpolates and encodes", "[yaml][hostile]") {
  constexpr int n = 200'000;
  std::string text = "platform: linux\nrun: {path: x}\nparams:\n";
  for (int i = n - 1; i >= 0; --i) text += "  K" + std::to_string(i) + ": v" + std::to_string(i) + "\n";
  auto config = yaml::parse_task_config(text);
  REQUIRE(config);
  REQUIRE(config->params.size() == static_cast<std::size_t>(n));
  CHECK(config->params.at("K0") == "v0");
  CHECK(config->params.at("K199999") == "v199999");
  const std::string json = yaml::to_json(*config);
  CHECK(json.find("\"K123456\":\"v123456\"") != std::string::npos);
  CHECK(json.find("\"K0\":\"v0\",\"K1\":\"v1\",\"K10\":\"v10\"") != std::string::npos);  // sorted bytewise
  auto tree = yaml::to_interpolation_tree(*config);
  REQUIRE(tree);
  taskstep::vars::static_vars none;
  auto evaluated = taskstep::vars::evaluate(std::move(*tree), none);
  REQUIRE(evaluated);
  auto again = yaml::decode_task_config(yaml::after_interpolation(std::move(*evaluated)));
  REQUIRE(again);
  CHECK(again->params == config->params);

  // Duplicates are still found, with go-yaml's message, and non-strict parsing keeps the later one.
  const std::string dup = text + "  K5: again\n";
  CHECK(parse_error(dup) == "yaml: unmarshal errors:\n  line " + std::to_string(n + 4) + ": key \"K5\" already set in map");
  auto loose = yaml::parse(dup, /*strict=*/false);
  REQUIRE(loose);
  CHECK(*loose->find(value("params"))->find(value("K5")) == value("again"));
}

TEST_CASE("map helpers keep their output with many and duplicate keys", "[yaml][hostile]") {
  // JSON: keys stringified, a later duplicate (1 and "1") wins, sorted bytewise.
  taskstep::mapping m;
  m.push_back({value(std::int64_t{1}), value("first")});
  m.push_back({value("b"), value(std::int64_t{2})});
  m.push_back({value("1"), value("second")});
  m.push_back({value("a"), value(true)});
  CHECK(*taskstep::to_json(value(m)) == R"({"1":"second","a":true,"b":2})");
  // A record keeps its field order; a repeated field keeps its first place and its last value.
  taskstep::mapping r;
  r.push_back({value("z"), value(std::int64_t{1})});
  r.push_back({value("a"), value(std::int64_t{2})});
  r.push_back({value("z"), value(std::int64_t{3})});
  CHECK(*taskstep::to_json(value(r, value::map_kind::record)) == R"({"z":3,"a":2})");
  // mapping_index agrees with value::find, including 0.0 == -0.0 and int vs float keys.
  taskstep::mapping keys;
  taskstep::mapping_index index;
  index.set(keys, value(0.0), value("zero"));
  index.set(keys, value(-0.0), value("negative zero"));
  index.set(keys, value(std::int64_t{0}), value("int"));
  index.set(keys, value(nullptr), value("null"));
  index.set(keys, value(false), value("false"));
  REQUIRE(keys.size() == 4);
  CHECK(index.find(keys, value(0.0))->val == value("negative zero"));
  CHECK(index.find(keys, value(std::int64_t{0}))->val == value("int"));
  CHECK(index.find(keys, value("0")) == nullptr);
  const value whole(keys);
  CHECK(*whole.find(value(-0.0)) == value("negative zero"));
}

TEST_CASE("an empty or null string_view parses as an empty document", "[yaml][hostile]") {
  auto null_view = yaml::parse(std::string_view{});
  REQUIRE(null_view);
  CHECK(null_view->is_null());
  auto empty = yaml::parse(std::string_view("", 0));
  REQUIRE(empty);
  CHECK(empty->is_null());
  CHECK(in_child(0, [] { return yaml::parse(std::string_view{}, false) ? 0 : 1; }) == 0);
}
