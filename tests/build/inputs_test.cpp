#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "build/build_support.hpp"
#include "taskstep/build/inputs.hpp"

using namespace taskstep;
namespace fs = std::filesystem;

namespace {

build::one_off_request with_inputs(std::vector<build::named_path> inputs) {
  build::one_off_request r;
  r.inputs = std::move(inputs);
  return r;
}

void git_init(const fs::path& repo) {
  REQUIRE(std::system(("git -C " + repo.string() + " init -q && git -C " + repo.string() + " add -A").c_str()) == 0);
}

}  // namespace

TEST_CASE("input checks: an unknown -i name wins over a path that does not exist or is not a folder", "[build][inputs]") {
  test::temp_dir t;
  const auto file = t.write("file", "x");
  const auto config = test::config_from_yaml("platform: linux\ninputs: [{name: src}]\nrun: {path: x}\n");
  auto r = build::check_inputs(config, with_inputs({{"src", "/does/not/exist"}, {"nope", "/does/not/exist"}}));
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "unknown input `nope`");
  r = build::check_inputs(config, with_inputs({{"src", file}, {"nope", file}}));
  CHECK(r.error().message() == "unknown input `nope`");
  r = build::check_inputs(config, with_inputs({{"src", "/does/not/exist"}}));
  CHECK(r.error().message() == "path '/does/not/exist' does not exist");
  r = build::check_inputs(config, with_inputs({{"src", file}}));
  CHECK(r.error().message() == file.string() + " not a folder");
}

TEST_CASE("input checks: the current directory is the input named like it, unless -i provides it", "[build][inputs]") {
  test::temp_dir t;
  const auto here = t.mkdir("src");
  const auto other = t.mkdir("other");
  const auto config =
      test::config_from_yaml("platform: linux\ninputs: [{name: src}, {name: opt, optional: true}]\nrun: {path: x}\n");
  build::one_off_request r;
  r.cwd = here;
  auto dirs = build::check_inputs(config, r);
  REQUIRE(dirs);
  CHECK(dirs->size() == 1);
  CHECK(dirs->at("src") == here);
  r.inputs = {{"src", other}};
  dirs = build::check_inputs(config, r);
  REQUIRE(dirs);
  CHECK(dirs->at("src") == other);
  r = {};
  r.cwd = other;
  auto missing = build::check_inputs(config, r);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message() == "missing required input `src`");
}

