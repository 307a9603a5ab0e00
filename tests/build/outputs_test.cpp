#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "build/build_support.hpp"
#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/build/outputs.hpp"

using namespace taskstep;
namespace fs = std::filesystem;

namespace {

const char* two_outputs = "platform: linux\noutputs: [{name: a}, {name: b}]\nrun: {path: x}\n";

result<build::output_targets> check(std::vector<build::named_path> outputs) {
  build::one_off_request r;
  r.outputs = std::move(outputs);
  return build::check_outputs(test::config_from_yaml(two_outputs), r);
}

}  // namespace

TEST_CASE("output checks: an unknown output, two outputs in one -o dir and nested -o dirs are refused", "[build][outputs]") {
  test::temp_dir t;
  const auto d = t.path();
  CHECK(check({{"c", d / "c"}}).error().message() == "unknown output 'c'");
  auto same = check({{"a", d / "o"}, {"b", d / "x" / ".." / "o/"}});
  REQUIRE_FALSE(same);
  CHECK(same.error().message() == "outputs `a` and `b` are both copied into " + (d / "o").string() +
                                      ": give each output its own -o directory");
  auto nested = check({{"a", d / "o" / "inner"}, {"b", d / "o"}});
  REQUIRE_FALSE(nested);
  CHECK(nested.error().message().find("output `a` would be copied into " + (d / "o" / "inner").string() + ", inside " +
                                      (d / "o").string() + " where output `b` goes") == 0);
  // A link to the other output's directory is the same directory.
  fs::create_directories(d / "real");
  fs::create_directory_symlink(d / "real", d / "link");
  CHECK_FALSE(check({{"a", d / "real"}, {"b", d / "link" / "sub"}}));
  auto fine = check({{"a", d / "o1"}, {"b", d / "o10"}});  // a shared prefix is not nesting
  REQUIRE(fine);
  CHECK(fine->at("b") == d / "o10");
}

TEST_CASE("copy-out merges each output into its target and skips outputs the run did not produce", "[build][outputs]") {
  test::temp_dir t;
  t.write("run/a/new.txt", "new");
  t.write("got/old.txt", "old");
  artifact::directory_repository artifacts;
  artifacts.add("a", t.path() / "run" / "a");
  auto failures = build::copy_outputs({{"a", t.path() / "got"}, {"b", t.path() / "never"}}, artifacts);
  CHECK(failures.empty());
  CHECK(fs::exists(t.path() / "got" / "new.txt"));
  CHECK(fs::exists(t.path() / "got" / "old.txt"));
  CHECK_FALSE(fs::exists(t.path() / "never"));
}

TEST_CASE("a failed copy-out names the output, the target and the errno, and keeps the output", "[build][outputs]") {
  test::temp_dir t;
  t.write("run/a/f.txt", "f");
  const auto target = t.write("target-is-a-file", "x");
  artifact::directory_repository artifacts;
  artifacts.add("a", t.path() / "run" / "a");
  auto failures = build::copy_outputs({{"a", target}}, artifacts);
  REQUIRE(failures.size() == 1);
  const auto& f = failures[0];
  INFO(f.message);
  CHECK(f.name == "a");
  CHECK(f.kept == t.path() / "run" / "a");
  CHECK(f.message.find("downloading output `a` to " + target.string() + " failed: ") == 0);
  CHECK((f.message.find("File exists") != std::string::npos || f.message.find("Not a directory") != std::string::npos));
  CHECK(f.message.find("the output is kept in " + (t.path() / "run" / "a").string()) != std::string::npos);
  CHECK(fs::exists(t.path() / "run" / "a" / "f.txt"));
}

// Needs the real artifact::copy_tree_into (the shim wraps copy_tree, which refuses to descend into a
// link in the target, so this passes with it too: the host file is never written).
TEST_CASE("copy-out never follows a link the target holds from an earlier run", "[build][outputs][symlink]") {
  test::temp_dir t;
  const auto host = t.mkdir("host");
  const auto target = t.mkdir("got");
  fs::create_directory_symlink(host, target / "d");  // what an earlier run's output left
  t.write("run/a/d/file", "from the task");
  artifact::directory_repository artifacts;
  artifacts.add("a", t.path() / "run" / "a");
  (void)build::copy_outputs({{"a", target}}, artifacts);
  CHECK_FALSE(fs::exists(host / "file"));
  CHECK(fs::is_empty(host));
}
