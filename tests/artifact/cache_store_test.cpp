// cache_store: private staging copies, atomic commits (a killed commit leaves the old cache), one-off
// builds never committing, keys mapped to single path components.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "common/temp_dir.hpp"
#include "taskstep/artifact/cache_store.hpp"

using namespace taskstep;
using taskstep::artifact::cache_key;
using taskstep::artifact::cache_store;
using taskstep::artifact::commit_mode;
using taskstep::test::temp_dir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) ++n;
  return n;
}

const cache_key key{"main", "build", "unit", "deps"};

}  // namespace

TEST_CASE("a staged cache is a private copy of the committed one", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  dir.write("v1/lib/a", "a1\n");
  REQUIRE(store.commit(key, dir.path() / "v1"));
  CHECK(store.contains(key));

  const auto run = dir.path() / "run" / "deps";
  REQUIRE(store.stage(key, run));
  CHECK(slurp(run / "lib" / "a") == "a1\n");
  std::ofstream(run / "lib" / "a") << "changed\n";
  std::ofstream(run / "extra") << "x\n";

  const auto again = dir.path() / "run2" / "deps";
  REQUIRE(store.stage(key, again));
  CHECK(slurp(again / "lib" / "a") == "a1\n");
  CHECK_FALSE(fs::exists(again / "extra"));
}

TEST_CASE("staging a cache that was never committed gives an empty directory", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  const auto dest = dir.path() / "run" / "deps";
  REQUIRE(store.stage(key, dest));
  CHECK(fs::is_directory(dest));
  CHECK(fs::is_empty(dest));
}

TEST_CASE("a cache staged where an input put files hides them: it holds the cache alone", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  const auto dest = dir.write("run/input/blobs/blob", "from-the-input\n").parent_path();
  dir.write("run/input/blobs/sub/deep", "also-the-input\n");
  fs::create_symlink("/etc", dest / "link");
  REQUIRE(store.stage(key, dest));  // no cache yet: empty, as Concourse's fresh cache volume
  CHECK(fs::is_directory(dest));
  CHECK(fs::is_empty(dest));
  CHECK(fs::exists("/etc/passwd"));  // the link was removed, not followed

  dir.write("v1/blob", "cached\n");
  REQUIRE(store.commit(key, dir.path() / "v1"));
  dir.write("run2/input/blobs/blob", "from-the-input\n");
  dir.write("run2/input/blobs/other", "from-the-input\n");
  REQUIRE(store.stage(key, dir.path() / "run2/input/blobs"));
  CHECK(slurp(dir.path() / "run2/input/blobs/blob") == "cached\n");
  CHECK_FALSE(fs::exists(dir.path() / "run2/input/blobs/other"));
  CHECK(slurp(dir.path() / "run2/input/../input/blobs/blob") == "cached\n");
}

TEST_CASE("a one-off build never commits its cache", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  dir.write("v1/file", "x");
  const cache_key one_off{"main", "", "unit", "deps"};
  REQUIRE(store.commit(one_off, dir.path() / "v1"));
  CHECK_FALSE(store.contains(one_off));
  CHECK_FALSE(fs::exists(dir.path() / "caches"));
}

TEST_CASE("a commit replaces the whole previous cache", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  dir.write("v1/old-only", "1");
  dir.write("v1/both", "1");
  dir.write("v2/both", "2");
  dir.write("v2/new-only", "2");
  REQUIRE(store.commit(key, dir.path() / "v1"));
  REQUIRE(store.commit(key, dir.path() / "v2", commit_mode::move));
  CHECK_FALSE(fs::exists(dir.path() / "v2"));  // moved (same filesystem)
  const auto dest = dir.path() / "dest";
  REQUIRE(store.stage(key, dest));
  CHECK_FALSE(fs::exists(dest / "old-only"));
  CHECK(slurp(dest / "both") == "2");
  CHECK(slurp(dest / "new-only") == "2");
  // nothing but the cache and its lock is left beside it
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(store.location(key))) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 2);
}

TEST_CASE("a commit killed half-way leaves the previous cache intact", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  dir.write("v1/state", "good\n");
  REQUIRE(store.commit(key, dir.path() / "v1"));
  // a big tree, so the commit's copy is still running when it is killed
  const std::string block(4096, 'x');
  for (int d = 0; d < 40; ++d)
    for (int f = 0; f < 100; ++f) dir.write("v2/d" + std::to_string(d) + "/f" + std::to_string(f), block);
  dir.write("v2/state", "bad\n");

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto ok = store.commit(key, dir.path() / "v2");
    ::_exit(ok ? 0 : 1);
  }
  // wait until the commit has started writing its temporary tree, then kill it
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool writing = false;
  while (!writing && std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(store.location(key), ec))
      if (e.path().filename().string().rfind("tmp-", 0) == 0 && count_files(e.path()) > 10) writing = true;
    if (!writing) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(writing);
  REQUIRE(WIFSIGNALED(status));

  const auto dest = dir.path() / "dest";
  REQUIRE(store.stage(key, dest));
  CHECK(slurp(dest / "state") == "good\n");
  CHECK(count_files(dest) == 1);

  // the next commit removes the dead commit's leftovers
  dir.write("v3/state", "v3\n");
  REQUIRE(store.commit(key, dir.path() / "v3"));
  std::size_t leftovers = 0;
  for (const auto& e : fs::directory_iterator(store.location(key)))
    if (e.path().filename() != "data" && e.path().filename() != ".lock") ++leftovers;
  CHECK(leftovers == 0);
}

TEST_CASE("every key part becomes one path component under the root", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  const cache_key odd{"", "..", "a/b", "../../etc"};
  const auto where = store.location(odd);
  CHECK(where.lexically_relative(store.root()) == fs::path("%/%2E%2E/a%2Fb/%2E%2E%2F%2E%2E%2Fetc"));
  dir.write("v/x", "1");
  REQUIRE(store.commit(odd, dir.path() / "v"));
  CHECK(store.contains(odd));
  CHECK_FALSE(store.contains({"", "..", "a", "../../etc"}));
}

TEST_CASE("removing a cache forgets it", "[artifact][cache]") {
  temp_dir dir;
  cache_store store(dir.path() / "caches");
  dir.write("v1/file", "1");
  REQUIRE(store.commit(key, dir.path() / "v1"));
  REQUIRE(store.remove(key));
  CHECK_FALSE(store.contains(key));
  const auto dest = dir.path() / "dest";
  REQUIRE(store.stage(key, dest));
  CHECK(fs::is_empty(dest));
}