TEST_CASE("a plain directory is used in place, a git tree is copied, listed files only, into a private dir under TMPDIR", "[build][inputs]") {
  test::temp_dir t;
  const auto tmp = t.mkdir("tmp");
  test::scoped_tmpdir scoped(tmp);
  const auto plain = t.mkdir("plain");
  const auto repo = t.mkdir("repo");
  t.write("repo/tracked.txt", "t");
  t.write("repo/.gitignore", "ignored.txt\n");
  git_init(repo);
  t.write("repo/ignored.txt", "i");
  t.write("repo/untracked.txt", "u");
  fs::permissions(repo, fs::perms(0750));
  build::input_dirs dirs{{"plain", plain}, {"repo", repo}};
  {
    auto staged = build::stage_inputs(dirs, false);
    REQUIRE(staged);
    CHECK(staged->dirs.at("plain") == plain);
    const auto copy = staged->dirs.at("repo");
    CHECK(copy.parent_path().parent_path() == tmp);
    CHECK(copy.parent_path().filename().string().rfind("taskstep-input-", 0) == 0);
    struct stat st {};
    REQUIRE(::stat(copy.parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat(copy.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0750);  // the tree keeps the source's mode
    CHECK(fs::exists(copy / "tracked.txt"));
    CHECK(fs::exists(copy / "untracked.txt"));
    CHECK(fs::exists(copy / ".gitignore"));
    CHECK_FALSE(fs::exists(copy / "ignored.txt"));
    CHECK(test::count_prefixed(tmp, "taskstep-input-") == 1);
  }
  CHECK(test::count_prefixed(tmp, "taskstep-input-") == 0);  // removed with the staged inputs
  auto all = build::stage_inputs(dirs, true);
  REQUIRE(all);
  CHECK(all->dirs.at("repo") == repo);  // --include-ignored: the whole directory, in place
}

TEST_CASE("staging a git tree stops on the stop token with interrupted and leaves nothing", "[build][inputs]") {
  test::temp_dir t;
  const auto tmp = t.mkdir("tmp");
  test::scoped_tmpdir scoped(tmp);
  const auto repo = t.mkdir("repo");
  t.write("repo/a.txt", "a");
  git_init(repo);
  std::stop_source stop;
  stop.request_stop();
  auto staged = build::stage_inputs({{"repo", repo}}, false, stop.get_token());
  REQUIRE_FALSE(staged);
  CHECK(staged.error().code() == errc::cancelled);
  CHECK(staged.error().message() == "interrupted");
  CHECK(test::count_prefixed(tmp, "taskstep-input-") == 0);
}

TEST_CASE("disk full while staging a git tree fails naming the file and the errno, and leaves nothing", "[build][inputs]") {
  test::temp_dir t;
  const auto tmp = t.path() / "tmp";
  test::scoped_tmpfs fs_small(tmp, "size=256k");
  if (!fs_small.why_not().empty()) {
    WARN("SKIPPED: " << fs_small.why_not());
    return;
  }
  test::scoped_tmpdir scoped(tmp);
  const auto repo = t.mkdir("repo");
  t.write("repo/big.bin", std::string(1 << 20, 'x'));
  git_init(repo);
  auto staged = build::stage_inputs({{"repo", repo}}, false);
  REQUIRE_FALSE(staged);
  INFO(staged.error().message());
  CHECK(staged.error().code() == errc::io);
  CHECK(staged.error().message().find("staging input `repo` failed") != std::string::npos);
  CHECK(staged.error().message().find("big.bin") != std::string::npos);
  CHECK(staged.error().message().find("No space left on device") != std::string::npos);
  CHECK(test::count_prefixed(tmp, "taskstep-input-") == 0);
}

TEST_CASE("git is asked only about directories that may be in a repository: a .git in the directory or a parent, or GIT_DIR", "[build][inputs]") {
  test::temp_dir t;
  const auto plain = t.mkdir("plain/sub");
  CHECK_FALSE(build::may_be_in_git_repository(plain));
  CHECK_FALSE(build::git_files(plain, false));
  const auto repo = t.mkdir("repo");
  t.write("repo/deep/er/file.txt", "x\n");
  git_init(repo);
  CHECK(build::may_be_in_git_repository(repo));
  CHECK(build::may_be_in_git_repository(repo / "deep/er"));  // the .git is two levels up
  auto files = build::git_files(repo / "deep", false);
  REQUIRE(files);
  CHECK(*files == std::vector<std::string>{"er/file.txt"});
  ::setenv("GIT_DIR", (repo / ".git").c_str(), 1);
  CHECK(build::may_be_in_git_repository(plain));
  ::unsetenv("GIT_DIR");
}
TEST_CASE("staging a git tree with a progress callable reports its bytes in batches and copies the same files", "[build][inputs][progress]") {
  test::temp_dir t;
  const auto tmp = t.mkdir("tmp");
  test::scoped_tmpdir scoped(tmp);
  const auto repo = t.mkdir("repo");
  for (int i = 0; i < 5; ++i) t.write("repo/d" + std::to_string(i) + "/big", std::string(std::size_t{3} << 20, 'x'));
  t.write("repo/small", "s");
  git_init(repo);
  std::vector<build::progress_report> reports;
  std::vector<std::string> names;
  auto staged = build::stage_inputs({{"repo", repo}}, false, {}, build::temp_root(), [&](const build::progress_report& r) {
    reports.push_back(r);
    names.emplace_back(r.name);
  });
  REQUIRE(staged);
  const std::uint64_t total = 5 * (std::uint64_t{3} << 20) + 1;
  REQUIRE(reports.size() >= 3);  // 0, then more than one batch
  CHECK(reports.front().done == 0);
  CHECK(reports.front().total == total);
  for (std::size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].done >= reports[i - 1].done);
  CHECK(reports.back().finished);
  CHECK(reports.back().done == total);
  for (std::size_t i = 0; i + 1 < reports.size(); ++i) CHECK_FALSE(reports[i].finished);
  for (const auto& n : names) CHECK(n == "repo");
  for (const auto& r : reports) CHECK(r.kind == build::progress_kind::staging_input);
  const auto copy = staged->dirs.at("repo");
  for (int i = 0; i < 5; ++i) CHECK(fs::file_size(copy / ("d" + std::to_string(i)) / "big") == (std::size_t{3} << 20));
  CHECK(fs::exists(copy / "small"));
}

namespace {
struct listens {
  void progress(const build::progress_report&) {}
};
struct deaf {};
}  // namespace
// The progress hook is detected, never required.
static_assert(build::reports_progress<listens>);
static_assert(!build::reports_progress<deaf>);
