// run_one_off end to end on a real local worker: real processes, real directories.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>

#include "build/build_support.hpp"
#include "taskstep/build/one_off.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/worker/local_process.hpp"

using namespace taskstep;
namespace fs = std::filesystem;

namespace {

struct one_off {
  test::temp_dir t;
  fs::path tmp = t.mkdir("tmp");
  test::scoped_tmpdir scoped{tmp};
  step::recording_delegate delegate;
  build::one_off_request request;

  build::build_outcome run(const std::string& yaml, std::stop_token stop = {}) {
    const task_config config = test::config_from_yaml(yaml);
    auto make_worker = [&](const fs::path& root) -> result<worker::local_process> {
      worker::local_process_options o;
      o.work_root = root;
      o.cache_root = t.path() / "caches";
      o.grace = std::chrono::milliseconds(500);
      return worker::local_process(o);
    };
    return build::run_one_off(request, config, config::static_source(config) | config::validating(), make_worker,
                              delegate, {}, stop);
  }
  bool errored_with(const std::string& text) const {
    for (const auto& e : delegate.events)
      if (e.rfind("errored ", 0) == 0 && e.find(text) != std::string::npos) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("a one-off build stages inputs, runs the task, copies outputs out and removes its run root", "[build][one-off]") {
  one_off b;
  b.t.write("code/a.txt", "original\n");
  b.request.inputs = {{"src", b.t.path() / "code"}};
  b.request.outputs = {{"out", b.t.path() / "got"}};
  auto o = b.run("platform: linux\ninputs: [{name: src}]\noutputs: [{name: out}]\n"
                 "run: {path: sh, args: [-ec, 'cat src/a.txt; echo changed > src/a.txt; cp src/a.txt out/; exit 5']}\n");
  CHECK(o.exit_code == 5);
  CHECK(o.status == "failed");
  CHECK(b.delegate.stdout_text.find("original\n") != std::string::npos);
  CHECK(test::slurp_file(b.t.path() / "code" / "a.txt") == "original\n");
  CHECK(test::slurp_file(b.t.path() / "got" / "a.txt") == "changed\n");
  CHECK(test::count_prefixed(b.tmp, "taskstep-runs-") == 0);
}

TEST_CASE("a one-off build refused by fly's checks touches nothing and has no status", "[build][one-off]") {
  one_off b;
  b.request.inputs = {{"nope", "/does/not/exist"}};
  auto o = b.run("platform: linux\ninputs: [{name: src}]\nrun: {path: 'true'}\n");
  CHECK(o.exit_code == 1);  // fly's `error: ...` exit
  CHECK_FALSE(o.started());
  CHECK(b.errored_with("unknown input `nope`"));
  CHECK(test::count_prefixed(b.tmp, "taskstep-runs-") == 0);
}

TEST_CASE("a one-off build whose output cannot be copied out is errored and keeps the output", "[build][one-off]") {
  one_off b;
  const auto file = b.t.write("a-file", "x");
  b.request.outputs = {{"out", file}};
  auto o = b.run("platform: linux\noutputs: [{name: out}]\nrun: {path: sh, args: [-c, 'echo kept > out/k']}\n");
  CHECK(o.exit_code == 2);
  CHECK(o.status == "errored");
  REQUIRE(b.errored_with("downloading output `out` to " + file.string() + " failed"));
  std::string kept;
  for (const auto& e : b.delegate.events)
    if (auto at = e.find("the output is kept in "); at != std::string::npos) kept = e.substr(at + 22);
  INFO(kept);
  CHECK(test::slurp_file(fs::path(kept) / "k") == "kept\n");
  CHECK(test::count_prefixed(b.tmp, "taskstep-runs-") == 1);
  (void)artifact::remove_tree(fs::path(kept).parent_path().parent_path());
}

TEST_CASE("a one-off build stopped while staging is aborted, with interrupted, and leaves nothing", "[build][one-off]") {
  one_off b;
  b.t.write("repo/a.txt", "a");
  REQUIRE(std::system(("git -C " + (b.t.path() / "repo").string() + " init -q && git -C " +
                       (b.t.path() / "repo").string() + " add -A").c_str()) == 0);
  b.request.inputs = {{"repo", b.t.path() / "repo"}};
  std::stop_source stop;
  stop.request_stop();
  auto o = b.run("platform: linux\ninputs: [{name: repo}]\nrun: {path: 'true'}\n", stop.get_token());
  CHECK(o.exit_code == 3);
  CHECK(o.status == "aborted");
  CHECK(b.errored_with("interrupted"));
  CHECK(test::count_prefixed(b.tmp, "taskstep-input-") == 0);
  CHECK(test::count_prefixed(b.tmp, "taskstep-runs-") == 0);
}

TEST_CASE("a one-off build registers inputs by task input name and leaves input_mapping to the step", "[build][one-off]") {
  one_off b;
  b.t.write("lib/v.txt", "mapped\n");
  b.request.inputs = {{"dep", b.t.path() / "lib"}};
  b.request.input_mapping = {{"dep", "library"}};
  auto o = b.run("platform: linux\ninputs: [{name: dep}]\nrun: {path: cat, args: [dep/v.txt]}\n");
  CHECK(o.exit_code == 0);
  CHECK(b.delegate.stdout_text.find("mapped\n") != std::string::npos);
  auto prepared = build::prepare(b.request, test::config_from_yaml("platform: linux\ninputs: [{name: dep}]\nrun: {path: x}\n"));
  REQUIRE(prepared);
  CHECK(prepared->plan.input_mapping.empty());
  CHECK(prepared->inputs.at("dep") == b.t.path() / "lib");
}
